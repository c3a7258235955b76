"""A model that decodes every input to (about) the mean, or whose codes do not vary, is `collapsed`."""

from __future__ import annotations

import numpy as np

from songcoder.config import EvaluateConfig


def code_std(codes: np.ndarray) -> float:
    """Mean over code units of the unit's standard deviation across songs."""
    return float(np.asarray(codes, np.float64).std(0).mean()) if len(codes) > 1 else 0.0


def collapse_check(rel_error: float, codes: np.ndarray, cfg: EvaluateConfig) -> dict[str, object]:
    std = code_std(codes)
    collapsed = (not np.isfinite(rel_error)) or rel_error >= cfg.collapse_rel_error \
        or std < cfg.collapse_code_std
    return {"collapsed": bool(collapsed), "rel_error": float(rel_error), "code_std": std}
