"""Seed 000's optimizer comparison, rerun in-process on already-prepared features.

    PYTHONPATH=src nice -n 10 python benchmarks/optimizers.py \\
        --builtin data/features --builtin-manifest data/manifest.csv \\
        [--real REAL/data/features --real-manifest REAL/data/manifest.csv] [--workers 2]
    PYTHONPATH=src python benchmarks/optimizers.py --report      # chart and table again

Each run pretrains the stack greedily and fine-tunes it with one optimizer at its customary step
size (`OPTIMIZERS`, the same lr for pretraining and fine-tuning), then scores it with the
`evaluate` stage's own `evaluate_all` on the test split. Regimes:
  zscored  the project's default features, 2 training seeds;
  raw      the same songs at raw scales, through `prepare.normalise: false`'s transform
           (`songcoder.features.norm.Norm.of`), seed 000's "not mean-normalised" regime;
  noise    masking noise 0 vs 0.3 (pretraining and fine-tuning) for sgd, rmsprop and adam;
  real     the real corpus (`make real`), once.
Every finished run is appended to benchmarks/results/optimizers.jsonl at once, so a stopped
benchmark keeps what it has and a restart skips it; the report writes optimizers.{json,md,png}.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from songcoder.config import EvaluateConfig, SdaeConfig, TrainerConfig
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.report import evaluate_all
from songcoder.features.norm import Norm, denormalise, normalise, read_norm
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.serving import reconstruct
from songcoder.sdae.train import train_all
from songcoder.training import NonFiniteLossError

# Each optimizer at its customary step size (one lr for pretraining and fine-tuning).
OPTIMIZERS = {"sgd": 0.01, "momentum": 0.001, "rmsprop": 0.001, "adam": 0.001,
              "adam_centered": 0.001, "lbfgs": 1.0}
NOISE_OPTIMIZERS = ("sgd", "rmsprop", "adam")
OUT = Path(__file__).resolve().parent / "results"
WITHIN = 0.10          # "epochs to within 10 % of the best"


@dataclasses.dataclass
class Corpus:
    """One regime's matrices: training rows (excerpts), whole-song splits, test halves, labels."""

    rows: dict[str, np.ndarray]            # train, val: what the autoencoder learns from
    split: dict[str, np.ndarray]           # train, val, test: whole-song rows (evaluation)
    halves: tuple[np.ndarray, np.ndarray] | None = None
    labels: dict[str, np.ndarray] | None = None
    val_labels: dict[str, np.ndarray] | None = None
    raw_stats: tuple[np.ndarray, np.ndarray] | None = None   # z-scores these rows (raw regime)


def regime(z: np.ndarray, norm, z_score: bool) -> np.ndarray:
    """Rows prepared with `prepare.normalise: z_score`, from rows prepare z-scored: back to raw
    scales, then the map prepare applies under that setting (the same function)."""
    raw = denormalise(z, norm.train_mean, norm.train_std)
    return Norm.of(norm.train_mean, norm.train_std, z_score).apply(raw)


def _labels(features: Path, manifest: Path | None, split: str) -> dict[str, np.ndarray] | None:
    """Style (built-in corpus) or collection folder (real music) of each song of `split`."""
    if manifest is None:
        return None
    by_id = {r["id"]: r for r in csv.DictReader(open(manifest, newline=""))}
    ids = [r["id"] for r in csv.DictReader(open(features / f"{split}_index.csv", newline=""))]
    if all(by_id[i].get("style") for i in ids):
        return {"style": np.array([by_id[i]["style"] for i in ids])}
    return {"folder": np.array([Path(by_id[i]["path"]).parent.name for i in ids])}


def load_corpus(features: str | Path, manifest: str | Path | None, z_score: bool = True,
                max_rows: int | None = None) -> Corpus:
    """A prepared features folder (z-scored by prepare) in the regime `z_score`."""
    features = Path(features)
    norm = read_norm(features / "norm.npz")
    if not norm.z_scored:
        raise SystemExit(f"{features}: prepared with prepare.normalise false; "
                         "the benchmark derives both regimes from z-scored features")

    def get(name: str) -> np.ndarray:
        return regime(np.load(features / f"{name}.npy"), norm, z_score)

    rows = {s: get(f"{s}_excerpts")[:max_rows] for s in ("train", "val")}
    split = {s: get(s) for s in ("train", "val", "test")}
    halves = get("test_halves") if (features / "test_halves.npy").exists() else None
    manifest = Path(manifest) if manifest else None
    return Corpus(rows, split, None if halves is None else (halves[0], halves[1]),
                  _labels(features, manifest, "test"), _labels(features, manifest, "val"),
                  None if z_score else (norm.train_mean, norm.train_std))


