"""One denoising autoencoder layer: encoder n_in -> n_out, decoder back, named loss terms."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from songcoder.pca import PCA
from songcoder.sdae import regularizers as R
from songcoder.sdae.trelu import trelu

ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "trelu": trelu,
    "linear": lambda z: z,
}
# Activations whose codes lie in [0, 1], as the KL sparsity term needs.
UNIT_RANGE = {"sigmoid", "trelu"}


class DenoisingLayer(nn.Module):
    """x (B, n_in) -> h = act(x W^T + b) (B, n_out) -> x_hat = out_act(h W_dec^T + c) (B, n_in).

    `out_activation` is the range of what this layer reconstructs: "linear" for the input
    features (z-scored or min-max, any sign: a sigmoid output could not fit z-scores), and the
    previous layer's activation for a deeper layer, whose targets are codes in that range.
    Deeper decoders must be non-linear anyway: a stack of linear decoders is one rank-21 linear
    map and could do no better than PCA-21 on the training set.
    """

    def __init__(self, n_in: int, n_out: int, *, activation: str = "sigmoid",
                 out_activation: str = "linear", tied: bool = True, regularizer: str = "none",
                 sparsity_target: float = 0.05, sparsity_weight: float = 3.0,
                 weight_decay: float = 1e-4, linear_path: bool = False):
        super().__init__()
        for name, val in (("activation", activation), ("out_activation", out_activation)):
            if val not in ACTIVATIONS:
                raise ValueError(f"{name}: expected one of {sorted(ACTIVATIONS)}, got {val!r}")
        if regularizer not in ("none", "sparse", "rank_ordered"):
            raise ValueError(f"regularizer: expected none, sparse or rank_ordered, got {regularizer!r}")
        if regularizer == "sparse" and activation not in UNIT_RANGE:
            raise ValueError(f"regularizer 'sparse' needs codes in [0, 1] (activation sigmoid or "
                             f"trelu), got activation {activation!r}")
        if linear_path and (tied or regularizer != "none"):
            raise ValueError("linear_path: needs tied false and regularizer none")
        self.kwargs: dict[str, Any] = dict(
            n_in=n_in, n_out=n_out, activation=activation, out_activation=out_activation,
            tied=tied, regularizer=regularizer, sparsity_target=sparsity_target,
            sparsity_weight=sparsity_weight, weight_decay=weight_decay, linear_path=linear_path)
        self.act = ACTIVATIONS[activation]
        self.out_act = ACTIVATIONS[out_activation]
        self.regularizer = regularizer
        # Glorot uniform; x4 for the logistic (Glorot & Bengio 2010, the Theano dA tutorial).
        bound = math.sqrt(6.0 / (n_in + n_out)) * (4.0 if activation == "sigmoid" else 1.0)
        self.weight = nn.Parameter(torch.empty(n_out, n_in).uniform_(-bound, bound))   # (H, D)
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.dec_weight = None if tied else nn.Parameter(
            torch.empty(n_in, n_out).uniform_(-bound, bound))                          # (D, H)
        self.dec_bias = nn.Parameter(torch.zeros(n_in))
        # a non-linear output with the linear path needs a decoder for each path
        self.split_decoder = linear_path and out_activation != "linear"
        if linear_path:
            self._add_linear_path(n_in, n_out)
        # per-feature reconstruction weights (weights.feature_weights); a training choice, not
        # part of the model, so not saved with it
        self.register_buffer("loss_weight", None, persistent=False)

    def _add_linear_path(self, n_in: int, n_out: int) -> None:
        """A linear encoder/decoder beside the non-linear units, which enter through per-unit
        gates that start at 0: the layer starts as the linear map (PCA once `init_linear` has
        run) and its non-linear units learn only what that map misses. A linear `out_activation`
        needs no second decoder: the linear path is the decoder (`dec_weight`, `dec_bias`)."""
        self.lin_weight = nn.Parameter(torch.zeros(n_out, n_in))                      # (H, D)
        self.lin_bias = nn.Parameter(torch.zeros(n_out))
        self.gate = nn.Parameter(torch.zeros(n_out))
        if self.split_decoder:
            self.lin_dec_weight = nn.Parameter(torch.zeros(n_in, n_out))              # (D, H)
            self.dec_act_bias = nn.Parameter(torch.zeros(n_in))
            self.dec_gate = nn.Parameter(torch.zeros(n_in))

    @torch.no_grad()
    def init_linear(self, x) -> None:
        """Set the linear path to the best rank-n_out linear map of the layer's training input
        `x` (N, n_in) under its own loss: PCA of x, or, with a loss weight w set
        (`set_loss_weight`; `train.make_layer` sets layer 1's at birth), PCA of x * sqrt(w), read back through 1/sqrt(w),
        which is what minimises the weighted squared error. Encoder the top n_out components
        (units beyond min(N, n_in) get none), decoder their transpose and the mean. A stack of
        such layers starts where a linear code of the song vectors would, at the code's size."""
        if not self.kwargs["linear_path"]:
            raise ValueError("init_linear: this layer has no linear path (linear_path false)")
        s = (torch.ones(self.n_in, dtype=torch.float64) if self.loss_weight is None
             else self.loss_weight.to(torch.float64).sqrt().cpu())
        pca = PCA.fit(np.asarray(x, np.float64) * s.numpy(), self.n_out)
        u = torch.zeros(self.n_out, self.n_in, dtype=torch.float64)
        u[:pca.k] = torch.from_numpy(pca.components)
        mean = torch.from_numpy(pca.mean) / s                                # x's own mean
        enc = u * s                                                          # reads x * sqrt(w)
        self.lin_weight.copy_(enc)                                           # copy_ casts to float32
        self.lin_bias.copy_(-enc @ mean)
        (self.lin_dec_weight if self.split_decoder else self.dec_weight).copy_(u.t() / s[:, None])
        self.dec_bias.copy_(mean)

    def input_weights(self) -> torch.Tensor:
        """(n_out, n_in): what each unit reads from the input. With the linear path that is the
        PCA-started linear encoder, which the gated non-linear units only correct."""
        return self.lin_weight if self.kwargs["linear_path"] else self.weight

    def set_loss_weight(self, weight: torch.Tensor | None) -> None:
        self.loss_weight = None if weight is None else weight.to(self.dec_bias)

    @property
    def n_in(self) -> int:
        return self.kwargs["n_in"]

    @property
    def n_out(self) -> int:
        return self.kwargs["n_out"]

    @property
    def w_dec(self) -> torch.Tensor:
        """Decoder weight (D, H): the encoder's transpose when tied."""
        return self.weight.t() if self.dec_weight is None else self.dec_weight

    def untie(self) -> None:
        """Give the decoder its own copy of the weights (fine-tuning may move them apart)."""
        if self.dec_weight is None:
            self.dec_weight = nn.Parameter(self.weight.detach().t().clone())
            self.kwargs["tied"] = False

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(F.linear(x, self.weight, self.bias))                    # (B, H)
        if self.kwargs["linear_path"]:
            h = F.linear(x, self.lin_weight, self.lin_bias) + self.gate * h
        return h

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        if self.split_decoder:
            return (F.linear(h, self.lin_dec_weight, self.dec_bias)
                    + self.dec_gate * self.out_act(F.linear(h, self.w_dec, self.dec_act_bias)))
        return self.out_act(F.linear(h, self.w_dec, self.dec_bias))         # (B, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def losses(self, x_clean: torch.Tensor, x_noisy: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named terms; "loss" is what is minimised. The target is always the clean input."""
        k = self.kwargs
        h = self.encode(x_noisy)
        if self.regularizer == "rank_ordered":
            if k["out_activation"] == "linear":
                recon = R.rank_ordered_linear(h, self.w_dec, self.dec_bias, x_clean,
                                              self.loss_weight)
            else:
                recon = R.rank_ordered_naive(h, self.w_dec, self.dec_bias, x_clean, self.out_act,
                                             self.loss_weight)
        else:
            recon = R.half_sse(self.decode(h), x_clean, self.loss_weight)
        terms = {"recon": recon}
        if self.regularizer == "sparse":
            ws = [self.weight] + ([] if self.dec_weight is None else [self.dec_weight])
            terms["weight_decay"] = k["weight_decay"] * R.weight_decay(*ws)
            terms["sparsity"] = k["sparsity_weight"] * R.kl_sparsity(h, k["sparsity_target"])
        terms["loss"] = sum(terms.values())
        return terms
