"""`finetune` under DDP on CPU (gloo, 2 processes) through `dvc repro`: only rank 0 writes and
tracks, and the numbers are those of the equivalent single-process run.

Why they can be compared tightly: under DDP each process takes every second row of the same
shuffled permutation (sdae/data.py), so with a per-process batch of B the two processes
together see exactly the 2B rows that one process with batch 2B sees in that step, and DDP
averages the two half-batch mean gradients, which is the mean gradient over the 2B rows. The
masking noise is drawn per process, so it is switched off (finetune_noise=0) for both runs.
What remains is float summation order (all-reduce, half-size matmuls): relative differences of
order 1e-6 in the metrics, hence the 1e-4 tolerance. A real bug (a rank training on other rows, a metric from half the validation
set) moves them by far more.
"""

import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import copy_repo

OUTPUTS = ("models/sdae.pt", "metrics/finetune.json", "plots/finetune.csv")
REL_TOL = 1e-4

# Loaded by every Python process of the run (PYTHONPATH): logs which process, of which rank,
# writes which file or opens which SQLite database, and which processes ran at all.
AUDIT = '''
import atexit, os, sys
_fd = os.open(os.environ["WRITE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
_rank = os.environ.get("LOCAL_RANK", "0")

def _log(event, path):
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    os.write(_fd, f"{os.getpid()}\\t{_rank}\\t{argv0}\\t{event}\\t{path}\\n".encode())

def _hook(event, args):
    if event == "open" and isinstance(args[0], (str, os.PathLike)) and \\
            args[2] & (os.O_WRONLY | os.O_RDWR):
        _log("write", os.path.abspath(args[0]))
    elif event == "os.rename":
        _log("write", os.path.abspath(args[1]))
    elif event == "sqlite3.connect":
        _log("sqlite", os.path.abspath(str(args[0])))

sys.addaudithook(_hook)
atexit.register(_log, "exit", "")
'''


def finetune(repo, tmp_path: Path, name: str, **trainer) -> dict[str, list]:
    """`dvc repro -s finetune` with these trainer settings; {rank: [(pid, event, path)]} of
    the finetune processes."""
    hooks = tmp_path / f"hooks-{name}"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(AUDIT)
    log = tmp_path / f"writes-{name}.tsv"
    repo.params(trainer={"accelerator": "cpu", **trainer})
    repo.dvc("repro", "-s", "finetune", WRITE_LOG=str(log), PYTHONDONTWRITEBYTECODE="1",
             PYTHONPATH=os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]))
    by_rank = defaultdict(list)
    for line in log.read_text().splitlines():
        pid, rank, argv0, event, path = line.split("\t")
        if argv0 == "finetune.py":
            by_rank[rank].append((pid, event, path))
    return by_rank


def outputs(repo) -> dict:
    state = torch.load(repo.path / "models/sdae.pt", weights_only=True)["state_dict"]
    return {"metrics": json.loads((repo.path / "metrics/finetune.json").read_text()),
            "curve": (repo.path / "plots/finetune.csv").read_text().splitlines(),
            "weights": state}


def test_ddp_finetune_writes_once_and_matches_one_process(pipeline, tmp_path):
    repo = copy_repo(pipeline, tmp_path / "repo")
    # The plain reconstruction target: with the same-song term on, each rank takes a contiguous
    # share of the song-grouped order (a song's rows stay on one rank) and scores InfoNCE over
    # its own rows, so DDP then trains on other batches than one process does, by design.
    repo.params(sdae={"finetune_noise": 0.0, "batch_size": 2, "same_song_weight": 0.0})
    by_rank = finetune(repo, tmp_path, "ddp", strategy="ddp", devices="2")
    ddp = outputs(repo)

    # Two processes ran the stage script; the second (Lightning re-executes it) wrote nothing
    # in the repository and never opened the MLflow store.
    assert {p for p, e, _ in by_rank["0"] if e == "exit"} and \
        {p for p, e, _ in by_rank["1"] if e == "exit"}, dict(by_rank)
    rank1 = [(e, path) for _, e, path in by_rank["1"] if path.startswith(str(repo.path))]
    assert rank1 == [], rank1
    written = [Path(path).relative_to(repo.path).as_posix() for _, e, path in by_rank["0"]
               if e == "write" and path.startswith(str(repo.path))]
    for out in OUTPUTS:
        assert written.count(out) == 1, (out, written)        # renamed into place once
    assert any(e == "sqlite" and path == str(repo.path / "mlflow.db")
               for _, e, path in by_rank["0"])
    assert not (repo.path / "checkpoints").exists() or not any(
        (repo.path / "checkpoints").rglob("*.ckpt"))

    # MLflow: one pipeline run with exactly one finetune run, both finished, curves inside it.
    runs = repo.mlflow_runs()
    kinds = sorted(r.data.tags.get("songcoder.kind", "?") for r in runs)
    assert kinds == ["pipeline", "stage"], [(r.info.run_name, r.data.tags) for r in runs]
    (stage,) = [r for r in runs if r.data.tags["songcoder.kind"] == "stage"]
    (parent,) = [r for r in runs if r.data.tags["songcoder.kind"] == "pipeline"]
    assert stage.data.tags["stage"] == "finetune"
    assert stage.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert stage.data.params["trainer.strategy"] == "ddp"
    assert stage.data.metrics["epochs"] == ddp["metrics"]["epochs"] == 2

    # The same steps in one process: twice the batch, no DDP.
    repo.params(sdae={"batch_size": 4})
    by_rank = finetune(repo, tmp_path, "single", strategy="auto", devices="1")
    assert set(by_rank) == {"0"}
    single = outputs(repo)
    for key, value in single["metrics"].items():
        assert ddp["metrics"][key] == pytest.approx(value, rel=REL_TOL), key
    rows = lambda curve: np.array([[float(v) for v in r.split(",")] for r in curve[1:]])
    assert ddp["curve"][0] == single["curve"][0]
    np.testing.assert_allclose(rows(ddp["curve"]), rows(single["curve"]), rtol=REL_TOL)
    # Whole matrices, not single entries: Adam divides by sqrt(v), so for a weight whose
    # gradient is ~0 rounding noise alone can become a step of up to lr.
    # the whole model to REL_TOL; each tensor to 1 %: a small one (the tanh biases, whose
    # gradients the linear path's gates scale down) shows the all-reduce's rounding relatively
    # more, and a tensor DDP failed to synchronise would be off by far more than 1 %
    flat = {k: torch.cat([t.flatten() for t in run["weights"].values()]) for k, run in
            (("ddp", ddp), ("single", single))}
    assert torch.linalg.norm(flat["ddp"] - flat["single"]) <= REL_TOL * torch.linalg.norm(
        flat["single"])
    for name, w in single["weights"].items():
        assert torch.linalg.norm(ddp["weights"][name] - w) <= 1e-2 * torch.linalg.norm(w), name
