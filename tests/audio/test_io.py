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
