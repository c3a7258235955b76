import pytest

from songcoder.config import RnnConfig, TrainerConfig
from songcoder.audio.synth import write_songs


@pytest.fixture(scope="session")
def songs(tmp_path_factory):
    """Real FLAC files: 4 train, 2 val songs of 3 s from the built-in corpus at 22050 Hz."""
    root = tmp_path_factory.mktemp("songs")
    return {"train": write_songs(root / "train", 4, 3.0, seed=1),
            "val": write_songs(root / "val", 2, 3.0, seed=2)}


@pytest.fixture
def tiny_cfg():
    """A factory for RnnConfigs small enough to train in a second or two."""
    def make(**kw) -> RnnConfig:
        base = dict(sample_rate=8000, frame=64, hidden=24, layers=1, batch_size=4, epochs=2,
                    steps_per_epoch=4, val_steps=2, tbptt_seconds=0.08, tbptt_chunks=2, embed=4)
        base.update(kw)
        return RnnConfig(**base)
    return make


@pytest.fixture
def cpu():
    return TrainerConfig(accelerator="cpu", devices="1")
