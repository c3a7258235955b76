"""Nearest-neighbour retrieval in a representation (Euclidean distance)."""

from __future__ import annotations

import numpy as np


def _sq_dists(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    sq = (a * a).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * a @ a.T                             # (N, N)
    np.fill_diagonal(d, np.inf)                                             # never your own neighbour
    return d


def top1_halves(first: np.ndarray, second: np.ndarray) -> float:
    """Fraction of half-songs whose nearest neighbour, among all other halves, is the other half
    of the same song. first, second: (N, d), row i of each from song i."""
    n = len(first)
    if n < 2:
        return float("nan")
    nn = _sq_dists(np.concatenate([first, second])).argmin(1)              # (2N,)
    partner = np.r_[np.arange(n, 2 * n), np.arange(n)]
    return float((nn == partner).mean())


def precision_at_k(z: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean fraction of each item's k nearest neighbours that share its label (k capped at N-1)."""
    labels = np.asarray(labels)
    k = min(k, len(z) - 1)
    if k < 1:
        return float("nan")
    nn = np.argsort(_sq_dists(z), axis=1, kind="stable")[:, :k]            # (N, k)
    return float((labels[nn] == labels[:, None]).mean())
