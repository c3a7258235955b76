"""Small synthetic songs (drums + bass + chords) for tests, benchmarks and development.

They resemble the default corpus (a steady tempo between 60 and 190 BPM, kick/snare/hat,
a bass line and sustained chords) but are cheap to make, so a test can write a few seconds
of real audio with soundfile and train on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def _note(freq: float, n: int, sr: int, partials: int = 4, decay: float = 3.0) -> np.ndarray:
    t = np.arange(n) / sr
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, partials + 1))
    return x * np.exp(-decay * t) * np.minimum(1.0, t * 200)  # 5 ms attack: no click


def make_song(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    """(frames, 2) float32 stereo song in [-1, 1]."""
    n = int(seconds * sr)
    bpm = rng.uniform(60, 190)
    beat = int(sr * 60 / bpm)
    root = 40 + int(rng.integers(0, 12))                      # MIDI note of the bass root
    hz = lambda m: 440.0 * 2 ** ((m - 69) / 12)               # noqa: E731
    prog = [0, 5, 7, 3][: 2 + int(rng.integers(0, 3))]        # chord roots, semitones
    out = np.zeros(n)
    for i, start in enumerate(range(0, n, beat)):
        bar, pos = divmod(i, 4)
        chord = prog[bar % len(prog)]
        m = min(beat, n - start)
        t = np.arange(m) / sr
        kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
        hat = rng.standard_normal(m) * np.exp(-t * 60) * 0.15
        out[start:start + m] += hat
        if pos % 2 == 0:
            out[start:start + m] += 0.6 * kick
        else:
            out[start:start + m] += 0.3 * rng.standard_normal(m) * np.exp(-t * 20)  # snare
        out[start:start + m] += 0.35 * _note(hz(root + chord + (12 if pos == 3 else 0)), m, sr)
        if pos == 0:
            c = min(4 * beat, n - start)
            for iv in (0, 4, 7):
                out[start:start + c] += 0.12 * _note(hz(root + 24 + chord + iv), c, sr, 3, 0.6)
    out /= np.abs(out).max() + 1e-9
    pan = rng.uniform(0.4, 0.6)
    return (0.8 * np.stack([out * pan, out * (1 - pan)], axis=1)).astype(np.float32)


def write_songs(folder: str | Path, count: int, seconds: float, sr: int = 22050,
                seed: int = 0, fmt: str = "flac") -> list[str]:
    """Write `count` songs; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / f"song{i:04d}.{fmt}"
        sf.write(str(path), make_song(rng, seconds, sr), sr)
        paths.append(str(path))
    return paths
