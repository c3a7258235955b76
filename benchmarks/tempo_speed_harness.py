"""Score the tempo detector on the cache of benchmarks/tempo_speed_cache.py, in seconds.

  - speed pairs: est(middle 30 s at speed s) / est(original) against s (prepare's
    tempo_speed_acc1/acc2), on the songs of --splits (tune on train,val; test once at the end)
  - at-bound: whole tracks whose estimate is within 0.5 % of min_bpm or max_bpm (all splits)

The detector is whatever `songcoder.features.tempo` PYTHONPATH imports, so branch and main
are compared on the same files by running this twice:

    PYTHONPATH=src python benchmarks/tempo_speed_harness.py --root . --cache real/tempo-cache
    PYTHONPATH=<other checkout>/src python benchmarks/tempo_speed_harness.py --root . \
        --cache real/tempo-cache

(--splits train,val by default). Without --root and --cache (as `make bench` runs it) it says
so and does nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from songcoder.features import layout, tempo
from songcoder.prepare import SPEEDS

MIN_BPM, MAX_BPM = 60.0, 200.0
CENTRES = np.sqrt(layout.LOUDNESS_EDGES_HZ[:-1] * layout.LOUDNESS_EDGES_HZ[1:])


def bpm_of(power: np.ndarray, fps: float) -> float:
    o = tempo.onset_envelope(np.asarray(power, np.float32), CENTRES)
    return tempo.estimate_tempo(o, fps, MIN_BPM, MAX_BPM)[0]


def score_song(job: tuple[Path, bool, bool]) -> dict:
    path, speeds, whole = job
    z = np.load(path)
    fps = float(z["fps"])
    out = {"id": path.stem}
    if speeds:
        out["base"] = bpm_of(z["speed_1"], fps)
        out["fast"] = {s: bpm_of(z[f"speed_{s}"], fps) for s in SPEEDS}
    if whole:
        out["whole"] = bpm_of(z["whole"], fps)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, help="the project folder the cache was built from")
    ap.add_argument("--cache", type=Path, help="benchmarks/tempo_speed_cache.py's --out")
    ap.add_argument("--splits", default="train,val")
    ap.add_argument("--no-whole", action="store_true", help="skip the whole-track bound count")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write per-song results here")
    a = ap.parse_args()
    if a.root is None or a.cache is None:
        print("tempo speed harness skipped: give --root <project> --cache <cache folder>")
        return
    rows = list(csv.DictReader(open(a.root / "data/manifest.csv")))
    splits = set(a.splits.split(","))
    jobs = [(a.cache / f"{r['id']}.npz", r["split"] in splits, not a.no_whole) for r in rows]
    jobs = [j for j in jobs if j[0].exists() and (j[1] or j[2])]
    path_of = {r["id"]: r["path"] for r in rows}
    with Pool(a.workers) as pool:
        res = pool.map(score_song, jobs)
    pairs = [(r["fast"][s] / r["base"], s, r["id"]) for r in res if "fast" in r for s in SPEEDS]
    summary: dict = {"tempo_module": tempo.__file__}
    if pairs:
        hit1, hit2 = tempo.tempo_hits(np.array([p[0] for p in pairs]),
                                      np.array([p[1] for p in pairs]))
        summary.update(speed_pairs=len(pairs), speed_songs=len(pairs) // len(SPEEDS),
                       speed_acc1=round(float(hit1.mean()), 4),
                       speed_acc2=round(float(hit2.mean()), 4))
        summary["speed_misses"] = [f"{path_of[p[2]]} x{p[1]}: ratio {p[0]:.3f}"
                                   for p, h in zip(pairs, hit1) if not h]
    wholes = [(r["whole"], r["id"]) for r in res if "whole" in r]
    if wholes:
        at = [(b, i) for b, i in wholes
              if min(abs(b / MIN_BPM - 1), abs(b / MAX_BPM - 1)) <= 0.005]
        summary.update(whole_tracks=len(wholes), at_bound=len(at),
                       at_bound_fraction=round(len(at) / len(wholes), 4),
                       at_bound_tracks=[f"{path_of[i]} {b:.1f}" for b, i in at])
    print(json.dumps({k: v for k, v in summary.items() if k != "speed_misses"}, indent=1))
    print(f"speed misses ({len(summary.get('speed_misses', []))}):")
    for m in summary.get("speed_misses", []):
        print("  ", m)
    if a.json:
        a.json.write_text(json.dumps({"summary": summary, "songs": res}, indent=1))


if __name__ == "__main__":
    main()
