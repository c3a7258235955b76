"""The whole float32 matrix on the training device once; large shuffled slices with masking noise.

No DataLoader, no per-sample Python: an epoch is one `randperm` and B-row `index_select`s, and
the noise mask is drawn on the device. On CPU a float32 C-contiguous array (a memory-mapped
`.npy` included) is used in place, so a memmap is read through the page cache and never
copied; on a GPU it is copied to the device once, in chunks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import lightning as L
import numpy as np
import torch

from songcoder.sdae.same_song import song_groups
from songcoder.sdae.serving import host_tensor

CHUNK_ROWS = 16384


def to_device(x: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """(N, D) float32 tensor on `device`; zero-copy on CPU for float32 C-contiguous input."""
    device = torch.device(device)
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=torch.float32)
    host = host_tensor(x)
    if device.type == "cpu":
        return host
    out = torch.empty(host.shape, dtype=torch.float32, device=device)
    for i in range(0, len(host), CHUNK_ROWS):                              # bounded host staging
        out[i:i + CHUNK_ROWS].copy_(host[i:i + CHUNK_ROWS])
    return out


def column_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean row (D,): float32 sums of 2048-row chunks (no large temporaries), accumulated in float64."""
    total = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
    for i in range(0, len(x), 2048):
        total += x[i:i + 2048].sum(0).double()
    return (total / max(len(x), 1)).float()


