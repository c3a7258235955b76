"""What a user sees in MLflow and DVC after one real `dvc repro` (tiny config, SQLite store):
the experiment opens on its runs, the pipeline's parent run carries every param and each
stage's headline figures, each training stage's `best/...` figures equal its metrics file, the
curves are named by model, and the metrics files hold results only."""

import json
import re

from mlflow.tracking import MlflowClient

from songcoder.config import as_dict, validate_all
from songcoder.tracking import flatten, numeric
from tests.conftest import ROOT, run

TRAINING = {"pretrain_1": "sdae", "pretrain_2": "sdae", "pretrain_3": "sdae",
            "finetune": "sdae", "train_rnn": "rnn"}
# Figures that measure the machine: the stages compute them, MLflow keeps them.
MACHINE = {"prepare": ["wall_seconds", "realtime_factor", "realtime_factor_per_worker"],
           "ingest": ["wall_seconds"], "generate": ["realtime_factor"],
           "evaluate": ["baseline.librosa.wall_seconds", "baseline.librosa.realtime_factor"],
           "train_rnn": ["train_seconds", "load_seconds", "train_samples_per_s"]}


def client(repo) -> MlflowClient:
    return MlflowClient(f"sqlite:///{repo.path / 'mlflow.db'}")


def stage_runs(repo) -> dict:
    return {r.data.tags["stage"]: r for r in repo.mlflow_runs()
            if r.data.tags.get("songcoder.kind") == "stage"}


def metrics_file(repo, stage: str) -> dict:
    return json.loads((repo.path / f"metrics/{stage}.json").read_text())


def test_experiment_opens_on_its_training_runs(pipeline):
    exp = client(pipeline).get_experiment_by_name("songcoder")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"


def test_parent_run_has_every_param_and_the_headlines(pipeline):
    (parent,) = [r for r in pipeline.mlflow_runs()
                 if r.data.tags.get("songcoder.kind") == "pipeline"]
    sections = validate_all(pipeline.path / "params.yaml")
    expected = {f"{s}.{k}": str(v) for s, cfg in sections.items()
                for k, v in flatten(as_dict(cfg)).items()}
    assert len(expected) > 80 and parent.data.params == expected
    m = parent.data.metrics
    assert m["finetune/val/rel_error"] == metrics_file(pipeline, "finetune")["val/rel_error"]
    assert m["finetune/best_epoch"] == metrics_file(pipeline, "finetune")["best_epoch"]
    ev = metrics_file(pipeline, "evaluate")
    assert m["evaluate/rel_error.finetuned_21"] == ev["rel_error"]["finetuned_21"]
    assert m["evaluate/rel_error.pca_21"] == ev["rel_error"]["pca_21"]
    assert m["train_rnn/val/loss"] == metrics_file(pipeline, "train_rnn")["val/loss"]
    assert m["generate/lsd_db"] == metrics_file(pipeline, "generate")["lsd_db"]
    assert m["prepare/tempo_acc1"] == metrics_file(pipeline, "prepare")["tempo_acc1"]
    assert {k.split("/")[0] for k in m} == {"ingest", "prepare", *TRAINING, "evaluate",
                                            "generate"}


def test_best_figures_equal_the_metrics_files(pipeline):
    runs = stage_runs(pipeline)
    for stage, model in TRAINING.items():
        logged, file = runs[stage].data.metrics, metrics_file(pipeline, stage)
        for key, value in numeric(file).items():
            name = f"best/{model}/{key}" if "/" in key else key
            assert logged[name] == value, (stage, key)
        kept = file.get("best_epoch", file["epochs"] - 1)     # train_rnn keeps its last epoch
        assert logged[f"best/{model}/epoch"] == kept
        # Curves are named by their model; nothing unnamed that the chart view would overlay.
        curve = client(pipeline).get_metric_history(runs[stage].info.run_id,
                                                    f"{model}/val/loss")
        assert len(curve) == file["epochs"], stage
        assert not [k for k in logged if re.match(r"(train|val)/", k)], stage


def test_metrics_files_hold_results_only(pipeline):
    runs = stage_runs(pipeline)
    for stage, keys in MACHINE.items():
        file = flatten(metrics_file(pipeline, stage))
        for key in keys:
            assert key not in file, (stage, key)
            assert runs[stage].data.metrics[key] > 0, (stage, key)   # measured, in MLflow
    for path in (pipeline.path / "metrics").glob("*.json"):
        for key, value in flatten(json.loads(path.read_text())).items():
            assert not re.search(r"seconds$|_per_s$|realtime", key) or key.split(".")[-1] in (
                "audio_seconds", "seconds"), (path.name, key)       # audio lengths are results
            if isinstance(value, float):
                assert len(f"{abs(value):e}".split("e")[0].rstrip("0").replace(".", "")) <= 5, \
                    (path.name, key, value)


def test_readme_exp_show_view_fits_80_columns(pipeline):
    """The README's short `dvc exp show`, as written but for the venv path (the same dvc)."""
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("A view that\nfits 80 columns:"):]
    block = block[block.index("```bash\n") + 8:]
    cmd = block[:block.index("\n```")].replace("\\\n", " ")
    assert cmd.startswith(".venv/bin/dvc exp show ")
    out = run(["bash", "-c", cmd.replace(".venv/bin/dvc", "dvc", 1)], pipeline.path,
              COLUMNS="80").stdout
    lines = out.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, out
    header = lines[1].split()
    assert header == ["Experiment", "rel_error.finetuned_21", "lsd_db"], out   # nothing cut
    assert "workspace" in out
