"""KMeans and kmeans_plusplus against scikit-learn from the same starting point."""
import re

import numpy as np
import pytest
from sklearn.cluster import KMeans as SKKMeans
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
from sklearn.datasets import load_digits, load_iris, make_blobs
from threadpoolctl import threadpool_limits

from lvmfast import KMeans, kmeans_plusplus
from lvmfast.cluster._rows import _lloyd_plan
from lvmfast.datasets import load_faithful

DATASETS = {
    "iris": (load_iris().data, 3),
    "digits": (load_digits().data, 10),
    "faithful": (load_faithful()[0], 2),
    "blobs": (make_blobs(3000, 6, centers=7, cluster_std=2.0, random_state=0)[0], 7),
}
RTOL = {np.float64: 1e-6, np.float32: 1e-4}


def assert_same_fit(ours, theirs, X, dtype):
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=RTOL[dtype])
    scale = np.abs(X).max()
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_from_the_same_initial_centers(name, dtype, seed):
    X, k = DATASETS[name]
    X = X.astype(dtype)
    init, _ = sk_kmeans_plusplus(X, k, random_state=seed)
    ours = KMeans(k, init=init, n_init=1).fit(X)
    theirs = SKKMeans(k, init=init, n_init=1).fit(X)
    assert ours.cluster_centers_.dtype == dtype
    assert_same_fit(ours, theirs, X, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(4))
def test_matches_sklearn_from_random_rows(dtype, seed):
    X = DATASETS["blobs"][0].astype(dtype)
    init = X[np.random.RandomState(seed).choice(len(X), 12, replace=False)]
    ours = KMeans(12, init=init, n_init=1, tol=0).fit(X)
    theirs = SKKMeans(12, init=init, n_init=1, tol=0).fit(X)
    assert_same_fit(ours, theirs, X, dtype)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_same_random_state_as_sklearn(name, init):
    # The seeding draws from the RandomState exactly as scikit-learn does.
    X, k = DATASETS[name]
    ours = KMeans(k, init=init, n_init=3, random_state=7).fit(X)
    theirs = SKKMeans(k, init=init, n_init=3, random_state=7).fit(X)
    assert_same_fit(ours, theirs, X, np.float64)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("seed", range(5))
def test_kmeans_plusplus_picks_sklearns_rows(name, seed):
    X, k = DATASETS[name]
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, len(X))
    centers, indices = kmeans_plusplus(X, k, sample_weight=weights, random_state=seed)
    sk_centers, sk_indices = sk_kmeans_plusplus(X, k, sample_weight=weights, random_state=seed)
    np.testing.assert_array_equal(indices, sk_indices)
    np.testing.assert_array_equal(centers, sk_centers)


def test_kmeans_plusplus_keeps_float32_and_n_local_trials():
    X = DATASETS["blobs"][0].astype(np.float32)
    centers, indices = kmeans_plusplus(X, 5, random_state=0, n_local_trials=1)
    assert centers.dtype == np.float32
    np.testing.assert_array_equal(centers, X[indices])
    assert len(set(indices.tolist())) == 5


def test_integer_weights_equal_repeated_rows():
    X = DATASETS["blobs"][0][:500]
    weights = np.random.default_rng(0).integers(1, 4, len(X))
    init = X[:6]
    weighted = KMeans(6, init=init, n_init=1).fit(X, sample_weight=weights)
    repeated = KMeans(6, init=init, n_init=1).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_array_equal(np.repeat(weighted.labels_, weights), repeated.labels_)


def test_unit_weights_equal_no_weights():
    X = DATASETS["digits"][0]
    a = KMeans(10, random_state=0).fit(X)
    b = KMeans(10, random_state=0).fit(X, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bit_identical_with_one_and_two_threads(dtype):
    X, _ = make_blobs(60000, 8, centers=20, random_state=1)
    X = X.astype(dtype)
    assert _lloyd_plan(*X.shape, 20, X.itemsize).n_blocks > 8  # spans many blocks
    fits = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            fits.append(KMeans(20, random_state=3, max_iter=30).fit(X))
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].inertia_ == fits[1].inertia_
    assert fits[0].n_iter_ == fits[1].n_iter_


def test_empty_cluster_is_reseeded_like_sklearn():
    X = DATASETS["blobs"][0]
    init = np.vstack([X[:4], np.full((2, X.shape[1]), 1e3)])  # two centers nobody is near
    ours = KMeans(6, init=init, n_init=1).fit(X)
    theirs = SKKMeans(6, init=init, n_init=1).fit(X)
    assert_same_fit(ours, theirs, X, np.float64)
    assert np.bincount(ours.labels_, minlength=6).min() > 0


