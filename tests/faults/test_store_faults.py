"""The MLflow store fails while `dvc repro` runs a stage: a one-line message naming the
store within seconds, a non-zero exit, and DVC does not mark the stage done."""

import socket
import sqlite3

from tests.faults.conftest import copy_of, lock_entry, pending


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
