import dataclasses
import logging

import pytest

from songcoder.config import SdaeConfig, TrainerConfig
from songcoder.sdae.synthetic import song_vectors, zscore

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def songs():
    """Small structured data set: (train, val, test) z-scored with train statistics."""
    x, _, _ = song_vectors(160, seed=3)
    return zscore(x[:100], x[100:130], x[130:])


@pytest.fixture
def small_cfg():
    return dataclasses.replace(SdaeConfig(), layers=[48, 12, 4], batch_size=25,
                               pretrain_epochs=4, finetune_epochs=4, lr=3e-3, finetune_lr=1e-3)


@pytest.fixture
def cpu():
    return TrainerConfig(accelerator="cpu", devices="1")
