"""The same-song objective of fine-tuning (issue 12): codes that know a song by another part of it.

Two pieces: `song_groups`, an epoch order in which the excerpt rows of each song come in groups
of at least two (so a batch holds rows that share a song), and `same_song_nce`, supervised
InfoNCE (Khosla et al. 2020) on the batch's codes: each row's code must be nearer to the codes
of its own song's other excerpts than to every other song's. Reconstruction keeps the code a
description of the row; this term makes what is stable across a song the part it keeps.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def song_groups(spans: tuple[torch.Tensor, torch.Tensor], per_song: int,
                generator: torch.Generator) -> torch.Tensor:
    """A permutation of the rows (N,) in which each song's rows come in runs of `per_song` (a
    song's odd last row joins its previous run, so no run of a song with 2+ rows is a single
    row), the runs in random order. `spans`: `data.song_spans` of the rows (contiguous songs).
    Batches cut from it split at most one run each."""
    start, size = spans
    n = len(start)
    dev = generator.device
    start, size = start.to(dev), size.to(dev)
    # shuffle inside each song: sort by (song, random); songs stay contiguous in their order
    order = torch.argsort(start.double() + torch.rand(n, generator=generator, device=dev))
    pos = torch.arange(n, device=dev) - start[order]                      # place within its song
    last = ((size[order] - 2) // per_song).clamp_min(0)                    # the merged last run
    run = torch.minimum(pos // per_song, last)
    _, which = torch.unique(start[order] * n + run, return_inverse=True)   # run number per row
    key = torch.rand(int(which.max()) + 1 if n else 0, generator=generator, device=dev)[which]
    return order[torch.argsort(key, stable=True)]


def same_song_nce(z: torch.Tensor, song: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised InfoNCE over a batch of codes z (B, H) with song labels (B,): for each row with
    another row of its song in the batch, minus the mean over those positives of the log-softmax
    of cosine similarity / temperature against all other rows. 0 when no row has a positive."""
    u = F.normalize(z, dim=-1)
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = (u @ u.t() / temperature).masked_fill(eye, float("-inf"))
    pos = (song[:, None] == song[None, :]) & ~eye
    has = pos.any(1)
    if not bool(has.any()):
        return z.sum() * 0.0                                               # keeps the graph
    logp = logits.log_softmax(1).masked_fill(~pos, 0.0)
    return -(logp.sum(1)[has] / pos.sum(1)[has]).mean()
