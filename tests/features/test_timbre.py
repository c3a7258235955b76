"""The extended groups (timbre.py) on sounds whose answer is known."""

import numpy as np
import pytest

from songcoder.features import layout, timbre
from songcoder.features.extract import FRAME_RATE as FPS, song_features

SR = 22050


def _chroma_mean(v: np.ndarray) -> np.ndarray:
    s = layout.groups(len(v))["chroma"]
    return v[s][:12]


def _pink(n: int) -> np.ndarray:
    spec = np.fft.rfft(np.random.default_rng(1).normal(size=n))
    spec[1:] /= np.sqrt(np.fft.rfftfreq(n, 1 / SR)[1:])
    spec[0] = 0
    y = np.fft.irfft(spec, n)
    return (0.1 * y / y.std()).astype(np.float32)


def _clicks(bpm: float, seconds: float = 20.0, gain: float = 0.5) -> np.ndarray:
    x = np.zeros(int(seconds * SR), np.float32)
    rng = np.random.default_rng(2)
    for k in np.arange(0, len(x) - 200, 60.0 / bpm * SR).astype(int):
        x[k:k + 200] += rng.normal(0, gain, 200).astype(np.float32)
    return x


def _tempogram_peak_s(v: np.ndarray) -> float:
    """The lag, in seconds, at the centre of the tempogram's strongest band."""
    return float(timbre.tempogram_lags_s(FPS)[np.argmax(v[layout.groups(len(v))["tempogram"]])])


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
    noise = _pink(len(t))
    va, vc, vn = (song_features(x, SR, feature_set="extended").vector for x in (a4, c_major, noise))
    assert int(np.argmax(_chroma_mean(va))) == 9                         # A
    assert np.sort(_chroma_mean(va))[-2] < 0.1                           # ... and nothing else
    assert set(np.argsort(_chroma_mean(vc))[-3:]) == {0, 4, 7}           # C, E, G
    # pink noise (equal power per octave): every pitch class alike, within 15 % of the largest
    assert np.ptp(_chroma_mean(vn)) < 0.15 and _chroma_mean(vn).min() > 0.5
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


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_tempogram_peaks_at_the_beat_period_whatever_the_loudness(bpm):
    loud, quiet = (song_features(_clicks(bpm, gain=g), SR, feature_set="extended").vector
                   for g in (0.5, 0.05))
    period = 60.0 / bpm
    assert abs(_tempogram_peak_s(loud) - period) < 0.07 * period       # a band is 6 % wide
    tg = layout.groups(layout.EXTENDED_DIM)["tempogram"]
    assert np.allclose(loud[tg], quiet[tg], atol=0.02)                 # onset flux is in dB


def test_tempogram_of_silence_and_of_noise_holds_no_period():
    tg = layout.groups(layout.EXTENDED_DIM)["tempogram"]
    silent = song_features(np.zeros(10 * SR, np.float32), SR, feature_set="extended").vector
    noise = song_features(_pink(20 * SR), SR, feature_set="extended").vector
    clicks = song_features(_clicks(120.0), SR, feature_set="extended").vector
    assert np.all(silent[tg] == 0)
    assert noise[tg].max() < 0.5 * clicks[tg].max()
