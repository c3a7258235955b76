"""Stage `evaluate`: the fine-tuned net vs the greedy stack, PCA and the mean, on the test split
(retrieval also on the validation split, where settings are chosen).

Writes metrics, the depth and group plot tables, PNG figures (in the figures folder) and the
registry entry, at the paths given on the command line (dvc.yaml).
"""

import csv

import numpy as np
from common import load_splits, paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json, save_text
from songcoder.audio.collection import read_manifest, to_csv
from songcoder.evaluate import plots
from songcoder.evaluate.report import evaluate_all
from songcoder.sdae import train as sdae
from songcoder.sdae.stack import DeepAutoencoder

LABELS = ("style", "pattern")   # synth labels, used when the manifest has them


def split_labels(manifest: str, features: str, split: str) -> dict[str, np.ndarray]:
    by_id = {r["id"]: r for r in read_manifest(manifest)}
    with open(f"{features}/{split}_index.csv", newline="") as f:
        ids = [r["id"] for r in csv.DictReader(f)]
    return {name: np.array([by_id[i][name] for i in ids]) for name in LABELS
            if ids and all(by_id[i].get(name) for i in ids)}


@stage_main("evaluate")
def main() -> None:
    io = paths("manifest", "features", "model", "metrics", "depth", "groups", "figures",
               "registry", many=("layers",))
    cfg = sections("evaluate")
    x = load_splits(io.features)
    halves = np.load(f"{io.features}/test_halves.npy")
    greedy = DeepAutoencoder.from_layers([sdae.load(path) for path in io.layers])
    finetuned = sdae.load(io.model)
    with tracking.stage_run("evaluate", cfg) as run:
        metrics = evaluate_all(cfg["evaluate"], x["train"], x["test"],
                               finetuned=finetuned, greedy=greedy,
                               halves=(halves[0], halves[1]),
                               labels=split_labels(io.manifest, io.features, "test"),
                               x_val=x["val"],
                               val_labels=split_labels(io.manifest, io.features, "val"))
        save_json(io.metrics, metrics)
        save_text(io.depth, to_csv(plots.depth_rows(metrics), ["model", "size", "rel_error"]))
        save_text(io.groups, to_csv(plots.group_rows(metrics), ["model", "group", "rel_error"]))
        figures = plots.save_figures(metrics, io.figures)
        run.log_metrics(metrics)
        code = finetuned.sizes[-1]
        registry = tracking.register_encoder(run, io.model, f"{io.features}/norm.npz",
                                             metrics["rel_error"][f"finetuned_{code}"],
                                             n_in=finetuned.sizes[0], n_out=code)
        # The registry entry is this stage's own (DVC-cached) output, so a fresh clone, whose
        # git-tracked metrics and plots already match, still runs evaluate and registers.
        save_json(io.registry, {"model": tracking.ENCODER_NAME, **registry,
                                "tracking_uri": run.uri})
        for path in [io.metrics, io.depth, io.groups, *figures]:
            run.log_artifact(path)
    rel = metrics["rel_error"]
    print("evaluate: relative error " + ", ".join(f"{k} {v:.3f}" for k, v in rel.items())
          + f"; collapsed: {metrics['collapsed']}")
    if registry:
        print(f"evaluate: registered {tracking.ENCODER_NAME} v{registry['version']} as candidate"
              + (", now champion" if registry["champion"] else ", champion unchanged"))


if __name__ == "__main__":
    main()
