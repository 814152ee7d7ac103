"""The Dask mixtures on X with missing entries: the in-memory fit's
iterations, block by block."""
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from lvmfast.dask import BayesianGaussianMixture as DaskBayesianGaussianMixture  # noqa: E402
from lvmfast.dask import GaussianMixture as DaskGaussianMixture  # noqa: E402
from lvmfast.mixture import GaussianMixture  # noqa: E402


def missing_data(n=1200, d=4):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    X[: n // 2] += 3
    mask = rng.random(X.shape) < 0.2
    mask[mask.all(axis=1), 0] = False
    X[mask] = np.nan
    return X


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_dask_matches_in_memory_from_the_same_start(covariance_type):
    X = missing_data()
    d = X.shape[1]
    precisions = {"full": np.array([np.eye(d)] * 2), "tied": np.eye(d), "diag": np.ones((2, d)),
                  "spherical": np.ones(2)}[covariance_type]
    params = dict(covariance_type=covariance_type, allow_missing=True, means_init=[[0.0] * d, [3.0] * d],
                  weights_init=[0.5, 0.5], precisions_init=precisions, max_iter=5, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = GaussianMixture(2, **params).fit(X)
        distributed = DaskGaussianMixture(2, **params).fit(da.from_array(X, chunks=250))
    np.testing.assert_allclose(distributed.means_, local.means_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(distributed.covariances_, local.covariances_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(distributed.lower_bounds_, local.lower_bounds_, rtol=1e-12)
    scores = distributed.score_samples(da.from_array(X, chunks=250)).compute()
    np.testing.assert_allclose(scores, local.score_samples(X), rtol=1e-12)


def test_dask_default_init_and_errors():
    X = missing_data()
    dask_X = da.from_array(X, chunks=250)
    model = DaskGaussianMixture(2, allow_missing=True, random_state=0).fit(dask_X)
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.means_[order], [[0.0] * 4, [3.0] * 4], atol=0.15)
    assert DaskBayesianGaussianMixture(n_components=2, allow_missing=True, random_state=0).fit(dask_X).converged_
    with pytest.raises(ValueError, match="NaN"):
        DaskGaussianMixture(2).fit(dask_X)
    bad = np.nan_to_num(X, nan=0.0)
    bad[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"feature\(s\) with every entry missing"):
        DaskGaussianMixture(2, allow_missing=True).fit(da.from_array(bad, chunks=250))
    bad = X.copy()
    bad[300] = np.nan
    with pytest.raises(ValueError, match="every feature missing"):
        DaskGaussianMixture(2, allow_missing=True).fit(da.from_array(bad, chunks=250))
