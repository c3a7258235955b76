"""The continuation judge on made-up audio whose answer is known."""

import numpy as np
import pytest

from songcoder.audio.synth import render_song
from songcoder.evaluate.continuation import baselines, collapse_time, copy_score, lsd_db
from songcoder.evaluate.generation import SongCodeJudge, tempo_match
from songcoder.features.extract import song_vector_kwargs
from songcoder.evaluate.structure import chroma_corr, tonality
from songcoder.features.extract import song_features

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


def test_collapse_time_calls_dissolving_into_hiss_noise():
    x = _music(8.0, seed=3)
    seed, real = x[:SR], x[SR:]
    hiss = np.random.default_rng(1).standard_normal(len(real)) * np.std(seed)
    assert collapse_time(seed, hiss, SR) == (0.0, "noise")
    # music for 3 s, then hiss at the same loudness: collapse at about 3 s (hiss has neither
    # beat nor notes, so the 2 s texture window may see it first)
    t, why = collapse_time(seed, np.concatenate([real[:3 * SR], hiss[3 * SR:]]), SR)
    assert why in ("noise", "texture") and 1.5 <= t <= 3.0, (t, why)


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
    # music for 3 s, then the drone: it collapses when a 2 s window holds mostly drone (as
    # static, or as texture: the drone has neither beat nor held notes either)
    t, why = collapse_time(seed, np.concatenate([real[:3 * sr], drone[3 * sr:]]), sr)
    assert why in ("static", "texture") and 1.5 <= t <= 3.0, (t, why)


def _clicks(bpm: float, seconds: float, sr: int = 16000) -> np.ndarray:
    """A decaying 1 kHz blip on every beat."""
    x = np.zeros(int(seconds * sr))
    blip = np.sin(2 * np.pi * 1000 * np.arange(400) / sr) * np.exp(-np.arange(400) / 80)
    for start in np.arange(0, len(x) - 400, 60 / bpm * sr).astype(int):
        x[start:start + 400] += blip
    return x


def _chord(freqs, seconds: float, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return sum(0.2 * np.sin(2 * np.pi * f * t) for f in freqs)


def test_tempo_match_on_a_click_track():
    x = _clicks(120.0, 10.0)
    bpm = song_features(x, 16000, **song_vector_kwargs(None)).tempo_bpm
    assert tempo_match(bpm, 120.0) and tempo_match(bpm, 60.0) and tempo_match(bpm, 240.0)
    assert not tempo_match(bpm, 110.0) and not tempo_match(bpm, 90.0)


def test_tonality_and_chroma_of_a_held_chord():
    sr = 16000
    c_major = _chord((261.6, 329.6, 392.0), 4.0)
    f_sharp = _chord((370.0, 466.2, 554.4), 4.0)
    noise = 0.1 * np.random.default_rng(0).standard_normal(4 * sr)
    assert tonality(c_major, sr) == pytest.approx(3.0, abs=0.1)   # three held notes
    assert tonality(noise, sr) < 0.05
    assert chroma_corr(c_major, 0.5 * c_major, sr) == pytest.approx(1.0)
    assert chroma_corr(f_sharp, c_major, sr) < 0
    assert not abs(chroma_corr(noise, c_major, sr)) > 0.5  # no notes: about none, or NaN


def test_copy_score_catches_the_looped_seed_at_any_rotation():
    x = _music(6.0, seed=2)
    seed, real = x[:SR], x[SR:]
    looped = np.tile(np.roll(seed, 1234), 5)
    assert copy_score(seed, looped, SR) > 0.99
    noise = np.random.default_rng(0).standard_normal(len(real))
    assert copy_score(seed, noise, SR) < 0.2


def test_texture_fires_on_coloured_noise_not_on_the_music():
    sr = 16000
    x = render_song(0, 0, 9.0, sr)[0].mean(axis=1)
    seed, real = x[:sr], x[sr:]
    # pink noise (power ~ 1/f) at the music's loudness: not white (the noise test's), it
    # moves as noise does (the static test's), but it has neither beat nor notes
    spec = np.fft.rfft(np.random.default_rng(0).standard_normal(len(real)))
    pink = np.fft.irfft(spec / np.sqrt(np.maximum(np.arange(len(spec)), 1)), len(real))
    pink *= np.std(real) / np.std(pink)
    assert collapse_time(seed, pink, sr) == (0.0, "texture")
    assert collapse_time(seed, real, sr) == (len(real) / sr, "none")


def test_encoder_top1_finds_each_songs_own_vector(tmp_path):
    from songcoder.config import SdaeConfig
    from songcoder.features.norm import normalise
    from songcoder.sdae.serving import SongEncoder, encode
    from songcoder.sdae.train import make_layer

    sr = 16000
    songs = [render_song(i, 0, 6.0, sr)[0].mean(axis=1) for i in range(4)]
    kw = song_vector_kwargs(None)
    raw = np.stack([song_features(s, sr, **kw).vector for s in songs])
    mean, std = raw.mean(0), raw.std(0) + 1e-3
    layer = make_layer(SdaeConfig(), 1, raw.shape[1]).eval()     # dims from the data
    layer.init_linear(normalise(raw, mean, std))         # the default layer's linear start
    enc = SongCodeJudge(SongEncoder(layer, mean, std), encode(layer, normalise(raw, mean, std)),
                        [f"s{i}" for i in range(4)], kw)
    assert all(enc.top1(s, sr, f"s{i}") for i, s in enumerate(songs))
    assert not enc.top1(songs[0], sr, "s1") and enc.top1(songs[0], sr, "elsewhere") is None
