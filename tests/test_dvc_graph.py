"""The DVC graph is right by construction.

- deps: every project module a stage's script imports (transitively, imports inside functions
  too) lies under one of the stage's deps, and no source dep is imported by nobody;
- params: the stages that share `sdae` list exactly the keys their library calls read, so a
  fine-tuning key does not rerun pretraining (checked again through real `dvc status`);
- paths: stage scripts hold no project paths; every output is a `cmd` argument (or lies in a
  folder that is one), so dvc.yaml is the one place where paths are written;
- layers: stages/layers.yaml (one pretrain stage per sdae.layers entry) follows params.yaml.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml

from songcoder.config import SdaeConfig, TrainerConfig, load_section
from tests.conftest import ROOT, copy_repo, dvc_stages, run

SRC = ROOT / "src"
STAGES = ROOT / "stages"


# ----------------------------------------------------------------------------- import graph


def module_file(name: str) -> Path | None:
    """The project file of module `name` (songcoder.* or a stages/ helper such as `common`),
    else None."""
    if (STAGES / f"{name}.py").is_file():
        return STAGES / f"{name}.py"
    if name != "songcoder" and not name.startswith("songcoder."):
        return None
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_names(path: Path) -> set[str]:
    """Every module an import statement anywhere in the file names (from-imports may name
    submodules: `from songcoder import tracking`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    # importing a.b.c runs the __init__ of a and a.b first
    return {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 2)}


@cache
def closure(script: Path) -> frozenset[Path]:
    """The script and every project file it imports, transitively."""
    seen, todo = {script}, [script]
    while todo:
        for name in imported_names(todo.pop()):
            path = module_file(name)
            if path is not None and path not in seen:
                seen.add(path)
                todo.append(path)
    return frozenset(seen)


def script_of(cmd: str) -> Path:
    (script,) = [w for w in cmd.split() if w.startswith("stages/") and w.endswith(".py")]
    return ROOT / script


def covered(path: Path, deps: list[str]) -> bool:
    return any(path == ROOT / d or (ROOT / d) in path.parents for d in deps)


def test_import_graph_sees_function_level_and_from_imports():
    # the evidence of the issue: sdae/weights.py imports features/layout.py; stages import
    # `from songcoder import tracking`; imports inside functions count (sdae/train.py)
    weights = closure(SRC / "songcoder/sdae/weights.py")
    assert SRC / "songcoder/features/layout.py" in weights
    pretrain = closure(STAGES / "pretrain.py")
    assert {SRC / "songcoder/tracking.py", SRC / "songcoder/training.py",
            SRC / "songcoder/sdae/__init__.py", STAGES / "common.py"} <= pretrain
    assert SRC / "songcoder/rnn/model.py" not in pretrain


def deps_of(stage) -> list[str]:
    return [d.def_path for d in stage.deps if d.def_path != "params.yaml"]


def test_every_stage_depends_on_the_modules_its_script_imports():
    missing, unused = {}, {}
    for name, stage in dvc_stages(ROOT).items():
        deps = deps_of(stage)
        files = closure(script_of(stage.cmd))
        if gaps := sorted(str(f.relative_to(ROOT)) for f in files if not covered(f, deps)):
            missing[name] = gaps
        code = [d for d in deps if d.startswith(("src/", "stages/"))]
        if idle := [d for d in code if not any(covered(f, [d]) for f in files)]:
            unused[name] = idle
    assert not missing, f"imported but not in deps: {missing}"
    assert not unused, f"in deps but imported by nothing: {unused}"


# ----------------------------------------------------------------------------- params


class Reads:
    """A config that records which keys are read."""

    def __init__(self, cfg):
        object.__setattr__(self, "_cfg", cfg)
        object.__setattr__(self, "keys", set())

    def __getattr__(self, name):
        self.keys.add(name)
        return getattr(self._cfg, name)


def sdae_keys(stage) -> set[str]:
    (params,) = [d for d in stage.deps if d.def_path == "params.yaml"]
    return {k.removeprefix("sdae.") for k in params.params if k.startswith("sdae.")}


