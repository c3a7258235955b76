"""Greedy layer-wise pretraining and fine-tuning; writes model files (`sdae.serving` reads them).

Knows nothing of DVC or MLflow: configs and arrays in, (metrics, model) out. A Lightning
`logger` passed by the caller receives `train/loss`, `val/loss`, `val/rel_error` per epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from songcoder import checkpoint
from songcoder.config import SdaeConfig, TrainerConfig
from songcoder.sdae.data import MatrixDataModule
from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.module import AutoencoderModule
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.serving import FORMAT, encode
from songcoder.sdae.weights import feature_weights
from songcoder.training import make_trainer, resume_path



def make_layer(cfg: SdaeConfig, k: int, n_in: int) -> DenoisingLayer:
    """Layer k (1-based) mapping n_in -> cfg.layers[k-1], with its loss: layer 1, the only one
    that sees the song vector, weighs its feature groups (`feature_weights`). The weight is set
    here, at birth, because `init_linear` starts the linear path at that loss's optimum."""
    layer = DenoisingLayer(
        n_in, cfg.layers[k - 1], activation=cfg.activation,
        # layer 1 reconstructs normalised features (any sign): linear; deeper layers reconstruct
        # codes in the activation's range; rank-ordered layer 1 uses the O(H^2) linear form.
        out_activation="linear" if k == 1 else cfg.activation,
        tied=cfg.tied, regularizer=cfg.regularizer, sparsity_target=cfg.sparsity_target,
        sparsity_weight=cfg.sparsity_weight, weight_decay=cfg.weight_decay,
        linear_path=cfg.linear_path)
    if k == 1:
        layer.set_loss_weight(feature_weights(n_in, cfg.pretrain_loudness_weight,
                                              cfg.extended_weight))
    return layer


def _fit(net: nn.Module, cfg: SdaeConfig, trainer_cfg: TrainerConfig, *, stage: str, epochs: int,
         lr: float, noise: float, seed: int, x_train, x_val, ckpt_dir, logger, songs=None,
         per_song: int = 0, **trainer_kw) -> tuple[dict[str, Any], AutoencoderModule]:
    L.seed_everything(seed, workers=False, verbose=False)
    dm = MatrixDataModule(x_train, x_val, batch_size=cfg.batch_size, noise=noise, seed=seed,
                          swap=cfg.excerpt_swap, songs=songs, rescale=cfg.noise_rescale,
                          per_song=per_song)
    # keep_best judges an epoch by what it minimises: a rank-ordered fine-tuning's objective is
    # every prefix of the code, a same-song one adds the val excerpts' InfoNCE; the full
    # reconstruction alone would prefer the epochs before either term has done its work
    best_on = ("val_loss" if getattr(net, "rank_ordered", False) or per_song
               else "val_rel_error")
    module = AutoencoderModule(net, optimizer=cfg.optimizer, lr=lr, momentum=cfg.momentum,
                               decay=cfg.decay, schedule=cfg.schedule, keep_best=cfg.keep_best,
                               best_on=best_on)
    trainer = make_trainer(trainer_cfg, stage=stage, max_epochs=epochs,
                           ckpt_dir=Path(ckpt_dir) if ckpt_dir is not None else None,
                           logger=logger, **trainer_kw)
    # Saturated sigmoids produce denormal gradients, which run ~20x slower on x86 CPUs; the
    # flag is process-wide, so it is set for the fit only (torch's default is off).
    torch.set_flush_denormal(True)
    try:
        trainer.fit(module, datamodule=dm, ckpt_path=resume_path(ckpt_dir))
    finally:
        torch.set_flush_denormal(False)
    # keep_best: the returned net is the lowest-val/rel_error epoch's, and so are its metrics
    module.restore_best()
    net.cpu().eval()
    best = module.best["epoch"] if module.best is not None else None
    rows = [h for h in module.history if best is None or h["epoch"] == best]
    last = rows[-1] if rows else {}
    metrics = {
        "train/loss": last.get("train_loss", float("nan")),
        "val/loss": last.get("val_loss", float("nan")),
        "val/rel_error": last.get("val_rel_error", float("nan")),
        "epochs": len(module.history),
        "best_epoch": best if best is not None else len(module.history) - 1,
        "history": module.history,
    }
    return metrics, module


