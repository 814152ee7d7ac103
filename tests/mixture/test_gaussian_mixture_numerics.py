"""GaussianMixture numerics: tied covariances from k-means far from the
origin, the scale of sample_weight, covariances_ with max_iter=0 and
precisions_init."""
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SKGaussianMixture

from lvmfast import GaussianMixture
from two_class_data import COVARIANCE_TYPES, two_blobs


# ---------------------------------------------------------------------------
# Tied covariances from k-means far from the origin


def test_tied_kmeans_init_far_from_the_origin_matches_sklearn():
    X, _ = two_blobs(n=400)
    offset = 1e8
    ours = GaussianMixture(2, covariance_type="tied", random_state=5).fit(X + offset)
    theirs = SKGaussianMixture(2, covariance_type="tied", random_state=5).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.means_ - offset, theirs.means_, rtol=1e-6, atol=1e-6)
    for name in ("weights_", "covariances_", "precisions_"):
        a, b = getattr(ours, name), getattr(theirs, name)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("n_samples", [8, 20, 60])
def test_tied_kmeans_init_far_from_the_origin_small_data(n_samples):
    rng = np.random.default_rng(3)
    X = rng.random((n_samples, 3))
    weights = rng.random(n_samples) + 0.5
    for sample_weight in (None, weights):
        far = GaussianMixture(2, covariance_type="tied", random_state=0).fit(X + 1e8, sample_weight=sample_weight)
        near = GaussianMixture(2, covariance_type="tied", random_state=0).fit(X, sample_weight=sample_weight)
        np.testing.assert_allclose(far.covariances_, near.covariances_, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# GaussianMixture sample_weight scale


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("scale", [1e-15, 1e-310, 1e15, 1e300])
def test_gaussian_mixture_weight_scale_changes_nothing(covariance_type, scale):
    X, _ = two_blobs()
    weights = np.random.default_rng(2).random(X.shape[0]) + 0.5
    ref = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X, sample_weight=weights)
    scaled = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X, sample_weight=weights * scale)
    assert scaled.n_iter_ == ref.n_iter_
    assert scaled.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10, abs=1e-12)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(scaled, name), getattr(ref, name), rtol=1e-9, atol=1e-12, err_msg=name)


def test_unit_weights_are_kept_exactly():
    X, _ = two_blobs()
    plain = GaussianMixture(2, random_state=0).fit(X)
    weighted = GaussianMixture(2, random_state=0).fit(X, sample_weight=np.ones(X.shape[0]))
    np.testing.assert_array_equal(plain.means_, weighted.means_)
    np.testing.assert_array_equal(plain.covariances_, weighted.covariances_)


# ---------------------------------------------------------------------------
# covariances_ with max_iter=0 and precisions_init


def _precisions_init(covariance_type, d=3, k=2):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(k, d, d))
    full = np.einsum("kij,klj->kil", a, a) + 2 * np.eye(d)
    return {"full": full, "tied": full[0], "diag": rng.random((k, d)) + 0.5, "spherical": rng.random(k) + 0.5}[covariance_type]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_iter_0_covariances_are_the_inverse_precisions(covariance_type, dtype):
    X, _ = two_blobs()
    X = X.astype(dtype)
    precisions = _precisions_init(covariance_type)
    if covariance_type in ("full", "tied"):
        expected = np.linalg.inv(precisions)
    else:
        expected = 1 / precisions
    fresh = GaussianMixture(2, covariance_type=covariance_type, max_iter=0, precisions_init=precisions, random_state=0)
    fresh.fit(X)
    refit = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    refit.set_params(max_iter=0, precisions_init=precisions).fit(X)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for gm in (fresh, refit):
        assert gm.covariances_.dtype == dtype
        np.testing.assert_allclose(gm.covariances_, expected, rtol=rtol)
        np.testing.assert_allclose(gm.precisions_, precisions, rtol=rtol * 10)
