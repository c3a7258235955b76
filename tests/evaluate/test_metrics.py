import numpy as np

from songcoder.evaluate.baselines import mean_predictor
from songcoder.pca import PCA
from songcoder.evaluate.metrics import (FEATURE_GROUPS, group_rel_errors, masked_rel_error,
                                        masking, rel_error)
from songcoder.sdae.synthetic import N_FEATURES, low_rank


def test_mean_predictor_scores_one_and_truth_scores_zero():
    x = low_rank(50, 30, 3, seed=1)
    mean = mean_predictor(x)
    assert rel_error(x, np.broadcast_to(mean, x.shape), mean) == 1.0
    assert rel_error(x, x, mean) == 0.0


def test_pca_recovers_a_low_rank_signal_and_is_fitted_on_train_only():
    data = low_rank(300, 40, 5, noise=1e-3, seed=2)
    tr, te = data[:200], data[200:]
    mean = mean_predictor(tr)
    errs = {k: rel_error(te, PCA.fit(tr, k).reconstruct(te), mean) for k in (1, 3, 5, 8)}
    assert errs[1] > errs[3] > errs[5] and errs[5] < 1e-4 and errs[8] <= errs[5]
    pca = PCA.fit(tr, 5)
    assert np.allclose(pca.components @ pca.components.T, np.eye(5), atol=1e-8)
    assert np.allclose(pca.mean, tr.mean(0), atol=1e-6)
    assert pca.truncated(3).k == 3


def test_groups_cover_the_song_vector_and_score_separately():
    assert sum(s.stop - s.start for s in FEATURE_GROUPS.values()) == N_FEATURES == 1482
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, N_FEATURES))
    x_hat = x.copy()
    x_hat[:, FEATURE_GROUPS["loudness"]] = 0.0                  # only loudness is wrong
    per = group_rel_errors(x, x_hat, np.zeros(N_FEATURES))
    assert per["loudness"] == 1.0 and per["rhythm_low"] == per["rhythm_mid"] == per["rhythm_high"] == 0.0


def test_masked_error_counts_only_the_zeroed_entries():
    x = low_rank(40, 25, 2, seed=3) + 5.0
    mean = mean_predictor(x)
    zeroed = masking(x.shape, 0.3, seed=0)
    assert abs(zeroed.mean() - 0.3) < 0.05
    # an "identity" model copies the zeros: as bad as predicting 0 on exactly the masked entries
    ident = masked_rel_error(x, lambda v: v, mean, zeroed)
    assert ident == rel_error(x, np.zeros_like(x), mean, zeroed) > 1
    # a model that fills masked entries perfectly but garbles the rest still scores 0
    oracle = masked_rel_error(x, lambda v: np.where(zeroed, x, 99.0), mean, zeroed)
    assert oracle == 0.0
