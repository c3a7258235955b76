"""SIGKILL a training stage mid-epoch, rerun `dvc repro`: it resumes from the last checkpoint
and ends with the same outputs and metrics as a run that was never killed.

Kills come from the testing hook `SONGCODER_FAULT` (training.FaultInjection) at a fixed
(epoch, batch), or from outside: the whole `dvc repro` process group, SIGKILLed by the test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import Repo, dvc_stages, tool_env
from tests.faults.conftest import (TRAINING, assert_same_outputs, copy_of, dvc_name,
                                   last_checkpoint, leftovers, lock_entry, pending)

RESUMED = re.compile(r"(\w+): resuming from \S+last\.ckpt: (\d+) epochs done")
CURVE = {"train_rnn": "rnn/val/loss"}      # the SDAE stages log sdae/val/rel_error per epoch


def resumed(out: str) -> dict[str, int]:
    """{stage: epochs the checkpoint held} for every stage that resumed."""
    return {m[1]: int(m[2]) for m in RESUMED.finditer(out)}


def assert_killed_cleanly(repo: Repo, stage: str, lock_before: dict | None) -> None:
    """No half-written output under a real name, the stage not marked done (dvc.lock as it was,
    `dvc status` lists it), a checkpoint kept."""
    outs = dvc_stages(repo.path)[dvc_name(stage)].outs
    for rel in (o.def_path for o in outs if not (o.metric or o.plot)):
        assert not (repo.path / rel).exists(), f"{rel} exists after {stage} was killed"
    assert leftovers(repo) == []
    assert lock_entry(repo, stage) == lock_before and stage in pending(repo)
    assert last_checkpoint(repo, stage) is not None


def assert_resumed_run(repo: Repo, ref: Repo, stage: str) -> None:
    """MLflow: the killed run was ended as KILLED by the rerun (its process was gone), which
    names it; nothing is left RUNNING, the killed pipeline's parent run included. The finished
    run's per-epoch curve starts at the resumed epoch, so it is shorter than the reference's."""
    runs = {r.info.status: r for r in repo.mlflow_runs(stage)}
    assert set(runs) == {"KILLED", "FINISHED"}
    assert runs["FINISHED"].data.tags["songcoder.after_killed"] == runs["KILLED"].info.run_id
    assert [r.info.status for r in repo.mlflow_runs() if r.info.status == "RUNNING"] == []
    key = CURVE.get(stage, "sdae/val/rel_error")
    length = [len(MlflowClient(f"sqlite:///{r.path / 'mlflow.db'}")
                  .get_metric_history(run.info.run_id, key))
              for r, run in ((repo, runs["FINISHED"]), (ref, ref.mlflow_runs(stage)[0]))]
    assert 0 < length[0] < length[1]


def test_pretrain_1_killed_mid_epoch_resumes_exactly(prepared, reference, tmp_path):
    ref = reference.ensure("pretrain_1")
    repo = copy_of(prepared, tmp_path / "repo")
    before = lock_entry(repo, "pretrain_1")
    killed = repo.dvc("repro", "pretrain@1", check=False, SONGCODER_FAULT="kill:pretrain_1:1:1")
    assert killed.returncode != 0 and "injects kill at epoch 1, batch 1" in killed.stderr
    assert_killed_cleanly(repo, "pretrain_1", before)

    again = repo.dvc("repro", "pretrain@1")
    assert resumed(again.stderr) == {"pretrain_1": 1}   # epoch 0 kept, epoch 1 redone
    assert_same_outputs(repo, ref, "pretrain_1")
    assert_resumed_run(repo, ref, "pretrain_1")
    assert not list((repo.path / "checkpoints").rglob("*.ckpt"))
    assert "pretrain_1" not in pending(repo)


def test_dvc_repro_killed_from_outside_resumes_train_rnn(prepared, reference, tmp_path):
    """The whole `dvc repro` process group gets SIGKILL once the first checkpoint is on disk
    (the hook only holds the stage in epoch 1 so the kill cannot miss)."""
    ref = reference.ensure("train_rnn")
    repo = copy_of(prepared, tmp_path / "repo")
    before = lock_entry(repo, "train_rnn")
    log = tmp_path / "repro.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["dvc", "repro", "train_rnn"], cwd=repo.path, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env=tool_env(SONGCODER_FAULT="hang:train_rnn:1:2"))
    try:
        deadline = time.monotonic() + 300
        while last_checkpoint(repo, "train_rnn") is None:
            assert proc.poll() is None, f"dvc repro ended first:\n{log.read_text()}"
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    for _ in range(100):                          # the stage process went down with dvc
        try:
            os.killpg(proc.pid, 0)
            time.sleep(0.1)
        except ProcessLookupError:
            break
    else:
        pytest.fail("processes of the killed dvc repro are still alive")
    assert_killed_cleanly(repo, "train_rnn", before)

    again = repo.dvc("repro", "train_rnn")
    assert resumed(again.stderr) == {"train_rnn": 1}
    assert_same_outputs(repo, ref, "train_rnn")
    assert_resumed_run(repo, ref, "train_rnn")


@pytest.mark.slow
def test_every_training_stage_killed_in_turn_resumes_exactly(prepared, reference, tmp_path):
    """One `dvc repro` per kill: each rerun resumes the stage killed last time and gets killed
    in the next one; the last rerun finishes. All outputs equal the never-killed run's."""
    ref = reference.ensure(*TRAINING)
    repo = copy_of(prepared, tmp_path / "repo")
    previous = None
    for stage in [*TRAINING, None]:
        fault = f"kill:{stage}:1:1" if stage else ""
        before = lock_entry(repo, stage) if stage else None
        p = repo.dvc("repro", "finetune", "train_rnn", check=stage is None, SONGCODER_FAULT=fault)
        assert resumed(p.stderr) == ({previous: 1} if previous else {})
        if stage:
            assert p.returncode != 0 and f"{stage}: SONGCODER_FAULT injects kill" in p.stderr
            assert_killed_cleanly(repo, stage, before)
        previous = stage
    for stage in TRAINING:
        assert_same_outputs(repo, ref, stage)
        assert_resumed_run(repo, ref, stage)
    assert not set(TRAINING) & pending(repo)
