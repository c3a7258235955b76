"""Tempo on music-like audio whose answer is known: synth songs played faster and slower,
a drum loop longer than 10 minutes whose tempo drifts, and a MIDI groove rendered with a
General MIDI soundfont (exact tempo and downbeats)."""

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from songcoder.audio import midi
from songcoder.audio.synth import render_song
from songcoder.features.extract import file_features, song_features
from tests.features.test_tempo import click_track

SR = 22050


@pytest.mark.parametrize("song", [3, 11])
def test_tempo_follows_playback_speed(song):
    """Resampling by 5/4 and declaring the old rate plays the song 0.8x as fast: the tempo
    must scale with the rate (the stretch protocol of benchmarks/tempo.py, on a synth song),
    folded by an octave where the scaled tempo leaves 60-200 BPM. Song 3 (96 BPM of 16ths)
    is read at 192 since the beat salience joined the score (so 1.12x, 215, folds to 108);
    how many songs keep their labelled level is test_synth_songs_at_their_labelled_tempo's."""
    x, lab = render_song(song, 0, 20.0, SR)
    base = song_features(x, SR).tempo_bpm
    assert min(abs(base / (lab["tempo"] * k) - 1) for k in (1, 2)) <= 0.04, (base, lab["tempo"])
    for up, down in ((5, 4), (10, 9), (25, 28), (4, 5)):      # rates 0.8, 0.9, 1.12, 1.25
        y = resample_poly(x, up, down, axis=0).astype(np.float32)
        est = song_features(y, SR).tempo_bpm
        want = base * down / up
        want = want / 2 if want > 200 else want * 2 if want < 60 else want
        assert abs(est / want - 1) <= 0.04, (down / up, base, est)


def test_synth_songs_at_their_labelled_tempo():
    """The first 40 synthetic songs (20 s): their labelled tempo, not an octave of it, in at
    least 0.85 of them. Measured 0.90 (power flux alone 0.975; madmom 0.875 on these 40)."""
    hits = []
    for i in range(40):
        x, lab = render_song(i, 0, 20.0, SR)
        hits.append(abs(song_features(x, SR).tempo_bpm / lab["tempo"] - 1) <= 0.04)
    assert np.mean(hits) >= 0.85, np.flatnonzero(~np.array(hits))


def drum_loop(seconds: float, sr: int, bpm: float, drift: float) -> np.ndarray:
    """Kick on 1 and 3, snare on 2 and 4, hi-hat eighths; the tempo wanders by +-drift
    (relative) in a slow sine, as a live band or a long medley does."""
    rng = np.random.default_rng(1)
    n = int(seconds * sr)
    t = np.arange(int(0.12 * sr)) / sr
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.05)
    snare = rng.standard_normal(len(t)) * np.exp(-t / 0.03) * 0.5
    hat = rng.standard_normal(len(t)) * np.exp(-t / 0.008) * 0.2
    x = np.zeros(n + sr)                 # room for the last hit past the end
    pos, k = 0.0, 0
    while pos < seconds:
        x[int(pos * sr): int(pos * sr) + len(t)] += (kick if k % 2 == 0 else snare) + hat
        half = int((pos + 0.5 * 60 / bpm) * sr)
        x[half: half + len(t)] += hat
        local = bpm * (1 + drift * np.sin(2 * np.pi * pos / 150.0))
        pos += 60.0 / local
        k += 1
    return (0.3 * x[:n]).astype(np.float32)


def test_long_drifting_song_is_not_stuck_at_a_bound():
    """Eleven minutes at 120 BPM +- 3 %. Issue 12 saw real halves over 10 minutes answered at
    min_bpm (60.0). That failure did not reproduce here, on this loop or on the real tracks
    at hand (up to 14 min, and two joined into 25 min), so this guards the behaviour rather
    than replaying the bug."""
    sr = 11025
    x = drum_loop(660.0, sr, 120.0, 0.03)
    f = song_features(x, sr, min_bpm=60, max_bpm=200, analysis_rate=11025)
    assert 60.5 < f.tempo_bpm < 199
    assert abs(f.tempo_bpm / 120 - 1) <= 0.04, f.tempo_bpm


@pytest.mark.skipif(midi.fluidsynth_missing() is not None,
                    reason=str(midi.fluidsynth_missing()))
@pytest.mark.parametrize("bpm", [92, 136])
def test_rendered_midi_tempo_and_downbeat(tmp_path, bpm):
    first = midi.write_groove(tmp_path / "g.mid", bpm, 8)
    midi.render(tmp_path / "g.mid", tmp_path / "g.wav", sr=SR)
    assert sf.info(str(tmp_path / "g.wav")).duration > 8 * 4 * 60 / bpm
    f = file_features(tmp_path / "g.wav")
    assert abs(f.tempo_bpm / bpm - 1) <= 0.02, f.tempo_bpm
    bar = 4 * 60.0 / bpm
    err = (f.bar_phase_s - first + bar / 2) % bar - bar / 2
    assert abs(err) < 0.04, (f.bar_phase_s, first)            # within a 32nd note or so


