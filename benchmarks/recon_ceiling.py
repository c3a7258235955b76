"""How far below PCA-21 can a non-linear decoder get on these features? (issue 12's 10 % bar)

    PYTHONPATH=src python benchmarks/recon_ceiling.py --data DATA_DIR [--name real]

DATA_DIR holds prepare's `features/` (a `make real` data folder). No training loop and no GPU:
PCA of the autoencoder's training rows (`train_excerpts.npy`, as `evaluate` fits it) gives each
row 21 scores; an RBF kernel ridge regression then predicts the next RESIDUAL components from
those 21 scores, i.e. the best any smooth non-linear decoder of a PCA-21 code can add. The grid
of (gamma, lambda) is chosen on the val songs' whole rows, so the figure is an optimistic
ceiling, not a model. PCA with more components says how wide a linear code would have to be to
reach the same error. Run bare (as `make bench` does) it says it is skipped.

Writes benchmarks/results/recon_ceiling.NAME.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from songcoder.atomic import save_json
from songcoder.evaluate.baselines import mean_predictor
from songcoder.evaluate.metrics import rel_error
from songcoder.pca import PCA

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CODE, RESIDUAL = 21, 200
GAMMAS = (0.001, 0.01, 0.03, 0.1, 0.3, 1.0)     # of the RBF kernel on z-scored PCA-21 scores
LAMBDAS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def rbf(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.exp(-gamma * np.maximum(d, 0.0))


def ceiling(x_train: np.ndarray, x_val: np.ndarray, mean: np.ndarray) -> dict:
    pca = PCA.fit(x_train, CODE + RESIDUAL)
    z_train, z_val = pca.encode(x_train).astype(np.float64), pca.encode(x_val).astype(np.float64)
    scale = z_train[:, :CODE].std(0)
    a, b = z_train[:, :CODE] / scale, z_val[:, :CODE] / scale
    out = {"rows_train": len(x_train), "songs_val": len(x_val),
           "pca": {k: round(rel_error(x_val, pca.truncated(k).reconstruct(x_val), mean), 4)
                   for k in (CODE, 25, 30, 40)}}
    grid = {}
    for g in GAMMAS:
        k_train, k_val = rbf(a, a, g), rbf(b, a, g)
        for lam in LAMBDAS:
            coef = np.linalg.solve(k_train + lam * np.eye(len(a)), z_train[:, CODE:])
            z_hat = np.concatenate([z_val[:, :CODE], k_val @ coef], 1)
            grid[f"gamma={g},lambda={lam}"] = round(rel_error(x_val, pca.decode(z_hat), mean), 4)
    best = min(grid, key=grid.get)
    out.update(kernel_ridge_best=grid[best], kernel_ridge_at=best,
               ratio_to_pca21=round(grid[best] / out["pca"][CODE], 3), grid=grid)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="a data folder with features/ (make real's)")
    ap.add_argument("--name", default="real")
    args = ap.parse_args()
    if not args.data:
        print("recon_ceiling: skipped (needs --data DIR with a real corpus's features/)")
        return
    f = Path(args.data) / "features"
    load = lambda name: np.load(f / f"{name}.npy").astype(np.float32)   # noqa: E731
    # the reference mean is evaluate's: the train songs' whole-song rows
    result = ceiling(load("train_excerpts"), load("val"), mean_predictor(load("train")))
    save_json(OUT / f"recon_ceiling.{args.name}.json", result)
    print(json.dumps({k: v for k, v in result.items() if k != "grid"}, indent=1))


if __name__ == "__main__":
    main()
