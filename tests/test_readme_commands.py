"""The README's commands, run literally on a fresh copy, as a new user would: the own-music
command with no venv on PATH, a variant with the venv activated, and the line that brings the
workspace back after a failed experiment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import OUTSIDE_ENV, ROOT, copy_repo, make_repo, write_audio

README = (ROOT / "README.md").read_text()
VENV = Path(sys.prefix)          # the project's environment, as `make setup` makes it


def readme_lines(start: str) -> list[str]:
    """Every command in the README (fenced line or inline code) that begins with `start`."""
    return re.findall(rf"^{re.escape(start)}[^`\n]*|(?<=`){re.escape(start)}[^`\n]*(?=`)",
                      README, flags=re.M)


def shell(command: str, repo: Path, venv_on_path: bool) -> subprocess.CompletedProcess:
    """`command` in a login-like shell: the venv's bin on PATH only when activated."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith((*OUTSIDE_ENV, "VIRTUAL_ENV", "VENV"))}
    path = [p for p in env.get("PATH", "").split(os.pathsep)
            if p and Path(p).resolve() != (VENV / "bin").resolve()]
    if venv_on_path:
        command = f". .venv/bin/activate && {command}"
    env.update(PATH=os.pathsep.join(path), CI="1")
    return subprocess.run(["sh", "-c", command], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=1500)


def with_venv(repo) -> None:
    (repo.path / ".venv").symlink_to(VENV, target_is_directory=True)


def music(folder: Path, n: int = 12) -> Path:
    """n short songs: a tone over a kick pattern, each at its own pitch and tempo."""
    sr = 16000
    for i in range(n):
        t = np.arange(8 * sr) / sr
        beat = (np.sin(2 * np.pi * 55 * t) * np.exp(-30 * (t % (60 / (90 + 7 * i))))).astype(np.float32)
        x = 0.3 * np.sin(2 * np.pi * (220 + 30 * i) * t).astype(np.float32) + 0.5 * beat
        write_audio(folder / f"album{i % 2}/song{i}.wav", np.stack([x, x], axis=1), sr)
    return folder


def test_the_python_on_path_cannot_import_the_project(tmp_path):
    # what makes the tests below mean something: without the launcher's venv lookup, a stage
    # command would fail here exactly as in the issue
    check = "-c 'import lightning, songcoder.training'"
    p = shell(f"python3 {check} || python {check}", tmp_path, False)
    assert p.returncode != 0 and "No module named" in p.stderr


@pytest.mark.slow
def test_own_music_and_variant_commands_as_written(tmp_path):
    (own,) = readme_lines(".venv/bin/dvc exp run -S data.source=folder")
    (variant,) = readme_lines(".venv/bin/dvc exp run -S sdae.optimizer")
    repo = make_repo(tmp_path / "repo")
    with_venv(repo)
    folder = music(tmp_path / "my music")
    p = shell(own.replace("/path/to/music", f"'{folder}'"), repo.path, venv_on_path=False)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "ModuleNotFoundError" not in p.stderr
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    assert params["data"]["source"] == "folder" and params["data"]["folder"] == str(folder)
    manifest = (repo.path / "data/manifest.csv").read_text()
    assert "album1/song11.wav" in manifest
    for rel in ("metrics/evaluate.json", "metrics/generate.json", "models/sdae.pt"):
        assert (repo.path / rel).exists(), rel

    p = shell(variant, repo.path, venv_on_path=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    assert params["sdae"]["optimizer"] == "rmsprop" and params["data"]["source"] == "folder"


def test_the_readme_line_restores_the_workspace_after_a_failed_experiment(pipeline, tmp_path):
    (restore,) = readme_lines("git checkout HEAD -- params.yaml")
    repo = copy_repo(pipeline, tmp_path / "repo")
    with_venv(repo)
    repo.commit("pipeline outputs")
    kept = ["params.yaml", "dvc.lock", "models/layers/layer_1.pt", "data/codes/layer_1/test.npy",
            "plots/pretrain_1.csv", "metrics/pretrain_1.json", "models/sdae.pt"]
    before = {rel: (repo.path / rel).read_bytes() for rel in kept}
    # fails in pretrain@1 (two sizes, three pretrain stages), after DVC removed its outputs
    p = shell(".venv/bin/dvc exp run -S 'sdae.layers=[8,4]'", repo.path, venv_on_path=False)
    assert p.returncode != 0 and "sdae.layers has 2 sizes" in p.stderr
    assert (repo.path / "params.yaml").read_bytes() != before["params.yaml"]
    assert not (repo.path / "models/layers/layer_1.pt").exists()

    p = shell(restore, repo.path, venv_on_path=False)
    assert p.returncode == 0, p.stderr
    assert {rel: (repo.path / rel).read_bytes() for rel in kept} == before
    assert repo.dvc("status", "--json").stdout.strip() in ("", "{}")
