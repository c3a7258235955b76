"""`prepare.normalise: false` (raw scales, seed 000's regime) and the consumers of norm.npz."""

import dataclasses
import numpy as np
import torch
import pytest

from songcoder.audio.synth import render_song
from songcoder.cli import Encoder
from songcoder.config import PrepareConfig
from songcoder.features.norm import denormalise, read_norm
from songcoder.prepare import featurise, prepare
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import SongEncoder, encode
from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.stack import DeepAutoencoder
from tests.conftest import write_audio

SR = 11025
OUTPUTS = ("train", "val", "test", "train_excerpts", "val_excerpts", "val_halves", "test_halves")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The same 4 songs prepared z-scored and at raw scales."""
    root = tmp_path_factory.mktemp("norm")
    splits = ["train", "train", "val", "test"]
    rows = [{"id": f"s{i}", "split": s, "path": str(write_audio(
        root / f"s{i}.wav", render_song(i, 0, 6.0, SR)[0], SR))} for i, s in enumerate(splits)]
    cfg = PrepareConfig(workers=1, excerpt_seconds=3.0, excerpts=2, tempo_check_seconds=0.0)
    out = {}
    for z in (True, False):
        out[z] = root / ("z" if z else "raw")
        prepare(dataclasses.replace(cfg, normalise=z), rows, out[z])
    return rows, cfg, out


def test_unnormalised_output_is_the_normalised_output_denormalised(prepared):
    rows, cfg, out = prepared
    z_norm, raw_norm = read_norm(out[True] / "norm.npz"), read_norm(out[False] / "norm.npz")
    assert z_norm.z_scored and not raw_norm.z_scored
    assert np.array_equal(raw_norm.train_mean, z_norm.mean)          # the same train statistics
    assert np.array_equal(raw_norm.train_std, z_norm.std)
    assert (raw_norm.mean == 0).all() and (raw_norm.std == 1).all()  # ... applied as the identity
    for name in OUTPUTS:
        z, raw = np.load(out[True] / f"{name}.npy"), np.load(out[False] / f"{name}.npy")
        assert raw.shape == z.shape and raw.dtype == np.float32
        np.testing.assert_allclose(raw, denormalise(z, z_norm.mean, z_norm.std),
                                   rtol=1e-5, atol=1e-4, err_msg=name)
    # the raw rows are the song vectors themselves: loudness in dB, not centred
    test_song = featurise(({**rows[3]}, cfg)).vector
    np.testing.assert_allclose(np.load(out[False] / "test.npy")[0], test_song, rtol=1e-6)
    assert abs(np.load(out[False] / "train.npy").mean(0)).max() > 10


def test_every_consumer_maps_raw_vectors_to_the_rows_the_model_learned_from(prepared, tmp_path):
    """The CLI and the registered (MLflow) encoder take raw song vectors: under either setting
    they must give the codes of the prepared rows, never z-score rows that prepare did not."""
    rows, cfg, out = prepared
    raw = np.load(out[False] / "test_halves.npy")[0]                # raw song vectors
    # A fixed random model: with an unseeded one, one draw in many put a code where the float32
    # rounding of the stored raw rows, amplified by z-scoring with 2 train songs' tiny stds,
    # moved it by 1.07e-5 (a flake); a wrong mapping moves codes by O(1).
    torch.manual_seed(0)
    model = DeepAutoencoder.from_layers([DenoisingLayer(raw.shape[1], 5, activation="tanh")])
    sdae.save(tmp_path / "sdae.pt", model)
    params = tmp_path / "none.yaml"                                  # not there: defaults
    for z in (True, False):
        want = encode(model, np.load(out[z] / "test_halves.npy")[0])
        norm = out[z] / "norm.npz"
        cli = Encoder(str(tmp_path / "sdae.pt"), str(norm), str(params)).codes(raw)
        served = SongEncoder.from_artifacts({"model": str(tmp_path / "sdae.pt"),
                                             "norm": str(norm)}).predict(raw)
        np.testing.assert_allclose(cli, want, atol=1e-5)
        np.testing.assert_allclose(served, want, atol=1e-5)
