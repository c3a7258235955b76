"""Nearest-neighbour retrieval in a representation (Euclidean distance)."""

from __future__ import annotations

import numpy as np


def _sq_dists(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    sq = (a * a).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * a @ a.T                             # (N, N)
    np.fill_diagonal(d, np.inf)                                             # never your own neighbour
    return d


def partner_ranks(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(2N,) rank of each half-song's other half among all other 2N - 1 halves (1 = nearest;
    ties count against it). first, second: (N, d), row i of each from song i."""
    n = len(first)
    d = _sq_dists(np.concatenate([first, second]))                          # (2N, 2N)
    partner = np.r_[np.arange(n, 2 * n), np.arange(n)]
    to_partner = d[np.arange(2 * n), partner]
    return (d <= to_partner[:, None]).sum(1)


def top1_halves(first: np.ndarray, second: np.ndarray) -> float:
    """Fraction of half-songs whose nearest neighbour, among all other halves, is the other half
    of the same song."""
    return float((partner_ranks(first, second) == 1).mean()) if len(first) > 1 else float("nan")


def mrr_halves(first: np.ndarray, second: np.ndarray) -> float:
    """Mean reciprocal rank of each half-song's other half among all other halves."""
    return float((1.0 / partner_ranks(first, second)).mean()) if len(first) > 1 else float("nan")


def zscorer(train: np.ndarray):
    """x -> (x - mean) / std with the statistics of `train` rows (a constant column stays 0;
    no rows: x as it is)."""
    train = np.asarray(train, np.float64)
    if len(train) == 0:
        return lambda x: np.asarray(x, np.float32)
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 1e-12 * max(float(std.max(initial=0.0)), 1e-30), std, 1.0)
    return lambda x: ((np.asarray(x, np.float64) - mean) / std).astype(np.float32)


def precision_at_k(z: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean fraction of each item's k nearest neighbours that share its label (k capped at N-1)."""
    labels = np.asarray(labels)
    k = min(k, len(z) - 1)
    if k < 1:
        return float("nan")
    nn = np.argsort(_sq_dists(z), axis=1, kind="stable")[:, :k]            # (N, k)
    return float((labels[nn] == labels[:, None]).mean())
