"""KMeans and kmeans_plusplus on CSR input: scikit-learn's results from the
same starting point, the dense path's results, bad sparse input refused
without side effects, and X never densified."""
import pickle
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus
from threadpoolctl import threadpool_limits

from lvmfast import KMeans, kmeans_plusplus


def tfidf_like(n_samples, n_features, density, dtype=np.float64, seed=0, n_topics=4):
    """Nonnegative rows, L2-normalized, each leaning to one of n_topics
    column ranges: a small stand-in for TF-IDF data."""
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=density, format="lil", random_state=seed, dtype=np.float64)
    width = n_features // n_topics
    topic = rng.integers(n_topics, size=n_samples)
    for i in range(n_samples):
        cols = rng.choice(width, size=3, replace=False) + topic[i] * width
        X[i, cols] = rng.uniform(0.5, 1.0, size=3)
    X = X.tocsr()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
    X = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ X, dtype=dtype)
    X.sort_indices()
    return X


TOLERANCE = {np.float64: 1e-6, np.float32: 1e-4}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_iterations_as_scikit_learn_from_the_same_centers(dtype, container, weighted):
    X = container(tfidf_like(600, 200, 0.03, dtype))
    weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    init = X[:6].toarray()
    ours = KMeans(6, init=init, n_init=1).fit(X, sample_weight=weights)
    theirs = SklearnKMeans(6, init=init, n_init=1).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=TOLERANCE[dtype])
    assert ours.cluster_centers_.dtype == dtype
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=0, atol=10 * TOLERANCE[dtype])
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=0, atol=10 * TOLERANCE[dtype])
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=TOLERANCE[dtype])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_plusplus_picks_scikit_learns_rows(seed):
    X = tfidf_like(500, 150, 0.04, seed=seed)
    weights = np.random.default_rng(seed).uniform(0.2, 3.0, X.shape[0])
    centers, indices = kmeans_plusplus(X, 7, sample_weight=weights, random_state=seed)
    _, expected = sklearn_kmeans_plusplus(X, 7, sample_weight=weights, random_state=seed)
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(centers, X[indices].toarray())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_and_dense_fits_agree(dtype):
    # Not the normalized TF-IDF-like rows: two of those with disjoint
    # supports from two unit-norm centers tie exactly (distance 2), and
    # rounding, which differs between the paths, breaks the tie.
    X = sp.random(400, 60, density=0.3, format="csr", random_state=0, dtype=dtype)
    X.data += np.random.default_rng(0).normal(size=X.nnz).astype(dtype)
    sparse_fit = KMeans(5, random_state=3).fit(X)
    dense_fit = KMeans(5, random_state=3).fit(X.toarray())
    np.testing.assert_array_equal(sparse_fit.labels_, dense_fit.labels_)
    assert sparse_fit.n_iter_ == dense_fit.n_iter_
    assert sparse_fit.inertia_ == pytest.approx(dense_fit.inertia_, rel=TOLERANCE[dtype])
    # a model fitted on either predicts the other kind of input
    np.testing.assert_array_equal(sparse_fit.predict(X.toarray()), dense_fit.predict(X))


def test_other_formats_unsorted_indices_and_duplicates():
    X = tfidf_like(300, 80, 0.05)
    expected = KMeans(4, random_state=0).fit(X)
    for other in (X.tocoo(), X.tocsc(), sp.coo_array(X)):
        np.testing.assert_array_equal(KMeans(4, random_state=0).fit(other).labels_, expected.labels_)
    # the same rows with each row's entries reversed (valid, unsorted CSR)
    rows = [X.indices[X.indptr[i]:X.indptr[i + 1]][::-1] for i in range(X.shape[0])]
    vals = [X.data[X.indptr[i]:X.indptr[i + 1]][::-1] for i in range(X.shape[0])]
    unsorted = sp.csr_matrix((np.concatenate(vals), np.concatenate(rows), X.indptr), shape=X.shape)
    assert not unsorted.has_sorted_indices
    fit = KMeans(4, random_state=0).fit(unsorted)
    np.testing.assert_array_equal(fit.labels_, expected.labels_)
    assert fit.inertia_ == pytest.approx(expected.inertia_, rel=1e-12)
    # each entry split in two halves: scipy means their sum
    halves = sp.csr_matrix(
        (np.repeat(X.data / 2, 2), np.repeat(X.indices, 2), X.indptr * 2), shape=X.shape
    )
    assert not halves.has_canonical_format
    before = halves.copy()
    fit = KMeans(4, random_state=0).fit(halves)
    np.testing.assert_array_equal(fit.labels_, expected.labels_)
    assert fit.inertia_ == pytest.approx(expected.inertia_, rel=1e-12)
    np.testing.assert_array_equal(halves.data, before.data)  # summed on a copy
    # 64-bit indices (scikit-learn refuses them; the kernels take them)
    wide = sp.csr_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)), shape=X.shape)
    np.testing.assert_array_equal(KMeans(4, random_state=0).fit(wide).labels_, expected.labels_)


