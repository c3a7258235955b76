"""The parallel map keeps input order and survives a worker that dies mid-item."""

from __future__ import annotations

import os
import signal

import pytest
from concurrent.futures.process import BrokenProcessPool

from songcoder.parallel import CRASH, imap


def square_or_segfault(x: int) -> int:
    if x == 5:
        os.kill(os.getpid(), signal.SIGSEGV)           # what a crashing decoder does
    return x * x


def test_a_crashed_item_costs_only_itself():
    items = list(range(20))
    seen = []
    out = list(imap(square_or_segfault, items, workers=2, desc="t",
                    on_crash=lambda x, why: seen.append((x, why)) or -1))
    assert seen == [(5, CRASH)]
    assert out == [-1 if x == 5 else x * x for x in items]


def test_without_on_crash_the_crash_is_raised_not_hung():
    with pytest.raises(BrokenProcessPool):
        list(imap(square_or_segfault, range(8), workers=2, desc="t"))
