"""What every stage script shares: params loading and one-line errors for people."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from songcoder.config import load_section
from songcoder.errors import UserError


def sections(*names: str) -> dict:
    """Load and validate the named params.yaml sections (stops before any work if invalid)."""
    return {name: load_section(name) for name in names}


def stage_main(stage: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Run a stage's main(); a UserError becomes one clear line on stderr and exit code 2."""
    def wrap(main: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(main)
        def run() -> None:
            try:
                main()
            except UserError as e:
                print(f"{stage}: error: {e}", file=sys.stderr)
                sys.exit(2)
        return run
    return wrap


def load_rows(folder: str) -> tuple[dict, tuple]:
    """The autoencoder's rows: train and val excerpts (several per song) and test songs, from
    `folder` (data/features, or a layer's codes, which keep that row order), and the song of
    each train and val row (for sdae.excerpt_swap)."""
    import numpy as np

    x = {s: np.load(f"{folder}/{s}_excerpts.npy" if s != "test" else f"{folder}/test.npy",
                    mmap_mode="r") for s in ("train", "val", "test")}
    songs = tuple(np.loadtxt(f"data/features/{s}_excerpts_index.csv", delimiter=",", skiprows=1,
                             usecols=2, dtype=np.int64, ndmin=1) for s in ("train", "val"))
    return x, songs


def load_splits(folder: str, mmap: bool = True) -> dict:
    """{train, val, test} float32 matrices from `folder` (memory-mapped: a copy is made only
    where a stage moves them to the training device)."""
    import numpy as np

    return {s: np.load(f"{folder}/{s}.npy", mmap_mode="r" if mmap else None)
            for s in ("train", "val", "test")}