def epochs_to_within(curve: list[float], within: float = WITHIN) -> int | None:
    """1-based epoch at which the curve first comes within `within` of its best."""
    finite = [v for v in curve if np.isfinite(v)]
    if not finite:
        return None
    best = min(finite)
    return next(i + 1 for i, v in enumerate(curve) if np.isfinite(v) and v <= best * (1 + within))


def run_one(corpus: Corpus, cfg: SdaeConfig, eval_cfg: EvaluateConfig | None = None,
            trainer_cfg: TrainerConfig | None = None) -> dict[str, Any]:
    """Greedy pretraining + fine-tuning with `cfg`, scored like the `evaluate` stage."""
    eval_cfg = eval_cfg or EvaluateConfig(baseline="none")
    trainer_cfg = trainer_cfg or TrainerConfig(accelerator="cpu", devices="1")
    t0 = time.perf_counter()
    metrics, layers, model = train_all(cfg, trainer_cfg, corpus.rows["train"], corpus.rows["val"],
                                       enable_progress_bar=False)
    seconds = time.perf_counter() - t0
    greedy = DeepAutoencoder.from_layers(layers)
    ev = evaluate_all(eval_cfg, corpus.split["train"], corpus.split["test"], finetuned=model,
                      greedy=greedy, halves=corpus.halves, labels=corpus.labels,
                      x_val=corpus.split["val"], val_labels=corpus.val_labels,
                      raw_stats=corpus.raw_stats)
    code = model.sizes[-1]
    ft, gr, pc = f"finetuned_{code}", f"greedy_{code}", f"pca_{code}"
    curves = {stage: [h["val_rel_error"] for h in m["history"]] for stage, m in metrics.items()}
    out = {
        "finetuned": ev["rel_error"][ft], "greedy": ev["rel_error"][gr], "pca": ev["rel_error"][pc],
        "collapsed": ev["collapsed"], "collapsed_greedy": ev["collapse"][gr]["collapsed"],
        "code_std": ev["collapse"][ft]["code_std"],
        "epochs_to_10pct": epochs_to_within(curves["finetune"]),
        "epochs_to_10pct_pretrain_1": epochs_to_within(curves["pretrain_1"]),
        "best_epoch": metrics["finetune"]["best_epoch"] + 1,
        "curves": curves, "train_seconds": round(seconds, 1),
        "retrieval": {k: v for k, v in ev["retrieval"].items() if "_code" in k or "raw" in k},
        "retrieval_val": {k: v for k, v in ev.get("retrieval_val", {}).items() if "_code" in k},
    }
    if corpus.raw_stats is not None:   # the raw regime's error also in z-scored units
        z = lambda a: normalise(a, *corpus.raw_stats)   # noqa: E731
        test = corpus.split["test"]
        out["finetuned_in_z_units"] = rel_error(z(test), z(reconstruct(model, test)),
                                                z(corpus.split["train"]).mean(0))
    return out


# ----------------------------------------------------------------------------- the plan


def plan(seeds: int, real: bool) -> list[dict[str, Any]]:
    """Every run, most telling first (a stopped benchmark keeps the first ones); lbfgs, by far
    the slowest, after the first-order optimizers."""
    runs = [{"regime": "zscored", "corpus": "builtin", "optimizer": o, "seed": 0}
            for o in OPTIMIZERS]
    runs += [{"regime": "raw", "corpus": "builtin", "optimizer": o, "seed": 0} for o in OPTIMIZERS]
    runs += [{"regime": f"noise{n}", "corpus": "builtin", "optimizer": o, "seed": 0, "noise": n}
             for o in NOISE_OPTIMIZERS for n in (0.0, 0.3)]
    if real:
        runs += [{"regime": "real", "corpus": "real", "optimizer": o, "seed": 0}
                 for o in OPTIMIZERS]
    runs += [{"regime": "zscored", "corpus": "builtin", "optimizer": o, "seed": s}
             for s in range(1, seeds) for o in OPTIMIZERS]
    return sorted(runs, key=lambda r: r["optimizer"] == "lbfgs")


