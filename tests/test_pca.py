"""PCA: the Gram path (fewer rows than dimensions) and the covariance path find the same
directions, orthonormal, with the same signs."""

import numpy as np

from songcoder.pca import PCA


def test_fewer_rows_than_dimensions_gives_the_covariance_paths_directions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 40)) @ np.diag(np.linspace(3, 0.1, 40))
    wide = PCA.fit(x, 12)                                  # 30 rows < 40 dims: Gram path
    tall = PCA.fit(np.vstack([x, x]), 12)                  # same rows twice: covariance path
    np.testing.assert_allclose(wide.mean, tall.mean)
    np.testing.assert_allclose(wide.components, tall.components, atol=1e-9)
    np.testing.assert_allclose(wide.components @ wide.components.T, np.eye(12), atol=1e-12)


def test_directions_past_the_rank_are_orthonormal_and_reconstruction_is_exact():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 20))                       # centred rows span 4 dimensions
    pca = PCA.fit(x, 8)
    assert pca.k == 5
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(pca.reconstruct(x), x, atol=1e-5)
