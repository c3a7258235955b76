"""Which timbre features would let the song vector know a song? (issue 12, items 4/5; no training)

    PYTHONPATH=src nice -n 10 python benchmarks/timbre_groups.py --data DATA_DIR \
        [--workers 2] [--train-songs 100] [--split val] [--tag T]

DATA_DIR is a prepared real corpus (`make real`'s data folder: manifest.csv, features/*_index.csv;
manifest paths relative to DATA_DIR's parent). Every val song is decoded once and cut in halves
exactly as `prepare` cuts them (`audio.io.halves` of the decoded file); each half gets every candidate
group below. The same 100 train songs as the `evaluate` stage's librosa peer (seed 0 sample) give
both halves each as z-scoring rows. Reported: raw same-song halves top-1 / MRR (z-scored,
euclidean, as `evaluate`) of each group alone and of the seed vector plus groups, each group
scaled to equal weight (z-scored columns divided by sqrt(group width)).

Groups (per half):
  seed           the 1482-d vector (song_features, seed set)
  ext_timbre/ext_contrast/ext_chroma   today's `extended` groups (band cepstrum below 5.5 kHz, ...)
  mfcc_full      full-band MFCC: 40 mel bands 30 Hz - 11025 Hz of a ~46 ms STFT at the file's own
                 rate (>= 22050 Hz), hop ~23 ms, dB (80 dB below the half's peak at most),
                 20 coefficients: mean, std, std of the 0.1 s change
  mfcc_cov       upper triangle of the covariance of MFCC 1..12 over frames (78)
  contrast_full  octave-band contrast 200 Hz - 11025 Hz (6 bands + a valley band): mean, std
  librosa        the `evaluate` peer (MFCC 20 mean+std, chroma, contrast, tempogram) and its parts
Per-song results are cached in cache/timbre_groups (git-ignored).
Writes benchmarks/results/timbre_groups[TAG].json.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import scipy.fft

from songcoder.atomic import save_json
from songcoder.audio.io import halves, load, resample
from songcoder.evaluate import librosa_baseline
from songcoder.evaluate.retrieval import mrr_halves, top1_halves, zscorer
from songcoder.features import layout
from songcoder.features.extract import song_features
from songcoder.parallel import imap

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
CACHE = ROOT / "cache" / "timbre_groups"
VERSION = 1                       # bump when a group's definition changes (cache key)

FMIN, FMAX = 30.0, 11025.0
MELS, CEPSTRA, COV_CEPSTRA = 40, 20, 12
TOP_DB = 80.0


def _mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def _mel_inv(m):
    return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def _tri(f: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(bins, len(edges) - 2) triangular filters on frequency edges (Slaney-like, area 1)."""
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (f[None] - lo) / (mid - lo)
    down = (hi - f[None]) / (hi - mid)
    w = np.clip(np.minimum(up, down), 0.0, None)
    return (w * (2.0 / (hi - lo))).T.astype(np.float32)


