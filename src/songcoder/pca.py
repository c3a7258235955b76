"""Principal component analysis, fitted once and used twice: as the baseline an autoencoder
must beat (evaluate) and as the starting point of the autoencoder's linear path (sdae).

The fit sums a float64 covariance over row chunks, so memory is O(D^2) whatever the number of
rows (a memory-mapped feature matrix is never read whole), and its eigenvectors are the
principal directions. For the 1482-d song vectors the D x D eigenproblem is also cheaper
than an SVD of the N x D matrix once N passes a few thousand rows. With fewer rows than
dimensions (a small collection, a test config) the N x N Gram matrix has the same non-zero
eigenvalues and is far cheaper to decompose (832 rows: ~0.3 s instead of ~2 s for D = 1482);
the N x D centred rows it needs are then smaller than the D x D covariance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

CHUNK = 8192   # rows per covariance update


@dataclass
class PCA:
    mean: np.ndarray        # (D,) float64
    components: np.ndarray  # (K, D) orthonormal rows, by decreasing variance

    @classmethod
    def fit(cls, x_train: np.ndarray, k: int) -> "PCA":
        """The top k principal directions of `x_train` (N, D); k is capped at min(N, D)."""
        n, d = x_train.shape
        k = min(k, n, d)
        mean = sum(c.sum(0) for c in _chunks(x_train)) / n
        if n < d:
            components = _gram_components(np.asarray(x_train, np.float64) - mean, k)
        else:
            cov = sum((c - mean).T @ (c - mean) for c in _chunks(x_train))
            _, vecs = np.linalg.eigh(cov)                     # ascending eigenvalues
            components = np.ascontiguousarray(vecs[:, ::-1][:, :k].T)
        # an eigenvector's sign is arbitrary: fix it (largest entry positive) so that codes
        # and pictures do not flip between two fits of the same data
        flip = np.sign(components[np.arange(k), np.abs(components).argmax(1)])
        return cls(mean=mean, components=components * flip[:, None])

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


def _gram_components(xc: np.ndarray, k: int) -> np.ndarray:
    """Top k principal directions of centred rows xc (N < D) from the N x N Gram matrix: its
    eigenvector u gives the direction xc.T u. QR makes them orthonormal, which also completes
    the directions of zero variance (centred rows span at most N - 1) with orthonormal ones."""
    _, u = np.linalg.eigh(xc @ xc.T)                          # ascending eigenvalues
    q, _ = np.linalg.qr(xc.T @ u[:, ::-1][:, :k])
    return np.ascontiguousarray(q.T)


def _chunks(x: np.ndarray) -> Iterator[np.ndarray]:
    for i in range(0, len(x), CHUNK):
        yield np.asarray(x[i:i + CHUNK], dtype=np.float64)
