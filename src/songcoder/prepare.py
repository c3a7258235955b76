"""Prepare: manifest -> normalised song vectors per split.

Songs are featurised in parallel worker processes, one song in memory per worker. Every song
gives one whole-song row (`{split}.npy`). Train and validation songs also give excerpt rows
(`{split}_excerpts.npy`, up to `prepare.excerpts` windows of `excerpt_seconds`, spread over the
song), then the whole-song row again (`prepare.whole_row`; the length evaluate's reconstruction
is scored at): a real collection has hundreds of songs, and excerpts give the autoencoder
thousands of rows, and several views of each song. Splits stay by song. Validation and test
songs are also featurised as two whole halves (same-song retrieval in `evaluate`), from the same
decoded audio. Normalisation statistics come from the train split's whole-song rows only.

`prepare.normalise: false` (seed 000's regime) leaves every row at its raw scale. norm.npz then
holds the identity as `mean`/`std` (the map every consumer applies to a raw vector) and the
train statistics as `train_mean`/`train_std` (`features/norm.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from songcoder.atomic import save_npy, save_text
from songcoder.audio.collection import SPLITS, to_csv
from songcoder.audio.io import AudioError, halves, load
from songcoder.config import PrepareConfig
from songcoder.errors import NoUsableDataError
from songcoder.features.extract import song_features, song_vector_kwargs
from songcoder.features.layout import feature_set_dim
from songcoder.features.norm import Norm, normalisation, save_norm
from songcoder.features.tempo import tempo_accuracy
from songcoder.parallel import imap

EXCERPT_SPLITS = ("train", "val")
HALVES_SPLITS = ("val", "test")
# Ground truth that needs no annotator: played faster or slower by these factors (resampled,
# so pitch moves too), a song's tempo must move by exactly that factor. (up, down) resampling.
SPEEDS = {0.8: (5, 4), 0.9: (10, 9), 1.12: (25, 28), 1.25: (4, 5)}


@dataclass
class Featurised:
    id: str
    vector: np.ndarray | None = None       # (D,)
    halves: np.ndarray | None = None       # (2, D) for val and test songs
    excerpts: np.ndarray | None = None     # (k, D) for train and val songs
    excerpt_starts: list[float] = field(default_factory=list)   # seconds
    excerpt_seconds: list[float] = field(default_factory=list)  # each excerpt row's length
    tempo_bpm: float = float("nan")
    bar_phase_s: float = float("nan")
    seconds: float = 0.0
    speed_ratios: dict[float, float] = field(default_factory=dict)   # speed -> est ratio
    error: str = ""


def excerpt_starts(frames: int, sr: int, excerpt_seconds: float, count: int) -> list[int]:
    """Start frames of up to `count` excerpts spread evenly over the song (overlapping when
    the song is short); [] when the song is under 1.5 excerpts long (its row is the song)."""
    n = int(round(excerpt_seconds * sr))
    if frames < 1.5 * n or count < 2:
        return []
    k = min(count, max(2, int(round(frames / n))))
    return [int(round(v)) for v in np.linspace(0, frames - n, k)]


def middle(x: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    """The middle `seconds` of x (all of it when shorter): the clip every tempo check plays."""
    n = min(len(x), int(round(seconds * sr)))
    return x[(len(x) - n) // 2:(len(x) - n) // 2 + n]


def speed_ratios(x: np.ndarray, sr: int, seconds: float, kw: dict) -> dict[float, float]:
    """est(played at speed s) / est(original) for each of SPEEDS, on `seconds` from the middle."""
    clip = middle(x, sr, seconds)
    base = song_features(clip, sr, **kw).tempo_bpm
    return {s: song_features(resample_poly(clip, up, down, axis=0).astype(np.float32), sr,
                             **kw).tempo_bpm / base for s, (up, down) in SPEEDS.items()}


def featurise(args: tuple[dict[str, str], PrepareConfig]) -> Featurised:
    """Worker: decode one song; its vector, excerpts (train, val) and halves (val, test)."""
    row, cfg = args
    kw = song_vector_kwargs(cfg)
    try:
        x, sr = load(row["path"])
        f = song_features(x, sr, **kw)
        out = Featurised(row["id"], f.vector, tempo_bpm=f.tempo_bpm, bar_phase_s=f.bar_phase_s,
                         seconds=len(x) / sr)
        if row["split"] in HALVES_SPLITS:
            out.halves = np.stack([song_features(h, sr, **kw).vector for h in halves(x)])
        if row["split"] == "test" and cfg.tempo_check_seconds > 0:
            out.speed_ratios = speed_ratios(x, sr, cfg.tempo_check_seconds, kw)
        if row["split"] in EXCERPT_SPLITS:
            starts = excerpt_starts(len(x), sr, cfg.excerpt_seconds, cfg.excerpts)
            n = int(round(cfg.excerpt_seconds * sr))
            rows = [song_features(x[a:a + n], sr, **kw).vector for a in starts]
            out.excerpt_starts = [a / sr for a in starts]
            out.excerpt_seconds = [n / sr] * len(starts)
            if cfg.whole_row or not starts:            # the song itself, last (one row: only it)
                rows.append(f.vector)
                out.excerpt_starts.append(0.0)
                out.excerpt_seconds.append(len(x) / sr)
            out.excerpts = np.stack(rows)
        parts = [out.vector] + [a for a in (out.halves, out.excerpts) if a is not None]
        if not all(np.isfinite(a).all() for a in parts):
            return Featurised(row["id"], error="features are not finite")
        return out
    except AudioError as e:
        return Featurised(row["id"], error=str(e))
    except Exception as e:  # one bad song must not take the collection down
        return Featurised(row["id"], error=f"feature extraction failed: {type(e).__name__}: {e}")


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
    dim = feature_set_dim(cfg.features)
    songs = {s: [f for f in good if split_of[f.id] == s] for s in SPLITS}

    def stack(arrays: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        return np.stack(arrays) if arrays else np.zeros(shape, np.float32)

    raw = {s: stack([f.vector for f in songs[s]], (0, dim)) for s in SPLITS}
    norm = Norm.of(*normalisation(raw["train"]), z_score=cfg.normalise)
    out_dir.mkdir(parents=True, exist_ok=True)
    for s in SPLITS:
        save_npy(out_dir / f"{s}.npy", norm.apply(raw[s]))
        index = [{"row": i, "id": f.id, "tempo_bpm": round(f.tempo_bpm, 3),
                  "bar_phase_s": round(f.bar_phase_s, 4), "seconds": round(f.seconds, 3)}
                 for i, f in enumerate(songs[s])]
        save_text(out_dir / f"{s}_index.csv",
                  to_csv(index, ["row", "id", "tempo_bpm", "bar_phase_s", "seconds"]))
    for s in HALVES_SPLITS:   # (2, N, D): first halves, second halves
        pairs = stack([f.halves for f in songs[s]], (0, 2, dim)).transpose(1, 0, 2)
        save_npy(out_dir / f"{s}_halves.npy", norm.apply(pairs))
    for s in EXCERPT_SPLITS:  # rows of one song are contiguous: excerpts in time order, the song
        rows = stack([e for f in songs[s] for e in f.excerpts], (0, dim))
        save_npy(out_dir / f"{s}_excerpts.npy", norm.apply(rows))
        index = [{"row": i, "id": f.id, "song": j, "start_s": round(t, 3), "seconds": round(d, 3)}
                 for i, (j, f, t, d) in enumerate(
                     (j, f, t, d) for j, f in enumerate(songs[s])
                     for t, d in zip(f.excerpt_starts, f.excerpt_seconds))]
        save_text(out_dir / f"{s}_excerpts_index.csv",
                  to_csv(index, ["row", "id", "song", "start_s", "seconds"]))
    save_norm(out_dir / "norm.npz", norm)
    save_text(out_dir / "skipped.csv", to_csv(skipped, ["file", "reason"]))

    audio_seconds = sum(f.seconds for f in good)
    metrics: dict[str, Any] = {
        "songs": len(good), "skipped": len(skipped), "audio_seconds": round(audio_seconds, 2),
        "wall_seconds": round(wall, 3), "realtime_factor": round(audio_seconds / wall, 1),
        "realtime_factor_per_worker": round(audio_seconds / wall / cfg.workers, 1),
        **{f"songs_{s}": int(len(raw[s])) for s in SPLITS},
        **{f"excerpts_{s}": sum(len(f.excerpts) for f in songs[s]) for s in EXCERPT_SPLITS},
        # songs whose tempo sits at a bound of the search range: the detector gave up
        "tempo_at_bound": round(float(np.mean([
            min(abs(f.tempo_bpm / cfg.min_bpm - 1), abs(f.tempo_bpm / cfg.max_bpm - 1)) < 0.005
            for f in good])), 4),
    }
    checked = [f for f in songs["test"] if f.speed_ratios]
    if checked:   # Accuracy1/2 of the tempo ratio under speed changes (x2, x1/2, x3, x1/3 for 2)
        est = np.array([r for f in checked for r in f.speed_ratios.values()])
        truth = np.array([s for f in checked for s in f.speed_ratios])
        acc1, acc2 = tempo_accuracy(est, truth)
        metrics["tempo_speed_acc1"], metrics["tempo_speed_acc2"] = round(acc1, 4), round(acc2, 4)
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
