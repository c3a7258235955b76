"""Prefix-k curves, greedy best units and activation figures on codes whose answer is known."""

import numpy as np
import pytest
import torch

from songcoder.evaluate import code_figure
from songcoder.evaluate.baselines import mean_predictor
from songcoder.pca import PCA
from songcoder.evaluate.codes import (NEAR_ZERO, activation_stats, best_units, code_units,
                                      prefix_curve)
from songcoder.sdae.stack import DeepAutoencoder


def linear_code(components: np.ndarray, center: np.ndarray) -> DeepAutoencoder:
    """One linear rank-ordered layer: h = V (x - center), x_hat = V^T h + center."""
    h, d = components.shape
    model = DeepAutoencoder([dict(n_in=d, n_out=h, activation="linear", tied=False,
                                  regularizer="rank_ordered")])
    layer = model.layers[0]
    v = torch.as_tensor(components, dtype=torch.float32)
    with torch.no_grad():
        layer.weight.copy_(v)
        layer.bias.copy_(-v @ torch.as_tensor(center, dtype=torch.float32))
        layer.dec_weight.copy_(v.t())
        layer.dec_bias.copy_(torch.as_tensor(center, dtype=torch.float32))
    return model.eval()


def orthonormal(rows: int, d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q[:rows].astype(np.float32)


def test_prefix_k_keeps_each_songs_most_active_units_whatever_their_index():
    rng = np.random.default_rng(0)
    v = orthonormal(4, 7, seed=1)
    # every row's scores are positive; which unit is largest differs from row to row
    s = rng.uniform(0.1, 3.0, (50, 4)).astype(np.float32)
    x = s @ v
    mean = mean_predictor(x)
    curve = prefix_curve(linear_code(v, np.zeros(7, np.float32)), x, mean)
    top = -np.sort(-s, axis=1)                                     # each row, largest first
    base = ((x - mean) ** 2).sum()
    expected = [(top[:, k:] ** 2).sum() / base for k in range(1, 5)]   # the dropped scores
    assert curve == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert curve[-1] == pytest.approx(0.0, abs=1e-6)
    assert all(a > b for a, b in zip(curve, curve[1:]))


def test_a_pca_code_has_pca_errors_for_its_best_units_and_sorted_scores_for_its_prefix():
    rng = np.random.default_rng(2)
    d, h = 8, 3
    rot = orthonormal(d, d, seed=3)
    x = ((rng.standard_normal((400, d)) * [5, 3, 2, 0.5, 0.4, 0.3, 0.2, 0.1]) @ rot + 2.0
         ).astype(np.float32)
    train, test = x[:300], x[300:]
    mean = mean_predictor(train)
    pca = PCA.fit(train, d)
    model = linear_code(pca.components[:h].astype(np.float32), pca.mean.astype(np.float32))
    block = code_units(model, train, test, mean, pca)
    curves = block["prefix_k"]
    # units = PCA directions, unused ones at the train mean code (0): greedy picks them in
    # variance order and matches PCA-k exactly
    assert block["regularizer"] == "rank_ordered"
    assert curves["best_units_order"] == [0, 1, 2]
    assert curves["best_units"] == pytest.approx(curves["pca"], rel=1e-4)
    # the prefix keeps the k largest signed scores, the rest 0 (= the mean on that direction)
    z = pca.truncated(h).encode(test)
    top = -np.sort(-z, axis=1)
    base = ((test - mean) ** 2).sum()
    resid = ((test - pca.truncated(h).reconstruct(test)) ** 2).sum()
    expected = [((top[:, k:] ** 2).sum() + resid) / base for k in range(1, h + 1)]
    assert curves["rank_ordered"] == pytest.approx(expected, rel=1e-3)
    assert curves["rank_ordered"][-1] == pytest.approx(curves["pca"][-1], rel=1e-3)


def test_best_units_fill_the_rest_with_the_given_code():
    v = orthonormal(2, 3, seed=4)
    x = np.array([[3.0, 0.1], [2.0, -0.1], [1.0, 0.3]], np.float32) @ v
    model = linear_code(v, np.zeros(3, np.float32))
    mean = np.zeros(3)
    curve, order = best_units(model, x, x, mean, fill=np.zeros(2, np.float32))
    assert order == [0, 1]                     # unit 0 carries almost all of the energy
    # |x|^2 = 14.11; unit 1 held at 0 misses 0.1^2 + 0.1^2 + 0.3^2, at 0.3: 0.2^2 + 0.4^2 + 0
    assert curve[0] == pytest.approx(0.11 / 14.11, rel=1e-4) and curve[1] == pytest.approx(0, abs=1e-6)
    curve, _ = best_units(model, x, x, mean, fill=np.array([0.0, 0.3], np.float32))
    assert curve[0] == pytest.approx(0.20 / 14.11, rel=1e-4)


def test_activation_stats_on_known_codes(tmp_path):
    h = np.array([[0.0, 0.5], [0.01, 1.0], [0.2, 0.04], [0.0, 0.3]], np.float32)
    stats = activation_stats(h)
    assert stats["rho_hat"] == pytest.approx([0.0525, 0.46], rel=1e-4)
    assert stats["rho_hat_mean"] == pytest.approx(0.25625, rel=1e-4)
    assert stats["near_zero"] == 0.5 and stats["near_zero_threshold"] == NEAR_ZERO   # 0, .01, .04, 0
    block = {"regularizer": "sparse", **stats}
    assert code_figure.save(block, tmp_path).stat().st_size > 1000
    block["prefix_k"] = {"rank_ordered": [0.5, 0.2], "best_units": [0.6, 0.2], "pca": [0.4, 0.1]}
    assert code_figure.save(block, tmp_path / "with_curves").stat().st_size > 1000


def test_a_plain_code_has_no_prefix_curve():
    v = orthonormal(2, 4, seed=5)
    model = linear_code(v, np.zeros(4, np.float32))
    model.layers[0].regularizer = "none"
    x = np.random.default_rng(6).standard_normal((20, 4)).astype(np.float32)
    block = code_units(model, x, x, mean_predictor(x), PCA.fit(x, 2))
    assert block["regularizer"] == "none" and "prefix_k" not in block
    assert len(block["rho_hat"]) == 2
