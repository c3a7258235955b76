"""Training losses (each representation in `representations.py` picks one); each returns a
dict of named terms plus "loss" (what is optimised).

Term names are the logged metrics: `train/time_mse`, `train/log_mag`,
`train/phase`, `train/mulaw_nll`, `train/bits_per_sample`, `train/nll_per_bin`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from songcoder.rnn import mulaw
from songcoder.rnn.mixture import Mixture


def phase_distance(theta, phi):
    """d(theta, phi) = sin^2((theta - phi) / 2), seed 002's phase metric.

    Periodic in both arguments (2 pi), invariant to a common shift, 0 exactly when the phases
    agree modulo 2 pi, largest (1) at opposite phases. Takes torch tensors or numpy arrays.
    """
    sin = torch.sin if isinstance(theta, torch.Tensor) or isinstance(phi, torch.Tensor) else np.sin
    return sin((theta - phi) / 2) ** 2


def _safe_angle(z: torch.Tensor, eps: float) -> torch.Tensor:
    # atan2's gradient is 0/0 at the origin; bins that small have no meaningful phase, so
    # they get a fixed angle (0) and no gradient.
    small = z.abs() < eps
    re = torch.where(small, torch.full_like(z.real, eps), z.real)
    im = torch.where(small, torch.zeros_like(z.imag), z.imag)
    return torch.atan2(im, re)


class TimeMSE:
    """Next-frame prediction in the time domain (the seed's cost)."""

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        mse = F.mse_loss(pred, target)          # pred, target: (B, T, frame)
        return {"loss": mse, "time_mse": mse}


class SpectralLoss:
    """Per frame: log-magnitude error + phase distance weighted by the target's magnitude.

    The frame's plain DFT (no window) is used, so the loss is zero exactly when the predicted
    frame equals the target frame.
    """

    def __init__(self, phase_weight: float = 1.0, eps: float = 1e-3):
        self.phase_weight, self.eps = phase_weight, eps

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        X = torch.fft.rfft(pred, dim=-1)        # (B, T, frame // 2 + 1) complex
        Y = torch.fft.rfft(target, dim=-1)
        mag_x = torch.sqrt(X.real ** 2 + X.imag ** 2 + self.eps ** 2)   # smooth at 0
        mag_y = Y.abs()
        log_mag = ((torch.log(mag_x) - torch.log(mag_y + self.eps)) ** 2).mean()
        w = mag_y / (mag_y.mean() + self.eps)   # loud bins' phases matter, silent ones' do not
        phase = (w * phase_distance(_safe_angle(X, self.eps), torch.angle(Y))).mean()
        return {"loss": log_mag + self.phase_weight * phase, "log_mag": log_mag, "phase": phase}


class MulawNLL:
    """256-way categorical over mu-law levels; also reports bits per sample."""

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        # logits: (B, T, frame, levels); target: (B, T, frame) audio in [-1, 1]
        q = mulaw.quantize(target, logits.shape[-1] - 1)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), q.reshape(-1))
        return {"loss": nll, "mulaw_nll": nll, "bits_per_sample": nll.detach() / math.log(2)}


class LogMagLoss:
    """Negative log-likelihood of the next grain's log-magnitude spectrum under the model's
    Gaussian mixture, in nats per bin (standardised units: see `AudioRNN.fit_data`).

    pred: (B, T, K * (2 D + 1)) mixture parameters; target: (B, T, D) standardised
    log-magnitudes. Also reports `log_mag`, the mean squared error of the mixture's mean - what
    a regression (the averaged, smeared spectrum) would minimise. No phase term: the phase is
    chosen at generation time.
    """

    def __init__(self, mixtures: int):
        self.mixtures = mixtures

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        mix = Mixture(pred, self.mixtures)
        nll = mix.nll(target).mean() / target.shape[-1]
        mse = ((mix.mean() - target) ** 2).mean().detach()
        return {"loss": nll, "nll_per_bin": nll.detach(), "log_mag": mse}


class PointerLoss:
    """InfoNCE of a pointer head: each step's query must pick the true next grain out of every
    grain of its own window (the memory it could have copied from), by cosine similarity
    times a learned scale. Also reports `top1`, the share of steps whose best-scored grain is
    the true next one.

    logits: (B, T - 1, T) scores of step t's query against the window's T grains; the target
    of step t is grain t + 1.
    """

    def __call__(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        B, S, T = logits.shape
        if T != S + 1:
            raise ValueError(f"pointer loss: {S} scored steps need {S + 1} window grains, got {T} "
                             "(the pointer scores every step: rnn.head_fraction must be 1)")
        idx = torch.arange(1, S + 1, device=logits.device).expand(B, S)
        nce = F.cross_entropy(logits.reshape(B * S, T), idx.reshape(-1))
        top1 = (logits.argmax(-1) == idx).float().mean()
        return {"loss": nce, "info_nce": nce, "top1": top1}
