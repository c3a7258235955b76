"""Thin LightningModules around a plain autoencoder (`DenoisingLayer` or `DeepAutoencoder`).

`net.losses(*batch)` gives the named terms (a batch is (clean, noisy) or, for the same-song
objective, (clean, noisy, song)); each is logged as `train/<name>` and
`val/<name>`. `val/rel_error` is the clean-input reconstruction error relative to predicting
the training mean. A per-epoch history (for learning curves and optimizer comparisons) is kept
on the module and saved in Lightning checkpoints, so it survives a resume.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from songcoder.optim import build_optimizer


class AutoencoderModule(L.LightningModule):
    def __init__(self, net: nn.Module, *, optimizer: str = "adam", lr: float = 1e-3,
                 momentum: float = 0.9, decay: float = 0.0, schedule: str = "constant",
                 keep_best: bool = False, best_on: str = "val_rel_error",
                 train_mean: torch.Tensor | None = None):
        super().__init__()
        if schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule: expected constant or cosine, got {schedule!r}")
        self.net = net
        self.opt_name, self.lr, self.momentum, self.decay = optimizer, lr, momentum, decay
        if best_on not in ("val_rel_error", "val_loss"):
            raise ValueError(f"best_on: expected val_rel_error or val_loss, got {best_on!r}")
        self.schedule, self.keep_best, self.best_on = schedule, keep_best, best_on
        # keep_best: a CPU copy of the weights of the epoch with the lowest `best_on`. Kept here,
        # not by Lightning's ModelCheckpoint(monitor=...): that one needs a checkpoint folder
        # (tests, benchmarks and train_all run without one) and restores from disk; this copy
        # travels in the stage's checkpoint (on_save_checkpoint) and survives a resume.
        self.best: dict[str, Any] | None = None
        d = net.kwargs["n_in"] if "n_in" in net.kwargs else net.kwargs["layers"][0]["n_in"]
        self.register_buffer("train_mean", torch.zeros(d) if train_mean is None
                             else train_mean.detach().float().cpu(), persistent=False)
        # The per-epoch rows, built from the epoch sums below (one reduction over DDP ranks, no
        # per-step self.log: see training_step) and written by training.write_history like the
        # RNN's EpochHistory rows; they pick the best epoch's figures in sdae/train.py.
        self.history: list[dict[str, float]] = []
        self._reset_sums()

    def _reset_sums(self) -> None:
        self._sums: dict[str, Any] = {"train_n": 0, "val_loss": 0.0, "val_n": 0, "sse": 0.0,
                                      "base": 0.0}
        self._train_terms: dict[str, torch.Tensor] = {}

    def setup(self, stage: str) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        if dm is not None and hasattr(dm, "train_mean"):                  # the datamodule is set up first
            self.train_mean = dm.train_mean.to(self.device)

    def configure_optimizers(self):
        opt = build_optimizer(self.opt_name, self.net.parameters(), lr=self.lr,
                              momentum=self.momentum, decay=self.decay)
        if self.schedule == "constant":
            return opt
        # cosine: lr decays from `lr` to 0 over the run, stepped once per epoch
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(self.trainer.max_epochs, 1))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    def restore_best(self) -> None:
        """Load the best-val epoch's weights into the net (a no-op without keep_best or val)."""
        if self.best is not None:
            self.net.load_state_dict(self.best["state_dict"])

    def _log_terms(self, split: str, terms: dict[str, torch.Tensor], n: int) -> None:
        for name, value in terms.items():
            self.log(f"{split}/{name}", value, on_step=False, on_epoch=True, batch_size=n,
                     sync_dist=split == "val")

    def training_step(self, batch, batch_idx):
        clean = batch[0]                                                  # (B, D)
        terms = self.net.losses(*batch)
        # Summed here and logged once per epoch: self.log on every step costs ~10 % of a
        # layer-1 step on CPU (see benchmarks/sdae.py).
        for name, value in terms.items():
            acc = self._train_terms.get(name)
            v = value.detach() * len(clean)
            self._train_terms[name] = v if acc is None else acc + v
        self._sums["train_n"] += len(clean)
        return terms["loss"]

    def validation_step(self, batch, batch_idx):
        clean = batch[0]
        terms = self.net.losses(*batch)
        self._log_terms("val", terms, len(clean))
        mean = self.train_mean.to(clean.device)
        self._sums["val_loss"] += terms["loss"].detach() * len(clean)
        self._sums["val_n"] += len(clean)
        self._sums["sse"] += (self.net(clean) - clean).pow(2).sum().detach()
        self._sums["base"] += (mean - clean).pow(2).sum()

    def on_validation_epoch_end(self) -> None:
        if not self._sums["val_n"]:
            return
        # Sums over all DDP ranks (each validates its share of the rows), so the numbers
        # are those of the whole validation set, as in a single process.
        sse, base, loss, n = (self.trainer.strategy.reduce(
            torch.as_tensor(self._sums[k], device=self.device, dtype=torch.float64),
            reduce_op="sum") for k in ("sse", "base", "val_loss", "val_n"))
        rel = (sse / base.clamp_min(1e-12)).float()
        self.log("val/rel_error", rel, on_step=False, on_epoch=True)
        self._val = {"val_loss": float(loss / n.clamp_min(1)), "val_rel_error": float(rel)}
        score = self._val[self.best_on]
        if self.keep_best and not self.trainer.sanity_checking and (
                self.best is None or score < self.best.get("score", self.best["val_rel_error"])):
            self.best = {"epoch": self.current_epoch, "val_rel_error": float(rel), "score": score,
                         "state_dict": {k: v.detach().cpu().clone()
                                        for k, v in self.net.state_dict().items()}}

    def on_train_epoch_end(self) -> None:
        s = self._sums
        n = max(s["train_n"], 1)
        red = self.trainer.strategy.reduce
        means = {k: red(v / n, reduce_op="mean") for k, v in self._train_terms.items()}
        for name, value in means.items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True)
        row = {"epoch": self.current_epoch,
               "train_loss": float(means["loss"]) if "loss" in means else float("nan")}
        row.update(getattr(self, "_val", {}))
        self.history.append(row)
        self._val = {}
        self._reset_sums()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["songcoder_history"] = list(self.history)
        checkpoint["songcoder_best"] = self.best

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.history = list(checkpoint.get("songcoder_history", []))
        self.best = checkpoint.get("songcoder_best")


# The names: one module class serves both, the wrapped net differs.
LayerModule = AutoencoderModule
FinetuneModule = AutoencoderModule
