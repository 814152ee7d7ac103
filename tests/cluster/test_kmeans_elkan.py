"""algorithm='elkan': Lloyd steps that measure only the rows whose distance
bounds do not prove their label. Its labels, centers, inertia and n_iter_
must be lloyd's exactly (the same row pass sums the same labels in the same
blocks), on real data, blobs, unclustered data and data built with ties."""
import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_blobs

from lvmfast import KMeans
from lvmfast.datasets import load_faithful


def _datasets():
    rng = np.random.default_rng(0)
    X_blobs, _ = make_blobs(3000, n_features=8, centers=12, random_state=0)
    ties = np.repeat(np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, -1.0]]), 40, axis=0)
    return {
        "iris": load_iris().data,
        "digits": load_digits().data,
        "old_faithful": load_faithful()[0],
        "blobs": X_blobs,
        "normal": rng.standard_normal((4000, 16)),
        # duplicated rows, with rows equidistant from pairs of others
        "ties": ties,
    }


DATASETS = _datasets()


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_clusters", [3, 11, 40])
def test_elkan_is_lloyd(name, dtype, n_clusters):
    X = DATASETS[name].astype(dtype)
    if n_clusters > len(np.unique(X, axis=0)):
        pytest.skip("fewer distinct rows than clusters")
    kwargs = dict(n_clusters=n_clusters, n_init=1, random_state=0, max_iter=300, tol=0.0)
    lloyd = KMeans(algorithm="lloyd", **kwargs).fit(X)
    elkan = KMeans(algorithm="elkan", **kwargs).fit(X)
    np.testing.assert_array_equal(elkan.labels_, lloyd.labels_)
    np.testing.assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)
    assert elkan.n_iter_ == lloyd.n_iter_
    assert elkan.inertia_ == lloyd.inertia_


def test_elkan_with_weights_and_empty_clusters():
    """Weights and empty clusters (relocated) keep the identity."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (300, 3)), rng.normal(50, 1, (5, 3))])
    w = rng.uniform(0.1, 3.0, len(X))
    init = np.vstack([X[:6], X[:2] + 1e-3])  # two near-duplicate seeds
    kwargs = dict(n_clusters=8, init=init, n_init=1, max_iter=100, tol=0.0)
    lloyd = KMeans(algorithm="lloyd", **kwargs).fit(X, sample_weight=w)
    elkan = KMeans(algorithm="elkan", **kwargs).fit(X, sample_weight=w)
    np.testing.assert_array_equal(elkan.labels_, lloyd.labels_)
    np.testing.assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)
    assert elkan.n_iter_ == lloyd.n_iter_


def test_elkan_bounds_prune_on_separated_data():
    """The bounds must do their job: on blobs, after the first steps, most
    rows are not measured (the share is recorded per step)."""
    from lvmfast.cluster._lloyd import _BoundedSteps
    from lvmfast.cluster._rows import _rows

    X, _ = make_blobs(20000, n_features=8, centers=30, random_state=0)
    rows = _rows(X, 30, 1, fitting=True)
    centers = rows.to_frame(X[:30])
    steps = _BoundedSteps(rows, centers)
    labels = np.full(len(X), -1, dtype=np.int32)
    weights = np.ones(len(X))
    for _ in range(15):
        _, sums, counts, _ = steps.step(weights, centers, labels, False)
        filled = counts > 0
        centers = centers.copy()
        centers[filled] = sums[filled] / counts[filled, None]
    assert steps.measured_fraction[0] == 1.0
    assert steps.measured_fraction[-1] < 0.2


def test_elkan_is_deterministic_across_threads():
    from threadpoolctl import threadpool_limits

    X = DATASETS["normal"]
    kwargs = dict(n_clusters=20, n_init=1, random_state=3, algorithm="elkan")
    with threadpool_limits(1, user_api="openmp"):
        one = KMeans(**kwargs).fit(X)
    with threadpool_limits(2, user_api="openmp"):
        two = KMeans(**kwargs).fit(X)
    np.testing.assert_array_equal(one.cluster_centers_, two.cluster_centers_)
    np.testing.assert_array_equal(one.labels_, two.labels_)


def test_elkan_single_cluster_warns_and_runs_lloyd():
    X = DATASETS["iris"]
    with pytest.warns(RuntimeWarning, match="single cluster"):
        est = KMeans(1, algorithm="elkan", n_init=1).fit(X)
    np.testing.assert_allclose(est.cluster_centers_[0], X.mean(axis=0))
