"""mu-law companding and 256-level quantisation (ITU-T G.711 curve, as in WaveNet/SampleRNN).

Works on torch tensors; numpy callers wrap with torch.from_numpy. Quantised levels are
integers 0..levels-1; decoding returns the centre of each level.
"""

from __future__ import annotations

import math

import torch

MU = 255


def compress(x: torch.Tensor, mu: int = MU) -> torch.Tensor:
    """[-1, 1] -> [-1, 1], log-like: small amplitudes get most of the resolution."""
    x = x.clamp(-1.0, 1.0)
    return torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)


def expand(y: torch.Tensor, mu: int = MU) -> torch.Tensor:
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def quantize(x: torch.Tensor, mu: int = MU) -> torch.Tensor:
    """Audio in [-1, 1] -> int64 levels 0..mu."""
    y = compress(x, mu)
    return ((y + 1) / 2 * mu + 0.5).floor().clamp(0, mu).long()


def dequantize(q: torch.Tensor, mu: int = MU) -> torch.Tensor:
    y = q.to(torch.float32) / mu * 2 - 1
    return expand(y, mu)
