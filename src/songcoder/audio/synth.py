"""Deterministic synthetic music: a built-in corpus with known tempo, drum pattern and style.

A song is a pure function of (index, seed, seconds, sample_rate): 4/4 drums at a fixed tempo
(kick and a backbeat snare on beats 2 and 4, so the tempo is the quarter-note rate), a bass
riff and chords following a progression (one chord per bar), and for some styles a repeated
lead motif. Styles differ in drum kit, instrument timbre (harmonic spectra and envelopes),
pattern choice, humanisation and loudness/compression, so style and pattern are learnable
from rhythm patterns and loudness distributions. Everything is numpy; the only Python loops
are over notes and drum hits, never over samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

MIN_BPM, MAX_BPM = 60.0, 190.0
# Drum one-shots are made at this rate and resampled, and no partial goes above 0.45 of it, so
# a song sounds the same (below 9.9 kHz) whatever rate it is rendered at.
REF_RATE = 22050

# Drum patterns on a 48-step bar (12 steps a beat: 16ths are 3 steps, triplet 8ths 4 steps).
# Strings are written with 16 steps a bar (or 12 for triplet feels): x = accent, o = normal,
# . = ghost, - = rest. Every pattern keeps the snare (or clap) on beats 2 and 4.
_P16 = {"x": 1.0, "o": 0.65, ".": 0.25}
PATTERNS: dict[str, dict[str, str]] = {
    "rock": {"kick": "x-------x-o-----", "snare": "----x-------x---",
             "hat": "x-o-x-o-x-o-x-o-"},
    "four_on_floor": {"kick": "x---x---x---x---", "snare": "----x-------x---",
                      "hat": "..o...o...o...o.", "open": "--o---o---o---o-"},
    "sixteenths": {"kick": "x-----o-x-------", "snare": "----x-------x---",
                   "hat": "o.o.o.o.o.o.o.o."},
    "funk": {"kick": "x--o------o--o--", "snare": "----x--.-.-.x--.",
             "hat": "o.o.o.o.o.o.o.o."},
    "shuffle": {"kick": "x-----o-----", "snare": "---x-----x--", "hat": "x-ox-ox-ox-o"},
    "breakbeat": {"kick": "x-o-------o-----", "snare": "----x--.-o--x---",
                  "hat": "o-o-o-o-o-o-o-o-"},
}


@dataclass(frozen=True)
class Style:
    tempo: tuple[float, float]          # BPM range (uniform)
    patterns: dict[str, float]          # drum pattern -> probability
    kit: dict[str, float]               # drum sound parameters
    bass: tuple[float, ...]             # harmonic amplitudes of the bass wavetable
    bass_env: tuple[float, float, float, float]   # attack, decay, sustain, release (s)
    bass_riff: str                      # 16 steps: R root, O octave, F fifth, T third, - rest
    chord: tuple[float, ...]
    chord_env: tuple[float, float, float, float]
    chord_rhythm: str                   # 16 steps: x = chord hit, - = rest; "arp" = arpeggio
    chord_len: float                    # chord note length in 16th steps (held until next hit)
    sevenths: bool
    lead: tuple[float, ...] | None
    drive: float                        # master saturation (compression)
    level_db: float                     # master peak level
    swing_ms: float                     # timing humanisation (std, ms)
    dynamics_db: float                  # section-to-section loudness change
    drum_gain: float
    bass_gain: float
    chord_gain: float


def _saw(k: int, p: float = 1.0) -> tuple[float, ...]:
    return tuple(1.0 / (i ** p) for i in range(1, k + 1))


def _square(k: int) -> tuple[float, ...]:
    return tuple((1.0 / i if i % 2 else 0.0) for i in range(1, k + 1))


STYLES: dict[str, Style] = {
    "rock": Style(
        tempo=(75, 190), patterns={"rock": 0.55, "sixteenths": 0.25, "breakbeat": 0.2},
        kit=dict(kick_f0=110, kick_f1=50, kick_dec=0.25, snare_f=190, snare_dec=0.18,
                 snare_noise=0.8, hat_dec=0.05, hat_bright=1.0, crash=0.6),
        bass=_saw(14), bass_env=(0.005, 0.3, 0.6, 0.05), bass_riff="RoRoRoRoRoRoRoRo",
        chord=_saw(12, 0.8), chord_env=(0.01, 1.0, 0.8, 0.1), chord_rhythm="x-------x-------",
        chord_len=8, sevenths=False, lead=None, drive=3.0, level_db=-1.0, swing_ms=6.0,
        dynamics_db=3.0, drum_gain=1.3, bass_gain=0.4, chord_gain=0.25),
    "electro": Style(
        tempo=(100, 160), patterns={"four_on_floor": 0.7, "sixteenths": 0.15, "breakbeat": 0.15},
        kit=dict(kick_f0=150, kick_f1=45, kick_dec=0.35, snare_f=220, snare_dec=0.12,
                 snare_noise=1.0, hat_dec=0.03, hat_bright=1.4, crash=0.3),
        bass=_square(11), bass_env=(0.003, 0.12, 0.3, 0.03), bass_riff="--O---O---O---O-",
        chord=_saw(10), chord_env=(0.003, 0.15, 0.0, 0.05), chord_rhythm="--x---x---x---x-",
        chord_len=2, sevenths=False, lead=_square(7), drive=4.0, level_db=-0.5, swing_ms=0.0,
        dynamics_db=1.5, drum_gain=1.3, bass_gain=0.3, chord_gain=0.18),
    "jazz": Style(
        tempo=(60, 190), patterns={"shuffle": 0.8, "rock": 0.2},
        kit=dict(kick_f0=90, kick_f1=55, kick_dec=0.2, snare_f=240, snare_dec=0.1,
                 snare_noise=0.5, hat_dec=0.45, hat_bright=0.6, crash=0.0, ride=1.0),
        bass=(1.0, 0.5, 0.15, 0.08), bass_env=(0.01, 0.5, 0.15, 0.08),
        bass_riff="R---T---F---O---",
        chord=(1.0, 0.35, 0.2, 0.08, 0.05, 0.03), chord_env=(0.004, 0.6, 0.1, 0.15),
        chord_rhythm="------x-----x---", chord_len=3, sevenths=True,
        lead=(1.0, 0.2, 0.05), drive=1.0, level_db=-6.0, swing_ms=10.0, dynamics_db=5.0,
        drum_gain=0.9, bass_gain=0.6, chord_gain=0.25),
    "funk": Style(
        tempo=(80, 130), patterns={"funk": 0.6, "sixteenths": 0.4},
        kit=dict(kick_f0=120, kick_f1=55, kick_dec=0.18, snare_f=260, snare_dec=0.1,
                 snare_noise=0.9, hat_dec=0.035, hat_bright=1.2, crash=0.3),
        bass=_saw(16, 0.9), bass_env=(0.002, 0.15, 0.2, 0.03), bass_riff="R--O--R-F-R--O-R",
        chord=_square(13), chord_env=(0.002, 0.08, 0.0, 0.02),
        chord_rhythm="x-x-x-x-x-x-x-x-", chord_len=1, sevenths=True, lead=None, drive=2.0,
        level_db=-2.5, swing_ms=4.0, dynamics_db=2.5, drum_gain=1.2, bass_gain=0.4,
        chord_gain=0.2),
    "ballad": Style(
        tempo=(60, 110), patterns={"rock": 0.5, "shuffle": 0.3, "four_on_floor": 0.2},
        kit=dict(kick_f0=80, kick_f1=48, kick_dec=0.3, snare_f=180, snare_dec=0.25,
                 snare_noise=0.6, hat_dec=0.06, hat_bright=0.7, crash=0.4),
        bass=(1.0, 0.3, 0.1), bass_env=(0.02, 1.0, 0.7, 0.2), bass_riff="R-------F-------",
        chord=(1.0, 0.4, 0.2, 0.1), chord_env=(0.35, 2.0, 0.8, 0.4), chord_rhythm="x" + "-" * 15,
        chord_len=16, sevenths=False, lead=(1.0, 0.1, 0.05), drive=1.0, level_db=-9.0,
        swing_ms=8.0, dynamics_db=6.0, drum_gain=0.8, bass_gain=0.5, chord_gain=0.35),
    "chiptune": Style(
        tempo=(100, 190), patterns={"four_on_floor": 0.4, "breakbeat": 0.3, "sixteenths": 0.3},
        kit=dict(kick_f0=200, kick_f1=60, kick_dec=0.12, snare_f=300, snare_dec=0.08,
                 snare_noise=1.0, hat_dec=0.02, hat_bright=1.6, crash=0.0),
        bass=_square(9), bass_env=(0.001, 0.05, 0.9, 0.01), bass_riff="R-O-R-O-R-O-R-O-",
        chord=_square(9), chord_env=(0.001, 0.05, 0.8, 0.01), chord_rhythm="arp",
        chord_len=1, sevenths=False, lead=_square(9), drive=1.5, level_db=-4.0, swing_ms=0.0,
        dynamics_db=2.0, drum_gain=1.1, bass_gain=0.35, chord_gain=0.18),
}

_PROGRESSIONS = {
    "major": [[(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")],
              [(0, "maj"), (5, "maj"), (7, "maj"), (5, "maj")],
              [(9, "min"), (5, "maj"), (0, "maj"), (7, "maj")],
              [(2, "min"), (7, "maj"), (0, "maj"), (0, "maj")]],
    "minor": [[(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")],
              [(0, "min"), (5, "min"), (7, "min"), (0, "min")],
              [(0, "min"), (10, "maj"), (8, "maj"), (10, "maj")]],
}
_TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}
_SEVENTHS = {"maj": (0, 4, 7, 11), "min": (0, 3, 7, 10)}
_PENTA = {"major": (0, 2, 4, 7, 9), "minor": (0, 3, 5, 7, 10)}


def song_labels(index: int, seed: int) -> dict:
    """Labels of song `index` in the corpus of `seed`; cheap (no rendering)."""
    rng = np.random.default_rng([int(seed), int(index), 0])
    style = list(STYLES)[int(rng.integers(len(STYLES)))]
    probs = STYLES[style].patterns
    pattern = list(probs)[int(rng.choice(len(probs), p=np.array(list(probs.values()))))]
    tempo = float(np.round(rng.uniform(*STYLES[style].tempo), 2))
    mode = "major" if rng.random() < 0.55 else "minor"
    key = int(rng.integers(12))                     # root pitch class, 0 = C
    bar = 4 * 60.0 / tempo
    downbeat = float(np.round(rng.uniform(0, bar), 4))   # time of the first full-bar downbeat
    return {"tempo": tempo, "pattern": pattern, "style": style, "mode": mode, "key": key,
            "downbeat_s": downbeat}


# ----------------------------------------------------------------------------- drums


def _decay(n: int, sr: int, tau: float) -> np.ndarray:
    return np.exp(-np.arange(n, dtype=np.float32) / np.float32(tau * sr))


def _highpass(x: np.ndarray) -> np.ndarray:
    """First difference: a cheap +6 dB/octave tilt that makes noise bright."""
    return np.diff(x, prepend=np.float32(0.0))


def _drum_sounds(kit: dict[str, float], sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One-shot samples for this song's kit (slightly varied per song)."""
    v = lambda: float(rng.uniform(0.9, 1.1))  # noqa: E731 - per-song variation of each knob
    out = {}
    n = int(0.5 * sr)
    t = np.arange(n, dtype=np.float32) / sr
    f = kit["kick_f1"] * v() + (kit["kick_f0"] - kit["kick_f1"]) * np.exp(-t / 0.03)
    ph = np.cumsum(f / sr, dtype=np.float64).astype(np.float32)
    kick = np.sin(2 * np.pi * ph) * _decay(n, sr, kit["kick_dec"] * v())
    kick[: int(0.003 * sr)] += rng.uniform(-0.5, 0.5, int(0.003 * sr)).astype(np.float32)
    out["kick"] = kick

    n = int(0.4 * sr)
    t = t[:n]
    noise = _highpass(rng.standard_normal(n).astype(np.float32)) * 0.5
    tone = np.sin(2 * np.pi * kit["snare_f"] * v() * t) * _decay(n, sr, 0.05)
    out["snare"] = tone + kit["snare_noise"] * noise * _decay(n, sr, kit["snare_dec"] * v())

    n_hat = int(max(kit["hat_dec"] * 6, 0.1) * sr)
    noise = rng.standard_normal(n_hat).astype(np.float32)
    bright = _highpass(_highpass(noise)) * 0.35
    mix = kit["hat_bright"] / 1.6
    hat = (mix * bright + (1 - mix) * _highpass(noise) * 0.6)
    if kit.get("ride"):
        # ride cymbal: inharmonic partials over noise, long decay
        tt = np.arange(n_hat, dtype=np.float32) / sr
        ping = sum(np.sin(2 * np.pi * fr * tt) for fr in (3150.0, 4270.0, 5320.0, 6810.0)
                   if fr < 0.45 * sr)
        hat = 0.5 * hat + 0.15 * ping
    out["hat"] = hat * _decay(n_hat, sr, kit["hat_dec"] * v())
    n = int(0.5 * sr)
    out["open"] = _highpass(_highpass(rng.standard_normal(n).astype(np.float32))) * 0.25 \
        * _decay(n, sr, 0.15)
    n = int(1.5 * sr)
    out["crash"] = _highpass(rng.standard_normal(n).astype(np.float32)) * 0.4 \
        * _decay(n, sr, 0.6) * kit["crash"]
    n = int(0.4 * sr)
    t = np.arange(n, dtype=np.float32) / sr
    ph = np.cumsum((110 + 60 * np.exp(-t / 0.05)) / sr).astype(np.float32)
    out["tom"] = np.sin(2 * np.pi * ph) * _decay(n, sr, 0.15)
    return out


