import numpy as np
import pytest
import torch

from songcoder.rnn.generate import continue_audio
from songcoder.rnn.model import AudioRNN


@pytest.mark.parametrize("cell,output", [("lstm", "time_mse"), ("gru", "mulaw")])
def test_stepwise_state_matches_the_whole_sequence(cell, output):
    torch.manual_seed(0)
    m = AudioRNN(frame=16, cell=cell, layers=2, hidden=12, mlp_in=8, mlp_out=8, representation=output,
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
    assert AudioRNN(frame=16, hidden=8, representation="time_mse")(x)[0].shape == (3, 5, 16)
    assert AudioRNN(frame=16, hidden=8, representation="mulaw", embed=4)(x)[0].shape == (3, 5, 16, 256)


def test_continue_audio_length_range_and_determinism():
    torch.manual_seed(0)
    m = AudioRNN(frame=32, hidden=16, layers=1, representation="mulaw", embed=4, sample_rate=8000).eval()
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


def test_logmag_shapes_standardised_inputs_and_grain_windows_overlap_add_to_one():
    from songcoder.rnn.representations import grain_window
    m = AudioRNN(frame=16, hidden=8, representation="logmag", mixtures=3)
    audio = torch.randn(3, 200, 16) * 0.1
    m.rep.fit_data([audio.reshape(-1).numpy()])
    inp = m.encode_input(audio)                           # 200 frames -> 199 grains of 17 bins
    assert inp.shape == (3, 199, 17)
    assert abs(float(inp.mean())) < 0.2 and 0.8 < float(inp.std()) < 1.2
    assert m(inp)[0].shape == (3, 199, 3 * (2 * 17 + 1))
    w2 = grain_window(16) ** 2                            # analysis x synthesis
    torch.testing.assert_close(w2[:16] + w2[16:], torch.ones(16))


def _logmag_model(logmag: torch.Tensor, frame: int = 64) -> AudioRNN:
    """A logmag model whose prediction is `logmag` (almost surely) whatever it hears."""
    m = AudioRNN(frame=frame, hidden=8, layers=1, representation="logmag", sample_rate=8000,
                 mixtures=1).eval()
    with torch.no_grad():
        m.rep.head.weight.zero_()
        m.rep.head.bias.copy_(torch.cat([torch.zeros(1), logmag, torch.full_like(logmag, -5.0)]))
    return m


def test_mixture_draws_components_by_weight_and_noise_by_sigma():
    from songcoder.rnn.mixture import Mixture
    logits = torch.log(torch.tensor([0.25, 0.75]))
    mu = torch.tensor([[-10.0, -10.0], [10.0, 10.0]])
    log_sigma = torch.log(torch.tensor([[1.0, 1.0], [2.0, 2.0]]))
    z = torch.cat([logits, torch.cat([mu, log_sigma], -1).reshape(-1)]).expand(20000, -1)
    g = torch.Generator().manual_seed(0)
    y = Mixture(z, 2).sample(1.0, g)                      # (20000, 2)
    high = y[:, 0] > 0
    assert abs(float(high.float().mean()) - 0.75) < 0.02
    assert abs(float(y[high].std()) - 2.0) < 0.1 and abs(float(y[~high].std()) - 1.0) < 0.1
    assert abs(float(y[~high].mean()) + 10) < 0.1
    # temperature 0: the most likely component's mean, no noise
    torch.testing.assert_close(Mixture(z[:3], 2).sample(0.0, g), torch.full((3, 2), 10.0))
    # low temperature sharpens the choice: at 0.25, p(high) = 0.75^4 / (0.75^4 + 0.25^4) = 0.988
    assert float((Mixture(z, 2).sample(0.25, g)[:, 0] > 0).float().mean()) > 0.97


def test_logmag_seed_must_hold_one_grain():
    m = _logmag_model(torch.zeros(65))
    with pytest.raises(ValueError, match="seed too short"):
        continue_audio(m, np.zeros(100, np.float32), 0.1, 0.5, np.random.default_rng(0))


@pytest.mark.parametrize("temperature", [0.3, 1.0])
def test_logmag_generation_has_the_predicted_spectrum_not_a_white_one(temperature):
    from songcoder.evaluate.structure import spectral_flatness
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
