"""A real `dvc repro` of pretrain@1..3, finetune and evaluate on a tiny corpus."""

import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from songcoder import tracking
from songcoder.evaluate.metrics import rel_error
from songcoder.pca import PCA
from tests.conftest import copy_repo


def test_sdae_stages_through_dvc(pipeline):
    repo = pipeline
    p = repo.path
    # the autoencoder's rows: train/val excerpts, test songs
    n = {s: len(np.load(p / f"data/features/{s}.npy")) for s in ("train_excerpts", "val_excerpts",
                                                                 "test")}
    for k, size in zip((1, 2, 3), (352, 84, 21)):
        assert (p / f"models/layers/layer_{k}.pt").exists()
        for split, rows in n.items():
            codes = np.load(p / f"data/codes/layer_{k}/{split}.npy")
            assert codes.shape == (rows, size) and np.isfinite(codes).all()
        history = (p / f"plots/pretrain_{k}.csv").read_text().splitlines()
        assert history[0].startswith("epoch") and len(history) == 1 + 2
    assert not (p / "checkpoints").exists() or not any((p / "checkpoints").rglob("*.ckpt"))

    ev = json.loads((p / "metrics/evaluate.json").read_text())
    for key in ("finetuned_21", "greedy_21", "greedy_84", "greedy_352", "pca_21", "pca_84"):
        assert np.isfinite(ev["rel_error"][key]), key
    assert set(ev["retrieval"]) >= {"top1_halves_code", "top1_halves_raw", "p_at_10_code",
                                    "p_at_10_raw", "p_at_10_pca_21"}
    # val: the same precisions and the val songs' halves for the project's own representations
    # (the librosa peer reads audio, so it scores the test songs only)
    assert set(ev["retrieval_val"]) == {k for k in ev["retrieval"] if k.startswith("p_at_")
                                        or (k.startswith(("top1_", "mrr_")) and "librosa" not in k)
                                        or k == "halves_songs"}
    val_songs = np.load(p / "data/features/val_halves.npy").shape[1]
    assert ev["retrieval_val"]["halves_songs"] == val_songs >= 2
    test_songs = np.load(p / "data/features/test_halves.npy").shape[1]
    assert ev["retrieval"]["halves_songs"] == test_songs >= 2      # the baseline read every one
    r = ev["retrieval"]
    for rep in ("code", "raw", "pca_21", "librosa"):
        assert 0 <= r[f"top1_halves_{rep}"] <= r[f"mrr_halves_{rep}"] <= 1
    lib = ev["baseline"]["librosa"]
    assert lib["zscore"] == "train" and lib["failed"] == 0 and "realtime_factor" not in lib
    lines = (p / "data/features/train_index.csv").read_text().splitlines()[1:]
    train_songs = len({line.split(",")[1] for line in lines})    # column `id`
    assert lib["songs"] == test_songs + train_songs                # fewer than 100 train songs
    assert ev["rel_error_vs_pca"]["finetuned_21"] == pytest.approx(       # each rounded to
        ev["rel_error"]["finetuned_21"] / ev["rel_error"]["pca_21"], rel=1e-4)  # 5 digits
    # the PCA peer learned from the autoencoder's training rows (excerpts and whole songs), not
    # from the whole-song rows alone; the error's reference is the train songs' mean
    f = {s: np.load(p / f"data/features/{s}.npy") for s in ("train_excerpts", "train", "test")}
    peer = PCA.fit(f["train_excerpts"], 21)
    assert ev["rel_error"]["pca_21"] == pytest.approx(
        rel_error(f["test"], peer.reconstruct(f["test"]), f["train"].mean(0)), rel=1e-3)
    assert ev["rel_error"]["pca_21"] != pytest.approx(rel_error(
        f["test"], PCA.fit(f["train"], 21).reconstruct(f["test"]), f["train"].mean(0)), rel=1e-3)
    assert isinstance(ev["collapsed"], bool)
    pngs = ["rel_error_depth.png", "units.png", "preferred_inputs.png", "code_map.png",
            "reconstructions.png"]                 # the last four: evaluate/pictures.py
    for name in pngs:
        assert (p / "plots/evaluate" / name).read_bytes()[:4] == b"\x89PNG", name
        assert (p / "plots/evaluate" / name).stat().st_size > 1000, name
    units = ev["code_units"]                   # a plain code: activations only, no prefix curve
    assert units["regularizer"] == "none" and len(units["rho_hat"]) == 21
    assert 0 <= units["near_zero"] <= 1 and "prefix_k" not in units
    assert (p / "plots/evaluate/code_units.png").stat().st_size > 1000
    registry = json.loads((p / "models/registry.json").read_text())
    assert registry == {"model": "songcoder-encoder",       # the same bytes in every clone
                        "val_mrr": ev["retrieval_val"]["mrr_halves_code"],
                        "test_rel_error": ev["rel_error"]["finetuned_21"]}
    assert 0 < ev["retrieval_val"]["mrr_halves_code"] <= 1   # the champion's score: val songs' halves

    runs = {r.data.tags["stage"]: r for r in repo.mlflow_runs()
            if r.data.tags.get("songcoder.kind") == "stage"}
    assert set(runs) >= {"ingest", "prepare", "pretrain_1", "pretrain_2", "pretrain_3",
                         "finetune", "evaluate"}
    assert len({r.data.tags["mlflow.parentRunId"] for r in runs.values()}) == 1
    client = MlflowClient(f"sqlite:///{p / 'mlflow.db'}")
    curve = client.get_metric_history(runs["finetune"].info.run_id, "sdae/val/rel_error")
    assert len(curve) == 2  # per-epoch curve in the stage's own run, not an orphan run
    assert runs["evaluate"].data.metrics["rel_error.finetuned_21"] == ev["rel_error"]["finetuned_21"]
    assert set(pngs) <= {a.path for a in client.list_artifacts(runs["evaluate"].info.run_id)}
    # the encoder version: tagged with its training data's fingerprint, champion of that corpus
    fingerprint = tracking.data_fingerprint(p / "data/features/train_excerpts.npy")
    version = client.get_model_version_by_alias("songcoder-encoder", f"champion-{fingerprint}")
    assert version.tags["data_fingerprint"] == fingerprint
    assert float(version.tags["test_rel_error"]) == pytest.approx(ev["rel_error"]["finetuned_21"],
                                                                  rel=1e-4)
    assert float(version.tags["val_mrr"]) == pytest.approx(ev["retrieval_val"]["mrr_halves_code"],
                                                           rel=1e-4)
    stage_or_parent = {r.info.run_id for r in repo.mlflow_runs()}
    assert len(stage_or_parent) == len(runs) + 1  # + 1 parent: Lightning made no extra runs


@pytest.mark.slow
def test_a_rank_ordered_code_gets_its_prefix_curve(pipeline, tmp_path):
    repo = copy_repo(pipeline, tmp_path / "repo")
    repo.params(sdae={"regularizer": "rank_ordered", "activation": "trelu", "linear_path": False,
                      "pretrain_loudness_weight": 1.0, "finetune_rank_ordered": True})
    repo.dvc("repro", "evaluate")
    units = json.loads((repo.path / "metrics/evaluate.json").read_text())["code_units"]
    assert units["regularizer"] == "rank_ordered"
    curves = units["prefix_k"]
    assert all(len(curves[k]) == 21 for k in ("rank_ordered", "best_units", "pca"))
    assert sorted(curves["best_units_order"]) == list(range(21))
    rel = json.loads((repo.path / "metrics/evaluate.json").read_text())["rel_error"]
    assert curves["rank_ordered"][-1] == pytest.approx(rel["finetuned_21"], rel=1e-3)  # all units
    assert curves["pca"][-1] == pytest.approx(rel["pca_21"], rel=1e-3)
