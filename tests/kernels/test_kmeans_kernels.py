"""The k-means kernels against plain NumPy references, at chunk and block edges."""
import numpy as np
import pytest

from lvmfast._kernels import _distances, _kmeanspp, _lloyd
from lvmfast._parallel import blas_single_thread, plan_blocks

DTYPES = [np.float64, np.float32]
RTOL = {np.float64: 1e-10, np.float32: 2e-4}


# -- references ---------------------------------------------------------------


def ref_sq_distances(X, C):
    X = X.astype(np.float64)
    C = C.astype(np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


def ref_lloyd_step(X, shift, weights, centers, previous_labels):
    Xc = X.astype(np.float64) - shift.astype(np.float64)
    d = ref_sq_distances(Xc, centers)
    labels = d.argmin(axis=1)
    inertia = float(np.sum(weights * d[np.arange(len(X)), labels]))
    K = centers.shape[0]
    sums = np.zeros((K, X.shape[1]))
    np.add.at(sums, labels, weights[:, None] * Xc)
    cluster_weights = np.bincount(labels, weights=weights.astype(np.float64), minlength=K)
    return labels, inertia, sums, cluster_weights, int(np.sum(labels != previous_labels))


def ref_kmeans_plusplus(X, weights, first, uniforms):
    """Greedy k-means++ as scikit-learn writes it, in float64."""
    X = X.astype(np.float64)
    w = weights.astype(np.float64)
    indices = [first]
    closest = ref_sq_distances(X, X[[first]])[:, 0]
    for u in uniforms:
        cumulative = np.cumsum(w * closest)
        candidates = np.minimum(np.searchsorted(cumulative, u * cumulative[-1]), len(X) - 1)
        trial = np.minimum(closest, ref_sq_distances(X, X[candidates]).T)
        best = int(np.argmin(trial @ w))
        indices.append(int(candidates[best]))
        closest = trial[best]
    return np.array(indices)


# -- helpers ------------------------------------------------------------------


def run_lloyd(X, shift, weights, centers, labels, chunk_rows, block_rows, n_threads=2, update=True):
    n_blocks = -(-X.shape[0] // block_rows)
    K, D = centers.shape
    sums = np.full((n_blocks, K, D), np.nan)
    cluster_weights = np.full((n_blocks, K), np.nan)
    inertia = np.full(n_blocks, np.nan)
    center_sq = np.einsum("ij,ij->i", centers, centers)
    with blas_single_thread():
        changed = _lloyd.lloyd_step(
            X, shift, weights, centers, center_sq, labels, sums, cluster_weights, inertia,
            chunk_rows, block_rows, n_threads, update, True,
        )
    return changed, inertia.sum(), sums.sum(axis=0), cluster_weights.sum(axis=0)


EDGES = [
    # (n_samples, chunk_rows, block_rows)
    (1, 16, 16),
    (15, 16, 16),
    (16, 16, 16),
    (17, 16, 16),
    (47, 16, 48),
    (48, 16, 48),
    (49, 16, 48),
    (1000, 16, 48),  # many blocks, a ragged last one
    (1000, 64, 1024),  # one block of several chunks
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_samples,chunk_rows,block_rows", EDGES)
@pytest.mark.parametrize("n_clusters", [1, 3, 17])
def test_lloyd_step_matches_numpy(dtype, n_samples, chunk_rows, block_rows, n_clusters):
    rng = np.random.default_rng(n_samples * 31 + n_clusters)
    X = (rng.standard_normal((n_samples, 5)) * 3 + 10).astype(dtype)
    weights = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    centers = (rng.standard_normal((n_clusters, 5)) * 3).astype(dtype)
    previous = rng.integers(0, n_clusters, n_samples).astype(np.int32)
    labels = previous.copy()

    changed, inertia, sums, cluster_weights = run_lloyd(X, shift, weights, centers, labels, chunk_rows, block_rows)
    ref_labels, ref_inertia, ref_sums, ref_weights, ref_changed = ref_lloyd_step(X, shift, weights, centers, previous)

    np.testing.assert_array_equal(labels, ref_labels)
    assert changed == ref_changed
    np.testing.assert_allclose(inertia, ref_inertia, rtol=RTOL[dtype])
    np.testing.assert_allclose(sums, ref_sums, rtol=RTOL[dtype], atol=1e-9 * n_samples)
    np.testing.assert_allclose(cluster_weights, ref_weights, rtol=1e-12 if dtype is np.float64 else 1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_step_without_update_only_assigns(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)).astype(dtype)
    centers = rng.standard_normal((6, 4)).astype(dtype)
    labels = np.full(300, -1, np.int32)
    shift = np.zeros(4, dtype)
    weights = np.ones(300, dtype)
    changed, inertia, _, _ = run_lloyd(X, shift, weights, centers, labels, 16, 32, update=False)
    assert changed == 300
    np.testing.assert_array_equal(labels, ref_sq_distances(X, centers).argmin(axis=1))
    np.testing.assert_allclose(inertia, ref_sq_distances(X, centers).min(axis=1).sum(), rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_step_same_result_for_any_thread_count(dtype):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5000, 7)).astype(dtype)
    centers = rng.standard_normal((9, 7)).astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    weights = rng.uniform(0, 1, 5000).astype(dtype)
    results = []
    for n_threads in (1, 2, 3):
        labels = np.full(5000, -1, np.int32)
        out = run_lloyd(X, shift, weights, centers, labels, 32, 96, n_threads=n_threads)
        results.append((labels, *out))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0][0], other[0])
        assert results[0][2] == other[2]  # inertia, bit for bit
        np.testing.assert_array_equal(results[0][3], other[3])
        np.testing.assert_array_equal(results[0][4], other[4])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_samples,chunk_rows", [(1, 16), (15, 16), (16, 16), (17, 16), (500, 64)])
