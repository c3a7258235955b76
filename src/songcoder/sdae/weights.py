"""Per-feature weights of the reconstruction loss, from the song vector's layout.

Plain MSE weighs every dimension alike, so the 1152 rhythm dimensions outvote the 330 loudness
ones, where same-style retrieval lives (sdae/README.md). `feature_weights` up-weights the
loudness group (and, separately, the extended layout's timbre/contrast/chroma/tempogram groups)
and rescales to mean 1, so the loss stays a weighted mean on the same scale.
"""

from __future__ import annotations

import torch

from songcoder.features import layout


def feature_weights(n_in: int, loudness_weight: float,
                    extended_weight: float) -> torch.Tensor | None:
    """(n_in,) float32 weights, mean 1: the loudness dims `loudness_weight` times the rhythm
    dims, and the extended layout's groups after them `extended_weight` times (the seed layout
    has none, so there it changes nothing).

    None where every weight is 1 (the plain loss). Any other weight needs a song vector as input.
    """
    for key, w in (("loudness_weight", loudness_weight), ("extended_weight", extended_weight)):
        if w <= 0:
            raise ValueError(f"{key}: expected > 0, got {w}")
    if loudness_weight == 1.0 and (n_in != layout.EXTENDED_DIM or extended_weight == 1.0):
        return None
    if n_in not in (layout.DIM, layout.EXTENDED_DIM):
        raise ValueError(f"loudness_weight {loudness_weight} needs a song vector as input "
                         f"({layout.DIM} or {layout.EXTENDED_DIM} dims), got {n_in} features")
    w = torch.full((n_in,), float(loudness_weight))
    w[layout.RHYTHM] = 1.0
    w[layout.DIM:] = float(extended_weight)
    return w / w.mean()
