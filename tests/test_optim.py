import pytest
import torch

from songcoder.optim import OPTIMIZERS, AdamCentered, build_optimizer


def _quadratic():
    # f(x) = 0.5 (x - c)^T A (x - c), A SPD and badly conditioned; minimum 0 at c.
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    a = q @ torch.diag(torch.tensor([10.0, 5.0, 2.0, 1.0, 0.5, 0.2], dtype=torch.float64)) @ q.t()
    c = torch.randn(6, generator=g, dtype=torch.float64)
    x = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    return x, lambda: 0.5 * (x - c) @ a @ (x - c), c


@pytest.mark.parametrize("name,lr,steps", [("adam_centered", 0.05, 1500), ("lbfgs", 1.0, 5),
                                           ("adam", 0.05, 1500), ("momentum", 0.02, 1500)])
def test_minimises_a_small_quadratic(name, lr, steps):
    x, f, c = _quadratic()
    start = float(f().detach())
    opt = build_optimizer(name, [x], lr=lr, momentum=0.9)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss
    for _ in range(steps):
        opt.step(closure)
    assert float(f()) < 1e-6 * start
    assert torch.allclose(x.detach(), c, atol=1e-2)


def test_adam_centered_divides_by_the_spread_not_the_raw_second_moment():
    # Gradient with a steady mean (1.0) and little noise (0.1): Adam's m/sqrt(E[g^2]) is ~1, so
    # it moves ~lr per step; the centred form divides by the spread (~0.1) and moves much further.
    g = torch.Generator().manual_seed(0)
    grads = 1.0 + 0.1 * torch.randn(300, generator=g)
    moved = {}
    for name in ("adam", "adam_centered"):
        p = torch.zeros(1, requires_grad=True)
        opt = build_optimizer(name, [p], lr=1e-3)
        for gi in grads:
            p.grad = gi.reshape(1).clone()
            opt.step()
        moved[name] = -float(p)
    assert 0.25 < moved["adam"] < 0.35                   # ~ lr * steps
    assert moved["adam_centered"] > 3 * moved["adam"]
    assert isinstance(opt, AdamCentered)


def test_every_configured_name_builds():
    for name in OPTIMIZERS:
        assert build_optimizer(name, [torch.zeros(2, requires_grad=True)], lr=0.1) is not None
    with pytest.raises(ValueError, match="optimizer"):
        build_optimizer("adagrad", [torch.zeros(1, requires_grad=True)], lr=0.1)


def test_decoupled_decay_shrinks_weight_matrices_not_biases():
    import torch

    from songcoder.optim import build_optimizer
    w = torch.nn.Parameter(torch.ones(3, 4))
    b = torch.nn.Parameter(torch.ones(3))
    opt = build_optimizer("sgd", [w, b], lr=0.1, decay=0.5)
    w.grad, b.grad = torch.zeros_like(w), torch.zeros_like(b)             # no gradient step
    opt.step()
    assert torch.allclose(w, torch.full_like(w, 1 - 0.1 * 0.5)) and torch.equal(b, torch.ones(3))
