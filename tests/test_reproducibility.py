"""A `dvc repro` from a clean state writes the same bytes as the run before it, on CPU: a fresh
clone of a repo whose results are committed reruns every stage (it has no DVC cache) and its
`git status` stays clean (so ingest's synthetic audio, hashed in dvc.lock, is byte-identical
too). Metrics files hold results only (timings and speeds go to MLflow) and round floats to 5
significant digits, so the same params give the same bytes."""

import json

from songcoder.tracking import flatten
from tests.conftest import Repo, copy_repo, run


def test_a_fresh_clone_reruns_to_the_same_bytes(pipeline, tmp_path):
    done = copy_repo(pipeline, tmp_path / "done")
    done.commit("results of a tiny run")
    run(["git", "clone", "-q", str(done.path), str(tmp_path / "clone")], tmp_path)
    clone = Repo(tmp_path / "clone")
    clone.dvc("repro")
    assert run(["git", "status", "--porcelain"], clone.path).stdout == ""
    metrics = sorted(p.relative_to(done.path) for p in (done.path / "metrics").glob("*.json"))
    assert len(metrics) == 9                                   # every stage wrote its metrics
    assert sum(len(flatten(json.loads((done.path / m).read_text()))) for m in metrics) > 100
    # The learning curves and the trained weights too, byte for byte (these are not in git).
    for rel in [*metrics, "plots/pretrain_1.csv", "plots/finetune.csv", "plots/train_rnn.csv",
                "models/sdae.pt", "models/rnn.pt"]:
        assert (done.path / rel).read_bytes() == (clone.path / rel).read_bytes(), rel
