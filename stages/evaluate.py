"""Stage `evaluate`: the fine-tuned net vs the greedy stack, PCA and the mean, on the test split
(retrieval also on the validation split, where settings are chosen and the registry's champion
is picked), and same-song retrieval against a librosa baseline computed here from the test
songs' audio (manifest paths).

Writes metrics, the depth and group plot tables, PNG figures (in the figures folder) and the
registry entry, at the paths given on the command line (dvc.yaml); the pictures of what the
model learned (evaluate/pictures.py) go in the figures folder too, the code map coloured by
collection folder (the first folder under --folder, data.folder) when songs have no style.
"""

import csv
from pathlib import Path

import numpy as np
from common import load_rows, paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json, save_text
from songcoder.audio.collection import read_manifest, to_csv
from songcoder.errors import UserError
from songcoder.evaluate import code_figure, librosa_baseline, pictures, plots
from songcoder.pca import PCA
from songcoder.evaluate.report import evaluate_all
from songcoder.features.norm import read_norm
from songcoder.figures import results
from songcoder.sdae.serving import load
from songcoder.sdae.stack import DeepAutoencoder

LABELS = ("style", "pattern")
SERVING = "songcoder.sdae.serving:SongEncoder"   # what the registered MLflow model runs   # synth labels, used when the manifest has them


def split_ids(features: str, split: str) -> list[str]:
    with open(f"{features}/{split}_index.csv", newline="") as f:
        return [r["id"] for r in csv.DictReader(f)]


def split_labels(by_id: dict, features: str, split: str) -> dict[str, np.ndarray]:
    ids = split_ids(features, split)
    return {name: np.array([by_id[i][name] for i in ids]) for name in LABELS
            if ids and all(by_id[i].get(name) for i in ids)}


def peer(cfg, by_id: dict, features: str, halves: np.ndarray):
    """The librosa baseline of the test halves; the halves cut to the songs it could read."""
    test_songs = list(dict.fromkeys(split_ids(features, "test")))   # one halves pair a song
    if len(test_songs) != halves.shape[1]:
        raise UserError(f"{features}/test_halves.npy has {halves.shape[1]} songs but "
                        f"test_index.csv {len(test_songs)}: rerun prepare")
    train_songs = list(dict.fromkeys(split_ids(features, "train")))
    p = librosa_baseline.peer_halves(by_id, test_songs, train_songs,
                                     cfg.baseline_train_songs, cfg.workers, cfg.seed)
    for song, reason in p.errors.items():
        print(f"evaluate: librosa baseline: {by_id[song]['path']}: {reason}")
    return p, halves[:, p.ok]


@stage_main("evaluate")
def main() -> None:
    io = paths("manifest", "features", "model", "metrics", "depth", "groups", "figures",
               "registry", "folder", many=("layers",))
    cfg = sections("evaluate")
    x, _ = load_rows(io.features)
    halves = np.load(f"{io.features}/test_halves.npy")
    val_halves = np.load(f"{io.features}/val_halves.npy")
    by_id = {r["id"]: r for r in read_manifest(io.manifest)}
    peers, baseline = {}, {}
    if cfg["evaluate"].baseline == "librosa":
        p, halves = peer(cfg["evaluate"], by_id, io.features, halves)
        peers["librosa"] = (p.first[p.ok], p.second[p.ok], p.stats_rows)
        baseline = {"librosa": {"zscore": p.zscore, **p.speed}}
    greedy = DeepAutoencoder.from_layers([load(path) for path in io.layers])
    finetuned = load(io.model)
    norm = read_norm(f"{io.features}/norm.npz")
    # the metrics' and the pictures' PCA learns from the rows the autoencoder learned from (train
    # excerpts and whole songs): the same data makes it the strongest linear peer (make-real val
    # PCA-21 0.141 against 0.155 fitted on the whole-song rows alone)
    pca = PCA.fit(load_rows(io.features, io.features)[0]["train"], max(finetuned.sizes[1:]))
    with tracking.stage_run("evaluate", cfg) as run:
        metrics = evaluate_all(cfg["evaluate"], x["train"], x["test"],
                               finetuned=finetuned, greedy=greedy,
                               halves=(halves[0], halves[1]),
                               val_halves=(val_halves[0], val_halves[1]),
                               labels=split_labels(by_id, io.features, "test"),
                               x_val=x["val"], val_labels=split_labels(by_id, io.features, "val"),
                               peers=peers, raw_stats=None if norm.z_scored
                               else (norm.train_mean, norm.train_std), pca=pca)
        metrics["baseline"] = baseline          # how the peer was computed, and how fast
        result = results(metrics)
        save_json(io.metrics, result)
        save_text(io.depth, to_csv(plots.depth_rows(result), ["model", "size", "rel_error"]))
        save_text(io.groups, to_csv(plots.group_rows(result), ["model", "group", "rel_error"]))
        figures = plots.save_figures(metrics, io.figures)
        test_rows = [by_id[i] for i in split_ids(io.features, "test")]
        figures += pictures.save_pictures(
            finetuned, x["train"], x["test"], norm, pca,
            pictures.song_groups(test_rows, io.folder),
            [Path(r["path"]).stem for r in test_rows], io.figures)
        figures.append(code_figure.save(result["code_units"], io.figures))
        code = finetuned.sizes[-1]
        run.log_result(metrics, headline=(f"rel_error.finetuned_{code}", f"rel_error.pca_{code}",
                                          "retrieval.p_at_10_code", "retrieval.mrr_halves_code",
                                          "collapsed"))
        learned_from = tracking.data_fingerprint(f"{io.features}/train_excerpts.npy")
        registry = tracking.register_encoder(
            run, SERVING, {"model": io.model, "norm": f"{io.features}/norm.npz"}, learned_from,
            val_mrr=metrics["retrieval_val"]["mrr_halves_code"],
            test_rel_error=metrics["rel_error"][f"finetuned_{code}"],
            n_in=finetuned.sizes[0], n_out=code)
        # The registry entry is this stage's own (DVC-cached) output, so a fresh clone, whose
        # git-tracked metrics and plots already match, still runs evaluate and registers. Only
        # what the data decide goes in it (the version and the store's path differ from store
        # to store, and dvc.lock would change on every clone): version, corpus fingerprint and
        # champion alias are printed and kept as the MLflow model version's tags.
        save_json(io.registry, {"model": tracking.ENCODER_NAME,
                                "val_mrr": result["retrieval_val"]["mrr_halves_code"],
                                "test_rel_error": result["rel_error"][f"finetuned_{code}"]})
        for path in [io.metrics, io.depth, io.groups, *figures]:
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
        ci = metrics.get("retrieval_interval", {})
        if ci:
            print("evaluate: top-1, 95 % intervals over resampled songs: "
                  + ", ".join(f"{k} {ci[k]['lo']:.2f}-{ci[k]['hi']:.2f}" for k in reps)
                  + "; code minus " + ", ".join(
                      f"{k} {ci[f'code_minus_{k}']['lo']:+.2f}..{ci[f'code_minus_{k}']['hi']:+.2f}"
                      for k in reps if k != "code"))
    if registry:
        before = registry["previous_champion_val_mrr"]
        print(f"evaluate: registered {tracking.ENCODER_NAME} v{registry['version']} as candidate"
              f" (val same-song MRR {metrics['retrieval_val']['mrr_halves_code']:.3f}"
              + (f", champion's {before:.3f})" if before is not None else ")")
              + (f", now {registry['alias']} and champion" if registry["champion"]
                 else f", {registry['alias']} unchanged"))


if __name__ == "__main__":
    main()
