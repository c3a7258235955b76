"""benchmarks/beat_salience.py: the lagged inputs line up, the ridge finds a known filter, the
stretch figures count octave misses by direction (madmom itself is never needed here)."""

import importlib.util
import sys

import numpy as np
import pytest

from songcoder.features import beat_weights, tempo
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_beat_salience",
                                                  ROOT / "benchmarks" / "beat_salience.py")
    mod = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    try:
        spec.loader.exec_module(mod)                   # it puts benchmarks/ on sys.path
    finally:
        sys.path[:] = path                             # for its own imports only
    return mod


def test_inputs_hold_each_group_at_each_lag(bench):
    power = np.ones((200, 30))
    power[50:, 0] = 10.0                   # one rise, in band 0 (group 0), at frame 50
    X = bench.design(power)
    width = tempo.SALIENCE_GROUPS + 1
    assert X.shape == (200, len(tempo.SALIENCE_LAGS) * width + 1) and np.all(X[:, -1] == 1)
    for i, lag in enumerate(tempo.SALIENCE_LAGS):
        col = X[:, i * width]              # group 0 at this lag: row f holds frame f + lag
        assert np.flatnonzero(col).tolist() == [50 - lag], lag
        assert np.all(X[:, i * width + 1: i * width + tempo.SALIENCE_GROUPS] == 0)


def test_salience_is_the_design_times_the_shipped_weights(bench):
    """tempo.beat_salience applies beat_weights.py exactly as the benchmark fitted it."""
    power = np.random.default_rng(1).gamma(1.0, 1.0, (500, 30))
    w = np.concatenate([np.ravel(beat_weights.WEIGHTS), [beat_weights.BIAS]])
    np.testing.assert_allclose(tempo.beat_salience(power), np.maximum(bench.design(power) @ w, 0),
                               rtol=1e-5, atol=1e-6)


def test_ridge_finds_the_lag_the_target_follows(bench):
    rng = np.random.default_rng(0)
    X = bench.design(rng.gamma(1.0, 1.0, (3000, 30)))
    col = list(tempo.SALIENCE_LAGS).index(-4) * (tempo.SALIENCE_GROUPS + 1) + 2   # group 2, lag -4
    w = bench.ridge(X, X[:, col])
    assert int(np.argmax(np.abs(w))) == col
    assert np.corrcoef(X @ w, X[:, col])[0, 1] > 0.99


def test_figures_count_misses_by_direction(bench):
    # song a follows every stretch; song b flips up an octave when slowed, down when sped up
    est = {"a": {1: 100.0, **{s: 100.0 * s for s in bench.SPEEDS}},
           "b": {1: 100.0, 0.8: 160.0, 0.9: 90.0, 1.12: 112.0, 1.25: 62.5}}
    f = bench.figures(est, {"a": 200.0, "b": 150.0})
    assert f["sox_acc1"] == 6 / 8 and f["sox_acc2"] == 1.0
    assert f["agrees_with_madmom"] == 0.5          # x2 counts, x1.5 does not
    assert f["per_rate"]["0.8"] == {"acc1": 0.5, "misses_at_x2": 1, "misses_at_half": 0}
    assert f["per_rate"]["1.25"] == {"acc1": 0.5, "misses_at_x2": 0, "misses_at_half": 1}
