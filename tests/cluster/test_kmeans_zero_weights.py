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
