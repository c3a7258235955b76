"""Structure figures on signals whose answer is known: white noise, a click track, a chord."""

import numpy as np
import pytest

from songcoder.evaluate.structure import (energy_modulation_db, onset_periodicity, spectral_flatness,
                                     structure_figures)

SR = 16000
N = 6 * SR


def _noise(seed=0):
    return 0.1 * np.random.default_rng(seed).standard_normal(N)


def _clicks(period=0.5):
    """A decaying 1 kHz blip every `period` s (120 BPM)."""
    x = np.zeros(N)
    blip = np.sin(2 * np.pi * 1000 * np.arange(400) / SR) * np.exp(-np.arange(400) / 80)
    for start in range(0, N - 400, int(period * SR)):
        x[start:start + 400] += blip
    return x


def _chord():
    t = np.arange(N) / SR
    return sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))


def test_flatness_of_white_noise_is_exp_minus_gamma_and_of_a_chord_near_zero():
    # a periodogram bin of white noise is exponential: E[log] = log(mean) - Euler's gamma
    assert spectral_flatness(_noise()) == pytest.approx(np.exp(-np.euler_gamma), abs=0.02)
    assert spectral_flatness(_chord()) < 0.01
    assert spectral_flatness(_chord()) < spectral_flatness(_clicks()) < spectral_flatness(_noise())


def test_flatness_ignores_loudness_and_silence_has_none():
    assert spectral_flatness(_noise()) == pytest.approx(spectral_flatness(1e-3 * _noise()), rel=1e-6)
    assert np.isnan(spectral_flatness(np.zeros(N)))


def test_energy_modulation_separates_beats_from_steady_sound():
    steady = max(energy_modulation_db(_noise()), energy_modulation_db(_chord()))
    assert steady < 1.0
    assert energy_modulation_db(_clicks()) > 10 * steady


def test_onset_periodicity_finds_the_beat_and_not_in_noise_or_a_held_chord():
    assert onset_periodicity(_clicks(), SR) > 0.8
    assert onset_periodicity(_clicks(0.8), SR) > 0.8            # 75 BPM: still inside the range
    assert onset_periodicity(_noise(), SR) < 0.3
    assert onset_periodicity(_chord(), SR) == 0.0               # no onsets at all
    assert onset_periodicity(np.zeros(N), SR) == 0.0


def test_noise_plus_beat_lies_between():
    mixed = structure_figures(_noise() + _clicks(), SR)
    clean = structure_figures(_clicks(), SR)
    assert structure_figures(_noise(), SR)["onset_periodicity"] < mixed["onset_periodicity"]
    assert mixed["energy_modulation_db"] < clean["energy_modulation_db"]
