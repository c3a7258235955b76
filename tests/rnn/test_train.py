import lightning as L
import pytest
import torch

from songcoder.rnn.model import load
from songcoder.rnn.train import save, train_rnn


class Kill(L.Callback):
    """Stands in for a kill: the run dies as epoch `at` starts (after epoch at-1 was saved)."""

    def __init__(self, at):
        self.at = at

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.at:
            raise RuntimeError("killed")


class Steps(L.Callback):
    """Counts the training batches this process runs."""

    def __init__(self):
        self.n = 0

    def on_train_batch_end(self, *args):
        self.n += 1


def test_resume_continues_from_the_last_checkpoint(songs, tmp_path, tiny_cfg, cpu):
    cfg = tiny_cfg(epochs=3, representation="mulaw", input_noise=0.02)
    with pytest.raises(RuntimeError, match="killed"):
        train_rnn(cfg, cpu, songs["train"], songs["val"], ckpt_dir=tmp_path / "ck",
                  callbacks=[Kill(2)])
    assert torch.load(tmp_path / "ck" / "last.ckpt", weights_only=False)["epoch"] == 1
    steps = Steps()
    metrics, resumed = train_rnn(cfg, cpu, songs["train"], songs["val"], ckpt_dir=tmp_path / "ck",
                                 callbacks=[steps])
    assert metrics["epochs"] == 3 and metrics["train_steps"] == 3 * cfg.steps_per_epoch
    # only the missing epoch ran, and the result is the uninterrupted run's, weight for weight
    assert steps.n == cfg.steps_per_epoch
    _, straight = train_rnn(cfg, cpu, songs["train"], songs["val"], ckpt_dir=tmp_path / "ck2")
    for (name, a), b in zip(resumed.state_dict().items(), straight.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize("representation,cell,batching", [("time_mse", "gru", "random"),
                                                          ("spectral", "lstm", "shifted"),
                                                          ("logmag", "lstm", "shifted")])
def test_train_logs_named_terms_and_checkpoint_round_trips(songs, tmp_path, tiny_cfg, cpu,
                                                          representation, cell, batching):
    cfg = tiny_cfg(representation=representation, cell=cell, batching=batching, mlp_in=16,
                   mlp_out=16)
    metrics, model = train_rnn(cfg, cpu, songs["train"], songs["val"])
    terms = {"time_mse": ["time_mse"], "spectral": ["log_mag", "phase"], "logmag": ["log_mag", "nll_per_bin"]}[representation]
    for split in ("train", "val"):
        for name in ["loss"] + terms:
            assert torch.isfinite(torch.tensor(metrics[f"{split}/{name}"]))
    save(tmp_path / "m.pt", model, cfg)
    again = load(tmp_path / "m.pt")
    assert again.kwargs == model.kwargs and again.config["representation"] == representation
    x = again.encode_input(torch.randn(1, 4, cfg.frame) * 0.1)   # logmag: data statistics too
    torch.testing.assert_close(again(x)[0], model(x)[0])


def test_optimizer_param_is_validated_and_builds_that_optimizer(songs, tiny_cfg, cpu):
    from songcoder import config as c
    from songcoder.rnn.module import RnnModule
    from songcoder.rnn.train import model_kwargs

    with pytest.raises(c.ConfigError, match="rnn.optimizer: expected one of 'adam', 'rmsprop'"):
        c.build(c.RnnConfig, "rnn", {"optimizer": "sgd"})
    assert c.build(c.RnnConfig, "rnn", {}).optimizer == "adam"
    for name, kind in (("adam", torch.optim.Adam), ("rmsprop", torch.optim.RMSprop)):
        cfg = tiny_cfg(optimizer=name, lr=0.01)
        module = RnnModule(model_kwargs(cfg), cfg.lr, 0.0, optimizer=cfg.optimizer)
        opt = module.configure_optimizers()
        assert type(opt) is kind and opt.param_groups[0]["lr"] == 0.01
    # train_rnn passes it through: the two optimizers take different steps from the same start
    weights = {name: train_rnn(tiny_cfg(optimizer=name, epochs=1), cpu, songs["train"],
                               songs["val"])[1].state_dict()
               for name in ("adam", "rmsprop")}
    assert any(not torch.equal(a, b) for a, b in zip(weights["adam"].values(),
                                                      weights["rmsprop"].values()))
