"""A diagonal Gaussian mixture read from one `logmag` step's output (standardised units)."""

from __future__ import annotations

import math

import torch

LOG_SIGMA = (-5.0, 2.0)  # clamp of a mixture component's log-std (standardised units)


class Mixture:
    """A `logmag` step's output split into a diagonal Gaussian mixture (standardised units)."""

    def __init__(self, z: torch.Tensor, k: int):
        d = (z.shape[-1] // k - 1) // 2
        self.logits = z[..., :k]                                        # (..., K)
        mu_sigma = z[..., k:].unflatten(-1, (k, 2 * d))
        self.mu = mu_sigma[..., :d]                                     # (..., K, D)
        self.log_sigma = mu_sigma[..., d:].clamp(*LOG_SIGMA)

    def nll(self, y: torch.Tensor) -> torch.Tensor:
        """(..., D) standardised targets -> (...) negative log-likelihood in nats."""
        zsq = ((y.unsqueeze(-2) - self.mu) * torch.exp(-self.log_sigma)) ** 2
        comp = -(0.5 * zsq + self.log_sigma).sum(-1)                    # (..., K)
        log_pi = torch.log_softmax(self.logits, -1)
        return -torch.logsumexp(log_pi + comp, -1) + 0.5 * y.shape[-1] * math.log(2 * math.pi)

    def mean(self) -> torch.Tensor:
        return (torch.softmax(self.logits, -1).unsqueeze(-1) * self.mu).sum(-2)

    def sample(self, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        """One draw per row; temperature 0: the most likely component's mean."""
        if temperature <= 0:
            k = self.logits.argmax(-1)
        else:
            u = torch.rand(self.logits.shape, generator=generator).clamp_(1e-10, 1.0)
            k = (self.logits / temperature - torch.log(-torch.log(u))).argmax(-1)  # Gumbel-max
        index = k[..., None, None].expand(*k.shape, 1, self.mu.shape[-1])
        mu = self.mu.gather(-2, index)[..., 0, :]
        sigma = self.log_sigma.gather(-2, index)[..., 0, :].exp()
        noise = torch.randn(mu.shape, generator=generator)
        return mu + temperature * sigma * noise
