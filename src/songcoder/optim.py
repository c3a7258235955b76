"""Optimizers by name for every trained model (SDAE and RNN), and `AdamCentered` (seed 000's "adam that calculates the variance correctly").

Adam divides its momentum by the root of v = EMA(g^2), the *uncentred* second moment:
v = Var[g] + E[g]^2. When a gradient has a steady mean (seed 000's inputs were not
mean-normalised, so many weights see a persistent drift) v is dominated by E[g]^2, the ratio
m/sqrt(v) is about +-1 whatever the noise, and Adam degenerates into sign descent.
`AdamCentered` divides by the gradient's *variance* instead, measured as the spread of g about
its running mean m (the AdaBelief form, Zhuang et al., NeurIPS 2020, which is always >= 0,
unlike EMA(g^2) - EMA(g)^2 which cancels catastrophically):

    m = b1 m + (1 - b1) g
    s = b2 s + (1 - b2) (g - m)^2 + eps
    theta -= lr * (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)

so the step is a signal-to-noise ratio: large where the gradient is consistent, small where it
is mostly noise (e.g. the masking noise of a denoising autoencoder).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim import SGD, Adam, LBFGS, Optimizer, RMSprop

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adam_centered", "lbfgs")


class AdamCentered(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        if lr <= 0 or not 0 <= betas[0] < 1 or not 0 <= betas[1] < 1 or eps <= 0:
            raise ValueError(f"AdamCentered: bad lr={lr}, betas={betas} or eps={eps}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["s"] = torch.zeros_like(p)
                state["step"] += 1
                t, m, s = state["step"], state["m"], state["s"]
                m.lerp_(g, 1 - b1)                                          # EMA of g
                dev = g - m
                s.mul_(b2).addcmul_(dev, dev, value=1 - b2).add_(group["eps"])  # EMA of (g - m)^2
                denom = (s / (1 - b2 ** t)).sqrt_().add_(group["eps"])
                p.addcdiv_(m, denom, value=-group["lr"] / (1 - b1 ** t))
        return loss


def build_optimizer(name: str, params: Iterable, *, lr: float, momentum: float = 0.9,
                    decay: float = 0.0) -> Optimizer:
    """`lbfgs` takes `lr` as its first step length (1.0 is the usual choice) and needs a closure;
    Lightning's automatic optimisation supplies one, re-running the step on the same batch.

    `decay` is decoupled weight decay (Loshchilov & Hutter 2019): every step multiplies each
    weight matrix by (1 - lr * decay), independent of the gradient scale, so it means the same
    under Adam's per-parameter step sizes (AdamW) as under SGD. Biases are not decayed.
    """
    params = list(params)
    if decay > 0:
        if name == "lbfgs":
            raise ValueError("optimizer lbfgs: decoupled weight decay needs a first-order optimizer")
        params = [p for p in params if p.dim() > 1], [p for p in params if p.dim() <= 1]
        params = [{"params": params[0]}, {"params": params[1]}]
    opt = _build(name, params, lr=lr, momentum=momentum)
    if decay > 0:
        opt.param_groups[0]["decoupled_decay"] = decay
        opt.register_step_pre_hook(_decoupled_decay)
    return opt


@torch.no_grad()
def _decoupled_decay(opt: Optimizer, args, kwargs) -> None:
    for group in opt.param_groups:
        d = group.get("decoupled_decay", 0.0)
        if d > 0:
            for p in group["params"]:
                if p.grad is not None:
                    p.mul_(1 - group["lr"] * d)


def _build(name: str, params: list, *, lr: float, momentum: float) -> Optimizer:
    if name == "sgd":
        return SGD(params, lr=lr)
    if name == "momentum":
        return SGD(params, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return RMSprop(params, lr=lr)
    if name == "adam":
        return Adam(params, lr=lr)
    if name == "adam_centered":
        return AdamCentered(params, lr=lr)
    if name == "lbfgs":
        return LBFGS(params, lr=lr, max_iter=20, history_size=10, line_search_fn="strong_wolfe")
    raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")


