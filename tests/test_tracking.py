import socket
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from songcoder import tracking
from songcoder.config import DataConfig, PrepareConfig
from songcoder.errors import TrackingError


@pytest.fixture
def store(tmp_path: Path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("SONGCODER_PIPELINE_ID", "pipe-1")
    monkeypatch.chdir(tmp_path)
    return MlflowClient(uri)


def test_stage_runs_nest_under_one_pipeline_run(store):
    with tracking.stage_run("ingest", {"data": DataConfig(songs=7)}) as run:
        run.log_metrics({"songs": 7, "nested": {"ok": True}})
        Path("m.json").write_text("{}")
        run.log_artifact("m.json")
    with tracking.stage_run("prepare", {"prepare": PrepareConfig()}):
        pass
    exp = store.get_experiment_by_name("songcoder")
    runs = store.search_runs([exp.experiment_id])
    stages = {r.data.tags.get("stage"): r for r in runs if r.data.tags.get("stage")}
    parents = [r for r in runs if r.data.tags.get("songcoder.kind") == "pipeline"]
    assert set(stages) == {"ingest", "prepare"} and len(parents) == 1
    ingest = stages["ingest"]
    assert ingest.info.run_name == "ingest"
    assert ingest.data.params["data.songs"] == "7"
    assert ingest.data.metrics == {"songs": 7.0, "nested.ok": 1.0}
    assert ingest.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
    assert stages["prepare"].data.tags["mlflow.parentRunId"] == parents[0].info.run_id
    for key in ("git_commit", "git_dirty", "params_hash", tracking.PIPELINE_TAG):
        assert ingest.data.tags[key]
    arts = [a.path for a in store.list_artifacts(ingest.info.run_id)]
    assert arts == ["m.json"]
    assert (Path("mlartifacts") / ingest.info.run_id / "artifacts"
            / "m.json").exists()  # beside the SQLite store, never ./mlruns
    assert not Path("mlruns").exists()


def test_a_new_pipeline_gets_a_new_parent(store, monkeypatch):
    for pid in ("pipe-a", "pipe-b"):
        monkeypatch.setenv("SONGCODER_PIPELINE_ID", pid)
        with tracking.stage_run("ingest", {"data": DataConfig()}):
            pass
    exp = store.get_experiment_by_name("songcoder")
    parents = store.search_runs([exp.experiment_id], "tags.`songcoder.kind` = 'pipeline'")
    assert len(parents) == 2


def test_failed_stage_run_is_marked_failed(store):
    with pytest.raises(RuntimeError):
        with tracking.stage_run("ingest", {"data": DataConfig()}):
            raise RuntimeError("boom")
    exp = store.get_experiment_by_name("songcoder")
    (run,) = store.search_runs([exp.experiment_id], "tags.stage = 'ingest'")
    assert run.info.status == "FAILED"


def test_repo_root_escapes_dvc_experiment_temp_copies(tmp_path: Path, monkeypatch):
    import sys
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "stages"))
    sys.modules.pop("common", None)
    import common

    real = tmp_path / "proj"
    temp = real / ".dvc" / "tmp" / "exps" / "tmpabc123"
    temp.mkdir(parents=True)
    assert common.project_root(temp) == real          # the stages hand this to tracking
    monkeypatch.setenv("SONGCODER_ROOT", str(real))
    assert tracking.repo_root() == real
    monkeypatch.delenv("SONGCODER_ROOT")
    (real / "dvc.yaml").touch()
    (real / "src").mkdir()
    assert tracking.repo_root(real / "src") == real


def test_unreachable_server_fails_within_seconds(monkeypatch, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.chdir(tmp_path)
    t0 = time.monotonic()
    with pytest.raises(TrackingError, match=f"http://127.0.0.1:{port} cannot be reached"):
        with tracking.stage_run("ingest", {"data": DataConfig()}):
            pytest.fail("the stage body must not run")
    assert time.monotonic() - t0 < 10
