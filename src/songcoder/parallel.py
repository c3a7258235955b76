"""Ordered parallel map over songs with a progress bar for people.

Workers are spawned (not forked) so a parent that already imported torch or opened an MLflow
store hands nothing fragile to its children; each worker holds one song at a time.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def imap(fn: Callable[[Any], T], items: Iterable[Any], *, workers: int, desc: str,
         total: int | None = None, unit: str = "song") -> Iterator[T]:
    """Yield fn(item) in input order; `fn` must be a module-level function."""
    items = list(items)
    bar = tqdm(total=total or len(items), desc=desc, unit=unit, disable=not progress_enabled(),
               dynamic_ncols=True)
    with bar:
        if workers <= 1 or len(items) <= 1:
            for item in items:
                yield fn(item)
                bar.update()
            return
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(workers, len(items))) as pool:
            for result in pool.imap(fn, items, chunksize=1):
                yield result
                bar.update()
