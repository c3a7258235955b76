"""Stage `evaluate`: the fine-tuned net vs the greedy stack, PCA and the mean, on the test split
(retrieval also on the validation split, where settings are chosen), and same-song retrieval
against a librosa baseline computed here from the test songs' audio (manifest paths).

Writes metrics/evaluate.json, plots/evaluate/{depth,groups}.csv and PNG figures.
"""

import csv

import numpy as np
from common import load_splits, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json, save_text
from songcoder.audio.collection import read_manifest, to_csv
from songcoder.errors import UserError
from songcoder.evaluate import librosa_baseline, plots
from songcoder.evaluate.report import evaluate_all
from songcoder.sdae import train as sdae
from songcoder.sdae.stack import DeepAutoencoder

LABELS = ("style", "pattern")   # synth labels, used when the manifest has them


def split_ids(split: str) -> list[str]:
    with open(f"data/features/{split}_index.csv", newline="") as f:
        return [r["id"] for r in csv.DictReader(f)]


def split_labels(by_id: dict, split: str) -> dict[str, np.ndarray]:
    ids = split_ids(split)
    return {name: np.array([by_id[i][name] for i in ids]) for name in LABELS
            if ids and all(by_id[i].get(name) for i in ids)}


def peer(cfg, by_id: dict, halves: np.ndarray):
    """The librosa baseline of the test halves; the halves cut to the songs it could read."""
    test_songs = list(dict.fromkeys(split_ids("test")))   # one halves pair per song, in order
    if len(test_songs) != halves.shape[1]:
        raise UserError(f"data/features/test_halves.npy has {halves.shape[1]} songs but "
                        f"test_index.csv {len(test_songs)}: rerun prepare")
    p = librosa_baseline.peer_halves(by_id, test_songs, list(dict.fromkeys(split_ids("train"))),
                                     cfg.baseline_train_songs, cfg.workers, cfg.seed)
    for song, reason in p.errors.items():
        print(f"evaluate: librosa baseline: {by_id[song]['path']}: {reason}")
    return p, halves[:, p.ok]


@stage_main("evaluate")
def main() -> None:
    cfg = sections("evaluate")
    x = load_splits("data/features")
    halves = np.load("data/features/test_halves.npy")
    by_id = {r["id"]: r for r in read_manifest("data/manifest.csv")}
    peers, baseline = {}, {}
    if cfg["evaluate"].baseline == "librosa":
        p, halves = peer(cfg["evaluate"], by_id, halves)
        peers["librosa"] = (p.first[p.ok], p.second[p.ok], p.stats_rows)
        baseline = {"librosa": {"zscore": p.zscore, **p.speed}}
    greedy = DeepAutoencoder.from_layers([sdae.load(f"models/layer_{k}.pt") for k in (1, 2, 3)])
    with tracking.stage_run("evaluate", cfg) as run:
        metrics = evaluate_all(cfg["evaluate"], x["train"], x["test"],
                               finetuned=sdae.load("models/sdae.pt"), greedy=greedy,
                               halves=(halves[0], halves[1]), labels=split_labels(by_id, "test"),
                               x_val=x["val"], val_labels=split_labels(by_id, "val"),
                               peers=peers)
        metrics["baseline"] = baseline          # how the peer was computed, and how fast
        save_json("metrics/evaluate.json", metrics)
        save_text("plots/evaluate/depth.csv",
                  to_csv(plots.depth_rows(metrics), ["model", "size", "rel_error"]))
        save_text("plots/evaluate/groups.csv",
                  to_csv(plots.group_rows(metrics), ["model", "group", "rel_error"]))
        figures = plots.save_figures(metrics, "plots/evaluate")
        run.log_metrics(metrics)
        ft = next(k for k in metrics["rel_error"] if k.startswith("finetuned_"))
        learned_from = tracking.data_fingerprint("data/features/train_excerpts.npy")
        registry = tracking.register_encoder(
            run, "models/sdae.pt", "data/features/norm.npz", metrics["rel_error"][ft],
            learned_from, n_in=x["train"].shape[1], n_out=int(ft.split("_")[1]))
        # The registry entry is this stage's own (DVC-cached) output, so a fresh clone, whose
        # git-tracked metrics and plots already match, still runs evaluate and registers.
        save_json("models/registry.json", {"model": tracking.ENCODER_NAME, **registry,
                                           "tracking_uri": run.uri})
        for path in ["metrics/evaluate.json", "plots/evaluate/depth.csv",
                     "plots/evaluate/groups.csv", *figures]:
            run.log_artifact(path)
    rel = metrics["rel_error"]
    print("evaluate: relative error " + ", ".join(f"{k} {v:.3f}" for k, v in rel.items())
          + f"; collapsed: {metrics['collapsed']}")
    r = metrics["retrieval"]
    if "halves_songs" in r:
        reps = [k[len("top1_halves_"):] for k in r if k.startswith("top1_halves_")]
        print(f"evaluate: same-song halves ({r['halves_songs']} songs) top-1 / MRR: "
              + ", ".join(f"{k} {r['top1_halves_' + k]:.2f}/{r['mrr_halves_' + k]:.2f}"
                          for k in reps))
    if registry:
        print(f"evaluate: registered {tracking.ENCODER_NAME} v{registry['version']} as candidate"
              + (f", now {registry['alias']} and champion" if registry["champion"]
                 else f", {registry['alias']} unchanged"))


if __name__ == "__main__":
    main()
