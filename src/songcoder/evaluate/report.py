"""`evaluate_all`: every number of `metrics/evaluate.json` in one nested dict.

Keys (sizes come from the model, e.g. 352/84/21):
  rel_error.{finetuned_21, greedy_352, greedy_84, greedy_21, pca_352, pca_84, pca_21}
  rel_error_group.{finetuned_21, greedy_21, pca_21}.{rhythm_low, rhythm_mid, rhythm_high, loudness}
  masked.{finetuned_21, greedy_21, pca_21}        error on the zeroed test entries only
  rel_error_vs_pca.{finetuned_21, greedy_352, ...} rel_error over PCA's of the same size
  retrieval.{top1,mrr}_halves_{code, pca_21, raw, <peer>}  needs `halves`: each test song's
                                                  first and second half; a half's nearest other
                                                  half should be its partner (mrr: mean 1/rank)
  retrieval.halves_songs                          test songs in that comparison
  retrieval_interval.{code, pca_21, raw, <peer>}.{lo, hi}   95 % interval of each top-1 by
                                                  resampling test songs (evaluate.bootstrap times)
  retrieval_interval.code_minus_<rep>.{lo, hi, above}  the paired difference in top-1, and the
                                                  share of resamples where the code is higher
  retrieval.p_at_10_{code, pca_21, raw}           first label (same style); others add the label
                                                  name: p_at_10_pattern_code ...
  retrieval_val.p_at_10_...                       the same on the validation split (needs `x_val`
                                                  and `val_labels`): choose settings on these
  retrieval_val.{top1,mrr}_halves_{code, pca_21, raw}, retrieval_val.halves_songs
                                                  same-song halves of the validation songs (needs
                                                  `val_halves`; no peer): the registry's champion
                                                  is the best code here (tracking.register_encoder)
  collapse.{finetuned_21, greedy_21}.{collapsed, rel_error, code_std}; collapsed (the fine-tuned net)
  beats_pca: finetuned_21 < pca_21 on test
  code_units.{regularizer, rho_hat, near_zero, prefix_k...}  the code's units (evaluate/codes.py)
"code" is the fine-tuned network's code; every error is on the test split, relative to
predicting the training mean. Every distance is Euclidean on z-scored vectors, each
representation with its training rows' statistics (raw: prepare's normalisation, or `raw_stats`
when prepare left the rows at raw scales; code and PCA: the train split's codes; a peer: the
rows given with it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from songcoder.config import EvaluateConfig
from songcoder.evaluate.baselines import mean_predictor
from songcoder.pca import PCA
from songcoder.evaluate.codes import code_units
from songcoder.evaluate.collapse import collapse_check
from songcoder.evaluate.metrics import (FEATURE_GROUPS, group_rel_errors, masked_rel_error,
                                        masking, rel_error)
from songcoder.evaluate.retrieval import (halves_hits, mrr_halves, precision_at_k,
                                         song_bootstrap, top1_halves, zscorer)
from songcoder.features.norm import normalise
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.serving import encode, reconstruct


def evaluate_all(cfg: EvaluateConfig, x_train: np.ndarray, x_test: np.ndarray, *,
                 finetuned: DeepAutoencoder, greedy: DeepAutoencoder | None = None,
                 halves: tuple[np.ndarray, np.ndarray] | None = None,
                 val_halves: tuple[np.ndarray, np.ndarray] | None = None,
                 labels: dict[str, np.ndarray] | None = None,
                 x_val: np.ndarray | None = None, val_labels: dict[str, np.ndarray] | None = None,
                 peers: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
                 raw_stats: tuple[np.ndarray, np.ndarray] | None = None,
                 pca: PCA | None = None,
                 groups: dict[str, slice] = FEATURE_GROUPS) -> dict[str, Any]:
    """`peers`: other representations of the same test halves, name -> (first, second, rows
    whose mean and std z-score them), e.g. a librosa baseline computed from the audio.
    `raw_stats`: (mean, std) that z-score the rows for the raw retrieval baseline when prepare
    did not (`prepare.normalise: false`); None: the rows are z-scored already.
    `pca`: the PCA to compare with, at least as wide as the widest layer (the stage fits it on
    the autoencoder's training rows, and its pictures use it too); fitted on x_train otherwise."""
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    mean = mean_predictor(x_train)
    sizes = finetuned.sizes[1:]
    code = sizes[-1]
    ft, gr, pc = f"finetuned_{code}", f"greedy_{code}", f"pca_{code}"

    pca_full = pca if pca is not None else PCA.fit(x_train, max(sizes))
    if pca_full.k < min(max(sizes), *x_train.shape):
        raise ValueError(f"the PCA given has {pca_full.k} components, the layers need {max(sizes)}")
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
    out["rel_error_vs_pca"] = {name: v / out["rel_error"][f"pca_{name.split('_')[1]}"]
                               for name, v in out["rel_error"].items()
                               if not name.startswith("pca_")}
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
    out["code_units"] = code_units(finetuned, x_train, x_test, mean, pca_full)

    z_code = zscorer(encode(finetuned, x_train))
    z_pca = zscorer(pcas[code].encode(x_train))
    reps = {"code": lambda x: z_code(encode(finetuned, x)),
            pc: lambda x: z_pca(pcas[code].encode(x)),
            "raw": (lambda x: x) if raw_stats is None else (lambda x: normalise(x, *raw_stats))}
    retrieval: dict[str, float] = {}
    if halves is not None:
        pairs = _halves_pairs(reps, halves)
        for name, (pa, pb, rows) in (peers or {}).items():
            z = zscorer(rows)
            pairs[name] = (z(pa), z(pb))
        retrieval.update(_halves_scores(pairs))
        if cfg.bootstrap:
            out["retrieval_interval"] = song_bootstrap(
                {name: halves_hits(pa, pb) for name, (pa, pb) in pairs.items()},
                cfg.bootstrap, cfg.seed)
    retrieval.update(_precisions(reps, x_test, labels, cfg.k))
    out["retrieval"] = retrieval
    val: dict[str, float] = {}
    if val_halves is not None:
        val.update(_halves_scores(_halves_pairs(reps, val_halves)))
    if x_val is not None and val_labels:
        val.update(_precisions(reps, np.asarray(x_val, np.float32), val_labels, cfg.k))
    if val:
        out["retrieval_val"] = val
    return out


def _halves_pairs(reps: dict, halves: tuple[np.ndarray, np.ndarray]) -> dict:
    a, b = (np.asarray(h, np.float32) for h in halves)
    return {name: (f(a), f(b)) for name, f in reps.items()}


def _halves_scores(pairs: dict) -> dict[str, float]:
    """top1_halves_{rep}, mrr_halves_{rep} and halves_songs of {rep: (first, second)}."""
    out: dict[str, float] = {}
    for name, (pa, pb) in pairs.items():
        out[f"top1_halves_{name}"] = top1_halves(pa, pb)
        out[f"mrr_halves_{name}"] = mrr_halves(pa, pb)
    out["halves_songs"] = len(next(iter(pairs.values()))[0])   # every rep holds the same songs
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
