"""Stage runs against a real `mlflow server` on 127.0.0.1 (SQLite backend, temp artifacts)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from songcoder import tracking
from songcoder.config import DataConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
           "--port", str(port), "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
           "--artifacts-destination", str(root / "artifacts"), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(uri + "/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("mlflow server did not start within 90 s")
    yield uri
    os.killpg(proc.pid, 15)
    proc.wait(timeout=20)


def test_stage_run_is_recorded_on_a_real_server(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.setenv("SONGCODER_PIPELINE_ID", "server-test")
    monkeypatch.chdir(tmp_path)
    Path("metrics.json").write_text('{"songs": 5}')
    with tracking.stage_run("ingest", {"data": DataConfig(songs=5)}) as run:
        run.log_metrics({"songs": 5})
        run.log_artifact("metrics.json")
    client = MlflowClient(server)
    exp = client.get_experiment_by_name("songcoder")
    (rec,) = client.search_runs([exp.experiment_id], "tags.stage = 'ingest'")
    assert rec.data.params["data.songs"] == "5" and rec.data.metrics["songs"] == 5
    assert [a.path for a in client.list_artifacts(rec.info.run_id)] == ["metrics.json"]
    parent = client.get_run(rec.data.tags["mlflow.parentRunId"])
    assert parent.data.tags["songcoder.kind"] == "pipeline"
