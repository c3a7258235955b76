"""The one definition of the song vector's index layout: the seed's 1482 dims, then optional groups.

| indices     | group         | what                                                      | scale        |
|-------------|---------------|-----------------------------------------------------------|--------------|
| 0-383       | `rhythm_low`  | 30-200 Hz band amplitude over one bar, 384 ticks          | 0..1 (peak)  |
| 384-767     | `rhythm_mid`  | 200-2000 Hz band amplitude over one bar, 384 ticks        | 0..1 (peak)  |
| 768-1151    | `rhythm_high` | 2000-5000 Hz band amplitude over one bar, 384 ticks       | 0..1 (peak)  |
| 1152-1481   | `loudness`    | 30 bands (30-5000 Hz, mel-spaced) x 11 loudness quantiles | dBFS, >= -100|

Rhythm: a bar is 4 beats x 96 ticks; tick 0 is the detected downbeat. Each value is the band's
amplitude (square root of band power) at that tick, averaged over every bar of the song, then
divided by the band's largest tick, so 1 marks the loudest moment of the bar in that band.
With `prepare.features: extended` the vector goes on after index 1481 with the groups of
timbre.py: `timbre` (60: band-cepstrum mean, std, change-std), `contrast` (6 octave bands),
`chroma` (12 pitch-class means, 12 stds), `tempogram` (32 lag bands, 0.19-8.9 s);
`groups(dim)` names them.
Loudness: band `b` occupies 1152 + 11*b ... 1152 + 11*b + 10, quantiles 0, 10, ..., 100 % of
the band's power over time in dB relative to full scale (a full-scale sine in the band reads
0 dB), floored at -100 dB. Bands above the analysis Nyquist frequency read -100 dB.
"""

from __future__ import annotations

import numpy as np

from songcoder.features import timbre

BEATS_PER_BAR = 4
TICKS_PER_BEAT = 96
TICKS = BEATS_PER_BAR * TICKS_PER_BEAT          # 384 ticks per bar
RHYTHM_BANDS = 3
LOUDNESS_BANDS = 30
QUANTILES = 11
QUANTILE_LEVELS = np.linspace(0.0, 1.0, QUANTILES)     # 0 %, 10 %, ..., 100 %

RHYTHM_DIM = RHYTHM_BANDS * TICKS                # 1152
LOUDNESS_DIM = LOUDNESS_BANDS * QUANTILES        # 330
DIM = RHYTHM_DIM + LOUDNESS_DIM                  # 1482

LOUDNESS_FLOOR_DB = -100.0

RHYTHM_NAMES = ("low", "mid", "high")
RHYTHM_EDGES_HZ: tuple[tuple[float, float], ...] = ((30.0, 200.0), (200.0, 2000.0),
                                                    (2000.0, 5000.0))


def _mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def _mel_inv(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


# 31 edges, evenly spaced on the mel scale from 30 Hz to 5 kHz (about 50 Hz wide at the bottom,
# 400 Hz at the top)
LOUDNESS_EDGES_HZ: np.ndarray = np.round(
    _mel_inv(np.linspace(_mel(np.float64(30.0)), _mel(np.float64(5000.0)), LOUDNESS_BANDS + 1)), 1)


def rhythm_slice(band: int) -> slice:
    """Indices of rhythm band `band` (0 low, 1 mid, 2 high): 384 ticks."""
    if not 0 <= band < RHYTHM_BANDS:
        raise IndexError(f"rhythm band {band} out of range 0..{RHYTHM_BANDS - 1}")
    return slice(band * TICKS, (band + 1) * TICKS)


def loudness_slice(band: int) -> slice:
    """Indices of loudness band `band` (0..29): its 11 quantiles, lowest first."""
    if not 0 <= band < LOUDNESS_BANDS:
        raise IndexError(f"loudness band {band} out of range 0..{LOUDNESS_BANDS - 1}")
    start = RHYTHM_DIM + band * QUANTILES
    return slice(start, start + QUANTILES)


RHYTHM = slice(0, RHYTHM_DIM)
LOUDNESS = slice(RHYTHM_DIM, DIM)

# Feature groups for per-group evaluation; together they cover 0..1482 exactly once.
GROUPS: dict[str, slice] = {
    **{f"rhythm_{name}": rhythm_slice(i) for i, name in enumerate(RHYTHM_NAMES)},
    "loudness": LOUDNESS,
}


EXTENDED_DIM = DIM + timbre.DIM


def groups(dim: int) -> dict[str, slice]:
    """Feature groups of a `dim`-long song vector (the seed's 1482, or the extended layout)."""
    if dim == DIM:
        return dict(GROUPS)
    if dim != EXTENDED_DIM:
        raise ValueError(f"song vectors have {DIM} (seed) or {EXTENDED_DIM} (extended) "
                         f"dimensions, got {dim}")
    out, start = dict(GROUPS), DIM
    for name, n in timbre.GROUP_DIMS.items():
        out[name] = slice(start, start + n)
        start += n
    return out


def feature_set_dim(feature_set: str) -> int:
    return {"seed": DIM, "extended": EXTENDED_DIM}[feature_set]


def feature_names() -> list[str]:
    """A name for each of the 1482 entries, e.g. 'rhythm_low/t000', 'loudness_b07/q50'."""
    names = [f"rhythm_{name}/t{t:03d}" for name in RHYTHM_NAMES for t in range(TICKS)]
    names += [f"loudness_b{b:02d}/q{int(round(q * 100)):02d}"
              for b in range(LOUDNESS_BANDS) for q in QUANTILE_LEVELS]
    return names
