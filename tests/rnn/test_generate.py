import json

import numpy as np
import pytest
import soundfile as sf

from songcoder.config import GenerateConfig
from songcoder.rnn.generate import baselines, collapse_time, generate_all, lsd_db
from songcoder.rnn.model import AudioRNN
from songcoder.audio.synth import render_song

SR = 8000


def _music(seconds, seed=0):
    return render_song(seed, 0, seconds, SR)[0].mean(axis=1)


def test_lsd_is_zero_for_identical_and_grows_with_difference():
    x = _music(3.0)
    assert lsd_db(x, x) == 0.0
    noise = np.random.default_rng(0).standard_normal(len(x))
    assert 0 < lsd_db(x + 1e-3 * noise, x) < lsd_db(x + 1e-1 * noise, x)


def test_collapse_time_on_known_signals():
    x = _music(8.0, seed=3)
    seed, real = x[:SR], x[SR:]
    n = len(real)
    assert collapse_time(seed, np.zeros(n), SR) == (0.0, "silent")
    assert collapse_time(seed, np.tile(seed[-64:], n // 64), SR)[1] in ("static", "loop")
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / SR)
    assert collapse_time(seed, tone, SR)[1] in ("static", "loop")
    # sound for 3 s, then silence: collapse at about 3 s
    t, why = collapse_time(seed, np.concatenate([real[:3 * SR], np.zeros(n - 3 * SR)]), SR)
    assert why == "silent" and 2.0 <= t <= 3.0
    # the music itself goes on
    assert collapse_time(seed, real, SR) == (n / SR, "none")


def test_baselines_have_the_right_length_and_loudness():
    seed = _music(1.0)
    b = baselines(seed, 3000, 64, np.random.default_rng(0))
    assert set(b) == {"silence", "repeat_last_frame", "loop_seed", "seed_spectrum_noise"}
    assert all(len(v) == 3000 for v in b.values())
    np.testing.assert_array_equal(b["repeat_last_frame"][64:128], seed[-64:])
    assert np.std(b["seed_spectrum_noise"]) == pytest.approx(np.sqrt(np.mean(seed ** 2)), rel=0.2)


def test_generate_all_writes_audio_pictures_and_metrics(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"held{i}.wav"
        sf.write(p, _music(3.0 if i else 0.5, seed=i), SR)   # the first is too short
        paths.append(str(p))
    model = AudioRNN(frame=64, hidden=16, layers=1, output="mulaw", embed=4, sample_rate=SR)
    cfg = GenerateConfig(count=2, seed_seconds=1.0, seconds=1.5, temperature=1.0)
    metrics, files = generate_all(model.eval(), cfg, paths, tmp_path / "generated")
    assert len(files) == 4 and all(f.endswith((".wav", ".png")) for f in files)
    assert "held0" in metrics["skipped"] and metrics["songs"] == 2
    audio, sr = sf.read(files[0])
    assert sr == SR and len(audio) == round(2.5 * SR)
    for key in ("time_to_collapse_s", "lsd_db", "realtime_factor", "nll_bits_per_sample"):
        assert np.isfinite(metrics[key])
    assert set(metrics["baselines"]) >= {"silence", "repeat_last_frame", "loop_seed"}
    assert metrics["baselines"]["silence"]["time_to_collapse_s"] == 0.0
    # structure figures for the model, the real continuation and the baselines alike
    for fig in (metrics, metrics["real"], metrics["baselines"]["loop_seed"]):
        assert 0 < fig["spectral_flatness"] < 1 and fig["energy_modulation_db"] >= 0
        assert 0 <= fig["onset_periodicity"] <= 1
    assert metrics["baselines"]["silence"]["spectral_flatness"] is None     # undefined, not NaN
    json.dumps(metrics, allow_nan=False)                     # the stage writes it as JSON                                      # the stage writes it as JSON


def test_collapse_time_calls_dissolving_into_hiss_noise():
    x = _music(8.0, seed=3)
    seed, real = x[:SR], x[SR:]
    hiss = np.random.default_rng(1).standard_normal(len(real)) * np.std(seed)
    assert collapse_time(seed, hiss, SR) == (0.0, "noise")
    # music for 3 s, then hiss at the same loudness: collapse at about 3 s
    t, why = collapse_time(seed, np.concatenate([real[:3 * SR], hiss[3 * SR:]]), SR)
    assert why == "noise" and 2.0 <= t <= 3.0


def _drone(seed: np.ndarray, n: int, frame: int = 256, jitter: float = 0.6) -> np.ndarray:
    """What the first `logmag` model made: the seed's average grain spectrum every grain, the
    phases advanced as a phase vocoder would and jittered, overlap-added. Loud and tonal, never
    silent or looping, but nothing in it moves."""
    w = np.sqrt(np.hanning(2 * frame + 1)[:-1])
    k = len(seed) // frame - 1
    grains = np.stack([seed[i * frame:(i + 2) * frame] for i in range(k)]) * w
    mag = np.abs(np.fft.rfft(grains, axis=1)).mean(axis=0)
    rng = np.random.default_rng(0)
    phase = rng.uniform(0, 2 * np.pi, len(mag))
    out = np.zeros(n + 2 * frame)
    for i in range(n // frame + 1):
        phase = phase + np.pi * np.arange(len(mag)) + jitter * rng.uniform(-np.pi, np.pi, len(mag))
        out[i * frame:(i + 2) * frame] += np.fft.irfft(mag * np.exp(1j * phase), 2 * frame) * w
    return out[:n] * np.std(seed) / np.std(out[:n])


def test_collapse_time_calls_a_steady_drone_static():
    sr = 16000                                            # the default model's rate and frame
    x = render_song(3, 0, 8.0, sr)[0].mean(axis=1)
    seed, real = x[:sr], x[sr:]
    drone = _drone(seed, len(real))
    assert collapse_time(seed, real, sr) == (len(real) / sr, "none")
    assert collapse_time(seed, drone, sr) == (0.0, "static")
    # music for 3 s, then the drone: it collapses when a 2 s window holds mostly drone
    t, why = collapse_time(seed, np.concatenate([real[:3 * sr], drone[3 * sr:]]), sr)
    assert why == "static" and 1.5 <= t <= 3.0, (t, why)
