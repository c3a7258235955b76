"""What a training stage prints: one line per epoch with its losses when not at a terminal,
the losses (not Lightning's `v_num`) on the bar when at one."""

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger

from songcoder.config import TrainerConfig
from songcoder.training import Heartbeat, LossBar, make_trainer


class Toy(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(4, 1)

    def training_step(self, batch, _):
        loss = ((self.w(batch[0]) - batch[1]) ** 2).mean()
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, _):
        self.log("val/loss", ((self.w(batch[0]) - batch[1]) ** 2).mean(), on_epoch=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_heartbeat_per_epoch_and_losses_on_the_bar(tmp_path, capsys):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)),
                                       batch_size=8)
    trainer = make_trainer(TrainerConfig(accelerator="cpu", devices="1"), stage="toy",
                           max_epochs=3, ckpt_dir=None, logger=CSVLogger(tmp_path))
    assert any(isinstance(c, Heartbeat) for c in trainer.callbacks)   # pytest is no terminal
    model = Toy()
    trainer.fit(model, data, data)
    beats = [line for line in capsys.readouterr().out.splitlines() if line.startswith("toy: ")]
    assert [b.split()[2] for b in beats] == ["1/3", "2/3", "3/3"], beats
    assert all("train/loss" in b and "val/loss" in b for b in beats)
    losses = [float(b.split("train/loss ")[1].split()[0]) for b in beats]
    assert losses[-1] < losses[0]                      # the figures are the real ones
    bar = LossBar().get_metrics(trainer, model)
    assert "v_num" not in bar and float(bar["train/loss"]) == losses[-1]
