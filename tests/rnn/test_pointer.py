"""The `pointer` representation: shapes, learning, and the sampler's beat and no-loop rules."""

import numpy as np
import pytest
import soundfile as sf
import torch

from songcoder.config import GenerateConfig, PrepareConfig
from songcoder.evaluate.continuation import copy_score
from songcoder.features.extract import song_features, song_vector_kwargs
from songcoder.rnn import representations
from songcoder.rnn.generate import continue_audio, generate_all
from songcoder.rnn.model import AudioRNN

SR, FRAME = 8000, 64


def _model(**kw) -> AudioRNN:
    torch.manual_seed(0)
    return AudioRNN(frame=FRAME, hidden=16, layers=1, representation="pointer", sample_rate=SR,
                    **kw)


def _song(seconds: float, bpm: float = 120.0) -> np.ndarray:
    """Clicks at `bpm` over a chord that changes every beat (three chords, then again: no
    two bars of a 4 s seed are the same, so a jump by a bar is not a replay)."""
    t = np.arange(int(seconds * SR)) / SR
    beat = np.floor(t * bpm / 60)
    root = 220 * 2 ** (np.array([0, 5, 7])[(beat % 3).astype(int)] / 12)
    x = 0.2 * (np.sin(2 * np.pi * root * t) + np.sin(2 * np.pi * 1.5 * root * t))
    x += 0.6 * (np.mod(t, 60 / bpm) < 0.01) * np.sin(2 * np.pi * 1500 * t)
    return x.astype(np.float32)


def test_queries_are_unit_vectors_and_every_window_grain_is_scored():
    m = _model()
    x = torch.from_numpy(_song(1.0)[: 11 * FRAME]).view(1, 11, FRAME)
    inp, grains, scored = m.rep.teacher_pairs(x)
    assert inp.shape == grains.shape == (1, 10, FRAME + 1) and scored == 9
    q, _ = m(inp)
    torch.testing.assert_close(q.norm(dim=-1), torch.ones(1, 10))
    assert m.rep.scores(q[:, :scored], grains).shape == (1, 9, 10)


def test_a_few_steps_learn_which_grain_comes_next():
    m = _model()
    song = _song(1.0)
    m.rep.fit_data([song])
    n = len(song) // FRAME
    x = torch.from_numpy(song[: n * FRAME]).view(1, n, FRAME)
    opt = torch.optim.Adam(m.parameters(), 1e-2)
    losses = []
    for _ in range(25):
        inp, grains, scored = m.rep.teacher_pairs(x)
        terms = m.rep.loss(m.predict(m.features(inp)[0][:, :scored]), grains)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(terms["loss"].item())
    assert losses[-1] < 0.7 * losses[0]
    assert float(terms["top1"]) > 1 / n * 5          # far better than chance


def test_allowed_grains_follow_the_seed_for_max_run_then_jump_whole_bars():
    rep = _model().rep
    period, memory = 7.5, 100                               # a bar is 4 x 7.5 = 30 grains
    assert rep.allowed(40, run=2, max_run=3, period=period, carry=0.25, memory=memory) == \
        ([40], [0.25])                                     # in order until max_run
    picks, errors = rep.allowed(40, run=3, max_run=3, period=period, carry=0.0, memory=memory)
    assert sorted(picks) == [10, 70]                       # every whole bar that fits
    picks, errors = rep.allowed(40, run=3, max_run=3, period=7.6, carry=0.25, memory=memory)
    for j, e in zip(picks, errors):
        k = round((j - 40) / 30.4)                          # whole bars away, error carried
        assert k != 0 and abs((j - 40) + e - (k * 30.4 + 0.25)) < 1e-9 and abs(e) <= 0.5
    # no whole bar fits yet (20 - 30 < 0, 20 + 30 >= 45): the run plays on in order
    assert rep.allowed(20, run=3, max_run=3, period=period, carry=0.0, memory=45)[0] == [20]
    assert rep.allowed(35, run=5, max_run=3, period=period, carry=0.0, memory=45)[0] == [5]
    # no replay: a jump's run (3 grains) may not touch a grain played in the last two runs
    picks, _ = rep.allowed(40, run=3, max_run=3, period=period, carry=0.0, memory=memory,
                           recent=frozenset({68, 69, 70}))
    assert picks == [10]
    picks, _ = rep.allowed(40, run=3, max_run=3, period=period, carry=0.0, memory=memory,
                           recent=frozenset(range(memory)))
    assert sorted(picks) == [10, 70]                       # all replay: no grain is refused
    # a seed shorter than a bar: whole beats
    assert sorted(rep.allowed(12, run=3, max_run=3, period=period, carry=0.0, memory=25)[0]) \
        == [4, 20]
    picks, _ = rep.allowed(memory, run=0, max_run=3, period=period, carry=0.0, memory=memory)
    assert picks and all(0 <= j < memory for j in picks)  # past the seed's end: jumps only


