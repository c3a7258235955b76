import dataclasses

import numpy as np
import pytest
import torch

from songcoder.sdae.serving import encode, load, reconstruct
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.train import finetune, pretrain_layer, save
from songcoder.training import write_history


def _rel(model, x, mean):
    return float(((reconstruct(model, x) - x) ** 2).sum() / ((x - mean) ** 2).sum())


def test_greedy_pretraining_then_finetuning_learns(songs, small_cfg, cpu, tmp_path):
    tr, va, te = songs
    layers, a, b = [], tr, va
    for k in (1, 2, 3):
        m, layer = pretrain_layer(small_cfg, cpu, k, a, b)
        assert m["epochs"] == small_cfg.pretrain_epochs == len(m["history"])
        assert np.isfinite(m["val/rel_error"])
        # Learning is read on the held-out rows: each layer starts at the linear optimum of its
        # loss, and the train loss of 4 batches with fresh masks moves ±15 % from epoch to epoch
        # (243, 192, 251 at layer 2), while the val loss of the same objective falls steadily.
        hist = [h["val_loss"] for h in m["history"]]
        assert hist[-1] < hist[0]
        layers.append(layer)
        a, b = encode(layer, a), encode(layer, b)
        assert a.shape == (len(tr), small_cfg.layers[k - 1]) and a.dtype == np.float32
    greedy = DeepAutoencoder.from_layers(layers)
    m, model = finetune(small_cfg, cpu, layers, tr, va)
    assert {"train/loss", "val/loss", "val/rel_error", "history"} <= set(m)
    mean = tr.mean(0)
    assert _rel(model, va, mean) < _rel(greedy, va, mean)
    assert encode(model, te).shape == (len(te), 4)
    write_history(tmp_path / "h.csv", m["history"])
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss,val_rel_error" and len(lines) == 1 + 4


def test_same_seed_same_metrics_and_resume_continues_the_run(songs, small_cfg, cpu, tmp_path):
    tr, va, _ = songs
    cfg5 = dataclasses.replace(small_cfg, pretrain_epochs=5)
    full, _ = pretrain_layer(cfg5, cpu, 1, tr, va)
    again, _ = pretrain_layer(cfg5, cpu, 1, tr, va)
    assert full["history"] == again["history"]
    # "killed" after 3 epochs, rerun with the same params and checkpoint folder
    first, _ = pretrain_layer(dataclasses.replace(small_cfg, pretrain_epochs=3), cpu, 1, tr, va,
                              ckpt_dir=tmp_path)
    assert (tmp_path / "last.ckpt").exists()
    resumed, layer = pretrain_layer(cfg5, cpu, 1, tr, va, ckpt_dir=tmp_path)
    assert resumed["history"][:3] == first["history"]
    assert len(resumed["history"]) == 5
    for got, want in zip(resumed["history"], full["history"]):
        assert got == pytest.approx(want, rel=1e-5)


def test_checkpoints_rebuild_the_model_from_the_file_alone(songs, small_cfg, cpu, tmp_path):
    tr, va, _ = songs
    cfg = dataclasses.replace(small_cfg, layers=[16, 5], tied=False, pretrain_epochs=1,
                              finetune_epochs=1)
    _, l1 = pretrain_layer(cfg, cpu, 1, tr, va)
    _, l2 = pretrain_layer(cfg, cpu, 2, encode(l1, tr), encode(l1, va))
    _, deep = finetune(cfg, cpu, [l1, l2], tr, va)
    for i, model in enumerate([l1, deep]):
        path = tmp_path / f"m{i}.pt"
        save(path, model, cfg)
        back, config = load(path, with_config=True)
        assert type(back) is type(model) and config["layers"] == [16, 5]
        assert np.array_equal(reconstruct(back, va), reconstruct(model, va))
    assert not list(tmp_path.glob(".*tmp*"))              # atomic: no temp files left


