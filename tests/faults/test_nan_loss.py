"""A NaN loss through `dvc repro`: the stage stops with a message naming stage, epoch and
step, exits non-zero, keeps its last good checkpoint, and nothing downstream runs."""

import re

import torch

from tests.faults.conftest import (assert_same_outputs, copy_of, last_checkpoint, leftovers,
                                   pending)

OWN = ["models/layers/layer_1.pt", "data/codes/layer_1"]
# left by the built pipeline the repo is a copy of: a stage that ran would rewrite them
DOWNSTREAM = ["models/layers/layer_2.pt", "data/codes/layer_2", "models/layers/layer_3.pt",
              "models/sdae.pt"]


def snapshot(repo, rels: list[str]) -> dict[str, bytes]:
    files = [f for rel in rels for f in sorted((repo.path / rel).rglob("*"))
             if f.is_file()] + [repo.path / rel for rel in rels if (repo.path / rel).is_file()]
    return {str(f.relative_to(repo.path)): f.read_bytes() for f in files}


def test_nan_loss_stops_dvc_repro_and_keeps_the_last_good_checkpoint(prepared, reference,
                                                                       tmp_path):
    repo = copy_of(prepared, tmp_path / "repo")
    lock = (repo.path / "dvc.lock").read_bytes()
    downstream = snapshot(repo, DOWNSTREAM)
    assert len(downstream) >= len(DOWNSTREAM)
    p = repo.dvc("repro", "finetune", check=False, SONGCODER_FAULT="nan:pretrain_1:1:1")
    assert p.returncode != 0
    line = re.search(r"pretrain_1: error: loss became nan in pretrain_1 at epoch 1 \(from 0\), "
                     r"batch 1, global step \d+; stopped, the last good checkpoint is kept",
                     p.stderr)
    assert line, p.stderr
    assert "Traceback" not in p.stderr                        # one line, not a stack trace

    ckpt = torch.load(last_checkpoint(repo, "pretrain_1"), map_location="cpu",
                      weights_only=False)
    assert ckpt["epoch"] == 0                                 # the epoch before the NaN
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values())
    for rel in OWN:                                           # nothing half-written
        assert not (repo.path / rel).exists(), rel
    assert snapshot(repo, DOWNSTREAM) == downstream           # pretrain_2.. never ran
    assert leftovers(repo) == []
    assert (repo.path / "dvc.lock").read_bytes() == lock
    assert {"pretrain_1", "pretrain_2", "finetune"} <= pending(repo)
    (run,) = repo.mlflow_runs("pretrain_1")
    assert run.info.status == "FAILED" and not repo.mlflow_runs("pretrain_2")

    # The kept checkpoint is usable: a rerun resumes from it and matches the clean run.
    again = repo.dvc("repro", "pretrain@1")
    assert "pretrain_1: resuming from" in again.stderr
    assert_same_outputs(repo, reference.ensure("pretrain_1"), "pretrain_1")
