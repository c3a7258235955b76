"""Decoding, validating and resampling audio files with soundfile.

Every failure is an `AudioError` whose message is the reason a user reads in skipped.csv.
Validation streams the file in blocks, so a long song is never held in memory just to check it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SILENCE_PEAK = 1e-4          # -80 dBFS: below this everywhere, a file is called silent
_BLOCK = 1 << 16             # frames per block when streaming


class AudioError(Exception):
    """A file cannot be used; str(e) is the reason, written for people."""


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    channels: int
    frames: int              # frames actually decoded, not the header's claim

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def _open(path: Path) -> sf.SoundFile:
    try:
        if path.stat().st_size == 0:
            raise AudioError("empty file (0 bytes)")
        return sf.SoundFile(str(path))
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"not audio soundfile can decode ({str(e).splitlines()[0][:120]})") from e
    except OSError as e:
        raise AudioError(f"cannot read file ({e.strerror or e})") from e


def validate(path: str | Path, min_seconds: float = 0.0) -> AudioInfo:
    """Decode the whole file block by block; raise AudioError if it is unusable."""
    path = Path(path)
    frames, peak = 0, 0.0
    with _open(path) as f:
        sr, channels = f.samplerate, f.channels
        if sr <= 0 or channels <= 0:
            raise AudioError(f"invalid header (sample rate {sr}, channels {channels})")
        try:
            for block in f.blocks(blocksize=_BLOCK, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    raise AudioError("contains NaN or infinite samples")
                frames += len(block)
                if len(block):
                    peak = max(peak, float(np.abs(block).max()))
        except AudioError:
            raise
        except (sf.LibsndfileError, RuntimeError, ValueError, MemoryError) as e:
            raise AudioError(f"decoding failed after {frames} frames ({str(e)[:120]})") from e
    info = AudioInfo(str(path), sr, channels, frames)
    if frames == 0:
        raise AudioError("no audio frames")
    if info.duration < min_seconds:
        raise AudioError(f"too short ({info.duration:.2f} s < data.min_seconds {min_seconds} s)")
    if peak < SILENCE_PEAK:
        raise AudioError(f"silent (peak {peak:.2g} below {SILENCE_PEAK:g})")
    return info


def load(path: str | Path, *, mono: bool = False, start: float = 0.0,
         seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode `path` to float32 (frames, channels), or (frames,) when mono."""
    path = Path(path)
    with _open(path) as f:
        sr = f.samplerate
        if start > 0:
            f.seek(min(int(start * sr), f.frames))
        n = -1 if seconds is None else int(math.ceil(seconds * sr))
        try:
            x = f.read(n, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            raise AudioError(f"decoding failed ({str(e)[:120]})") from e
    if not np.isfinite(x).all():
        raise AudioError("contains NaN or infinite samples")
    if mono:
        x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    return x, sr


def resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling along axis 0 (scipy's anti-aliased FIR)."""
    if sr_from == sr_to:
        return x
    ratio = Fraction(sr_to, sr_from).limit_denominator(1000)
    y = resample_poly(x, ratio.numerator, ratio.denominator, axis=0)
    return y.astype(np.float32, copy=False)


def load_mono(path: str | Path, sample_rate: int, *, start: float = 0.0,
              seconds: float | None = None) -> np.ndarray:
    """Mono float32 at `sample_rate` (the RNN's and the CLI's entry point)."""
    x, sr = load(path, mono=True, start=start, seconds=seconds)
    return resample(x, sr, sample_rate)


def write(path: str | Path, x: np.ndarray, sample_rate: int, subtype: str | None = None) -> None:
    """Write audio atomically: a killed writer never leaves a half file under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fmt = path.suffix.lstrip(".").upper() or "WAV"
    sf.write(str(tmp), x, sample_rate, subtype=subtype, format=fmt)
    tmp.replace(path)
