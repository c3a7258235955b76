"""The one module that talks to MLflow.

Every stage run is an MLflow run named after the stage, nested under one parent run per
pipeline execution (one `dvc repro` / `dvc exp run`), with its params section, its figures,
small outputs as artifacts and tags (stage, git commit, dirty flag, params hash, DVC experiment).
The parent run carries every params.yaml section (`section.key`) and each stage's headline
figures (`<stage>/<name>`), so MLflow's compare view of two pipeline runs shows what changed and
what it did. Training curves are named by model (`sdae/val/loss`, `rnn/val/loss`: the same name
means the same loss); the figures of a training stage's metrics file (its kept epoch's) are
`best/<model>/<name>`. A run whose process died (SIGKILL leaves it RUNNING) is ended as KILLED by
the next stage that opens the store on the same machine.

Store: `MLFLOW_TRACKING_URI` if set, else `sqlite:///<repo>/mlflow.db` with artifacts in
`<repo>/mlartifacts`. `<repo>` is the real repository even when DVC runs an experiment in a
temporary copy (`.dvc/tmp/exps/...`), so queued experiments land in the same store.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from songcoder.config import ConfigError, as_dict, params_hash, validate_all
from songcoder.errors import TrackingError
from songcoder.figures import rounded

EXPERIMENT = os.environ.get("MLFLOW_EXPERIMENT_NAME", "songcoder")
PIPELINE_TAG = "songcoder.pipeline_id"
OWNER_TAG = "songcoder.owner"        # host-pid-start of the process that keeps a run RUNNING
# The experiment's kind: model training, not GenAI. MLflow 3.17's UI itself picks its pages by
# a per-browser switch (URL `?workflowType=machine_learning`, which `make ui` prints).
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
# MLflow makes every SQLite session wait 20 s for a lock; a stage makes several calls on its
# way out, so a store locked mid-training took 1-1.5 min to report. SQLite's own default:
SQLITE_BUSY_MS = 5000
# Fail fast on a dead server instead of MLflow's minutes of retries.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
# Stage logs are read in files and CI: no download bars there.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


# ----------------------------------------------------------------------------- where


# What only the pipeline runner knows reaches this module as environment, set by the stages
# (stages/common.py, `runner_context`): SONGCODER_ROOT (the project, also when a stage runs in
# a temporary copy), SONGCODER_PIPELINE_ID / _OWNER (the process running one pipeline, which
# owns its parent run), SONGCODER_EXPERIMENT (the experiment's name), SONGCODER_BASELINE_REV
# (the commit when git cannot say). Unset, a stage run by hand is its own pipeline.


def repo_root(start: str | Path | None = None) -> Path:
    """The project folder: SONGCODER_ROOT, else the nearest folder up with dvc.yaml or .git."""
    if start is None and os.environ.get("SONGCODER_ROOT"):
        return Path(os.environ["SONGCODER_ROOT"])
    here = Path(start or os.getcwd()).resolve()
    for p in (here, *here.parents):
        if (p / "dvc.yaml").exists() or (p / ".git").exists():
            return p
    return here


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    return uri if uri else f"sqlite:///{repo_root() / 'mlflow.db'}"


def artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store live beside it in `mlartifacts/`; a server decides its own."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").as_uri()
    return None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Raise TrackingError within seconds if the store cannot be used."""
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as r:
                if r.status != 200:
                    raise TrackingError(f"MLflow server {uri} answered {r.status} on /health")
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
            raise TrackingError(f"MLflow tracking server {uri} cannot be reached ({e}); "
                                f"start it or unset MLFLOW_TRACKING_URI to use the local "
                                f"SQLite store") from e
    elif uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        if not db.parent.is_dir() or not os.access(db.parent, os.W_OK):
            raise TrackingError(f"MLflow store {uri}: folder {db.parent} is missing or "
                                f"not writable")


# ----------------------------------------------------------------------------- who


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=os.getcwd(), capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def git_tags() -> dict[str, str]:
    commit = _git("rev-parse", "HEAD") or os.environ.get("SONGCODER_BASELINE_REV", "unknown")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": str(bool(dirty)).lower()}


