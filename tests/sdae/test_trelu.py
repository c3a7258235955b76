import pytest
import torch

from songcoder.sdae.trelu import trelu


def test_forward_clips_to_unit_interval():
    z = torch.tensor([-2.0, -0.1, 0.0, 0.4, 1.0, 1.3, 5.0])
    assert torch.equal(trelu(z), z.clamp(0, 1))


def test_gradcheck_inside_the_active_range():
    # Away from the saturation the custom derivative is the true one: gradcheck must pass.
    z = (torch.rand(64, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    assert torch.autograd.gradcheck(trelu, (z,), eps=1e-6, atol=1e-8)


def _grad(z: float, g: float) -> float:
    x = torch.tensor([z], dtype=torch.float64, requires_grad=True)
    trelu(x).backward(torch.tensor([g], dtype=torch.float64))
    return float(x.grad)


def test_saturated_units_are_pushed_back_toward_the_range_only():
    # z < 0: a negative gradient (descent raises z) passes, a positive one is blocked.
    assert _grad(-0.5, -0.2) == -0.2
    assert _grad(-0.5, 0.2) == 0.0
    # z > 1: a positive gradient (descent lowers z) passes, a negative one is blocked.
    assert _grad(1.5, 0.3) == 0.3
    assert _grad(1.5, -0.3) == 0.0
    # clipped to |z| so a unit step cannot overshoot zero
    assert _grad(-0.1, -3.0) == -0.1
    assert _grad(2.0, 5.0) == 2.0
    # inside: ordinary derivative 1
    assert _grad(0.5, -7.0) == -7.0


def test_saturated_unit_is_pulled_to_the_edge_of_the_range():
    # A unit stuck below zero whose output should be 0.6: plain clamp never moves it; TReLU pulls
    # its pre-activation up to (never past) zero, where the ordinary gradient takes over.
    for fn in (lambda z: z.clamp(0, 1), trelu):
        z = torch.tensor([-0.8], requires_grad=True)
        opt = torch.optim.SGD([z], lr=0.5)
        for _ in range(40):
            opt.zero_grad()
            (0.5 * (fn(z) - 0.6) ** 2).sum().backward()
            opt.step()
        if fn is trelu:
            assert -1e-6 < float(z) <= 0.0
        else:
            assert float(z) == pytest.approx(-0.8)
