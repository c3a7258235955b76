"""Figures that tell structured sound (notes, beats) from noise.

The collapse test and LSD alone cannot: broadband noise at the right loudness is neither
silent, static nor a loop, and its LSD can beat a bad model's. Three figures, each computed
on the same 1024-point Hann STFT (hop 256) as the rest of `generate`:

- `spectral_flatness`: per frame, geometric over arithmetic mean of the power spectrum
  (1 for a flat spectrum; about 0.56 for white noise, whose periodogram bins are
  exponentially distributed; near 0 for a few harmonics), averaged over the frames that are
  not silent. Notes pull it down, noise pushes it up.
- `energy_modulation_db`: the standard deviation over frames of the frame energy in dB:
  how much the loudness moves (drum hits, note onsets and decays). Steady noise or a held
  chord: about 1 dB or less; a click track: tens of dB.
- `onset_periodicity`: the onset envelope (spectral flux: the summed rise in dB between
  consecutive frames) autocorrelated, normalised, and its peak taken over beat lags
  0.25-1.5 s (40-240 BPM): about 1 for a steady beat, about 0 for noise or no onsets.
"""

from __future__ import annotations

import numpy as np

N_FFT, HOP = 1024, 256
SILENT_DB = 60.0        # frames this far under the loudest one are left out of the flatness
FLOOR_DB = 80.0         # dB spectra are floored this far under the peak bin
MIN_FLUX_DB = 0.05      # mean onset flux (dB per bin per frame) under this: no onsets at all


def power_spectrogram(x: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """(frames, n_fft // 2 + 1) power of a Hann-windowed STFT (frames fully inside x)."""
    x = np.asarray(x, np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    idx = np.arange(0, len(x) - n_fft + 1, hop)[:, None] + np.arange(n_fft)
    return np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2


def frame_flatness(S: np.ndarray) -> np.ndarray:
    """Per-frame spectral flatness of a power spectrogram (frames, bins); NaN for silent frames."""
    energy = S.sum(axis=1)
    loud = energy > max(energy.max(), 1e-30) * 10 ** (-SILENT_DB / 10)
    P = np.maximum(S, max(S.max(), 1e-30) * 1e-12)        # log(0) guard, 120 dB down
    flat = np.exp(np.log(P).mean(axis=1)) / P.mean(axis=1)
    return np.where(loud, flat, np.nan)


def spectral_flatness(x: np.ndarray) -> float:
    """Mean spectral flatness over the non-silent frames of `x`; NaN when all are silent."""
    f = frame_flatness(power_spectrogram(x))
    return float(np.nanmean(f)) if np.isfinite(f).any() else float("nan")


def energy_modulation_db(x: np.ndarray) -> float:
    """Standard deviation over frames of the frame energy in dB (floored 80 dB under the peak)."""
    e = power_spectrogram(x).sum(axis=1)
    e_db = 10 * np.log10(np.maximum(e, max(e.max(), 1e-30) * 10 ** (-FLOOR_DB / 10)))
    return float(e_db.std())


def onset_envelope(x: np.ndarray) -> np.ndarray:
    """Spectral flux per frame step: mean over bins of the dB rise (half-wave rectified)."""
    S = power_spectrogram(x)
    S_db = 10 * np.log10(np.maximum(S, max(S.max(), 1e-30) * 10 ** (-FLOOR_DB / 10)))
    return np.maximum(np.diff(S_db, axis=0), 0).mean(axis=1)


def onset_periodicity(x: np.ndarray, sr: int, min_period: float = 0.25,
                      max_period: float = 1.5) -> float:
    """Peak normalised autocorrelation of the onset envelope over beat lags; 0 without onsets."""
    env = onset_envelope(x)
    lo, hi = max(1, round(min_period * sr / HOP)), round(max_period * sr / HOP)
    if len(env) <= hi or env.mean() < MIN_FLUX_DB:
        return 0.0
    env = env - env.mean()
    ac = np.correlate(env, env, "full")[len(env) - 1:]
    if ac[0] <= 0:
        return 0.0
    # unbiased: each lag's sum has len - lag terms
    ac = ac / (len(env) - np.arange(len(env))) / (ac[0] / len(env))
    return float(max(0.0, ac[lo:hi + 1].max()))


def structure_figures(x: np.ndarray, sr: int) -> dict[str, float]:
    return {"spectral_flatness": spectral_flatness(x),
            "energy_modulation_db": energy_modulation_db(x),
            "onset_periodicity": onset_periodicity(x, sr)}