def run_key(run: dict[str, Any]) -> str:
    return f"{run['regime']}/{run['optimizer']}/seed{run['seed']}"


def sdae_config(run: dict[str, Any], pretrain_epochs: int, finetune_epochs: int,
                full_batch_lbfgs: int | None) -> SdaeConfig:
    name, lr = run["optimizer"], OPTIMIZERS[run["optimizer"]]
    kw: dict[str, Any] = dict(optimizer=name, lr=lr, finetune_lr=lr, seed=run["seed"],
                              pretrain_epochs=pretrain_epochs, finetune_epochs=finetune_epochs)
    if name == "lbfgs":      # no decoupled decay; a full batch per step (see the README)
        kw["decay"] = 0.0
        if full_batch_lbfgs:
            kw["batch_size"] = full_batch_lbfgs
    if "noise" in run:
        kw["noise"] = kw["finetune_noise"] = run["noise"]
    # seed 000's optimizer claims are about its plain stack: no linear path (sdae/README.md)
    return dataclasses.replace(SdaeConfig().plain_stack(), **kw)


_CORPORA: dict[tuple, Corpus] = {}


def _worker(job: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    run, opts = job
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    import torch
    torch.set_num_threads(1)          # one core per worker: the machine is shared
    z = run["regime"] != "raw"
    source = opts["real"] if run["corpus"] == "real" else opts["builtin"]
    key = (run["corpus"], z)
    if key not in _CORPORA:
        _CORPORA[key] = load_corpus(source[0], source[1], z_score=z)
    corpus = _CORPORA[key]
    epochs = opts["lbfgs_epochs"] if run["optimizer"] == "lbfgs" and opts["lbfgs_epochs"] \
        else (opts["pretrain_epochs"], opts["finetune_epochs"])
    cfg = sdae_config(run, *epochs, len(corpus.rows["train"]) if opts["full_batch_lbfgs"] else None)
    t0 = time.process_time()
    try:
        result = run_one(corpus, cfg)
    except NonFiniteLossError as e:    # a result too: this optimizer diverges here
        result = {"diverged": str(e), "finetuned": None, "greedy": None, "collapsed": True}
    return {**run, "key": run_key(run), "lr": OPTIMIZERS[run["optimizer"]],
            "epochs": list(epochs), "cpu_seconds": round(time.process_time() - t0, 1), **result}


def git_commit() -> str:
    p = subprocess.run(["git", "rev-parse", "HEAD"], cwd=OUT.parent.parent, capture_output=True,
                       text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "benchmarks/optimizers.py"],
                           cwd=OUT.parent.parent, capture_output=True, text=True).stdout.strip()
    return p.stdout.strip() + ("+dirty" if dirty else "")


def run_all(opts: dict[str, Any], jsonl: Path, log: Path) -> None:
    done = {json.loads(line)["key"] for line in jsonl.read_text().splitlines()} \
        if jsonl.exists() else set()
    todo = [r for r in plan(opts["seeds"], opts["real"] is not None)
            if run_key(r) not in done and opts["only"] in run_key(r)]
    with open(log, "a") as lf:
        lf.write(f"{time.strftime('%H:%M:%S')} start: {len(todo)} runs to do, {len(done)} done, "
                 f"commit {opts['commit']}\n")
    with ProcessPoolExecutor(opts["workers"]) as pool:
        for future in as_completed([pool.submit(_worker, (r, opts)) for r in todo]):
            res = future.result()
            res["settings"] = {k: opts[k] for k in ("pretrain_epochs", "finetune_epochs",
                                                    "full_batch_lbfgs", "lbfgs_epochs")}
            res["commit"] = opts["commit"]
            with open(jsonl, "a") as f:
                f.write(json.dumps(res) + "\n")
            with open(log, "a") as lf:
                lf.write(f"{time.strftime('%H:%M:%S')} {res['key']}: finetuned "
                         f"{_fmt(res['finetuned'])} greedy {_fmt(res['greedy'])} collapsed "
                         f"{res['collapsed']} {res.get('diverged', '')} "
                         f"({res['cpu_seconds']} cpu s)\n")