def test_continuation_keeps_the_tempo_and_is_not_the_seed_replayed():
    m = _model(max_run_seconds=0.25).eval()
    song = _song(8.0)
    m.rep.fit_data([song])
    seed = song[: 4 * SR]
    cont = continue_audio(m, seed, 4.0, 1.0, np.random.default_rng(0))
    # overlap-added grains of the seed (windows summing to 1): never louder than the seed
    assert cont.shape == (4 * SR,) and np.abs(cont).max() <= np.abs(seed).max() + 1e-6
    bpm = song_features(cont, SR).tempo_bpm
    assert any(abs(bpm / (120 * f) - 1) <= 0.04 for f in (1, 2, 0.5)), bpm
    assert copy_score(seed, cont, SR) < 0.9
    np.testing.assert_array_equal(cont, continue_audio(m, seed, 4.0, 1.0, np.random.default_rng(0)))
    # with no jump forced after the first, the untrained model plays long runs of the seed
    long = continue_audio(_model(max_run_seconds=60.0).eval(), seed, 4.0, 0.0,
                          np.random.default_rng(0))
    assert copy_score(seed, long, SR) > copy_score(seed, cont, SR)


def test_the_seed_tempo_is_found_in_prepare_s_bpm_range(tmp_path, monkeypatch):
    """The sampler's beat is the judge's: prepare's min_bpm / max_bpm reach it from generate_all."""
    rep = _model().rep
    seed = torch.from_numpy(_song(4.0)).view(1, -1, FRAME)
    fast = song_vector_kwargs(PrepareConfig(min_bpm=130.0, max_bpm=260.0))
    # 120 BPM is 62.5 frames of 64 samples at 8 kHz; only 240 BPM lies in 130-260
    assert rep.beat_frames(seed, song_vector_kwargs(None)) == pytest.approx(62.5, rel=0.04)
    assert rep.beat_frames(seed, fast) == pytest.approx(31.25, rel=0.04)
    seen, real = [], representations.song_features
    monkeypatch.setattr(representations, "song_features",
                        lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    sf.write(tmp_path / "song.wav", _song(6.0), SR)
    generate_all(_model().eval(), GenerateConfig(count=1, seed_seconds=4.0, seconds=1.0),
                 [str(tmp_path / "song.wav")], tmp_path / "out", feature_kw=fast)
    assert seen and all((kw["min_bpm"], kw["max_bpm"]) == (130.0, 260.0) for kw in seen)


def test_scoring_a_subset_of_steps_is_refused_with_the_key_to_change():
    m = _model()
    x = torch.from_numpy(_song(0.5)[: 9 * FRAME]).view(1, 9, FRAME)
    inp, grains, scored = m.rep.teacher_pairs(x)
    q = m.predict(m.features(inp)[0][:, :scored])
    with pytest.raises(ValueError, match="head_fraction"):
        m.rep.loss(q[:, ::2], grains[:, ::2])
