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


def test_logmag_output_shape_and_grain_windows_overlap_add_to_one():
    from songcoder.rnn.model import grain_window
    assert AudioRNN(frame=16, hidden=8, output="logmag")(torch.zeros(3, 5, 16))[0].shape == (3, 5, 17)
    w2 = grain_window(16) ** 2                            # analysis x synthesis
    torch.testing.assert_close(w2[:16] + w2[16:], torch.ones(16))


def _logmag_model(logmag: torch.Tensor, frame: int = 64) -> AudioRNN:
    """A logmag model whose prediction is `logmag` whatever it hears."""
    m = AudioRNN(frame=frame, hidden=8, layers=1, output="logmag", sample_rate=8000).eval()
    with torch.no_grad():
        m.head.weight.zero_()
        m.head.bias.copy_(logmag)
    return m


@pytest.mark.parametrize("temperature", [0.3, 1.0])
def test_logmag_generation_has_the_predicted_spectrum_not_a_white_one(temperature):
    from songcoder.rnn.structure import spectral_flatness
    seed = (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    peak = torch.full((65,), -6.0)
    peak[16] = 1.0                                        # bin 16 of 128: 1000 Hz at 8 kHz
    tone = continue_audio(_logmag_model(peak), seed, 2.0, temperature, np.random.default_rng(0))
    flat = continue_audio(_logmag_model(torch.zeros(65)), seed, 2.0, temperature,
                          np.random.default_rng(0))
    spectrum = np.abs(np.fft.rfft(tone))
    assert abs(np.argmax(spectrum) / len(tone) * 8000 - 1000) < 40
    assert spectral_flatness(tone) < 0.1 < spectral_flatness(flat)
    a = continue_audio(_logmag_model(peak), seed, 0.5, temperature, np.random.default_rng(1))
    np.testing.assert_array_equal(a, continue_audio(_logmag_model(peak), seed, 0.5, temperature,
                                                    np.random.default_rng(1)))
