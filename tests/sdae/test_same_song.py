"""The same-song fine-tuning objective (sdae.same_song_weight): the song-grouped batch order,
the supervised InfoNCE term, and that fine-tuning with it pulls a song's codes together."""

import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch

from songcoder.sdae.data import DeviceBatches, song_spans
from songcoder.sdae.same_song import same_song_nce, song_groups
from songcoder.sdae.serving import encode
from songcoder.sdae.train import finetune, pretrain_layer


def test_song_groups_put_a_songs_rows_together_in_runs():
    songs = np.repeat(np.arange(6), [5, 2, 1, 4, 3, 7])                 # 22 rows, one lone row
    spans = song_spans(songs)
    order = song_groups(spans, 2, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(len(songs)))           # a permutation
    s = songs[order.numpy()]
    stretches = [(song, len(list(g))) for song, g in itertools.groupby(s)]
    # a song's rows come two (or three, where its odd last row joined a run) at a time; two
    # runs of one song may fall side by side; only the song with one row has a stretch of 1
    assert all(n >= 2 for song, n in stretches if song != 2) and (2, 1) in stretches
    assert max(sum(1 for song, _ in stretches if song == k) for k in range(6)) > 1
    again = song_groups(spans, 2, torch.Generator().manual_seed(0))
    other = song_groups(spans, 2, torch.Generator().manual_seed(1))
    assert torch.equal(order, again) and not torch.equal(order, other)


def test_same_song_nce_has_the_known_value():
    # two songs, codes identical within a song and orthogonal across: each row has one
    # positive at cosine 1 and two negatives at cosine 0
    z = torch.tensor([[2.0, 0.0], [1.0, 0.0], [0.0, 3.0], [0.0, 0.5]])
    t = 0.5
    loss = same_song_nce(z, torch.tensor([7, 7, 9, 9]), t)
    assert loss.item() == pytest.approx(math.log(1 + 2 * math.exp(-1 / t)), rel=1e-6)
    # the wrong pairing: the positive is at cosine 0, one negative at cosine 1
    wrong = same_song_nce(z, torch.tensor([7, 9, 7, 9]), t)
    assert wrong.item() == pytest.approx(math.log(2 + math.exp(1 / t)), rel=1e-6)
    alone = same_song_nce(z.requires_grad_(), torch.tensor([1, 2, 3, 4]), t)   # no positives
    assert alone.item() == 0.0 and alone.requires_grad


def test_grouped_batches_carry_songs_and_pair_every_row():
    x = torch.arange(24, dtype=torch.float32)[:, None].repeat(1, 3)
    songs = np.repeat(np.arange(12), 2)
    b = DeviceBatches(x, batch_size=8, noise=0.0, seed=0, spans=song_spans(songs), per_song=2)
    seen = []
    for clean, noisy, song in b:
        rows = clean[:, 0].long()
        assert torch.equal(song, rows - rows % 2)                          # the song's first row
        assert all((song == s).sum() == 2 for s in song)                  # its partner is in the batch
        seen += rows.tolist()
    assert sorted(seen) == list(range(24))
    val = DeviceBatches(x, batch_size=64, noise=0.0, seed=0, shuffle=False,
                        spans=song_spans(songs), per_song=2)
    (clean, _, song), = list(val)
    assert torch.equal(clean[:, 0].long(), torch.arange(24))


def test_finetuning_with_the_same_song_term_pulls_songs_together(songs, small_cfg, cpu):
    tr, va, _ = songs
    # arbitrary "songs" of 4 rows: only the term can make their codes agree
    labels = (np.arange(len(tr)) // 4, np.arange(len(va)) // 4)
    layers, a, b = [], tr, va
    for k in (1, 2, 3):
        _, layer = pretrain_layer(dataclasses.replace(small_cfg, pretrain_epochs=1), cpu, k, a, b)
        layers.append(layer)
        a, b = encode(layer, a), encode(layer, b)

    def train_nce(weight, songs=labels):
        cfg = dataclasses.replace(small_cfg, same_song_weight=weight, finetune_epochs=6)
        m, model = finetune(cfg, cpu, layers, tr, va, songs=songs)
        z = torch.from_numpy(encode(model, tr))
        return same_song_nce(z, torch.from_numpy(labels[0]), 0.1).item(), m

    plain, m0 = train_nce(0.0)
    pulled, m1 = train_nce(30.0)             # reconstruction is ~250 here, the term ~4
    assert pulled < plain - 0.5
    assert "same_song" not in str(m0["history"]) and np.isfinite(m1["val/loss"])
    # one row a song (the built-in corpus): nothing to pair, so the term changes nothing and
    # fine-tuning is the plain one (same batches, best epoch by reconstruction)
    alone = (np.arange(len(tr)), np.arange(len(va)))
    assert train_nce(30.0, alone)[0] == train_nce(0.0, alone)[0]