@pytest.mark.parametrize("over", [
    dict(optimizer="lbfgs", lr=1.0, batch_size=100, decay=0.0),
    dict(regularizer="rank_ordered", activation="trelu"),
    dict(regularizer="sparse", activation="sigmoid", tied=False),
    dict(optimizer="adam_centered"),
])
def test_variants_train_through_lightning(songs, small_cfg, cpu, over):
    # the plain stack: with the linear path a layer starts at PCA, where the training loss
    # need not fall (tests/sdae/test_linear_path.py covers that start)
    tr, va, _ = songs
    cfg = dataclasses.replace(small_cfg, layers=[24, 6], linear_path=False, **over)
    m1, l1 = pretrain_layer(cfg, cpu, 1, tr, va)
    m2, _ = pretrain_layer(cfg, cpu, 2, encode(l1, tr), encode(l1, va))   # non-linear output layer
    for m in (m1, m2):
        losses = [h["train_loss"] for h in m["history"]]
        assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert torch.isfinite(l1.weight).all()


def test_keep_best_returns_the_lowest_val_epoch_and_cosine_decay_trains(songs, small_cfg, cpu):
    tr, va, _ = songs
    cfg = dataclasses.replace(small_cfg, layers=[24, 6], pretrain_epochs=8, lr=0.03,
                              keep_best=True, schedule="cosine", decay=0.01)
    m, layer = pretrain_layer(cfg, cpu, 1, tr, va)
    vals = [h["val_rel_error"] for h in m["history"]]
    assert m["val/rel_error"] == min(vals) and vals[m["best_epoch"]] == min(vals)
    assert m["epochs"] == 8
    # the returned weights are that epoch's: their clean val error is the logged one
    assert _rel(layer, va, tr.mean(0)) == pytest.approx(min(vals), rel=1e-4)


def test_finetune_rank_ordered_trains_the_deep_prefix_cost(songs, small_cfg, cpu):
    from songcoder.sdae import regularizers as R

    tr, va, _ = songs
    cfg = dataclasses.replace(small_cfg, layers=[24, 6], regularizer="rank_ordered",
                              finetune_rank_ordered=True, finetune_epochs=3, linear_path=False)
    _, l1 = pretrain_layer(cfg, cpu, 1, tr, va)
    _, l2 = pretrain_layer(cfg, cpu, 2, encode(l1, tr), encode(l1, va))
    metrics, model = finetune(cfg, cpu, [l1, l2], tr, va)
    assert model.rank_ordered and np.isfinite(metrics["val/rel_error"])
    x = torch.as_tensor(va)
    terms = model.losses(x, x)
    assert torch.allclose(terms["recon"], R.rank_ordered_deep(model.encode(x), model.decode, x,
                                                              model.loss_weight))
    losses = [h["train_loss"] for h in metrics["history"]]
    assert losses[-1] < losses[0]
    # keep_best kept the epoch of the lowest validation rank-ordered cost, its objective
    val_cost = [h["val_loss"] for h in metrics["history"]]
    assert metrics["best_epoch"] == int(np.argmin(val_cost))
    plain = dataclasses.replace(cfg, regularizer="none", finetune_rank_ordered=False)
    _, p1 = pretrain_layer(plain, cpu, 1, tr, va)
    with pytest.raises(ValueError, match="finetune_rank_ordered needs a code layer"):
        finetune(dataclasses.replace(plain, finetune_rank_ordered=True), cpu, [p1], tr, va)


def test_the_loss_weights_reach_both_stages(small_cfg, cpu):
    """sdae.loudness_weight / pretrain_loudness_weight / extended_weight, as set, are what the
    layer-1 and the fine-tuning losses weigh each group by (extended layout)."""
    from songcoder.features import layout
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, layout.EXTENDED_DIM)).astype(np.float32)
    cfg = dataclasses.replace(small_cfg, pretrain_epochs=1, finetune_epochs=1,
                              pretrain_loudness_weight=4.0, loudness_weight=8.0,
                              extended_weight=50.0)
    layers, a, b = [], x[:40], x[40:]
    for k in (1, 2, 3):
        _, layer = pretrain_layer(cfg, cpu, k, a, b)
        layers.append(layer)
        a, b = encode(layer, a), encode(layer, b)
    _, model = finetune(cfg, cpu, layers, x[:40], x[40:])
    for w, loud in ((layers[0].loss_weight, 4.0), (model.loss_weight, 8.0)):
        rhythm = w[layout.RHYTHM][0]
        assert torch.allclose(w[layout.LOUDNESS] / rhythm, torch.tensor(loud))
        assert torch.allclose(w[layout.DIM:] / rhythm, torch.tensor(50.0))
    assert layers[1].loss_weight is None and layers[2].loss_weight is None
