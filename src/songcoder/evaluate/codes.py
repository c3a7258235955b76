"""How the code's units share the work: prefix-k curves (seed 003) and average activations (seed 004).

`code_units` gives metrics/evaluate.json's `code_units` block, for the fine-tuned net's code:
  regularizer                     the code layer's (read from the model checkpoint)
  rho_hat                         mean activation of each unit on the test songs (seed 004's rho-hat)
  rho_hat_mean, near_zero         their mean; the share of test activations with |h| < NEAR_ZERO
  prefix_k.{rank_ordered, best_units, pca, best_units_order}   only for a rank_ordered code:
                                  test relative error for k = 1..H of
    rank_ordered  each song's k most active units, the rest 0 ("off": an unranked unit adds
                  h_j * w_j = 0 to the decoder's input, so 0 is what the rank-ordered cost trains
                  as off; prefix H is the full reconstruction);
    best_units    the same k units for every song, chosen greedily (forward selection on at most
                  SELECT_ROWS train rows: at each k the unit that lowers their error most), the
                  rest 0 as in the prefix, so the two differ only in per-song vs fixed choice;
                  `best_units_order` lists them. (`best_units` takes any fill: a plain code's
                  decoder never learned 0 as off, and its train mean code may suit it better;
                  benchmarks/regularizers.py reports both);
    pca           PCA's first k components (the best linear k-d code).
"Near zero" is measured on |h| for every activation: 0 is the value that adds nothing to the
decoder's input (sigmoid/trelu: off; tanh: the middle of its range).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from songcoder.pca import PCA
from songcoder.evaluate.metrics import rel_error
from songcoder.figures import DIGITS
from songcoder.sdae.regularizers import keep_top
from songcoder.sdae.serving import encode
from songcoder.sdae.stack import DeepAutoencoder

NEAR_ZERO = 0.05      # |h| below this counts as a near-zero activation (1/20 of sigmoid's range)
SELECT_ROWS = 256     # train rows the greedy unit choice is scored on (cost: H^2/2 decodes of them)


@torch.no_grad()
def decode(model: DeepAutoencoder, codes: np.ndarray) -> np.ndarray:
    model.eval()
    return model.decode(torch.as_tensor(codes, dtype=torch.float32)).numpy()


def prefix_curve(model: DeepAutoencoder, x: np.ndarray, mean: np.ndarray) -> list[float]:
    """Relative error of x from each row's k most active code units, k = 1..H."""
    h = torch.as_tensor(encode(model, x))
    return [rel_error(x, decode(model, keep_top(h, k).numpy()), mean)
            for k in range(1, h.shape[1] + 1)]


def best_units(model: DeepAutoencoder, x_select: np.ndarray, x: np.ndarray, mean: np.ndarray,
               fill: np.ndarray) -> tuple[list[float], list[int]]:
    """Greedy forward selection of a fixed unit set, chosen on x_select, scored on x, k = 1..H.

    Units outside the set hold `fill` (H,); returns (error on x per k, units in chosen order)."""
    h_sel, h = encode(model, x_select), encode(model, x)
    chosen: list[int] = []
    curve = []
    for _ in range(h.shape[1]):
        def err(units: list[int], rows: np.ndarray, x_rows: np.ndarray) -> float:
            codes = np.broadcast_to(fill, rows.shape).copy()
            codes[:, units] = rows[:, units]
            return rel_error(x_rows, decode(model, codes), mean)
        rest = [j for j in range(h.shape[1]) if j not in chosen]
        chosen.append(min(rest, key=lambda j: err(chosen + [j], h_sel, x_select)))
        curve.append(err(chosen, h, x))
    return curve, chosen


def pca_curve(pca: PCA, x: np.ndarray, mean: np.ndarray, n: int) -> list[float]:
    """Relative error of PCA's first k components, k = 1..n (n at most pca.k)."""
    return [rel_error(x, pca.truncated(k).reconstruct(x), mean) for k in range(1, n + 1)]


def _rounded(values) -> list[float]:
    """Lists as the metrics file keeps floats (figures.results rounds only mapping values)."""
    return [float(f"{float(v):.{DIGITS}g}") for v in values]


def activation_stats(h: np.ndarray) -> dict[str, Any]:
    """rho_hat per unit (mean activation), their mean, and the share of |h| < NEAR_ZERO."""
    rho = np.asarray(h, np.float64).mean(0)
    return {"rho_hat": _rounded(rho), "rho_hat_mean": float(rho.mean()),
            "near_zero": float((np.abs(h) < NEAR_ZERO).mean()), "near_zero_threshold": NEAR_ZERO}


def code_units(model: DeepAutoencoder, x_train: np.ndarray, x_test: np.ndarray,
               mean: np.ndarray, pca: PCA) -> dict[str, Any]:
    """The `code_units` block (module docstring); `pca` fitted on x_train with >= H components."""
    regularizer = model.layers[-1].regularizer
    out: dict[str, Any] = {"regularizer": regularizer, **activation_stats(encode(model, x_test))}
    if regularizer == "rank_ordered":
        select = x_train[np.linspace(0, len(x_train) - 1, min(SELECT_ROWS, len(x_train))).astype(int)]
        best, order = best_units(model, select, x_test, mean, np.zeros(model.sizes[-1], np.float32))
        out["prefix_k"] = {"rank_ordered": _rounded(prefix_curve(model, x_test, mean)),
                           "best_units": _rounded(best),
                           "pca": _rounded(pca_curve(pca, x_test, mean, model.sizes[-1])),
                           "best_units_order": order}
    return out
