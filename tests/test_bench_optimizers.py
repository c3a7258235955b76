"""benchmarks/optimizers.py: its core function on a tiny matrix, the regimes, the report."""

import dataclasses
import importlib.util
import json
import logging
import sys

import numpy as np
import pytest

from songcoder.features.norm import Norm, normalise
from songcoder.sdae.synthetic import song_vectors
from tests.conftest import ROOT

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_optimizers",
                                                  ROOT / "benchmarks" / "optimizers.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod                            # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def songs():
    x, style, _ = song_vectors(90, seed=1)                  # raw scales, like prepare's input
    mean, std = x[:60].mean(0).astype(np.float64), x[:60].std(0).astype(np.float64) + 1e-3
    return x, style, Norm.of(mean, std)


def corpus(bench, x, style, raw_stats=None):
    rng = np.random.default_rng(0)
    return bench.Corpus(rows={"train": x[:60], "val": x[60:75]},
                        split={"train": x[:60], "val": x[60:75], "test": x[75:]},
                        halves=(x[75:], x[75:] + 0.01 * rng.normal(size=x[75:].shape)
                                .astype(np.float32)),
                        labels={"style": style[75:]}, val_labels={"style": style[60:75]},
                        raw_stats=raw_stats)


def test_regimes_go_through_prepares_transform(bench, songs):
    x, _, norm = songs
    z = normalise(x, norm.mean, norm.std)
    np.testing.assert_allclose(bench.regime(z, norm, True), z, atol=1e-5)
    np.testing.assert_allclose(bench.regime(z, norm, False), x, rtol=1e-5, atol=1e-3)


def test_epochs_to_within_ten_percent_of_the_best(bench):
    assert bench.epochs_to_within([1.0, 0.5, 0.2, 0.105, 0.1, 0.12]) == 4
    assert bench.epochs_to_within([float("nan"), 0.3]) == 2
    assert bench.epochs_to_within([float("nan")]) is None


def test_lbfgs_takes_a_full_batch_and_no_decay(bench):
    cfg = bench.sdae_config({"optimizer": "lbfgs", "seed": 1}, 3, 4, 832)
    assert (cfg.batch_size, cfg.decay, cfg.lr, cfg.finetune_lr, cfg.seed) == (832, 0.0, 1.0, 1.0, 1)
    assert (cfg.pretrain_epochs, cfg.finetune_epochs) == (3, 4)
    sgd = bench.sdae_config({"optimizer": "sgd", "seed": 0, "noise": 0.3}, 3, 4, 832)
    assert sgd.batch_size == 32 and sgd.noise == sgd.finetune_noise == 0.3 and sgd.lr == 0.01


@pytest.mark.parametrize("optimizer, z_score", [("rmsprop", False), ("adam", True)])
def test_core_function_runs_and_returns_the_keys(bench, songs, optimizer, z_score):
    x, style, norm = songs
    rows = bench.regime(normalise(x, norm.mean, norm.std), norm, z_score)
    c = corpus(bench, rows, style, None if z_score else (norm.train_mean, norm.train_std))
    cfg = bench.sdae_config({"optimizer": optimizer, "seed": 0, "noise": 0.0}, 2, 3, 60)
    cfg = dataclasses.replace(cfg, layers=[8, 3], batch_size=20)
    out = bench.run_one(c, cfg)
    assert {"finetuned", "greedy", "pca", "collapsed", "epochs_to_10pct", "best_epoch",
            "curves", "retrieval", "retrieval_val"} <= set(out)
    assert [len(out["curves"][s]) for s in ("pretrain_1", "pretrain_2", "finetune")] == [2, 2, 3]
    assert 1 <= out["epochs_to_10pct"] <= 3 and isinstance(out["collapsed"], bool)
    assert 0 < out["pca"] < 1 and np.isfinite(out["finetuned"]) and out["finetuned"] > 0
    assert {"p_at_10_code", "top1_halves_code", "p_at_10_raw"} <= set(out["retrieval"])
    assert ("finetuned_in_z_units" in out) == (not z_score)
    json.dumps(out)


def test_report_writes_table_chart_and_json(bench, tmp_path):
    curves = {"pretrain_1": [0.5, 0.3], "finetune": [0.4, 0.2, 0.19]}
    base = {"lr": 0.001, "finetuned": 0.2, "greedy": 0.3, "pca": 0.1, "collapsed": False,
            "epochs_to_10pct": 2, "epochs_to_10pct_pretrain_1": 2, "curves": curves,
            "retrieval": {"p_at_10_code": 0.9, "top1_halves_code": 0.5},
            "retrieval_val": {"p_at_10_code": 0.8}, "commit": "abc",
            "settings": {"pretrain_epochs": 2, "finetune_epochs": 3}}
    runs = [{**base, "regime": "zscored", "optimizer": "adam", "seed": s} for s in (0, 1)]
    runs += [{**base, "regime": "noise0.0", "optimizer": "sgd", "seed": 0, "noise": 0.0, "lr": 0.01,
              "finetuned": 0.25}]
    (tmp_path / "optimizers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    (tmp_path / "full").mkdir()                                  # the full-length check
    (tmp_path / "full" / "optimizers.jsonl").write_text(json.dumps(runs[0]) + "\n")
    bench.report(tmp_path, tmp_path / "full")
    text = (tmp_path / "optimizers.md").read_text()
    md = text.splitlines()
    assert "| zscored | adam | 0.001 | 0.200, 0.200 |" in md[2]
    assert md[3].startswith("| noise0.0 | sgd | 0.01 | 0.250 |")
    assert (tmp_path / "optimizers.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "optimizers.json").read_text())
    assert saved["commits"] == ["abc"] and len(saved["runs"]) == 3
    assert len(saved["full_length_runs"]) == 1 and "(2 per layer, 3 fine-tuning)" in text
