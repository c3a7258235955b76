"""z-scoring of song vectors with the train split's statistics: prepare fits and applies it
(and keeps the statistics as norm.npz), the serving encoder applies it to new songs.

With `prepare.normalise: false` (seed 000's regime) prepare leaves the rows at raw scales: then
`mean`/`std` in norm.npz are the identity, so every consumer that maps a raw vector to the
model's input (`Norm.mean`/`.std`: the CLI, the registered encoder, the generation judge) stays
right without knowing the setting, `train_mean`/`train_std` keep the statistics (retrieval
z-scores with them) and `z_scored` says which regime prepare used.
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


@dataclass(frozen=True)
class Norm:
    """norm.npz: `mean`, `std` as applied to the prepared rows; `train_*` the train statistics."""

    mean: np.ndarray
    std: np.ndarray
    train_mean: np.ndarray
    train_std: np.ndarray

    z_scored: bool   # prepare.normalise: the prepared rows are z-scored (False: raw scales)

    @classmethod
    def of(cls, train_mean: np.ndarray, train_std: np.ndarray, z_score: bool = True) -> Norm:
        """The train statistics, applied as they are or as the identity (raw scales)."""
        if z_score:
            return cls(train_mean, train_std, train_mean, train_std, True)
        return cls(np.zeros_like(train_mean), np.ones_like(train_std), train_mean, train_std,
                   False)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Raw song vectors -> the model's input."""
        return normalise(x, self.mean, self.std)


def read_norm(path: str | Path) -> Norm:
    """norm.npz; one written before `prepare.normalise` existed holds only the (applied) train
    statistics."""
    with np.load(path) as f:
        mean, std = f["mean"], f["std"]
        if "train_mean" not in f:
            return Norm(mean, std, mean, std, True)
        return Norm(mean, std, f["train_mean"], f["train_std"], bool(f["z_scored"]))


def save_norm(path: str | Path, norm: Norm) -> None:
    arrays = {k: getattr(norm, k).astype(np.float32)
              for k in ("mean", "std", "train_mean", "train_std")}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays, z_scored=np.bool_(norm.z_scored))
