"""Decoding, validating and resampling audio files with soundfile.

Every failure is an `AudioError` whose message is the reason a user reads in skipped.csv.
Validation streams the file in blocks, so a long song is never held in memory just to check it.
Nothing trusts the header's frame count: a file that claims 2**36 frames but holds two seconds
is read for what it holds (soundfile's own `read(-1)` would allocate the claim, and its
`blocks()` would keep yielding stale blocks past the real end).
"""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

# Silence is judged by loudness over the whole song, not by the peak: one click at -40 dBFS
# in a track whose RMS is -91 dBFS made a "song" of hiss that dominated a validation error.
# A file is silent when its loudest tenth (the 90th percentile of 400 ms window levels, the
# EBU momentary window) stays below -60 dBFS: clicks and short bursts do not count, while a
# quiet recording (-40 dBFS RMS) or music with long silent stretches still passes.
SILENT_LEVEL_DB = -60.0
SILENT_QUANTILE = 0.90
WINDOW_SECONDS = 0.4
_BLOCK = 1 << 16             # frames per block when streaming
MIN_SAMPLE_RATE = 1000       # Hz; below, the STFT has no room for a window (and it is no music)
MAX_SAMPLE_RATE = 768_000    # Hz; above, the header is garbage rather than hi-res audio


class Loudness:
    """Streaming window levels (dBFS) of a song in a fixed histogram: bounded memory, any length."""

    STEP_DB = 0.25
    FLOOR_DB = -240.0

    def __init__(self, sample_rate: int):
        self.win = max(1, int(round(WINDOW_SECONDS * sample_rate)))
        self.carry = np.zeros(0, np.float64)        # per-frame power of an unfinished window
        self.hist = np.zeros(int(-self.FLOOR_DB / self.STEP_DB) + 41, np.int64)  # up to +10 dB
        self.sum_power, self.frames, self.peak = 0.0, 0, 0.0

    def add(self, block: np.ndarray) -> None:
        """block: (frames, channels)."""
        power = (block.astype(np.float64) ** 2).mean(axis=1)
        self.sum_power += float(power.sum())
        self.frames += len(power)
        self.peak = max(self.peak, float(np.abs(block).max(initial=0.0)))
        data = np.concatenate([self.carry, power])
        full = len(data) // self.win * self.win
        self._count(data[:full].reshape(-1, self.win).mean(axis=1))
        self.carry = data[full:]

    def _count(self, window_power: np.ndarray) -> None:
        db = 10 * np.log10(np.maximum(window_power, 1e-30))
        idx = np.clip(((db - self.FLOOR_DB) / self.STEP_DB).astype(np.int64), 0, len(self.hist) - 1)
        self.hist += np.bincount(idx, minlength=len(self.hist))

    def quantile_db(self, q: float) -> float:
        """Level (dBFS) that a fraction q of the windows stay at or below."""
        if self.hist.sum() == 0 and len(self.carry):     # shorter than one window
            self._count(np.array([self.carry.mean()]))
            self.carry = self.carry[:0]
        cum = np.cumsum(self.hist)
        if cum[-1] == 0:
            return -np.inf
        return self.FLOOR_DB + (int(np.searchsorted(cum, q * cum[-1])) + 1) * self.STEP_DB

    @property
    def rms_db(self) -> float:
        return 10 * np.log10(max(self.sum_power / max(self.frames, 1), 1e-30))


def _dbfs(amplitude: float) -> float:
    return 20 * np.log10(max(amplitude, 1e-15))


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
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise AudioError("is a folder, not an audio file")
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            raise AudioError("not a regular file")
        if st.st_size == 0:
            raise AudioError("empty file (0 bytes)")
        open(path, "rb").close()          # permission problems as such, not as "not audio"
        return sf.SoundFile(str(path))
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"not audio soundfile can decode ({_first_line(e)})") from e
    except OSError as e:
        raise AudioError(f"cannot read file ({e.strerror or e})") from e