def process_name(proc: Any = None) -> str:
    """`host-pid-start` of a psutil process (default: this one): unique while it lives."""
    import psutil

    proc = proc or psutil.Process()
    return f"{socket.gethostname()}-{proc.pid}-{int(proc.create_time())}"


def pipeline_owner() -> str:
    """The process that runs this pipeline execution (the stages' runner, else this one)."""
    return os.environ.get("SONGCODER_PIPELINE_OWNER") or process_name()


def pipeline_id() -> str:
    """Identify one pipeline execution; its stages' runs share a parent run.
    `SONGCODER_PIPELINE_ID` (CI, Makefile, tests) else the owner process's name."""
    return os.environ.get("SONGCODER_PIPELINE_ID") or pipeline_owner()


def _alive(owner: str) -> bool:
    """Whether the process named `host-pid-start` runs; True on another host (cannot tell)."""
    import psutil

    host, pid, start = owner.rsplit("-", 2)
    if host != socket.gethostname():
        return True
    try:
        return int(psutil.Process(int(pid)).create_time()) == int(start)
    except psutil.NoSuchProcess:
        return False


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def numeric(d: Mapping[str, Any]) -> dict[str, float]:
    """Numeric leaves of a nested metrics dict, booleans as 0/1 (MLflow takes floats only)."""
    out = {}
    for k, v in flatten(d).items():
        if isinstance(v, bool):
            out[k] = float(v)
        elif isinstance(v, (int, float)):
            out[k] = float(v)
    return out


# ----------------------------------------------------------------------------- runs