def test_sdae_stages_list_the_keys_their_library_calls_read(tmp_path, monkeypatch):
    from songcoder.sdae import train as sdae
    from songcoder.sdae.serving import encode

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x, xv = (rng.standard_normal((n, 12)).astype(np.float32) for n in (24, 8))
    cfg = SdaeConfig(layers=[6, 3], pretrain_epochs=1, finetune_epochs=1, batch_size=8,
                     loudness_weight=1.0, pretrain_loudness_weight=1.0)   # 12 features, no layout
    trainer = TrainerConfig(accelerator="cpu", devices="1")
    pre = Reads(cfg)
    _, first = sdae.pretrain_layer(pre, trainer, 1, x, xv)
    _, second = sdae.pretrain_layer(pre, trainer, 2, encode(first, x), encode(first, xv))
    fine = Reads(cfg)
    sdae.finetune(fine, trainer, [first, second], x, xv)

    stages = dvc_stages(ROOT)
    pretrain = [s for n, s in stages.items() if n.startswith("pretrain@")]
    listed_pre = sdae_keys(pretrain[0])
    assert all(sdae_keys(s) == listed_pre for s in pretrain)
    listed_fine = sdae_keys(stages["finetune"])
    assert pre.keys <= listed_pre, f"pretrain reads unlisted keys {pre.keys - listed_pre}"
    assert fine.keys <= listed_fine, f"finetune reads unlisted keys {fine.keys - listed_fine}"
    # a key read by neither call (a branch the tiny config did not take) must still be listed
    fields = {f.name for f in dataclasses.fields(SdaeConfig)}
    assert fields <= listed_pre | listed_fine, f"listed nowhere: {fields - listed_pre - listed_fine}"
    assert listed_pre | listed_fine <= fields, "dvc.yaml lists keys that do not exist"
    # what makes a fine-tuning change cheap: no finetune_* key reruns pretraining
    assert not {k for k in listed_pre if k.startswith("finetune_")}
    assert "finetune_lr" in fine.keys and "finetune_lr" not in pre.keys


# ----------------------------------------------------------------------------- paths


PATH_ROOTS = ("data/", "models/", "metrics/", "plots/", "generated", "music")


def test_stage_scripts_hold_no_project_paths():
    found = []
    for script in sorted(STAGES.glob("*.py")):
        if script.name == "layers.py":    # writes the layer paths into the graph itself
            continue
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.startswith(PATH_ROOTS):
                found.append(f"{script.name}:{node.lineno}: {node.value!r}")
    assert not found


def test_every_output_is_a_cmd_argument():
    for name, stage in dvc_stages(ROOT).items():
        args = set(stage.cmd.split())
        for out in stage.outs:
            path = Path(out.def_path)
            assert str(path) in args or any(str(p) in args for p in path.parents), (name, path)


# ----------------------------------------------------------------------------- layers


