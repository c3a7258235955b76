"""Stage `evaluate`: the fine-tuned net vs the greedy stack, PCA and the mean, on the test split
(retrieval also on the validation split, where settings are chosen).

Writes metrics/evaluate.json, plots/evaluate/{depth,groups}.csv and PNG figures.
"""

import csv

import numpy as np
from common import load_splits, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json, save_text
from songcoder.audio.collection import read_manifest, to_csv
from songcoder.evaluate import plots
from songcoder.evaluate.report import evaluate_all
from songcoder.figures import results
from songcoder.sdae import train as sdae
from songcoder.sdae.stack import DeepAutoencoder

LABELS = ("style", "pattern")   # synth labels, used when the manifest has them


def split_labels(split: str) -> dict[str, np.ndarray]:
    by_id = {r["id"]: r for r in read_manifest("data/manifest.csv")}
    with open(f"data/features/{split}_index.csv", newline="") as f:
        ids = [r["id"] for r in csv.DictReader(f)]
    return {name: np.array([by_id[i][name] for i in ids]) for name in LABELS
            if ids and all(by_id[i].get(name) for i in ids)}


@stage_main("evaluate")
def main() -> None:
    cfg = sections("evaluate")
    x = load_splits("data/features")
    halves = np.load("data/features/test_halves.npy")
    greedy = DeepAutoencoder.from_layers([sdae.load(f"models/layer_{k}.pt") for k in (1, 2, 3)])
    with tracking.stage_run("evaluate", cfg) as run:
        metrics = evaluate_all(cfg["evaluate"], x["train"], x["test"],
                               finetuned=sdae.load("models/sdae.pt"), greedy=greedy,
                               halves=(halves[0], halves[1]), labels=split_labels("test"),
                               x_val=x["val"], val_labels=split_labels("val"))
        result = results(metrics)
        save_json("metrics/evaluate.json", result)
        save_text("plots/evaluate/depth.csv",
                  to_csv(plots.depth_rows(result), ["model", "size", "rel_error"]))
        save_text("plots/evaluate/groups.csv",
                  to_csv(plots.group_rows(result), ["model", "group", "rel_error"]))
        figures = plots.save_figures(metrics, "plots/evaluate")
        run.log_result(metrics, headline=("rel_error.finetuned_21", "rel_error.pca_21",
                                          "retrieval.p_at_10_code", "collapsed"))
        registry = tracking.register_encoder(run, "models/sdae.pt", "data/features/norm.npz",
                                             metrics["rel_error"]["finetuned_21"])
        # The registry entry is this stage's own (DVC-cached) output, so a fresh clone, whose
        # git-tracked metrics and plots already match, still runs evaluate and registers. Only
        # what the data decide goes in it (the version and the store's path differ from store
        # to store, and dvc.lock would change on every clone): version and champion are printed.
        save_json("models/registry.json", {"model": tracking.ENCODER_NAME,
                                           "test_rel_error": result["rel_error"]["finetuned_21"]})
        for path in ["metrics/evaluate.json", "plots/evaluate/depth.csv",
                     "plots/evaluate/groups.csv", *figures]:
            run.log_artifact(path)
    rel = metrics["rel_error"]
    print("evaluate: relative error " + ", ".join(f"{k} {v:.3f}" for k, v in rel.items())
          + f"; collapsed: {metrics['collapsed']}")
    if registry:
        print(f"evaluate: registered {tracking.ENCODER_NAME} v{registry['version']} as candidate"
              + (", now champion" if registry["champion"] else ", champion unchanged"))


if __name__ == "__main__":
    main()
