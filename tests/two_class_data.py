"""Small data shared by test modules in several folders (importable because
pytest puts tests/, the folder of the root conftest.py, on sys.path)."""
import numpy as np

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def two_blobs(n=300, d=3, seed=0, offset=4.0):
    """Two unit-variance Gaussian blobs `offset` apart in every feature, with
    string labels "a" and "b"."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n // 2, d)), rng.normal(offset, 1, (n - n // 2, d))])
    y = np.repeat(["a", "b"], [n // 2, n - n // 2])
    return X, y
