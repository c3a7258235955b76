import numpy as np
import torch

from songcoder.sdae import regularizers as R
from songcoder.sdae.layer import DenoisingLayer


def _double_layer(**kw) -> DenoisingLayer:
    torch.manual_seed(0)
    return DenoisingLayer(12, 5, **kw).double()


def test_rank_ordered_gram_form_equals_the_naive_prefix_sums():
    torch.manual_seed(1)
    h = torch.rand(7, 6, dtype=torch.float64)
    w, b, x = (torch.randn(20, 6, dtype=torch.float64), torch.randn(20, dtype=torch.float64),
               torch.randn(7, 20, dtype=torch.float64))
    naive = R.rank_ordered_naive(h, w, b, x, lambda z: z)
    fast = R.rank_ordered_linear(h, w, b, x)
    assert torch.allclose(naive, fast, rtol=1e-10)
    # and it is a genuine prefix cost: the last prefix alone is the ordinary reconstruction
    full = R.half_sse(h @ w.t() + b, x)
    assert not torch.allclose(naive, full)
    # per-feature weights (loudness_weight): the same in both forms, and weight 2 everywhere
    # doubles the cost
    wt = torch.rand(20, dtype=torch.float64) + 0.5
    assert torch.allclose(R.rank_ordered_naive(h, w, b, x, lambda z: z, wt),
                          R.rank_ordered_linear(h, w, b, x, wt), rtol=1e-10)
    two = torch.full((20,), 2.0, dtype=torch.float64)
    assert torch.allclose(R.rank_ordered_linear(h, w, b, x, two), 2 * fast, rtol=1e-10)


def test_rank_ordered_cost_gradcheck():
    torch.manual_seed(2)
    h = torch.rand(4, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(9, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(9, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 9, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda h, w, b: R.rank_ordered_linear(h, w, b, x), (h, w, b))
    assert torch.autograd.gradcheck(
        lambda h, w, b: R.rank_ordered_naive(h, w, b, x, torch.sigmoid), (h, w, b))


def test_rank_ordered_layer_loss_gradcheck_through_the_encoder():
    # Whole layer (sigmoid encoder, sorted prefixes, linear output) w.r.t. its input.
    layer = _double_layer(activation="sigmoid", regularizer="rank_ordered")
    x = torch.randn(6, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: layer.losses(v, v)["loss"], (x,))


def test_sparse_cost_gradient_matches_finite_differences():
    # Seed 004's gradient check: central differences, eps 1e-4, double precision,
    # relative difference |num - ana| / |num + ana| tiny.
    layer = _double_layer(activation="sigmoid", tied=False, regularizer="sparse",
                          sparsity_target=0.1, sparsity_weight=3.0, weight_decay=1e-3)
    x = torch.rand(10, 12, dtype=torch.float64)
    noisy = x * (torch.rand_like(x) > 0.3)
    params = list(layer.parameters())
    loss = layer.losses(x, noisy)
    assert set(loss) == {"recon", "weight_decay", "sparsity", "loss"}
    ana = torch.cat([g.flatten() for g in torch.autograd.grad(loss["loss"], params)])
    num = []
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = float(flat[i])
                flat[i] = old + 1e-4
                up = float(layer.losses(x, noisy)["loss"])
                flat[i] = old - 1e-4
                down = float(layer.losses(x, noisy)["loss"])
                flat[i] = old
                num.append((up - down) / 2e-4)
    num = torch.tensor(num, dtype=torch.float64)
    diff = float((num - ana).norm() / (num + ana).norm())
    assert diff < 1e-8, diff


def test_kl_sparsity_is_zero_at_the_target_and_positive_elsewhere():
    h = torch.full((8, 3), 0.05)
    assert float(R.kl_sparsity(h, 0.05)) < 1e-9
    assert float(R.kl_sparsity(torch.full((8, 3), 0.5), 0.05)) > 0.1


def test_sparse_needs_unit_range_codes():
    try:
        DenoisingLayer(4, 2, activation="tanh", regularizer="sparse")
    except ValueError as e:
        assert "sparse" in str(e)
    else:
        raise AssertionError("tanh codes accepted for the KL sparsity term")
    assert np.isfinite(float(DenoisingLayer(4, 2, activation="trelu", regularizer="sparse")
                             .losses(torch.rand(3, 4), torch.rand(3, 4))["loss"]))


def test_keep_top_zeroes_all_but_each_rows_k_largest():
    h = torch.tensor([[0.1, 0.9, 0.5], [0.7, -0.2, 0.3]])
    assert torch.equal(R.keep_top(h, 1), torch.tensor([[0.0, 0.9, 0.0], [0.7, 0.0, 0.0]]))
    assert torch.equal(R.keep_top(h, 2), torch.tensor([[0.0, 0.9, 0.5], [0.7, 0.0, 0.3]]))
    assert torch.equal(R.keep_top(h, 3), h)


def test_deep_rank_ordered_cost_is_the_layer_cost_for_one_layer_and_weights_scale_it():
    torch.manual_seed(3)
    layer = _double_layer(activation="tanh", out_activation="sigmoid", tied=False)
    x = torch.rand(6, 12, dtype=torch.float64)
    h = layer.encode(x)
    naive = R.rank_ordered_naive(h, layer.w_dec, layer.dec_bias, x, layer.out_act)
    assert torch.allclose(R.rank_ordered_deep(h, layer.decode, x), naive, rtol=1e-10)
    ones = torch.ones(12, dtype=torch.float64)
    assert torch.allclose(R.rank_ordered_deep(h, layer.decode, x, 2 * ones), 2 * naive)
