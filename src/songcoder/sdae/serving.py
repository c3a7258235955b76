"""The trained autoencoder at work: load a model file, encode, reconstruct, and `SongEncoder`
(raw song vectors in, codes out, the train split's normalisation included).

Inference only (no Lightning): the CLI, evaluation and the MLflow model serve from here;
training (`sdae/train.py`) writes the files this reads.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from songcoder import checkpoint
from songcoder.features.norm import normalise, read_norm
from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.stack import DeepAutoencoder

FORMAT = "songcoder.sdae/1"
CLASSES = {"DenoisingLayer": DenoisingLayer, "DeepAutoencoder": DeepAutoencoder}


def load(path: str | Path, *, with_config: bool = False):
    """A layer or stack rebuilt from its file alone (eval mode, CPU); with its params section
    when `with_config`."""
    model, config = checkpoint.load(path, FORMAT, CLASSES)
    return (model, config) if with_config else model


@torch.no_grad()
def encode(model: nn.Module, x, *, batch_size: int = 8192, device: str | None = None) -> np.ndarray:
    """Codes (N, H) float32 of a layer or deep model; batched, in eval mode, no noise."""
    return _apply(model, x, "encode", batch_size, device)


@torch.no_grad()
def reconstruct(model: nn.Module, x, *, batch_size: int = 8192, device: str | None = None) -> np.ndarray:
    """model(x) (N, D) float32: the clean-input reconstruction."""
    return _apply(model, x, "forward", batch_size, device)


def _apply(model: nn.Module, x, fn: str, batch_size: int, device: str | None) -> np.ndarray:
    dev = torch.device(device) if device else next(model.parameters()).device
    was_training = model.training
    model.eval()
    xt = host_tensor(x)
    out = [getattr(model, fn)(xt[i:i + batch_size].to(dev)).float().cpu()
           for i in range(0, len(xt), batch_size)]
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def host_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, D) float32 CPU tensor; zero-copy for float32 C-contiguous input (memmaps too)."""
    if isinstance(x, torch.Tensor):
        return x.to(device="cpu", dtype=torch.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)                          # copies only if needed
    with warnings.catch_warnings():                                        # read-only memmap: never written
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(x)


class SongEncoder:
    """Raw song vectors (N, D) -> codes (N, H): z-scored with the train split's statistics
    (prepare's norm.npz), then the fine-tuned encoder."""

    def __init__(self, model: nn.Module, mean: np.ndarray, std: np.ndarray):
        self.model, self.mean, self.std = model, mean, std

    @classmethod
    def from_files(cls, model: str | Path, norm: str | Path) -> SongEncoder:
        stats = read_norm(norm)
        return cls(load(model), stats.mean, stats.std)

    @classmethod
    def from_artifacts(cls, artifacts: Mapping[str, str]) -> SongEncoder:
        """The MLflow model's loader (`tracking.register_encoder` names this module)."""
        return cls.from_files(artifacts["model"], artifacts["norm"])

    def codes(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.shape[-1] != self.mean.shape[-1]:
            raise ValueError(f"song vectors have {x.shape[-1]} dims, the train statistics "
                             f"{self.mean.shape[-1]}: features and norm.npz disagree")
        return encode(self.model, normalise(x, self.mean, self.std))

    predict = codes      # the name the MLflow model calls
