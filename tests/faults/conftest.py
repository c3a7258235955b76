"""Fault tests share one prepared tiny repo and one never-faulted reference copy, both copies of
the suite's built pipeline (its ingest and prepare are what they need) with FAULT_PARAMS on top.

`sdae.batch_size` is 4 here (the tiny train split has 8 songs), so every training stage has
at least two batches per epoch and a kill at batch 1 really lands mid-epoch. `rnn.seed` differs
from the pipeline's only so that train_rnn, like the SDAE stages, is not done in the copies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import Repo, copy_repo, dvc_stages

FAULT_PARAMS = {"sdae": {"batch_size": 4}, "rnn": {"seed": 1}}
TRAINING = ["pretrain_1", "pretrain_2", "pretrain_3", "finetune", "train_rnn"]


@pytest.fixture(scope="session")
def prepared(pipeline, tmp_path_factory) -> Repo:
    """ingest + prepare done, every training stage to do; tests work on copies (`copy_of`)."""
    repo = copy_repo(pipeline, tmp_path_factory.mktemp("faults") / "prepared")
    repo.params(**FAULT_PARAMS)
    assert pending(repo) >= set(TRAINING) and not pending(repo) & {"ingest", "prepare"}
    return repo


def copy_of(repo: Repo, dst: Path) -> Repo:
    shutil.copytree(repo.path, dst, symlinks=True)
    return Repo(dst)


class Reference:
    """A copy of `prepared` that is never faulted; stages are reproduced on first need."""

    def __init__(self, repo: Repo):
        self.repo = repo
        self.done: set[str] = set()

    def ensure(self, *stages: str) -> Repo:
        todo = [s for s in stages if s not in self.done]
        if todo:
            self.repo.dvc("repro", *map(dvc_name, todo))
            self.done.update(todo)
        return self.repo


@pytest.fixture(scope="session")
def reference(prepared, tmp_path_factory) -> Reference:
    return Reference(copy_of(prepared, tmp_path_factory.mktemp("faults") / "reference"))


def dvc_name(stage: str) -> str:
    """The DVC stage of a run name: `pretrain_K` (MLflow, checkpoints, fault hook) is the
    `pretrain@K` of dvc.yaml's foreach."""
    return stage.replace("pretrain_", "pretrain@")


def stage_outputs(repo: Repo, stage: str) -> list[str]:
    """Every file a stage declares (outs, metrics, plots), directories expanded."""
    paths = []
    for out in dvc_stages(repo.path)[dvc_name(stage)].outs:
        rel = out.def_path
        p = repo.path / rel
        paths += ([str(f.relative_to(repo.path)) for f in sorted(p.rglob("*")) if f.is_file()]
                  if p.is_dir() else [rel])
    return paths


def assert_same_outputs(repo: Repo, ref: Repo, stage: str) -> None:
    """Byte-identical outputs (metrics files too: timings are in MLflow only), same dvc.lock
    hashes."""
    files = stage_outputs(ref, stage)
    assert files and stage_outputs(repo, stage) == files
    for rel in files:
        mine, theirs = repo.path / rel, ref.path / rel
        assert mine.read_bytes() == theirs.read_bytes(), f"{stage}: {rel} differs"
    lock = [yaml.safe_load((r.path / "dvc.lock").read_text())["stages"][dvc_name(stage)]
            for r in (repo, ref)]
    hashes = [{o["path"]: o["md5"] for o in entry["outs"] if not o["path"].startswith("metrics/")}
              for entry in lock]
    assert hashes[0] == hashes[1]


def leftovers(repo: Repo) -> list[str]:
    """Temp files of atomic writes (`.name.tmp<pid>`) anywhere a stage writes."""
    return [str(p.relative_to(repo.path)) for d in ("models", "data", "metrics", "plots", "generated")
            for p in (repo.path / d).rglob(".*.tmp*")]


def last_checkpoint(repo: Repo, stage: str) -> Path | None:
    found = sorted((repo.path / "checkpoints" / stage).glob("*/last.ckpt"))
    return found[0] if found else None


def lock_entry(repo: Repo, stage: str):
    return (yaml.safe_load((repo.path / "dvc.lock").read_text())["stages"]).get(dvc_name(stage))


def pending(repo: Repo) -> set[str]:
    """Stages `dvc status` reports as changed (not done), by run name (pretrain_K)."""
    out = repo.dvc("status", "--json").stdout
    return {s.replace("pretrain@", "pretrain_") for s in json.loads(out or "{}")}
