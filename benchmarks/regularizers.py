"""Seed 003's rank-ordered and seed 004's sparse codes, measured on songs beside the plain SDAE.

    PYTHONPATH=src nice -n 10 python benchmarks/regularizers.py \
        --corpus builtin=DATA_DIR --corpus real=DATA_DIR [--pretrain-epochs N] [--finetune-epochs N]

DATA_DIR holds prepare's `features/` and `manifest.csv` (a `make run` or `make real` data folder).
Trains in-process with the library (no DVC, no MLflow), one thread, on each corpus:
  plain          the defaults (tanh, no regularizer)
  rank_ordered   sdae.regularizer rank_ordered with trelu units (seed 003's; pretrain_loudness_weight
                 1, as measured: the cost had no per-feature weights then), fine-tuned as usual
  rank_ordered+ft  the same pretrained layers, fine-tuned with sdae.finetune_rank_ordered
  plain_trelu    the plain model with trelu units: the rank-ordered model's like-for-like peer
  plain_trelu_w1 ... also with pretrain_loudness_weight 1, as rank_ordered
  sparse         sdae.regularizer sparse, activation sigmoid (the KL cost needs codes in (0, 1))
  plain_sigmoid  the plain model with sigmoid units: the sparse model's like-for-like peer
and for each: test and val relative error, val same-song halves top-1/MRR and p@10 (style on the
built-in corpus, collection folder on real music), rho-hat and near-zero share of the test codes,
and on test the prefix-k curve (each song's k most active units, the rest 0), the greedy best
fixed k units (evaluate/codes.py) and PCA-k. The rank-ordered greedy stack (before fine-tuning)
gets a prefix curve too: what fine-tuning keeps of the order.
Each corpus writes benchmarks/results/regularizers.NAME.json; `--report NAME...` merges them into
regularizers.{json,md}, regularizers_prefix_k.png and regularizers_rho_hat.png.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from songcoder.atomic import save_json, save_text
from songcoder.config import SdaeConfig, TrainerConfig, load_section
from songcoder.evaluate.baselines import mean_predictor
from songcoder.pca import PCA
from songcoder.evaluate.codes import activation_stats, best_units, pca_curve, prefix_curve
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.plots import _save, plt
from songcoder.evaluate.retrieval import mrr_halves, precision_at_k, top1_halves, zscorer
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import encode, reconstruct
from songcoder.sdae.stack import DeepAutoencoder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
# rank_ordered with TReLU units, as seed 003 and sdae/README.md use it (0 = off, sorted by a
# non-negative activation); each regularizer has a plain peer with the same units
VARIANTS = {
    "plain": {},
    "rank_ordered": {"regularizer": "rank_ordered", "activation": "trelu",
                     "pretrain_loudness_weight": 1.0},
    "plain_trelu": {"activation": "trelu"},
    # the rank-ordered model's layer 1 has no loudness weight (its cost had none when measured)
    "plain_trelu_w1": {"activation": "trelu", "pretrain_loudness_weight": 1.0},
    "sparse": {"regularizer": "sparse", "activation": "sigmoid"},
    "plain_sigmoid": {"activation": "sigmoid"},
}
SELECT_ROWS = 256     # train rows scoring the greedy unit choice (as evaluate/codes.py)


def load(folder: Path) -> dict:
    f = folder / "features"
    x = {s: np.load(f / f"{s}_excerpts.npy") for s in ("train", "val")}
    x["test"] = np.load(f / "test.npy")
    x["val_songs"] = np.load(f / "val.npy")
    songs = tuple(np.loadtxt(f / f"{s}_excerpts_index.csv", delimiter=",", skiprows=1, usecols=2,
                             dtype=np.int64, ndmin=1) for s in ("train", "val"))
    with open(folder / "manifest.csv", newline="") as fh:
        by_id = {r["id"]: r for r in csv.DictReader(fh)}
    with open(f / "val_index.csv", newline="") as fh:
        ids = [r["id"] for r in csv.DictReader(fh)]
    # built-in corpus: the synthetic style; real music: the collection (package) folder
    label = [by_id[i].get("style") or Path(by_id[i]["path"]).parts[-2] for i in ids]
    return {"x": x, "songs": songs, "halves": np.load(f / "val_halves.npy"),
            "labels": np.array(label)}


def flattening(history: list[dict]) -> dict:
    """Best val error and how much the last fifth of the epochs still gained (flat: ~0)."""
    v = [h["val_rel_error"] for h in history if "val_rel_error" in h]
    tail = max(1, len(v) // 5)
    return {"epochs": len(v), "best": min(v), "best_epoch": int(np.argmin(v)),
            "gain_last_fifth": min(v[:-tail] or v) - min(v)}


def measure(model: DeepAutoencoder, data: dict, pca: PCA) -> dict:
    x = data["x"]
    mean = mean_predictor(x["train"])
    z = zscorer(encode(model, x["train"]))
    code = lambda a: z(encode(model, a))                            # noqa: E731
    a, b = data["halves"]
    h_test = encode(model, x["test"])
    select = x["train"][np.linspace(0, len(x["train"]) - 1,
                                    min(SELECT_ROWS, len(x["train"]))).astype(int)]
    mean_code = encode(model, x["train"]).mean(0)
    best, order = best_units(model, select, x["test"], mean, mean_code)
    best_zero, _ = best_units(model, select, x["test"], mean, np.zeros_like(mean_code))
    return {
        "test_rel_error": rel_error(x["test"], reconstruct(model, x["test"]), mean),
        "val_rel_error": rel_error(x["val_songs"], reconstruct(model, x["val_songs"]), mean),
        "val_top1_halves": top1_halves(code(a), code(b)),
        "val_mrr_halves": mrr_halves(code(a), code(b)),
        "val_p_at_10": precision_at_k(code(x["val_songs"]), data["labels"], 10),
        **activation_stats(h_test),
        "prefix_k": prefix_curve(model, x["test"], mean),
        "best_units": best, "best_units_order": order,
        # the rest at 0 instead of the train mean code; the table and figure use the better
        "best_units_zero": best_zero,
    }


def references(data: dict, pca: PCA, n: int) -> dict:
    x, (a, b) = data["x"], data["halves"]
    mean = mean_predictor(x["train"])
    p = pca.truncated(n)
    z = zscorer(p.encode(x["train"]))
    return {"pca_k": pca_curve(pca, x["test"], mean, n),
            f"pca_{n}": {"val_rel_error": rel_error(x["val_songs"], p.reconstruct(x["val_songs"]),
                                                    mean),
                         "val_top1_halves": top1_halves(z(p.encode(a)), z(p.encode(b))),
                         "val_mrr_halves": mrr_halves(z(p.encode(a)), z(p.encode(b))),
                         "val_p_at_10": precision_at_k(z(p.encode(x["val_songs"])),
                                                       data["labels"], 10)},
            "raw": {"val_top1_halves": top1_halves(a, b), "val_mrr_halves": mrr_halves(a, b),
                    "val_p_at_10": precision_at_k(x["val_songs"], data["labels"], 10)}}


def run_corpus(name: str, data: dict, base: SdaeConfig, log, only: list[str] | None) -> dict:
    trainer = TrainerConfig(accelerator="cpu", devices="1", deterministic=True)
    x = data["x"]
    pca = PCA.fit(x["train"], base.layers[-1])
    out = {"rows": {k: len(v) for k, v in x.items()}, "val_halves_songs": int(data["halves"].shape[1]),
           **references(data, pca, base.layers[-1]), "models": {}}
    for variant, over in VARIANTS.items():
        if only and variant not in only:
            continue
        cfg = dataclasses.replace(base, **over)
        t0 = time.process_time()
        metrics, layers, model = sdae.train_all(cfg, trainer, x["train"], x["val"],
                                                songs=data["songs"])
        runs = {variant: (model, metrics["finetune"])}
        if variant == "rank_ordered":
            runs["rank_ordered_greedy"] = (DeepAutoencoder.from_layers(layers), None)
            m, ft = sdae.finetune(dataclasses.replace(cfg, finetune_rank_ordered=True), trainer,
                                  layers, x["train"], x["val"], songs=data["songs"])
            runs["rank_ordered+ft"] = (ft, m)
        cpu = time.process_time() - t0
        for label, (net, fine) in runs.items():
            row = measure(net, data, pca)
            row["pretrain"] = {k: flattening(v["history"]) for k, v in metrics.items()
                               if k.startswith("pretrain_")}
            if fine is not None:
                row["finetune"] = flattening(fine["history"])
            row["cpu_seconds_training"] = cpu
            out["models"][label] = row
            log(f"{name} {label}: test {row['test_rel_error']:.4f} val {row['val_rel_error']:.4f} "
                f"top1 {row['val_top1_halves']:.2f} p@10 {row['val_p_at_10']:.2f} "
                f"near0 {row['near_zero']:.2f} prefix1 {row['prefix_k'][0]:.3f} "
                f"(training {cpu:.0f} CPU s)")
    return out


def either(row: dict) -> list[float]:
    """Greedy best units with the rest at the train mean code or at 0, the lower error per k."""
    return [min(a, b) for a, b in zip(row["best_units"], row["best_units_zero"])]


def figure(results: dict, path: Path) -> Path:
    corpora = results["corpora"]
    fig, axes = plt.subplots(1, len(corpora), figsize=(5.5 * len(corpora), 4), squeeze=False)
    lines = (("rank_ordered+ft", "prefix_k", "o-", "rank-ordered, fine-tuned keeping the order: most active k"),
             ("rank_ordered", "prefix_k", "o--", "rank-ordered, plain fine-tuning: most active k"),
             ("rank_ordered_greedy", "prefix_k", "x:", "rank-ordered greedy stack: most active k"),
             ("plain", "prefix_k", "v--", "plain: most active k"),
             ("plain", "best_units_either", "s-", "plain: best fixed k units (greedy)"))
    for ax, (name, res) in zip(axes[0], corpora.items()):
        for model, key, style, label in lines:
            ys = either(res["models"][model]) if key == "best_units_either" else res["models"][model][key]
            ax.plot(range(1, len(ys) + 1), ys, style, label=label, markersize=4)
        ax.plot(range(1, len(res["pca_k"]) + 1), res["pca_k"], "k^-", label="PCA: first k components",
                markersize=4)
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_ylim(0, 1.3)
        ax.set_xlabel("k (code units or components used)")
        ax.set_ylabel("test relative error")
        ax.set_title(f"{name} corpus", fontsize=10)
    axes[0][0].legend(fontsize=7)
    return _save(fig, path)


def rho_figure(results: dict, path: Path) -> Path:
    """Histograms of each unit's mean activation on the test songs, regularized vs plain peer."""
    pairs = (("sparse", "plain_sigmoid"), ("rank_ordered+ft", "plain_trelu"), ("plain", None))
    corpora = results["corpora"]
    fig, axes = plt.subplots(len(corpora), len(pairs), figsize=(4 * len(pairs), 3 * len(corpora)),
                             squeeze=False)
    for row, (name, res) in zip(axes, corpora.items()):
        for ax, pair in zip(row, pairs):
            for model in filter(None, pair):
                r = res["models"][model]
                ax.hist(r["rho_hat"], bins=np.linspace(-1, 1, 41), alpha=0.6,
                        label=f"{model} (|h| < {r['near_zero_threshold']}: {r['near_zero']:.0%})")
            ax.set_title(f"{name}", fontsize=9)
            ax.set_xlabel("rho-hat: a unit's mean activation")
            ax.set_ylabel("units")
            ax.legend(fontsize=7)
    return _save(fig, path)


