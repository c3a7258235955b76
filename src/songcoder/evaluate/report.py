"""`evaluate_all`: every number of `metrics/evaluate.json` in one nested dict.

Keys (sizes come from the model, e.g. 352/84/21):
  rel_error.{finetuned_21, greedy_352, greedy_84, greedy_21, pca_352, pca_84, pca_21}
  rel_error_group.{finetuned_21, greedy_21, pca_21}.{rhythm_low, rhythm_mid, rhythm_high, loudness}
  masked.{finetuned_21, greedy_21, pca_21}        error on the zeroed test entries only
  retrieval.top1_halves_{code, pca_21, raw}       needs `halves`
  retrieval.p_at_10_{code, pca_21, raw}           first label (same style); others add the label
                                                  name: p_at_10_pattern_code ...
  retrieval_val.p_at_10_...                       the same on the validation split (needs `x_val`
                                                  and `val_labels`): choose settings on these
  collapse.{finetuned_21, greedy_21}.{collapsed, rel_error, code_std}; collapsed (the fine-tuned net)
  beats_pca: finetuned_21 < pca_21 on test
"code" is the fine-tuned network's code; every error is on the test split, relative to
predicting the training mean. Every distance is Euclidean (raw: the z-scored features).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from songcoder.config import EvaluateConfig
from songcoder.evaluate.baselines import PCA, mean_predictor
from songcoder.evaluate.collapse import collapse_check
from songcoder.evaluate.metrics import (FEATURE_GROUPS, group_rel_errors, masked_rel_error,
                                        masking, rel_error)
from songcoder.evaluate.retrieval import precision_at_k, top1_halves
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.train import encode, reconstruct


def evaluate_all(cfg: EvaluateConfig, x_train: np.ndarray, x_test: np.ndarray, *,
                 finetuned: DeepAutoencoder, greedy: DeepAutoencoder | None = None,
                 halves: tuple[np.ndarray, np.ndarray] | None = None,
                 labels: dict[str, np.ndarray] | None = None,
                 x_val: np.ndarray | None = None, val_labels: dict[str, np.ndarray] | None = None,
                 groups: dict[str, slice] = FEATURE_GROUPS) -> dict[str, Any]:
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    mean = mean_predictor(x_train)
    sizes = finetuned.sizes[1:]
    code = sizes[-1]
    ft, gr, pc = f"finetuned_{code}", f"greedy_{code}", f"pca_{code}"

    pca_full = PCA.fit(x_train, max(sizes))
    pcas = {k: pca_full.truncated(k) for k in sizes}
    recon: dict[str, Any] = {ft: lambda x: reconstruct(finetuned, x)}
    if greedy is not None:
        for depth, k in enumerate(sizes, start=1):
            stack = greedy.truncated(depth)
            recon[f"greedy_{k}"] = lambda x, s=stack: reconstruct(s, x)
    for k, p in pcas.items():
        recon[f"pca_{k}"] = p.reconstruct

    out: dict[str, Any] = {"n": {"train": len(x_train), "test": len(x_test)}}
    out["rel_error"] = {name: rel_error(x_test, f(x_test), mean) for name, f in recon.items()}
    compared = [n for n in (ft, gr, pc) if n in recon]
    out["rel_error_group"] = {n: group_rel_errors(x_test, recon[n](x_test), mean, groups)
                              for n in compared}
    zeroed = masking(x_test.shape, cfg.mask_fraction, cfg.seed)
    out["masked"] = {n: masked_rel_error(x_test, recon[n], mean, zeroed) for n in compared}

    out["collapse"] = {ft: collapse_check(out["rel_error"][ft], encode(finetuned, x_test), cfg)}
    if greedy is not None:
        out["collapse"][gr] = collapse_check(out["rel_error"][gr], encode(greedy, x_test), cfg)
    out["collapsed"] = out["collapse"][ft]["collapsed"]
    out["beats_pca"] = bool(out["rel_error"][ft] < out["rel_error"][pc])

    reps = {"code": lambda x: encode(finetuned, x), pc: pcas[code].encode, "raw": lambda x: x}
    retrieval: dict[str, float] = {}
    if halves is not None:
        a, b = (np.asarray(h, np.float32) for h in halves)
        for name, f in reps.items():
            retrieval[f"top1_halves_{name}"] = top1_halves(f(a), f(b))
    retrieval.update(_precisions(reps, x_test, labels, cfg.k))
    out["retrieval"] = retrieval
    if x_val is not None and val_labels:
        out["retrieval_val"] = _precisions(reps, np.asarray(x_val, np.float32), val_labels, cfg.k)
    return out


def _precisions(reps: dict, x: np.ndarray, labels: dict[str, np.ndarray] | None,
                k: int) -> dict[str, float]:
    """p_at_{k}_{rep} for the first label, p_at_{k}_{label}_{rep} for the others."""
    out = {}
    for i, (label, y) in enumerate((labels or {}).items()):
        for name, f in reps.items():
            out[f"p_at_{k}_{name}" if i == 0 else f"p_at_{k}_{label}_{name}"] = \
                precision_at_k(f(x), y, k)
    return out
