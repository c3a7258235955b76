"""Seed 002's list of properties for d(theta, phi) = sin^2((theta - phi) / 2)."""

import math

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from songcoder.rnn.losses import phase_distance

angle = st.floats(-50.0, 50.0, allow_nan=False)
turns = st.integers(-20, 20)
TOL = 1e-9


@given(angle, angle, turns, turns)
def test_periodic_in_both_arguments(t, p, n, m):
    assert math.isclose(phase_distance(np.float64(t), np.float64(p)),
                        phase_distance(np.float64(t + 2 * n * math.pi),
                                       np.float64(p + 2 * m * math.pi)), abs_tol=TOL)


@given(angle, angle, angle)
def test_invariant_to_a_common_shift(t, p, w):
    assert math.isclose(phase_distance(np.float64(t), np.float64(p)),
                        phase_distance(np.float64(t + w), np.float64(p + w)), abs_tol=TOL)


@given(angle, angle)
def test_opposite_phases_are_farthest(t, p):
    assert phase_distance(np.float64(t), np.float64(p)) <= phase_distance(0.0, math.pi) + TOL


@given(angle, turns)
def test_zero_when_equal_modulo_two_pi(t, n):
    assert phase_distance(np.float64(t), np.float64(t + 2 * n * math.pi)) < TOL


@given(angle, angle)
def test_zero_only_when_equal_modulo_two_pi(t, p):
    gap = abs(math.remainder(t - p, 2 * math.pi))      # distance to the nearest equal phase
    if gap > 1e-3:
        assert phase_distance(np.float64(t), np.float64(p)) > 0


@given(angle, angle)
def test_non_negative_and_symmetric(t, p):
    d = phase_distance(np.float64(t), np.float64(p))
    assert d >= 0
    assert math.isclose(d, phase_distance(np.float64(p), np.float64(t)), abs_tol=TOL)


@given(angle, angle, angle)
def test_triangle_inequality_holds_for_the_square_root(a, b, c):
    # The seed says sin^2 has "the usual metric properties"; the triangle inequality is the
    # one it lacks (see the next test). Its square root |sin((a - b) / 2)|, half the chord
    # between the two points on the unit circle, has it.
    r = lambda x, y: math.sqrt(phase_distance(np.float64(x), np.float64(y)))  # noqa: E731
    assert r(a, c) <= r(a, b) + r(b, c) + TOL


def test_sin2_itself_breaks_the_triangle_inequality():
    a, b, c = 0.0, math.pi / 3, 2 * math.pi / 3
    assert phase_distance(a, c) > phase_distance(a, b) + phase_distance(b, c)   # 0.75 > 0.5


@given(st.lists(angle, min_size=1, max_size=8), st.lists(angle, min_size=1, max_size=8))
def test_torch_and_numpy_agree(ts, ps):
    n = min(len(ts), len(ps))
    t, p = np.array(ts[:n]), np.array(ps[:n])
    np.testing.assert_allclose(phase_distance(torch.from_numpy(t), torch.from_numpy(p)).numpy(),
                               phase_distance(t, p), atol=TOL)