def _steps(s: str) -> list[tuple[int, float]]:
    """Pattern string -> (step on the 48-step grid, velocity)."""
    scale = 48 // len(s)
    return [(i * scale, _P16[c]) for i, c in enumerate(s) if c in _P16]


def _place(out: np.ndarray, shot: np.ndarray, starts: np.ndarray, vels: np.ndarray,
           pan: tuple[float, float]) -> None:
    """Add `shot` into the stereo buffer out (2, n) at each start, scaled by velocity and pan."""
    n = out.shape[1]
    gain = np.array(pan, np.float32)[:, None]
    for s, v in zip(starts.tolist(), vels.tolist()):
        if 0 <= s < n and v:
            m = min(len(shot), n - s)
            out[:, s:s + m] += (gain * np.float32(v)) * shot[:m]


# ----------------------------------------------------------------------------- pitched parts


def _wavetable(harmonics: tuple[float, ...], f_max: float, sr: int, size: int = 4096) -> np.ndarray:
    """One period with the given harmonic amplitudes, dropping those above 0.45 sr."""
    ph = np.arange(size) / size
    table = np.zeros(size)
    for k, a in enumerate(harmonics, start=1):
        if a and k * f_max < 0.45 * min(sr, REF_RATE):
            table += a * np.sin(2 * np.pi * k * ph)
    peak = np.abs(table).max()
    return (table / peak if peak > 0 else table).astype(np.float32)


