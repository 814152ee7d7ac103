"""Exact ties on integer data go to the lowest center index, in every k-means
path (issue 23, item 1).

The dense kernels work on rows centered by a shift; the shift is the mean
rounded to a power-of-two grid (lvmfast.cluster._centering), so centering
integer rows is exact and an exact tie stays exact. scikit-learn's Lloyd
centers a copy of X by the unrounded mean, so its own labels on exact ties
are decided by that rounding (it gives the higher index on some digits rows):
its elkan (direct differences) is the parity reference here.
"""
import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc
from sklearn.datasets import load_digits

import lvmfast
from lvmfast.cluster import MiniBatchKMeans
from lvmfast.cluster._centering import centering_shift, dense_centering_shift
from lvmfast.cluster._kmeans_parallel import update_nearest

DIGITS = load_digits().data


def exact_sq_distances(X, centers):
    # integers below 2^26: every square and sum is exact in float64
    return ((X[:, None, :].astype(np.float64) - centers[None].astype(np.float64)) ** 2).sum(-1)


def exact_labels(X, centers):
    return exact_sq_distances(X, centers).argmin(axis=1)


def digits_init(seed, k, dtype):
    X = DIGITS.astype(dtype)
    return X, X[np.random.default_rng(seed).choice(len(X), k, replace=False)]


def tie_cases():
    """Small integer data whose centering by the plain mean is inexact (an
    offset far from 0, a mean off the binary grid), with exact ties."""
    cases = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n, d, k = int(rng.integers(20, 120)), int(rng.integers(1, 5)), int(rng.integers(2, 5))
        scale = (1, 3, 100)[seed % 3]
        X = rng.integers(-scale, scale + 1, size=(n, d)).astype(np.float64) + (1000 * scale if seed % 2 else 0)
        centers = X[rng.choice(n, k, replace=False)]
        if len(np.unique(centers, axis=0)) < k:
            continue
        dist = np.sort(exact_sq_distances(X, centers), axis=1)
        if (dist[:, 0] == dist[:, 1]).any():
            cases.append((X, centers))
    assert len(cases) >= 10
    return cases


TIE_CASES = tie_cases()


def with_centers(est, centers):
    est = copy.deepcopy(est)
    est.cluster_centers_ = centers.copy()
    return est


def test_centering_shift_is_on_the_grid_near_the_mean():
    mean = np.array([5.3, -1234.56789, 0.1, 7.0])
    variance = np.array([20.0, 1e-6, 0.0, np.inf])
    shift = centering_shift(mean, variance, np.float64)
    std = np.sqrt(variance[:2])
    q = 2.0 ** (np.floor(np.log2(std)) - 10)
    assert np.all(np.abs(shift[:2] - mean[:2]) <= q / 2)
    assert np.all(np.mod(shift[:2], q) == 0)
    # no spread (or no finite one): the mean itself
    assert shift[2] == 0.1 and shift[3] == 7.0
    # integer rows center exactly
    X = DIGITS
    s = dense_centering_shift(X)
    assert np.array_equal((X - s) + s, X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
@pytest.mark.parametrize("sparse", [False, True])
def test_digits_first_step_takes_the_lowest_index(dtype, algorithm, sparse):
    n_ties = 0
    for seed in range(10):
        for k in (3, 10):
            X, init = digits_init(seed, k, dtype)
            labels = exact_labels(X, init)
            dist = np.sort(exact_sq_distances(X, init), axis=1)
            n_ties += int((dist[:, 0] == dist[:, 1]).sum())
            data = sp.csr_matrix(X) if sparse else X
            est = lvmfast.KMeans(k, init=init, n_init=1, max_iter=1, algorithm=algorithm).fit(data)
            means = np.array([DIGITS[labels == j].mean(axis=0) for j in range(k)])
            np.testing.assert_allclose(est.cluster_centers_, means, rtol=0, atol=1e-5)
            assert np.array_equal(with_centers(est, init).predict(data), labels)
    assert n_ties >= 20


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_digits_parity_with_scikit_learn_elkan(dtype, algorithm):
    # scikit-learn's elkan decides the digits ties exactly (as an exact argmin)
    for seed in range(10):
        for k in (3, 10):
            X, init = digits_init(seed, k, dtype)
            for max_iter in (1, 300):
                ours = lvmfast.KMeans(k, init=init, n_init=1, max_iter=max_iter, algorithm=algorithm).fit(X)
                theirs = skc.KMeans(k, init=init, n_init=1, max_iter=max_iter, algorithm="elkan").fit(X)
                assert ours.n_iter_ == theirs.n_iter_, (seed, k, max_iter)
                assert np.array_equal(ours.labels_, theirs.labels_), (seed, k, max_iter)
                np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-6 if dtype == np.float64 else 1e-5)


