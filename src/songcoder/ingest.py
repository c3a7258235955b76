"""Ingest: a music folder or the built-in synthetic corpus -> manifest + skipped list."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from songcoder.atomic import save_text
from songcoder.audio.collection import Checked, check_file, find_files, song_id, write_outputs
from songcoder.audio.io import write
from songcoder.config import DataConfig
from songcoder.errors import NoUsableDataError
from songcoder.parallel import imap


@dataclass
class IngestResult:
    rows: list[dict[str, Any]]
    skipped: list[dict[str, str]]
    metrics: dict[str, Any]


def _render(args: tuple[int, int, float, int, str]) -> dict[str, Any]:
    """Worker: render one synthetic song to FLAC, return its labels."""
    from songcoder.audio.synth import render_song

    index, seed, seconds, sr, path = args
    audio, labels = render_song(index, seed, seconds, sr)
    write(path, audio, sr, subtype="PCM_16")
    return labels


def render_synth(cfg: DataConfig, audio_dir: Path) -> list[tuple[str, str, dict]]:
    """Render the synthetic corpus; returns (path, id, labels) per song."""
    jobs = [(i, cfg.seed, cfg.seconds, cfg.sample_rate, str(audio_dir / f"synth-{i:05d}.flac"))
            for i in range(cfg.songs)]
    labels = list(imap(_render, jobs, workers=cfg.workers, desc="render synth"))
    return [(job[4], f"synth-{job[0]:05d}", lab) for job, lab in zip(jobs, labels)]


def _crashed(job: tuple, reason: str) -> Checked:
    return Checked(job[0], reason=reason)


def ingest(cfg: DataConfig, *, audio_dir: Path, manifest: Path, skipped: Path) -> IngestResult:
    t0 = time.perf_counter()
    audio_dir.mkdir(parents=True, exist_ok=True)
    if cfg.source == "synth":
        songs = render_synth(cfg, audio_dir)
    else:
        folder = Path(cfg.folder).expanduser()
        try:
            files = find_files(folder)
        except FileNotFoundError:
            raise NoUsableDataError(f"data.folder: {folder} is not a folder") from None
        songs = [(str(p), song_id(str(p.relative_to(folder))), {}) for p in files]
        # the songs stay where they are; a note here keeps DVC from warning, at every stage
        # that depends on it, that this output is empty
        save_text(audio_dir / "README.txt", f"Empty on purpose: data.source is folder, so "
                  f"the songs are read in {folder} (listed in the manifest).\n")
    checked: list[Checked] = list(imap(
        check_file, [(p, sid, cfg.min_seconds, cfg.max_seconds) for p, sid, _ in songs],
        workers=cfg.workers, desc="check audio", on_crash=_crashed))
    for c, (_, _, labels) in zip(checked, songs):
        c.labels = labels
    rows, bad = write_outputs(checked, manifest, skipped, cfg.split, cfg.seed)
    if not rows:
        where = cfg.folder if cfg.source == "folder" else "the synthetic corpus"
        raise NoUsableDataError(f"no usable songs in {where}: {len(bad)} files skipped, "
                                f"reasons in {skipped}")
    by_split = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    metrics = {"songs": len(rows), "skipped": len(bad),
               "audio_seconds": round(sum(float(r["duration"]) for r in rows), 2),
               "wall_seconds": round(time.perf_counter() - t0, 2), **{f"songs_{k}": v
                                                                     for k, v in by_split.items()}}
    return IngestResult(rows, bad, metrics)