# ----------------------------------------------------------------------------- the report

PANELS = {"zscored": "z-scored features (default), built-in corpus",
          "raw": "raw scales (prepare.normalise: false), built-in",
          "noise": "masking noise 0 (dashed) vs 0.3 (solid), built-in",
          "real": "real corpus (make real), z-scored"}
STYLES = {"sgd": ("tab:blue", "-"), "momentum": ("tab:orange", "--"),
          "rmsprop": ("tab:green", "-."), "adam": ("tab:red", ":"),
          "adam_centered": ("tab:purple", (0, (5, 1))), "lbfgs": ("tab:brown", (0, (3, 1, 1, 1)))}


def _panel(run: dict[str, Any]) -> str:
    return "noise" if run["regime"].startswith("noise") else run["regime"]


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _cell(rows: list[dict], get) -> str:
    """Seed 0's value, then the other seeds' after commas."""
    return ", ".join(_fmt(get(r)) for r in sorted(rows, key=lambda r: r["seed"]))


def table(runs: list[dict[str, Any]]) -> str:
    lines = ["| regime | optimizer | lr | fine-tuned 21-d | greedy 21-d | PCA-21 | "
             "epochs to 10 % (fine-tune / layer 1) | collapsed | p@10 code test (val) | "
             "halves top-1 code |", "|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list] = {}
    for r in runs:
        groups.setdefault((r["regime"], r["optimizer"]), []).append(r)
    order = list(dict.fromkeys(r["regime"] for r in runs))
    for (reg, opt), rows in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]),
                                                                    list(OPTIMIZERS).index(kv[0][1]))):
        ok = [r for r in rows if "diverged" not in r]
        p10 = next((k for r in ok for k in r["retrieval"] if k.startswith("p_at_10") and
                    k.endswith("_code")), None)
        fine = _cell(rows, lambda r: r["finetuned"])
        if any("finetuned_in_z_units" in r for r in rows):
            fine += " (z units " + _cell(rows, lambda r: r.get("finetuned_in_z_units")) + ")"
        lines.append(
            f"| {reg} | {opt} | {rows[0]['lr']} | {fine} | {_cell(rows, lambda r: r['greedy'])} | "
            f"{_fmt(ok[0]['pca']) if ok else '—'} | "
            f"{_cell(rows, lambda r: r.get('epochs_to_10pct'))} / "
            f"{_cell(rows, lambda r: r.get('epochs_to_10pct_pretrain_1'))} | "
            f"{_cell(rows, lambda r: 'diverged' if 'diverged' in r else r['collapsed'])} | "
            + (f"{_cell(rows, lambda r: r.get('retrieval', {}).get(p10))} "
               f"({_cell(rows, lambda r: r.get('retrieval_val', {}).get(p10))})" if p10 else "—")
            + f" | {_cell(rows, lambda r: r.get('retrieval', {}).get('top1_halves_code'))} |")
    return "\n".join(lines) + "\n"