def test_digits_seed7_reproducer_from_the_issue():
    X = DIGITS
    init = X[np.random.default_rng(7).choice(len(X), 3, replace=False)]
    ours = lvmfast.KMeans(3, init=init, n_init=1, max_iter=1).fit(X)
    labels = exact_labels(X, init)
    np.testing.assert_allclose(
        ours.cluster_centers_, [X[labels == j].mean(axis=0) for j in range(3)], rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tie_cases_every_entry_point(dtype):
    for X64, centers64 in TIE_CASES:
        X, centers = X64.astype(dtype), centers64.astype(dtype)
        k = len(centers)
        labels = exact_labels(X64, centers64)
        # CSR rows are not centered: their expansion ||x||^2 - 2 x.c + ||c||^2
        # is exact in float32 only while the squared norms stay below 2^24
        exact_csr = dtype == np.float64 or (X64**2).sum(axis=1).max() < 2**24
        for data in (X, sp.csr_matrix(X)) if exact_csr else (X,):
            for algorithm in ("lloyd", "elkan"):
                est = lvmfast.KMeans(k, init=centers, n_init=1, max_iter=1, algorithm=algorithm).fit(data)
                fixed = with_centers(est, centers)
                assert np.array_equal(fixed.predict(data), labels)
                assert np.array_equal(fixed.transform(data).argmin(axis=1), labels)
                means = np.array([X64[labels == j].mean(axis=0) for j in range(k)])
                np.testing.assert_allclose(est.cluster_centers_, means, rtol=1e-6, atol=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mb = MiniBatchKMeans(k, init=centers, n_init=1, batch_size=len(X), max_iter=1, random_state=0).fit(X)
        assert np.array_equal(with_centers(mb, centers).predict(X), labels)
        if exact_csr:
            assert np.array_equal(with_centers(mb, centers).predict(sp.csr_matrix(X)), labels)
        if dtype == np.float32:
            # k-means||'s fold scores float32 rows by the unproven float32
            # expansion (it only weighs candidates): exact for float64 only
            continue
        # the k-means|| fold, in the frame KMeans uses
        closest = np.full(len(X), np.inf)
        found = np.empty(len(X), dtype=np.int32)
        update_nearest(X, dense_centering_shift(X), centers, np.ones(len(X), dtype=dtype), closest, found, 0)
        assert np.array_equal(found, labels)
        np.testing.assert_array_equal(closest, exact_sq_distances(X64, centers64).min(axis=1))


def test_tie_cases_dask():
    da = pytest.importorskip("dask.array")
    import dask

    import lvmfast.dask as ld

    with dask.config.set(scheduler="synchronous"):
        for X, centers in TIE_CASES[:5]:
            k = len(centers)
            labels = exact_labels(X, centers)
            dX = da.from_array(X, chunks=(max(len(X) // 3, 1), X.shape[1]))
            est = ld.KMeans(k, init=centers, n_init=1, max_iter=1).fit(dX)
            means = np.array([X[labels == j].mean(axis=0) for j in range(k)])
            np.testing.assert_allclose(est.cluster_centers_, means, rtol=1e-9, atol=1e-9)
            assert np.array_equal(np.asarray(with_centers(est, centers).predict(dX)), labels)
