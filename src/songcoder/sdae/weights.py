"""Per-feature weights of the reconstruction loss, from the song vector's layout.

Plain MSE weighs every dimension alike, so the 1152 rhythm dimensions outvote the 330 loudness
ones, where same-style retrieval lives (sdae/README.md), and outvote even more the 90 timbre,
contrast and chroma dimensions of the extended layout, where what makes a recording itself
lives. `feature_weights` up-weights those groups and rescales to mean 1, so the loss stays a
weighted mean on the same scale.
"""

from __future__ import annotations

import torch

from songcoder.features import layout


def feature_weights(n_in: int, loudness_weight: float,
                    timbre_weight: float = 1.0) -> torch.Tensor | None:
    """(n_in,) float32 weights, mean 1: the loudness dims `loudness_weight` times the rhythm
    dims and, in the extended layout, the timbre/contrast/chroma dims `timbre_weight` times.

    None where every weight that applies is 1 (the plain loss). Any other weight needs a song
    vector as input; `timbre_weight` applies to the extended layout only (the seed's 1482 dims
    and other inputs have no such group)."""
    for name, w in (("loudness_weight", loudness_weight), ("timbre_weight", timbre_weight)):
        if w <= 0:
            raise ValueError(f"{name}: expected > 0, got {w}")
    if loudness_weight == 1.0 and (timbre_weight == 1.0 or n_in != layout.EXTENDED_DIM):
        return None
    if n_in not in (layout.DIM, layout.EXTENDED_DIM):
        raise ValueError(f"loudness_weight {loudness_weight} needs a song vector as input "
                         f"({layout.DIM} or {layout.EXTENDED_DIM} dims), got {n_in} features")
    w = torch.ones(n_in)
    w[layout.LOUDNESS] = float(loudness_weight)
    w[layout.DIM:] = float(timbre_weight)
    return w / w.mean()
