"""Prepare: manifest -> normalised 1482-d song vectors per split.

Songs are featurised in parallel worker processes, one song in memory per worker. Test songs
are also featurised as two halves (for same-song retrieval in `evaluate`) from the same
decoded audio. Normalisation statistics come from the train split only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from songcoder.atomic import atomic_path, save_npy, save_text
from songcoder.audio.collection import SPLITS, to_csv
from songcoder.audio.io import AudioError, load
from songcoder.config import PrepareConfig
from songcoder.errors import NoUsableDataError
from songcoder.features.extract import song_features
from songcoder.features.layout import DIM, GROUPS
from songcoder.features.tempo import tempo_accuracy
from songcoder.parallel import imap

STD_FLOOR = 0.01   # of the feature group's median std


@dataclass
class Featurised:
    id: str
    vector: np.ndarray | None = None       # (1482,)
    halves: np.ndarray | None = None       # (2, 1482) for test songs
    tempo_bpm: float = float("nan")
    bar_phase_s: float = float("nan")
    seconds: float = 0.0
    error: str = ""


def featurise(args: tuple[dict[str, str], PrepareConfig]) -> Featurised:
    """Worker: decode one song and compute its vector (and halves for test songs)."""
    row, cfg = args
    kw = dict(min_bpm=cfg.min_bpm, max_bpm=cfg.max_bpm, analysis_rate=cfg.analysis_rate)
    try:
        x, sr = load(row["path"])
        f = song_features(x, sr, **kw)
        out = Featurised(row["id"], f.vector, tempo_bpm=f.tempo_bpm, bar_phase_s=f.bar_phase_s,
                         seconds=len(x) / sr)
        if row["split"] == "test":
            mid = len(x) // 2
            out.halves = np.stack([song_features(x[:mid], sr, **kw).vector,
                                   song_features(x[mid:], sr, **kw).vector])
        if not np.isfinite(out.vector).all():
            return Featurised(row["id"], error="features are not finite")
        return out
    except AudioError as e:
        return Featurised(row["id"], error=str(e))
    except Exception as e:  # one bad song must not take the collection down
        return Featurised(row["id"], error=f"feature extraction failed: {type(e).__name__}: {e}")


def normalisation(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std from train (float64).

    A dimension that barely varies on train (a band that is always at the -100 dB floor) would
    turn rounding noise, or any test song with content there, into huge z-scores; so each std
    is floored at a fraction of its feature group's median std.
    """
    x = train.astype(np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    for cols in GROUPS.values():
        floor = STD_FLOOR * max(float(np.median(std[cols])), 1e-12)
        std[cols] = np.maximum(std[cols], floor)
    return mean, std


def normalise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((x.astype(np.float64) - mean) / std).astype(np.float32)


@dataclass
class PrepareResult:
    metrics: dict[str, Any]
    tempo_rows: list[dict[str, Any]]
    skipped: list[dict[str, str]]


def _crashed(job: tuple[dict[str, str], PrepareConfig], reason: str) -> Featurised:
    return Featurised(job[0]["id"], error=reason)


def prepare(cfg: PrepareConfig, rows: list[dict[str, str]], out_dir: Path) -> PrepareResult:
    t0 = time.perf_counter()
    results = list(imap(featurise, [(r, cfg) for r in rows], workers=cfg.workers,
                        desc="features", on_crash=_crashed))
    wall = time.perf_counter() - t0
    by_id = {r["id"]: r for r in rows}
    good = [f for f in results if not f.error]
    skipped = [{"file": by_id[f.id]["path"], "reason": f.error} for f in results if f.error]
    split_of = {f.id: by_id[f.id]["split"] for f in good}
    if not any(split_of[f.id] == "train" for f in good):
        raise NoUsableDataError("prepare: no training song could be featurised "
                                f"({len(skipped)} failed; reasons in {out_dir}/skipped.csv)")
    raw = {s: np.stack([f.vector for f in good if split_of[f.id] == s]) if any(
        split_of[f.id] == s for f in good) else np.zeros((0, DIM), np.float32) for s in SPLITS}
    mean, std = normalisation(raw["train"])
    out_dir.mkdir(parents=True, exist_ok=True)
    for s in SPLITS:
        save_npy(out_dir / f"{s}.npy", normalise(raw[s], mean, std))
        index = [{"row": i, "id": f.id, "tempo_bpm": round(f.tempo_bpm, 3),
                  "bar_phase_s": round(f.bar_phase_s, 4), "seconds": round(f.seconds, 3)}
                 for i, f in enumerate(f for f in good if split_of[f.id] == s)]
        save_text(out_dir / f"{s}_index.csv",
                  to_csv(index, ["row", "id", "tempo_bpm", "bar_phase_s", "seconds"]))
    halves = [f.halves for f in good if split_of[f.id] == "test"]
    halves_arr = np.stack(halves, axis=1) if halves else np.zeros((2, 0, DIM), np.float32)
    save_npy(out_dir / "test_halves.npy", normalise(halves_arr, mean, std))
    with atomic_path(out_dir / "norm.npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, mean=mean.astype(np.float32), std=std.astype(np.float32))
    save_text(out_dir / "skipped.csv", to_csv(skipped, ["file", "reason"]))

    audio_seconds = sum(f.seconds for f in good)
    metrics: dict[str, Any] = {
        "songs": len(good), "skipped": len(skipped), "audio_seconds": round(audio_seconds, 2),
        "wall_seconds": round(wall, 3), "realtime_factor": round(audio_seconds / wall, 1),
        "realtime_factor_per_worker": round(audio_seconds / wall / cfg.workers, 1),
        **{f"songs_{s}": int(len(raw[s])) for s in SPLITS},
    }
    tempo_rows = []
    for f in good:
        true = by_id[f.id].get("tempo")
        if true not in (None, ""):
            tempo_rows.append({"id": f.id, "split": split_of[f.id], "true_bpm": float(true),
                               "est_bpm": round(f.tempo_bpm, 3)})
    if tempo_rows:  # labelled (synthetic) data: report tempo accuracy, test split first
        test = [r for r in tempo_rows if r["split"] == "test"] or tempo_rows
        for name, sel in (("", test), ("_all", tempo_rows)):
            acc1, acc2 = tempo_accuracy(np.array([r["est_bpm"] for r in sel]),
                                        np.array([r["true_bpm"] for r in sel]))
            metrics[f"tempo_acc1{name}"] = round(float(acc1), 4)
            metrics[f"tempo_acc2{name}"] = round(float(acc2), 4)
    return PrepareResult(metrics, tempo_rows, skipped)
