"""norm.npz: the affine map prepare applies to every song vector, and the train statistics.

Prepare z-scores each dimension with the train split's statistics (`normalise`), or, with
`prepare.normalise: false` (seed 000's regime), leaves the rows at raw scales: then `mean`/`std`
in norm.npz are the identity, so every consumer that maps a raw vector to the model's input
(the CLI, the registered encoder, the generation judge) stays right without knowing the
setting, and `train_mean`/`train_std` keep the statistics (retrieval z-scores with them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songcoder.atomic import atomic_path


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
