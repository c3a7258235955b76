"""Structured synthetic song vectors for tests, tuning and benchmarks (not real features).

The layout mirrors the real 1482-d vector: 3 rhythm bands x 384 ticks, then 30 loudness
bands x 11 quantiles. Songs come from `styles` styles with `patterns` drum patterns each;
a song's rhythm is its pattern's onsets, circularly shifted by a few ticks and with its own
per-band gains, and its loudness quantiles follow the style's spectral tilt with a per-song
gain and spread. The shift is a non-linear (and the gain a multiplicative) degree of freedom:
PCA needs many components for it, an autoencoder may not.
"""

from __future__ import annotations

import numpy as np

TICKS, RHYTHM_BANDS, LOUD_BANDS, QUANTILES = 384, 3, 30, 11
N_FEATURES = RHYTHM_BANDS * TICKS + LOUD_BANDS * QUANTILES  # 1482


def song_vectors(n: int, *, styles: int = 6, patterns: int = 4, max_shift: int = 6,
                 noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x (n, 1482) float32 un-normalised, style (n,), pattern (n,) global pattern id)."""
    rng = np.random.default_rng(seed)
    templ_rng = np.random.default_rng(10_000 + styles * 100 + patterns)  # same templates for every n/seed
    ticks = np.arange(TICKS)
    # Onset templates: (styles*patterns, bands, ticks); a bump of width ~2 ticks at each onset.
    n_pat = styles * patterns
    templates = np.zeros((n_pat, RHYTHM_BANDS, TICKS))
    for p in range(n_pat):
        for b in range(RHYTHM_BANDS):
            grid = [96, 48, 24][b]                      # low band on beats, high band on 16ths
            onsets = np.arange(0, TICKS, grid)
            keep = templ_rng.random(len(onsets)) < 0.6
            extra = templ_rng.integers(0, TICKS, size=templ_rng.integers(1, 4))
            for t in np.concatenate([onsets[keep], extra]):
                d = np.minimum(np.abs(ticks - t), TICKS - np.abs(ticks - t))
                templates[p, b] += templ_rng.uniform(0.5, 1.0) * np.exp(-0.5 * (d / 2.0) ** 2)
    tilt = templ_rng.normal(0, 1, size=(styles, LOUD_BANDS)).cumsum(1) * 0.3  # spectral shape
    spread = templ_rng.uniform(0.5, 1.5, size=(styles, LOUD_BANDS))
    z = np.array([-2.0, -1.5, -1.0, -0.6, -0.3, 0.0, 0.3, 0.6, 1.0, 1.5, 2.0])  # quantile levels

    style = rng.integers(0, styles, size=n)
    pattern = style * patterns + rng.integers(0, patterns, size=n)
    shift = rng.integers(-max_shift, max_shift + 1, size=n)
    gains = rng.lognormal(0.0, 0.3, size=(n, RHYTHM_BANDS))
    rhythm = np.stack([np.roll(templates[pattern[i]], shift[i], axis=-1) for i in range(n)])
    rhythm = rhythm * gains[:, :, None]                              # (n, bands, ticks)
    level = rng.normal(0, 1.0, size=(n, 1)) + tilt[style]            # (n, 30)
    width = spread[style] * rng.lognormal(0.0, 0.2, size=(n, 1))     # (n, 30)
    loud = level[:, :, None] + width[:, :, None] * z                 # (n, 30, 11), sorted
    x = np.concatenate([rhythm.reshape(n, -1), loud.reshape(n, -1)], axis=1)
    x = x + noise * rng.normal(size=x.shape) * np.r_[np.ones(RHYTHM_BANDS * TICKS),
                                                     4 * np.ones(LOUD_BANDS * QUANTILES)]
    return x.astype(np.float32), style, pattern


def zscore(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Standardise with train-only statistics (the prepare stage's contract)."""
    mu, sd = train.mean(0), train.std(0) + 1e-6
    return [((a - mu) / sd).astype(np.float32) for a in (train, *others)]


def low_rank(n: int, d: int, rank: int, *, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """Rows on a random `rank`-d subspace plus isotropic noise, float32 (n, d)."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, d)) / np.sqrt(rank)
    return (rng.normal(size=(n, rank)) @ basis + noise * rng.normal(size=(n, d))).astype(np.float32)
