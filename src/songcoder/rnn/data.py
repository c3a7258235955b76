"""Songs decoded once to a memory-mapped file (mono float32 at the model's rate), cut into
TBPTT windows. Memory does not grow with the collection: songs are decoded one at a time
(two in flight), appended to the file, and batches read only the excerpts they use.

A training *stream* is `chunks` consecutive windows of `tbptt` frames from the same place
in the same songs; the module carries the (detached) recurrent state from one window to the
next within a stream, so the model learns from states far from the zero start, as it meets
them when it generates for 10 s. Every batch is a dict: `x` (B, T + 1, frame) raw audio
(inputs are frames 0..T-1, targets 1..T) and `first` (True when a new stream starts).

Batching (`rnn.batching`):
- `shifted` (seed 002, after Beckham): one random excerpt per stream; batch element i is the
  same excerpt shifted by i * max(1, frame // B) samples, so the model sees one passage at
  many frame alignments and learns to be equivariant to shifts;
- `random`: every element from its own random song and position.

Plans are drawn from numpy Generators seeded by (seed, epoch), so an epoch's batches are the
same on every run and after a resume.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from songcoder.audio.io import load_mono


class SongStore(Sequence):
    """Songs as read-only views of one memory-mapped float32 file; `store[i]` is song i."""

    def __init__(self, paths: Sequence[str], sample_rate: int, path: str | Path, workers: int = 2):
        self.path = Path(path)
        bounds = [0]
        with open(self.path, "wb") as fh, ThreadPoolExecutor(max(1, workers)) as pool:
            # libsndfile and scipy release the GIL; a window of `workers` songs in flight
            pending = [pool.submit(load_mono, p, sample_rate) for p in paths[:workers]]
            for k in range(len(paths)):
                song = pending.pop(0).result()
                if k + workers < len(paths):
                    pending.append(pool.submit(load_mono, paths[k + workers], sample_rate))
                fh.write(np.ascontiguousarray(song, np.float32).tobytes())
                bounds.append(bounds[-1] + len(song))
        self.bounds = np.array(bounds)
        self.audio = (np.memmap(self.path, np.float32, "r") if bounds[-1]
                      else np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        return self.audio[self.bounds[i]:self.bounds[i + 1]]

    def sample(self, n: int) -> Iterator[np.ndarray]:
        """Up to n songs spread evenly over the store, one writable copy at a time (data
        statistics need not read them all, nor hold them at once)."""
        for i in np.unique(np.linspace(0, len(self) - 1, min(n, len(self))).astype(int)):
            yield np.array(self[int(i)])


def shift_offsets(batch_size: int, frame: int) -> np.ndarray:
    return np.arange(batch_size) * max(1, frame // batch_size)


class StreamBatches(Dataset):
    """`n_streams` streams of `chunks` windows; item k is one (B, T + 1, frame) batch."""

    def __init__(self, songs: Sequence[np.ndarray], *, frame: int, tbptt: int, chunks: int,
                 batch_size: int, n_streams: int, batching: str, rng: np.random.Generator):
        self.songs, self.frame, self.tbptt = songs, frame, tbptt
        offsets = shift_offsets(batch_size, frame) if batching == "shifted" else np.zeros(batch_size, int)
        longest = max(len(s) for s in songs)
        # shorten streams rather than fail when songs are short (tests, odd corpora)
        fits = (longest - frame - offsets[-1]) // (tbptt * frame)
        if fits < 1:
            raise ValueError(f"songs too short: the longest has {longest} samples, one window "
                             f"needs {tbptt * frame + frame + offsets[-1]}")
        self.chunks = int(min(chunks, fits))
        need = self.chunks * tbptt * frame + frame + int(offsets[-1])
        usable = np.array([max(0, len(s) - need) for s in songs], float) + \
            np.array([len(s) >= need for s in songs], float)   # positions per song (0 = too short)
        p = usable / usable.sum()
        self.plan = []                                   # per stream: (song ids (B,), starts (B,))
        for _ in range(n_streams):
            if batching == "shifted":
                s = int(rng.choice(len(songs), p=p))
                start = int(rng.integers(0, len(songs[s]) - need + 1))
                ids, starts = np.full(batch_size, s), start + offsets
            else:
                ids = rng.choice(len(songs), size=batch_size, p=p)
                starts = np.array([rng.integers(0, len(songs[i]) - need + 1) for i in ids])
            self.plan.append((ids, starts))

    def __len__(self) -> int:
        return len(self.plan) * self.chunks

    def __getitem__(self, k: int) -> dict:
        stream, chunk = divmod(k, self.chunks)
        ids, starts = self.plan[stream]
        n = (self.tbptt + 1) * self.frame
        off = chunk * self.tbptt * self.frame
        x = np.stack([self.songs[i][s + off: s + off + n] for i, s in zip(ids, starts)])   # copies
        x = torch.from_numpy(x).view(len(ids), self.tbptt + 1, self.frame)  # (B, T + 1, frame)
        return {"x": x, "first": chunk == 0, "stream": stream}


class RnnDataModule(L.LightningDataModule):
    def __init__(self, train: Sequence[np.ndarray], val: Sequence[np.ndarray], *, frame: int, tbptt: int,
                 chunks: int, batch_size: int, steps_per_epoch: int, val_steps: int,
                 batching: str, seed: int):
        super().__init__()
        self.train_songs, self.val_songs = train, val
        self.kw = dict(frame=frame, tbptt=tbptt, chunks=chunks, batch_size=batch_size)
        self.steps, self.val_steps = steps_per_epoch, val_steps
        self.batching, self.seed = batching, seed

    def train_batches(self, epoch: int) -> StreamBatches:
        streams = max(1, -(-self.steps // self.kw["chunks"]))
        return StreamBatches(self.train_songs, n_streams=streams, batching=self.batching,
                             rng=np.random.default_rng([self.seed, epoch]), **self.kw)

    def val_batches(self) -> StreamBatches:
        # the same val batches every epoch, so val/loss curves compare like with like
        streams = max(1, -(-self.val_steps // self.kw["chunks"]))
        return StreamBatches(self.val_songs, n_streams=streams, batching="random",
                             rng=np.random.default_rng([self.seed, 1 << 30]), **self.kw)

    def train_dataloader(self) -> DataLoader:
        epoch = self.trainer.current_epoch if self.trainer is not None else 0
        return DataLoader(self.train_batches(epoch), batch_size=None, shuffle=False)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_batches(), batch_size=None, shuffle=False)