def pretrain_layer(cfg: SdaeConfig, trainer_cfg: TrainerConfig, k: int, x_train, x_val=None, *,
                   ckpt_dir: str | Path | None = None, logger: Any = None, songs=None,
                   **trainer_kw) -> tuple[dict[str, Any], DenoisingLayer]:
    """Train layer k (1-based) on the codes of layer k-1 (the features for k=1).

    songs: (train, val) song label per row, for `cfg.excerpt_swap` (None: no swap)."""
    if not 1 <= k <= len(cfg.layers):
        raise ValueError(f"layer k: expected 1..{len(cfg.layers)}, got {k}")
    L.seed_everything(cfg.seed + k, verbose=False)                       # the initial weights
    layer = make_layer(cfg, k, int(x_train.shape[1]))
    if cfg.linear_path:          # the layer starts as the best linear map under its loss
        layer.init_linear(x_train)
    metrics, _ = _fit(layer, cfg, trainer_cfg, stage=f"pretrain_{k}", epochs=cfg.pretrain_epochs,
                      lr=cfg.lr, noise=cfg.noise, seed=cfg.seed + k, x_train=x_train, x_val=x_val,
                      ckpt_dir=ckpt_dir, logger=logger, songs=songs, **trainer_kw)
    return metrics, layer


def finetune(cfg: SdaeConfig, trainer_cfg: TrainerConfig, layers: list[DenoisingLayer], x_train,
             x_val=None, *, ckpt_dir: str | Path | None = None, logger: Any = None, songs=None,
             **trainer_kw) -> tuple[dict[str, Any], DeepAutoencoder]:
    """Stack the pretrained layers into one D -> code -> D network and train it end to end.

    songs: (train, val) song label per row; with `cfg.same_song_weight` > 0 the loss adds the
    same-song term over song-grouped batches (None or (): plain reconstruction)."""
    model = DeepAutoencoder.from_layers(layers, untie=cfg.finetune_untie)
    model.set_loss_weight(feature_weights(model.sizes[0], cfg.loudness_weight, cfg.extended_weight))
    model.set_rank_ordered(cfg.finetune_rank_ordered)
    model.set_same_song(cfg.same_song_weight, cfg.same_song_temperature)
    # song-grouped batches (and keep_best on the val loss with its same-song term) only where
    # the term is on and some train song has two rows to pair: one row a song (the built-in
    # corpus's 24 s songs) has no positives, and fine-tuning stays the plain reconstruction
    pairs = bool(songs) and len(np.unique(songs[0])) < len(songs[0])
    per_song = cfg.same_song_rows if cfg.same_song_weight > 0 and pairs else 0
    metrics, _ = _fit(model, cfg, trainer_cfg, stage="finetune", epochs=cfg.finetune_epochs,
                      lr=cfg.finetune_lr, noise=cfg.finetune_noise, seed=cfg.seed + 100,
                      x_train=x_train, x_val=x_val, ckpt_dir=ckpt_dir, logger=logger, songs=songs,
                      per_song=per_song, **trainer_kw)
    return metrics, model


def train_all(cfg: SdaeConfig, trainer_cfg: TrainerConfig, x_train, x_val=None, songs=None,
              **trainer_kw) -> tuple[dict[str, Any], list[DenoisingLayer], DeepAutoencoder]:
    """All pretrain stages then fine-tuning in one call (experiments, optimizer comparisons).

    metrics: {"pretrain_1": {...}, ..., "finetune": {...}}, each with its per-epoch "history".
    """
    metrics: dict[str, Any] = {}
    layers: list[DenoisingLayer] = []
    a, b = x_train, x_val
    for k in range(1, len(cfg.layers) + 1):
        metrics[f"pretrain_{k}"], layer = pretrain_layer(cfg, trainer_cfg, k, a, b, songs=songs,
                                                         **trainer_kw)
        layers.append(layer)
        a, b = encode(layer, a), (encode(layer, b) if b is not None else None)
    metrics["finetune"], model = finetune(cfg, trainer_cfg, layers, x_train, x_val, songs=songs,
                                          **trainer_kw)
    return metrics, layers, model


# ----------------------------------------------------------------------------- checkpoints


def save(path: str | Path, model: nn.Module, config: Any = None) -> None:
    """The layer or stack with its params section (`songcoder.checkpoint`; read by
    `sdae.serving.load`)."""
    checkpoint.save(path, model, FORMAT, config)
