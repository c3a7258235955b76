import numpy as np
import torch

from songcoder.sdae.data import DeviceBatches, column_mean, mask, to_device


def test_an_epoch_visits_every_row_once_in_seeded_order():
    x = torch.arange(50, dtype=torch.float32).reshape(25, 2)
    batches = DeviceBatches(x, batch_size=7, noise=0.0, seed=1)
    rows = torch.cat([clean for clean, _ in batches])
    assert len(batches) == 4 and sorted(rows[:, 0].tolist()) == x[:, 0].tolist()
    again = torch.cat([clean for clean, _ in DeviceBatches(x, batch_size=7, noise=0.0, seed=1)])
    other = torch.cat([clean for clean, _ in DeviceBatches(x, batch_size=7, noise=0.0, seed=1,
                                                           epoch=lambda: 1)])
    assert torch.equal(rows, again) and not torch.equal(rows, other)


def test_ranks_split_the_rows_evenly():
    x = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    seen = [torch.cat([c for c, _ in DeviceBatches(x, batch_size=3, noise=0.0, seed=0, rank=r,
                                                   world=2)]) for r in (0, 1)]
    assert sorted(torch.cat(seen)[:, 0].tolist()) == x[:, 0].tolist()
    # 10 rows on 3 ranks: 3 each (equal batch counts, or DDP would hang), no row twice
    parts = [DeviceBatches(x, batch_size=2, noise=0.0, seed=0, rank=r, world=3) for r in range(3)]
    assert {len(p) for p in parts} == {2}
    rows = torch.cat([c for p in parts for c, _ in p])[:, 0].tolist()
    assert len(rows) == 9 == len(set(rows))


def test_masking_zeroes_about_the_fraction_and_keeps_the_rest():
    x = torch.ones(200, 1482)
    noisy = mask(x, 0.3, torch.Generator().manual_seed(0))
    frac = float((noisy == 0).float().mean())
    assert abs(frac - 0.3) < 0.01
    assert set(noisy.unique().tolist()) == {0.0, 1.0}
    clean, noisy = next(iter(DeviceBatches(x, batch_size=16, noise=0.3, seed=0)))
    assert torch.equal(clean, torch.ones(16, 1482)) and float((noisy == 0).float().mean()) > 0.2


def test_a_memmap_is_used_in_place_on_cpu(tmp_path):
    a = np.random.default_rng(0).random((40, 6), dtype=np.float32)
    np.save(tmp_path / "x.npy", a)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    t = to_device(mm)
    assert t.data_ptr() == mm.ctypes.data                 # no copy
    assert torch.allclose(column_mean(t), torch.from_numpy(a.mean(0)))
    assert to_device(a.astype(np.float64)).dtype == torch.float32
