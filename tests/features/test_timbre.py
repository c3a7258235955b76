"""The extended groups (timbre.py) on sounds whose answer is known."""

import numpy as np
import pytest

from songcoder.features import layout, timbre
from songcoder.features.extract import song_features

SR = 22050


def _chroma_mean(v: np.ndarray) -> np.ndarray:
    s = layout.groups(len(v))["chroma"]
    return v[s][:12]


def test_extended_vector_layout_and_seed_prefix():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, 10 * SR).astype(np.float32)
    seed = song_features(x, SR).vector
    ext = song_features(x, SR, feature_set="extended").vector
    assert seed.shape == (layout.DIM,) and ext.shape == (layout.EXTENDED_DIM,)
    assert np.array_equal(ext[:layout.DIM], seed) and np.isfinite(ext).all()
    g = layout.groups(layout.EXTENDED_DIM)
    assert sum(s.stop - s.start for s in g.values()) == layout.EXTENDED_DIM
    with pytest.raises(ValueError, match="feature_set"):
        song_features(x, SR, feature_set="mfcc")


def test_chroma_finds_the_note_and_contrast_tells_tone_from_noise():
    t = np.arange(8 * SR) / SR
    a4 = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    c_major = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)).astype(np.float32)
    noise = np.random.default_rng(1).normal(0, 0.1, len(t)).astype(np.float32)
    va, vc, vn = (song_features(x, SR, feature_set="extended").vector for x in (a4, c_major, noise))
    assert int(np.argmax(_chroma_mean(va))) == 9                         # A
    assert set(np.argsort(_chroma_mean(vc))[-3:]) == {0, 4, 7}           # C, E, G
    assert np.ptp(_chroma_mean(vn)) < 0.05                               # noise: no pitch class
    contrast = layout.groups(layout.EXTENDED_DIM)["contrast"]
    band = 2                                                             # 250-500 Hz holds 440
    assert va[contrast][band] > vn[contrast][band] + 20                  # dB: a peak over a floor


def test_cepstrum_change_is_zero_for_a_steady_sound_and_not_for_a_changing_one():
    t = np.arange(8 * SR) / SR
    steady = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    moving = np.where((t * 2).astype(int) % 2 == 0, steady,
                      0.3 * np.sin(2 * np.pi * 2000.0 * t)).astype(np.float32)
    tim = layout.groups(layout.EXTENDED_DIM)["timbre"]
    change = slice(tim.start + 2 * timbre.CEPSTRA, tim.stop)
    s, m = (song_features(x, SR, feature_set="extended").vector[change] for x in (steady, moving))
    assert np.abs(s).max() < 2.0 and np.abs(m).max() > 10 * np.abs(s).max()
