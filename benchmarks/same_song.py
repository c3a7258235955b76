"""Same-song fine-tuning (issue 12, item 4): does the 21-d code find a song's other half?

    PYTHONPATH=src nice -n 10 python benchmarks/same_song.py --corpus real=DATA_DIR \
        [--only V ...] [--test] [--peer-cache FILE] [--tag T]

DATA_DIR holds prepare's `features/` and `manifest.csv` (a `make run` or `make real` data
folder; manifest paths are read relative to DATA_DIR's parent, the project root). Trains in-process
with the library (`sdae.train`, no DVC, no MLflow), one thread: the params.yaml `sdae` section
with each variant's keys changed (VARIANTS). Variants that differ only in fine-tuning keys share
one greedy pretraining. Each is scored on the val split (relative error of the val songs,
same-song halves top-1/MRR of the z-scored code by euclidean distance, as `evaluate`; cosine
top-1 beside it for information), with PCA-21 (fitted on the same train excerpt rows, and on the
whole-song rows as the `evaluate` stage fits it), the raw vector and the librosa peer
(`evaluate.librosa_baseline`, z-scored by 100 train songs as `evaluate`) of the same run.
`--test` adds the test split: look once, at the end. Writes benchmarks/results/same_song.NAME[TAG].json.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from linear_path import load, parser, scores

from songcoder.atomic import save_json
from songcoder.config import SdaeConfig, TrainerConfig, load_section
from songcoder.evaluate import librosa_baseline
from songcoder.evaluate.baselines import mean_predictor
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.retrieval import mrr_halves, top1_halves, zscorer
from songcoder.pca import PCA
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import encode, reconstruct

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
FINETUNE_KEYS = {"finetune_epochs", "finetune_lr", "finetune_noise", "loudness_weight",
                 "same_song_weight", "same_song_temperature", "same_song_rows", "schedule"}
VARIANTS = {
    "masked_self": {"same_song_weight": 0.0},
    "w1": {"same_song_weight": 1.0},
    "w3": {"same_song_weight": 3.0},
    "w10": {"same_song_weight": 10.0},
    "w30": {"same_song_weight": 30.0},
    "w100": {"same_song_weight": 100.0},
    "w30_rows4": {"same_song_weight": 30.0, "same_song_rows": 4},
    "w30_t05": {"same_song_weight": 30.0, "same_song_temperature": 0.05},
    "w30_t2": {"same_song_weight": 30.0, "same_song_temperature": 0.2},
    "w30_lr1e3": {"same_song_weight": 30.0, "finetune_lr": 1e-3},
    "w10_t2": {"same_song_weight": 10.0, "same_song_temperature": 0.2},
    "w10_t5": {"same_song_weight": 10.0, "same_song_temperature": 0.5},
    "w30_t5": {"same_song_weight": 30.0, "same_song_temperature": 0.5},
    "w10_t2_seed1": {"same_song_weight": 10.0, "same_song_temperature": 0.2, "seed": 1},
    "w30_t2_seed1": {"same_song_weight": 30.0, "same_song_temperature": 0.2, "seed": 1},
    "w10_seed1": {"same_song_weight": 10.0, "seed": 1},
    "w30_t2_b128": {"same_song_weight": 30.0, "same_song_temperature": 0.2, "batch_size": 128},
    "w30_t2_b128_seed1": {"same_song_weight": 30.0, "same_song_temperature": 0.2,
                          "batch_size": 128, "seed": 1},
    "w30_seed1": {"same_song_weight": 30.0, "seed": 1},
    "masked_self_seed1": {"same_song_weight": 0.0, "seed": 1},
}


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def halves_figures(encode_fn, data: dict, split: str) -> dict:
    """top-1 by cosine (for information; `evaluate` and the issue use z-scored euclidean)."""
    a, b = (encode_fn(h) for h in data["x"][f"{split}_halves"])
    return {"top1_halves_cosine": top1_halves(unit(a), unit(b))}


def librosa_peer(folder: Path, splits: list[str], cache: Path | None, workers: int) -> dict:
    """{split: (top1, mrr)} of the librosa peer, z-scored by 100 train songs (seed 0) as the
    `evaluate` stage does; vectors cached in `cache` (one decode of the audio)."""
    f = folder / "features"
    ids = {s: list(dict.fromkeys(r["id"] for r in csv.DictReader(open(f / f"{s}_index.csv"))))
           for s in ("train", "val", "test")}
    if cache is not None and cache.exists():
        v = dict(np.load(cache))
    else:
        with open(folder / "manifest.csv", newline="") as fh:
            by_id = {r["id"]: {**r, "path": str(folder.parent / r["path"])}
                     for r in csv.DictReader(fh)}
        p = librosa_baseline.peer_halves(by_id, ids["val"] + ids["test"], ids["train"], 100,
                                         workers, 0)
        if p.errors:
            raise SystemExit(f"librosa peer: {p.errors}")
        v = {"first": p.first, "second": p.second, "stats": p.stats_rows}
        if cache is not None:
            np.savez(cache, **v)
    z = zscorer(v["stats"])
    n = len(ids["val"])
    part = {"val": slice(0, n), "test": slice(n, None)}
    return {s: {"top1_halves": top1_halves(z(v["first"][part[s]]), z(v["second"][part[s]])),
                "mrr_halves": mrr_halves(z(v["first"][part[s]]), z(v["second"][part[s]]))}
            for s in splits}


def run_corpus(name: str, folder: Path, base: SdaeConfig, only, splits, peer, log) -> dict:
    trainer = TrainerConfig(accelerator="cpu", devices="1", deterministic=True)
    data = load(folder)
    x = data["x"]
    mean = mean_predictor(x["train"])
    k = base.layers[-1]
    pca = PCA.fit(x["train"], k)
    by_song = PCA.fit(data["train_songs"], k)
    out = {"rows": {s: len(v) for s, v in x.items()}, "splits": splits, "models": {},
           "librosa": peer}
    for s in splits:
        a, b = x[f"{s}_halves"]
        out.setdefault(f"pca_{k}", {})[s] = {**scores(pca.encode, pca.reconstruct, data, s, mean),
                                             **halves_figures(pca.encode, data, s)}
        out.setdefault(f"pca_{k}_song_rows", {})[s] = {"rel_error": rel_error(
            x[f"{s}_songs"], by_song.reconstruct(x[f"{s}_songs"]), mean_predictor(data["train_songs"]))}
        out.setdefault("raw", {})[s] = {"top1_halves": top1_halves(a, b),
                                        "mrr_halves": mrr_halves(a, b),
                                        **halves_figures(lambda h: h, data, s)}
    log(f"{name} pca_{k} {out[f'pca_{k}']} raw {out['raw']} librosa {peer}")
    pretrained: dict[str, list] = {}
    for variant, over in VARIANTS.items():
        if only and variant not in only:
            continue
        cfg = dataclasses.replace(base, **over)
        key = repr(dataclasses.replace(cfg, **{f: getattr(base, f) for f in FINETUNE_KEYS}))
        t0 = time.process_time()
        if key not in pretrained:
            _, pretrained[key], _ = sdae.train_all(dataclasses.replace(cfg, finetune_epochs=1),
                                                   trainer, x["train"], x["val"], songs=data["songs"])
        metrics, model = sdae.finetune(cfg, trainer, pretrained[key], x["train"], x["val"],
                                       songs=data["songs"])
        row = {"params": over, "cpu_seconds": time.process_time() - t0,
               "train_rel_error": rel_error(x["train"], reconstruct(model, x["train"]), mean),
               "finetune_best_epoch": metrics["best_epoch"]}
        for s in splits:
            row[s] = {**scores(lambda a: encode(model, a), lambda a: reconstruct(model, a), data, s,
                               mean), **halves_figures(lambda a: encode(model, a), data, s)}
        out["models"][variant] = row
        log(f"{name} {variant}: {json.dumps({s: row[s] for s in splits})} "
            f"train {row['train_rel_error']:.3f} best_epoch {row['finetune_best_epoch']} "
            f"({row['cpu_seconds']:.0f} CPU s)")
    return out


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--peer-cache", type=Path, help="npz of the librosa peer's vectors (reused)")
    ap.add_argument("--workers", type=int, default=2, help="processes for the librosa peer")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = load_section("sdae", args.params)
    splits = ["val", "test"] if args.test else ["val"]
    log = lambda m: print(time.strftime("%H:%M:%S"), m, flush=True)      # noqa: E731
    for spec in args.corpus:
        name, folder = spec.split("=", 1)
        peer = librosa_peer(Path(folder), splits, args.peer_cache, args.workers)
        res = run_corpus(name, Path(folder), base, args.only, splits, peer, log)
        save_json(OUT / f"same_song.{name}{args.tag}.json", res)


if __name__ == "__main__":
    main()
