"""Which of a stage's figures are results, and how they are written.

A result depends only on the data, the code and the params: it belongs in the stage's tracked
metrics file, where `dvc metrics diff` and `dvc exp show` compare it. A machine figure (a
timing, a speed) changes from run to run on the same inputs: it goes to the stage's MLflow run
only, so a rerun of the same params rewrites the metrics file byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TIMINGS = {"wall_seconds", "load_seconds", "train_seconds"}   # wall-clock seconds of some work
DIGITS = 5   # significant digits kept (what `dvc exp show` prints); float noise below that


def is_machine_figure(key: str) -> bool:
    """Timings and speeds, by the leaf name (`realtime_factor*`, `*_per_s`, TIMINGS)."""
    return key in TIMINGS or key.startswith("realtime_factor") or key.endswith("_per_s")


def rounded(d: Mapping[str, Any]) -> dict[str, Any]:
    """`d` with every float at DIGITS significant digits (ints, bools, None, text as they are)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out[k] = rounded(v)
        elif isinstance(v, float) and v == v and abs(v) != float("inf"):
            out[k] = float(f"{v:.{DIGITS}g}")
        else:
            out[k] = v
    return out


def results(d: Mapping[str, Any]) -> dict[str, Any]:
    """What a stage writes to its tracked metrics file: `d` rounded, without machine figures."""
    out: dict[str, Any] = {}
    for k, v in rounded(d).items():
        if isinstance(v, Mapping):
            out[k] = results(v)
        elif not is_machine_figure(k):
            out[k] = v
    return out
