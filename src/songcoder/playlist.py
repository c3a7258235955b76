"""A DJ's mix: songs ordered so that each step is a short hop in code space between songs whose
tempi fit (the same BPM within a tolerance, or double / half time).

The order is an open path through all songs that tries to minimise the summed step cost
    cost(a, b) = |code_a - code_b| + penalty * [tempi of a and b do not fit]
with `penalty` larger than any code distance, so a tempo clash is taken only when no fitting
song is left. Exact answers are NP-hard (a travelling-salesman path); this is the usual
heuristic: greedy nearest neighbour over k-nearest-neighbour lists (a full scan only when all
of a song's neighbours are used), then 2-opt moves between neighbours until none helps.
Neighbour lists keep it O(n k) per pass after one blocked O(n^2 d) distance sweep, so 20,000
songs take seconds (benchmarks/playlist.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def tempo_fits(bpm_a: np.ndarray | float, bpm_b: np.ndarray | float,
               tolerance: float) -> np.ndarray:
    """True where b's tempo is a's within `tolerance` (0.08 = 8 %), or twice or half of it.
    An unknown tempo (NaN) fits anything: no reason to keep the song out."""
    with np.errstate(invalid="ignore", divide="ignore"):
        octaves = np.abs(np.log2(np.asarray(bpm_b, float) / np.asarray(bpm_a, float)))
        off = np.minimum(octaves, np.abs(octaves - 1.0))     # x2 and x1/2 fold onto x1
        return np.isnan(off) | (off <= math.log2(1.0 + tolerance))


@dataclass(frozen=True)
class Mix:
    order: np.ndarray        # song indices in play order
    steps: np.ndarray        # code distance of each step (len(order) - 1)
    clashes: int             # steps between songs whose tempi do not fit


def _penalty(codes: np.ndarray, tolerance: float | None) -> float:
    if tolerance is None or len(codes) < 2:
        return 0.0
    radius = float(np.sqrt(((codes - codes.mean(axis=0)) ** 2).sum(axis=1)).max())
    return 4.0 * radius + 1.0                  # above any distance (at most 2 * radius)


def neighbours(codes: np.ndarray, log_bpm: np.ndarray, tolerance: float | None, penalty: float,
               k: int, block: int = 256) -> np.ndarray:
    """(n, k) indices of each song's k cheapest next songs, cheapest first.

    Most of the time goes into this n^2 sweep, so: songs are visited in order of their tempo
    folded into one octave (log2 BPM mod 1), and a block of similar tempi is compared only
    with the songs whose folded tempo is within the tolerance (a window of the sorted order;
    all songs when tempo is ignored or unknown; the exact test then runs on that window);
    squared distance + penalty^2 per clash ranks as the step cost does, without a square
    root; float32."""
    n = len(codes)
    k = min(k, n - 1)
    fold = np.mod(log_bpm, 1.0)
    sort = np.argsort(fold, kind="stable")          # NaN (unknown tempo) last
    c = codes[sort].astype(np.float32)
    f = fold[sort].astype(np.float32)
    lb = log_bpm[sort].astype(np.float32)
    known = int(np.isfinite(f).sum())
    sq = (c ** 2).sum(axis=1)
    limit = math.log2(1.0 + tolerance) if tolerance is not None else 0.0
    out = np.empty((n, k), dtype=np.int64)
    everyone = np.arange(n)
    for s in range(0, n, block):
        rows = np.arange(s, min(s + block, n))
        cols = everyone
        if penalty and rows[-1] < known:            # tempo window (circular), + unknown tempi
            lo, hi = f[rows[0]] - limit, f[rows[-1]] + limit
            inside = (f >= lo) & (f <= hi) | (f <= hi - 1.0) | (f >= lo + 1.0) | ~np.isfinite(f)
            cols = np.flatnonzero(inside)
            if len(cols) <= k:
                cols = everyone
        d = c[rows] @ c[cols].T
        d *= -2.0
        d += sq[rows, None]
        d += sq[None, cols]
        if penalty:
            off = np.abs(lb[rows, None] - lb[None, cols])
            np.minimum(off, np.abs(off - 1.0), out=off)
            d += np.float32(penalty ** 2) * (off > limit)    # NaN > limit is False
        at = np.minimum(np.searchsorted(cols, rows), len(cols) - 1)   # each row itself
        own = cols[at] == rows
        d[np.flatnonzero(own), at[own]] = np.inf
        idx = np.argpartition(d, k - 1, axis=1)[:, :k]
        by_cost = np.argsort(np.take_along_axis(d, idx, axis=1), axis=1, kind="stable")
        out[sort[rows]] = sort[cols[np.take_along_axis(idx, by_cost, axis=1)]]
    return out


class _Cost:
    """Step cost on plain Python floats: the 2-opt loop calls it ~10^6 times."""

    def __init__(self, codes: np.ndarray, log_bpm: np.ndarray, tolerance: float | None,
                 penalty: float):
        self.points = [tuple(map(float, c)) for c in codes]
        self.lb = [float(b) for b in log_bpm]
        self.limit = math.log2(1.0 + tolerance) if tolerance is not None else 0.0
        self.penalty = penalty

    def __call__(self, a: int, b: int) -> float:
        d = math.dist(self.points[a], self.points[b])
        if self.penalty:
            octaves = abs(self.lb[a] - self.lb[b])
            if min(octaves, abs(octaves - 1.0)) > self.limit:    # False for NaN (unknown)
                d += self.penalty
        return d


def _greedy(first: int, nbr: list[list[int]], codes: np.ndarray, log_bpm: np.ndarray,
            tolerance: float | None, penalty: float) -> np.ndarray:
    n = len(codes)
    c = codes.astype(np.float32)
    sq = (c ** 2).sum(axis=1)
    lb = log_bpm.astype(np.float32)
    limit = math.log2(1.0 + tolerance) if tolerance is not None else 0.0
    used = np.zeros(n, dtype=bool)
    left = np.arange(n)                     # unused songs, compacted at each full scan
    order = [first]
    used[first] = True
    cur = first
    for _ in range(n - 1):
        nxt = next((j for j in nbr[cur] if not used[j]), -1)
        if nxt < 0:                         # all neighbours used: scan what is left
            left = left[~used[left]]
            d = sq[left] - 2.0 * (c[left] @ c[cur])          # + |c_cur|^2: same for all
            if penalty:
                off = np.abs(lb[left] - lb[cur])
                d += np.float32(penalty ** 2) * (np.minimum(off, np.abs(off - 1.0)) > limit)
            nxt = int(left[np.argmin(d)])
        used[nxt] = True
        order.append(nxt)
        cur = nxt
    return np.array(order, dtype=np.int64)


def _two_opt(t: np.ndarray, nbr: list[list[int]], cost: _Cost, passes: int,
             pinned: bool) -> np.ndarray:
    """Reverse a stretch of the path whenever that joins a song to a cheaper neighbour.
    Both directions of each song are tried; the ends of the path may move too, the first
    song only if not `pinned`."""
    pos = np.empty(len(t), dtype=np.int64)
    pos[t] = np.arange(len(t))
    for _ in range(passes):
        improved = False
        for i in range(len(t)):
            for step in (1, -1):
                improved |= _move(t, pos, i, step, nbr, cost, pinned)
        if not improved:
            break
    return t


def _move(t: np.ndarray, pos: np.ndarray, i: int, step: int, nbr: list[list[int]],
          cost: _Cost, pinned: bool) -> bool:
    """One 2-opt move at t[i]: make a cheaper neighbour w its next song (step 1) or its
    previous one (step -1) by reversing the stretch from that song to w."""
    n, nxt = len(t), i + step
    if not 0 <= nxt < n:
        return False
    u, v = int(t[i]), int(t[nxt])
    cuv = cost(u, v)
    for w in nbr[u]:
        cuw = cost(u, w)
        if cuw >= cuv:
            return False                        # neighbours come cheapest first
        j = int(pos[w])
        if (j - nxt) * step <= 0:               # w must lie beyond v
            continue
        beyond = j + step
        if 0 <= beyond < n:
            x = int(t[beyond])
            old, new = cost(w, x), cost(v, x)
        elif beyond < 0 and pinned:             # would move the first song
            continue
        else:
            old = new = 0.0                     # w is an end of the path
        if cuw + new < cuv + old - 1e-12:
            a, b = min(nxt, j), max(nxt, j)
            t[a:b + 1] = t[a:b + 1][::-1].copy()
            pos[t[a:b + 1]] = np.arange(a, b + 1)
            return True
    return False


def order_songs(codes: np.ndarray, bpm: Sequence[float] | np.ndarray,
                tolerance: float | None = 0.08, first: int | None = None, k: int = 10,
                passes: int = 4) -> Mix:
    """Order every song into one mix. `tolerance` None ignores tempo; `first` starts the mix
    there (default: the song farthest from the collection's centre, an end of it)."""
    codes = np.asarray(codes, dtype=np.float64)
    bpm = np.asarray(bpm, dtype=np.float64)
    n = len(codes)
    if n == 0:
        return Mix(np.zeros(0, dtype=np.int64), np.zeros(0), 0)
    pinned = first is not None
    if first is None:
        first = int(np.argmax(((codes - codes.mean(axis=0)) ** 2).sum(axis=1)))
    if n == 1:
        return Mix(np.array([first]), np.zeros(0), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_bpm = np.log2(np.where(bpm > 0, bpm, np.nan))
    penalty = _penalty(codes, tolerance)
    nbr = neighbours(codes, log_bpm, tolerance, penalty, k).tolist()
    cost = _Cost(codes, log_bpm, tolerance, penalty)
    t = _greedy(first, nbr, codes, log_bpm, tolerance, penalty)
    t = _two_opt(t, nbr, cost, passes, pinned)
    steps = np.sqrt(((codes[t[1:]] - codes[t[:-1]]) ** 2).sum(axis=1))
    clashes = 0 if tolerance is None else int((~tempo_fits(bpm[t[:-1]], bpm[t[1:]],
                                                           tolerance)).sum())
    return Mix(t, steps, clashes)


def m3u(entries: Sequence[tuple[str, float | None, str]]) -> str:
    """Extended M3U: (path, seconds or None, title) per song, in play order."""
    lines = ["#EXTM3U"]
    for path, seconds, title in entries:
        length = -1 if seconds is None or not math.isfinite(seconds) else round(seconds)
        lines += [f"#EXTINF:{length},{title}", path]
    return "\n".join(lines) + "\n"