def table(results: dict) -> str:
    cols = ("test_rel_error", "val_rel_error", "val_top1_halves", "val_mrr_halves", "val_p_at_10",
            "rho_hat_mean", "near_zero")
    out = []
    for name, res in results["corpora"].items():
        out.append(f"\n**{name}** ({res['rows']['train']} train rows, {res['val_halves_songs']} "
                   f"val songs for halves)\n")
        out.append("| model | " + " | ".join(cols) + " | prefix k=1 / 5 / 10 | best units k=1 / 5 / 10 |")
        out.append("|---" * (len(cols) + 3) + "|")
        for model, r in res["models"].items():
            p, b = r["prefix_k"], either(r)
            out.append(f"| {model} | " + " | ".join(f"{r[c]:.3f}" for c in cols)
                       + f" | {p[0]:.3f} / {p[4]:.3f} / {p[9]:.3f} | {b[0]:.3f} / {b[4]:.3f} / {b[9]:.3f} |")
        n = len(res["pca_k"])
        ref = res[f"pca_{n}"]
        pk = res["pca_k"]
        out.append(f"| PCA-{n} | {pk[-1]:.3f} | {ref['val_rel_error']:.3f} | {ref['val_top1_halves']:.3f} "
                   f"| {ref['val_mrr_halves']:.3f} | {ref['val_p_at_10']:.3f} | | | "
                   f"{pk[0]:.3f} / {pk[4]:.3f} / {pk[9]:.3f} (first k) | |")
        raw = res["raw"]
        out.append(f"| raw | | | {raw['val_top1_halves']:.3f} | {raw['val_mrr_halves']:.3f} "
                   f"| {raw['val_p_at_10']:.3f} | | | | |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", action="append", default=[], metavar="NAME=DATA_DIR")
    ap.add_argument("--only", nargs="+", choices=list(VARIANTS),
                    help="train only these variants; their file is regularizers.CORPUS.TAG.json")
    ap.add_argument("--tag", default="", help="names a partial run's file (with --only)")
    ap.add_argument("--report", nargs="+", metavar="NAME",
                    help="merge these corpora's finished runs into regularizers.{json,md,png}")
    ap.add_argument("--pretrain-epochs", type=int)
    ap.add_argument("--finetune-epochs", type=int)
    ap.add_argument("--log", type=Path, default=OUT / "regularizers.log")
    args = ap.parse_args()
    torch.set_num_threads(1)                   # the machine is shared
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    # the project's defaults, without the linear path (it needs regularizer none; the figures
    # here compare the seeds' regularizers with their plain peers as the seeds built them)
    base = load_section("sdae", ROOT / "params.yaml").plain_stack()
    base = dataclasses.replace(base, **{k: v for k, v in (
        ("pretrain_epochs", args.pretrain_epochs), ("finetune_epochs", args.finetune_epochs)) if v})
    args.log.parent.mkdir(parents=True, exist_ok=True)
    logf = open(args.log, "a")

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip())
    for spec in args.corpus:               # one process per corpus may run at once
        name, folder = spec.split("=", 1)
        res = {"commit": commit, "src_dirty": dirty, "config": dataclasses.asdict(base),
               "variants": VARIANTS,
               "corpus": run_corpus(name, load(Path(folder)), base, log, args.only)}
        save_json(OUT / f"regularizers.{name}{'.' + args.tag if args.tag else ''}.json", res)
        log(f"{name} done")
    if args.report:
        results = {"commits": [], "corpora": {}}
        for n in args.report:               # a corpus's main run, then its partial runs' models
            for path in sorted(OUT.glob(f"regularizers.{n}.json")) + sorted(
                    OUT.glob(f"regularizers.{n}.*.json")):
                part = json.loads(path.read_text())
                assert not part["src_dirty"], f"{path}: measured with uncommitted src changes"
                results["commits"] = sorted(set(results["commits"]) | {part["commit"]})
                results.update(config=part["config"], variants=part["variants"])
                for row in part["corpus"]["models"].values():
                    row["commit"] = part["commit"]
                if n in results["corpora"]:
                    results["corpora"][n]["models"].update(part["corpus"]["models"])
                else:
                    results["corpora"][n] = part["corpus"]
        save_json(OUT / "regularizers.json", results)
        figure(results, OUT / "regularizers_prefix_k.png")
        rho_figure(results, OUT / "regularizers_rho_hat.png")
        c = results["config"]
        save_text(OUT / "regularizers.md", f"Commits {', '.join(results['commits'])} (each "
                  f"model's in the JSON); epochs pretrain "
                  f"{c['pretrain_epochs']}, finetune {c['finetune_epochs']}.\n" + table(results))


if __name__ == "__main__":
    main()
