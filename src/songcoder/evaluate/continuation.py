"""Judging a continuation of a song: collapse, log-spectral distance, copying, baselines.

Collapse test (`collapse_time`). The continuation is scanned with a window of
`window` s (1.0) every `hop` s (0.1); the collapse time is the start of the first window, in
seconds after the seed, that is
- silent: its RMS is under 10 % of the seed's RMS;
- a loop: the window's waveform correlates at >= 0.98 (normalised) with the audio (seed
  included) 2 ms to 1 s earlier - exact repetition, which a model stuck in a cycle produces
  and played music almost never does;
- noise (it has dissolved into hiss): its mean spectral flatness (`structure.py`) is more
  than halfway from the seed's to white noise's (about 0.56). Music keeps the flatness of
  its seed within a few hundredths; a model that has lost the notes and drums produces a
  broadband hiss near 0.56;
- static (a fixed point, a held tone, a steady texture): over `static_window` s (2.0) its
  spectral envelope moves less than steady noise would - the mean absolute change in dB of
  16 log-spaced band energies between STFT frames 4 hops apart is under 75 % of that of
  Gaussian noise with the window's own average spectrum (counting the frames that are not
  silent, when they are more than half of the window). Bands, not bins: a drone whose phases
  are redrawn every frame makes every *bin* flicker while nothing audible changes. On 150
  real continuations of the default data the smallest ratio over 2 s windows is 0.92;
- texture (noise coloured like the song, which the tests above cannot catch: its flatness is
  the seed's and it moves as noise does): over the same 2 s, checked every `texture_hop` s,
  neither its beat nor its pitch is better than that of the same coloured noise - onset
  periodicity (`structure.envelope_periodicity`, beat lags 0.25-1.0 s) at most the noise's +
  `TEXTURE_BEAT_MARGIN`, and tonal peaks per frame (`structure.tonality`) at most the noise's
  + `TEXTURE_TONAL_MARGIN`. Calibration (see the README): real continuations of the default
  data and of real music must never fire.
The tests run in that order (most specific first). A continuation that never collapses gets
its full length.

LSD (`lsd_db`): per STFT frame, the RMS over bins of the difference in dB between the two
power spectra, each floored 80 dB under the reference's peak; averaged over frames. The
continuation is not expected to match the real one sample by sample: LSD measures whether
the right sounds, at the right loudness, are there at about the right times.

`copy_score`: the highest normalised correlation of any 1 s window of the continuation
(every 0.1 s) with the seed at any shift, the seed taken as looping (so a loop of the seed
scores about 1 whatever its rotation); a continuation must not be a copy.
"""

from __future__ import annotations

import numpy as np

from songcoder.audio.spectral import HOP, N_FFT, frame_flatness, power_db, power_spectrogram
from songcoder.evaluate.structure import envelope_periodicity, spectral_flux, tonal_peaks

WHITE_FLATNESS = 0.5615       # exp(-Euler gamma): flatness of an exponential periodogram
BANDS, MOTION_LAG = 16, 4      # the static test: log-spaced bands, frames apart
# Calibrated (benchmarks/judge_calibration.py, 7 built-in and 12 real-music continuations,
# every 2 s window's gaps recorded): the largest margins at which the rule never fires on a
# real continuation. Quiet beatless real passages (beat gap down to -0.15 with pitch gap
# 0.12; pitch gap down to -0.35 with beat gap 0.03) bound them, and so song-coloured noise
# gets through often: the rule fires on 10 of 19 seed-spectrum noises there.
TEXTURE_BEAT_MARGIN = 0.0
TEXTURE_TONAL_MARGIN = 0.1
TEXTURE_MAX_PERIOD = 1.0       # s: a 2 s window holds two periods at most