def layers_module():
    spec = importlib.util.spec_from_file_location("stages_layers", STAGES / "layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layers_yaml_follows_params_and_chains_the_stages():
    layers = layers_module()
    count = len(load_section("sdae", ROOT / "params.yaml").layers)
    assert (STAGES / "layers.yaml").read_text() == layers.render(count)
    stages = dvc_stages(ROOT)
    assert sorted(n for n in stages if n.startswith("pretrain@")) == \
        [f"pretrain@{k}" for k in range(1, count + 1)]
    five = layers.layer_vars(5)["pretrain"]
    assert five["1"]["input"] == "data/features"   # prepare's output in dvc.yaml
    assert "data/features" in [o.def_path for o in stages["prepare"].outs]
    assert [five[str(k)]["input"] for k in range(2, 6)] == \
        [five[str(k)]["codes"] for k in range(1, 5)]


# ----------------------------------------------------------------------------- real dvc


def changed_stages(repo) -> dict[str, set[str]]:
    """{stage: changed dep paths (params.yaml keys as params.yaml:key)} from `dvc status`."""
    out = {}
    for stage, entries in json.loads(repo.dvc("status", "--json").stdout or "{}").items():
        paths = set()
        for entry in entries:
            for path, what in (entry.get("changed deps") or {}).items():
                paths |= ({f"{path}:{k}" for k in what} if isinstance(what, dict) else {path})
        out[stage] = paths
    return out


EDITED = ["src/songcoder/training.py", "src/songcoder/audio/io.py", "src/songcoder/config.py",
          "src/songcoder/features/layout.py", "src/songcoder/sdae/weights.py",
          "src/songcoder/sdae/stack.py", "src/songcoder/evaluate/report.py", "stages/common.py"]


def test_editing_a_module_shows_every_stage_that_imports_it(pipeline, tmp_path):
    repo = copy_repo(pipeline, tmp_path / "repo")
    assert changed_stages(repo) == {}
    stages = dvc_stages(ROOT)
    for rel in EDITED:
        f = repo.path / rel
        original = f.read_text()
        f.write_text(original + "\n# a deliberate edit\n")
        try:
            shown = set(changed_stages(repo))
        finally:
            f.write_text(original)
        importers = {n for n, s in stages.items() if ROOT / rel in closure(script_of(s.cmd))}
        covering = {n for n, s in stages.items() if covered(ROOT / rel, deps_of(s))}
        assert importers and importers <= shown <= covering, (rel, sorted(shown), sorted(importers))
    # what cannot change a result stales nothing (.dvcignore): bytecode beside the sources, as
    # Python writes it unless PYTHONDONTWRITEBYTECODE is set, and prose in a source folder
    (repo.path / "src/songcoder/sdae/__pycache__").mkdir(exist_ok=True)
    (repo.path / "src/songcoder/sdae/__pycache__/layer.cpython-311.pyc").write_bytes(b"\0")
    readme = repo.path / "src/songcoder/sdae/README.md"
    readme.write_text(readme.read_text() + "\nA deliberate edit of the prose.\n")
    assert changed_stages(repo) == {}


def halve_finetune_lr(pipeline, dst: Path):
    repo = copy_repo(pipeline, dst)
    lr = yaml.safe_load((repo.path / "params.yaml").read_text())["sdae"]["finetune_lr"]
    repo.params(sdae={"finetune_lr": lr / 2})
    return repo


def test_a_finetuning_key_shows_finetune_not_pretraining(pipeline, tmp_path):
    repo = halve_finetune_lr(pipeline, tmp_path / "repo")
    assert changed_stages(repo) == {"finetune": {"params.yaml:sdae.finetune_lr"}}


@pytest.mark.slow
def test_a_finetuning_key_reruns_finetune_and_what_follows_not_pretraining(pipeline, tmp_path):
    repo = halve_finetune_lr(pipeline, tmp_path / "repo")
    repo.dvc("repro", "evaluate")
    ran = {r.data.tags["stage"] for r in repo.mlflow_runs()
           if r.data.tags.get("songcoder.kind") == "stage"}
    assert ran == {"finetune", "evaluate"}
    assert changed_stages(repo) == {}


@pytest.mark.slow
def test_five_layers_run_end_to_end(pipeline, tmp_path):
    from songcoder.sdae.serving import load

    repo = copy_repo(pipeline, tmp_path / "repo")
    sizes = [48, 32, 16, 8, 4]
    repo.params(sdae={"layers": sizes, "pretrain_epochs": 1, "finetune_epochs": 1})
    # until stages/layers.yaml follows params.yaml, the first SDAE stage says what to do
    p = repo.dvc("repro", "pretrain@1", check=False)
    assert p.returncode != 0
    assert "sdae.layers has 5 sizes but the pipeline has 3 pretrain stages" in p.stderr
    run(["python", "stages/layers.py"], repo.path)
    assert sorted(n for n in dvc_stages(repo.path) if n.startswith("pretrain@")) == \
        [f"pretrain@{k}" for k in range(1, 6)]
    repo.dvc("repro", "evaluate")

    for k, size in enumerate(sizes, start=1):
        assert np.load(repo.path / f"data/codes/layer_{k}/test.npy").shape[1] == size
    assert load(repo.path / "models/sdae.pt").sizes == [1482, *sizes]
    rel = json.loads((repo.path / "metrics/evaluate.json").read_text())["rel_error"]
    assert {f"greedy_{s}" for s in sizes} | {"finetuned_4", "pca_4"} <= set(rel)
    assert all(np.isfinite(v) for v in rel.values())
    ran = {r.data.tags["stage"] for r in repo.mlflow_runs()
           if r.data.tags.get("songcoder.kind") == "stage"}
    assert ran == {f"pretrain_{k}" for k in range(1, 6)} | {"finetune", "evaluate"}
    curves = json.loads(repo.dvc("plots", "show", "--json").stdout)["data"]
    (sdae_plot,) = [v for k, v in curves.items() if k.startswith("SDAE validation error")]
    drawn = {row["filename"] for row in sdae_plot[0]["content"]["data"]["values"]}
    assert drawn == {f"pretrain_{k}.csv" for k in range(1, 6)} | {"finetune.csv"}
    assert changed_stages(repo) == {}