def _load(jsonl: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.exists() else []


def chart(runs: list[dict[str, Any]], path: Path, full: list[dict[str, Any]] = ()) -> None:
    """`full`: z-scored runs at the defaults' epoch counts, drawn thin under the short ones."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in PANELS if any(_panel(r) == p for r in runs)]
    fig, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 7.2), squeeze=False)
    for col, panel in enumerate(panels):
        for row, stage in enumerate(("pretrain_1", "finetune")):
            ax = axes[row, col]
            for r in (r for r in runs if _panel(r) == panel and "curves" in r):
                color, style = STYLES[r["optimizer"]]
                if panel == "noise":
                    style = "-" if r["noise"] > 0 else "--"
                ys = r["curves"][stage]
                label = (f"{r['optimizer']} noise {r['noise']}" if panel == "noise"
                         else r["optimizer"]) if r["seed"] == 0 else None
                ax.plot(range(1, len(ys) + 1), ys, color=color, ls=style, lw=1.6,
                        alpha=1.0 if r["seed"] == 0 else 0.45, label=label)
            for r in (r for r in full if panel == "zscored"):
                ys = r["curves"][stage]
                ax.plot(range(1, len(ys) + 1), ys, color=STYLES[r["optimizer"]][0], lw=0.7,
                        alpha=0.6, zorder=0)
            ax.axhline(1.0, color="grey", lw=0.8, ls=(0, (1, 2)))
            ax.set_yscale("log")
            if ax.get_ylim()[1] > 30:      # a run that blew up would flatten the others
                ax.set_ylim(top=30)
                ax.text(0.02, 0.97, "clipped at 30", transform=ax.transAxes, fontsize=7,
                        va="top")
            ax.set_xlabel("epoch")
            ax.set_title(("layer 1 pretraining: " if row == 0 else "fine-tuning: ")
                         + PANELS[panel], fontsize=8)
            if col == 0:
                ax.set_ylabel("val relative error (1 = the mean)")
        axes[1, col].legend(fontsize=7)
    fig.suptitle("Seed 000's optimizers on the current model (faint: training seed 1; thin, "
                 "z-scored: the defaults' full epoch counts)" if full else
                 "Seed 000's optimizers on the current model (faint: training seed 1)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(out: Path, full_dir: Path | None = None) -> None:
    """Table, chart and JSON of the runs in `out`; `full_dir`: a second benchmark's folder run
    with the defaults' epoch counts (`--only zscored/ --seeds 1`), shown beside the short runs."""
    runs = _load(out / "optimizers.jsonl")
    if not runs:
        raise SystemExit(f"{out / 'optimizers.jsonl'}: no finished runs")
    full = _load(full_dir / "optimizers.jsonl") if full_dir else []
    md = table(runs)
    if full:
        md += (f"\nThe z-scored runs at the defaults' epoch counts ("
               f"{full[0]['settings']['pretrain_epochs']} per layer, "
               f"{full[0]['settings']['finetune_epochs']} fine-tuning), training seed 0:\n\n"
               + table(full))
    (out / "optimizers.md").write_text(md)
    chart(runs, out / "optimizers.png", full)
    (out / "optimizers.json").write_text(json.dumps({
        "commits": sorted({r["commit"] for r in runs + full}),
        "settings": {"optimizers_lr": OPTIMIZERS, **runs[0]["settings"],
                     "noise_runs": "pretraining and fine-tuning masking both set to the value",
                     "other_params": "params.yaml defaults (SdaeConfig())"},
        "runs": runs, "full_length_runs": full}, indent=1))
    print(md)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builtin", default="data/features", help="built-in corpus's features")
    ap.add_argument("--builtin-manifest", default="data/manifest.csv")
    ap.add_argument("--real", help="real corpus's features (make real), run once")
    ap.add_argument("--real-manifest")
    ap.add_argument("--seeds", type=int, default=2, help="training seeds (z-scored regime)")
    ap.add_argument("--pretrain-epochs", type=int, default=SdaeConfig().pretrain_epochs)
    ap.add_argument("--finetune-epochs", type=int, default=SdaeConfig().finetune_epochs)
    ap.add_argument("--lbfgs-epochs", type=int, nargs=2, metavar=("PRETRAIN", "FINETUNE"),
                    help="lbfgs's own epoch counts (each of its epochs is up to 20 full-batch "
                    "iterations)")
    ap.add_argument("--minibatch-lbfgs", action="store_true",
                    help="lbfgs on minibatches too (default: one full batch per step)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", default="", help="only runs whose key (regime/optimizer/seedN) "
                    "contains this")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--report", action="store_true", help="only chart the finished runs")
    ap.add_argument("--full", help="folder of a run at the defaults' epoch counts, to show beside")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if not a.report:
        run_all({"builtin": (a.builtin, a.builtin_manifest),
                 "real": (a.real, a.real_manifest) if a.real else None, "seeds": a.seeds,
                 "pretrain_epochs": a.pretrain_epochs, "finetune_epochs": a.finetune_epochs,
                 "full_batch_lbfgs": not a.minibatch_lbfgs, "lbfgs_epochs": a.lbfgs_epochs, "workers": a.workers, "only": a.only,
                 "commit": git_commit()},
                out / "optimizers.jsonl", out / "optimizers.log")
    report(out, Path(a.full) if a.full else None)
