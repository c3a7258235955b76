"""The DJ's mix (songcoder.playlist) on songs whose best order is known."""

import numpy as np
import pytest

from songcoder.playlist import m3u, neighbours, order_songs, tempo_fits


def line(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n songs on a line in 21-d code space, in shuffled order; returns (codes, position)."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=21)
    where = rng.permutation(n).astype(float)
    return np.outer(where, direction / np.linalg.norm(direction)) + rng.normal(size=21), where


def walks_the_line(order: np.ndarray, where: np.ndarray) -> bool:
    steps = np.diff(where[order])
    return bool(np.all(steps == 1) or np.all(steps == -1))


def test_tempo_fits_allows_double_and_half_time_within_tolerance():
    got = tempo_fits(120.0, np.array([120, 126, 131, 60, 240, 63, 180, 30, np.nan]), 0.08)
    assert got.tolist() == [True, True, False, True, True, True, False, False, True]


def test_the_mix_walks_a_line_of_songs_whose_tempi_fit():
    codes, where = line(60)
    bpm = np.random.default_rng(1).choice([60.0, 118.0, 122.0], size=60)   # all fit (x2, x1/2)
    mix = order_songs(codes, bpm, tolerance=0.05)
    assert sorted(mix.order.tolist()) == list(range(60))
    assert walks_the_line(mix.order, where), where[mix.order]
    assert mix.clashes == 0 and np.allclose(mix.steps, 1.0)


def test_starting_mid_line_2opt_still_finds_the_line():
    codes, where = line(40, seed=2)
    middle = int(np.flatnonzero(where == 17)[0])
    # greedy from the middle walks to one end and jumps back; 2-opt removes the jump
    mix = order_songs(codes, np.full(40, 120.0), tolerance=None, first=None, k=5)
    assert walks_the_line(mix.order, where)
    pinned = order_songs(codes, np.full(40, 120.0), tolerance=None, first=middle, k=5)
    assert pinned.order[0] == middle and sorted(pinned.order.tolist()) == list(range(40))


def test_tempo_clashes_are_avoided_before_distance():
    codes, where = line(40, seed=3)
    bpm = np.where(where % 2 == 0, 120.0, 97.0)       # neighbours on the line never fit
    free = order_songs(codes, bpm, tolerance=None)
    assert walks_the_line(free.order, where)
    mix = order_songs(codes, bpm, tolerance=0.08)
    assert mix.clashes == 1                            # one change of tempo, the least possible
    assert int((~tempo_fits(bpm[free.order[:-1]], bpm[free.order[1:]], 0.08)).sum()) == 39
    first_half = bpm[mix.order[:20]]
    assert len(set(first_half)) == 1                   # one tempo group, then the other
    assert mix.steps.sum() < 3 * free.steps.sum()      # still short hops within each group


def test_neighbour_lists_equal_brute_force_on_the_penalised_cost():
    rng = np.random.default_rng(4)
    codes = rng.normal(size=(300, 21))
    bpm = rng.uniform(90, 140, 300) * rng.choice([0.5, 1, 2], 300)
    bpm[:5] = np.nan                                   # unknown tempo fits everything
    penalty = 100.0
    got = neighbours(codes, np.log2(bpm), 0.06, penalty, k=6)
    d = np.sqrt(((codes[:, None] - codes[None]) ** 2).sum(-1))
    d += penalty * ~tempo_fits(bpm[:, None], bpm[None, :], 0.06)
    np.fill_diagonal(d, np.inf)
    want = np.argsort(d, axis=1, kind="stable")[:, :6]
    same = np.take_along_axis(d, got, 1) == pytest.approx(np.take_along_axis(d, want, 1),
                                                           rel=1e-4)
    assert same


def test_tiny_inputs():
    assert order_songs(np.zeros((0, 21)), []).order.tolist() == []
    assert order_songs(np.zeros((1, 21)), [120.0]).order.tolist() == [0]
    two = order_songs(np.eye(2, 21), [120.0, 90.0], tolerance=0.05)
    assert sorted(two.order.tolist()) == [0, 1] and two.clashes == 1


def test_m3u_is_extended_m3u():
    text = m3u([("/music/a/track6.opus", 61.6, "a/track6.opus (120 BPM)"),
                ("/music/b/track6.opus", None, "b/track6.opus (60 BPM)")])
    assert text.splitlines() == ["#EXTM3U", "#EXTINF:62,a/track6.opus (120 BPM)",
                                 "/music/a/track6.opus", "#EXTINF:-1,b/track6.opus (60 BPM)",
                                 "/music/b/track6.opus"]