def test_pairwise_sq_distances_matches_numpy(dtype, n_samples, chunk_rows):
    rng = np.random.default_rng(n_samples)
    X = (rng.standard_normal((n_samples, 6)) + 5).astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    centers = rng.standard_normal((4, 6)).astype(dtype)
    out = np.empty((n_samples, 4), dtype)
    with blas_single_thread():
        _distances.pairwise_sq_distances(X, shift, centers, out, chunk_rows, 2)
    ref = ref_sq_distances(X.astype(np.float64) - shift, centers)
    np.testing.assert_allclose(out, ref, rtol=RTOL[dtype], atol=1e-4 if dtype is np.float32 else 1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_assigned_sq_distances_matches_numpy(dtype):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((333, 3)).astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    centers = rng.standard_normal((5, 3)).astype(dtype)
    labels = rng.integers(0, 5, 333).astype(np.int32)
    out = np.empty(333)
    _distances.assigned_sq_distances(X, shift, centers, labels, out, 2)
    ref = ((X.astype(np.float64) - shift - centers[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(out, ref, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [1, 7, 16, 37])
def test_direct_sq_distances_match_numpy_and_not_their_company(dtype, n_features):
    # lvm_sq_distances, the k-means++ passes' kernel (here through
    # direct_pairwise_sq_distances, which runs it on every center at once),
    # takes columns in tiles of 4 (a short last tile repeats a column) and a
    # lone column alone; a distance must not depend on which columns share
    # the call, or the sampling rescan of a block (one column) would disagree
    # with the pass that summed its potential (a tile).
    rng = np.random.default_rng(n_features)
    X = rng.standard_normal((50, n_features)).astype(dtype) * 3
    cols = rng.standard_normal((9, n_features)).astype(dtype)
    ref = ((X[:, None, :].astype(np.float64) - cols[None, :, :]) ** 2).sum(axis=2)
    for n_cols in range(1, 10):
        out = np.full((50, n_cols), -1.0, dtype=dtype)
        _distances.direct_pairwise_sq_distances(X, cols[:n_cols], out, 16, 2)
        np.testing.assert_allclose(out, ref[:, :n_cols], rtol=RTOL[dtype])
        for t in range(n_cols):
            alone = np.empty((50, 1), dtype=dtype)
            _distances.direct_pairwise_sq_distances(X, cols[t:t + 1], alone, 16, 2)
            np.testing.assert_array_equal(out[:, t], alone[:, 0])


def run_kmeans_plusplus(X, weights, first, uniforms, chunk_rows, block_rows, n_threads=2, return_computed=False):
    n_blocks = -(-X.shape[0] // block_rows)
    indices = np.empty(uniforms.shape[0] + 1, dtype=np.intp)
    closest = np.empty(X.shape[0])
    labels = np.empty(X.shape[0], dtype=np.intc)
    pots = np.empty((n_blocks, uniforms.shape[1] + 1))
    computed = _kmeanspp.kmeans_plusplus(X, weights, first, uniforms, indices, closest, labels, pots, chunk_rows, block_rows, n_threads)
    return (indices, computed) if return_computed else indices


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_samples,chunk_rows,block_rows", [(5, 16, 16), (17, 16, 16), (49, 16, 48), (2000, 16, 48), (2000, 64, 4096)])
@pytest.mark.parametrize("n_clusters", [1, 2, 5])
def test_kmeans_plusplus_matches_numpy(dtype, n_samples, chunk_rows, block_rows, n_clusters):
    rng = np.random.default_rng(n_samples + n_clusters)
    X = (rng.standard_normal((n_samples, 4)) + rng.integers(0, 4, (n_samples, 1)) * 3).astype(dtype)
    weights = rng.uniform(0.1, 1.0, n_samples).astype(dtype)
    first = int(rng.integers(n_samples))
    uniforms = rng.uniform(size=(n_clusters - 1, 3))
    got = run_kmeans_plusplus(X, weights, first, uniforms, chunk_rows, block_rows)
    np.testing.assert_array_equal(got, ref_kmeans_plusplus(X, weights, first, uniforms))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chunk_rows,block_rows", [(16, 48), (64, 4096)])
def test_kmeans_plusplus_skips_rows_and_keeps_the_picks(dtype, chunk_rows, block_rows):
    # Well separated blobs: once a few centers are chosen, most rows lie
    # within half their center's distance to every candidate and are skipped.
    rng = np.random.default_rng(11)
    n_samples, n_clusters = 3000, 30
    centers = rng.uniform(-20, 20, (n_clusters, 5))
    X = (rng.standard_normal((n_samples, 5)) + centers[rng.integers(0, n_clusters, n_samples)]).astype(dtype)
    weights = rng.uniform(0.5, 1.5, n_samples).astype(dtype)
    uniforms = rng.uniform(size=(n_clusters - 1, 5))
    got, computed = run_kmeans_plusplus(X, weights, 3, uniforms, chunk_rows, block_rows, return_computed=True)
    np.testing.assert_array_equal(got, ref_kmeans_plusplus(X, weights, 3, uniforms))
    assert computed < 0.6 * n_samples * n_clusters


@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_plusplus_rows_on_the_pruning_boundary(dtype):
    # Integer points on a line, many duplicates: rows sit exactly at half a
    # candidate's distance from their center, and distances tie.
    rng = np.random.default_rng(12)
    X = rng.integers(0, 9, (400, 1)).astype(dtype) * np.array([[2.0, 0.0]], dtype=dtype)
    weights = np.ones(400, dtype=dtype)
    uniforms = rng.uniform(size=(6, 3))
    got = run_kmeans_plusplus(X, weights, 0, uniforms, 16, 64)
    np.testing.assert_array_equal(got, ref_kmeans_plusplus(X, weights, 0, uniforms))


def test_kmeans_plusplus_same_for_any_thread_count():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20000, 6))
    weights = np.ones(20000)
    uniforms = rng.uniform(size=(11, 4))
    runs = [run_kmeans_plusplus(X, weights, 7, uniforms, 64, 640, n_threads=t) for t in (1, 2, 4)]
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0], other)


def test_kmeans_plusplus_never_picks_zero_weight_rows():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((400, 3))
    weights = np.ones(400)
    weights[::2] = 0.0
    uniforms = rng.uniform(size=(9, 3))
    got = run_kmeans_plusplus(X, weights, 1, uniforms, 16, 64)
    assert np.all(got % 2 == 1)


@pytest.mark.parametrize("n_samples", [1, 10, 10**6])
def test_block_plan_covers_rows(n_samples):
    plan = plan_blocks(n_samples, row_bytes=800, stat_bytes=64 * 33 * 8)
    assert plan.block_rows % plan.chunk_rows == 0
    assert (plan.n_blocks - 1) * plan.block_rows < n_samples <= plan.n_blocks * plan.block_rows


def run_lloyd_single(X, shift, weights, centers, labels, chunk_rows, block_rows):
    """lloyd_step on float64 data with its distance gemm in float32."""
    from lvmfast.cluster._rows import _single_precision_args

    n_blocks = -(-X.shape[0] // block_rows)
    K, D = centers.shape
    sums, cluster_weights, inertia = np.zeros((n_blocks, K, D)), np.zeros((n_blocks, K)), np.zeros(n_blocks)
    row_sq = ((X - shift) ** 2).sum(axis=1)
    center_sq = np.einsum("ij,ij->i", centers, centers)
    with blas_single_thread():
        changed = _lloyd.lloyd_step(
            X, shift, weights, centers, center_sq, labels, sums, cluster_weights, inertia,
            chunk_rows, block_rows, 2, True, True, **_single_precision_args(centers, center_sq, row_sq),
        )
    return changed, inertia.sum(), sums.sum(axis=0), cluster_weights.sum(axis=0)


@pytest.mark.parametrize("n_samples,chunk_rows,block_rows", EDGES)
def test_single_precision_gemm_gives_float64_labels(n_samples, chunk_rows, block_rows):
    rng = np.random.default_rng(n_samples)
    X = rng.standard_normal((n_samples, 6)) * 4 + 3
    shift = X.mean(axis=0)
    centers = rng.standard_normal((9, 6)) * 4
    weights = rng.uniform(0.5, 2, n_samples)
    previous = np.full(n_samples, -1, np.int32)
    labels = previous.copy()
    changed, inertia, sums, cluster_weights = run_lloyd_single(X, shift, weights, centers, labels, chunk_rows, block_rows)
    ref_labels, ref_inertia, ref_sums, ref_weights, _ = ref_lloyd_step(X, shift, weights, centers, previous)
    np.testing.assert_array_equal(labels, ref_labels)
    assert changed == n_samples
    np.testing.assert_allclose(inertia, ref_inertia, rtol=1e-10)
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-10, atol=1e-9 * n_samples)
    np.testing.assert_allclose(cluster_weights, ref_weights, rtol=1e-12)


def test_single_precision_gemm_redoes_rows_float32_cannot_separate():
    # Centers 3e-6 apart at norm ~10: float32 scores cannot tell them apart,
    # so every row must be settled by the float64 gemm; duplicate centers
    # tie exactly and go to the lower index.
    rng = np.random.default_rng(5)
    base = rng.standard_normal(4) * 10
    direction = rng.standard_normal(4)
    centers = np.array([base, base + 3e-6 * direction, base + 3e-6 * direction, base - 5.0])
    X = base + rng.standard_normal((500, 4)) * 1e-3 + np.outer(rng.choice([-1.0, 1.0], 500), 1e-4 * direction)
    shift = np.zeros(4)
    labels = np.full(500, -1, np.int32)
    run_lloyd_single(X, shift, np.ones(500), centers, labels, 64, 128)
    expected = ref_sq_distances(X, centers).argmin(axis=1)
    assert set(expected.tolist()) == {0, 1}  # both sides of the near tie occur
    np.testing.assert_array_equal(labels, expected)
    # float32 alone would have mislabelled rows here
    C32 = centers.astype(np.float32)
    scores32 = np.einsum("ij,ij->i", C32, C32) - 2 * X.astype(np.float32) @ C32.T
    assert (scores32.argmin(axis=1) != expected).any()


# -- the fused assignment (float32 scores without a gemm) ----------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [1, 3, 16, 17, 33])
@pytest.mark.parametrize("n_clusters", [1, 2, 7, 8, 9, 64, 100])
def test_lloyd_step_labels_at_tile_edges_match_numpy(dtype, n_features, n_clusters):
    # rows (77: not a whole number of row tiles), features (not a whole
    # number of transposed blocks) and centers (not a whole number of center
    # tiles) at every edge of the fused kernel's tiles
    rng = np.random.default_rng(n_features * 131 + n_clusters)
    X = rng.standard_normal((77, n_features)).astype(dtype)
    centers = rng.standard_normal((n_clusters, n_features)).astype(dtype)
    shift = np.zeros(n_features, dtype)
    weights = np.ones(77, dtype)
    for chunk_rows, block_rows in [(16, 48), (32, 64), (80, 80)]:
        labels = np.full(77, -1, np.int32)
        run_lloyd(X, shift, weights, centers, labels, chunk_rows, block_rows)
        np.testing.assert_array_equal(labels, ref_sq_distances(X, centers).argmin(axis=1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_step_labels_near_ties_far_from_the_origin(dtype):
    # Centers ~100 from the origin, rows near them, squared distances to the
    # two nearest centers 1e-3 apart: the float32 expansion ||c||^2 - 2 x.c
    # errs by ~1e-2 there and cannot order them; direct differences can.
    rng = np.random.default_rng(5)
    n_features = 8
    base = np.full(n_features, 100.0 / np.sqrt(n_features))
    centers = base + rng.standard_normal((6, n_features))
    pairs = rng.integers(0, 6, (400, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    a, b = centers[pairs[:, 0]], centers[pairs[:, 1]]
    # the midpoint of a and b, moved along a - b by +-t: the squared
    # distances then differ by 4 t ||a - b||
    direction = (a - b) / np.linalg.norm(a - b, axis=1, keepdims=True)
    t = 2.5e-4 / np.linalg.norm(a - b, axis=1, keepdims=True) * rng.choice([-1, 1], (len(a), 1))
    X = ((a + b) / 2 + t * direction).astype(dtype)
    centers = centers.astype(dtype)
    shift = np.zeros(n_features, dtype)
    labels = np.full(len(X), -1, np.int32)
    run_lloyd(X, shift, np.ones(len(X), dtype), centers, labels, 64, 128)
    ref = ref_sq_distances(X, centers)
    expected = ref.argmin(axis=1)
    np.testing.assert_array_equal(labels, expected)
    # the data does hold near ties beyond float32's expansion
    two = np.sort(ref, axis=1)[:, :2]
    assert np.median(two[:, 1] - two[:, 0]) < 2e-3
