"""benchmarks/same_song_cv.py: the folds' roles and the pooled figures (the training runs are
the library's, tested elsewhere)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cv():
    spec = importlib.util.spec_from_file_location("same_song_cv", ROOT / "benchmarks" / "same_song_cv.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["same_song_cv"] = mod
    try:
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop("same_song_cv", None)


def test_every_song_is_scored_once_and_never_learned_from_in_its_fold(cv):
    n = 161
    held_count = np.zeros(n, int)
    for k in range(cv.FOLDS):
        held, pick, learn = cv.roles(n, k)
        # each song has exactly one role in a fold
        assert np.array_equal(held.astype(int) + pick + learn, np.ones(n, int))
        assert held.sum() in (n // cv.FOLDS, n // cv.FOLDS + 1)
        held_count += held
        # the same folds for every call (variants and seeds compare on the same songs)
        assert np.array_equal(cv.roles(n, k)[0], held)
    assert np.array_equal(held_count, np.ones(n, int))


def test_a_small_collection_learns_from_one_fold_with_the_same_held_songs(cv):
    n = 161
    for k in range(cv.FOLDS):
        held, pick, learn = cv.roles(n, k)
        h1, p1, l1 = cv.roles(n, k, learn_folds=1)
        assert np.array_equal(h1, held) and np.array_equal(p1, pick)
        assert not (l1 & (h1 | p1)).any() and (l1 <= learn).all()
        assert l1.sum() in (n // cv.FOLDS, n // cv.FOLDS + 1)
    with pytest.raises(ValueError, match="learn_folds"):
        cv.roles(n, 0, learn_folds=4)


def test_pooled_figures_count_every_half_of_every_fold(cv):
    ranks = {"code": [np.array([1, 1, 2, 4]), np.array([1, 3])]}
    f = cv.figures(ranks)["code"]
    assert f["halves"] == 6
    assert f["top1"] == pytest.approx(3 / 6)
    assert f["mrr"] == pytest.approx((1 + 1 + 1 / 2 + 1 / 4 + 1 + 1 / 3) / 6)
    assert f["top1_by_fold"] == [0.5, 0.5]


def test_groups_scores_each_feature_group_alone(cv):
    """A group that carries the song finds every other half; a group of noise finds few."""
    from songcoder.evaluate import librosa_baseline
    from songcoder.features import layout

    rng = np.random.default_rng(0)
    n = 60
    song = rng.normal(size=(2, n, layout.EXTENDED_DIM)).astype(np.float32)       # noise everywhere
    tg = layout.groups(layout.EXTENDED_DIM)["tempogram"]
    identity = rng.normal(size=(n, tg.stop - tg.start))
    song[:, :, tg] = identity + 0.05 * rng.normal(size=(2, n, tg.stop - tg.start))
    peer = rng.normal(size=(2, n, librosa_baseline.DIM)).astype(np.float32)
    h = {"song": song, "peer": peer, "ok": np.ones(n, bool)}
    res = cv.groups(h)
    assert res["songcoder_tempogram"]["top1"] == 1.0
    assert res["songcoder_tempogram"]["halves"] == 2 * n                        # every song once
    assert res["songcoder_chroma"]["top1"] < 0.3 and res["librosa_mfcc"]["top1"] < 0.3
    assert {"songcoder_rhythm", "songcoder_extra", "librosa_tempogram"} <= set(res)
