"""One self-describing model file for every trained model (SDAE layers and stacks, the RNN).

A file holds a format tag, the class name, the constructor's keyword arguments, the resolved
params section it was trained with and the weights, so it can be rebuilt from the file alone.
It is read with `weights_only=True`: a model file is data, never code to run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from songcoder.atomic import atomic_path


def save(path: str | Path, model: nn.Module, fmt: str, config: Any = None) -> None:
    """Write `model` (which keeps its constructor arguments on `model.kwargs`) atomically."""
    blob = {"format": fmt, "class": type(model).__name__, "kwargs": model.kwargs,
            "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load(path: str | Path, fmt: str, classes: Mapping[str, type]) -> tuple[nn.Module, Any]:
    """(model in eval mode on CPU, its params section) from a file `save` wrote with `fmt`;
    `classes`: the model classes such a file may name."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != fmt:
        found = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise ValueError(f"{path}: not a {fmt} model file (format {found!r})")
    if blob["class"] not in classes:
        raise ValueError(f"{path}: a {blob['class']} is not one of {', '.join(classes)}")
    model = classes[blob["class"]](**blob["kwargs"])
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob["config"]
