import dataclasses

import numpy as np

from songcoder.config import EvaluateConfig
from songcoder.evaluate.collapse import code_std, collapse_check
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.retrieval import (halves_hits, mrr_halves, partner_ranks,
                                          precision_at_k, song_bootstrap, top1_halves, zscorer)
from songcoder.sdae.serving import encode, reconstruct

from .conftest import train_stack


def test_top1_halves_finds_the_other_half():
    rng = np.random.default_rng(0)
    songs = rng.normal(size=(30, 8))
    a = songs + 0.01 * rng.normal(size=songs.shape)
    b = songs + 0.01 * rng.normal(size=songs.shape)
    assert top1_halves(a, b) == 1.0
    assert top1_halves(a, rng.normal(size=songs.shape)) < 0.3


def test_partner_ranks_and_mrr_by_hand():
    # songs 0 and 1 sit close together on a line, song 2 far away
    a = np.array([[0.0], [1.0], [10.0]])
    b = np.array([[0.4], [1.3], [10.5]])
    # halves: a0=0, a1=1, a2=10, b0=.4, b1=1.3, b2=10.5
    # a0: nearest b0 (.4) -> rank 1; a1: b1 (.3) -> 1; a2: b2 -> 1;
    # b0: a0 .4 vs a1 .6 -> 1; b1: a1 .3 -> 1; b2 -> 1
    assert partner_ranks(a, b).tolist() == [1, 1, 1, 1, 1, 1]
    b = np.array([[0.9], [0.2], [10.5]])   # b0 near a1, b1 near a0: the halves are swapped
    # a0=0: b1 .2 (1st), b0 .9 (2nd) -> 2; a1=1: b0 .1 (1st), b1 .8 (2nd) -> 2
    # b0=.9: a1 .1, b1 .7, a0 .9 -> 3; b1=.2: a0 .2, b0 .7, a1 .8 -> 3
    assert partner_ranks(a, b).tolist() == [2, 2, 1, 3, 3, 1]
    assert top1_halves(a, b) == 2 / 6
    assert mrr_halves(a, b) == (1 / 2 + 1 / 2 + 1 + 1 / 3 + 1 / 3 + 1) / 6


def test_halves_hits_count_each_songs_found_halves():
    a = np.array([[0.0], [1.0], [10.0]])
    b = np.array([[0.9], [0.2], [10.5]])                 # the by-hand case above: ranks 2 2 1 / 3 3 1
    assert halves_hits(a, b).tolist() == [0, 0, 2]
    assert halves_hits(a, b).mean() / 2 == top1_halves(a, b)


def test_song_bootstrap_intervals_hold_the_truth_and_see_a_real_gap():
    rng = np.random.default_rng(4)
    n = 40
    good = rng.choice([0, 1, 2], n, p=[0.05, 0.15, 0.8])  # top-1 about 0.88
    worse = np.where(rng.random(n) < 0.35, 0, good)        # the same songs, a third of them lost
    ci = song_bootstrap({"code": good, "peer": worse, "same": good}, 2000, seed=0)
    for k, hits in (("code", good), ("peer", worse)):
        assert ci[k]["lo"] < hits.mean() / 2 < ci[k]["hi"]
        assert ci[k]["hi"] - ci[k]["lo"] < 0.35            # 40 songs: about +-0.1
    assert ci["code_minus_peer"]["lo"] > 0 and ci["code_minus_peer"]["above"] > 0.99
    assert ci["code_minus_same"] == {"lo": 0.0, "hi": 0.0, "above": 0.0}   # ties are not wins
    # the paired interval is narrower than the gap the two separate intervals allow
    d = ci["code_minus_peer"]
    assert d["hi"] - d["lo"] < (ci["code"]["hi"] - ci["peer"]["lo"]) - (ci["code"]["lo"] - ci["peer"]["hi"])
    assert song_bootstrap({"code": good}, 2000, seed=0) == {"code": ci["code"]}   # same seed, same draws
    assert song_bootstrap({"code": good[:1]}, 2000, seed=0) == {}                 # one song: no interval


def test_zscorer_uses_the_training_rows_statistics():
    train = np.array([[0.0, 5.0], [2.0, 5.0]])      # second column constant
    z = zscorer(train)
    assert np.allclose(z(np.array([[1.0, 5.0], [3.0, 7.0]])), [[0.0, 0.0], [2.0, 2.0]])


def test_precision_at_k_on_clusters():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 15)
    centres = rng.normal(size=(4, 5)) * 10
    z = centres[labels] + rng.normal(size=(60, 5))
    assert precision_at_k(z, labels, 10) == 1.0
    shuffled = rng.permutation(labels)
    assert precision_at_k(z, shuffled, 10) < 0.5
    assert precision_at_k(z[:3], labels[:3], 10) == 1.0        # k capped at N - 1


def test_constant_codes_or_mean_decoding_are_collapsed():
    cfg = EvaluateConfig()
    rng = np.random.default_rng(2)
    assert collapse_check(0.99, rng.normal(size=(20, 4)), cfg)["collapsed"]
    assert collapse_check(0.4, np.full((20, 4), 0.5), cfg)["collapsed"]
    assert not collapse_check(0.4, rng.normal(size=(20, 4)), cfg)["collapsed"]
    assert collapse_check(float("nan"), rng.normal(size=(20, 4)), cfg)["collapsed"]
    assert code_std(np.full((5, 3), 2.0)) == 0.0


def test_rmsprop_with_a_large_learning_rate_collapses(labelled_songs, small_cfg, trained):
    tr, va, te, _, _ = labelled_songs
    cfg = EvaluateConfig()
    mean = tr.mean(0)
    sdae = dataclasses.replace(small_cfg, optimizer="rmsprop", lr=0.1, finetune_lr=0.1,
                               activation="sigmoid", keep_best=False)   # the last, collapsed epoch
    models = {"rmsprop": train_stack(sdae, tr, va)[1], "adam": trained[1]}
    verdict = {name: collapse_check(rel_error(te, reconstruct(m, te), mean), encode(m, te), cfg)
               for name, m in models.items()}
    assert verdict["rmsprop"]["collapsed"], verdict
    assert not verdict["adam"]["collapsed"], verdict