def _blocks(f: sf.SoundFile, limit: int | None = None) -> Iterator[np.ndarray]:
    """(frames, channels) float32 blocks of what actually decodes, at most `limit` frames.

    Each block is a view into one reused buffer: copy it to keep it."""
    buf = np.empty((_BLOCK, f.channels), np.float32)
    total = 0
    while limit is None or total < limit:
        want = _BLOCK if limit is None else min(_BLOCK, limit - total)
        block = f.read(want, dtype="float32", always_2d=True, out=buf[:want])
        if len(block) == 0:
            return
        total += len(block)
        yield block


def _check_header(sr: int, channels: int) -> None:
    if channels <= 0:
        raise AudioError(f"invalid header ({channels} channels)")
    if not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise AudioError(f"sample rate {sr} Hz outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")


def validate(path: str | Path, min_seconds: float = 0.0,
             max_seconds: float | None = None) -> AudioInfo:
    """Decode the whole file block by block; raise AudioError if it is unusable.

    Decoding stops just past `max_seconds`, so a huge (or huge-claiming) file costs no more."""
    path = Path(path)
    frames = 0
    with _open(path) as f:
        sr, channels = f.samplerate, f.channels
        _check_header(sr, channels)
        level = Loudness(sr)
        limit = None if max_seconds is None else int(max_seconds * sr) + 1
        try:
            for block in _blocks(f, limit):
                if not np.isfinite(block).all():
                    raise AudioError("contains NaN or infinite samples")
                frames += len(block)
                level.add(block)
        except AudioError:
            raise
        except (sf.LibsndfileError, RuntimeError, ValueError, MemoryError) as e:
            raise AudioError(f"decoding failed after {frames} frames ({_first_line(e)})") from e
    info = AudioInfo(str(path), sr, channels, frames)
    if frames == 0:
        raise AudioError("no audio frames")
    if info.duration < min_seconds:
        raise AudioError(f"too short ({info.duration:.2f} s < data.min_seconds {min_seconds} s)")
    if limit is not None and frames >= limit:
        raise AudioError(f"too long (> data.max_seconds {max_seconds:g} s)")
    loud = level.quantile_db(SILENT_QUANTILE)
    if loud < SILENT_LEVEL_DB:
        raise AudioError(f"silent (loudest 10% of {WINDOW_SECONDS:g} s windows at "
                         f"{max(loud, -200):.1f} dBFS, below {SILENT_LEVEL_DB:g}; "
                         f"RMS {max(level.rms_db, -200):.1f} dBFS, "
                         f"peak {max(_dbfs(level.peak), -200):.1f} dBFS)")
    return info


def _first_line(e: BaseException) -> str:
    """One line of an error, without libsndfile's "Error opening '<path>': " (we name the file)."""
    line = (str(e).splitlines() or [type(e).__name__])[0]
    return re.sub(r"^Error opening .*?: ", "", line)[:120]


def load(path: str | Path, *, mono: bool = False, start: float = 0.0,
         seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode `path` to float32 (frames, channels), or (frames,) when mono."""
    path = Path(path)
    with _open(path) as f:
        sr = f.samplerate
        _check_header(sr, f.channels)
        n = None if seconds is None else int(math.ceil(seconds * sr))
        try:
            if start > 0:
                f.seek(min(int(start * sr), f.frames))
            blocks = [b.copy() for b in _blocks(f, n)]
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            raise AudioError(f"decoding failed ({_first_line(e)})") from e
    x = np.concatenate(blocks) if blocks else np.zeros((0, f.channels), np.float32)
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


def halves(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two halves a song is cut into for same-song retrieval (`prepare`'s val and test
    halves, the librosa peer's, the benchmarks'): the first len(x) // 2 samples and the rest."""
    mid = len(x) // 2
    return x[:mid], x[mid:]


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
