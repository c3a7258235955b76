import math

import pytest
import torch

from songcoder.rnn.losses import MulawNLL, SpectralLoss, TimeMSE
from songcoder.rnn.model import AudioRNN


def _tiny_problem():
    # two tones and a click train, cut into frames of 32: (B=2, T=12, 32)
    t = torch.arange(2 * 13 * 32) / 8000.0
    a = 0.5 * torch.sin(2 * math.pi * 440 * t) + 0.2 * torch.sin(2 * math.pi * 1250 * t)
    b = torch.zeros_like(t)
    b[::100] = 0.8
    return torch.stack([a, b]).view(2, 13 * 2, 32)[:, :13]


@pytest.mark.parametrize("loss", ["time_mse", "spectral", "mulaw"])
def test_each_loss_decreases_on_a_tiny_overfit_problem(loss):
    torch.manual_seed(0)
    x = _tiny_problem()
    model = AudioRNN(frame=32, hidden=32, layers=1, representation=loss,
                     embed=8)
    fn = model.rep.loss
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        out, _ = model(model.encode_input(x[:, :-1]))
        terms = fn(out, x[:, 1:])
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(float(terms["loss"].detach()))
    assert all(math.isfinite(v) for v in losses)
    assert min(losses[-5:]) < 0.6 * losses[0], (losses[0], losses[-5:])


def test_terms_are_named_and_zero_at_the_target():
    x = _tiny_problem()[:, 1:]
    assert set(TimeMSE()(x, x)) == {"loss", "time_mse"}
    spec = SpectralLoss()(x, x)
    assert set(spec) == {"loss", "log_mag", "phase"}
    assert float(spec["loss"]) < 1e-4
    # a phase error moves the phase term, not the magnitude term
    shifted = SpectralLoss()(torch.roll(x, 3, dims=-1), x)
    assert float(shifted["phase"]) > 0.05 and float(shifted["log_mag"]) < float(shifted["phase"])


def test_spectral_gradients_are_finite_at_silence():
    pred = torch.zeros(1, 2, 32, requires_grad=True)
    SpectralLoss()(pred, _tiny_problem()[:1, :2])["loss"].backward()
    assert torch.isfinite(pred.grad).all()


def test_mulaw_bits_are_nats_over_ln2():
    logits = torch.zeros(1, 2, 8, 256)                  # uniform over 256 levels: 8 bits
    terms = MulawNLL()(logits, torch.zeros(1, 2, 8))
    assert math.isclose(float(terms["bits_per_sample"]), 8.0, rel_tol=1e-5)


def _mixture_params(logits, mu, log_sigma):
    """(K,), (K, D), (K, D) -> one step's flat mixture output, as the model's head lays it out."""
    return torch.cat([logits, torch.cat([mu, log_sigma], -1).reshape(-1)])


def test_logmag_nll_is_the_mixture_density():
    from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal
    from songcoder.rnn.losses import LogMagLoss
    torch.manual_seed(0)
    K, D = 3, 5
    logits, mu, log_sigma = torch.randn(K), torch.randn(K, D), 0.3 * torch.randn(K, D)
    y = torch.randn(4, D)
    pred = _mixture_params(logits, mu, log_sigma).expand(4, -1)
    dist = MixtureSameFamily(Categorical(logits=logits),
                             Independent(Normal(mu, log_sigma.exp()), 1))
    terms = LogMagLoss(K)(pred[None], y[None])
    assert set(terms) == {"loss", "nll_per_bin", "log_mag"}
    torch.testing.assert_close(terms["loss"], -dist.log_prob(y).mean() / D)
    # log_mag is the squared error of the mixture's mean, what a regression would minimise
    torch.testing.assert_close(terms["log_mag"], ((dist.mean - y) ** 2).mean())


def test_logmag_learns_the_next_grain():
    from songcoder.rnn.losses import LogMagLoss
    x = _tiny_problem()                                   # (2, 13, 32)
    torch.manual_seed(0)
    model = AudioRNN(frame=32, hidden=32, layers=1, representation="logmag", mixtures=2)
    model.rep.fit_data([x.reshape(2, -1)[0].numpy(), x.reshape(2, -1)[1].numpy()])
    inp = model.encode_input(x)                           # (2, 12, 33): grains of frame pairs
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    nll, mse = [], []
    for _ in range(80):
        out, _ = model(inp[:, :-1])
        terms = LogMagLoss(2)(out, inp[:, 1:])
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        nll.append(float(terms["loss"].detach()))
        mse.append(float(terms["log_mag"]))
    assert min(nll[-5:]) < nll[0] - 0.5, (nll[0], nll[-5:])       # nats per bin
    assert min(mse[-5:]) < 0.6 * mse[0], (mse[0], mse[-5:])
