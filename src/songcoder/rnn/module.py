"""Thin LightningModule: carries the TBPTT state across a stream's windows and logs the terms."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from songcoder.rnn.model import AudioRNN
from songcoder.optim import build_optimizer   # the project's one optimizer factory


def _detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


class RnnModule(L.LightningModule):
    def __init__(self, model_kwargs: dict[str, Any], lr: float, input_noise: float,
                 head_fraction: float = 1.0, seed: int = 0, optimizer: str = "adam"):
        super().__init__()
        self.save_hyperparameters()
        self.model = AudioRNN(**model_kwargs)
        self.lr, self.input_noise, self.seed = lr, input_noise, seed
        self.head_fraction, self.optimizer = head_fraction, optimizer
        self._batch_idx = 0
        self._state: dict[str, Any] = {"train": None, "val": None}

    def _step(self, batch: dict, split: str) -> torch.Tensor:
        x = batch["x"]                                        # (B, T + 1, frame)
        inp, target, scored = self.model.rep.teacher_pairs(x)   # (B, T, n_in), ...
        # randomness drawn from (seed, epoch, batch): a resumed run sees the same draws
        g = torch.Generator().manual_seed(
            hash((self.seed, self.current_epoch, self._batch_idx)) & 0x7FFFFFFF)
        if split == "train" and self.input_noise > 0:
            inp = inp + self.input_noise * torch.randn(inp.shape, generator=g).to(inp)
        state = None if batch["first"] else self._state[split]
        h, state = self.model.features(inp, state)           # (B, T, hidden)
        self._state[split] = _detach(state)
        h = h[:, :scored]
        if split == "train" and self.head_fraction < 1:
            # Outputs are independent given h, so scoring a random subset of steps is an
            # unbiased estimate of the loss; for mulaw it saves most of the (B, T, frame, 256)
            # logits, which cost far more than the recurrence.
            T = h.shape[1]
            keep = torch.randperm(T, generator=g)[: max(1, round(T * self.head_fraction))]
            h, target = h[:, keep], target[:, keep]
        terms = self.model.rep.loss(self.model.predict(h), target)
        for name, value in terms.items():
            self.log(f"{split}/{name}", value, on_step=False, on_epoch=True,
                     batch_size=x.shape[0], prog_bar=name == "loss")
        return terms["loss"]

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        self._batch_idx = batch_idx
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._batch_idx = batch_idx
        self._step(batch, "val")

    def configure_optimizers(self):
        return build_optimizer(self.optimizer, self.parameters(), lr=self.lr)
