"""z-scoring of song vectors with the train split's statistics: prepare fits and applies it
(and keeps the statistics as norm.npz), the serving encoder applies it to new songs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from songcoder.features.layout import groups

STD_FLOOR = 0.01   # of the feature group's median std


def normalisation(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std from train (float64).

    A dimension that barely varies on train (a band that is always at the -100 dB floor) would
    turn rounding noise, or any test song with content there, into huge z-scores; so each std
    is floored at a fraction of its feature group's median std.
    """
    x = train.astype(np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    for cols in groups(x.shape[1]).values():
        floor = STD_FLOOR * max(float(np.median(std[cols])), 1e-12)
        std[cols] = np.maximum(std[cols], floor)
    return mean, std


def normalise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((x.astype(np.float64) - mean) / std).astype(np.float32)


def load_norm(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) from prepare's norm.npz."""
    with np.load(path) as stats:
        return stats["mean"], stats["std"]
