"""TReLU min(1, max(0, z)) with the rank-ordered autoencoder's push-back derivative (seed 003).

Bertens (2016) lets the error through a saturated unit only when the gradient step would move
the pre-activation back toward the active range, i.e. when the step -g points toward zero
(sign(g) == sign(z) for z < 0 or z > 1), and clips the passed gradient to |z| so a step of
learning rate 1 cannot overshoot zero. Inside [0, 1] the derivative is the ordinary 1.
Without the push-back, a unit that saturates (z < 0 like a dead ReLU, or z > 1) never recovers.
"""

from __future__ import annotations

import torch


class TReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(z)
        return z.clamp(0.0, 1.0)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        inside = (z >= 0) & (z <= 1)
        toward_zero = torch.sign(g) == torch.sign(z)          # descent step -g moves z toward 0
        push = torch.sign(g) * torch.minimum(g.abs(), z.abs())
        return torch.where(inside, g, torch.where(toward_zero, push, torch.zeros_like(g)))


def trelu(z: torch.Tensor) -> torch.Tensor:
    return TReLUFunction.apply(z)
