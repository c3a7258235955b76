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
- `tonality`: held spectral peaks per frame: bins that stand >= 12 dB above the mean dB of
  their +-250 Hz neighbourhood, are the largest bin within +-2 bins (a Hann main lobe) and
  are still such a peak (within a bin), within 2 dB of their level, 4 frames (64 ms) later
  (a note rings on; narrow-band noise flickers in level); counted between 60 Hz and
  5 kHz over the frames that are not silent: held notes and their partials. White noise has
  about none; noise shaped like a song's spectrum has some (its narrow bands flicker, so
  few of their peaks hold), real music many.
- `chroma_profile`: 12-bin pitch-class profile (C = 0) of the peak magnitudes above, summed
  over frames and normalised: which notes sound, whatever the octave.
"""

from __future__ import annotations

import numpy as np

from songcoder.audio.spectral import HOP, frame_flatness, loud_frames, power_db, power_spectrogram

MIN_FLUX_DB = 0.05      # mean onset flux (dB per bin per frame) under this: no onsets at all


def spectral_flatness(x: np.ndarray) -> float:
    """Mean spectral flatness over the non-silent frames of `x`; NaN when all are silent."""
    f = frame_flatness(power_spectrogram(x))
    return float(np.nanmean(f)) if np.isfinite(f).any() else float("nan")


def energy_modulation_db(x: np.ndarray) -> float:
    """Standard deviation over frames of the frame energy in dB (floored 80 dB under the peak)."""
    e = power_spectrogram(x).sum(axis=1)
    return float(power_db(e).std())


def onset_envelope(x: np.ndarray) -> np.ndarray:
    """Spectral flux per frame step: mean over bins of the dB rise (half-wave rectified)."""
    return spectral_flux(power_spectrogram(x))


def spectral_flux(S: np.ndarray) -> np.ndarray:
    """The onset envelope of a power spectrogram (frames, bins)."""
    S_db = power_db(S)
    return np.maximum(np.diff(S_db, axis=0), 0).mean(axis=1)


def onset_periodicity(x: np.ndarray, sr: int, min_period: float = 0.25,
                      max_period: float = 1.5) -> float:
    """Peak normalised autocorrelation of the onset envelope over beat lags; 0 without onsets."""
    return envelope_periodicity(onset_envelope(x), sr, min_period, max_period)


def envelope_periodicity(env: np.ndarray, sr: int, min_period: float = 0.25,
                         max_period: float = 1.5) -> float:
    """`onset_periodicity` of an onset envelope (one value per HOP samples)."""
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


PEAK_DB, PEAK_BAND_HZ, PEAK_NEIGHBOURHOOD_HZ = 12.0, (60.0, 5000.0), 250.0
PEAK_HOLD, PEAK_STEADY_DB = 4, 2.0   # a held peak: still there 4 frames (64 ms) on, within 2 dB


def tonal_peaks(S: np.ndarray, sr: int) -> np.ndarray:
    """(frames, bins) power -> boolean (frames, bins): bins that are tonal peaks (see `tonality`)."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    n_fft = 2 * (S.shape[1] - 1)
    hz = np.arange(S.shape[1]) * sr / n_fft
    S_db = power_db(S)
    half = max(2, round(PEAK_NEIGHBOURHOOD_HZ * n_fft / sr))
    ground = uniform_filter1d(S_db, 2 * half + 1, axis=1, mode="nearest")
    local_max = S_db >= maximum_filter1d(S_db, 5, axis=1, mode="nearest")
    band = (hz >= PEAK_BAND_HZ[0]) & (hz <= PEAK_BAND_HZ[1])
    peaks = local_max & (S_db - ground >= PEAK_DB) & band
    # held: PEAK_HOLD frames later a peak within a bin, at a level within PEAK_STEADY_DB
    # (a note rings on; narrow-band noise at the same place flickers in level)
    k = PEAK_HOLD
    later = maximum_filter1d(np.where(peaks[k:], S_db[k:], -np.inf), 3, axis=1)
    held = np.zeros_like(peaks)
    held[:-k] = peaks[:-k] & (np.abs(later - S_db[:-k]) <= PEAK_STEADY_DB)
    return held


def tonality(x: np.ndarray, sr: int) -> float:
    """Mean tonal peaks per non-silent frame; 0 when every frame is silent."""
    S = power_spectrogram(x)
    loud = loud_frames(S) & (S.sum(axis=1) > 0)
    return float(tonal_peaks(S[loud], sr).sum(axis=1).mean()) if loud.any() else 0.0


def chroma_profile(x: np.ndarray, sr: int) -> np.ndarray:
    """(12,) pitch-class profile of the tonal peaks (sums to 1; zeros when there are none)."""
    S = power_spectrogram(x)
    peaks = tonal_peaks(S, sr)
    hz = np.arange(S.shape[1]) * sr / (2 * (S.shape[1] - 1))
    pc = np.round(12 * np.log2(np.maximum(hz, 1e-9) / 261.6256)).astype(int) % 12
    prof = np.bincount(pc, weights=(np.sqrt(S) * peaks).sum(axis=0), minlength=12)
    return prof / prof.sum() if prof.sum() > 0 else prof


def chroma_corr(x: np.ndarray, ref: np.ndarray, sr: int) -> float:
    """Pearson correlation of the pitch-class profiles of x and ref; NaN when either has none."""
    a, b = chroma_profile(x, sr), chroma_profile(ref, sr)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def structure_figures(x: np.ndarray, sr: int) -> dict[str, float]:
    return {"spectral_flatness": spectral_flatness(x),
            "energy_modulation_db": energy_modulation_db(x),
            "onset_periodicity": onset_periodicity(x, sr),
            "tonality": tonality(x, sr)}
