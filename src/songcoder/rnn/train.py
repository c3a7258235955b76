"""train_rnn(cfg, trainer_cfg, train_paths, val_paths) -> (metrics, model); save/load."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch

from songcoder import checkpoint
from songcoder.config import RnnConfig, TrainerConfig
from songcoder.rnn.data import RnnDataModule, SongStore
from songcoder.rnn.model import FORMAT, AudioRNN
from songcoder.rnn.module import RnnModule
from songcoder.training import EpochHistory, make_trainer, resume_path

FIT_SONGS = 64          # songs that set data-dependent starting points (spread over the set)


def model_kwargs(cfg: RnnConfig) -> dict[str, Any]:
    return dict(frame=cfg.frame, cell=cfg.cell, layers=cfg.layers, hidden=cfg.hidden,
                mlp_in=cfg.mlp_in, mlp_out=cfg.mlp_out,
                representation=cfg.representation, embed=cfg.embed, sample_rate=cfg.sample_rate,
                mixtures=cfg.mixtures, phase_weight=cfg.phase_weight,
                max_run_seconds=cfg.max_run_seconds)


def tbptt_frames(cfg: RnnConfig) -> int:
    return max(1, round(cfg.tbptt_seconds * cfg.sample_rate / cfg.frame))


def train_rnn(cfg: RnnConfig, trainer_cfg: TrainerConfig, train_paths: Sequence[str],
              val_paths: Sequence[str], *, ckpt_dir: Path | None = None, logger: Any = None,
              callbacks: Sequence[L.Callback] = ()) -> tuple[dict[str, Any], AudioRNN]:
    """Train on `train_paths`, validate on `val_paths`; resumes from `ckpt_dir`/last.ckpt.
    metrics["history"]: one row per epoch (every scalar logged)."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="songcoder-rnn-")   # the decoded audio, this run
    train_songs = SongStore(train_paths, cfg.sample_rate, Path(tmp.name) / "train.f32")
    val_songs = (SongStore(val_paths, cfg.sample_rate, Path(tmp.name) / "val.f32")
                 if val_paths else list(train_songs.sample(1)))
    load_s = time.perf_counter() - t0
    dm = RnnDataModule(train_songs, val_songs, frame=cfg.frame, tbptt=tbptt_frames(cfg),
                       chunks=cfg.tbptt_chunks, batch_size=cfg.batch_size,
                       steps_per_epoch=cfg.steps_per_epoch, val_steps=cfg.val_steps,
                       batching=cfg.batching, seed=cfg.seed)
    module = RnnModule(model_kwargs(cfg), cfg.lr, cfg.input_noise,
                       head_fraction=cfg.head_fraction, seed=cfg.seed,
                       optimizer=cfg.optimizer)
    module.model.rep.fit_data(train_songs.sample(FIT_SONGS))
    trainer = make_trainer(trainer_cfg, stage="train_rnn", max_epochs=cfg.epochs,
                           ckpt_dir=ckpt_dir, logger=logger, reload_dataloaders_every_n_epochs=1,
                           gradient_clip_val=cfg.grad_clip or None)
    # the per-epoch rows travel in the checkpoint: the final metrics are the last row, also
    # when a resumed run had nothing left to fit
    history = EpochHistory()
    trainer.callbacks.extend([*callbacks, history])
    resume = resume_path(ckpt_dir)
    start_step = 0
    if resume is not None:
        start_step = torch.load(resume, map_location="cpu", weights_only=False)["global_step"]
    t1 = time.perf_counter()
    trainer.fit(module, datamodule=dm, ckpt_path=resume)
    fit_s = time.perf_counter() - t1
    if not history.rows:                                 # resumed a finished run before any row
        trainer.validate(module, datamodule=dm, verbose=False)
    steps = trainer.global_step - start_step             # fitted in this process
    samples = steps * cfg.batch_size * tbptt_frames(cfg) * cfg.frame
    metrics = ({k: v for k, v in history.rows[-1].items() if k != "epoch"} if history.rows
               else {k: float(v) for k, v in trainer.callback_metrics.items()})
    metrics.update({
        "train_samples_per_s": samples / fit_s if steps else float("nan"),
        "train_seconds": fit_s, "load_seconds": load_s, "epochs": trainer.current_epoch,
        "params": module.model.n_params(), "train_songs": len(train_songs),
        "train_steps": trainer.global_step, "history": history.rows,
    })
    tmp.cleanup()
    return metrics, module.model.eval()


def save(path: str | Path, model: AudioRNN, config: RnnConfig | dict | None = None) -> None:
    """Self-describing model file (`songcoder.checkpoint`): kwargs, weights, resolved config."""
    checkpoint.save(path, model, FORMAT, config)
