"""sdae.linear_path: each layer starts as PCA of its input (under its loss's weights) and its
gated units learn the rest;
sdae.noise_rescale: masked rows keep their expected value."""

import dataclasses

import numpy as np
import pytest
import torch

from songcoder.config import ConfigError, SdaeConfig
from songcoder.features import layout
from songcoder.pca import PCA
from songcoder.sdae import regularizers as R
from songcoder.sdae.data import DeviceBatches, mask
from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.serving import encode, load, reconstruct
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.train import make_layer, save, train_all
from songcoder.sdae.weights import feature_weights


def _rel(x_hat, x, mean):
    return float(((x_hat - x) ** 2).sum() / ((x - mean) ** 2).sum())


def _pca_stack(cfg, x):
    """The untrained stack with every layer's linear path set to PCA of its input."""
    layers, a = [], x
    for k in range(1, len(cfg.layers) + 1):
        layer = make_layer(cfg, k, a.shape[1])
        layer.init_linear(a)
        layers.append(layer)
        a = encode(layer, a)
    return layers, DeepAutoencoder.from_layers(layers)


def test_an_untrained_stack_is_pca_of_the_code_size(songs, small_cfg):
    tr, va, _ = songs
    # unweighted loss (layer 1's group weights 1): its linear optimum is plain PCA
    cfg = dataclasses.replace(small_cfg, linear_path=True, pretrain_loudness_weight=1.0,
                              extended_weight=1.0)
    layers, model = _pca_stack(cfg, tr)
    pca = PCA.fit(tr, cfg.layers[-1])
    # same reconstruction as PCA-4 on unseen rows, and the code spans PCA's coordinates
    np.testing.assert_allclose(reconstruct(model, va), pca.reconstruct(va), atol=1e-4)
    np.testing.assert_allclose(np.abs(encode(model, va)), np.abs(pca.encode(va)), atol=1e-4)
    # deeper layers reconstruct codes through a non-linear branch, gated shut at the start
    assert layers[1].kwargs["out_activation"] == cfg.activation
    assert float(layers[1].dec_gate.abs().sum()) == 0.0 and float(layers[0].gate.abs().sum()) == 0.0


def test_a_weighted_loss_starts_at_its_own_linear_optimum():
    """With loudness dims weighted 8x, the best rank-k linear map is PCA of x * sqrt(w) read
    back through 1 / sqrt(w), not PCA of x: the layer starts there, and so starts with a lower
    weighted error than a PCA start (and a higher plain one: the loss, not PCA, decides)."""
    rng = np.random.default_rng(0)
    # rhythm dims: 6 strong directions; loudness dims: 3 weaker ones of their own; some noise
    x = 0.1 * rng.normal(size=(200, layout.DIM))
    x[:, layout.RHYTHM] += rng.normal(size=(200, 6)) @ rng.normal(size=(6, 1152))
    x[:, layout.LOUDNESS] += 0.6 * rng.normal(size=(200, 3)) @ rng.normal(size=(3, 330))
    x = x.astype(np.float32)
    w = feature_weights(layout.DIM, 8.0, 1.0)
    starts = {}
    for name, weight in (("weighted", w), ("plain", None)):
        layer = DenoisingLayer(layout.DIM, 6, activation="tanh", tied=False, linear_path=True)
        layer.set_loss_weight(weight)
        layer.init_linear(x)
        with torch.no_grad():
            starts[name] = layer(torch.from_numpy(x))
    s = np.sqrt(w.numpy())
    optimum = PCA.fit(x * s, 6).reconstruct(x * s) / s
    np.testing.assert_allclose(starts["weighted"].numpy(), optimum, atol=1e-4)
    t = torch.from_numpy(x)
    assert R.half_sse(starts["weighted"], t, w) < 0.95 * R.half_sse(starts["plain"], t, w)
    assert R.half_sse(starts["plain"], t) < R.half_sse(starts["weighted"], t)


def test_more_units_than_rows_leave_the_extra_units_without_a_linear_path():
    x = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    layer = DenoisingLayer(8, 7, activation="tanh", tied=False, linear_path=True)
    layer.init_linear(x)
    assert layer.lin_weight[5:].abs().sum() == 0 and layer.lin_weight[:5].abs().sum() > 0


def test_training_opens_the_gates_and_stays_at_pca_or_better(songs, small_cfg, cpu, tmp_path):
    tr, va, _ = songs
    cfg = dataclasses.replace(small_cfg, linear_path=True, noise=0.0, finetune_noise=0.0,
                              loudness_weight=1.0, pretrain_loudness_weight=1.0, decay=0.0,
                              keep_best=False, pretrain_epochs=6, finetune_epochs=12)
    metrics, layers, model = train_all(cfg, cpu, tr, va)
    mean = tr.mean(0)
    pca = PCA.fit(tr, cfg.layers[-1])
    # the gates opened (the non-linear units take part), and training, which started at PCA,
    # did not leave it for worse (a plain stack of this size lands far above PCA: README)
    assert all(float(layer.gate.abs().max()) > 1e-3 for layer in model.layers)
    assert _rel(reconstruct(model, tr), tr, mean) < 1.01 * _rel(pca.reconstruct(tr), tr, mean)
    assert _rel(reconstruct(model, va), va, mean) < 1.03 * _rel(pca.reconstruct(va), va, mean)
    save(tmp_path / "m.pt", model)
    again = load(tmp_path / "m.pt")
    assert again.layers[0].kwargs["linear_path"] is True
    np.testing.assert_allclose(encode(again, va), encode(model, va), atol=1e-6)


def test_linear_path_refuses_tied_and_regularized_layers():
    with pytest.raises(ConfigError, match="linear_path"):
        dataclasses.replace(SdaeConfig(), linear_path=True, tied=True).check()
    with pytest.raises(ValueError, match="linear_path"):
        DenoisingLayer(8, 4, activation="sigmoid", regularizer="sparse", tied=False,
                       linear_path=True)
    with pytest.raises(ValueError, match="no linear path"):
        DenoisingLayer(8, 4, tied=False).init_linear(np.zeros((3, 8), np.float32))


def test_noise_rescale_keeps_a_masked_row_at_the_clean_rows_expected_value():
    x = torch.ones(400, 50)
    gen = torch.Generator().manual_seed(0)
    plain, scaled = mask(x, 0.3, gen), mask(x, 0.3, gen, rescale=True)
    assert abs(float(plain.mean()) - 0.7) < 0.01 and abs(float(scaled.mean()) - 1.0) < 0.01
    values = torch.unique(scaled)
    assert len(values) == 2 and values[0] == 0 and abs(float(values[1]) - 1 / 0.7) < 1e-6
    # the training batches carry it: kept entries of a noisy row are the clean ones / (1 - noise)
    clean, noisy = next(iter(DeviceBatches(torch.randn(64, 8), batch_size=64, noise=0.5, seed=1,
                                           rescale=True)))
    kept = noisy != 0
    torch.testing.assert_close(noisy[kept], clean[kept] * 2)
    assert 0.3 < float(kept.float().mean()) < 0.7
