"""Cache the loudness-band power of the make-real corpus for the tempo speed harness.

For every song of a manifest: the whole track's 30 loudness bands (float16, for the at-bound
count) and, for train/val/test songs, the middle `seconds` at speeds 1, 0.8, 0.9, 1.12, 1.25
(resample_poly exactly as prepare.speed_ratios). One npz per song under --out, so a detector
variant is scored by benchmarks/tempo_speed_harness.py in seconds without decoding again.

    python benchmarks/tempo_speed_cache.py --root . --out real/tempo-cache   # after `make real`

Without --root and --out (as `make bench` runs it) it says so and does nothing.
"""

from __future__ import annotations

import argparse
import csv
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from songcoder.audio.io import load
from songcoder.features import extract, layout
from songcoder.prepare import SPEEDS


def loud_power(x: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """(frames, 30) loudness-band power and frames/s, exactly as song_features computes them."""
    if x.ndim == 1:
        x = x[:, None]
    x = np.ascontiguousarray(x, np.float32)
    plan = extract._plan(int(sr), x.shape[1], 11025)
    if len(x) < plan.q * (plan.mix.shape[1] + 1):
        x = np.pad(x, ((0, plan.q * (plan.mix.shape[1] + 1) - len(x)), (0, 0)))
    power = extract._band_power(extract._mono_decimated(x, plan), plan)
    return power[:, : layout.LOUDNESS_BANDS], plan.rate / plan.hop


def one(job: tuple[dict[str, str], Path, Path, float]) -> str:
    row, root, out, seconds = job
    dest = out / f"{row['id']}.npz"
    if dest.exists():
        return f"{row['id']} cached"
    try:
        x, sr = load(root / row["path"])
    except Exception as e:  # noqa: BLE001 - a bad file is reported, the others go on
        return f"{row['path']}: {e}"
    whole, fps = loud_power(x, sr)
    n = min(len(x), int(round(seconds * sr)))
    clip = x[(len(x) - n) // 2:(len(x) - n) // 2 + n]
    arrays = {"whole": whole.astype(np.float16), "fps": np.float64(fps),
              "speed_1": loud_power(clip, sr)[0]}
    for s, (up, down) in SPEEDS.items():
        arrays[f"speed_{s}"] = loud_power(resample_poly(clip, up, down, axis=0).astype(np.float32),
                                          sr)[0]
    np.savez(dest, **arrays)
    return f"{row['id']} {row['path']} done"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, help="a project folder after `make real`")
    ap.add_argument("--out", type=Path, help="cache folder (e.g. real/tempo-cache)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if a.root is None or a.out is None:
        print("tempo speed cache skipped: give --root <project after make real> --out <folder>")
        return
    a.out.mkdir(parents=True, exist_ok=True)
    rows = list(csv.DictReader(open(a.root / "data/manifest.csv")))
    with Pool(a.workers) as pool:
        jobs = [(r, a.root, a.out, a.seconds) for r in rows]
        for i, msg in enumerate(pool.imap_unordered(one, jobs)):
            print(f"[{i + 1}/{len(rows)}] {msg}", flush=True)


if __name__ == "__main__":
    main()
