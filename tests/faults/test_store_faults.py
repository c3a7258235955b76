"""The MLflow store fails while `dvc repro` runs a stage: a one-line message naming the
store within seconds, a non-zero exit, and DVC does not mark the stage done."""

import socket
import sqlite3
import subprocess
import threading
import time

from tests.conftest import tool_env
from tests.faults.conftest import copy_of, dvc_name, last_checkpoint, lock_entry, pending


def assert_stage_not_done(repo, p, stage, lock_before, message):
    assert p.returncode != 0
    assert message in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert lock_entry(repo, stage) == lock_before and stage in pending(repo)
    assert not (repo.path / "models/layers/layer_1.pt").exists()


def test_locked_sqlite_store_stops_the_stage(prepared, tmp_path):
    repo = copy_of(prepared, tmp_path / "repo")
    before = lock_entry(repo, "pretrain_1")
    db = repo.path / "mlflow.db"
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")                 # another writer holds the store
        p = repo.dvc("repro", "pretrain@1", check=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_stage_not_done(repo, p, "pretrain_1", before,
                          f"pretrain_1: error: MLflow store sqlite:///{db} is locked by another "
                          f"process")
    # Unlocked, the same command runs the stage and DVC records it.
    repo.dvc("repro", "pretrain@1")
    assert lock_entry(repo, "pretrain_1") != before and "pretrain_1" not in pending(repo)


def test_unreachable_server_stops_the_stage(prepared, tmp_path):
    repo = copy_of(prepared, tmp_path / "repo")
    before = lock_entry(repo, "pretrain_1")
    with socket.socket() as s:                            # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{s.getsockname()[1]}"
    p = repo.dvc("repro", "pretrain@1", check=False, MLFLOW_TRACKING_URI=uri)
    assert_stage_not_done(repo, p, "pretrain_1", before,
                          f"pretrain_1: error: MLflow tracking server {uri} cannot be reached")


def curve_points(db, key: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as c:
            return c.execute("SELECT count(*) FROM metrics WHERE key = ?", (key,)).fetchone()[0]
    except sqlite3.OperationalError:             # no tables yet, or a writer holds the lock
        return 0


def test_store_locked_while_a_stage_trains_stops_it_within_seconds(prepared, tmp_path):
    """MLflow waits 20 s per call on a locked SQLite store and a stage makes several calls on
    its way out; this was 1-1.5 min and a SQLAlchemy traceback. Timed from the lock to the
    stage's error line (dvc's own exit after it is not the stage's doing)."""
    repo = copy_of(prepared, tmp_path / "repo")
    repo.params(sdae={"pretrain_epochs": 3000})   # minutes of training: the lock lands mid-run
    before = lock_entry(repo, "pretrain_1")
    db = repo.path / "mlflow.db"
    proc = subprocess.Popen(["dvc", "repro", dvc_name("pretrain_1")], cwd=repo.path, env=tool_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: lines.extend(
        (time.monotonic(), line) for line in proc.stderr))
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while curve_points(db, "sdae/val/rel_error") < 2:
            assert proc.poll() is None, "".join(line for _, line in lines)
            assert time.monotonic() < deadline, "no curve point within 300 s"
            time.sleep(0.2)
        holder = sqlite3.connect(db, isolation_level=None, timeout=30)
        holder.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        try:
            proc.wait(timeout=180)
            reader.join(timeout=30)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    finally:
        proc.kill()
    err = "".join(line for _, line in lines)
    p = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    message = (f"pretrain_1: error: MLflow store sqlite:///{db} is locked by another process")
    assert_stage_not_done(repo, p, "pretrain_1", before, message)
    said_at = next(t for t, line in lines if line.startswith(message))
    assert said_at - locked_at < 30, f"said {said_at - locked_at:.0f} s after the lock"
    assert last_checkpoint(repo, "pretrain_1") is not None        # the rerun resumes from it
