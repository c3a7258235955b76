"""The synthetic corpus: deterministic, labelled, musical enough that the labels are findable."""

import numpy as np
import soundfile as sf

from songcoder.audio import synth
from songcoder.features.extract import song_features


def test_same_arguments_give_identical_audio_and_flac_bytes(tmp_path):
    a, la = synth.render_song(5, 3, 6.0, 22050)
    b, lb = synth.render_song(5, 3, 6.0, 22050)
    assert la == lb and np.array_equal(a, b)
    for name in ("one.flac", "two.flac"):
        sf.write(str(tmp_path / name), a, 22050, format="FLAC")
    assert (tmp_path / "one.flac").read_bytes() == (tmp_path / "two.flac").read_bytes()
    back, sr = sf.read(str(tmp_path / "one.flac"), dtype="float32")
    assert sr == 22050 and back.shape == a.shape
    assert np.abs(back - a).max() < 1e-4                              # 16-bit round trip


def test_different_index_or_seed_gives_a_different_song():
    a, _ = synth.render_song(5, 3, 4.0, 16000)
    b, _ = synth.render_song(6, 3, 4.0, 16000)
    c, _ = synth.render_song(5, 4, 4.0, 16000)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


def test_audio_shape_range_and_level():
    for sr, seconds in ((16000, 3.0), (22050, 2.5), (44100, 1.0)):
        x, labels = synth.render_song(7, 0, seconds, sr)
        assert x.dtype == np.float32 and x.shape == (int(round(seconds * sr)), 2)
        assert np.isfinite(x).all() and np.abs(x).max() <= 1.0
        assert np.sqrt(np.mean(x ** 2)) > 0.01                       # not silent
        assert labels == synth.song_labels(7, 0)


def test_labels_spread_and_cover_styles_and_patterns():
    labels = [synth.song_labels(i, 0) for i in range(300)]
    tempo = np.array([lab["tempo"] for lab in labels])
    assert tempo.min() < 70 and tempo.max() > 180
    assert synth.MIN_BPM <= tempo.min() and tempo.max() <= synth.MAX_BPM
    assert {lab["style"] for lab in labels} == set(synth.STYLES)
    assert {lab["pattern"] for lab in labels} == set(synth.PATTERNS)
    for lab in labels:
        assert lab["pattern"] in synth.STYLES[lab["style"]].patterns
        assert 0 <= lab["downbeat_s"] < 4 * 60 / lab["tempo"]
    assert synth.song_labels(3, 1) != synth.song_labels(3, 0)


def test_detected_tempo_and_downbeat_match_the_labels():
    hits = 0
    for i in range(8):
        x, lab = synth.render_song(i, 0, 12.0, 22050)
        f = song_features(x, 22050, min_bpm=60, max_bpm=200)
        if abs(f.tempo_bpm / lab["tempo"] - 1) <= 0.04:
            hits += 1
            bar = 4 * 60 / lab["tempo"]
            err = (f.bar_phase_s - lab["downbeat_s"] + bar / 2) % bar - bar / 2
            assert abs(err) < 60 / lab["tempo"] / 8, (i, f.bar_phase_s, lab)
    assert hits >= 7