def lsd_db(est: np.ndarray, ref: np.ndarray) -> float:
    """Log-spectral distance in dB between `est` and the reference `ref` (same length)."""
    n = min(len(est), len(ref))
    P, R = power_spectrogram(est[:n]), power_spectrogram(ref[:n])
    d = power_db(P, peak=R.max()) - power_db(R)
    return float(np.sqrt((d ** 2).mean(axis=1)).mean())


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def band_power(S: np.ndarray) -> np.ndarray:
    """(frames, bins) power -> (frames, <= BANDS) energies of log-spaced bands."""
    edges = np.unique(np.geomspace(1, S.shape[1], BANDS + 1).astype(int))
    return np.add.reduceat(S, edges[:-1], axis=1)


def band_motion(S: np.ndarray) -> float:
    """Mean absolute dB change of band energies MOTION_LAG frames apart (floored 80 dB under
    the loudest band) of a power spectrogram (frames, bins)."""
    if len(S) <= MOTION_LAG:
        return 0.0
    B = band_power(S)
    B_db = power_db(B)
    return float(np.abs(B_db[MOTION_LAG:] - B_db[:-MOTION_LAG]).mean())


def coloured_noise(psd: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of Gaussian noise whose power spectrum has the shape of `psd` (any length)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.linspace(0, 1, len(spec))
    return np.fft.irfft(spec * np.sqrt(np.interp(f, np.linspace(0, 1, len(psd)), psd)), n)


def _max_norm_corr(win: np.ndarray, ref: np.ndarray) -> float:
    """max over every placement of `win` wholly inside `ref` of their normalised correlation."""
    w = len(win)
    if len(ref) < w:
        return 0.0
    nfft = 1 << int(np.ceil(np.log2(len(ref) + w)))
    # dot[j] = sum_n win[n] * ref[j + n]
    dot = np.fft.irfft(np.fft.rfft(ref, nfft) * np.conj(np.fft.rfft(win, nfft)), nfft)
    j = np.arange(len(ref) - w + 1)
    c = np.concatenate([[0.0], np.cumsum(ref ** 2)])
    denom = np.sqrt((c[j + w] - c[j]) * (win ** 2).sum()) + 1e-12
    return float((dot[j] / denom).max())


def _max_loop_corr(x: np.ndarray, pos: int, w: int, lag_min: int, lag_max: int) -> float:
    """max over L in [lag_min, lag_max] of corr(x[pos:pos+w], x[pos-L:pos-L+w])."""
    lag_max = min(lag_max, pos)
    if lag_max < lag_min:
        return 0.0
    return _max_norm_corr(x[pos:pos + w], x[pos - lag_max: pos + w - lag_min])


def copy_score(seed: np.ndarray, cont: np.ndarray, sr: int, window: float = 1.0,
               hop: float = 0.1) -> float:
    """Highest normalised correlation of a `window` s piece of `cont` with the (looped) seed."""
    seed = np.asarray(seed, np.float64)
    w = min(int(window * sr), len(seed), len(cont))
    if w == 0 or rms(seed) == 0:
        return 0.0
    ref = np.tile(seed, 2)[: len(seed) + w - 1]           # every rotation of the seed
    x = np.asarray(cont, np.float64)
    return max(_max_norm_corr(x[a:a + w], ref)
               for a in range(0, len(x) - w + 1, max(1, int(hop * sr))))


def texture_figures(S: np.ndarray, peaks: np.ndarray, sr: int) -> tuple[float, float]:
    """(beat, pitch) of a 2 s stretch: onset periodicity and tonal peaks per loud frame."""
    beat = envelope_periodicity(spectral_flux(S), sr, max_period=TEXTURE_MAX_PERIOD)
    return beat, float(peaks.sum(axis=1).mean()) if len(peaks) else 0.0


def texture_gap(S: np.ndarray, peaks: np.ndarray, sr: int, noise: np.ndarray) -> tuple[float, float]:
    """(beat, pitch) of a stretch minus those of `noise` (coloured like it): how much better
    than noise it is. The texture rule fires when neither exceeds its margin."""
    beat, pitch = texture_figures(S, peaks, sr)
    N = power_spectrogram(noise)
    n_beat, n_pitch = texture_figures(N, tonal_peaks(N, sr), sr)
    return beat - n_beat, pitch - n_pitch


def collapse_time(seed: np.ndarray, cont: np.ndarray, sr: int, *, window: float = 1.0,
                  hop: float = 0.1, silence: float = 0.1, static: float = 0.75,
                  static_window: float = 2.0, texture_hop: float = 0.5,
                  loop_corr: float = 0.98, lag_min: float = 0.002,
                  lag_max: float = 1.0, noise: float = 0.5) -> tuple[float, str]:
    """(seconds after the seed at which `cont` collapses, reason); see the module docstring."""
    x = np.concatenate([seed, cont]).astype(np.float64)
    S = power_spectrogram(x)
    peaks = tonal_peaks(S, sr)
    in_seed = (np.arange(len(S)) * HOP + N_FFT) <= len(seed)   # frames wholly inside the seed
    centres = (np.arange(len(S)) * HOP + N_FFT / 2) / sr  # seconds from the seed's start
    seed_rms = rms(seed)
    # the static test looks at the frames that are not silent: music that stops is "silent"
    chunks = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]   # the STFT frames
    frame_rms = np.sqrt(np.mean(chunks ** 2, axis=1))
    loud = frame_rms[:len(S)] >= silence * seed_rms
    flat = frame_flatness(S)
    seed_flat = np.nanmean(flat[in_seed]) if seed_rms > 0 and in_seed.any() else np.nan
    noisy = seed_flat + noise * (WHITE_FLATNESS - seed_flat) if np.isfinite(seed_flat) else np.inf
    w, h, ws = int(window * sr), max(1, int(hop * sr)), int(static_window * sr)
    every = max(1, round(texture_hop / hop))
    for i, start in enumerate(range(0, len(cont) - w + 1, h)):
        pos = len(seed) + start
        if rms(x[pos:pos + w]) < silence * seed_rms:
            return start / sr, "silent"
        inside = (centres >= pos / sr) & (centres <= (pos + w) / sr)
        if _max_loop_corr(x, pos, w, int(lag_min * sr), int(lag_max * sr)) >= loop_corr:
            return start / sr, "loop"
        if np.isfinite(flat[inside]).any() and np.nanmean(flat[inside]) > noisy:
            return start / sr, "noise"
        steady = (centres >= pos / sr) & (centres <= (pos + ws) / sr)
        frames = steady & loud
        if start + ws > len(cont) or frames.sum() <= steady.sum() / 2:
            continue
        # noise with the window's own average spectrum: the reference of both tests below
        ref = coloured_noise(S[frames].mean(axis=0), ws, np.random.default_rng(0))
        if band_motion(S[frames]) < static * band_motion(power_spectrogram(ref)):
            return start / sr, "static"
        # texture only where sound fills the window: music stopping is the silent test's
        if i % every == 0 and frames.sum() >= 0.9 * steady.sum():
            beat, pitch = texture_gap(S[steady], peaks[frames], sr, ref)
            if beat <= TEXTURE_BEAT_MARGIN and pitch <= TEXTURE_TONAL_MARGIN:
                return start / sr, "texture"
    return len(cont) / sr, "none"


def baselines(seed: np.ndarray, n: int, frame: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Continuations any model should beat: silence, the last frame repeated, the seed looped,
    and noise with the seed's average spectrum and loudness."""
    reps = lambda a: np.tile(a, -(-n // len(a)))[:n]      # noqa: E731
    noise = coloured_noise(power_spectrogram(seed).mean(axis=0), n, rng)
    noise *= rms(seed) / max(rms(noise), 1e-12)
    return {"silence": np.zeros(n, np.float32), "repeat_last_frame": reps(seed[-frame:]),
            "loop_seed": reps(seed), "seed_spectrum_noise": noise.astype(np.float32)}
