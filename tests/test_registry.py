"""The encoder in the MLflow model registry: signature, normalisation, candidate/champion."""

from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from songcoder import tracking
from songcoder.config import EvaluateConfig
from songcoder.sdae import train as sdae
from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.stack import DeepAutoencoder


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
            results.append(tracking.register_encoder(run, model_path, norm_path, rel,
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
    expected = sdae.encode(model, (raw - mean) / std)   # normalisation travels with the model
    assert codes.shape == (5, 3) and np.allclose(codes, expected, atol=1e-6)
