"""Seed 000's optimizer comparison, run as DVC experiments.

    .venv/bin/python benchmarks/optimizers.py            # queue, run, chart (~15 min on 2 cores)
    .venv/bin/python benchmarks/optimizers.py --report   # chart again from finished experiments

Queues one `dvc exp run` per optimizer (`-S sdae.optimizer=NAME -S sdae.lr=LR ...`), runs the
queue (`dvc exp run --run-all`), then reads each experiment's per-epoch fine-tuning curve
(`sdae/val/rel_error`) from its MLflow run and its test-split figures from `dvc exp show --json`.
Writes benchmarks/results/optimizers.{json,png,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from songcoder import tracking  # noqa: E402

# Each optimizer at its customary step size (one lr for pretraining and fine-tuning).
OPTIMIZERS = {"sgd": 0.01, "momentum": 0.001, "rmsprop": 0.001, "adam": 0.001,
              "adam_centered": 0.001, "lbfgs": 1.0}
OUT = ROOT / "benchmarks" / "results"


def dvc(*args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    p = subprocess.run(["dvc", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"dvc {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def run_experiments() -> None:
    for name, lr in OPTIMIZERS.items():
        extra = ["-S", "sdae.decay=0.0"] if name == "lbfgs" else []  # lbfgs has no decoupled decay
        dvc("exp", "run", "--queue", "-n", f"opt-{name}", "-S", f"sdae.optimizer={name}",
            "-S", f"sdae.lr={lr}", "-S", f"sdae.finetune_lr={lr}", *extra)
    dvc("exp", "run", "--run-all", "-j", "1")


def exp_results() -> dict[str, dict]:
    """Final test figures per experiment name, from `dvc exp show --json`."""
    rows = json.loads(dvc("exp", "show", "--json", "--all-commits"))
    out = {}
    for baseline in rows:
        for exp in (baseline.get("experiments") or []):
            for rev in exp.get("revs", []):
                name = rev.get("name") or ""
                data = (rev.get("data") or {})
                metrics = (data.get("metrics") or {}).get("metrics/evaluate.json", {}).get("data")
                if name.startswith("opt-") and metrics:
                    out[name[4:]] = metrics
    return out


def curves(stage: str) -> dict[str, list[float]]:
    """Per-epoch validation relative error of `stage` for each optimizer.

    Runs are found by their params, not the experiment name: an experiment whose params equal
    the committed ones (adam is the default) is not rerun by DVC, and its numbers are the last
    run with those params.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking.tracking_uri())
    exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    out = {}
    for name, lr in OPTIMIZERS.items():
        runs = client.search_runs(
            [exp.experiment_id], f"tags.stage = '{stage}' and attributes.status = 'FINISHED' "
            f"and params.`sdae.optimizer` = '{name}' and params.`sdae.lr` = '{float(lr)}'",
            order_by=["attributes.start_time DESC"], max_results=1)
        if runs:
            hist = client.get_metric_history(runs[0].info.run_id, "sdae/val/rel_error")
            out[name] = [m.value for m in sorted(hist, key=lambda m: m.step)]
    return out


def report() -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    final = exp_results()
    hist = {stage: curves(stage) for stage in ("pretrain_1", "finetune")}
    table = []
    for name, lr in OPTIMIZERS.items():
        m = final.get(name, {})
        rel = m.get("rel_error", {})
        table.append({"optimizer": name, "lr": lr,
                      "finetuned_21": rel.get("finetuned_21"), "greedy_21": rel.get("greedy_21"),
                      "pca_21": rel.get("pca_21"), "collapsed": m.get("collapsed"),
                      "p_at_10_code": m.get("retrieval", {}).get("p_at_10_code"),
                      "finetune_epochs": len(hist["finetune"].get(name, []))})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "optimizers.json").write_text(json.dumps({"table": table, "curves": hist}, indent=2))

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    titles = {"pretrain_1": "layer 1 (1482→352) from scratch",
              "finetune": "fine-tuning the stack (1482→21→1482)"}
    for ax, (stage, by_opt) in zip(axes, hist.items()):
        for name, ys in by_opt.items():
            ax.plot(range(1, len(ys) + 1), ys, label=name)
        ax.axhline(1.0, color="grey", lw=0.8, ls="--", label="mean predictor")
        ax.set(xlabel="epoch", title=titles[stage], ylim=(0, 1.2))
    axes[0].set_ylabel("val relative error (÷ mean predictor)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "optimizers.png", dpi=110)

    def fmt(v):
        return "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
    lines = ["| optimizer | lr | test rel. error 21-d (fine-tuned) | greedy 21-d | PCA-21 | "
             "collapsed | p@10 style (code) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['optimizer']} | {r['lr']} | {fmt(r['finetuned_21'])} | "
              f"{fmt(r['greedy_21'])} | {fmt(r['pca_21'])} | {fmt(r['collapsed'])} | "
              f"{fmt(r['p_at_10_code'])} |" for r in table]
    (OUT / "optimizers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", action="store_true", help="only chart finished experiments")
    if not ap.parse_args().report:
        run_experiments()
    report()
