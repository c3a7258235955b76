"""One way to build a Lightning Trainer for every training stage.

Scale-out (accelerator, devices, nodes, strategy, precision) comes from the `trainer`
section, checkpoints go to a folder keyed by the stage's params hash so a rerun after a
kill resumes only a run with the same parameters, and a non-finite loss stops training
with a message naming the stage, epoch and step. The global RNG states travel in the
checkpoint too, so a resumed run draws what the uninterrupted one would have.

Testing hook: `SONGCODER_FAULT=<action>:<stage>:<epoch>:<batch>[,...]` (epoch as Lightning
counts, from 0; batch within the epoch) injects a fault when that training batch starts:
`kill` sends the process SIGKILL, `hang` sleeps until something outside kills it, `nan` fills
the weights with NaN so the loss turns non-finite. Unset, it costs nothing.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.utilities import rank_zero_only

from songcoder.config import TrainerConfig
from songcoder.errors import UserError

FAULT_ENV = "SONGCODER_FAULT"


class NonFiniteLossError(UserError, RuntimeError):
    """Training produced a NaN or infinite loss (a stage prints it as one line, exit 2)."""


class FiniteLossGuard(Callback):
    """Stops at the first non-finite training loss; the last good checkpoint stays on disk."""

    def __init__(self, stage: str):
        self.stage = stage

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(torch.as_tensor(loss)).all():
            raise NonFiniteLossError(
                f"loss became {float(loss)} in {self.stage} at epoch {trainer.current_epoch} "
                f"(from 0), batch {batch_idx}, global step {trainer.global_step}; stopped, "
                f"the last good checkpoint is kept (a lower learning rate usually helps)")


class RngState(Callback):
    """Global torch/numpy/python RNG states in the checkpoint, restored on resume.

    Lightning saves model, optimizer and loop state but not these, so any draw from the
    global generators after a resume (dropout, a DataLoader's base seed) would differ from
    the run that was never stopped.
    """

    def state_dict(self) -> dict[str, Any]:
        import numpy as np
        name, keys, pos, has_gauss, gauss = np.random.get_state()
        state = {"torch": torch.get_rng_state(), "python": random.getstate(),
                 "numpy": [name, torch.from_numpy(keys.astype("int64")), pos, has_gauss, gauss]}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import numpy as np
        torch.set_rng_state(state["torch"])
        random.setstate(_tuples(state["python"]))
        name, keys, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((name, keys.numpy().astype("uint32"), pos, has_gauss, gauss))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(x: Any) -> Any:
    """random.setstate wants the tuples getstate gave (a checkpoint may hand back lists)."""
    return tuple(_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


class FaultInjection(Callback):
    """Testing hook (see the module docstring): the faults of `SONGCODER_FAULT` for `stage`."""

    def __init__(self, stage: str, spec: str):
        self.stage = stage
        self.faults: dict[tuple[int, int], str] = {}
        for item in filter(None, (s.strip() for s in spec.split(","))):
            try:
                action, where, epoch, batch = item.split(":")
                if action not in ("kill", "hang", "nan"):
                    raise ValueError(action)
                if where == stage:
                    self.faults[(int(epoch), int(batch))] = action
            except ValueError as e:
                raise UserError(f"{FAULT_ENV}: expected kill|hang|nan:<stage>:<epoch>:<batch>, "
                                f"got {item!r}") from e

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        action = self.faults.get((trainer.current_epoch, batch_idx))
        if action is None:
            return
        print(f"{self.stage}: {FAULT_ENV} injects {action} at epoch {trainer.current_epoch}, "
              f"batch {batch_idx}", file=sys.stderr, flush=True)
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "hang":
            while True:
                time.sleep(1)
        else:
            with torch.no_grad():
                for p in pl_module.parameters():
                    p.fill_(float("nan"))


class EpochHistory(Callback):
    """Every scalar metric logged in an epoch, one row per epoch (for DVC plots as CSV).

    Lightning runs the epoch's validation before `on_train_epoch_end`, so a row holds both.
    """

    def __init__(self):
        self.rows: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer, pl_module):
        row = {k: float(v) for k, v in trainer.callback_metrics.items()
               if torch.as_tensor(v).numel() == 1}
        self.rows.append({"epoch": trainer.current_epoch + 1, **row})

    def state_dict(self) -> dict[str, Any]:      # the rows of a killed run survive its resume
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state["rows"]]


def write_history(path: str | Path, rows: list[dict[str, float]]) -> None:
    """Per-epoch rows as CSV for DVC plots: `epoch`, then every other key, sorted."""
    import csv
    import io

    from songcoder.atomic import save_text
    cols = ["epoch"] + sorted({k for r in rows for k in r} - {"epoch"})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    save_text(path, buf.getvalue())


def _devices(spec: str) -> Any:
    if spec == "auto":
        return "auto"
    if "," in spec:
        return [int(d) for d in spec.split(",") if d.strip()]
    return int(spec)


def show_progress() -> bool:
    """Bars for people at a terminal; plain logs in CI and when piped."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def _epoch_figures(trainer: L.Trainer) -> dict[str, float]:
    """The epoch's losses and errors (what a person watches), by name."""
    return {k: float(v) for k, v in sorted(trainer.callback_metrics.items())
            if k.endswith(("loss", "rel_error")) and torch.as_tensor(v).numel() == 1}


class Heartbeat(Callback):
    """One line per epoch with its losses, for logs that are not a terminal (no bar there)."""

    def __init__(self, stage: str):
        self.stage = stage
        self.t0 = time.monotonic()

    @rank_zero_only
    def on_train_epoch_end(self, trainer, pl_module):
        figures = "  ".join(f"{k} {v:.4g}" for k, v in _epoch_figures(trainer).items())
        print(f"{self.stage}: epoch {trainer.current_epoch + 1}/{trainer.max_epochs}  {figures}"
              f"  ({time.monotonic() - self.t0:.0f} s)", flush=True)


class LossBar(TQDMProgressBar):
    """Lightning's bar with the last epoch's losses in place of the logger's `v_num`."""

    def get_metrics(self, trainer, pl_module):
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        return {**items, **{k: f"{v:.4g}" for k, v in _epoch_figures(trainer).items()}}


def quiet_third_party() -> None:
    """Stage output says what the stage did: no Lightning banners ("GPU available", "Tip:
    try litlogger", "fit stopped"), no deprecation notices from inside torch/Lightning."""
    import logging
    import warnings
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                 "lightning.pytorch.accelerators.cuda"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for module in (r"lightning(\..*)?", r"torch(\..*)?"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
    from lightning.fabric.utilities.warnings import PossibleUserWarning
    warnings.filterwarnings("ignore", category=PossibleUserWarning)


def make_trainer(cfg: TrainerConfig, *, stage: str, max_epochs: int, ckpt_dir: Path | None,
                 logger: Any = None, **overrides: Any) -> L.Trainer:
    """A Trainer for `stage`. `ckpt_dir=None` disables checkpointing (tests, benchmarks)."""
    quiet_third_party()
    callbacks: list[Callback] = [FiniteLossGuard(stage), RngState()]
    if os.environ.get(FAULT_ENV):
        callbacks.insert(0, FaultInjection(stage, os.environ[FAULT_ENV]))
    if ckpt_dir is not None:
        # Lightning 2.6 writes last.ckpt mid-training only alongside a top-k file, so keep the
        # latest epoch (top-k 1, no monitor): with top-k 0 a killed run has nothing to resume.
        callbacks.append(ModelCheckpoint(dirpath=ckpt_dir, save_last=True, save_top_k=1,
                                         every_n_epochs=1, save_on_train_epoch_end=True))
    progress = show_progress()
    callbacks.append(LossBar(refresh_rate=10) if progress else Heartbeat(stage))
    kwargs = dict(
        accelerator=cfg.accelerator, devices=_devices(cfg.devices), num_nodes=cfg.num_nodes,
        strategy=cfg.strategy, precision=cfg.precision, deterministic=cfg.deterministic,
        max_epochs=max_epochs, logger=logger if logger is not None else False,
        callbacks=callbacks, enable_checkpointing=ckpt_dir is not None,
        enable_progress_bar=progress, enable_model_summary=False, log_every_n_steps=1,
        num_sanity_val_steps=0,
    )
    kwargs.update(overrides)
    return L.Trainer(**kwargs)


def resume_path(ckpt_dir: Path | None) -> str | None:
    """The checkpoint to resume from, if a killed run of the same params left one (said on
    stderr, with the epochs it already holds)."""
    if ckpt_dir is None:
        return None
    last = Path(ckpt_dir) / "last.ckpt"
    if not last.exists():
        return None
    # Lightning's own checkpoint, written by an earlier attempt of this stage in this folder
    # (loops, callback and optimizer state, which weights_only refuses); model files that
    # travel are checkpoint.py's, read with weights_only
    ckpt = torch.load(last, map_location="cpu", weights_only=False, mmap=True)
    print(f"{Path(ckpt_dir).parent.name}: resuming from {last}: {ckpt['epoch'] + 1} epochs "
          f"done, global step {ckpt['global_step']}", file=sys.stderr, flush=True)
    return str(last)


def data_fingerprint(x: Any) -> str:
    """A short hash of a training array: a checkpoint is resumed only on the same data."""
    import hashlib

    import numpy as np
    return hashlib.sha1(np.ascontiguousarray(x).view(np.uint8)).hexdigest()[:12]


def checkpoint_dir(stage: str, *keys: Any, root: Path = Path("checkpoints")) -> Path:
    """`checkpoints/<stage>/<hash of params and data>`: a rerun after a kill resumes only a
    run with the same params on the same data."""
    from songcoder.config import params_hash
    return root / stage / params_hash(*keys)


def drop_checkpoints(ckpt_dir: Path) -> None:
    """After a finished run: the stage's real output is the model file, not these. Rank 0's
    job (it wrote them; under DDP another rank may finish first and must not delete them)."""
    import shutil
    shutil.rmtree(ckpt_dir.parent, ignore_errors=True)


def finite_or_nan(x: Any) -> float:
    x = float(x)
    return x if math.isfinite(x) else float("nan")
