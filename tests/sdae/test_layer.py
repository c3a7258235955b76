import pytest
import torch

from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.stack import DeepAutoencoder


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "trelu"])
def test_shapes_and_code_ranges(activation):
    layer = DenoisingLayer(30, 7, activation=activation)
    x = torch.randn(5, 30)
    h = layer.encode(x).detach()
    assert h.shape == (5, 7) and layer(x).shape == (5, 30)
    lo, hi = {"sigmoid": (0, 1), "tanh": (-1, 1), "relu": (0, float("inf")),
              "trelu": (0, 1)}[activation]
    assert float(h.min()) >= lo and float(h.max()) <= hi


def test_tied_decoder_is_the_encoder_transpose_and_untie_copies_it():
    layer = DenoisingLayer(6, 3, tied=True)
    assert layer.w_dec.data_ptr() == layer.weight.data_ptr()
    assert {n for n, _ in layer.named_parameters()} == {"weight", "bias", "dec_bias"}
    x = torch.randn(4, 6)
    before = layer(x)
    layer.untie()
    assert torch.allclose(layer(x), before) and layer.kwargs["tied"] is False
    assert layer.dec_weight.data_ptr() != layer.weight.data_ptr()
    assert "dec_weight" in dict(DenoisingLayer(6, 3, tied=False).named_parameters())


def test_losses_are_named_and_loss_is_their_sum():
    layer = DenoisingLayer(10, 4, regularizer="sparse", tied=False)
    x = torch.rand(8, 10)
    terms = layer.losses(x, x * (torch.rand_like(x) > 0.3))
    assert set(terms) == {"recon", "weight_decay", "sparsity", "loss"}
    assert torch.allclose(terms["loss"], terms["recon"] + terms["weight_decay"] + terms["sparsity"])
    assert set(DenoisingLayer(10, 4).losses(x, x)) == {"recon", "loss"}


def test_deep_autoencoder_is_the_stack_of_encoders_then_reversed_decoders():
    l1 = DenoisingLayer(20, 8, activation="tanh")
    l2 = DenoisingLayer(8, 3, activation="tanh", out_activation="tanh")
    deep = DeepAutoencoder.from_layers([l1, l2])
    x = torch.randn(5, 20)
    assert torch.allclose(deep.encode(x), l2.encode(l1.encode(x)))
    assert torch.allclose(deep(x), l1.decode(l2.decode(l2.encode(l1.encode(x)))))
    assert deep.sizes == [20, 8, 3]
    # a copy: training the deep net leaves the pretrained layers alone
    deep.layers[0].weight.data.zero_()
    assert float(l1.weight.abs().sum()) > 0
    assert torch.allclose(deep.truncated(1)(x), DeepAutoencoder.from_layers([deep.layers[0]])(x))
