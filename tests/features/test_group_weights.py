"""`prepare.group_weights`: every feature family weighs alike after z-scoring (features/norm.py)."""

import numpy as np
import pytest

from songcoder.config import ConfigError, PrepareConfig
from songcoder.features import layout
from songcoder.features.norm import Norm, group_weights


def test_equal_weights_give_each_family_the_same_share_and_keep_the_total():
    d = layout.EXTENDED_DIM
    w = group_weights(d, "equal")
    fam = layout.families(d)
    assert list(fam) == ["seed", "timbre", "contrast", "chroma"]
    shares = [float(np.sum(w[s] ** 2)) for s in fam.values()]
    np.testing.assert_allclose(shares, d / len(fam))            # same expected square each
    assert np.isclose(np.sum(w ** 2), d)                         # the row's total is kept
    assert w[layout.GROUPS["loudness"]][0] < 1 < w[fam["contrast"]][0]   # 1482 down, 6 up
    # a seed-only vector is one family: nothing changes; "none" never changes anything
    assert np.array_equal(group_weights(layout.DIM, "equal"), np.ones(layout.DIM))
    assert np.array_equal(group_weights(d, "none"), np.ones(d))
    with pytest.raises(ValueError, match="group_weights"):
        group_weights(d, "loud")


def test_weighted_norm_scales_the_z_scores_and_plain_zscore_undoes_it():
    rng = np.random.default_rng(0)
    d = layout.EXTENDED_DIM
    train = rng.normal(3.0, 2.0, (50, d))
    mean, std = train.mean(0), train.std(0)
    w = group_weights(d, "equal")
    weighted, plain = Norm.of(mean, std, weights=w), Norm.of(mean, std)
    x = rng.normal(3.0, 2.0, (4, d))
    np.testing.assert_allclose(weighted.apply(x), plain.apply(x) * w, rtol=1e-5, atol=1e-5)
    m, s = weighted.plain_zscore()
    np.testing.assert_allclose((weighted.apply(x) - m) / s, plain.apply(x), rtol=1e-5, atol=1e-5)
    assert plain.plain_zscore() is None                          # already plain
    raw = Norm.of(mean, std, z_score=False)
    assert np.array_equal(raw.plain_zscore()[1], std)            # raw rows: the train statistics
    with pytest.raises(ValueError, match="z-scored"):
        Norm.of(mean, std, z_score=False, weights=w)


def test_weights_without_z_scoring_is_a_config_error():
    with pytest.raises(ConfigError, match="prepare.group_weights"):
        PrepareConfig(normalise=False, group_weights="equal").check()
    PrepareConfig(group_weights="equal").check()
