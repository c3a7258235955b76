"""Two `dvc repro` runs from a clean state with the same params give the same numbers on CPU."""

import json

from songcoder.tracking import flatten
from tests.conftest import make_repo

# Wall-clock figures: they measure the machine, not the pipeline, so they may differ run to run.
WALL_CLOCK = {
    "realtime_factor",             # prepare, generate: audio seconds per wall second
    "realtime_factor_per_worker",  # prepare
    "wall_seconds",                # prepare
    "load_seconds",                # train_rnn: reading the audio
    "train_seconds",               # train_rnn
    "train_samples_per_s",         # train_rnn
}


def metrics(repo) -> dict[str, dict]:
    return {f.name: flatten(json.loads(f.read_text()))
            for f in sorted((repo.path / "metrics").glob("*.json"))}


def test_two_clean_runs_give_identical_metrics(pipeline, tmp_path):
    second = make_repo(tmp_path / "repo")
    second.dvc("repro")
    first_m, second_m = metrics(pipeline), metrics(second)
    assert set(first_m) == set(second_m) and len(first_m) == 9    # every stage wrote its metrics
    compared = 0
    for name, a in first_m.items():
        b = second_m[name]
        assert set(a) == set(b), name
        for key in a:
            if key.split(".")[-1] in WALL_CLOCK:
                continue
            assert a[key] == b[key], f"{name}: {key} {a[key]!r} != {b[key]!r}"
            compared += 1
    assert compared > 100
    # The learning curves and the trained weights too, byte for byte.
    for rel in ("plots/pretrain_1.csv", "plots/finetune.csv", "plots/train_rnn.csv",
                "models/sdae.pt", "models/rnn.pt"):
        assert (pipeline.path / rel).read_bytes() == (second.path / rel).read_bytes(), rel