def test_midi_file_is_well_formed(tmp_path):
    """The hand-written SMF: header, one track whose length field matches, end-of-track."""
    first = midi.write_groove(tmp_path / "g.mid", 120, 2)
    b = (tmp_path / "g.mid").read_bytes()
    assert b[:4] == b"MThd" and b[14:18] == b"MTrk"
    assert int.from_bytes(b[18:22], "big") == len(b) - 22
    assert b[-4:] == b"\x00\xff\x2f\x00"
    assert first == pytest.approx(1.0)                          # 2 pickup beats at 120 BPM


@pytest.mark.parametrize("bpm", [205, 215])
def test_pulse_above_the_range_is_folded_to_its_half_not_the_bound(bpm):
    """Clicks a little faster than max_bpm (200): the answer is the half tempo, an octave of
    the truth, not 199.5 at the bound (the grid used to stop at max_bpm, so a pulse past it
    left a score rising to the edge; 215 BPM even came out at a third, 71.6)."""
    sr = 11025
    x = click_track(bpm, sr, 30.0, 0.1)
    f = song_features(x, sr, min_bpm=60, max_bpm=200)
    assert abs(f.tempo_bpm / (bpm / 2) - 1) <= 0.04, f.tempo_bpm


def test_long_ambient_song_is_not_at_a_bound():
    """Ten minutes of a swelling chord over hiss, no beat at all: whatever tempo comes out, it
    must not be a bound (issue 12: long real files came out at exactly 60.0 BPM)."""
    sr = 11025
    rng = np.random.default_rng(0)
    t = np.arange(600 * sr) / sr
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (110, 165, 220, 277)) * 0.05
    x *= 1 + 0.5 * np.sin(2 * np.pi * t / 7.0)
    x += 0.01 * rng.standard_normal(len(t))
    f = song_features(x.astype(np.float32), sr, min_bpm=60, max_bpm=200)
    assert 60 * 1.005 < f.tempo_bpm < 200 / 1.005, f.tempo_bpm


def accented_clicks(bpm: float, seconds: float) -> np.ndarray:
    """Clicks on every beat, every other one twice as loud (a half-time accent)."""
    return click_track(bpm, SR, seconds, 0.1) + click_track(bpm / 2, SR, seconds, 0.1)


@pytest.mark.parametrize("make,bpm,octave", [
    (lambda: drum_loop(30.0, SR, 60.3, 0.0), 60.3, 120.6),
    (lambda: accented_clicks(199.5, 30.0), 199.5, 99.75),
], ids=["drum_loop_60.3", "accented_clicks_199.5"])
def test_pulse_at_a_bound_is_reported_at_its_octave_inside(make, bpm, octave):
    """Issue 12: real tracks whose pulse is at 60 or 200 BPM were answered at the bound (main
    returned 60.29 and 199.47 here). A tempo at a bound folds an octave with 1 % faster
    playback; its octave inside the range is the same metre with room on both sides."""
    est = song_features(make(), SR, min_bpm=60, max_bpm=200).tempo_bpm
    assert abs(est / octave - 1) <= 0.04, (bpm, est)


def test_tempo_just_inside_the_headroom_is_kept():
    """The headroom acts within 1 % of a bound only: a 62 BPM pulse stays at 62. (Clicks: in
    drum_loop at 62 BPM, 8th-note hats over a back-beat, madmom hears 125, and so does the
    beat salience.)"""
    est = song_features(click_track(62.0, SR, 30.0, 0.1), SR, min_bpm=60, max_bpm=200).tempo_bpm
    assert abs(est / 62.0 - 1) <= 0.04, est


def test_octave_holds_when_the_fast_level_passes_250_bpm():
    """Synth song 12 (126 BPM) played 1.25x (157.5 BPM): its 8th-note peak, which outscores
    the beat, moves from 252 to 315 BPM, past a search grid that ended at max_bpm * 1.25 = 250,
    and the argmax fell to the half tempo (78.8). With the grid to max_bpm * 1.6 the 8th-note
    peak is seen and folds to the beat at both speeds."""
    x, lab = render_song(12, 0, 24.0, SR)
    base = song_features(x, SR).tempo_bpm
    fast = song_features(resample_poly(x, 4, 5, axis=0).astype(np.float32), SR).tempo_bpm
    assert abs(base / lab["tempo"] - 1) <= 0.04, (base, lab["tempo"])
    assert abs(fast / base / 1.25 - 1) <= 0.04, (base, fast)