def fullband_frames(y: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """Mono half at its own rate -> (frames, bins) power of a ~46 ms Hann STFT, hop ~23 ms."""
    n_fft = scipy.fft.next_fast_len(int(round(0.0464 * sr)), real=True)
    hop = int(round(0.0232 * sr))
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    out = []
    for b in range(0, len(frames), 4096):
        s = scipy.fft.rfft(frames[b:b + 4096] * np.hanning(n_fft).astype(np.float32), axis=1)
        out.append((s.real ** 2 + s.imag ** 2).astype(np.float32))
    return np.concatenate(out), sr / n_fft


def fullband_groups(y: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    power, df = fullband_frames(y, sr)
    f = np.arange(power.shape[1]) * df
    fps = sr / int(round(0.0232 * sr))
    edges = _mel_inv(np.linspace(_mel(FMIN), _mel(min(FMAX, sr / 2)), MELS + 2))
    mel = power @ _tri(f, edges)
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - TOP_DB)
    c = scipy.fft.dct(db, type=2, norm="ortho", axis=1)[:, :CEPSTRA]
    lag = max(1, int(round(0.1 * fps)))
    d = c[lag:] - c[:-lag]
    cc = c[:, 1:COV_CEPSTRA + 1]
    cov = np.cov(cc, rowvar=False)
    iu = np.triu_indices(COV_CEPSTRA)
    # contrast: octave bands from 200 Hz, the last to 11025 Hz, plus 0-200 Hz
    cedges = np.array([0.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0, min(FMAX, sr / 2)])
    pdb = 10 * np.log10(power + 1e-10)
    con = []
    for lo, hi in zip(cedges[:-1], cedges[1:]):
        cols = pdb[:, (f >= lo) & (f < hi)]
        srt = np.sort(cols, axis=1)
        k = max(1, int(0.1 * cols.shape[1]))
        con.append(srt[:, -k:].mean(1) - srt[:, :k].mean(1))
    con = np.stack(con, 1)
    return {"mfcc_mean": c.mean(0), "mfcc_std": c.std(0), "mfcc_dstd": d.std(0),
            "mfcc_cov": cov[iu], "contrast_full": np.concatenate([con.mean(0), con.std(0)])}


def half_groups(x: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    v = song_features(x, sr, feature_set="extended").vector
    g = layout.groups(len(v))
    out = {"seed": v[:layout.DIM]}
    out.update({f"ext_{k}": v[g[k]] for k in ("timbre", "contrast", "chroma")})
    y = x.mean(axis=1)
    out.update(fullband_groups(y, sr))
    lib = librosa_baseline.features(resample(y, sr, librosa_baseline.SAMPLE_RATE))
    out.update({f"librosa_{k}": lib[s] for k, s in librosa_baseline.GROUPS.items()})
    return {k: np.asarray(a, np.float32) for k, a in out.items()}


def song_groups(row: dict) -> dict:
    cache = CACHE / f"{row['id']}.v{VERSION}.npz"
    if cache.exists():
        return dict(np.load(cache))
    t0 = time.perf_counter()
    x, sr = load(row["path"])
    a, b = (half_groups(h, sr) for h in halves(x))
    out = {k: np.stack([a[k], b[k]]) for k in a}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    print(f"{time.strftime('%H:%M:%S')} {row['id']} {len(x) / sr:.0f} s audio "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)
    return out


SEED4 = ["rhythm_low", "rhythm_mid", "rhythm_high", "loudness"]
EXT = ["ext_timbre", "ext_contrast", "ext_chroma"]
COMBOS = {
    "seed (as evaluate: one block)": ["seed"],
    "seed, 4 groups equal": SEED4,
    "rhythm (3 groups)": SEED4[:3],
    "loudness": ["loudness"],
    "ext_timbre": ["ext_timbre"],
    "ext_contrast": ["ext_contrast"],
    "ext_chroma": ["ext_chroma"],
    "mfcc_full (mean+std+dstd)": ["mfcc_full"],
    "mfcc_full mean+std": ["mfcc_mean", "mfcc_std"],
    "mfcc_cov": ["mfcc_cov"],
    "contrast_full": ["contrast_full"],
    "librosa (peer, as evaluate: one block)": ["librosa"],
    "librosa_mfcc": ["librosa_mfcc"],
    "librosa_chroma": ["librosa_chroma"],
    "librosa_contrast": ["librosa_contrast"],
    "librosa_tempogram": ["librosa_tempogram"],
    "extended today, one block (as the code's input)": ["extended"],
    "seed + ext groups, equal": ["seed"] + EXT,
    "seed 4 + ext groups, equal": SEED4 + EXT,
    "seed + mfcc_full": ["seed", "mfcc_full"],
    "seed + mfcc_full + mfcc_cov": ["seed", "mfcc_full", "mfcc_cov"],
    "seed + mfcc_full + ext_contrast + ext_chroma": ["seed", "mfcc_full", "ext_contrast", "ext_chroma"],
    "seed + mfcc_full + contrast_full + ext_chroma": ["seed", "mfcc_full", "contrast_full", "ext_chroma"],
    "seed + ext groups + mfcc_full": ["seed"] + EXT + ["mfcc_full"],
    "seed + ext groups + mfcc_full + contrast_full": ["seed"] + EXT + ["mfcc_full", "contrast_full"],
    "seed + ext groups + mfcc_full + mfcc_cov": ["seed"] + EXT + ["mfcc_full", "mfcc_cov"],
    "seed 4 + mfcc_full + ext_contrast + ext_chroma": SEED4 + ["mfcc_full", "ext_contrast", "ext_chroma"],
    "seed 4 + ext groups + mfcc_full": SEED4 + EXT + ["mfcc_full"],
    "ext groups + mfcc_full (no seed)": EXT + ["mfcc_full"],
}


def block(groups: dict, name: str) -> np.ndarray:
    """(..., d) columns of a named block (a stored group, or a union of them)."""
    if name == "mfcc_full":
        return np.concatenate([groups[k] for k in ("mfcc_mean", "mfcc_std", "mfcc_dstd")], -1)
    if name == "librosa":
        return np.concatenate([groups[f"librosa_{k}"] for k in librosa_baseline.GROUPS], -1)
    if name == "extended":
        return np.concatenate([groups["seed"]] + [groups[k] for k in EXT], -1)
    if name in layout.GROUPS:
        return groups["seed"][..., layout.GROUPS[name]]
    return np.nan_to_num(groups[name])     # contrast_full of an 11025 Hz file: empty band


def score(test: dict, train: dict, names: list[str]) -> dict:
    """Top-1/MRR of the blocks z-scored by train rows, each block weighted equally."""
    parts = []
    for n in names:
        z = zscorer(block(train, n).reshape(-1, block(train, n).shape[-1]))
        x = z(block(test, n))                               # (songs, 2, d)
        parts.append(x / np.sqrt(x.shape[-1]) if len(names) > 1 else x)
    v = np.concatenate(parts, -1)
    return {"top1_halves": top1_halves(v[:, 0], v[:, 1]), "mrr_halves": mrr_halves(v[:, 0], v[:, 1]),
            "dim": int(v.shape[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a prepared real corpus's data folder")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--train-songs", type=int, default=100)
    ap.add_argument("--split", default="val", choices=["val", "test"])
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    if args.data is None:           # `make bench` runs every benchmark without arguments
        print("timbre groups skipped: give --data <a make real data folder>, e.g. --data data")
        return
    f = args.data / "features"
    ids = {s: list(dict.fromkeys(r["id"] for r in csv.DictReader(open(f / f"{s}_index.csv"))))
           for s in ("train", args.split)}
    with open(args.data / "manifest.csv", newline="") as fh:
        by_id = {r["id"]: {**r, "path": str(args.data.parent / r["path"])} for r in csv.DictReader(fh)}
    # the evaluate stage's sample of train songs (librosa_baseline.peer_halves, seed 0)
    rng = np.random.default_rng(0)
    n = min(args.train_songs, len(ids["train"]))
    sample = [ids["train"][k] for k in sorted(rng.choice(len(ids["train"]), n, replace=False))]
    rows = [by_id[i] for i in ids[args.split] + sample]
    t0 = time.perf_counter()
    with librosa_baseline._numba_cache_dir(librosa_baseline.numba_cache()):
        done = list(imap(song_groups, rows, workers=args.workers, desc="timbre groups"))
    wall = time.perf_counter() - t0
    k = len(ids[args.split])
    stack = lambda part: {g: np.stack([d[g] for d in part]) for g in part[0]}   # noqa: E731
    test, train = stack(done[:k]), stack(done[k:])
    res = {"split": args.split, "songs": k, "train_songs": n, "wall_seconds": round(wall, 1),
           "figures": {name: score(test, train, names) for name, names in COMBOS.items()}}
    for name, r in res["figures"].items():
        print(f"{name:90s} top1 {r['top1_halves']:.3f} mrr {r['mrr_halves']:.3f} d {r['dim']}")
    save_json(OUT / f"timbre_groups{args.tag}.json", res)


if __name__ == "__main__":
    main()
