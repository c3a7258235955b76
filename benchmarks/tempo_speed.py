"""Tempo under speed change on the make-real corpus, scored in seconds from a band-power cache.

  cache   for every song of the manifest: the whole track's 30 loudness bands (float16, for the
          at-bound count) and the middle `--seconds` at speeds 1, 0.8, 0.9, 1.12, 1.25
          (resample_poly exactly as prepare.speed_ratios: pitch moves with the speed) and, when
          `sox` is on PATH, the same clip time-stretched by `sox tempo` (pitch kept: the issue's
          own protocol), one npz per song under --cache, so a detector variant is scored
          without decoding again
  score   the detector on that cache:
          - speed pairs: est(middle 30 s at speed s) / est(original) against s (prepare's
            tempo_speed_acc1/acc2; sox_acc1/acc2 for the sox-stretched clips), on the songs of
            --splits (tune on train,val; test once at the end)
          - at-bound: whole tracks whose estimate is within 0.5 % of min_bpm or max_bpm (all
            splits)

The detector is whatever `songcoder.features.tempo` PYTHONPATH imports, so branch and main
are compared on the same files by scoring twice:

    PYTHONPATH=src python benchmarks/tempo_speed.py cache --root . --cache real/tempo-cache
    PYTHONPATH=src python benchmarks/tempo_speed.py score --root . --cache real/tempo-cache
    PYTHONPATH=<other checkout>/src python benchmarks/tempo_speed.py score --root . \
        --cache real/tempo-cache

Without --root and --cache (as `make bench` runs it) it says so and does nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import tempfile
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from songcoder.audio.io import load
from songcoder.features import extract, layout, tempo
from songcoder.prepare import SPEEDS, middle

MIN_BPM, MAX_BPM = 60.0, 200.0
STRETCHES = ("speed", "sox")   # cache keys {name}_{s}: resample_poly, `sox tempo`
CENTRES = np.sqrt(layout.LOUDNESS_EDGES_HZ[:-1] * layout.LOUDNESS_EDGES_HZ[1:])


def loud_power(x: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """(frames, 30) loudness-band power and frames/s, exactly as song_features computes them."""
    f = extract.band_frames(np.ascontiguousarray(x.reshape(len(x), -1), np.float32), sr)
    return f.power[:, : layout.LOUDNESS_BANDS], f.fps


def sox_tempo(clip: np.ndarray, sr: int, rate: float) -> np.ndarray:
    """clip played `rate` times as fast with its pitch kept (`sox tempo`, WSOLA)."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.wav", Path(d) / "out.wav"
        sf.write(src, clip, sr, subtype="FLOAT")       # no 16-bit rounding or clipping
        subprocess.run(["sox", str(src), str(dst), "tempo", str(rate)], check=True,
                       capture_output=True)
        return sf.read(dst, dtype="float32", always_2d=True)[0]


def cache_song(job: tuple[dict[str, str], Path, Path, float]) -> str:
    row, root, out, seconds = job
    dest = out / f"{row['id']}.npz"
    sox = shutil.which("sox") is not None
    if dest.exists():
        with np.load(dest) as z:
            if not sox or f"sox_{max(SPEEDS)}" in z.files:
                return f"{row['id']} cached"
    try:
        x, sr = load(root / row["path"])
    except Exception as e:  # noqa: BLE001 - a bad file is reported, the others go on
        return f"{row['path']}: {e}"
    whole, fps = loud_power(x, sr)
    clip = middle(x, sr, seconds)
    arrays = {"whole": whole.astype(np.float16), "fps": np.float64(fps),
              "speed_1": loud_power(clip, sr)[0]}
    for s, (up, down) in SPEEDS.items():
        arrays[f"speed_{s}"] = loud_power(resample_poly(clip, up, down, axis=0).astype(np.float32),
                                          sr)[0]
        if sox:
            arrays[f"sox_{s}"] = loud_power(sox_tempo(clip, int(sr), s), sr)[0]
    np.savez(dest, **arrays)
    return f"{row['id']} {row['path']} done"


def bpm_of(power: np.ndarray, fps: float, salience: np.ndarray | bool = True) -> float:
    """tempo.py's tempo of (frames, 30) loudness-band power: the onset envelope's periodicity
    times that of `salience` (True: tempo.beat_salience of the power; False: none, the onset
    envelope alone, as before the salience; an array: that salience)."""
    o = tempo.onset_envelope(np.asarray(power, np.float32), CENTRES)
    if salience is True:
        salience = tempo.beat_salience(power)
    return tempo.estimate_tempo(o, fps, MIN_BPM, MAX_BPM,
                                salience=None if salience is False else salience)[0]


