"""MiniBatchKMeans with sample weights whose sum overflows their dtype.

Batches are drawn with probability proportional to the weights: only their
ratios matter. Normalized in float32 (scikit-learn's way), float32 weights
whose sum passes 3.4e38 made the sampling distribution NaN, and the batches
silently ignored the weights; weights whose sum passes the float64 maximum
broke the draws of every init.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from lvmfast import KMeans, MiniBatchKMeans, kmeans_plusplus


def _blobs():
    """Two blobs with powers-of-two weights (scaling them by 2^k is exact)."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(3000, 4)), rng.normal(size=(300, 4)) + 6])
    w = np.ones(len(X))
    w[:1000], w[1000:1500], w[3000:] = 2.0, 4.0, 8.0
    return X, w


def _fit(X, w, **params):
    params = {"n_clusters": 5, "random_state": 0, "batch_size": 256, "max_iter": 5, **params}
    return MiniBatchKMeans(**params).fit(X, sample_weight=w)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_float32_weights_whose_sum_overflows_float32_keep_their_ratios(init, sparse):
    X, w = _blobs()
    X, w = X.astype(np.float32), w.astype(np.float32)
    X = sp.csr_matrix(X) if sparse else X
    big = w * np.float32(1e36)
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(big)) and big.dtype == np.float32  # the float32 sum overflows
    expected = _fit(X, w, init=init)
    for compute_labels in (True, False):
        fitted = _fit(X, big, init=init, compute_labels=compute_labels)
        np.testing.assert_allclose(fitted.cluster_centers_, expected.cluster_centers_, rtol=1e-5, atol=1e-5)
        assert fitted.n_steps_ == expected.n_steps_
        assert np.isfinite(fitted.inertia_)
        if compute_labels:
            np.testing.assert_array_equal(fitted.labels_, expected.labels_)
            np.testing.assert_allclose(fitted.inertia_, expected.inertia_ * 1e36, rtol=1e-5)


def test_weights_follow_the_batches_when_their_float32_sum_overflows():
    """The weights must steer the batches: weighting one blob by 1e37 pulls
    every center into it."""
    X, _ = _blobs()
    X = X.astype(np.float32)
    w = np.where(np.arange(len(X)) >= 3000, np.float32(1e37), np.float32(1e-3)).astype(np.float32)
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(w))
    fitted = _fit(X, w, n_clusters=3, init=X[:3], n_init=1)  # seeds in the light blob
    assert np.all(fitted.cluster_centers_.mean(axis=1) > 4)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_weights_whose_sum_overflows_float64_keep_their_ratios(init):
    X, w = _blobs()
    big = w * 2.0**1020  # exact; each finite, the sum past the float64 maximum
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(big))
    expected = _fit(X, w, init=init)
    fitted = _fit(X, big, init=init)
    np.testing.assert_array_equal(fitted.cluster_centers_, expected.cluster_centers_)
    np.testing.assert_array_equal(fitted.labels_, expected.labels_)
    # KMeans and kmeans_plusplus draw from the same weights
    np.testing.assert_array_equal(kmeans_plusplus(X, 5, sample_weight=big, random_state=1)[1],
                                  kmeans_plusplus(X, 5, sample_weight=w, random_state=1)[1])
    np.testing.assert_array_equal(
        KMeans(5, init=init, random_state=0, n_init=1).fit(X, sample_weight=big).cluster_centers_,
        KMeans(5, init=init, random_state=0, n_init=1).fit(X, sample_weight=w).cluster_centers_,
    )


@pytest.mark.parametrize("first_call", [True, False])
def test_partial_fit_refuses_weights_whose_counts_overflow_float32(first_call):
    """partial_fit's running counts are sums of the weights in X's dtype: a
    float32 count past 3.4e38 made the centers NaN. Refused, naming
    sample_weight, and nothing changes."""
    X, w = _blobs()
    X, w = X.astype(np.float32), w.astype(np.float32)
    km = MiniBatchKMeans(5, random_state=0, init=X[:5])
    if not first_call:
        km.partial_fit(X[:256], sample_weight=w[:256] * np.float32(1e35))
    before = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in vars(km).items()}
    with pytest.raises(ValueError, match="sample_weight.*overflow float32"):
        # (later: 6e35 overflows only with the counts of the first call)
        km.partial_fit(X[256:512], sample_weight=w[256:512] * np.float32(1e36 if first_call else 6e35))
    assert vars(km).keys() == before.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(vars(km)[key], value)
    if first_call:  # the same ratios on a smaller scale are fine
        km.partial_fit(X[256:512], sample_weight=w[256:512] * np.float32(1e30))
        assert np.all(np.isfinite(km.cluster_centers_))