class StageRun:
    """What a stage may do with its run. A no-op object on non-zero DDP ranks.

    After the store fails once (locked, gone), every later call is skipped: each would wait
    for the lock again before the stage could say what is wrong."""

    def __init__(self, run: Any = None, uri: str = "", stage: str = "", model: str = "",
                 parent: str = ""):
        self.run, self.uri, self.stage, self.model, self.parent = run, uri, stage, model, parent
        self.broken = False

    @property
    def active(self) -> bool:
        return self.run is not None and not self.broken

    @property
    def run_id(self) -> str | None:
        return self.run.info.run_id if self.run else None

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.active:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if _is_store_error(e):
                self.broken = True
                raise TrackingError(store_error(self.uri, e)) from e
            raise

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        import mlflow
        self._call(mlflow.log_metrics, numeric(rounded(metrics)), step=step)

    def log_result(self, metrics: Mapping[str, Any], headline: tuple[str, ...] = ()) -> None:
        """A stage's figures as its metrics file has them (flattened, rounded alike), machine
        figures too; the `headline` ones (flattened names) also on the parent run."""
        self.log_metrics(metrics)
        self._log_parent(metrics, headline)

    def log_best(self, metrics: Mapping[str, Any], headline: tuple[str, ...] = ()) -> None:
        """A training stage's figures: the per-epoch ones (named like its curves, `val/loss`)
        at the epoch whose weights it kept, as `best/<model>/<name>`, and that epoch (from 0)
        as `best/<model>/epoch`; the rest (`epochs`, `best_epoch`, timings) as they are.
        A stage that keeps its last epoch (train_rnn) has no `best_epoch`."""
        import mlflow
        flat = numeric(rounded(metrics))
        kept = flat.get("best_epoch", flat["epochs"] - 1)
        self._call(mlflow.log_metrics, {**{(f"best/{self.model}/{k}" if "/" in k else k): v
                                           for k, v in flat.items()},
                                        f"best/{self.model}/epoch": kept})
        self._log_parent(metrics, headline)

    def _log_parent(self, metrics: Mapping[str, Any], headline: tuple[str, ...]) -> None:
        flat = numeric(rounded(metrics))
        figures = {f"{self.stage}/{k}": flat[k] for k in headline if k in flat}
        if figures:
            from mlflow.entities import Metric
            from mlflow.tracking import MlflowClient
            now = int(time.time() * 1000)
            self._call(MlflowClient(self.uri).log_batch, self.parent,
                       metrics=[Metric(k, v, now, 0) for k, v in figures.items()])

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        if self.active and Path(path).exists():
            import mlflow
            if Path(path).is_dir():
                self._call(mlflow.log_artifacts, str(path), artifact_path=artifact_path)
            else:
                self._call(mlflow.log_artifact, str(path), artifact_path=artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        import mlflow
        self._call(mlflow.set_tags, {k: str(v) for k, v in tags.items()})

    def lightning_logger(self) -> Any:
        """Lightning's MLFlowLogger writing per-epoch curves into this run (not a new one),
        each named by its model (`sdae/train/loss`)."""
        if not self.run:
            return None
        from lightning.pytorch.loggers import MLFlowLogger
        stage = self

        class CurveLogger(MLFlowLogger):
            def log_metrics(self, metrics, step=None):
                named = {f"{stage.model}/{k}": v for k, v in metrics.items()}
                stage._call(super().log_metrics, named, step)

            def finalize(self, status="success"):
                if stage.active:     # a broken store would only make the stage wait again
                    stage._call(super().finalize, status)

        return CurveLogger(experiment_name=EXPERIMENT, run_id=self.run_id,
                           tracking_uri=self.uri, log_model=False)


def is_rank_zero() -> bool:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """One process at a time opens a SQLite store: MLflow creates and migrates its tables on
    first use, and two stages doing that at once (experiments run in parallel by
    `dvc queue start -j N`) fail with `table _alembic_tmp_experiments already exists`."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl
    with open(uri[len("sqlite:///"):] + ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _short_sqlite_waits() -> None:
    """Rewrite MLflow's `PRAGMA busy_timeout = 20000` (see SQLITE_BUSY_MS), and keep MLflow's
    traceback of a locked store out of the stage's output: the stage says it in one line."""
    import logging

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    if not event.contains(Engine, "before_cursor_execute", _busy_timeout):
        event.listen(Engine, "before_cursor_execute", _busy_timeout, retval=True)


def _busy_timeout(conn, cursor, statement, parameters, context, executemany):
    if statement.startswith("PRAGMA busy_timeout"):
        statement = f"PRAGMA busy_timeout = {SQLITE_BUSY_MS};"
    return statement, parameters


def _experiment_id(client: Any, uri: str) -> str:
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        try:
            return client.create_experiment(EXPERIMENT, artifact_location=artifact_location(uri),
                                            tags=dict([EXPERIMENT_KIND]))
        except Exception:  # another process created it first
            exp = client.get_experiment_by_name(EXPERIMENT)
            if exp is None:
                raise
    if exp.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:   # a store made before the tag
        client.set_experiment_tag(exp.experiment_id, *EXPERIMENT_KIND)
    return exp.experiment_id


def _end_dead_runs(client: Any, exp_id: str) -> list[Any]:
    """End as KILLED the runs left RUNNING by a process that is gone (a SIGKILLed stage or
    `dvc repro`: nothing was left to close them). Returns them."""
    dead = [r for r in client.search_runs([exp_id], "attributes.status = 'RUNNING'",
                                          max_results=1000)
            if OWNER_TAG in r.data.tags and not _alive(r.data.tags[OWNER_TAG])]
    for r in dead:
        client.set_terminated(r.info.run_id, "KILLED")
    return dead


def _all_params(configs: Mapping[str, Any]) -> dict[str, Any]:
    """Every params.yaml section (the stage's own sections outside a project)."""
    try:
        configs = validate_all()
    except ConfigError:
        pass
    return {f"{section}.{k}": v for section, cfg in configs.items()
            for k, v in flatten(as_dict(cfg)).items()}


def _log_params(client: Any, run_id: str, params: Mapping[str, Any]) -> None:
    from mlflow.entities import Param
    items = [Param(k, str(v)[:6000]) for k, v in params.items()]
    for i in range(0, len(items), 100):                 # MLflow takes 100 params per batch
        client.log_batch(run_id, params=items[i:i + 100])


def _parent_run(client: Any, exp_id: str, pid: str, tags: dict[str, str],
                configs: Mapping[str, Any]) -> str:
    found = client.search_runs(
        [exp_id], filter_string=f"tags.`{PIPELINE_TAG}` = '{pid}' and "
                                f"tags.`songcoder.kind` = 'pipeline'", max_results=1)
    if found:
        return found[0].info.run_id
    name = os.environ.get("SONGCODER_EXPERIMENT") or time.strftime("pipeline %Y-%m-%d %H:%M:%S")
    run = client.create_run(exp_id, run_name=name, tags={
        **tags, PIPELINE_TAG: pid, "songcoder.kind": "pipeline", OWNER_TAG: pipeline_owner()})
    _log_params(client, run.info.run_id, _all_params(configs))
    return run.info.run_id


@contextlib.contextmanager
def stage_run(stage: str, configs: Mapping[str, Any]) -> Iterator[StageRun]:
    """Open the MLflow run of `stage`, nested under this pipeline execution's parent run.

    `configs` maps section names to their config dataclasses; they are logged as params
    (`section.key`) and hashed into the `params_hash` tag. A training stage's model is its
    section beside `trainer` (`sdae`, `rnn`): its curves and best figures are named by it.
    """
    if not is_rank_zero():
        yield StageRun()
        return
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = tracking_uri()
    check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    import logging
    logging.getLogger("mlflow").setLevel(logging.WARNING)   # no "Creating initial tables" chatter
    _short_sqlite_waits()
    p_hash = params_hash(*configs.values())
    try:
        with _store_lock(uri):  # two stages creating a new SQLite store at once both fail
            client = MlflowClient(uri)
            exp_id = _experiment_id(client, uri)
            dead = _end_dead_runs(client, exp_id)
            pid = pipeline_id()
            tags = {**git_tags(), "dvc_exp_name": os.environ.get("SONGCODER_EXPERIMENT", ""),
                    PIPELINE_TAG: pid}
            parent = _parent_run(client, exp_id, pid, tags, configs)
        resumes = [r.info.run_id for r in dead if r.data.tags.get("stage") == stage
                   and r.data.tags.get("params_hash") == p_hash]
        run_tags = {**tags, "stage": stage, "params_hash": p_hash,
                    "mlflow.parentRunId": parent, "songcoder.kind": "stage",
                    OWNER_TAG: process_name(),
                    **({"songcoder.after_killed": ",".join(resumes)} if resumes else {})}
        active = mlflow.start_run(experiment_id=exp_id, run_name=stage, tags=run_tags)
    except Exception as e:
        raise TrackingError(store_error(uri, e)) from e
    model = next((s for s in configs if s != "trainer"), "") if "trainer" in configs else ""
    run = StageRun(active, uri, stage, model, parent)
    params = {f"{section}.{k}": v for section, cfg in configs.items()
              for k, v in flatten(as_dict(cfg)).items()}
    ok = False
    try:
        run._call(mlflow.log_params, {k: str(v)[:6000] for k, v in params.items()})
        yield run
        ok = True
    except Exception as e:
        if _is_store_error(e):          # the store went away or got locked mid-stage
            run.broken = True
            raise TrackingError(store_error(uri, e)) from e
        raise
    finally:
        # Broken: end_run only takes the run off MLflow's stack (its write fails, after one
        # wait); the parent is left alone. Else: the parent's end = the last stage's end.
        try:
            mlflow.end_run("FINISHED" if ok else "FAILED")
        except Exception as e:
            if ok and not run.broken:
                raise TrackingError(store_error(uri, e)) from e
        if not run.broken:
            with contextlib.suppress(Exception):
                client.set_terminated(parent)


def _is_store_error(e: BaseException) -> bool:
    from mlflow.exceptions import MlflowException
    return isinstance(e, MlflowException) or type(e).__module__.startswith("sqlalchemy")


def store_error(uri: str, e: BaseException) -> str:
    """One line naming the store and what is wrong with it."""
    if "database is locked" in str(e):
        return (f"MLflow store {uri} is locked by another process (SQLite gave up waiting "
                f"for the lock); finish or kill whatever holds mlflow.db open in a "
                f"transaction, or log to a server with MLFLOW_TRACKING_URI")
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return f"MLflow store {uri} cannot be used: {first}"


# ----------------------------------------------------------------------------- reading


def recent_pipelines(n: int) -> list[dict[str, Any]]:
    """The last `n` pipeline runs, newest first: {start_ms, name, stages: {stage: metrics}}.

    Only reads: a local store that does not exist is a TrackingError, not a new empty
    `mlflow.db` (MLflow creates one on first open, e.g. in the wrong folder)."""
    uri = tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file():
        raise TrackingError(f"no MLflow store here ({uri[len('sqlite:///'):]} does not exist): "
                            f"run songcoder in the project folder after `make run`, or set "
                            f"MLFLOW_TRACKING_URI")
    check_reachable(uri)
    from mlflow.tracking import MlflowClient
    try:
        client = MlflowClient(uri)
        exp = client.get_experiment_by_name(EXPERIMENT)
        if exp is None:
            return []
        ids = [exp.experiment_id]
        out = []
        for p in client.search_runs(ids, "tags.`songcoder.kind` = 'pipeline'",
                                    order_by=["attributes.start_time DESC"], max_results=n):
            children = client.search_runs(ids, f"tags.mlflow.parentRunId = '{p.info.run_id}'")
            out.append({"start_ms": p.info.start_time, "name": p.info.run_name or "",
                        "stages": {c.data.tags.get("stage"): c.data.metrics for c in children}})
        return out
    except Exception as e:
        if _is_store_error(e):
            raise TrackingError(store_error(uri, e)) from e
        raise


# ----------------------------------------------------------------------------- model registry

ENCODER_NAME = "songcoder-encoder"


def _served_model_class() -> type:
    """An MLflow pyfunc that delegates to a class named in its model config ("module:Class",
    with `from_artifacts(artifacts)` and `predict(x)`), so this module knows how to log and
    serve a model but nothing of what the model is."""
    import mlflow.pyfunc

    class Served(mlflow.pyfunc.PythonModel):
        def load_context(self, context):
            import importlib
            module, name = context.model_config["serving_class"].split(":")
            cls = getattr(importlib.import_module(module), name)
            self.served = cls.from_artifacts(context.artifacts)

        def predict(self, context, model_input, params=None):
            return self.served.predict(model_input)

    return Served


CORPUS_TAG = "data_fingerprint"


def data_fingerprint(path: str | Path) -> str:
    """12 hex digits of the sha1 of a file's bytes (the training matrix an encoder learned
    from: same songs, excerpts and feature layout give the same fingerprint)."""
    import hashlib
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def champion_alias(fingerprint: str) -> str:
    return f"champion-{fingerprint}"


def register_encoder(run: StageRun, serving_class: str, artifacts: Mapping[str, str | Path],
                     fingerprint: str, *, val_mrr: float, test_rel_error: float,
                     n_in: int = 1482, n_out: int = 21) -> dict[str, Any]:
    """Log the encoder in `run` (served by `serving_class`, "module:Class", from the files
    `artifacts`), register a new version of `songcoder-encoder` tagged with the
    `fingerprint` of its training data, its `val_mrr` and its `test_rel_error`, and alias it
    `candidate`.

    The champion is the encoder that best knows a song when it hears another part of it, which
    is what `embed`, `similar` and `playlist` use the codes for: the mean reciprocal rank of
    each validation song's other half among all validation halves (`val_mrr`). It is chosen on
    validation, where settings are chosen, never on test. Scores are comparable only on the
    same songs, so each corpus keeps its own champion: `champion-<fingerprint>` moves to this
    version only if its `val_mrr` beats that alias's version (a version without one, from a
    store of before or with under two validation songs, ranks below any that has one).
    `champion` then names the champion of this (the latest evaluated) corpus, so after
    training on your music `@champion` is your music's best encoder.
    Returns {version, champion (promoted within the corpus), previous_champion_val_mrr,
    fingerprint, alias}."""
    if not run.active:
        return {}
    import mlflow
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.tracking import MlflowClient
    from mlflow.types import Schema, TensorSpec

    import songcoder
    signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, n_in))]),
                               outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, n_out))]))
    with _hushed():
        info = mlflow.pyfunc.log_model(
            name="encoder", python_model=_served_model_class()(),
            model_config={"serving_class": serving_class},
            artifacts={k: str(v) for k, v in artifacts.items()}, signature=signature,
            code_paths=[str(Path(songcoder.__file__).parent)],  # self-contained: no install needed
            pip_requirements=_requirements(), registered_model_name=ENCODER_NAME)
    client = MlflowClient(run.uri)
    version = str(info.registered_model_version)
    for key, value in (("val_mrr", val_mrr), ("test_rel_error", test_rel_error),
                       (CORPUS_TAG, fingerprint)):
        client.set_model_version_tag(ENCODER_NAME, version, key, str(value))
    alias = champion_alias(fingerprint)
    # Experiments evaluated at once move the same aliases: MLflow's alias upsert is
    # read-then-insert, so the loser of a race gets a UNIQUE-constraint error (retried), and
    # a SQLite store is locked so that the champion comparison sees the latest champion.
    with _store_lock(run.uri):
        _retry(client.set_registered_model_alias, ENCODER_NAME, "candidate", version)
        try:
            champ = client.get_model_version_by_alias(ENCODER_NAME, alias)
            best, best_version = _score(champ.tags.get("val_mrr")), champ.version
            promoted = _score(val_mrr) > best
        except mlflow.exceptions.MlflowException:     # the corpus's first encoder
            best, best_version, promoted = -math.inf, version, True
        if promoted:
            best_version = version
            _retry(client.set_registered_model_alias, ENCODER_NAME, alias, version)
        _retry(client.set_registered_model_alias, ENCODER_NAME, "champion", str(best_version))
    return {"version": int(version), "champion": promoted,
            "previous_champion_val_mrr": best if math.isfinite(best) else None,  # none or unscored
            "fingerprint": fingerprint, "alias": alias}