def test_bit_identical_across_thread_counts():
    X = tfidf_like(3000, 300, 0.02)
    fits = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            fits.append(KMeans(8, random_state=0, n_init=2).fit(X))
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].inertia_ == fits[1].inertia_


def broken(X, what):
    X = X.copy()
    if what == "nan":
        X.data[3] = np.nan
    elif what == "inf":
        X.data[3] = np.inf
    elif what == "negative index":
        X.indices[3] = -1
    elif what == "index past the columns":
        X.indices[3] = X.shape[1]
    elif what == "decreasing indptr":
        X.indptr[5] = X.indptr[6] + 1
    return X


@pytest.mark.parametrize(
    "what,message",
    [
        ("nan", "NaN"),
        ("inf", "infinity"),
        ("negative index", "not a valid CSR matrix"),
        ("index past the columns", "not a valid CSR matrix"),
        ("decreasing indptr", "not a valid CSR matrix"),
    ],
)
def test_bad_sparse_input_is_refused_and_changes_nothing(what, message):
    X = tfidf_like(200, 50, 0.05)
    km = KMeans(3, random_state=0).fit(X)
    state = pickle.dumps(vars(km))
    bad = broken(X, what)
    bad_copy = bad.copy()
    with pytest.raises(ValueError, match=message):
        km.fit(bad)
    with pytest.raises(ValueError, match=message):
        km.predict(bad)
    with pytest.raises(ValueError, match=message):
        kmeans_plusplus(bad, 3)
    assert pickle.dumps(vars(km)) == state
    for name in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(bad, name), getattr(bad_copy, name))


def test_wrong_width_at_predict():
    X = tfidf_like(200, 50, 0.05)
    km = KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 49 features, but KMeans is expecting 50 features"):
        km.predict(X[:, :49])
    with pytest.raises(ValueError, match="X has 49 features, but KMeans is expecting 50 features"):
        km.transform(sp.csr_matrix((3, 49)))


def test_empty_rows_and_a_one_row_cluster():
    X = tfidf_like(200, 50, 0.05).tolil()
    X[10:20] = 0  # ten empty rows: distance to a center is its squared norm
    X = X.tocsr()
    init = np.vstack([X[[10, 30, 60]].toarray()])
    ours = KMeans(3, init=init, n_init=1).fit(X)
    theirs = SklearnKMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-9)


def test_x_is_never_densified():
    # 4,000 x 200,000 would be 6.4 GB dense; the fit keeps to its centers
    # (K x D) and per-row buffers.
    rng = np.random.default_rng(0)
    n_samples, n_features, per_row = 4000, 200_000, 20
    indices = np.sort(rng.integers(0, n_features, size=(n_samples, per_row)), axis=1)
    X = sp.csr_matrix(
        (rng.uniform(size=n_samples * per_row), indices.ravel(), np.arange(0, n_samples * per_row + 1, per_row)),
        shape=(n_samples, n_features),
    )
    X.sum_duplicates()
    tracemalloc.start()
    try:
        km = KMeans(4, random_state=0, max_iter=5).fit(X)
        km.predict(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert km.cluster_centers_.shape == (4, n_features)
