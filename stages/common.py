"""What every stage script shares: paths from the command line, params loading and one-line
errors for people."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from songcoder.config import load_section
from songcoder.errors import UserError


def paths(*names: str, many: tuple[str, ...] = (), numbers: tuple[str, ...] = ()
          ) -> argparse.Namespace:
    """The stage's input and output paths as required options (`--name PATH`; `many` take one
    or more, `numbers` an integer). They are written once, in the stage's `cmd` in dvc.yaml, so
    the script and the DVC graph cannot disagree about where things are."""
    parser = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__)
    for name in names:
        parser.add_argument(f"--{name}", required=True, metavar="PATH")
    for name in many:
        parser.add_argument(f"--{name}", required=True, nargs="+", metavar="PATH")
    for name in numbers:
        parser.add_argument(f"--{name}", required=True, type=int)
    return parser.parse_args()


def sections(*names: str) -> dict:
    """Load and validate the named params.yaml sections (stops before any work if invalid)."""
    return {name: load_section(name) for name in names}


def project_root(cwd: Path) -> Path:
    """The project a stage belongs to: DVC runs queued experiments in a temporary copy under
    `<project>/.dvc/tmp/exps/`, and their MLflow runs belong in the project's own store."""
    parts = cwd.resolve().parts
    for i in range(len(parts) - 3):
        if parts[i:i + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:i])
    return cwd.resolve()


def _runner() -> Any:
    """The `dvc` process running this stage (DVC runs a pipeline's stages one after another as
    its children, so its pid and start time name one `dvc repro`); this process if none."""
    import psutil

    proc = psutil.Process()
    for parent in proc.parents():
        try:
            cmd = " ".join(parent.cmdline())
        except (psutil.Error, OSError):
            continue
        if "dvc" in Path(cmd.split(" ")[0]).name or " -m dvc" in cmd or "/dvc " in cmd:
            return parent
    return proc


def runner_context() -> None:
    """Hand what only DVC knows to the library, as the SONGCODER_* environment that
    `songcoder.tracking` reads (the library itself knows nothing of DVC)."""
    from songcoder.tracking import process_name

    env = os.environ
    env.setdefault("SONGCODER_ROOT", str(project_root(Path(env.get("DVC_ROOT") or os.getcwd()))))
    env.setdefault("SONGCODER_PIPELINE_OWNER", process_name(_runner()))
    for ours, dvc in (("SONGCODER_EXPERIMENT", "DVC_EXP_NAME"),
                      ("SONGCODER_BASELINE_REV", "DVC_EXP_BASELINE_REV")):
        if env.get(dvc):
            env.setdefault(ours, env[dvc])


def stage_main(stage: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Run a stage's main() in its runner's context; a UserError becomes one clear line on
    stderr and exit code 2."""
    def wrap(main: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(main)
        def run() -> None:
            runner_context()
            try:
                main()
            except UserError as e:
                print(f"{stage}: error: {e}", file=sys.stderr)
                sys.exit(2)
        return run
    return wrap


def check_layer_count(sdae, stages: int) -> None:
    """sdae.layers and the pipeline's pretrain stages must agree (stages/layers.yaml follows
    params.yaml only when `python stages/layers.py` is run)."""
    if len(sdae.layers) != stages:
        raise UserError(f"sdae.layers has {len(sdae.layers)} sizes but the pipeline has {stages} "
                        f"pretrain stages: run `.venv/bin/python stages/layers.py` to rebuild "
                        f"stages/layers.yaml from params.yaml, then run the pipeline again")


def load_rows(folder: str, features: str | None = None) -> tuple[dict, tuple]:
    """{train, val, test} float32 matrices from `folder` (the features, or a layer's codes,
    which keep the features' row order), memory-mapped.

    With `features` (the features folder): the autoencoder's rows, i.e. train and val
    excerpts (several per song) and the test songs, and the song of each train and val row
    (for sdae.excerpt_swap) from the excerpt indexes' `song` column. Without: one whole-song
    row per song in every split, and no song labels."""
    import csv

    import numpy as np

    def name(split: str) -> str:
        return f"{split}_excerpts" if features and split != "test" else split

    x = {s: np.load(f"{folder}/{name(s)}.npy", mmap_mode="r") for s in ("train", "val", "test")}
    if not features:
        return x, ()
    songs = []
    for s in ("train", "val"):
        with open(f"{features}/{s}_excerpts_index.csv", newline="") as f:
            songs.append(np.array([int(r["song"]) for r in csv.DictReader(f)], np.int64))
    return x, tuple(songs)