def _score(value: float | str | None) -> float:
    """A champion score, higher is better; missing or NaN ranks below every real score."""
    try:
        v = float(value)                                   # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -math.inf
    return v if math.isfinite(v) else -math.inf


@contextlib.contextmanager
def _hushed() -> Iterator[None]:
    """MLflow's advice while logging a model (colour-coded type-hint and pickling warnings,
    "Successfully registered model", download bars) kept out of the stage's output; shown
    only if logging fails, where it may explain why."""
    import io
    import logging
    import warnings
    said = io.StringIO()
    handler = logging.StreamHandler(said)
    mlflow_log = logging.getLogger("mlflow")
    saved = mlflow_log.handlers, mlflow_log.propagate
    mlflow_log.handlers, mlflow_log.propagate = [handler], False
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(said):
            warnings.simplefilter("always")
            warnings.showwarning = lambda msg, cat, *a, **k: said.write(f"{cat.__name__}: {msg}\n")
            yield
    except BaseException:
        sys.stderr.write(said.getvalue())
        raise
    finally:
        mlflow_log.handlers, mlflow_log.propagate = saved


def _retry(fn: Any, *args: Any, attempts: int = 5) -> Any:
    from mlflow.exceptions import MlflowException
    for i in range(attempts):
        try:
            return fn(*args)
        except MlflowException:
            if i == attempts - 1:
                raise
            time.sleep(0.2 * (i + 1))


def _requirements() -> list[str]:
    from importlib.metadata import version
    return [f"{p}=={version(p).split('+')[0]}" for p in ("torch", "numpy", "mlflow")]
