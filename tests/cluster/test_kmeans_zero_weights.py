"""KMeans with zero sample weights and more clusters than distinct
positive-weight rows (issue 23, item 4).

Means of identical rows differ from the row by rounding, so every row sits
a hair off its center and the empty clusters take the farthest rows; a
cluster that gave away all its rows kept a rounding residue of weight, and
sums / weight put its center far from every row. Such a cluster is now empty
(its center goes to the heaviest cluster's, as scikit-learn places centers
of clusters without weight).
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import lvmfast


def duplicated_rows(seed, n_distinct=39, copies=10, n_features=11):
    rng = np.random.default_rng(seed)
    X = np.repeat(rng.normal(size=(n_distinct, n_features)), copies, axis=0)
    weights = np.where(np.random.default_rng(seed + 1).random(len(X)) < 1 / 3, 0.0, 1.0)
    return X, weights


def fit(X, weights, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lvmfast.KMeans(150, random_state=1017, n_init=1, **params).fit(X, sample_weight=weights)


def distance_to_nearest_row(centers, X):
    return np.abs(centers[:, None, :] - X[None]).max(axis=-1).min(axis=1)


@pytest.mark.parametrize("init", ["k-means++", "k-means||", "random"])
@pytest.mark.parametrize("seed", [0, 3])
def test_centers_are_rows_and_repeat_calls_agree(init, seed):
    X, weights = duplicated_rows(seed)
    runs = {algorithm: [fit(X, weights, init=init, algorithm=algorithm) for _ in range(3)]
            for algorithm in ("lloyd", "elkan")}
    first = runs["lloyd"][0]
    for algorithm, fits in runs.items():
        for est in fits:
            assert np.array_equal(est.cluster_centers_, first.cluster_centers_), algorithm
            assert np.array_equal(est.labels_, first.labels_), algorithm
            assert est.inertia_ == first.inertia_ and est.n_iter_ == first.n_iter_, algorithm
    # a center is a row of X up to the rounding of a mean of its copies
    assert distance_to_nearest_row(first.cluster_centers_, X).max() < 1e-12


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_and_csr_agree_with_zero_weights(init, seed):
    X, weights = duplicated_rows(seed, n_distinct=21)
    for k in (8, 30, 60):
        dense = lvmfast.KMeans(k, init=init, n_init=1, random_state=seed).fit(X, sample_weight=weights)
        csr = lvmfast.KMeans(k, init=init, n_init=1, random_state=seed).fit(sp.csr_matrix(X), sample_weight=weights)
        np.testing.assert_allclose(csr.inertia_, dense.inertia_, rtol=1e-6, atol=1e-12)
        # with more clusters than distinct rows, which of two equal centers
        # a row takes follows rounding of its distances: compare the sets
        np.testing.assert_allclose(np.unique(csr.cluster_centers_.round(9), axis=0),
                                   np.unique(dense.cluster_centers_.round(9), axis=0))


# CSR fits from init='random' on duplicated rows (issue 23, item 4: 210 x 11
# with 21 distinct rows, inertia 156.82 dense and scikit-learn, 185.42 CSR).
# Two causes, both where rows or centers repeat:
# - the CSR kernel's x . c is rounded differently in different lanes of its
#   center tiles, so a row tied between two identical centers (drawn from
#   two copies of one row, or put on the heaviest cluster's center) went to
#   either; it now goes to the lowest index, as on dense rows;
# - the rows that re-seed empty clusters were the farthest by argpartition,
#   which orders equal distances (copies of a row, two rows either side of
#   their mean) by whatever the rounding of the other distances makes of it;
#   equal distances now go by row index.


def duplicated_case(seed, layout="repeat", zero="rows", dtype=np.float64, n_distinct=21, copies=10):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_distinct, 11))
    X = np.repeat(base, copies, axis=0) if layout == "repeat" else np.tile(base, (copies, 1))
    group = np.repeat(np.arange(n_distinct), copies) if layout == "repeat" else np.tile(np.arange(n_distinct), copies)
    if zero == "rows":
        weights = np.where(rng.random(len(X)) < 1 / 3, 0.0, 1.0)
    else:  # whole groups of copies
        weights = np.where((rng.random(n_distinct) < 1 / 3)[group], 0.0, 1.0)
    return X.astype(dtype), weights


def dense_and_csr(X, weights, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = lvmfast.KMeans(**params).fit(X, sample_weight=weights)
        csr = lvmfast.KMeans(**params).fit(sp.csr_matrix(X), sample_weight=weights)
    return dense, csr


def test_identical_centers_take_rows_by_lowest_index_on_csr():
    X, weights = duplicated_case(0)
    # centers 1, 4, 6 and 9 are one row, 7 and 8 another
    init = X[[0, 20, 40, 60, 20, 80, 20, 100, 100, 20]]
    dense, csr = dense_and_csr(X, weights, n_clusters=10, init=init, n_init=1, max_iter=1)
    np.testing.assert_array_equal(csr.labels_, dense.labels_)
    assert csr.inertia_ == pytest.approx(dense.inertia_, rel=1e-12)
    # (before: 446.27 dense and scikit-learn, 432.19 CSR)
    dense, csr = dense_and_csr(X, weights, n_clusters=10, init="random", random_state=0)
    assert dense.inertia_ == pytest.approx(446.2702660968048, rel=1e-9)
    assert csr.inertia_ == pytest.approx(dense.inertia_, rel=1e-9)


def test_farthest_rows_take_equal_distances_by_row_index():
    from lvmfast.cluster._rows import _farthest

    distances = np.array([1.0, 3.0, 2.0, 3.0, 3.0 * (1 + 2.0**-40), 0.5, 2.0])
    np.testing.assert_array_equal(_farthest(distances, 3, np.float64), [1, 3, 4])
    np.testing.assert_array_equal(_farthest(distances, 4, np.float64), [1, 3, 4, 2])
    np.testing.assert_array_equal(_farthest(distances[::-1].copy(), 2, np.float64), [2, 3])
    # (before: 33.24 dense, 36.79 CSR; which copies argpartition takes is
    # arbitrary, scikit-learn's too, so its runs are no reference here)
    X, weights = duplicated_case(4)
    dense, csr = dense_and_csr(X, weights, n_clusters=20, init="random", random_state=4)
    assert csr.inertia_ == pytest.approx(dense.inertia_, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout, zero", [("repeat", "rows"), ("tile", "rows"), ("repeat", "groups"), ("tile", "groups")])
def test_dense_and_csr_agree_on_duplicated_rows(layout, zero, dtype):
    """Property-style: init='random' (n_init=10) on 21 distinct rows x 10
    copies, weights 0 on a third of the rows or of the groups of copies,
    n_clusters 2 to 30: the same inertia and the same set of centers."""
    rtol = 1e-9 if dtype == np.float64 else 1e-5
    for seed in range(8):
        X, weights = duplicated_case(seed, layout, zero, dtype)
        for k in (2, 5, 10, 20, 30):
            if np.count_nonzero(weights) < k:
                continue
            dense, csr = dense_and_csr(X, weights, n_clusters=k, init="random", random_state=seed)
            where = f"seed={seed} k={k}"
            assert csr.inertia_ == pytest.approx(dense.inertia_, rel=rtol, abs=1e-9), where
            decimals = 9 if dtype == np.float64 else 4
            np.testing.assert_allclose(np.unique(csr.cluster_centers_.round(decimals), axis=0),
                                       np.unique(dense.cluster_centers_.round(decimals), axis=0), err_msg=where)
