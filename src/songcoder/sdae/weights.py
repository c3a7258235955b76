"""Per-feature weights of the reconstruction loss, from the song vector's layout.

Plain MSE weighs every dimension alike, so the 1152 rhythm dimensions outvote the 330 loudness
ones, where same-style retrieval lives (sdae/README.md). `feature_weights` up-weights the
loudness group and rescales to mean 1, so the loss stays a weighted mean on the same scale.
"""

from __future__ import annotations

import torch

from songcoder.features import layout


def feature_weights(n_in: int, loudness_weight: float) -> torch.Tensor | None:
    """(n_in,) float32 weights, mean 1, loudness dims `loudness_weight` times the rest.

    None for weight 1 (the plain loss). Any other weight needs the 1482-d song vector.
    """
    if loudness_weight <= 0:
        raise ValueError(f"loudness_weight: expected > 0, got {loudness_weight}")
    if loudness_weight == 1.0:
        return None
    if n_in != layout.DIM:
        raise ValueError(f"loudness_weight {loudness_weight} needs the {layout.DIM}-d song "
                         f"vector as input, got {n_in} features")
    w = torch.ones(n_in)
    w[layout.GROUPS["loudness"]] = loudness_weight
    return w / w.mean()
