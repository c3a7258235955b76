import dataclasses

import numpy as np

from songcoder.config import EvaluateConfig
from songcoder.evaluate.collapse import code_std, collapse_check
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.retrieval import (mrr_halves, partner_ranks, precision_at_k,
                                          top1_halves, zscorer)
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
