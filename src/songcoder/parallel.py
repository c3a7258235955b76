"""Ordered parallel map over songs with a progress bar for people.

Workers are spawned (not forked) so a parent that already imported torch or opened an MLflow
store hands nothing fragile to its children; each worker holds one song at a time. A worker
that dies (a decoder segfault on a hostile file) costs that one item, not the run: with
`on_crash` the item is retried alone in a fresh process and, if it kills that one too, its
result is `on_crash(item, reason)`. (`multiprocessing.Pool` would wait forever for it.)
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")
CRASH = "the worker process died while reading it (decoder crash?)"


def progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def imap(fn: Callable[[Any], T], items: Iterable[Any], *, workers: int, desc: str,
         total: int | None = None, unit: str = "song",
         on_crash: Callable[[Any, str], T] | None = None) -> Iterator[T]:
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
        for result in _pooled(fn, items, min(workers, len(items)), on_crash):
            yield result
            bar.update()


def _pooled(fn, items, workers, on_crash):
    ctx = mp.get_context("spawn")
    start = 0
    while start < len(items):
        done = start
        try:
            with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                window: deque = deque()                 # bounded: results wait in input order
                for i in range(start, len(items)):
                    window.append(pool.submit(fn, items[i]))
                    if len(window) >= 4 * workers:
                        yield window.popleft().result()
                        done += 1
                while window:
                    yield window.popleft().result()
                    done += 1
            return
        except BrokenProcessPool:
            if on_crash is None:
                raise
        # items[done] is the first without a result: run it alone to tell who crashed
        with ProcessPoolExecutor(1, mp_context=ctx) as alone:
            try:
                yield alone.submit(fn, items[done]).result()
            except BrokenProcessPool:
                yield on_crash(items[done], CRASH)
        start = done + 1