def score_song(job: tuple[Path, bool, bool]) -> dict:
    path, speeds, whole = job
    z = np.load(path)
    fps = float(z["fps"])
    out = {"id": path.stem}
    if speeds:
        out["base"] = bpm_of(z["speed_1"], fps)
        for name in STRETCHES:
            if f"{name}_{max(SPEEDS)}" in z.files:
                out[name] = {s: bpm_of(z[f"{name}_{s}"], fps) for s in SPEEDS}
    if whole:
        out["whole"] = bpm_of(z["whole"], fps)
    return out


def cache(a: argparse.Namespace, rows: list[dict[str, str]]) -> None:
    a.cache.mkdir(parents=True, exist_ok=True)
    with Pool(a.workers) as pool:
        jobs = [(r, a.root, a.cache, a.seconds) for r in rows]
        for i, msg in enumerate(pool.imap_unordered(cache_song, jobs)):
            print(f"[{i + 1}/{len(rows)}] {msg}", flush=True)


def stretch_summary(name: str, res: list[dict], path_of: dict[str, str]) -> dict:
    """{name}_pairs/_songs/_acc1/_acc2/_misses of est(stretched) / est(original) against the
    speed, over the songs whose results have that stretch ({} when none has)."""
    pairs = [(r[name][s] / r["base"], s, r["id"]) for r in res if name in r for s in SPEEDS]
    if not pairs:
        return {}
    hit1, hit2 = tempo.tempo_hits(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
    return {f"{name}_pairs": len(pairs), f"{name}_songs": len(pairs) // len(SPEEDS),
            f"{name}_acc1": round(float(hit1.mean()), 4), f"{name}_acc2": round(float(hit2.mean()), 4),
            f"{name}_misses": [f"{path_of[p[2]]} x{p[1]}: ratio {p[0]:.3f}"
                               for p, h in zip(pairs, hit1) if not h]}


def score(a: argparse.Namespace, rows: list[dict[str, str]]) -> None:
    splits = set(a.splits.split(","))
    jobs = [(a.cache / f"{r['id']}.npz", r["split"] in splits, not a.no_whole) for r in rows]
    jobs = [j for j in jobs if j[0].exists() and (j[1] or j[2])]
    path_of = {r["id"]: r["path"] for r in rows}
    with Pool(a.workers) as pool:
        res = pool.map(score_song, jobs)
    summary: dict = {"tempo_module": tempo.__file__}
    for name in STRETCHES:                     # speed_* (resampled), sox_* (pitch kept)
        summary.update(stretch_summary(name, res, path_of))
    wholes = [(r["whole"], r["id"]) for r in res if "whole" in r]
    if wholes:
        at = [(b, i) for b, i in wholes
              if min(abs(b / MIN_BPM - 1), abs(b / MAX_BPM - 1)) <= 0.005]
        summary.update(whole_tracks=len(wholes), at_bound=len(at),
                       at_bound_fraction=round(len(at) / len(wholes), 4),
                       at_bound_tracks=[f"{path_of[i]} {b:.1f}" for b, i in at])
    print(json.dumps({k: v for k, v in summary.items() if not k.endswith("_misses")}, indent=1))
    for name in STRETCHES:
        misses = summary.get(f"{name}_misses", [])
        print(f"{name} misses ({len(misses)}):")
        for m in misses:
            print("  ", m)
    if a.json:
        a.json.write_text(json.dumps({"summary": summary, "songs": res}, indent=1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", nargs="?", choices=("cache", "score"), default="score")
    ap.add_argument("--root", type=Path, help="a project folder after `make real`")
    ap.add_argument("--cache", type=Path, help="the band-power cache folder (e.g. real/tempo-cache)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=30.0, help="cache: length of the clip")
    ap.add_argument("--splits", default="train,val", help="score: splits of the speed pairs")
    ap.add_argument("--no-whole", action="store_true", help="score: skip the at-bound count")
    ap.add_argument("--json", type=Path, help="score: write per-song results here")
    a = ap.parse_args(argv)
    if a.root is None or a.cache is None:
        print("tempo speed benchmark skipped: give cache|score --root <project after make real> "
              "--cache <folder>")
        return
    rows = list(csv.DictReader(open(a.root / "data/manifest.csv")))
    (cache if a.command == "cache" else score)(a, rows)


if __name__ == "__main__":
    main()
