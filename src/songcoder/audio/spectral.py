"""The one spectral front-end of the judges and pictures: a Hann STFT's power, dB floored
under a peak, per-frame spectral flatness (evaluate/structure.py, evaluate/continuation.py,
rnn/generate.py's spectrograms).

Two places frame audio their own way, on purpose: the song vector (features/extract.py,
timbre.py) decimates and frames in one fused pass, which is what keeps extraction above
300x realtime per core, and the audio RNN (rnn/representations.py) frames grains in torch,
inside the model, where gradients flow.
"""

from __future__ import annotations

import numpy as np

N_FFT, HOP = 1024, 256
FLOOR_DB = 80.0         # dB spectra are floored this far under the peak
SILENT_DB = 60.0        # frames this far under the loudest one count as silent
_TINY = 1e-30           # the peak of an all-zero signal


def power_spectrogram(x: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """(frames, n_fft // 2 + 1) power of a Hann-windowed STFT (frames fully inside x)."""
    x = np.asarray(x, np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    idx = np.arange(0, len(x) - n_fft + 1, hop)[:, None] + np.arange(n_fft)
    return np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2


def power_db(p: np.ndarray, peak: float | None = None, floor_db: float = FLOOR_DB) -> np.ndarray:
    """10 log10(p), floored `floor_db` under `peak` (default: p's own maximum), so silence
    and near-silence compare as the same finite level."""
    peak = float(np.max(p)) if peak is None else float(peak)
    return 10 * np.log10(np.maximum(p, max(peak, _TINY) * 10 ** (-floor_db / 10)))


def loud_frames(S: np.ndarray, silent_db: float = SILENT_DB) -> np.ndarray:
    """Frames of a power spectrogram within `silent_db` of the loudest one."""
    e = S.sum(axis=1)
    return e > max(e.max(), _TINY) * 10 ** (-silent_db / 10)


def frame_flatness(S: np.ndarray) -> np.ndarray:
    """Per-frame spectral flatness (geometric over arithmetic mean of the power spectrum) of a
    power spectrogram (frames, bins); NaN for silent frames."""
    P = np.maximum(S, max(S.max(), _TINY) * 1e-12)        # log(0) guard, 120 dB down
    flat = np.exp(np.log(P).mean(axis=1)) / P.mean(axis=1)
    return np.where(loud_frames(S), flat, np.nan)
