"""Two queued DVC experiments run at once (`dvc queue start -j 2`) after a `dvc repro`: each
shows in `dvc exp show` with its params and metrics, and in MLflow as its own parent run whose
stage runs carry its params and metrics, with the local SQLite store and with a real server.

Queue workers take their environment from `dvc queue start` (DVC spawns them from it; a
worker already running keeps the one it started with), so that is where MLFLOW_TRACKING_URI
goes; `dvc exp run --queue` records only the params.
"""

import json
import time

import pytest

from songcoder.tracking import PIPELINE_TAG, numeric
from tests.conftest import copy_repo

# Both differ from the baseline's 0.3; an evaluate key, so each experiment reruns evaluate
# alone (what the queue is tested for needs no more, and the suite stays short)
KEY = "evaluate.mask_fraction"
VALUES = (0.2, 0.4)
RERUN = {"evaluate"}


def run_queue(repo, timeout: float = 1200, **env: str) -> dict[str, dict]:
    """Queue one experiment per value of KEY, run them two at a time, wait for both.
    Returns {name: {"value": ..., "metrics": metrics/evaluate.json}} from `dvc exp show`."""
    repo.commit("pipeline outputs")
    for value in VALUES:
        repo.dvc("exp", "run", "--queue", "-S", f"{KEY}={value}")
    try:
        repo.dvc("queue", "start", "-j", "2", **env)
        deadline = time.monotonic() + timeout
        while True:
            status = repo.dvc("queue", "status").stdout
            if not any(s in status for s in ("Queued", "Running")):
                break
            assert time.monotonic() < deadline, status
            time.sleep(3)
    finally:
        repo.dvc("queue", "stop", check=False)
    if status.count("Success") != 2:
        failed = [line.split()[0] for line in status.splitlines() if "Failed" in line]
        pytest.fail("\n".join([status] + [repo.dvc("queue", "logs", task, check=False).stdout
                                          for task in failed]), pytrace=False)
    exps, (section, key) = {}, KEY.split(".")
    for baseline in json.loads(repo.dvc("exp", "show", "--json").stdout):
        for exp in baseline.get("experiments") or []:
            data = exp["revs"][0]["data"]
            exps[exp["name"]] = {
                "value": data["params"]["params.yaml"]["data"][section][key],
                "metrics": data["metrics"]["metrics/evaluate.json"]["data"]}
    assert sorted(e["value"] for e in exps.values()) == list(VALUES), exps
    return exps


def check_runs(runs, exps: dict[str, dict]) -> None:
    """Each experiment: one parent run, its own stage runs, its params and metrics."""
    by_id = {r.info.run_id: r for r in runs}
    assert {r.info.status for r in runs} == {"FINISHED"}
    for r in runs:                                   # no orphans: every stage run has a parent
        if r.data.tags.get("songcoder.kind") == "stage":
            parent = by_id[r.data.tags["mlflow.parentRunId"]]
            assert parent.data.tags["songcoder.kind"] == "pipeline"
    pipeline_ids = set()
    for name, exp in exps.items():
        (parent,) = [r for r in runs if r.data.tags.get("songcoder.kind") == "pipeline"
                     and r.data.tags.get("dvc_exp_name") == name]
        pid = parent.data.tags[PIPELINE_TAG]
        pipeline_ids.add(pid)
        stages = {r.data.tags["stage"]: r for r in runs
                  if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
        assert len(stages) == len([r for r in runs if r.data.tags.get("mlflow.parentRunId")
                                   == parent.info.run_id])            # each stage once
        assert set(stages) == RERUN, (name, sorted(stages))
        for stage, r in stages.items():
            assert r.data.tags[PIPELINE_TAG] == pid and r.data.tags["dvc_exp_name"] == name
            assert float(r.data.params[KEY]) == exp["value"], (name, stage)
        logged = stages["evaluate"].data.metrics
        expected = numeric(exp["metrics"])
        assert {k: logged[k] for k in expected} == expected, name
    assert len(pipeline_ids) == 2
    a, b = (numeric(e["metrics"]) for e in exps.values())
    assert a != b                   # the two experiments really differ, so a mix-up would show


# A minute of DVC queue workers: slow. The default suite still runs an experiment
# (`dvc exp run`, tests/test_readme_commands.py).
@pytest.mark.slow
def test_two_queued_experiments_at_once_local_store(pipeline, tmp_path):
    repo = copy_repo(pipeline, tmp_path / "repo")
    exps = run_queue(repo)
    check_runs(repo.mlflow_runs(), exps)


@pytest.mark.slow
def test_two_queued_experiments_at_once_tracking_server(pipeline, server, tmp_path):
    repo = copy_repo(pipeline, tmp_path / "repo")
    exps = run_queue(repo, MLFLOW_TRACKING_URI=server)
    assert not (repo.path / "mlflow.db").exists()       # everything went to the server
    runs = repo.mlflow_runs(uri=server)
    check_runs(runs, exps)
    assert {r.data.tags.get("dvc_exp_name") for r in runs} == set(exps)
