"""The CSR k-means kernels against plain NumPy references (the small test
matrices are densified here only), their shape checks, their independence of
the thread count, and k-means++ on CSR against scikit-learn's picks."""
import numpy as np
import pytest
import scipy.sparse as sp

from lvmfast._kernels import _sparse as kernels
from lvmfast._parallel import plan_blocks
from lvmfast.cluster._rows import plan_csr_blocks
from lvmfast.cluster._seeding import csr_kmeans_plusplus_indices

DTYPES = [np.float64, np.float32]
INDEX_DTYPES = [np.int32, np.int64]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}


# -- data ---------------------------------------------------------------------


def make_csr(rng, n_samples, n_features, density, dtype=np.float64, index_dtype=np.int32,
             empty_rows=0.1, normalize=False):
    """A canonical random CSR matrix with some empty rows."""
    X = sp.random(n_samples, n_features, density=density, format="csr", random_state=rng,
                  data_rvs=lambda n: rng.standard_normal(n) + 0.5).astype(dtype)
    if empty_rows and n_samples:
        keep = rng.random(n_samples) >= empty_rows
        X = sp.diags(keep.astype(dtype)) @ X
        X = sp.csr_matrix(X)
        X.eliminate_zeros()
    if normalize:
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        X = sp.csr_matrix(sp.diags(1 / norms) @ X).astype(dtype)
    X.sum_duplicates()
    X.sort_indices()
    X = X.astype(dtype)
    # scipy would pick int32 itself; set the index arrays directly.
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    assert X.indices.dtype == index_dtype and X.indptr.dtype == index_dtype
    return X


def parts(X):
    return X.data, X.indices, X.indptr, X.shape[1]


def dense64(X):
    return X.toarray().astype(np.float64)


def row_sq(X):
    out = np.empty(X.shape[0])
    kernels.csr_row_sq_norms(X.data, X.indptr, out, 2)
    return out


CASES = [
    # (n_samples, n_features, density, n_clusters)
    (200, 30, 0.2, 5),
    (333, 1, 0.5, 3),  # one feature
    (150, 50, 0.05, 1),  # one center, many empty rows
    (1000, 400, 0.01, 20),
    (97, 17, 0.9, 33),  # K above the vector width, nearly dense
]


# -- references ---------------------------------------------------------------


def ref_lloyd(X, weights, centers, previous):
    Xd = dense64(X)
    C = centers.astype(np.float64)
    dots = Xd @ C.T
    c_sq = (C ** 2).sum(axis=1)
    labels = np.argmin(c_sq - 2 * dots, axis=1)
    x_sq = (Xd ** 2).sum(axis=1)
    rows = np.arange(len(Xd))
    d = np.maximum(x_sq - 2 * dots[rows, labels] + c_sq[labels], 0)
    w = weights.astype(np.float64)
    K = len(C)
    sums = np.zeros_like(C)
    np.add.at(sums, labels, w[:, None] * Xd)
    return (labels, float(w @ d), sums, np.bincount(labels, weights=w, minlength=K),
            int(np.sum(labels != previous)))


def run_lloyd(X, weights, centers, labels, n_threads=2, plan=None, update=True, inertia=True):
    data, indices, indptr, n_features = parts(X)
    n_samples = X.shape[0]
    K = centers.shape[0]
    plan = plan or plan_csr_blocks(X, K)
    sums = np.full((K, n_features), np.nan)
    weights_out = np.full(K, np.nan)
    block_inertia = np.full(plan.n_blocks, np.nan)
    center_sq = np.einsum("ij,ij->i", centers, centers).astype(centers.dtype)
    changed = kernels.csr_lloyd_step(
        data, indices, indptr, n_features, weights, centers, center_sq, labels,
        row_sq(X), sums, weights_out, block_inertia, plan.chunk_rows, plan.block_rows,
        n_threads, update, inertia)
    assert n_samples == len(labels)
    return changed, block_inertia, sums, weights_out


