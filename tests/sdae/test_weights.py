import pytest
import torch

from songcoder.config import ConfigError, SdaeConfig, build
from songcoder.features import layout
from songcoder.sdae import regularizers as R
from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.weights import feature_weights


def _pair(b: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.randn(b, layout.DIM), torch.randn(b, layout.DIM)


def test_weight_one_is_the_plain_loss():
    assert feature_weights(layout.DIM, 1.0, 1.0) is None
    x_hat, x = _pair()
    ones = torch.ones(layout.DIM)
    assert torch.equal(R.half_sse(x_hat, x, None), R.half_sse(x_hat, x))
    assert torch.allclose(R.half_sse(x_hat, x, ones), R.half_sse(x_hat, x))


@pytest.mark.parametrize("w", [0.5, 2.0, 4.0])
def test_weights_are_a_mean_one_reweighting_of_the_loudness_group(w):
    weight = feature_weights(layout.DIM, w, 1.0)
    assert weight.shape == (layout.DIM,)
    assert weight.mean().item() == pytest.approx(1.0, rel=1e-6)
    loud, rhythm = weight[layout.LOUDNESS], weight[layout.RHYTHM]
    assert torch.all(loud == loud[0]) and torch.all(rhythm == rhythm[0])
    assert (loud[0] / rhythm[0]).item() == pytest.approx(w, rel=1e-6)


def test_extended_groups_get_their_own_weight():
    # the extended layout: rhythm 1, loudness its weight, the groups after them theirs
    w = feature_weights(layout.EXTENDED_DIM, 8.0, 100.0)
    rhythm, loud, ext = w[layout.RHYTHM], w[layout.LOUDNESS], w[layout.DIM:]
    assert len(ext) == layout.EXTENDED_DIM - layout.DIM and w.mean().item() == pytest.approx(1.0)
    assert (loud[0] / rhythm[0]).item() == pytest.approx(8.0, rel=1e-6)
    assert (ext / rhythm[0]).allclose(torch.tensor(100.0))
    # the seed layout has no extended dims: the key changes nothing there
    assert torch.equal(feature_weights(layout.DIM, 8.0, 100.0), feature_weights(layout.DIM, 8.0, 1.0))
    assert feature_weights(layout.DIM, 1.0, 100.0) is None
    assert feature_weights(layout.EXTENDED_DIM, 1.0, 1.0) is None
    assert feature_weights(layout.EXTENDED_DIM, 1.0, 5.0) is not None
    with pytest.raises(ValueError, match="extended_weight"):
        feature_weights(layout.EXTENDED_DIM, 8.0, 0.0)


def test_up_weighting_scales_loudness_errors_only():
    x = torch.zeros(3, layout.DIM)
    loud_err, rhythm_err = x.clone(), x.clone()
    loud_err[:, layout.LOUDNESS] = 1.0
    rhythm_err[:, layout.RHYTHM] = 1.0
    w = feature_weights(layout.DIM, 3.0, 1.0)
    # an error in the loudness dims costs more than under plain MSE, one in rhythm dims less,
    # by exactly the group weights
    assert R.half_sse(loud_err, x, w) > R.half_sse(loud_err, x)
    assert R.half_sse(rhythm_err, x, w) < R.half_sse(rhythm_err, x)
    assert (R.half_sse(loud_err, x, w) / R.half_sse(loud_err, x)).item() == \
        pytest.approx(w[layout.LOUDNESS][0].item(), rel=1e-6)
    # plain loss of an error spread evenly is unchanged (the weights average to 1)
    assert R.half_sse(torch.ones(3, layout.DIM), x, w).item() == \
        pytest.approx(R.half_sse(torch.ones(3, layout.DIM), x).item(), rel=1e-6)


def test_layer_and_stack_losses_use_the_weights():
    x_clean, x_noisy = _pair(4)
    layer = DenoisingLayer(layout.DIM, 8, activation="tanh", tied=False)
    deep = DeepAutoencoder.from_layers([layer, DenoisingLayer(8, 3, activation="tanh",
                                                              out_activation="tanh")])
    for net in (layer, deep):
        plain = net.losses(x_clean, x_noisy)["loss"]
        net.set_loss_weight(feature_weights(layout.DIM, 1.0, 1.0))
        assert torch.equal(net.losses(x_clean, x_noisy)["loss"], plain)
        w = feature_weights(layout.DIM, 3.0, 1.0)
        net.set_loss_weight(w)
        expected = R.half_sse(net(x_noisy), x_clean, w)
        assert torch.allclose(net.losses(x_clean, x_noisy)["loss"], expected)
        assert not torch.allclose(expected, plain)
        # the weights are a training choice: not in the saved state
        assert "loss_weight" not in net.state_dict()


def test_weights_need_the_song_vector_and_a_positive_value():
    with pytest.raises(ValueError, match="1482"):
        feature_weights(12, 2.0, 1.0)
    with pytest.raises(ValueError):
        feature_weights(layout.DIM, 0.0, 1.0)
    with pytest.raises(ConfigError):
        build(SdaeConfig, "sdae", {"loudness_weight": 0})
    assert build(SdaeConfig, "sdae", {"regularizer": "rank_ordered", "linear_path": False}).pretrain_loudness_weight == 8
