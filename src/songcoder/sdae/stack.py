"""The deep autoencoder: encoders of layers 1..K in order, their decoders in reverse."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.regularizers import half_sse, rank_ordered_deep
from songcoder.sdae.same_song import same_song_nce


class DeepAutoencoder(nn.Module):
    """x (B, 1482) -> 352 -> 84 -> 21 (code) -> 84 -> 352 -> 1482, from pretrained layers."""

    def __init__(self, layers: list[dict[str, Any]]):
        super().__init__()
        self.kwargs = {"layers": [dict(k) for k in layers]}
        self.layers = nn.ModuleList(DenoisingLayer(**k) for k in layers)
        # per-feature reconstruction weights for fine-tuning; not saved with the model
        self.register_buffer("loss_weight", None, persistent=False)
        # fine-tuning with seed 003's rank-ordered cost on the code (a training choice, not saved)
        self.rank_ordered = False
        # fine-tuning's same-song term: weight and temperature (a training choice, not saved)
        self.same_song = (0.0, 1.0)

    def set_loss_weight(self, weight: torch.Tensor | None) -> None:
        self.loss_weight = None if weight is None else weight.float()

    def set_rank_ordered(self, on: bool) -> None:
        """Fine-tune with the rank-ordered cost over the code layer (`sdae.finetune_rank_ordered`):
        the code's k most active units must reconstruct the input through the whole decoder, for
        every k, so the order pretraining gave the top layer survives fine-tuning."""
        if on and self.layers[-1].regularizer != "rank_ordered":
            raise ValueError("finetune_rank_ordered needs a code layer pretrained with "
                             f"regularizer rank_ordered, got {self.layers[-1].regularizer!r}")
        self.rank_ordered = on

    def set_same_song(self, weight: float, temperature: float) -> None:
        """Add `weight` x supervised InfoNCE of the codes (`same_song.same_song_nce`) to the
        fine-tuning loss, for batches that carry song labels (`sdae.same_song_weight`)."""
        self.same_song = (weight, temperature)

    @classmethod
    def from_layers(cls, layers: list[DenoisingLayer], *, untie: bool = False) -> "DeepAutoencoder":
        """A copy of the greedy stack (the pretrained layers stay untouched)."""
        layers = [copy.deepcopy(layer).cpu() for layer in layers]
        if untie:
            for layer in layers:
                layer.untie()
        model = cls([layer.kwargs for layer in layers])
        for mine, theirs in zip(model.layers, layers):
            mine.load_state_dict(theirs.state_dict())
        return model

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    def truncated(self, depth: int) -> "DeepAutoencoder":
        """The first `depth` layers as their own autoencoder (greedy stack at that depth)."""
        return DeepAutoencoder.from_layers(list(self.layers[:depth]))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer.encode(x)
        return x                                                           # (B, code)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            h = layer.decode(h)
        return h                                                           # (B, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def losses(self, x_clean: torch.Tensor, x_noisy: torch.Tensor,
               song: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        # Fine-tuning minimises reconstruction of the clean input end to end (weighted by
        # feature group when `loss_weight` is set; plain otherwise), with rank_ordered over every
        # prefix of the code (its last prefix is the plain reconstruction); with song labels
        # (B,) and a same-song weight, plus that weight x the same-song InfoNCE of the codes.
        h = self.encode(x_noisy)                                           # (B, code)
        if self.rank_ordered:
            recon = rank_ordered_deep(h, self.decode, x_clean, self.loss_weight)
        else:
            recon = half_sse(self.decode(h), x_clean, self.loss_weight)
        terms = {"recon": recon}
        weight, temperature = self.same_song
        if weight > 0 and song is not None:
            terms["same_song"] = weight * same_song_nce(h, song, temperature)
        terms["loss"] = sum(terms.values())
        return terms
