"""The encoder in the MLflow model registry: signature, normalisation, candidate/champion."""

from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from songcoder import tracking
from songcoder.config import EvaluateConfig
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import encode
from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.stack import DeepAutoencoder

SERVING = "songcoder.sdae.serving:SongEncoder"


@pytest.fixture
def encoder_files(tmp_path: Path):
    layers = [DenoisingLayer(12, 6, activation="tanh"), DenoisingLayer(6, 3, activation="tanh")]
    model = DeepAutoencoder.from_layers(layers)
    sdae.save(tmp_path / "sdae.pt", model)
    mean, std = np.linspace(-1, 1, 12).astype(np.float32), np.full(12, 2.0, np.float32)
    np.savez(tmp_path / "norm.npz", mean=mean, std=std)
    return tmp_path / "sdae.pt", tmp_path / "norm.npz", model, mean, std


def test_champion_moves_only_when_the_test_error_improves(tmp_path, monkeypatch, encoder_files):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("SONGCODER_PIPELINE_ID", "reg")
    monkeypatch.chdir(tmp_path)
    model_path, norm_path, model, mean, std = encoder_files
    results = []
    for rel in (0.5, 0.6, 0.4):
        with tracking.stage_run("evaluate", {"evaluate": EvaluateConfig()}) as run:
            results.append(tracking.register_encoder(run, SERVING, {"model": model_path, "norm": norm_path},
                                                     rel, "synth",
                                                     n_in=12, n_out=3))
    assert [r["champion"] for r in results] == [True, False, True]
    client = MlflowClient(uri)
    name = tracking.ENCODER_NAME
    assert str(client.get_model_version_by_alias(name, "candidate").version) == "3"
    assert str(client.get_model_version_by_alias(name, "champion").version) == "3"
    assert results[1]["previous_champion_rel_error"] == 0.5

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    inputs = loaded.metadata.get_input_schema().inputs[0]
    assert inputs.shape == (-1, 12) and loaded.metadata.get_output_schema().inputs[0].shape == (-1, 3)
    raw = np.random.default_rng(0).normal(size=(5, 12)).astype(np.float32)
    codes = loaded.predict(raw)
    expected = encode(model, (raw - mean) / std)   # normalisation travels with the model
    assert codes.shape == (5, 3) and np.allclose(codes, expected, atol=1e-6)


def test_each_corpus_keeps_its_own_champion(tmp_path, monkeypatch, encoder_files):
    """A real-music encoder (rel. error 0.45) is not compared with a synthetic one (0.05):
    it becomes its corpus's champion and `@champion`, and the synthetic champion stays
    loadable by its own alias; `@champion` follows the latest corpus evaluated."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("SONGCODER_PIPELINE_ID", "corpora")
    monkeypatch.chdir(tmp_path)
    model_path, norm_path, *_ = encoder_files
    synth = tmp_path / "synth_train.npy"
    real = tmp_path / "real_train.npy"
    np.save(synth, np.zeros((4, 12), np.float32))
    np.save(real, np.ones((4, 12), np.float32))
    fp = {"synth": tracking.data_fingerprint(synth), "real": tracking.data_fingerprint(real)}
    assert fp["synth"] != fp["real"] and fp["real"] == tracking.data_fingerprint(real)

    def register(corpus, rel):
        with tracking.stage_run("evaluate", {"evaluate": EvaluateConfig()}) as run:
            return tracking.register_encoder(run, SERVING, {"model": model_path, "norm": norm_path},
                                             rel, fp[corpus], n_in=12, n_out=3)

    client = MlflowClient(uri)
    name = tracking.ENCODER_NAME

    def alias(a):
        return int(client.get_model_version_by_alias(name, a).version)

    steps = [("synth", 0.05, True), ("real", 0.45, True), ("real", 0.50, False),
             ("synth", 0.07, False), ("real", 0.40, True)]
    for version, (corpus, rel, promoted) in enumerate(steps, start=1):
        r = register(corpus, rel)
        assert (r["version"], r["champion"], r["alias"]) == \
            (version, promoted, f"champion-{fp[corpus]}")
        if corpus == "real" and version == 3:
            assert alias("champion") == 2 and r["previous_champion_rel_error"] == 0.45
        if version == 4:   # back to synth: @champion is synth's best, not the last registered
            assert alias("champion") == 1 and alias(f"champion-{fp['real']}") == 2
    assert alias("champion") == alias(f"champion-{fp['real']}") == 5
    assert alias(f"champion-{fp['synth']}") == 1
    tags = client.get_model_version(name, "5").tags
    assert tags[tracking.CORPUS_TAG] == fp["real"] and float(tags["test_rel_error"]) == 0.40
    assert mlflow.pyfunc.load_model(f"models:/{name}@champion-{fp['synth']}").metadata.run_id \
        == client.get_model_version(name, "1").run_id
