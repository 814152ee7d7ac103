"""Every kernel's scratch comes from one allocator (lvmfast._kernels._alloc)
whose failure is a MemoryError, never a crash: each kernel family is run
with its Nth allocation failing, for every N it makes, and must raise
MemoryError, then run normally (same result) once allocations succeed."""
import numpy as np
import pytest
import scipy.sparse as sp

from lvmfast import GaussianClassifier, GaussianMixture, GaussianNB, KMeans, MiniBatchKMeans, kmeans_plusplus
from lvmfast._kernels import _alloc

rng = np.random.default_rng(0)
X64 = rng.normal(size=(600, 4))
X32 = X64.astype(np.float32)
y = (X64[:, 0] > 0).astype(int) + (X64[:, 1] > 0)
C0 = X64[:5].copy()


def _kmeans(X, **kw):
    return KMeans(5, init=C0.astype(X.dtype), n_init=1, max_iter=3, **kw).fit(X).cluster_centers_


def _elkan(X):
    return _kmeans(X, algorithm="elkan")


def _csr(X):
    return _kmeans(sp.csr_matrix(X))


def _transform(X):
    return KMeans(5, init=C0.astype(X.dtype), n_init=1, max_iter=1).fit(X[:50]).transform(X)


def _plusplus(X):
    return kmeans_plusplus(X, 5, random_state=0)[1]


def _kmeans_parallel(X):
    return KMeans(5, init="k-means||", n_init=1, max_iter=2, random_state=0).fit(X).cluster_centers_


def _minibatch(X):
    est = MiniBatchKMeans(5, init=C0.astype(X.dtype), n_init=1, batch_size=64, max_iter=2, random_state=0)
    return est.fit(X).cluster_centers_


def _minibatch_partial(X):
    return MiniBatchKMeans(5, init=C0.astype(X.dtype), n_init=1, random_state=0).partial_fit(X).cluster_centers_


def _gmm(cov):
    def run(X):
        est = GaussianMixture(3, covariance_type=cov, init_params="random_from_data", max_iter=2, random_state=0)
        return est.fit(X).score_samples(X)
    run.__name__ = f"gmm_{cov}"
    return run


def _nb(X):
    return GaussianNB().fit(X, y).predict_log_proba(X)


def _classifier(X):
    return GaussianClassifier(covariance_type="full").fit(X, y).predict_log_proba(X)


FAMILIES = [_kmeans, _elkan, _csr, _transform, _plusplus, _kmeans_parallel, _minibatch, _minibatch_partial,
            _gmm("full"), _gmm("tied"), _gmm("diag"), _gmm("spherical"), _nb, _classifier]


def _count_allocations(run, X):
    _alloc._fail_allocations_after(2**62)  # counts, fails none
    try:
        result = run(X)
        return result, _alloc._allocations_counted()
    finally:
        _alloc._fail_allocations_after(None)


@pytest.mark.parametrize("X", [X64, X32], ids=["float64", "float32"])
@pytest.mark.parametrize("run", FAMILIES, ids=lambda f: f.__name__.strip("_"))
def test_failed_allocation_is_memory_error(run, X):
    expected, n_allocations = _count_allocations(run, X)
    assert n_allocations > 0, "the family allocates no kernel scratch: nothing tested"
    # the first, the last and a spread in between (every one for small counts)
    points = sorted(set(np.linspace(0, n_allocations - 1, min(n_allocations, 12)).astype(int)))
    for after in points:
        _alloc._fail_allocations_after(int(after))
        try:
            with pytest.raises(MemoryError, match="could not allocate"):
                run(X)
        finally:
            _alloc._fail_allocations_after(None)
    # nothing left behind: the same answer once memory is there
    np.testing.assert_array_equal(run(X), expected)


def test_alloc_hook_off_by_default():
    _alloc._fail_allocations_after(None)
    assert _count_allocations(_kmeans, X64)[1] > 0
    _kmeans(X64)  # no limit set: no failure
