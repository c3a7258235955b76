"""Stage runs against a real `mlflow server` on 127.0.0.1 (SQLite backend, temp artifacts)."""

from pathlib import Path

from mlflow.tracking import MlflowClient

from songcoder import tracking
from songcoder.config import DataConfig


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
