"""Shared fixtures: real audio files, and a throwaway copy of the repository for real `dvc repro`."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

# One compute thread per process, set before numpy and torch start their pools: `pytest -n
# auto` already runs one worker per core, and stages those workers start run beside them. Two
# threads per worker on a 2-core machine measured 2x the wall time and 2.4x the CPU of one
# (thread pools spinning against each other). Inherited by every subprocess a test starts.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def write_audio(path: Path, x: np.ndarray, sr: int, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, subtype=subtype)
    return path


def tone(seconds: float, sr: int, freq: float = 220.0, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


OUTSIDE_ENV = ("MLFLOW_", "DVC_", "SONGCODER_")   # the caller's store, DVC run, pipeline


def tool_env(**extra: str) -> dict[str, str]:
    """Environment for subprocesses: the venv first on PATH, no outside MLflow server, no bars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE_ENV)}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: int = 600,
        **env: str) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, cwd=cwd, env=tool_env(**env), capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def dvc_stages(root: Path) -> dict:
    """{name: stage} of a repository's dvc.yaml as DVC resolves it (foreach expanded, vars and
    params interpolated)."""
    from dvc.repo import Repo as DvcRepo
    with DvcRepo(str(root)) as dvc:
        return {s.name: s for s in dvc.index.stages}


TINY_PARAMS = {
    "data": {"songs": 12, "seconds": 8.0, "sample_rate": 16000, "min_seconds": 2.0,
             "workers": 1},
    "prepare": {"workers": 1, "excerpt_seconds": 3.0, "excerpts": 3},   # 3 excerpts per 8 s song
    "sdae": {"pretrain_epochs": 2, "finetune_epochs": 2, "batch_size": 8},
    "rnn": {"hidden": 32, "epochs": 2, "steps_per_epoch": 3, "val_steps": 1, "batch_size": 4,
            "tbptt_seconds": 0.25, "tbptt_chunks": 2},
    "generate": {"count": 2, "seed_seconds": 4.0, "seconds": 2.0},   # 8 s songs
    "evaluate": {"workers": 1},   # the librosa baseline in-process: no worker start-up per run
}


def merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base.get(k, {}), v) if isinstance(v, dict) else v
    return out


@pytest.fixture
def songcoder(monkeypatch, capsys):
    """`songcoder ARGS` in `cwd`, run in this process: the console script is `cli.main`, so this
    is the same code path, and the CLI's imports (torch, MLflow) are paid once per session
    instead of once per call. Returns what `run` returns (returncode, stdout, stderr).
    tests/test_cli_ux.py runs the installed script itself (pipes, signals, exit codes)."""
    from songcoder import cli

    def call(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        for key in [k for k in os.environ if k.startswith(OUTSIDE_ENV)]:
            monkeypatch.delenv(key)          # as tool_env: no outside store
        capsys.readouterr()
        try:
            rc = cli.main([str(a) for a in args])
        except SystemExit as e:              # argparse: --help, a bad option
            rc = e.code if isinstance(e.code, int) else 2
        out = capsys.readouterr()
        p = subprocess.CompletedProcess(["songcoder", *args], rc, out.out, out.err)
        if check and rc != 0:
            raise AssertionError(f"songcoder {' '.join(map(str, args))} failed ({rc}):\n"
                                 f"{out.out}\n{out.err}")
        return p
    return call


@pytest.fixture
def repo(tmp_path: Path):
    """A git + DVC copy of this repository with a tiny params.yaml; returns a small handle."""
    return make_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory):
    """One real `dvc repro` of the whole pipeline on the tiny config, shared by read-only tests;
    with `pytest -n` (xdist) built once for all workers: the first builds, the others wait."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent                      # the folder above every worker's own
    root = shared / "pipeline"
    with open(shared / "pipeline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # released when the file closes
        if not (root / "repro.json").exists():
            shutil.rmtree(root, ignore_errors=True)  # a build that failed half way
            p = make_repo(root / "repo").dvc("repro")
            (root / "repro.json").write_text(json.dumps([p.args, p.stdout, p.stderr]))
    repo = Repo(root / "repo")
    args, out, err = json.loads((root / "repro.json").read_text())
    repo.repro = subprocess.CompletedProcess(args, 0, out, err)   # for the tests of what stages print
    return repo


def copy_repo(src: "Repo", dst: Path) -> "Repo":
    """A private copy of a repo that already ran (git, DVC cache, outputs), with a fresh MLflow
    store: the copied one would still point at the source's artifact folder."""
    shutil.copytree(src.path, dst, symlinks=True,
                    ignore=shutil.ignore_patterns("mlflow.db", "mlartifacts", "tmp"))
    return Repo(dst)


def make_repo(dst: Path) -> "Repo":
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    (dst / "params.yaml").write_text(yaml.safe_dump(merge(params, TINY_PARAMS), sort_keys=False))
    run(["git", "init", "-q"], dst)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"], dst)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], dst)
    return Repo(dst)


class Repo:
    def __init__(self, path: Path):
        self.path = path

    def params(self, **sections: dict) -> None:
        p = self.path / "params.yaml"
        p.write_text(yaml.safe_dump(merge(yaml.safe_load(p.read_text()), sections),
                                    sort_keys=False))

    def dvc(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        return run(["dvc", *args], self.path, check=check, **env)

    def commit(self, message: str) -> str:
        run(["git", "add", "-A"], self.path)      # new outputs too (a new plot), as a user would
        run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", message],
            self.path)
        return run(["git", "rev-parse", "HEAD"], self.path).stdout.strip()

    def mlflow_runs(self, stage: str | None = None, uri: str | None = None):
        """Runs of the `songcoder` experiment in this repo's store (or `uri`), all kinds."""
        from mlflow.tracking import MlflowClient
        client = MlflowClient(uri or f"sqlite:///{self.path / 'mlflow.db'}")
        exp = client.get_experiment_by_name("songcoder")
        if exp is None:                                     # no stage has logged yet
            return []
        flt = f"tags.stage = '{stage}'" if stage else ""
        return client.search_runs([exp.experiment_id], filter_string=flt, max_results=10000)


# ----------------------------------------------------------------------------- MLflow server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """A real `mlflow server` on a free 127.0.0.1 port: SQLite backend and artifacts in `root`."""
    port = free_port()
    cmd = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
           "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
           "--artifacts-destination", str(root / "artifacts"), "--workers", "1"]
    # its own process group: the server forks job consumers, stopped with it
    proc = subprocess.Popen(cmd, env=tool_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("mlflow server did not start within 90 s")
                time.sleep(0.5)
        yield uri
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real MLflow tracking server per test module."""
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as uri:
        yield uri