def song_spans(song: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(start, size) per row: the first row and the row count of the row's song.

    `song` (N,) labels rows; rows of one song must be contiguous (prepare writes them so)."""
    song = torch.as_tensor(np.asarray(song), dtype=torch.int64)
    if len(song) and bool((song[1:] != song[:-1]).sum() + 1 != len(torch.unique(song))):
        raise ValueError("excerpt rows of one song must be contiguous")
    new = torch.ones(len(song), dtype=torch.bool)
    new[1:] = song[1:] != song[:-1]
    first = torch.nonzero(new).flatten()                                       # (songs,)
    sizes = torch.diff(torch.cat([first, torch.tensor([len(song)])]))
    which = torch.cumsum(new.long(), 0) - 1                                # song number per row
    return first[which], sizes[which]


def swap_rows(idx: torch.Tensor, spans: tuple[torch.Tensor, torch.Tensor], p: float,
              generator: torch.Generator) -> torch.Tensor:
    """Row numbers where each row is, with probability p, another row of the same song.

    The "corruption" of issue 12: hearing another part of the song instead of this one, so
    the code must keep what is stable in a song. Songs with one row keep it."""
    if p <= 0:
        return idx
    start, size = (t.to(idx.device)[idx] for t in spans)
    u = torch.rand(len(idx), generator=generator, device=idx.device)
    k = torch.rand(len(idx), generator=generator, device=idx.device)
    step = 1 + torch.floor(k * (size - 1).clamp_min(1)).long()            # 1..size-1
    other = start + (idx - start + step) % size
    return torch.where((u < p) & (size > 1), other, idx)


def mask(x: torch.Tensor, fraction: float, generator: torch.Generator, *,
         rescale: bool = False) -> torch.Tensor:
    """Masking noise: each entry zeroed independently with probability `fraction` (Vincent 2010).

    rescale: the kept entries are divided by 1 - fraction (as inverted dropout), so a masked row
    has the clean row's expected value: a model that learned to fill in masked inputs then does
    not overshoot on a clean one, where nothing is missing (sdae/README.md: the linear path)."""
    if fraction <= 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= fraction
    return x * keep / (1.0 - fraction) if rescale else x * keep


class DeviceBatches:
    """Iterable of (clean, noisy) (B, D) pairs; one pass = one epoch.

    noisy = masking noise on the row itself or, with probability `swap` (needs `spans`), on
    another row of the same song.

    per_song >= 2 (needs `spans`; the same-song objective): each batch also carries the song of
    each row, (clean, noisy, song (B,)), and a shuffled epoch puts a song's rows into batches
    `per_song` at a time (`same_song.song_groups`), so most rows meet another row of their song.

    The order and the masks depend only on (seed, epoch), so a resumed run sees the batches the
    uninterrupted run would have. Under DDP each rank takes every world-th row of the permutation
    (with `per_song`, a contiguous share of the song-grouped order, so a song's rows stay on one
    rank).
    """

    def __init__(self, x: torch.Tensor, *, batch_size: int, noise: float, seed: int,
                 shuffle: bool = True, epoch: Callable[[], int] = lambda: 0,
                 rank: int = 0, world: int = 1, swap: float = 0.0,
                 spans: tuple[torch.Tensor, torch.Tensor] | None = None, rescale: bool = False,
                 per_song: int = 0):
        self.x, self.batch_size, self.noise, self.seed = x, batch_size, noise, seed
        self.rescale = rescale
        self.shuffle, self.epoch, self.rank, self.world = shuffle, epoch, rank, world
        # the spans live where the rows do, moved once here, not on every batch
        self.swap, self.spans = ((swap, tuple(t.to(x.device) for t in spans)) if spans is not None
                                 else (0.0, None))
        self.per_song = per_song if spans is not None else 0

    def _rows(self) -> int:
        # Every rank gets the same count (a rank with one batch more would hang DDP): up to
        # world-1 rows per epoch are left out, different ones each epoch when shuffled.
        return len(self.x) // self.world if self.world > 1 else len(self.x)

    def __len__(self) -> int:
        return math.ceil(self._rows() / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        dev = self.x.device
        gen = torch.Generator(device=dev)
        gen.manual_seed(self.seed * 1_000_003 + (self.epoch() if self.shuffle else 0))
        used = self._rows() * self.world
        if self.shuffle and self.per_song:
            # each rank a contiguous share, so runs of a song stay together
            idx = song_groups(self.spans, self.per_song, gen)[:used].view(self.world, -1)[self.rank]
        elif self.shuffle:
            idx = torch.randperm(len(self.x), generator=gen, device=dev)[:used][self.rank::self.world]
        else:
            idx = torch.arange(self.rank, used, self.world, device=dev)
        for i in range(0, len(idx), self.batch_size):
            rows = idx[i:i + self.batch_size]
            clean = self.x.index_select(0, rows)                               # (B, D)
            source = clean if self.swap <= 0 else self.x.index_select(
                0, swap_rows(rows, self.spans, self.swap, gen))
            noisy = mask(source, self.noise, gen, rescale=self.rescale)
            if self.per_song:
                yield clean, noisy, self.spans[0][rows]                        # song: its first row
            else:
                yield clean, noisy


class MatrixDataModule(L.LightningDataModule):
    """Train/val matrices moved to the trainer's device in `setup`; val keeps a fixed mask."""

    def __init__(self, x_train, x_val, *, batch_size: int, noise: float, seed: int,
                 val_batch_size: int = 8192, swap: float = 0.0, songs=None,
                 rescale: bool = False, per_song: int = 0):
        super().__init__()
        self.host = {"train": x_train, "val": x_val}
        self.batch_size, self.noise, self.seed, self.rescale = batch_size, noise, seed, rescale
        # songs: (train, val) song label per row, for the same-song swap and objective
        self.swap, self.per_song = swap, per_song
        self.spans = {k: song_spans(v) for k, v in zip(("train", "val"), songs)
                      if v is not None} if songs and (swap > 0 or per_song) else {}
        self.val_batch_size = val_batch_size
        self.data: dict[str, torch.Tensor] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.data:
            return
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        self.data = {k: to_device(v, device) for k, v in self.host.items() if v is not None}
        self.train_mean = column_mean(self.data["train"])                  # (D,) for rel_error

    def _rank_world(self) -> tuple[int, int]:
        t = self.trainer
        return (t.global_rank, t.world_size) if t is not None else (0, 1)

    def train_dataloader(self) -> DeviceBatches:
        rank, world = self._rank_world()
        return DeviceBatches(self.data["train"], batch_size=self.batch_size, noise=self.noise,
                             seed=self.seed, epoch=lambda: self.trainer.current_epoch,
                             rank=rank, world=world, swap=self.swap,
                             spans=self.spans.get("train"), rescale=self.rescale,
                             per_song=self.per_song)

    def val_dataloader(self) -> DeviceBatches | list:
        if "val" not in self.data or len(self.data["val"]) == 0:
            return []
        rank, world = self._rank_world()
        return DeviceBatches(self.data["val"], batch_size=self.val_batch_size, noise=self.noise,
                             seed=self.seed + 7919, shuffle=False, rank=rank, world=world,
                             swap=self.swap, spans=self.spans.get("val"), rescale=self.rescale,
                             per_song=self.per_song)
