"""Playlist: time and quality of `songcoder.playlist.order_songs` on a collection of --songs
made-up songs (21-d codes in clusters, a tempo per cluster with a few double-time songs).

    PYTHONPATH=src python benchmarks/playlist.py [--songs 20000] [--small 2000]

For each size: wall and CPU seconds (the machine may be shared), mean step (code distance) and tempo clashes of the mix, next to a
random order and to greedy nearest neighbour without 2-opt, all in the same run on the same
songs. Writes benchmarks/results/playlist.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from songcoder.playlist import order_songs, tempo_fits

RESULTS = Path(__file__).resolve().parent / "results" / "playlist.json"


def collection(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes: 1 cluster per ~100 songs (genres, albums) in 21-d; tempo: the cluster's, +-3 %,
    a tenth of the songs at double or half time."""
    rng = np.random.default_rng(seed)
    k = max(n // 100, 2)
    centres = rng.normal(size=(k, 21))
    label = rng.integers(0, k, n)
    codes = centres[label] + 0.35 * rng.normal(size=(n, 21))
    bpm = rng.uniform(70, 175, k)[label] * rng.uniform(0.97, 1.03, n)
    bpm *= rng.choice([0.5, 1.0, 2.0], n, p=[0.05, 0.9, 0.05])
    return codes.astype(np.float32), bpm


def figures(codes: np.ndarray, bpm: np.ndarray, order: np.ndarray, tol: float) -> dict:
    steps = np.sqrt(((codes[order[1:]] - codes[order[:-1]]) ** 2).sum(axis=1))
    return {"mean_step": round(float(steps.mean()), 4),
            "p95_step": round(float(np.quantile(steps, 0.95)), 4),
            "tempo_clashes": int((~tempo_fits(bpm[order[:-1]], bpm[order[1:]], tol)).sum())}


def measure(n: int, tol: float) -> dict:
    codes, bpm = collection(n)
    out = {"random_order": figures(codes, bpm, np.random.default_rng(1).permutation(n), tol)}
    for name, passes in (("greedy_only", 0), ("greedy_2opt", 4)):
        t0, c0 = time.perf_counter(), time.process_time()
        mix = order_songs(codes, bpm, tolerance=tol, passes=passes)
        out[name] = {"seconds": round(time.perf_counter() - t0, 2),
                     "cpu_seconds": round(time.process_time() - c0, 2),
                     **figures(codes, bpm, mix.order, tol)}
        assert sorted(mix.order.tolist()) == list(range(n)), "every song exactly once"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=20000)
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--tolerance", type=float, default=0.06)
    args = ap.parse_args()
    result = {"config": {"songs": args.songs, "small": args.small, "tolerance": args.tolerance,
                         "cpus": os.cpu_count(), "python": platform.python_version(),
                         "load_avg_at_start": os.getloadavg()},
              "runs": {str(n): measure(n, args.tolerance) for n in (args.small, args.songs)}}
    result["config"]["load_avg_at_end"] = os.getloadavg()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
