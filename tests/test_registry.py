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


def test_champion_moves_only_when_the_validation_retrieval_improves(tmp_path, monkeypatch,
                                                                   encoder_files):
    """The champion is picked on validation same-song MRR, higher is better; the test error is
    only a tag: a version with a lower test error but a worse val MRR is not promoted, and one
    whose val MRR could not be measured (NaN) never displaces a measured one."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("SONGCODER_PIPELINE_ID", "reg")
    monkeypatch.chdir(tmp_path)
    model_path, norm_path, model, mean, std = encoder_files
    results = []
    for mrr, rel in ((0.6, 0.5), (0.5, 0.2), (float("nan"), 0.1), (0.7, 0.9)):
        with tracking.stage_run("evaluate", {"evaluate": EvaluateConfig()}) as run:
            results.append(tracking.register_encoder(
                run, SERVING, {"model": model_path, "norm": norm_path}, "synth",
                val_mrr=mrr, test_rel_error=rel, n_in=12, n_out=3))
    assert [r["champion"] for r in results] == [True, False, False, True]
    client = MlflowClient(uri)
    name = tracking.ENCODER_NAME
    assert str(client.get_model_version_by_alias(name, "candidate").version) == "4"
    assert str(client.get_model_version_by_alias(name, "champion").version) == "4"
    assert [r["previous_champion_val_mrr"] for r in results] == [None, 0.6, 0.6, 0.6]
    tags = client.get_model_version(name, "2").tags
    assert float(tags["val_mrr"]) == 0.5 and float(tags["test_rel_error"]) == 0.2

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    inputs = loaded.metadata.get_input_schema().inputs[0]
    assert inputs.shape == (-1, 12) and loaded.metadata.get_output_schema().inputs[0].shape == (-1, 3)
    raw = np.random.default_rng(0).normal(size=(5, 12)).astype(np.float32)
    codes = loaded.predict(raw)
    expected = encode(model, (raw - mean) / std)   # normalisation travels with the model
    assert codes.shape == (5, 3) and np.allclose(codes, expected, atol=1e-6)


def test_each_corpus_keeps_its_own_champion(tmp_path, monkeypatch, encoder_files):
    """A real-music encoder (val MRR 0.45) is not compared with a synthetic one (0.95):
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

    def register(corpus, mrr):
        with tracking.stage_run("evaluate", {"evaluate": EvaluateConfig()}) as run:
            return tracking.register_encoder(run, SERVING, {"model": model_path, "norm": norm_path},
                                             fp[corpus], val_mrr=mrr, test_rel_error=1 - mrr,
                                             n_in=12, n_out=3)

    client = MlflowClient(uri)
    name = tracking.ENCODER_NAME

    def alias(a):
        return int(client.get_model_version_by_alias(name, a).version)

    steps = [("synth", 0.95, True), ("real", 0.45, True), ("real", 0.40, False),
             ("synth", 0.93, False), ("real", 0.50, True)]
    for version, (corpus, mrr, promoted) in enumerate(steps, start=1):
        r = register(corpus, mrr)
        assert (r["version"], r["champion"], r["alias"]) == \
            (version, promoted, f"champion-{fp[corpus]}")
        if corpus == "real" and version == 3:
            assert alias("champion") == 2 and r["previous_champion_val_mrr"] == 0.45
        if version == 4:   # back to synth: @champion is synth's best, not the last registered
            assert alias("champion") == 1 and alias(f"champion-{fp['real']}") == 2
    assert alias("champion") == alias(f"champion-{fp['real']}") == 5
    assert alias(f"champion-{fp['synth']}") == 1
    tags = client.get_model_version(name, "5").tags
    assert tags[tracking.CORPUS_TAG] == fp["real"] and float(tags["val_mrr"]) == 0.50
    assert mlflow.pyfunc.load_model(f"models:/{name}@champion-{fp['synth']}").metadata.run_id \
        == client.get_model_version(name, "1").run_id