def _render_notes(n: int, sr: int, onsets: np.ndarray, lengths: np.ndarray, midi: np.ndarray,
                  vels: np.ndarray, harmonics: tuple[float, ...],
                  env: tuple[float, float, float, float], vibrato: float = 0.0) -> np.ndarray:
    """Voices that share one rhythm: (V, n) float32, one row per row of `midi` (V, notes).

    Each note sounds from its onset until the next one, released after its length (onsets and
    lengths in samples, sorted). The phase restarts at each note, as a plucked or struck note
    does, so float32 phases stay exact. The loop is over notes (a few hundred), each a slice
    operation; the per-sample work is a handful of whole-array operations.
    """
    midi = np.atleast_2d(midi)
    keep = (onsets < n) & (onsets >= 0)
    onsets, lengths, midi, vels = onsets[keep], lengths[keep], midi[:, keep], vels[keep]
    out = np.zeros((len(midi), n), np.float32)
    if not len(onsets):
        return out
    ends = np.append(onsets[1:], n)
    seg = ends - onsets
    ramp = np.arange(int(seg.max()), dtype=np.float32)                 # samples since onset
    att, dec, sus, rel = env
    attack_decay = np.minimum(ramp * np.float32(1 / max(att * sr, 1.0)), np.float32(1.0))
    attack_decay *= np.exp(ramp * np.float32(-1 / (dec * sr))) * np.float32(1 - sus) \
        + np.float32(sus)
    release = np.exp(ramp * np.float32(-1 / (rel * sr)))
    freq = 440.0 * 2.0 ** ((midi - 69) / 12.0)                            # (V, notes) Hz
    cyc = (freq / sr).astype(np.float32)                                   # cycles per sample
    e = np.zeros(n, np.float32)                                            # (n,) envelope
    ph = out                                                               # (V, n) phase
    for i, (s, m, ln, v) in enumerate(zip(onsets.tolist(), seg.tolist(),
                                           lengths.tolist(), vels.tolist())):
        if m <= 0:
            continue
        np.multiply(attack_decay[:m], np.float32(v), out=e[s:s + m])
        if ln < m:
            e[s + ln:s + m] *= release[:m - ln]
        np.multiply(cyc[:, i:i + 1], ramp[None, :m], out=ph[:, s:s + m])
    if vibrato:
        depth = vibrato * float(freq.mean()) / (2 * np.pi * 5.0)               # cycles
        ph += np.float32(depth) * np.sin(np.arange(n, dtype=np.float32)
                                         * np.float32(2 * np.pi * 5.0 / sr))
    table = _wavetable(harmonics, float(freq.max()), sr)
    ph -= np.floor(ph)
    ph *= np.float32(len(table))
    idx = ph.astype(np.int32)
    np.minimum(idx, len(table) - 1, out=idx)
    return np.multiply(table[idx], e, out=out)