def some_centers(rng, X, K, dtype):
    C = rng.standard_normal((K, X.shape[1])) * 0.3
    return np.ascontiguousarray(C, dtype=dtype)


# -- row norms -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_row_sq_norms(rng, dtype, index_dtype):
    X = make_csr(rng, 300, 40, 0.1, dtype, index_dtype)
    out = np.full(300, np.nan)
    kernels.csr_row_sq_norms(X.data, X.indptr, out, 2)
    np.testing.assert_allclose(out, (dense64(X) ** 2).sum(axis=1), rtol=1e-13)
    assert np.all(out[np.diff(X.indptr) == 0] == 0)


# -- Lloyd ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_lloyd_step_matches_numpy(rng, dtype, index_dtype, case):
    n_samples, n_features, density, K = case
    X = make_csr(rng, n_samples, n_features, density, dtype, index_dtype)
    centers = some_centers(rng, X, K, dtype)
    weights = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    previous = rng.integers(0, K, n_samples).astype(np.intc)
    ref_labels, ref_inertia, ref_sums, ref_weights, ref_changed = ref_lloyd(X, weights, centers, previous)
    labels = previous.copy()
    # A small plan too, so that there are many blocks.
    for plan in (None, plan_blocks(n_samples, 10**6)):
        labels[:] = previous
        changed, block_inertia, sums, cluster_weights = run_lloyd(X, weights, centers, labels, plan=plan)
        np.testing.assert_array_equal(labels, ref_labels)
        assert changed == ref_changed
        rtol = RTOL[dtype]
        np.testing.assert_allclose(block_inertia.sum(), ref_inertia, rtol=rtol)
        np.testing.assert_allclose(sums, ref_sums, rtol=rtol, atol=1e-13)
        np.testing.assert_allclose(cluster_weights, ref_weights, rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_block_inertia_is_per_block(rng, dtype):
    X = make_csr(rng, 500, 20, 0.2, dtype)
    centers = some_centers(rng, X, 4, dtype)
    weights = np.ones(500, dtype)
    plan = plan_blocks(500, 10**6)  # 16-row chunks
    assert plan.n_blocks > 4
    labels = np.zeros(500, np.intc)
    _, block_inertia, _, _ = run_lloyd(X, weights, centers, labels, plan=plan)
    Xd = dense64(X)
    C = centers.astype(np.float64)
    d = np.maximum((Xd ** 2).sum(1)[:, None] - 2 * (Xd @ C.T) + (C ** 2).sum(1), 0).min(axis=1)
    per_block = [d[b * plan.block_rows:(b + 1) * plan.block_rows].sum() for b in range(plan.n_blocks)]
    np.testing.assert_allclose(block_inertia, per_block, rtol=RTOL[dtype], atol=1e-12)


def test_lloyd_ties_go_to_the_lowest_center(rng):
    X = make_csr(rng, 50, 6, 0.5)
    centers = np.zeros((4, 6))
    centers[1] = centers[3] = 0.7  # centers 1 and 3 coincide, as do 0 and 2
    labels = np.full(50, -1, np.intc)
    run_lloyd(X, np.ones(50), centers, labels)
    assert set(np.unique(labels)) <= {0, 1}
    # Empty rows are at distance ||c||^2: the zero center 0.
    assert np.all(labels[np.diff(X.indptr) == 0] == 0)


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_lloyd_float64_near_ties_are_rescored(rng, index_dtype):
    # Centers 1e-7 apart (relative): float32 scores cannot order them, so the
    # float64 assignment must rescore those rows in float64.
    X = make_csr(rng, 400, 30, 0.3, index_dtype=index_dtype)
    base = rng.standard_normal(30) * 0.3
    centers = base + 1e-7 * rng.standard_normal((6, 30))
    weights = np.ones(400)
    previous = np.zeros(400, np.intc)
    ref_labels, ref_inertia, ref_sums, _, _ = ref_lloyd(X, weights, centers, previous)
    assert len(np.unique(ref_labels[np.diff(X.indptr) > 0])) > 2
    labels = previous.copy()
    _, block_inertia, sums, _ = run_lloyd(X, weights, centers, labels)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(block_inertia.sum(), ref_inertia, rtol=1e-12)
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_without_update_or_inertia(rng, dtype):
    X = make_csr(rng, 120, 15, 0.3, dtype)
    centers = some_centers(rng, X, 3, dtype)
    labels = np.zeros(120, np.intc)
    plan = plan_csr_blocks(X, 3)
    center_sq = np.einsum("ij,ij->i", centers, centers).astype(dtype)
    changed = kernels.csr_lloyd_step(*parts(X), np.ones(120, dtype), centers, center_sq, labels,
                                     None, None, None, None, plan.chunk_rows, plan.block_rows, 2,
                                     False, False)
    ref_labels = ref_lloyd(X, np.ones(120), centers, np.zeros(120))[0]
    np.testing.assert_array_equal(labels, ref_labels)
    assert changed == np.sum(ref_labels != 0)
    # A second call changes nothing.
    assert kernels.csr_lloyd_step(*parts(X), np.ones(120, dtype), centers, center_sq, labels,
                                  None, None, None, None, plan.chunk_rows, plan.block_rows, 1,
                                  False, False) == 0


def test_lloyd_empty_matrix_rows_only(rng):
    X = sp.csr_matrix((40, 7))
    centers = some_centers(rng, X, 3, np.float64)
    labels = np.zeros(40, np.intc)
    _, block_inertia, sums, weights = run_lloyd(X, np.ones(40), centers, labels)
    c_sq = (centers ** 2).sum(1)
    assert np.all(labels == np.argmin(c_sq))
    np.testing.assert_allclose(block_inertia.sum(), 40 * c_sq.min(), rtol=1e-14)
    assert np.all(sums == 0)
    assert weights[np.argmin(c_sq)] == 40 and weights.sum() == 40


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("n_threads", [1, 2, 5])
def test_cluster_sums(rng, dtype, index_dtype, n_threads):
    # csr_lloyd_step's per-cluster sums (clusters dealt into one group per
    # thread, each summed in row order) against NumPy's from the labels the
    # step gave: skewed clusters (the empty rows all go to center 0, the
    # origin), and clusters 7 and 8 (far centers) empty: their slots must be
    # zeroed.
    X = make_csr(rng, 700, 60, 0.1, dtype, index_dtype)
    K = 9
    dense = dense64(X)
    centers = np.full((K, 60), 1e3)
    centers[0] = 0
    centers[1:7] = dense[rng.choice(700, 6, replace=False)]
    centers = centers.astype(dtype)
    weights = rng.uniform(0.5, 2.0, 700).astype(dtype)
    labels = np.zeros(700, np.intc)
    _, _, sums, cluster_weights = run_lloyd(X, weights, centers, labels, n_threads=n_threads)
    w = weights.astype(np.float64)
    ref = np.zeros((K, 60))
    np.add.at(ref, labels, w[:, None] * dense)
    np.testing.assert_allclose(sums, ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cluster_weights, np.bincount(labels, weights=w, minlength=K), rtol=1e-12)
    assert np.all(sums[7:] == 0) and np.all(cluster_weights[7:] == 0)
    sizes = np.bincount(labels, minlength=K)
    assert sizes[0] > 2 * sizes[1:7].max() and np.count_nonzero(sizes[1:7]) == 6


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_rows(dtype):
    X = sp.csr_matrix((0, 5), dtype=dtype)
    centers = np.ones((2, 5), dtype)
    labels = np.zeros(0, np.intc)
    changed, block_inertia, sums, weights = run_lloyd(X, np.ones(0, dtype), centers, labels)
    assert changed == 0 and np.all(block_inertia == 0) and np.all(sums == 0) and np.all(weights == 0)
    out = np.empty((0, 2), dtype)
    kernels.csr_pairwise_sq_distances(*parts(X), np.empty(0), centers, np.ones(2), out, 16, 2)


# -- distances ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_pairwise_sq_distances(rng, dtype, index_dtype, case):
    n_samples, n_features, density, K = case
    X = make_csr(rng, n_samples, n_features, density, dtype, index_dtype)
    centers = some_centers(rng, X, K, dtype)
    C = centers.astype(np.float64)
    c_sq = (C ** 2).sum(axis=1)
    out = np.full((n_samples, K), np.nan, dtype=dtype)
    kernels.csr_pairwise_sq_distances(*parts(X), row_sq(X), centers, c_sq, out, 64, 2)
    Xd = dense64(X)
    ref = np.maximum((Xd ** 2).sum(1)[:, None] - 2 * Xd @ C.T + c_sq, 0)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref, rtol=RTOL[dtype], atol=1e-12)
    direct = ((Xd[:, None, :] - C[None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(out, direct, rtol=1e-5, atol=1e-9)


def test_distances_clamp_at_zero(rng):
    # Centers equal to rows: the norm expansion rounds to tiny values of
    # either sign; the kernels must clamp the negative ones at 0.
    X = make_csr(rng, 300, 200, 0.3, empty_rows=0)
    centers = np.ascontiguousarray(X[:40].toarray())
    x_sq = row_sq(X)
    c_sq = x_sq[:40].copy()
    Xd = dense64(X)
    expansion = x_sq[:, None] - 2 * Xd @ centers.T + c_sq
    assert np.any(np.diag(expansion[:40]) < 0)  # else this test could not fail
    out = np.empty((300, 40))
    kernels.csr_pairwise_sq_distances(*parts(X), x_sq, centers, c_sq, out, 16, 1)
    assert np.all(out >= 0) and np.all(np.diag(out[:40]) < 1e-12)
    closest = np.full(300, np.inf)
    for t in range(40):
        kernels.csr_pp_fold_center(*parts(X), x_sq, centers[t], c_sq[t], closest, 1)
    assert np.all(closest >= 0) and np.all(closest[:40] < 1e-12)
    pots = np.empty((1, 40))
    kernels.csr_pp_potentials(*parts(X)[:3], 200, x_sq, np.ones(300), np.full(300, np.inf),
                              centers, c_sq, pots, 300, 300, 1)
    assert np.all(pots >= 0)
    labels = np.arange(300, dtype=np.intc) % 40
    assigned = np.empty(300)
    kernels.csr_assigned_sq_distances(*parts(X), centers, labels, assigned, 1)
    assert np.all(assigned >= 0)
    np.testing.assert_allclose(assigned, ((Xd - centers[labels]) ** 2).sum(1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_assigned_sq_distances(rng, dtype, index_dtype, case):
    n_samples, n_features, density, K = case
    X = make_csr(rng, n_samples, n_features, density, dtype, index_dtype)
    centers = some_centers(rng, X, K, dtype)
    labels = rng.integers(0, K, n_samples).astype(np.intc)
    out = np.full(n_samples, np.nan)
    kernels.csr_assigned_sq_distances(*parts(X), centers, labels, out, 2)
    Xd = dense64(X)
    ref = ((Xd - centers.astype(np.float64)[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


# -- k-means++ ------------------------------------------------------------------


def ref_pp_distance(X, cands):
    Xd = dense64(X)
    C = cands.astype(np.float64)
    return np.maximum((Xd ** 2).sum(1)[:, None] - 2 * Xd @ C.T + (C ** 2).sum(1), 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_pp_potentials_and_fold(rng, dtype, index_dtype, case):
    n_samples, n_features, density, K = case
    X = make_csr(rng, n_samples, n_features, density, dtype, index_dtype)
    n_trials = min(K, 5)
    rows = rng.choice(n_samples, n_trials, replace=False)
    cands = np.ascontiguousarray(X[rows].toarray(), dtype=dtype)
    weights = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    closest = rng.uniform(0, 3, n_samples)
    plan = plan_blocks(n_samples, 10**6)
    pots = np.full((plan.n_blocks, n_trials), np.nan)
    x_sq = row_sq(X)
    kernels.csr_pp_potentials(*parts(X), x_sq, weights, closest, cands, x_sq[rows], pots,
                              plan.chunk_rows, plan.block_rows, 2)
    d = ref_pp_distance(X, cands)
    terms = weights.astype(np.float64)[:, None] * np.minimum(closest[:, None], d)
    ref = np.array([terms[b * plan.block_rows:(b + 1) * plan.block_rows].sum(axis=0)
                    for b in range(plan.n_blocks)])
    np.testing.assert_allclose(pots, ref, rtol=1e-12, atol=1e-12)

    # Folding candidate t gives exactly the per-row terms the potential used.
    for t in range(n_trials):
        folded = closest.copy()
        kernels.csr_pp_fold_center(*parts(X), x_sq, cands[t], float(x_sq[rows[t]]), folded, 2)
        np.testing.assert_allclose(folded, np.minimum(closest, d[:, t]), rtol=1e-12, atol=1e-12)
        one = np.empty((plan.n_blocks, 1))
        kernels.csr_pp_potentials(*parts(X), x_sq, weights, closest, cands[t:t + 1], x_sq[rows[t:t + 1]],
                                  one, plan.chunk_rows, plan.block_rows, 1)
        again = np.array([np.sum(weights[b * plan.block_rows:(b + 1) * plan.block_rows].astype(np.float64)
                                 * folded[b * plan.block_rows:(b + 1) * plan.block_rows])
                          for b in range(plan.n_blocks)])
        np.testing.assert_allclose(one[:, 0], again, rtol=1e-13)
        # The row itself is at distance 0 (up to rounding).
        assert folded[rows[t]] <= 1e-12 * max(1.0, x_sq[rows[t]])


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2024])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_plusplus_picks_scikit_learns_rows(seed, weighted):
    from sklearn.cluster import kmeans_plusplus

    rng = np.random.default_rng(seed)
    X = make_csr(rng, 600, 80, 0.05, normalize=True)
    weights = rng.uniform(0.5, 3.0, 600) if weighted else np.ones(600)
    K = 12
    _, expected = kmeans_plusplus(X, K, sample_weight=weights, random_state=seed)
    for n_threads in (1, 2):
        got = csr_kmeans_plusplus_indices(X, weights, K, seed, n_threads=n_threads)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_kmeans_plusplus_trials_and_int64(rng, index_dtype):
    from sklearn.cluster import kmeans_plusplus

    X = make_csr(rng, 400, 60, 0.08, index_dtype=index_dtype)
    for n_trials in (1, 4):
        _, expected = kmeans_plusplus(sp.csr_matrix(X, dtype=np.float64), 7, random_state=3,
                                      n_local_trials=n_trials)
        got = csr_kmeans_plusplus_indices(X, np.ones(400), 7, np.random.RandomState(3),
                                          n_local_trials=n_trials)
        np.testing.assert_array_equal(got, expected)


def test_kmeans_plusplus_float32_picks_distinct_rows(rng):
    X = make_csr(rng, 300, 40, 0.1, np.float32, empty_rows=0)
    got = csr_kmeans_plusplus_indices(X, np.ones(300), 10, 0)
    assert got.dtype == np.intp and len(set(got)) == 10 and got.min() >= 0 and got.max() < 300
    with pytest.raises(ValueError, match="n_clusters"):
        csr_kmeans_plusplus_indices(X, np.ones(300), 301, 0)


# -- thread count -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_results_do_not_depend_on_the_thread_count(rng, dtype, index_dtype):
    n_samples, K = 5000, 7
    X = make_csr(rng, n_samples, 300, 0.03, dtype, index_dtype)
    centers = some_centers(rng, X, K, dtype)
    weights = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    x_sq = row_sq(X)
    results = []
    for n_threads in (1, 2, 3):
        single = np.empty(n_samples)
        kernels.csr_row_sq_norms(X.data, X.indptr, single, n_threads)
        labels = np.zeros(n_samples, np.intc)
        lloyd = run_lloyd(X, weights, centers, labels, n_threads=n_threads,
                          plan=plan_blocks(n_samples, 2000))
        pairwise = np.empty((n_samples, K), dtype)
        kernels.csr_pairwise_sq_distances(*parts(X), x_sq, centers,
                                          np.einsum("ij,ij->i", centers, centers).astype(np.float64),
                                          pairwise, 100, n_threads)
        assigned = np.empty(n_samples)
        kernels.csr_assigned_sq_distances(*parts(X), centers, labels, assigned, n_threads)
        plan = plan_blocks(n_samples, 2000)
        pots = np.empty((plan.n_blocks, K))
        closest = np.full(n_samples, np.inf)
        kernels.csr_pp_fold_center(*parts(X), x_sq, centers[0].copy(), 0.5, closest, n_threads)
        kernels.csr_pp_potentials(*parts(X), x_sq, weights, closest, centers,
                                  np.einsum("ij,ij->i", centers, centers).astype(np.float64), pots,
                                  plan.chunk_rows, plan.block_rows, n_threads)
        picks = csr_kmeans_plusplus_indices(X, weights, 5, 0, n_threads=n_threads)
        results.append([single, labels, *lloyd[1:], np.array(lloyd[0]), pairwise, assigned,
                        closest, pots, picks])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


# -- shape checks -----------------------------------------------------------------


def lloyd_args(X, K=3, **change):
    n_samples, n_features = X.shape
    plan = plan_csr_blocks(X, K)
    centers = np.ones((K, n_features))
    args = dict(
        data=X.data, indices=X.indices, indptr=X.indptr, n_features=n_features,
        sample_weight=np.ones(n_samples), centers=centers, center_sq_norms=np.ones(K),
        labels=np.zeros(n_samples, np.intc), row_sq_norms=np.ones(n_samples),
        sums=np.zeros((K, n_features)), weights=np.zeros(K),
        block_inertia=np.zeros(plan.n_blocks), chunk_rows=plan.chunk_rows,
        block_rows=plan.block_rows, n_threads=1, update_centers=True, with_inertia=True,
    )
    args.update(change)
    return list(args.values())


@pytest.fixture
def small_csr(rng):
    return make_csr(rng, 50, 8, 0.3)


LLOYD_BAD = {
    "short indptr": lambda X: dict(indptr=X.indptr[:-1].copy()),
    "empty indptr": lambda X: dict(indptr=np.zeros(0, np.int32)),
    "short data": lambda X: dict(data=X.data[:-1].copy()),
    "short indices": lambda X: dict(indices=X.indices[:-1].copy()),
    "indptr past data": lambda X: dict(indptr=X.indptr + 1),
    "n_features": lambda X: dict(n_features=X.shape[1] + 1),
    "centers width": lambda X: dict(centers=np.ones((3, X.shape[1] - 1))),
    "center_sq_norms": lambda X: dict(center_sq_norms=np.ones(4)),
    "sample_weight": lambda X: dict(sample_weight=np.ones(X.shape[0] + 1)),
    "labels": lambda X: dict(labels=np.zeros(X.shape[0] - 1, np.intc)),
    "row_sq_norms": lambda X: dict(row_sq_norms=np.ones(X.shape[0] - 1)),
    "sums rows": lambda X: dict(sums=np.zeros((2, X.shape[1]))),
    "sums cols": lambda X: dict(sums=np.zeros((3, X.shape[1] + 1))),
    "weights": lambda X: dict(weights=np.zeros(2)),
    "block_inertia": lambda X: dict(block_inertia=np.zeros(7)),
    "block_rows": lambda X: dict(chunk_rows=16, block_rows=24),
    "chunk_rows": lambda X: dict(chunk_rows=0),
    "missing sums": lambda X: dict(sums=None),
    "missing inertia": lambda X: dict(block_inertia=None),
    "n_threads": lambda X: dict(n_threads=0),
}


@pytest.mark.parametrize("bad", list(LLOYD_BAD))
def test_lloyd_shape_checks(small_csr, bad):
    X = small_csr
    args = lloyd_args(X)
    labels_before = args[7].copy()
    with pytest.raises(ValueError, match="csr_lloyd_step"):
        kernels.csr_lloyd_step(*lloyd_args(X, **LLOYD_BAD[bad](X)))
    kernels.csr_lloyd_step(*args)  # the unchanged arguments are fine
    assert labels_before.shape == args[7].shape


def test_index_types_must_match(small_csr):
    X = small_csr
    with pytest.raises((TypeError, ValueError)):
        kernels.csr_lloyd_step(*lloyd_args(X, indptr=X.indptr.astype(np.int64)))


def test_distance_and_pp_shape_checks(small_csr):
    X = small_csr
    n, D = X.shape
    x_sq = row_sq(X)
    C = np.ones((3, D))
    c_sq = np.ones(3)
    with pytest.raises(ValueError, match="out"):
        kernels.csr_row_sq_norms(X.data, X.indptr, np.empty(n + 1), 1)
    with pytest.raises(ValueError, match="indptr"):
        kernels.csr_row_sq_norms(X.data, X.indptr + 1, np.empty(n), 1)
    good = (*parts(X), x_sq, C, c_sq, np.empty((n, 3)), 16, 1)
    kernels.csr_pairwise_sq_distances(*good)
    for i, bad in [(4, x_sq[1:]), (5, np.ones((3, D + 1))), (6, np.ones(2)),
                   (7, np.empty((n, 4))), (7, np.empty((n - 1, 3))), (8, 0)]:
        args = list(good)
        args[i] = bad
        with pytest.raises(ValueError, match="csr_pairwise_sq_distances"):
            kernels.csr_pairwise_sq_distances(*args)
    labels = np.zeros(n, np.intc)
    good = (*parts(X), C, labels, np.empty(n), 1)
    kernels.csr_assigned_sq_distances(*good)
    for i, bad in [(4, np.ones((3, D - 1))), (5, labels[1:]), (5, labels + 3), (5, labels - 1),
                   (6, np.empty(n - 1))]:
        args = list(good)
        args[i] = bad
        with pytest.raises(ValueError, match="csr_assigned_sq_distances"):
            kernels.csr_assigned_sq_distances(*args)
    plan = plan_blocks(n, 10**6)
    good = (*parts(X), x_sq, np.ones(n), np.ones(n), C, c_sq, np.empty((plan.n_blocks, 3)),
            plan.chunk_rows, plan.block_rows, 1)
    kernels.csr_pp_potentials(*good)
    for i, bad in [(4, x_sq[1:]), (5, np.ones(n - 1)), (6, np.ones(n + 1)), (7, np.ones((3, D + 1))),
                   (7, np.ones((0, D))), (8, np.ones(2)), (9, np.empty((plan.n_blocks + 1, 3))),
                   (9, np.empty((plan.n_blocks, 2)))]:
        args = list(good)
        args[i] = bad
        with pytest.raises(ValueError, match="csr_pp_potentials"):
            kernels.csr_pp_potentials(*args)
    good = (*parts(X), x_sq, np.ones(D), 1.0, np.ones(n), 1)
    kernels.csr_pp_fold_center(*good)
    for i, bad in [(4, x_sq[:-1]), (5, np.ones(D + 1)), (7, np.ones(n - 1))]:
        args = list(good)
        args[i] = bad
        with pytest.raises(ValueError, match="csr_pp_fold_center"):
            kernels.csr_pp_fold_center(*args)
