"""The plainest predictor an autoencoder must beat: the training mean (PCA, the stronger one,
is songcoder.pca, shared with the autoencoder's linear path)."""

from __future__ import annotations

import numpy as np


def mean_predictor(x_train: np.ndarray) -> np.ndarray:
    return np.asarray(x_train, np.float64).mean(0)
