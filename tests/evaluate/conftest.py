import dataclasses
import logging

import pytest

from songcoder.config import SdaeConfig, TrainerConfig
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.train import train_all
from songcoder.sdae.synthetic import song_vectors, zscore

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


def train_stack(cfg, tr, va):
    """(greedy, finetuned) DeepAutoencoders trained for real on (tr, va)."""
    _, layers, model = train_all(cfg, TrainerConfig(accelerator="cpu", devices="1"), tr, va)
    return DeepAutoencoder.from_layers(layers), model


@pytest.fixture(scope="session")
def labelled_songs():
    x, style, pattern = song_vectors(200, seed=5)
    tr, va, te = zscore(x[:120], x[120:150], x[150:])
    return tr, va, te, style[150:], pattern[150:]


@pytest.fixture(scope="session")
def small_cfg():
    # plain MSE (loudness weight 1): the collapse and retrieval cases were set up on it
    return dataclasses.replace(SdaeConfig(), layers=[48, 12, 4], batch_size=25, pretrain_epochs=6,
                               finetune_epochs=6, lr=3e-3, finetune_lr=2e-3, loudness_weight=1.0,
                               pretrain_loudness_weight=1.0)


@pytest.fixture(scope="session")
def trained(labelled_songs, small_cfg):
    """(greedy, finetuned) trained once with adam for the tests that only read them."""
    tr, va, _, _, _ = labelled_songs
    return train_stack(small_cfg, tr, va)
