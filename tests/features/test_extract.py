"""The 1482-d vector: shape, scales, calibration, and robustness to odd but valid input."""

import numpy as np
import pytest
import soundfile as sf

from songcoder.audio.synth import render_song
from songcoder.features import layout
from songcoder.features.extract import SongFeatures, file_features, song_features


def check_vector(f: SongFeatures) -> np.ndarray:
    v = f.vector
    assert v.shape == (layout.DIM,) and v.dtype == np.float32
    assert np.isfinite(v).all()
    rhythm = v[layout.RHYTHM].reshape(layout.RHYTHM_BANDS, layout.TICKS)
    assert (rhythm >= 0).all() and (rhythm <= 1 + 1e-6).all()
    loud = v[layout.LOUDNESS].reshape(layout.LOUDNESS_BANDS, layout.QUANTILES)
    assert (np.diff(loud, axis=1) >= -1e-4).all()                    # quantiles ascend
    assert (loud >= layout.LOUDNESS_FLOOR_DB - 1e-3).all() and (loud <= 10).all()
    assert np.isfinite(f.tempo_bpm) and np.isfinite(f.bar_phase_s)
    return v


@pytest.fixture(scope="module")
def song():
    return render_song(1, 0, 12.0, 22050)


def test_song_vector_scales(song):
    x, labels = song
    f = song_features(x, 22050, min_bpm=60, max_bpm=200, analysis_rate=11025)
    v = check_vector(f)
    rhythm = v[layout.RHYTHM].reshape(3, 384)
    assert np.allclose(rhythm.max(axis=1), 1.0)                      # peak-normalised bands
    assert abs(f.tempo_bpm / labels["tempo"] - 1) <= 0.04


def test_full_scale_sine_reads_0_db_in_its_band():
    sr = 22050
    t = np.arange(sr * 3) / sr
    x = np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)
    v = song_features(x, sr).vector
    band = int(np.searchsorted(layout.LOUDNESS_EDGES_HZ, 1000.0)) - 1
    median = v[layout.loudness_slice(band)][5]
    assert median == pytest.approx(0.0, abs=0.5)
    others = [v[layout.loudness_slice(b)][5] for b in range(30) if abs(b - band) > 2]
    assert max(others) < -40


def test_mono_and_duplicated_stereo_agree(song):
    x, _ = song
    mono = x.mean(axis=1)
    a = song_features(mono, 22050).vector
    b = song_features(np.stack([mono, mono], axis=1), 22050).vector
    assert np.allclose(a, b, atol=1e-3)


def test_same_song_at_two_sample_rates_gives_similar_features():
    x22, labels = render_song(4, 0, 12.0, 22050)
    x44, _ = render_song(4, 0, 12.0, 44100)
    a = song_features(x22, 22050)
    b = song_features(x44, 44100)
    assert abs(a.tempo_bpm / b.tempo_bpm - 1) < 0.01
    loud_a, loud_b = a.vector[layout.LOUDNESS], b.vector[layout.LOUDNESS]
    assert np.median(np.abs(loud_a - loud_b)) < 1.5                  # dB
    assert np.corrcoef(a.vector[layout.RHYTHM], b.vector[layout.RHYTHM])[0, 1] > 0.9


@pytest.mark.parametrize("sr", [8000, 16000, 48000, 96000])
def test_any_sample_rate(tmp_path, sr):
    x, _ = render_song(2, 0, 3.0, sr)
    path = tmp_path / "song.wav"
    sf.write(str(path), x, sr)
    check_vector(file_features(path))


def test_six_channels_and_short_and_quiet_input():
    rng = np.random.default_rng(1)
    x, _ = render_song(3, 0, 2.0, 22050)
    six = np.concatenate([x, x[:, ::-1], 0.5 * x], axis=1)            # (frames, 6)
    check_vector(song_features(six, 22050))
    check_vector(song_features(x[:22050], 22050))                     # 1 s
    check_vector(song_features(x[:11025, 0], 22050))                  # 0.5 s mono
    check_vector(song_features(x[:100], 22050))                       # a few ms
    quiet = (1e-7 * rng.standard_normal(22050 * 2)).astype(np.float32)
    check_vector(song_features(quiet, 22050))
    check_vector(song_features(np.zeros((44100, 2), np.float32), 44100))
    check_vector(song_features(x.astype(np.float64), 22050))


def test_invalid_input_is_refused():
    x = np.zeros(22050, np.float32)
    x[100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        song_features(x, 22050)
    with pytest.raises(ValueError):
        song_features(np.zeros((10, 2, 2), np.float32), 22050)
    with pytest.raises(ValueError):
        song_features(np.zeros(100, np.int16), 22050)


def test_block_processing_matches_one_block(monkeypatch, song):
    """Long files are analysed in blocks to bound memory; block edges must not show."""
    from songcoder.features import extract
    x, _ = song
    whole = song_features(x, 22050).vector
    monkeypatch.setattr(extract, "BLOCK", 3000)
    blocked = song_features(x, 22050).vector
    assert np.allclose(whole, blocked, atol=1e-3)


def test_fast_quantiles_match_numpy():
    from songcoder.features.extract import _quantiles
    rng = np.random.default_rng(2)
    for n in (1, 2, 9, 1000):
        a = rng.standard_normal((n, 30)).astype(np.float32)
        ref = np.quantile(a, layout.QUANTILE_LEVELS, axis=0)
        assert np.allclose(_quantiles(a, layout.QUANTILE_LEVELS), ref, atol=1e-6)
