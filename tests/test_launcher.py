"""`sh stages/python` (every stage command's interpreter) picks the project's Python: $VENV,
else the repository's .venv, also from a `dvc exp run --temp`/queue copy under
.dvc/tmp/exps/, else `python` on PATH."""

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def fake_python(folder: Path, tag: str) -> Path:
    exe = folder / "python"
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text(f'#!/bin/sh\necho {tag} "$@"\n')
    exe.chmod(0o755)
    return exe


def launch(cwd: Path, path: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("VENV", "PATH")}
    p = subprocess.run(["sh", "stages/python", "stages/x.py", "--a", "b c"], cwd=cwd,
                       env={**base, "PATH": f"{path}:/usr/bin:/bin", **env},
                       capture_output=True, text=True, check=True)
    return p.stdout.strip()


def test_launcher_prefers_venv_then_repo_venv_then_path(tmp_path):
    repo = tmp_path / "repo"
    (repo / "stages").mkdir(parents=True)
    shutil.copy2(ROOT / "stages/python", repo / "stages/python")
    on_path = fake_python(tmp_path / "path-bin", "path").parent
    assert launch(repo, on_path) == "path stages/x.py --a b c"

    fake_python(repo / ".venv/bin", "dotvenv")
    assert launch(repo, on_path) == "dotvenv stages/x.py --a b c"
    fake_python(tmp_path / "elsewhere/bin", "absolute")
    assert launch(repo, on_path, VENV=str(tmp_path / "elsewhere")) == "absolute stages/x.py --a b c"
    fake_python(repo / "venv2/bin", "relative")
    assert launch(repo, on_path, VENV="venv2") == "relative stages/x.py --a b c"

    # a temporary experiment copy has no venv of its own: the repository's is used
    copy = repo / ".dvc/tmp/exps/tmpabc123"
    shutil.copytree(repo / "stages", copy / "stages")
    assert launch(copy, on_path) == "dotvenv stages/x.py --a b c"
    assert launch(copy, on_path, VENV="venv2") == "relative stages/x.py --a b c"
