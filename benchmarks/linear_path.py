"""Why the 21-d code reconstructs real music worse than PCA-21, and a linear path that fixes it.

    PYTHONPATH=src nice -n 10 python benchmarks/linear_path.py \
        --corpus builtin=DATA_DIR --corpus real=DATA_DIR [--only V ...] [--test]

DATA_DIR holds prepare's `features/` (a `make run` or `make real` data folder). Trains in-process
with the library (no DVC, no MLflow), one thread. Every variant is the params.yaml `sdae`
section with a few keys changed (VARIANTS); each is scored on the val split: relative error of
the val songs (one row per song) and same-song halves top-1/MRR of the z-scored code, beside
PCA-21 and the raw vector of the same run. `--test` adds the test split (look once, at the end).
Each corpus writes benchmarks/results/linear_path.NAME.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from songcoder.atomic import save_json
from songcoder.config import SdaeConfig, TrainerConfig, load_section
from songcoder.evaluate.baselines import PCA, mean_predictor
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.retrieval import mrr_halves, top1_halves, zscorer
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import encode, reconstruct

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
W1 = {"loudness_weight": 1.0, "pretrain_loudness_weight": 1.0}
VARIANTS = {
    "default": {},
    "w1": W1,                                          # plain error: what rel_error scores
    "w1_nonoise": {**W1, "noise": 0.0, "finetune_noise": 0.0},
    "w1_nodecay": {**W1, "decay": 0.0},
    "w1_small": {**W1, "layers": [84, 21]},
    "w1_noise5": {**W1, "noise": 0.5, "finetune_noise": 0.5},
    "linear_path": {"linear_path": True},
    "lp_w1": {**W1, "linear_path": True},
    "lp_w1_nonoise": {**W1, "linear_path": True, "noise": 0.0, "finetune_noise": 0.0},
    "w1_rescale": {**W1, "noise_rescale": True},
    "lp_w1_rescale": {**W1, "linear_path": True, "noise_rescale": True},
    "lp_w1_noise05": {**W1, "linear_path": True, "noise": 0.05, "finetune_noise": 0.05},
    "lp_w1_nonoise_swap": {**W1, "linear_path": True, "noise": 0.0, "finetune_noise": 0.0,
                           "excerpt_swap": 0.5},
}


def load(folder: Path) -> dict:
    f = folder / "features"
    x = {s: np.load(f / f"{s}_excerpts.npy") for s in ("train", "val")}
    for s in ("val", "test"):
        x[f"{s}_songs"] = np.load(f / f"{s}.npy")
        x[f"{s}_halves"] = np.load(f / f"{s}_halves.npy")
    songs = tuple(np.loadtxt(f / f"{s}_excerpts_index.csv", delimiter=",", skiprows=1, usecols=2,
                             dtype=np.int64, ndmin=1) for s in ("train", "val"))
    return {"x": x, "songs": songs}


def scores(encode_fn, reconstruct_fn, x: dict, split: str, mean: np.ndarray) -> dict:
    z = zscorer(encode_fn(x["train"]))
    a, b = (z(encode_fn(h)) for h in x[f"{split}_halves"])
    songs = x[f"{split}_songs"]
    return {"rel_error": rel_error(songs, reconstruct_fn(songs), mean),
            "top1_halves": top1_halves(a, b), "mrr_halves": mrr_halves(a, b)}


def run_corpus(name: str, data: dict, base: SdaeConfig, only, splits, log) -> dict:
    trainer = TrainerConfig(accelerator="cpu", devices="1", deterministic=True)
    x = data["x"]
    mean = mean_predictor(x["train"])
    k = base.layers[-1]
    pca = PCA.fit(x["train"], k)
    out = {"rows": {s: len(v) for s, v in x.items()}, "splits": splits, "models": {}}
    ident = lambda a: np.asarray(a, np.float32)                         # noqa: E731
    for s in splits:
        out[f"pca_{k}"] = {**out.get(f"pca_{k}", {}), s: scores(pca.encode, pca.reconstruct, x, s, mean)}
        a, b = x[f"{s}_halves"]
        out["raw"] = {**out.get("raw", {}), s: {"top1_halves": top1_halves(a, b),
                                                "mrr_halves": mrr_halves(a, b)}}
    out[f"pca_{k}"]["train_rel_error"] = rel_error(x["train"], pca.reconstruct(x["train"]), mean)
    log(f"{name} pca_{k}: {out[f'pca_{k}']}  raw: {out['raw']}")
    for variant, over in VARIANTS.items():
        if only and variant not in only:
            continue
        cfg = dataclasses.replace(base, **over)
        t0 = time.process_time()
        metrics, layers, model = sdae.train_all(cfg, trainer, x["train"], x["val"],
                                                songs=data["songs"])
        cpu = time.process_time() - t0
        greedy = sdae.DeepAutoencoder.from_layers(layers)
        row = {"params": over, "cpu_seconds": cpu,
               # under- or over-fitting: the same error on the rows it learned from
               "train_rel_error": rel_error(x["train"], reconstruct(model, x["train"]), mean),
               "finetune_best_epoch": metrics["finetune"]["best_epoch"]}
        for s in splits:
            row[s] = scores(lambda a: encode(model, a), lambda a: reconstruct(model, a), x, s, mean)
            row[s]["greedy_rel_error"] = rel_error(x[f"{s}_songs"],
                                                   reconstruct(greedy, x[f"{s}_songs"]), mean)
        out["models"][variant] = row
        log(f"{name} {variant}: {json.dumps({s: row[s] for s in splits})} "
            f"train {row['train_rel_error']:.3f} best_epoch {row['finetune_best_epoch']} ({cpu:.0f} CPU s)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", action="append", required=True, metavar="NAME=DATA_DIR")
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--only", nargs="*", help="variants to run (default: all)")
    ap.add_argument("--test", action="store_true", help="also score the test split")
    ap.add_argument("--tag", default="", help="suffix of the result file names")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = load_section("sdae", args.params)
    splits = ["val", "test"] if args.test else ["val"]
    log = lambda m: print(time.strftime("%H:%M:%S"), m, flush=True)      # noqa: E731
    for spec in args.corpus:
        name, folder = spec.split("=", 1)
        res = run_corpus(name, load(Path(folder)), base, args.only, splits, log)
        save_json(OUT / f"linear_path.{name}{args.tag}.json", res)


if __name__ == "__main__":
    main()