def _note_events(bar_starts: np.ndarray, step: float, rhythm: str, length_steps: float,
                 rng: np.random.Generator, jitter: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(onset s, length s, 16-step slot, bar index) for every hit of a 16-step rhythm."""
    slots = np.array([i for i, c in enumerate(rhythm) if c != "-"], dtype=np.int64)
    on = (bar_starts[:, None] + slots[None, :] * step).ravel()
    on = on + rng.normal(0, jitter, on.shape)
    bar = np.repeat(np.arange(len(bar_starts)), len(slots))
    return on, np.full(on.shape, length_steps * step), np.tile(slots, len(bar_starts)), bar


# ----------------------------------------------------------------------------- song


def render_song(index: int, seed: int, seconds: float, sample_rate: int) -> tuple[np.ndarray, dict]:
    """Render song `index` of corpus `seed`: float32 (frames, 2) in [-1, 1], and its labels."""
    labels = song_labels(index, seed)
    st = STYLES[labels["style"]]
    rng = np.random.default_rng([int(seed), int(index), 1])
    sr = int(sample_rate)
    n = int(round(seconds * sr))
    beat = 60.0 / labels["tempo"]
    bar = 4 * beat
    step16 = beat / 4
    n_bars = int(math.ceil(seconds / bar)) + 2
    bar_starts = labels["downbeat_s"] + bar * np.arange(-1, n_bars - 1)     # (bars,) seconds
    jitter = st.swing_ms / 1000.0

    # -- drums, placed straight into the stereo buffer (2, n)
    mix = np.zeros((2, n), np.float32)
    sounds = _drum_sounds(st.kit, REF_RATE, rng)
    if sr != REF_RATE:
        r = Fraction(sr, REF_RATE).limit_denominator(1000)
        sounds = {k: resample_poly(v, r.numerator, r.denominator).astype(np.float32)
                  for k, v in sounds.items()}
    g = st.drum_gain
    pans = {"kick": (g, g), "snare": (g, g), "tom": (g, 0.8 * g), "hat": (0.8 * g, 0.5 * g),
            "open": (0.5 * g, 0.8 * g), "crash": (0.9 * g, 0.6 * g)}
    pat = PATTERNS[labels["pattern"]]
    step48 = bar / 48
    phrase = int(rng.choice([4, 8]))
    # fills: the last bar of a phrase may end in a run of 16ths on beat 4
    fill = (np.arange(len(bar_starts)) % phrase == phrase - 1) \
        & (rng.random(len(bar_starts)) < rng.uniform(0.4, 0.9))
    for inst, hits in pat.items():
        steps = np.array([h[0] for h in _steps(hits)])
        vel = np.array([h[1] for h in _steps(hits)])
        t = bar_starts[:, None] + steps[None, :] * step48                  # (bars, hits) s
        v = vel * rng.normal(1.0, 0.08, t.shape).clip(0.6, 1.3)
        if inst == "kick":
            v[:, steps == 0] *= 1.25                                         # downbeat accent
        if inst == "hat":
            v *= rng.random(v.shape) > 0.04                                  # dropped notes
        if inst in ("hat", "open"):
            v[fill[:, None] & (steps[None, :] >= 36)] = 0
        t = t + rng.normal(0, jitter, t.shape)
        _place(mix, sounds[inst], np.round(t.ravel() * sr).astype(np.int64), v.ravel(),
               pans[inst])
    which = "tom" if st.kit["crash"] > 0.35 else "snare"
    ft = bar_starts[fill][:, None] + (36 + 3 * np.arange(4))[None, :] * step48
    fv = np.linspace(0.5, 0.9, 4)[None, :] * rng.uniform(0.8, 1.1, ft.shape)
    _place(mix, sounds[which], np.round(ft.ravel() * sr).astype(np.int64), fv.ravel(),
           pans[which])
    crash_bars = bar_starts[::phrase]
    _place(mix, sounds["crash"], np.round(crash_bars * sr).astype(np.int64),
           np.full(len(crash_bars), 0.8), pans["crash"])

    # -- harmony: one chord per bar from a progression, bass riff, chords, lead
    mode = labels["mode"]
    prog = _PROGRESSIONS[mode][int(rng.integers(len(_PROGRESSIONS[mode])))]
    root = 36 + labels["key"]                                              # bass register
    chord_of_bar = np.array([(i % len(prog)) for i in range(len(bar_starts))])
    roots = np.array([root + prog[i][0] for i in chord_of_bar])
    thirds = np.array([4 if prog[i][1] == "maj" else 3 for i in chord_of_bar])

    on, ln, slot, b = _note_events(bar_starts, step16, st.bass_riff, 2.0, rng, jitter * 0.5)
    sym = np.array([c for c in st.bass_riff if c != "-"] * len(bar_starts))
    interval = np.select([sym == "O", sym == "F", sym == "T"], [12, 7, thirds[b]], 0)
    nxt = np.diff(np.concatenate([on, [on[-1] + bar]]))
    ln = np.where(sym == "o", np.minimum(nxt * 0.9, 1.5 * step16), nxt * 0.9)   # "o": short
    midi = roots[b] + interval
    vel = rng.uniform(0.75, 1.0, len(on)) * np.where(slot == 0, 1.0, 0.85)
    bass = _render_notes(n, sr, np.round(on * sr).astype(np.int64),
                         np.round(ln * sr).astype(np.int64), midi, vel, st.bass, st.bass_env)[0]

    chord_shapes = _SEVENTHS if st.sevenths else _TRIADS
    if st.chord_rhythm == "arp":
        on, ln, slot, b = _note_events(bar_starts, step16, "x" * 16, 0.8, rng, 0.0)
        tones = np.array([chord_shapes[prog[i][1]] for i in chord_of_bar])  # (bars, 3|4)
        k = tones.shape[1]
        pitch = (roots[b] + 24 + tones[b, slot % k] + 12 * ((slot // k) % 2))[None, :]
        vel = np.where(slot % 4 == 0, 1.0, 0.7)
    else:
        on, ln, slot, b = _note_events(bar_starts, step16, st.chord_rhythm, st.chord_len, rng,
                                       jitter * 0.5)
        vel = rng.uniform(0.7, 1.0, len(on))
        if labels["style"] == "rock":                                      # power chords
            shape = np.array([[0, 7, 12]] * len(chord_of_bar))
        else:
            shape = np.array([chord_shapes[prog[i][1]] for i in chord_of_bar])
        pitch = (roots[b][:, None] + 12 + shape[b]).T                     # (voices, notes)
    voices = _render_notes(n, sr, np.round(on * sr).astype(np.int64),
                           np.round(ln * sr).astype(np.int64), pitch, vel, st.chord,
                           st.chord_env)
    pan = np.stack([np.linspace(1.0, 0.4, len(voices)), np.linspace(0.4, 1.0, len(voices))])
    chords = pan.astype(np.float32) @ voices                               # (2, n)
    if labels["style"] == "rock":                                          # distorted guitar
        chords = np.tanh(2.5 * chords)
    mix += np.float32(st.chord_gain) * chords
    mix += np.float32(st.bass_gain) * bass

    if st.lead is not None:
        scale = _PENTA[mode]
        slots16 = np.sort(rng.choice(32, size=int(rng.integers(6, 11)), replace=False))
        degrees = rng.integers(0, 2 * len(scale), len(slots16))
        motif = np.array([scale[d % len(scale)] + 12 * (d // len(scale)) for d in degrees])
        reps = np.arange(0, len(bar_starts), 2)                            # a 2-bar riff
        on = (bar_starts[reps][:, None] + slots16[None, :] * step16).ravel()
        on = on + rng.normal(0, jitter * 0.5, on.shape)
        pitch = np.tile(motif, len(reps)) + root + 36
        ln = np.full(on.shape, 2 * step16)
        vel = rng.uniform(0.7, 1.0, len(on))
        lead = _render_notes(n, sr, np.round(on * sr).astype(np.int64),
                             np.round(ln * sr).astype(np.int64), pitch, vel, st.lead,
                             (0.01, 0.4, 0.6, 0.08), vibrato=0.004)[0]
        mix += np.array([[0.24], [0.18]], np.float32) * lead

    # -- master: sections louder or softer (dynamics), saturation (compression), level
    sec_db = rng.uniform(-st.dynamics_db, 0, len(bar_starts) // phrase + 1)
    gain_bar = (10 ** (np.repeat(sec_db, phrase)[: len(bar_starts)] / 20)).astype(np.float32)
    edges = np.clip(np.round(bar_starts * sr).astype(np.int64), 0, n)
    edges[0] = 0
    mix *= np.repeat(gain_bar, np.diff(np.append(edges, n)))               # (n,) section gain
    peak = float(np.abs(mix).max()) or 1.0
    level = 10 ** (min(st.level_db + rng.uniform(-2, 2), -0.3) / 20)
    # |mix| <= peak, so the result stays within +-level without clipping
    np.tanh(mix * np.float32(st.drive / peak), out=mix)
    mix *= np.float32(level / math.tanh(st.drive))
    x = np.ascontiguousarray(mix.T)                                        # (n, 2)
    return x, labels


def write_songs(folder: str | Path, count: int, seconds: float, sample_rate: int = 22050,
                seed: int = 0, fmt: str = "flac") -> list[str]:
    """Render songs 0..count-1 of corpus `seed` to `folder`/songNNNN.<fmt>; returns the paths.

    For tests and benchmarks that need a few real audio files; `ingest` writes the default
    corpus itself (with its labels).
    """
    import soundfile as sf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"song{i:04d}.{fmt}"
        sf.write(str(path), render_song(i, seed, seconds, sample_rate)[0], sample_rate)
        paths.append(str(path))
    return paths
