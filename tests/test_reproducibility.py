"""A `dvc repro` writes the same bytes as the run before it, on CPU. Metrics files hold results
only (timings and speeds go to MLflow) and round floats to 5 significant digits, so the same
params give the same bytes; `git status` staying clean means dvc.lock's hashes agree too (so
ingest's synthetic audio is byte-identical).

The default suite forces a rerun of the stages whose repeatability no other default test
checks (the fault tests compare pretrain_1 and train_rnn with a never-faulted rerun); the slow
test reruns everything in a fresh clone, which has no DVC cache."""

import json

import pytest

from songcoder.tracking import flatten
from tests.conftest import Repo, copy_repo, run

UNCHECKED = ["ingest", "prepare", "finetune", "evaluate", "generate"]


def assert_same_bytes(done: Repo, again: Repo, metrics_count: int) -> None:
    assert run(["git", "status", "--porcelain"], again.path).stdout == ""
    metrics = sorted(p.relative_to(done.path) for p in (done.path / "metrics").glob("*.json"))
    assert len(metrics) == metrics_count                       # every stage wrote its metrics
    assert sum(len(flatten(json.loads((done.path / m).read_text()))) for m in metrics) > 100
    # The learning curves and the trained weights too, byte for byte (these are not in git).
    for rel in [*metrics, "plots/pretrain_1.csv", "plots/finetune.csv", "plots/train_rnn.csv",
                "models/sdae.pt", "models/rnn.pt"]:
        assert (done.path / rel).read_bytes() == (again.path / rel).read_bytes(), rel


def committed_copy(pipeline, dst) -> Repo:
    done = copy_repo(pipeline, dst)
    done.commit("results of a tiny run")
    return done


def test_a_forced_rerun_writes_the_same_bytes(pipeline, tmp_path):
    done = committed_copy(pipeline, tmp_path / "done")
    again = copy_repo(done, tmp_path / "again")
    p = again.dvc("repro", "--force", "--single-item", *UNCHECKED)
    assert sorted({r.data.tags["stage"] for r in again.mlflow_runs()
                   if r.data.tags.get("songcoder.kind") == "stage"}) == sorted(UNCHECKED), p.stdout
    assert_same_bytes(done, again, metrics_count=9)


@pytest.mark.slow
def test_a_fresh_clone_reruns_to_the_same_bytes(pipeline, tmp_path):
    done = committed_copy(pipeline, tmp_path / "done")
    run(["git", "clone", "-q", str(done.path), str(tmp_path / "clone")], tmp_path)
    clone = Repo(tmp_path / "clone")
    clone.dvc("repro")
    assert_same_bytes(done, clone, metrics_count=9)
