"""ingest + prepare through a real `dvc repro` on the tiny synthetic corpus: what the suite's built
pipeline wrote, then, in a copy of it, which param changes rerun prepare."""

import csv
import json

import numpy as np

from tests.conftest import copy_repo


def test_ingest_and_prepare_through_dvc(pipeline, tmp_path):
    repo = pipeline                                    # read only: other tests share it
    p = repo.path
    rows = list(csv.DictReader(open(p / "data/manifest.csv")))
    assert len(rows) == 12 and {r["split"] for r in rows} == {"train", "val", "test"}
    assert all(r["tempo"] and r["style"] and r["pattern"] for r in rows)
    assert list(csv.DictReader(open(p / "data/skipped.csv"))) == []
    n = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    for split, count in n.items():
        x = np.load(p / f"data/features/{split}.npy")
        assert x.shape == (count, 1482) and x.dtype == np.float32 and np.isfinite(x).all()
        index = list(csv.DictReader(open(p / f"data/features/{split}_index.csv")))
        assert [r["id"] for r in index] == [r["id"] for r in rows if r["split"] == split]
    train = np.load(p / "data/features/train.npy")
    assert np.allclose(train.mean(axis=0), 0, atol=1e-4)  # normalised with train statistics
    assert np.load(p / "data/features/test_halves.npy").shape == (2, n["test"], 1482)
    assert np.load(p / "data/features/val_halves.npy").shape == (2, n["val"], 1482)
    # train and val songs also give excerpt rows: 3 per 8 s song, then the whole song's own row
    # (prepare.whole_row), contiguous, splits by song
    for split in ("train", "val"):
        ex = np.load(p / f"data/features/{split}_excerpts.npy")
        index = list(csv.DictReader(open(p / f"data/features/{split}_excerpts_index.csv")))
        assert ex.shape == (4 * n[split], 1482) and np.isfinite(ex).all()
        assert [int(r["song"]) for r in index] == [j for j in range(n[split]) for _ in range(4)]
        ids = {r["id"] for r in index}
        assert ids == {r["id"] for r in rows if r["split"] == split}
        assert [float(r["start_s"]) for r in index[:4]] == [0.0, 2.5, 5.0, 0.0]
        assert [float(r["seconds"]) for r in index[:4]] == [3.0, 3.0, 3.0, 8.0]
        whole = np.load(p / f"data/features/{split}.npy")
        assert np.array_equal(ex[3::4], whole)           # the whole-song row, byte for byte
    metrics = json.loads((p / "metrics/prepare.json").read_text())
    assert metrics["songs"] == 12 and metrics["skipped"] == 0
    assert metrics["audio_seconds"] == 12 * 8.0 and "realtime_factor" not in metrics
    assert 0 <= metrics["tempo_acc1"] <= metrics["tempo_acc2"] <= 1
    assert 0 <= metrics["tempo_speed_acc1"] <= metrics["tempo_speed_acc2"] <= 1
    assert 0 <= metrics["tempo_at_bound"] <= 1 and metrics["excerpts_train"] == 4 * n["train"]

    (prepare_run,) = repo.mlflow_runs("prepare")
    assert prepare_run.data.params["prepare.min_bpm"] == "60.0"
    assert prepare_run.data.metrics["songs"] == 12
    assert prepare_run.data.metrics["realtime_factor"] > 1     # speed: in MLflow only
    assert prepare_run.data.metrics["tempo_acc2"] == metrics["tempo_acc2"]
    (ingest_run,) = repo.mlflow_runs("ingest")
    assert ingest_run.data.params["data.songs"] == "12"
    assert ingest_run.data.tags["mlflow.parentRunId"] == prepare_run.data.tags["mlflow.parentRunId"]

    # In a copy (a fresh MLflow store): nothing changed, nothing runs, no MLflow runs.
    repo = copy_repo(pipeline, tmp_path / "repo")
    out = repo.dvc("repro", "prepare").stdout
    assert "didn't change" in out and repo.mlflow_runs("prepare") == []
    # One prepare key changed: prepare reruns, ingest does not.
    repo.params(prepare={"max_bpm": 190.0})
    repo.dvc("repro", "prepare")
    assert len(repo.mlflow_runs("prepare")) == 1 and repo.mlflow_runs("ingest") == []
    # Back to the old value: DVC's run-cache is off for logging stages, so it really runs again.
    repo.params(prepare={"max_bpm": 200.0})
    repo.dvc("repro", "prepare")
    assert len(repo.mlflow_runs("prepare")) == 2

