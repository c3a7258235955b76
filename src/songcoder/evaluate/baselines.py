"""The predictors an autoencoder must beat: the training mean, and PCA fitted on train."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PCA:
    mean: np.ndarray        # (D,)
    components: np.ndarray  # (K, D) orthonormal rows, by decreasing variance

    @classmethod
    def fit(cls, x_train: np.ndarray, k: int) -> "PCA":
        """SVD of the centred training matrix (float64); k is capped at min(N, D)."""
        x = np.asarray(x_train, dtype=np.float64)
        mean = x.mean(0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        return cls(mean=mean, components=vt[:k])

    def truncated(self, k: int) -> "PCA":
        return PCA(self.mean, self.components[:k])

    @property
    def k(self) -> int:
        return len(self.components)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - self.mean) @ self.components.T).astype(np.float32)

    def decode(self, z: np.ndarray) -> np.ndarray:
        return (np.asarray(z, np.float64) @ self.components + self.mean).astype(np.float32)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))


def mean_predictor(x_train: np.ndarray) -> np.ndarray:
    return np.asarray(x_train, np.float64).mean(0)
