"""z-scoring of song vectors with the train split's statistics: prepare fits and applies it
(and keeps the statistics as norm.npz), the serving encoder applies it to new songs.

With `prepare.normalise: false` (seed 000's regime) prepare leaves the rows at raw scales: then
`mean`/`std` in norm.npz are the identity, so every consumer that maps a raw vector to the
model's input (`load_norm`: the CLI, the registered encoder, the generation judge) stays right
without knowing the setting, and `train_mean`/`train_std` keep the statistics (`read_norm`:
retrieval z-scores with them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songcoder.atomic import atomic_path
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


def denormalise(z: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The inverse of `normalise`: z-scored rows back to raw scales."""
    return (z.astype(np.float64) * std + mean).astype(np.float32)


def applied_stats(z_score: bool, mean: np.ndarray,
                  std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (mean, std) that `normalise` applies to the rows prepare writes: the train statistics,
    or the identity for `prepare.normalise: false` (raw scales)."""
    return (mean, std) if z_score else (np.zeros_like(mean), np.ones_like(std))


@dataclass(frozen=True)
class Norm:
    """norm.npz: `mean`, `std` as applied to the prepared rows; `train_*` the train statistics."""

    mean: np.ndarray
    std: np.ndarray
    train_mean: np.ndarray
    train_std: np.ndarray

    @property
    def z_scored(self) -> bool:
        """Are the prepared rows z-scored already (False: raw scales)?"""
        return bool(np.array_equal(self.mean, self.train_mean)
                    and np.array_equal(self.std, self.train_std))


def load_norm(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) from prepare's norm.npz: the map to apply to a raw song vector."""
    with np.load(path) as stats:
        return stats["mean"], stats["std"]


def read_norm(path: str | Path) -> Norm:
    """norm.npz; one written before `prepare.normalise` existed has only the train statistics."""
    with np.load(path) as f:
        mean, std = f["mean"], f["std"]
        return Norm(mean, std, f["train_mean"] if "train_mean" in f else mean,
                    f["train_std"] if "train_std" in f else std)


def save_norm(path: str | Path, applied: tuple[np.ndarray, np.ndarray],
              train: tuple[np.ndarray, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **{k: v.astype(np.float32) for k, v in zip(
            ("mean", "std", "train_mean", "train_std"), (*applied, *train))})
