"""A real corpus anyone can fetch: free game music from Debian packages (`make real`).

`apt-get download` fetches the .deb files (no root needed), `dpkg -x` unpacks them into a
scratch folder, and every audio file that is music is copied to `<dest>/<package>/`. Two
packages keep their music inside a .pk3 (a zip archive), unpacked with the standard library.
Left out on purpose: symbolic links (drascula links the same 31 tracks five times, once per
language: copies would put one song in two splits) and sound-effect folders (hyperrogue's
`sounds/`: clicks and growls, not songs). `fb-music-high` is not used: its one track is a
tracker module (.xm) that soundfile cannot decode.

Usage: python -m songcoder.audio.gamemusic DEST [--debs FOLDER]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# package -> licence of its music, from each package's /usr/share/doc/<package>/copyright
PACKAGES: dict[str, str] = {
    "asc-music": "GPL-2+",
    "drascula-music": "Drascula licence (BSD-like, DFSG-free)",
    "hyperrogue-music": "GPL-2+ and CC-BY-SA-3.0 (per track)",
    "nexuiz-music": "GPL-2+",
    "singularity-music": "CC-BY-SA (Creative Commons Attribution-ShareAlike)",
    "ufoai-music": "GPL-2+, CC-BY-3.0 and CC-BY-SA-3.0 (per track)",
    "warzone2100-music": "GPL-2+",
}
AUDIO = {".ogg", ".opus", ".mp3", ".flac", ".wav"}
NOT_MUSIC = {"sounds"}      # hyperrogue's sound effects (nexuiz keeps its music in sound/cdtracks)


def _is_music(rel: Path) -> bool:
    return rel.suffix.lower() in AUDIO and not NOT_MUSIC & set(p.lower() for p in rel.parts[:-1])


def _place(dest: Path, name: str, data_from: Path | bytes) -> Path:
    """Copy to dest/name, never overwriting a different file of the same name."""
    dest.mkdir(parents=True, exist_ok=True)
    out, k = dest / name, 1
    while out.exists():
        out = dest / f"{Path(name).stem}-{k}{Path(name).suffix}"
        k += 1
    if isinstance(data_from, bytes):
        out.write_bytes(data_from)
    else:
        shutil.copyfile(data_from, out)
    return out


def collect(unpacked: Path, dest: Path) -> list[Path]:
    """Copy the music of one unpacked package tree (and of the .pk3 archives in it) to dest."""
    out: list[Path] = []
    for f in sorted(unpacked.rglob("*")):
        if f.is_symlink() or not f.is_file():
            continue
        rel = f.relative_to(unpacked)
        if _is_music(rel):
            out.append(_place(dest, f.name, f))
        elif f.suffix.lower() == ".pk3":
            with zipfile.ZipFile(f) as z:
                for name in sorted(z.namelist()):
                    if _is_music(Path(name)):
                        out.append(_place(dest, Path(name).name, z.read(name)))
    return out


def download(packages: list[str], debs: Path) -> list[Path]:
    """apt-get download the packages not already in `debs`; returns their .deb files."""
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        if shutil.which("apt-get") is None:
            raise SystemExit("make real needs apt-get (Debian or Ubuntu) to fetch " + " ".join(missing))
        r = subprocess.run(["apt-get", "download", *missing], cwd=debs)
        if r.returncode != 0:
            raise SystemExit(f"apt-get download failed for {' '.join(missing)} (exit {r.returncode}); "
                             "try `apt-get update` first")
    return [next(iter(sorted(debs.glob(f"{p}_*.deb")))) for p in packages]


def fetch(dest: Path, debs: Path) -> dict[str, int]:
    """Fill dest/<package>/ with the packages' music; returns tracks per package."""
    counts = {}
    for deb in download(list(PACKAGES), debs):
        package = deb.name.split("_")[0]
        target = dest / package
        if target.is_dir() and any(target.iterdir()):           # already there: keep it
            counts[package] = sum(1 for _ in target.iterdir())
            continue
        with tempfile.TemporaryDirectory(prefix="songcoder-deb-") as tmp:
            subprocess.run(["dpkg", "-x", str(deb), tmp], check=True)
            partial = dest / f".{package}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            counts[package] = len(collect(Path(tmp), partial))
            partial.rename(target)                               # whole package or nothing
    return counts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dest", type=Path, help="folder to fill with <package>/<track> files")
    ap.add_argument("--debs", type=Path, default=None,
                    help="where the .deb files go (default: DEST/../debs)")
    a = ap.parse_args(argv)
    counts = fetch(a.dest, a.debs or a.dest.parent / "debs")
    for package, n in counts.items():
        print(f"{package}: {n} tracks ({PACKAGES[package]})")
    print(f"{sum(counts.values())} tracks in {a.dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
