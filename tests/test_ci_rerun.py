"""`make ci-rerun` (what the GitHub pipeline job runs) on a repo copy with a base commit and a
head commit that changes one param: the summary diffs metrics and params, and the MLflow store,
metrics and plots land in the output folder; the workspace is left as it was.

The copy's params are already tiny, so CI_RERUN_SETS only restates two of them: the script's
override path is exercised, base and head get the same sizes, and the base (whose outputs are in
the DVC cache) reruns nothing while the head reruns evaluate alone (an evaluate key changes,
which keeps the test short; which keys rerun which stages is tests/test_dvc_graph.py's job).
"""

import json

from mlflow.tracking import MlflowClient

from songcoder.tracking import numeric
from tests.conftest import BIN, copy_repo, run

SETS = "-S data.songs=12 -S data.workers=1"


def table(md: str, header_start: str) -> list[dict[str, str]]:
    """The rows of the first markdown table whose header starts with `header_start`."""
    rows = []
    for line in md[md.index(f"| {header_start}"):].splitlines():
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return [dict(zip(rows[0], row)) for row in rows[2:]]


def close(cell: str, value: float) -> bool:          # dvc prints 5 significant digits
    return abs(float(cell) - value) <= 1e-4 * abs(value)


def test_make_ci_rerun_diffs_head_against_base(pipeline, tmp_path):
    repo = copy_repo(pipeline, tmp_path / "repo")
    base = repo.commit("base: pipeline outputs")
    base_eval = json.loads((repo.path / "metrics/evaluate.json").read_text())
    repo.params(evaluate={"mask_fraction": 0.4})
    head = repo.commit("head: mask more of each row in masked recovery")
    branch = run(["git", "symbolic-ref", "--short", "HEAD"], repo.path).stdout.strip()
    out = tmp_path / "ci-out"

    run(["make", "ci-rerun", f"BASE={base}", f"VENV={BIN.parent}"], repo.path, timeout=900,
        CI_RERUN_SETS=SETS, CI_RERUN_OUT=str(out))

    summary = (out / "summary.md").read_text()
    assert f"base `{base[:7]}` vs head `{head[:7]}`" in summary and SETS in summary
    head_eval = json.loads((out / "metrics/evaluate.json").read_text())
    base_col, head_col = f"ci-base-{base[:7]}", f"ci-head-{head[:7]}"
    (row,) = [r for r in table(summary, "Path") if r["Metric"] == "rel_error.finetuned_21"]
    assert row["Path"] == "metrics/evaluate.json"
    assert close(row[base_col], base_eval["rel_error"]["finetuned_21"])
    assert close(row[head_col], head_eval["rel_error"]["finetuned_21"])
    assert head_eval != base_eval
    params = table(summary[summary.index("## Params changed since base"):], "Path")
    assert [(r["Param"], r[base], r["workspace"]) for r in params] == [
        ("evaluate.mask_fraction", "0.3", "0.4")]

    # The head's outputs in the out dir, and its runs in the out dir's MLflow store.
    assert (out / "plots/finetune.csv").read_text().startswith("epoch")
    assert (out / "plots/evaluate/rel_error_depth.png").stat().st_size > 1000
    client = MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    exp = client.get_experiment_by_name("songcoder")
    runs = client.search_runs([exp.experiment_id])
    (evaluate,) = [r for r in runs if r.data.tags.get("stage") == "evaluate"]
    assert evaluate.data.tags["dvc_exp_name"] == f"ci-head-{head[:7]}"
    assert {k: evaluate.data.metrics[k] for k in numeric(head_eval)} == numeric(head_eval)
    assert evaluate.data.params["evaluate.mask_fraction"] == "0.4"
    assert {r.data.tags.get("stage") for r in runs} == {"evaluate", None}   # None: the parent run
    assert not (repo.path / "mlflow.db").exists()

    # The workspace: back on its branch, nothing changed.
    assert run(["git", "symbolic-ref", "--short", "HEAD"], repo.path).stdout.strip() == branch
    assert run(["git", "status", "--porcelain"], repo.path).stdout == ""
