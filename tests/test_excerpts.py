"""Excerpt rows (prepare) and the same-song swap corruption (sdae.excerpt_swap)."""

import numpy as np
import pytest
import torch

from songcoder.prepare import excerpt_starts
from songcoder.sdae.data import DeviceBatches, song_spans, swap_rows


def test_excerpt_starts_spread_over_the_song():
    sr = 100
    assert excerpt_starts(40 * sr, sr, 30.0, 8) == []             # under 1.5 excerpts: the song
    assert excerpt_starts(60 * sr, sr, 30.0, 8) == [0, 30 * sr]    # two, back to back
    starts = excerpt_starts(600 * sr, sr, 30.0, 8)                 # 20 would fit, 8 are kept
    assert len(starts) == 8 and starts[0] == 0 and starts[-1] == 570 * sr
    assert np.all(np.diff(starts) > 30 * sr)                        # spread, not overlapping
    assert excerpt_starts(600 * sr, sr, 30.0, 1) == []


def test_song_spans_and_contiguity():
    start, size = song_spans(np.array([0, 0, 0, 1, 2, 2]))
    assert start.tolist() == [0, 0, 0, 3, 4, 4] and size.tolist() == [3, 3, 3, 1, 2, 2]
    with pytest.raises(ValueError, match="contiguous"):
        song_spans(np.array([0, 1, 0]))


def test_swap_takes_another_row_of_the_same_song():
    songs = np.repeat(np.arange(50), 4)
    songs = np.concatenate([songs, [50]])                            # one song with one row
    spans = song_spans(songs)
    idx = torch.arange(len(songs))
    gen = torch.Generator().manual_seed(0)
    out = swap_rows(idx, spans, 1.0, gen)
    assert (torch.as_tensor(songs)[out] == torch.as_tensor(songs)).all()   # same song
    assert (out[:-1] != idx[:-1]).all() and out[-1] == idx[-1]      # another row, if there is one
    # every other row of a song is drawn, evenly
    draws = torch.stack([swap_rows(idx, spans, 1.0, gen) for _ in range(600)])
    counts = torch.bincount(draws[:, 0], minlength=4)[:4]
    assert counts[0] == 0 and counts[1:].min() > 150
    half = swap_rows(idx, spans, 0.5, gen)
    assert 0.35 < (half != idx).float().mean() < 0.65
    assert swap_rows(idx, spans, 0.0, gen) is idx


def test_batches_with_swap_keep_the_clean_target():
    x = torch.arange(12, dtype=torch.float32).repeat_interleave(3).reshape(12, 3)   # row i = i
    songs = np.repeat(np.arange(6), 2)
    b = DeviceBatches(x, batch_size=12, noise=0.0, seed=0, swap=1.0, spans=song_spans(songs))
    (clean, noisy), = list(b)
    assert sorted(clean[:, 0].tolist()) == list(range(12))
    partner = noisy[:, 0].long()
    assert (partner // 2 == clean[:, 0].long() // 2).all() and (partner != clean[:, 0].long()).all()