def test_best_of_several_inits_is_kept():
    # Five single-init fits sharing one RandomState draw the same seeds, in
    # the same order, as one fit with n_init=5.
    X = DATASETS["blobs"][0]
    shared = np.random.RandomState(0)
    runs = [KMeans(7, init="random", n_init=1, random_state=shared).fit(X) for _ in range(5)]
    best = KMeans(7, init="random", n_init=5, random_state=np.random.RandomState(0)).fit(X)
    assert best.inertia_ == min(r.inertia_ for r in runs)
    assert len({round(r.inertia_, 6) for r in runs}) > 1  # the inits really differ
    theirs = SKKMeans(7, init="random", n_init=5, random_state=np.random.RandomState(0)).fit(X)
    assert best.inertia_ == pytest.approx(theirs.inertia_, rel=1e-9)


def test_callable_init_receives_data_and_random_state():
    X = DATASETS["faithful"][0]
    seen = {}

    def init(data, n_clusters, random_state):
        seen["shape"], seen["rs"] = data.shape, random_state
        return data[:n_clusters]

    km = KMeans(3, init=init, n_init=2, random_state=0).fit(X)
    assert seen["shape"] == X.shape and isinstance(seen["rs"], np.random.RandomState)
    ref = KMeans(3, init=X[:3], n_init=1).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, ref.cluster_centers_)


def test_fitted_model_methods_agree():
    X = DATASETS["blobs"][0]
    km = KMeans(7, random_state=0).fit(X)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    assert km.score(X) == -km.inertia_
    distances = np.sqrt(((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(axis=2))
    np.testing.assert_allclose(km.transform(X), distances, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(km.transform(X).argmin(axis=1), km.labels_)
    np.testing.assert_allclose(KMeans(7, random_state=0).fit_transform(X), km.transform(X))
    np.testing.assert_array_equal(KMeans(7, random_state=0).fit_predict(X), km.labels_)
    assert km.labels_.dtype == np.int32
    assert list(km.get_feature_names_out()) == [f"kmeans{i}" for i in range(7)]


def test_verbose_prints_each_iteration(capsys):
    X = DATASETS["faithful"][0]
    km = KMeans(2, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "Initialization complete" in out
    assert out.count("Iteration ") == km.n_iter_
    # scikit-learn's format, which its tests parse: the last line's inertia
    # is that of the converged labels, which the fit reports.
    inertias = [float(v) for v in re.findall(r"Iteration \d+, inertia (\S+)\.\n", out)]
    assert len(inertias) == km.n_iter_
    assert inertias[-1] == pytest.approx(km.inertia_, rel=1e-12)
    assert f"Converged at iteration {km.n_iter_ - 1}: strict convergence." in out


def test_max_iter_caps_iterations():
    X = DATASETS["digits"][0]
    assert KMeans(10, random_state=0, max_iter=2, tol=0).fit(X).n_iter_ == 2


@pytest.mark.parametrize("dtype,expected", [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64), (np.float16, np.float64)])
def test_dtypes(dtype, expected):
    X = (DATASETS["faithful"][0] * 10).astype(dtype)
    km = KMeans(2, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == expected
    assert km.transform(X).dtype == expected


def test_non_contiguous_and_read_only_inputs():
    X = np.asfortranarray(DATASETS["blobs"][0])
    ref = KMeans(7, random_state=0).fit(np.ascontiguousarray(X))
    np.testing.assert_array_equal(KMeans(7, random_state=0).fit(X).cluster_centers_, ref.cluster_centers_)
    wide = np.repeat(np.ascontiguousarray(X), 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(KMeans(7, random_state=0).fit(wide).cluster_centers_, ref.cluster_centers_)
    frozen = np.ascontiguousarray(X)
    frozen.setflags(write=False)
    np.testing.assert_array_equal(KMeans(7, random_state=0).fit(frozen).cluster_centers_, ref.cluster_centers_)
    weights = np.ones(len(X))
    weights.setflags(write=False)
    KMeans(7, random_state=0).fit(frozen, sample_weight=weights).predict(frozen)


def test_data_far_from_the_origin_in_float32():
    # Centering chunk by chunk keeps the distance expansion accurate.
    X, _ = make_blobs(2000, 3, centers=4, cluster_std=0.5, random_state=2)
    init = X[[0, 1, 2, 3]]
    near = KMeans(4, init=init, n_init=1).fit(X.astype(np.float32))
    far = KMeans(4, init=(init + 1e4), n_init=1).fit((X + 1e4).astype(np.float32))
    np.testing.assert_array_equal(near.labels_, far.labels_)
