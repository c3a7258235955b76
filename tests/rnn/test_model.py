import numpy as np
import pytest
import torch

from songcoder.rnn.generate import continue_audio
from songcoder.rnn.model import AudioRNN


@pytest.mark.parametrize("cell,output", [("lstm", "wave"), ("gru", "mulaw")])
def test_stepwise_state_matches_the_whole_sequence(cell, output):
    torch.manual_seed(0)
    m = AudioRNN(frame=16, cell=cell, layers=2, hidden=12, mlp_in=8, mlp_out=8, output=output,
                 embed=4).eval()
    x = torch.randn(2, 7, 16) * 0.3
    full, _ = m(x)
    state, steps = None, []
    for t in range(7):                                    # one frame per call, state carried
        out, state = m(x[:, t:t + 1], state)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps, 1), full, rtol=1e-5, atol=1e-5)


def test_output_shapes():
    x = torch.zeros(3, 5, 16)
    assert AudioRNN(frame=16, hidden=8, output="wave")(x)[0].shape == (3, 5, 16)
    assert AudioRNN(frame=16, hidden=8, output="mulaw", embed=4)(x)[0].shape == (3, 5, 16, 256)


def test_continue_audio_length_range_and_determinism():
    torch.manual_seed(0)
    m = AudioRNN(frame=32, hidden=16, layers=1, output="mulaw", embed=4, sample_rate=8000).eval()
    seed = (0.3 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    a = continue_audio(m, seed, 0.5, 1.0, np.random.default_rng(1))
    b = continue_audio(m, seed, 0.5, 1.0, np.random.default_rng(1))
    c = continue_audio(m, seed, 0.5, 1.0, np.random.default_rng(2))
    assert a.shape == (4000,) and np.abs(a).max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # temperature 0 is the argmax: no randomness left
    np.testing.assert_array_equal(continue_audio(m, seed, 0.2, 0.0, np.random.default_rng(1)),
                                  continue_audio(m, seed, 0.2, 0.0, np.random.default_rng(2)))
