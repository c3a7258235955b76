"""One test per kind of bad (or merely unusual) audio file."""

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import tone, write_audio
from songcoder.audio.io import AudioError, load, load_mono, resample, validate


def test_garbage_bytes_with_audio_extension(tmp_path: Path):
    p = tmp_path / "fake.wav"
    p.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(AudioError, match="not audio soundfile can decode"):
        validate(p)


def test_zero_length_file(tmp_path: Path):
    p = tmp_path / "empty.flac"
    p.touch()
    with pytest.raises(AudioError, match="empty file"):
        validate(p)


def test_too_short(tmp_path: Path):
    p = write_audio(tmp_path / "short.wav", tone(0.2, 22050), 22050)
    with pytest.raises(AudioError, match=r"too short \(0.20 s < data.min_seconds 4.0 s\)"):
        validate(p, min_seconds=4.0)


def test_digital_silence(tmp_path: Path):
    p = write_audio(tmp_path / "silence.wav", np.zeros((22050 * 5, 2), np.float32), 22050)
    with pytest.raises(AudioError, match="silent"):
        validate(p)


def _at_rms_db(x: np.ndarray, db: float) -> np.ndarray:
    return (x * 10 ** (db / 20) / np.sqrt(np.mean(x ** 2))).astype(np.float32)


@pytest.mark.parametrize("click", [10 ** (-79 / 20), 0.5])
def test_quiet_hiss_with_clicks_is_silent(tmp_path: Path, click: float):
    """The real case: hiss at -91 dBFS RMS with a peak of -79 dBFS passed the old peak rule;
    a single loud click (-6 dBFS) must not make it music either (it lifts the RMS to -50 dBFS:
    a quantile of the window levels, not the RMS, is what stays at the hiss)."""
    sr = 44100
    x = _at_rms_db(np.random.default_rng(0).normal(size=(sr * 20, 2)), -91)
    x[sr * 3: sr * 3 + 40] = click
    p = write_audio(tmp_path / "hiss.flac", x, sr, subtype="PCM_24")
    with pytest.raises(AudioError, match=r"silent \(loudest 10% of 0.4 s windows at -9\d\.\d dBFS"):
        validate(p)


def test_quiet_songs_are_kept(tmp_path: Path):
    """A quiet recording (-40 dBFS RMS) and a song that is mostly silence around a loud
    part are music, not silence."""
    sr = 44100
    rng = np.random.default_rng(1)
    quiet = _at_rms_db(tone(20, sr) + 0.1 * rng.normal(size=(sr * 20, 2)), -40)
    validate(write_audio(tmp_path / "quiet.flac", quiet, sr, subtype="PCM_16"))
    sparse = np.zeros((sr * 20, 2), np.float32)
    sparse[sr * 8: sr * 12] = _at_rms_db(tone(4, sr), -20)      # 4 s of music in 20 s
    validate(write_audio(tmp_path / "sparse.flac", sparse, sr, subtype="PCM_16"))


def test_nan_in_float_wav(tmp_path: Path):
    x = tone(5, 22050)
    x[1000:1010] = np.nan
    p = write_audio(tmp_path / "nan.wav", x, 22050, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        validate(p)


def test_truncated_file_is_measured_by_what_decodes(tmp_path: Path):
    p = write_audio(tmp_path / "cut.wav", tone(5, 22050), 22050, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])  # header still claims 5 s
    info = validate(p)
    assert info.duration == pytest.approx(2.5, abs=0.01)


@pytest.mark.parametrize("channels, sr", [(6, 22050), (1, 8000), (2, 96000)])
def test_unusual_but_valid_files_are_accepted(tmp_path: Path, channels: int, sr: int):
    p = write_audio(tmp_path / f"odd_{channels}_{sr}.flac", tone(5, sr, channels=channels), sr)
    info = validate(p, min_seconds=4.0)
    assert (info.channels, info.sample_rate) == (channels, sr)
    assert info.duration == pytest.approx(5.0, abs=1e-3)
    x, got_sr = load(p)
    assert x.shape == (5 * sr, channels) and got_sr == sr
    mono = load_mono(p, 16000)
    assert mono.ndim == 1 and abs(len(mono) - 80000) <= 2 and np.isfinite(mono).all()


def test_resample_keeps_a_tone():
    x = tone(1, 44100, freq=440, channels=1)[:, 0]
    y = resample(x, 44100, 16000)
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) * 16000 / len(y) - 440) < 2
