"""Audio whose tempo and downbeats are exact: a small General MIDI groove written as a
Standard MIDI File and rendered with fluidsynth (Debian: fluidsynth, fluid-soundfont-gm).

Used by the tempo tests and benchmarks/tempo.py. The groove has a pickup (it starts on beat 3),
so the first downbeat is at 2 beats, not at 0: a detector that always answers 0 fails.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

TICKS_PER_BEAT = 480
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")   # fluid-soundfont-gm
PICKUP_BEATS = 2                                            # the groove starts on beat 3
# (bass note, chord) per bar: i - vi - IV - V in C, so harmony changes on every downbeat
BARS = [(36, (60, 64, 67)), (45, (57, 60, 64)), (41, (53, 57, 60)), (43, (55, 59, 62))]


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def groove_events(bars: int) -> list[tuple[int, bytes]]:
    """(tick, MIDI message) of a 4/4 pop groove: kick on 1 and 3, snare on 2 and 4, hi-hat
    eighths, a bass note and a piano chord per bar, crash on each downbeat of a 4-bar phrase."""
    ev: list[tuple[int, bytes]] = [(0, bytes([0xC0, 0])), (0, bytes([0xC1, 33]))]  # piano, bass

    def note(tick: int, ch: int, key: int, vel: int, beats: float) -> None:
        ev.append((tick, bytes([0x90 | ch, key, vel])))
        ev.append((tick + int(beats * TICKS_PER_BEAT) - 1, bytes([0x80 | ch, key, 0])))

    for beat in range(4 - PICKUP_BEATS, 4 * (bars + 1)):     # pickup bar, then whole bars
        t = (beat - (4 - PICKUP_BEATS)) * TICKS_PER_BEAT
        bar, pos = divmod(beat, 4)
        note(t, 9, 36 if pos in (0, 2) else 38, 110 if pos == 0 else 90, 0.5)
        note(t, 9, 42, 70, 0.25)
        note(t + TICKS_PER_BEAT // 2, 9, 42, 50, 0.25)
        if pos == 0 and bar >= 1:
            bass, chord = BARS[(bar - 1) % len(BARS)]
            note(t, 1, bass, 110, 3.5)
            for k in chord:
                note(t, 0, k, 80, 3.8)
            if (bar - 1) % 4 == 0:
                note(t, 9, 49, 100, 1.0)
    return sorted(ev, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80))


def write_groove(path: str | Path, bpm: float, bars: int) -> float:
    """Write the groove as a format-0 SMF at `bpm`; returns the first downbeat in seconds."""
    tempo_us = int(round(60e6 / bpm))
    track = b"\x00\xff\x51\x03" + tempo_us.to_bytes(3, "big") + b"\x00\xff\x58\x04\x04\x02\x18\x08"
    last = 0
    for tick, msg in groove_events(bars):
        track += _varlen(tick - last) + msg
        last = tick
    track += b"\x00\xff\x2f\x00"
    head = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
    Path(path).write_bytes(head + b"MTrk" + struct.pack(">I", len(track)) + track)
    return PICKUP_BEATS * tempo_us / 1e6


def fluidsynth_missing() -> str | None:
    """Why rendering cannot run here, or None when it can."""
    if shutil.which("fluidsynth") is None:
        return "fluidsynth not installed (Debian: apt-get install fluidsynth fluid-soundfont-gm)"
    if not SOUNDFONT.exists():
        return f"General MIDI soundfont {SOUNDFONT} missing (Debian: fluid-soundfont-gm)"
    return None


def render(midi: str | Path, wav: str | Path, sr: int = 44100) -> None:
    """Render a MIDI file to a WAV file with fluidsynth and the GM soundfont."""
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(sr), "-F", str(wav),
                    str(SOUNDFONT), str(midi)], check=True, capture_output=True)
