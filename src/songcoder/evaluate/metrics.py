"""Relative error: the reconstruction's squared error over that of predicting the training mean.

1.0 means "no better than the mean" (the collapse seed 000 saw), 0.0 is perfect.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from songcoder.features.layout import GROUPS as FEATURE_GROUPS  # the one layout definition


def rel_error(x: np.ndarray, x_hat: np.ndarray, mean: np.ndarray,
              where: np.ndarray | slice | None = None) -> float:
    """sum (x_hat - x)^2 / sum (mean - x)^2 over the selected entries (all when `where` is None).

    `where` is a column slice or a boolean mask shaped like x.
    """
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    base = np.broadcast_to(np.asarray(mean, np.float64), x.shape)
    if isinstance(where, slice):
        x, x_hat, base = x[:, where], x_hat[:, where], base[:, where]
    elif where is not None:
        x, x_hat, base = x[where], x_hat[where], base[where]
    den = float(((base - x) ** 2).sum())
    return float(((x_hat - x) ** 2).sum()) / den if den > 0 else float("nan")


def group_rel_errors(x: np.ndarray, x_hat: np.ndarray, mean: np.ndarray,
                     groups: dict[str, slice] = FEATURE_GROUPS) -> dict[str, float]:
    return {name: rel_error(x, x_hat, mean, cols) for name, cols in groups.items()
            if cols.stop <= x.shape[1]}


def masking(shape: tuple[int, int], fraction: float, seed: int) -> np.ndarray:
    """Boolean (N, D): True where an entry is zeroed (each with probability `fraction`)."""
    return np.random.default_rng(seed).random(shape) < fraction


def masked_rel_error(x: np.ndarray, reconstruct: Callable[[np.ndarray], np.ndarray],
                     mean: np.ndarray, zeroed: np.ndarray) -> float:
    """Zero the `zeroed` entries, reconstruct, score only those entries against the mean."""
    x_in = np.where(zeroed, 0.0, x).astype(np.float32)
    return rel_error(x, reconstruct(x_in), mean, zeroed)
