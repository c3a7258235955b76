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


def halves_hits(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(N,) for each song, how many of its two halves have the other half as nearest neighbour
    (0, 1 or 2; their mean over songs / 2 is `top1_halves`)."""
    n = len(first)
    return (partner_ranks(first, second) == 1).reshape(2, n).sum(0)


def song_bootstrap(per_song: dict[str, np.ndarray], resamples: int, seed: int,
                   level: float = 0.95) -> dict[str, dict[str, float]]:
    """Percentile intervals of the same-song top-1 of every representation, and of the paired
    difference between the first (the code) and each of the others, by resampling songs.

    per_song: name -> (N,) halves_hits, the same N songs in the same order for every name.
    The two halves of a song are not independent draws (a song that is easy is easy from both
    sides), so songs, not halves, are resampled; the same resampled songs score every
    representation, so a difference's interval is narrower than the two intervals suggest.
    Each half keeps the neighbours it had in the full set (no re-ranking within a resample):
    the interval is of the share of songs found, with the distractors of this run.
    Returns {name: {lo, hi}} and {first-minus-other: {lo, hi, above}}, `above` the share of
    resamples in which the first scores strictly higher."""
    names = list(per_song)
    hits = np.stack([np.asarray(per_song[k], np.float64) / 2 for k in names])   # (R, N)
    n = hits.shape[1]
    if n < 2 or resamples < 1:
        return {}
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    boot = hits[:, idx].mean(axis=2)                                           # (R, resamples)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    out: dict[str, dict[str, float]] = {}
    for k, b in zip(names, boot):
        lo, hi = np.percentile(b, q)
        out[k] = {"lo": float(lo), "hi": float(hi)}
    for k, b in zip(names[1:], boot[1:]):
        d = boot[0] - b
        lo, hi = np.percentile(d, q)
        out[f"{names[0]}_minus_{k}"] = {"lo": float(lo), "hi": float(hi),
                                        "above": float((d > 0).mean())}
    return out


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
