"""Why the 21-d code reconstructs real music worse than PCA-21, and a linear path that fixes it.

    PYTHONPATH=src nice -n 10 python benchmarks/linear_path.py \
        --corpus builtin=DATA_DIR --corpus real=DATA_DIR [--only V ...] [--test]

DATA_DIR holds prepare's `features/` (a `make run` or `make real` data folder). Trains in-process
with the library (no DVC, no MLflow), one thread. Every variant is the params.yaml `sdae`
section with a few keys changed (VARIANTS); each is scored on the val split: relative error of
the val songs (one row per song) and same-song halves top-1/MRR of the z-scored code, beside
PCA-21 and the raw vector of the same run. `--test` adds the test split (look once, at the end).
Each corpus writes benchmarks/results/linear_path.NAME[TAG].json; `--report` merges every such
file into linear_path.json and the val table linear_path.md (PCA and raw are deterministic, so
runs of one corpus under different tags share them).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from songcoder.atomic import save_json
from songcoder.config import SdaeConfig, TrainerConfig, load_section
from songcoder.evaluate.baselines import mean_predictor
from songcoder.pca import PCA
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.retrieval import mrr_halves, precision_at_k, top1_halves, zscorer
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import encode, reconstruct

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
W1 = {"loudness_weight": 1.0, "pretrain_loudness_weight": 1.0}
LP = {"linear_path": True, "noise_rescale": True}    # on by default in params.yaml, off in `base`
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
    "lp_rescale": {"linear_path": True, "noise_rescale": True},
    "lp_w1_rescale": {**W1, "linear_path": True, "noise_rescale": True},
    "lp_w1_rescale_noise5": {**W1, "linear_path": True, "noise_rescale": True, "noise": 0.5,
                             "finetune_noise": 0.5},
    "lp_w1_noise05": {**W1, "linear_path": True, "noise": 0.05, "finetune_noise": 0.05},
    "lp_w1_nonoise_swap": {**W1, "linear_path": True, "noise": 0.0, "finetune_noise": 0.0,
                           "excerpt_swap": 0.5},
    # params.yaml's defaults (lp_rescale) under other training seeds: how far one seed's
    # figures can be trusted; then a few of their settings changed
    **{f"lp_rescale_seed{k}": {**LP, "seed": k} for k in range(1, 5)},
    "lp_rescale_batch128": {**LP, "batch_size": 128, "same_song_rows": 4},
    "lp_rescale_same_song100": {**LP, "same_song_weight": 100.0},
    "lp_rescale_w1_plain": {**LP, **W1, "same_song_weight": 0.0},   # reconstruction alone
}


def load(folder: Path) -> dict:
    f = folder / "features"
    x = {s: np.load(f / f"{s}_excerpts.npy") for s in ("train", "val")}
    with open(folder / "manifest.csv", newline="") as fh:
        by_id = {r["id"]: r for r in csv.DictReader(fh)}
    labels = {}
    for s in ("val", "test"):
        x[f"{s}_songs"] = np.load(f / f"{s}.npy")
        x[f"{s}_halves"] = np.load(f / f"{s}_halves.npy")
        with open(f / f"{s}_index.csv", newline="") as fh:
            ids = [r["id"] for r in csv.DictReader(fh)]
        # built-in corpus: the synthetic style; real music: the collection (package) folder
        labels[s] = np.array([by_id[i].get("style") or Path(by_id[i]["path"]).parts[-2]
                              for i in ids])
    songs = tuple(np.loadtxt(f / f"{s}_excerpts_index.csv", delimiter=",", skiprows=1, usecols=2,
                             dtype=np.int64, ndmin=1) for s in ("train", "val"))
    return {"x": x, "songs": songs, "labels": labels, "train_songs": np.load(f / "train.npy")}


def scores(encode_fn, reconstruct_fn, data: dict, split: str, mean: np.ndarray) -> dict:
    x = data["x"]
    z = zscorer(encode_fn(x["train"]))
    a, b = (z(encode_fn(h)) for h in x[f"{split}_halves"])
    songs = x[f"{split}_songs"]
    return {"rel_error": rel_error(songs, reconstruct_fn(songs), mean),
            "top1_halves": top1_halves(a, b), "mrr_halves": mrr_halves(a, b),
            "p_at_10": precision_at_k(z(encode_fn(songs)), data["labels"][split], 10)}


def run_corpus(name: str, data: dict, base: SdaeConfig, only, splits, log) -> dict:
    trainer = TrainerConfig(accelerator="cpu", devices="1", deterministic=True)
    x = data["x"]
    mean = mean_predictor(x["train"])
    k = base.layers[-1]
    pca = PCA.fit(x["train"], k)
    out = {"rows": {s: len(v) for s, v in x.items()}, "splits": splits, "models": {}}
    for s in splits:
        out[f"pca_{k}"] = {**out.get(f"pca_{k}", {}), s: scores(pca.encode, pca.reconstruct, data, s, mean)}
        a, b = x[f"{s}_halves"]
        out["raw"] = {**out.get("raw", {}), s: {
            "top1_halves": top1_halves(a, b), "mrr_halves": mrr_halves(a, b),
            "p_at_10": precision_at_k(x[f"{s}_songs"], data["labels"][s], 10)}}
    out[f"pca_{k}"]["train_rel_error"] = rel_error(x["train"], pca.reconstruct(x["train"]), mean)
    # a PCA fitted on the train songs' whole-song rows only: fewer rows, so a weaker reference;
    # the evaluate stage used it until it switched to the rows the autoencoder learns from
    # (`pca_{k}` here), kept to compare with older results
    by_song = PCA.fit(data["train_songs"], k)
    out[f"pca_{k}_song_rows"] = {s: {"rel_error": rel_error(
        x[f"{s}_songs"], by_song.reconstruct(x[f"{s}_songs"]), mean_predictor(data["train_songs"]))}
        for s in splits}
    log(f"{name} pca_{k}: {out[f'pca_{k}']}  raw: {out['raw']}")
    chosen = {v: over for v, over in VARIANTS.items() if not only or v in only}
    for variant, over in chosen.items():
        t0 = time.process_time()
        metrics, layers, model = sdae.train_all(dataclasses.replace(base, **over), trainer,
                                                x["train"], x["val"], songs=data["songs"])
        cpu = time.process_time() - t0
        greedy = sdae.DeepAutoencoder.from_layers(layers)
        row = {"params": over, "cpu_seconds": cpu,
               # under- or over-fitting: the same error on the rows it learned from
               "train_rel_error": rel_error(x["train"], reconstruct(model, x["train"]), mean),
               "finetune_best_epoch": metrics["finetune"]["best_epoch"]}
        for s in splits:
            row[s] = scores(lambda a: encode(model, a), lambda a: reconstruct(model, a), data, s,
                            mean)
            row[s]["greedy_rel_error"] = rel_error(x[f"{s}_songs"],
                                                   reconstruct(greedy, x[f"{s}_songs"]), mean)
        out["models"][variant] = row
        log(f"{name} {variant}: {json.dumps({s: row[s] for s in splits})} "
            f"train {row['train_rel_error']:.3f} best_epoch {row['finetune_best_epoch']} ({cpu:.0f} CPU s)")
    return out


def report() -> None:
    corpora: dict[str, dict] = {}
    for path in sorted(OUT.glob("linear_path.*.json")):
        name = path.name.split(".")[1]
        res = json.loads(path.read_text())
        c = corpora.setdefault(name, {"models": {}})
        for k, v in res.items():                  # later runs add figures (train error, test)
            if k != "models":
                c[k] = {**c[k], **v} if isinstance(v, dict) and k in c else v
        c["models"].update(res["models"])
    save_json(OUT / "linear_path.json", {"corpora": corpora})
    lines = ["| corpus | variant | val rel. error | vs PCA-21 | greedy | train rel. error | "
             "val halves top-1 | MRR | val p@10 | test rel. error | test top-1 |", "|---" * 11 + "|"]
    for name, c in corpora.items():
        pca = next(k for k in c if k.startswith("pca_") and not k.endswith("song_rows"))
        ref = c[pca]["val"]["rel_error"]
        nan = float("nan")
        rows = [(pca, c[pca]["val"], c[pca].get("train_rel_error", nan), c[pca].get("test", {})),
                ("raw vector", {"rel_error": nan, **c["raw"]["val"]}, nan, c["raw"].get("test", {}))]
        rows += [(v, m["val"], m.get("train_rel_error", nan), m.get("test", {}))
                 for v, m in c["models"].items()]
        for label, val, train, test in rows:
            err = lambda d: f"{d['rel_error']:.3f}" if "rel_error" in d else "—"     # noqa: E731
            lines.append((f"| {name} | {label} | {val['rel_error']:.3f} | "
                         f"{val['rel_error'] / ref:.2f} | {val.get('greedy_rel_error', float('nan')):.3f} | "
                         f"{train:.3f} | {val['top1_halves']:.2f} | {val['mrr_halves']:.2f} | "
                         f"{val.get('p_at_10', float('nan')):.2f} | "
                          f"{err(test)} | {test.get('top1_halves', nan):.2f} |").replace("nan", "—"))
    (OUT / "linear_path.md").write_text("\n".join(lines) + "\n")


def parser(doc: str) -> argparse.ArgumentParser:
    """The options of the SDAE variant benchmarks on prepared corpora (this one, same_song.py)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--corpus", action="append", default=[], metavar="NAME=DATA_DIR")
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--only", nargs="*", help="variants to run (default: all)")
    ap.add_argument("--test", action="store_true", help="also score the test split")
    ap.add_argument("--tag", default="", help="suffix of the result file names")
    return ap


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--report", action="store_true", help="merge the result files into a table")
    args = ap.parse_args()
    if args.report:
        return report()
    torch.set_num_threads(1)
    # "default" is the stack without the linear path, as it was before the path became the
    # default (the variants switch it on by name)
    base = load_section("sdae", args.params).plain_stack()
    splits = ["val", "test"] if args.test else ["val"]
    log = lambda m: print(time.strftime("%H:%M:%S"), m, flush=True)      # noqa: E731
    for spec in args.corpus:
        name, folder = spec.split("=", 1)
        res = run_corpus(name, load(Path(folder)), base, args.only, splits, log)
        save_json(OUT / f"linear_path.{name}{args.tag}.json", res)


if __name__ == "__main__":
    main()
