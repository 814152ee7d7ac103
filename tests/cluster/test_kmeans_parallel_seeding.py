"""KMeans(init='k-means||'): the oversampling kernels against NumPy
references, bit-identical results for any thread count, the quality of the
seeds after Lloyd against greedy k-means++, edge cases and bad parameters."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

from lvmfast import KMeans, kmeans_plusplus
from lvmfast._kernels import _oversample as kernels
from lvmfast._parallel import plan_blocks
from lvmfast.cluster import _kmeans_parallel
from lvmfast.cluster._kmeans import k_means
from lvmfast.cluster._kmeans_parallel import (
    candidate_weights,
    draw_rows,
    kmeans_parallel,
    kmeans_parallel_centers,
    update_nearest,
)

DTYPES = [np.float64, np.float32]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}

# -- references ---------------------------------------------------------------

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def ref_mix64(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def ref_round_key(seed, round_index):
    with np.errstate(over="ignore"):
        return int(ref_mix64(np.array([seed], dtype=np.uint64) + np.uint64(round_index + 1) * GOLDEN)[0])


def ref_uniforms(key, rows):
    """SplitMix64 read at positions rows: the top 53 bits of
    mix64(key + (row + 1) * GOLDEN), over 2^53."""
    with np.errstate(over="ignore"):
        z = ref_mix64(np.uint64(key) + (np.asarray(rows, dtype=np.uint64) + np.uint64(1)) * GOLDEN)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def ref_oversample(uniforms, closest, weights, factor):
    return uniforms < factor * weights.astype(np.float64) * closest


def ref_sq_distances(X, C):
    X = X.astype(np.float64)
    C = C.astype(np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


def ref_nearest_update(X, candidates, weights, closest, labels, label_offset, block_rows):
    """Exact distances of the rows to the candidates; the nearer of the
    nearest candidate and the old closest; the per-block potential."""
    d = ref_sq_distances(X, candidates)
    nearest = d.argmin(axis=1)
    distance = d[np.arange(len(X)), nearest]
    nearer = distance < closest
    new_closest = np.where(nearer, distance, closest)
    new_labels = np.where(nearer, label_offset + nearest, labels)
    terms = weights.astype(np.float64) * new_closest
    blocks = np.array([terms[s:s + block_rows].sum() for s in range(0, max(len(X), 1), block_rows)])
    # The runner-up gap: rows whose nearest candidate is ambiguous at the
    # scores' precision may pick either.
    second = np.partition(d, 1, axis=1)[:, 1] if d.shape[1] > 1 else np.full(len(X), np.inf)
    return new_closest, new_labels, blocks, second - distance


def ref_candidate_weights(labels, weights, n_candidates):
    return np.bincount(labels, weights=weights.astype(np.float64), minlength=n_candidates)


def run_update(X, shift, C, w, closest, labels, offset, chunk_rows, block_rows, n_threads=2, single=False):
    n_blocks = max(1, -(-X.shape[0] // block_rows))
    blocks = np.full(n_blocks, np.nan)
    kernels.nearest_update(X, shift, C, w, closest, labels, offset, blocks, chunk_rows, block_rows, n_threads, single)
    return blocks


EDGES = [
    # (n_samples, chunk_rows, block_rows)
    (1, 16, 16),
    (31, 16, 16),
    (33, 32, 64),
    (47, 16, 48),
    (1000, 16, 48),  # many blocks, a ragged last one
    (1000, 64, 1024),  # one block of several chunks
    (2000, 100, 300),  # chunks that are not a multiple of the kernel's 32-row tile
]

# -- counter-based uniforms and the draws -------------------------------------


def drawn_uniforms(key, row_offset, n):
    """The uniforms oversample draws for rows row_offset, ..., read back
    exactly: row i is drawn when u_i < factor * w_i * closest_i, so with the
    reference u as closest (factor 1, weight 1) no row is drawn, and with
    the next double above it every row is. Returns the reference."""
    u = ref_uniforms(key, np.arange(row_offset, row_offset + n))
    selected = np.empty(n, dtype=np.uint8)
    assert kernels.oversample(u, np.ones(n), 1.0, key, row_offset, selected, 2) == 0
    assert not selected.any()
    above = np.nextafter(u, 2.0)
    assert kernels.oversample(above, np.ones(n), 1.0, key, row_offset, selected, 2) == n
    assert selected.all()
    return u


def test_counter_uniforms_match_numpy():
    for key in (0, 1, 2**63 + 12345, 2**64 - 1):
        drawn_uniforms(key, 5, 1000)
    assert kernels.round_key(7, 3) == ref_round_key(7, 3)


def test_counter_uniforms_look_uniform_and_independent_across_rounds():
    u = drawn_uniforms(kernels.round_key(42, 0), 0, 200_000)
    v = drawn_uniforms(kernels.round_key(42, 1), 0, 200_000)
    assert u.min() >= 0 and u.max() < 1
    # Mean, variance and decile counts of U(0, 1), within 5 standard errors.
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 0.002
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts - u.size / 10) < 5 * np.sqrt(u.size * 0.09))
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_oversample_matches_numpy_given_the_uniforms(dtype, n_threads):
    rng = np.random.default_rng(0)
    n = 5000
    closest = rng.exponential(size=n)
    closest[::7] = 0.0  # rows on a candidate
    weights = rng.uniform(0, 2, n).astype(dtype)
    weights[::5] = 0  # weightless rows
    key, offset = kernels.round_key(99, 2), 1234
    factor = 300 / float(np.sum(weights.astype(np.float64) * closest))
    selected = np.empty(n, dtype=np.uint8)
    count = kernels.oversample(closest, weights, factor, key, offset, selected, n_threads)
    expected = ref_oversample(ref_uniforms(key, np.arange(offset, offset + n)), closest, weights, factor)
    np.testing.assert_array_equal(selected.astype(bool), expected)
    assert count == expected.sum()
    assert not selected[::7].any() and not selected[::5].any()
    assert 200 < count < 400  # about 300 expected (fewer where p is clipped at 1)


def test_draws_do_not_depend_on_the_block_split():
    """Drawing block by block with each block's row offset (a dask array's
    chunks) draws the rows one call over all of them draws."""
    rng = np.random.default_rng(1)
    closest, weights = rng.exponential(size=10_000), np.ones(10_000)
    whole = draw_rows(closest, weights, 0.02, 77, 0, n_threads=2)
    bounds = [0, 1, 999, 4096, 7000, 10_000]
    parts = [draw_rows(closest[a:b], weights[a:b], 0.02, 77, a, n_threads=1) + a for a, b in itertools.pairwise(bounds)]
    np.testing.assert_array_equal(whole, np.concatenate(parts))


def test_probabilities_above_one_draw_every_row():
    closest = np.ones(100)
    rows = draw_rows(closest, np.ones(100), 1.5, 3, 0, n_threads=2)
    np.testing.assert_array_equal(rows, np.arange(100))


# -- distances to the new candidates -----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("n_samples,chunk_rows,block_rows", EDGES)
@pytest.mark.parametrize("n_new", [1, 3, 4, 5, 13])
def test_nearest_update_matches_numpy(dtype, single, n_samples, chunk_rows, block_rows, n_new):
    rng = np.random.default_rng(n_samples + n_new)
    X = (rng.standard_normal((n_samples, 6)) * 3 + 10).astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    w = rng.uniform(0, 2, n_samples).astype(dtype)
    C = np.ascontiguousarray(X[rng.choice(n_samples, min(n_new, n_samples), replace=False)])
    if C.shape[0] < n_new:
        C = np.ascontiguousarray((rng.standard_normal((n_new, 6)) * 3 + 10).astype(dtype))
    closest = rng.uniform(0, 40, n_samples)
    labels = rng.integers(0, 7, n_samples).astype(np.int32)
    want_closest, want_labels, _, gap = ref_nearest_update(X, C, w, closest, labels, 7, block_rows)
    blocks = run_update(X, shift, C, w, closest, labels, 7, chunk_rows, block_rows, single=single)
    # The chosen candidate's distance is by direct differences (float lanes
    # for float32 data); only rows whose two nearest candidates are within
    # the scores' rounding may pick the other.
    clear = gap > 1e-3 * (1 + want_closest)
    assert clear.mean() > 0.95 or n_samples < 50
    np.testing.assert_array_equal(labels[clear], want_labels[clear])
    np.testing.assert_allclose(closest[clear], want_closest[clear], rtol=RTOL[dtype], atol=0)
    np.testing.assert_allclose(closest, want_closest, rtol=1e-3, atol=0)
    terms = w.astype(np.float64) * closest
    np.testing.assert_allclose(blocks, [terms[s:s + block_rows].sum() for s in range(0, n_samples, block_rows)],
                               rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nearest_update_tiles_of_many_candidates(dtype):
    """Wide rows make the kernel's candidate tiles short (128 KiB of them):
    60 candidates of 700 features span several tiles, merged in order."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 700)).astype(dtype)
    shift = np.zeros(700, dtype=dtype)
    C = np.ascontiguousarray(X[rng.choice(300, 60, replace=False)])
    w = np.ones(300, dtype=dtype)
    closest = np.full(300, np.inf)
    labels = np.zeros(300, dtype=np.int32)
    want_closest, want_labels, want_blocks, _ = ref_nearest_update(X, C, w, closest, labels, 0, 64)
    blocks = run_update(X, shift, C, w, closest, labels, 0, 32, 64)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_allclose(closest, want_closest, rtol=RTOL[dtype])
    np.testing.assert_allclose(blocks, want_blocks, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nearest_update_ties_keep_the_earlier_candidate(dtype):
    """Integer rows and candidates (exact scores): a row equally near two
    candidates takes the first, and a row no nearer than its old closest
    keeps its label; a row that is a candidate gets distance 0."""
    X = np.array([[0, 0], [2, 0], [1, 0], [5, 5], [4, 4]], dtype=dtype)
    shift = np.zeros(2, dtype=dtype)
    C = np.array([[0, 0], [2, 0], [0, 0], [9, 9]], dtype=dtype)  # candidate 2 repeats candidate 0
    closest = np.array([np.inf, np.inf, np.inf, np.inf, 2.0])
    labels = np.full(5, 42, dtype=np.int32)
    run_update(X, shift, C, np.ones(5, dtype=dtype), closest, labels, 10, 16, 16)
    np.testing.assert_array_equal(labels, [10, 11, 10, 13, 42])
    np.testing.assert_array_equal(closest, [0, 0, 1, 32, 2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nearest_update_same_for_any_thread_count(dtype):
    """Bit-identical closest, labels and block potentials with 1 to 4
    threads, and repeated runs alike."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((40_000, 9)).astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    C = np.ascontiguousarray(X[rng.choice(40_000, 37, replace=False)])
    w = rng.uniform(0, 1, 40_000).astype(dtype)
    runs = []
    for n_threads in (1, 2, 3, 4, 2, 2):
        closest, labels = np.full(40_000, np.inf), np.zeros(40_000, dtype=np.int32)
        blocks = run_update(X, shift, C, w, closest, labels, 0, 64, 640, n_threads=n_threads)
        runs.append((closest, labels, blocks))
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
    want_closest = ref_sq_distances(X, C).min(axis=1)
    np.testing.assert_allclose(runs[0][0], want_closest, rtol=RTOL[dtype])


def test_nearest_update_without_candidates_sums_the_potential():
    X = np.ones((50, 3))
    closest = np.arange(50, dtype=np.float64)
    labels = np.zeros(50, dtype=np.int32)
    blocks = run_update(X, np.zeros(3), np.empty((0, 3)), np.full(50, 2.0), closest, labels, 0, 16, 32)
    np.testing.assert_allclose(blocks, [2 * np.arange(32).sum(), 2 * np.arange(32, 50).sum()])


@pytest.mark.parametrize("bad,message", [
    ({"shift": np.zeros(3)}, "shift must have length 4"),
    ({"candidates": np.zeros((2, 3))}, "candidates must have shape"),
    ({"weights": np.ones(9)}, "sample_weight must have length 10"),
    ({"closest": np.zeros(11)}, "closest must have length 10"),
    ({"labels": np.zeros(9, dtype=np.int32)}, "labels must have length 10"),
    ({"blocks": np.zeros(2)}, "block_potential"),
    ({"chunk_rows": 3}, "block_rows a positive multiple"),
])
def test_nearest_update_checks_shapes(bad, message):
    args = {"shift": np.zeros(4), "candidates": np.zeros((2, 4)), "weights": np.ones(10), "closest": np.zeros(10),
            "labels": np.zeros(10, dtype=np.int32), "blocks": np.zeros(1), "chunk_rows": 16}
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        kernels.nearest_update(np.zeros((10, 4)), args["shift"], args["candidates"], args["weights"], args["closest"],
                               args["labels"], 0, args["blocks"], args["chunk_rows"], 16, 1)


def test_sparse_update_matches_dense():
    rng = np.random.default_rng(3)
    X = sp.random(400, 30, density=0.2, format="csr", random_state=4, dtype=np.float64)
    dense = X.toarray()
    w = rng.uniform(0.5, 1.5, 400)
    C = np.ascontiguousarray(dense[[3, 50, 77, 210, 399]])
    results = []
    for data in (X, dense):
        closest, labels = np.full(400, np.inf), np.zeros(400, dtype=np.int32)
        potential = update_nearest(data, np.zeros(30), C, w, closest, labels, 2, n_threads=2)
        results.append((closest, labels, potential))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][2] == pytest.approx(results[1][2], rel=1e-10)


def test_sparse_update_in_batches_of_candidates(monkeypatch):
    """Wide CSR data densifies the candidates a batch at a time: batches of
    2 give what one batch gives, CSR candidates what dense ones give."""
    X = sp.random(500, 40, density=0.2, format="csr", random_state=5, dtype=np.float64)
    C = X[[1, 7, 7, 30, 99, 400, 499]]  # a repeated candidate: the earlier one wins
    w = np.ones(500)
    results = []
    for dense_values, candidates in ((10**6, C.toarray()), (80, C), (80, C.toarray())):
        monkeypatch.setattr(_kmeans_parallel, "CSR_DENSE_VALUES", dense_values)
        closest, labels = np.full(500, np.inf), np.zeros(500, dtype=np.int32)
        potential = update_nearest(X, np.zeros(40), candidates, w, closest, labels, 3, n_threads=2)
        results.append((closest, labels, potential))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0][0], other[0])
        np.testing.assert_array_equal(results[0][1], other[1])
    assert 5 not in results[0][1] and 4 in results[0][1]


# -- candidate weights ----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_samples,block_rows", [(1, 1), (10, 3), (1000, 64), (1000, 1000)])
def test_candidate_weights_match_numpy(dtype, n_samples, block_rows):
    rng = np.random.default_rng(n_samples)
    labels = rng.integers(0, 17, n_samples).astype(np.int32)
    w = rng.uniform(0, 3, n_samples).astype(dtype)
    n_blocks = -(-n_samples // block_rows)
    blocks = np.full((n_blocks, 17), np.nan)
    kernels.candidate_weights(labels, w, blocks, block_rows, 2)
    np.testing.assert_allclose(blocks.sum(axis=0), ref_candidate_weights(labels, w, 17), rtol=1e-12)
    np.testing.assert_allclose(candidate_weights(labels, w, 17), ref_candidate_weights(labels, w, 17), rtol=1e-12)


def test_candidate_weights_check_labels():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        kernels.candidate_weights(np.array([0, 3], dtype=np.int32), np.ones(2), np.zeros((1, 3)), 2, 1)
    with pytest.raises(ValueError, match="block_weights"):
        kernels.candidate_weights(np.array([0, 1], dtype=np.int32), np.ones(2), np.zeros((2, 3)), 2, 1)


# -- the seeding: determinism ---------------------------------------------------


def blobs(n_samples, n_features, n_centers, spread, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-spread, spread, (n_centers, n_features))
    X = rng.standard_normal((n_samples, n_features)) + centers[rng.integers(0, n_centers, n_samples)]
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_centers_for_any_thread_count(dtype):
    X = blobs(30_000, 8, 20, 6, dtype=dtype)
    w = np.random.default_rng(2).uniform(0, 2, len(X)).astype(dtype)
    runs = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(n_threads, user_api="openmp"):
            centers, info = kmeans_parallel_centers(X, w, 24, check_random_state(5))
            km = KMeans(24, init="k-means||", random_state=5).fit(X, sample_weight=w)
        runs.append((centers, km.cluster_centers_, km.labels_, km.inertia_))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)
    assert info["n_rounds"] == 5 and info["n_candidates"] > 24 * 5


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_random_state_same_centers_and_seeding_equals_the_fit(dtype):
    X = blobs(5000, 4, 6, 5, dtype=dtype)
    a = kmeans_parallel(X, 6, random_state=3)
    b = kmeans_parallel(X, 6, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == dtype and not np.array_equal(a, kmeans_parallel(X, 6, random_state=4))
    # KMeans(init='k-means||') starts from these centers.
    fit = KMeans(6, init="k-means||", random_state=3).fit(X)
    from_seeds = KMeans(6, init=a, n_init=1).fit(X)
    np.testing.assert_array_equal(fit.cluster_centers_, from_seeds.cluster_centers_)
    assert fit.n_iter_ == from_seeds.n_iter_


# -- quality ---------------------------------------------------------------------


def mean_inertias(X, n_clusters, seeds=range(5), **params):
    """Mean inertia after Lloyd (KMeans' defaults) from k-means|| and from
    greedy k-means++ seeds."""
    parallel, greedy = [], []
    for seed in seeds:
        parallel.append(KMeans(n_clusters, init="k-means||", random_state=seed, **params).fit(X).inertia_)
        greedy.append(KMeans(n_clusters, init="k-means++", random_state=seed).fit(X).inertia_)
    return np.mean(parallel), np.mean(greedy)


@pytest.mark.parametrize("dtype", DTYPES)
def test_quality_on_standard_normal_data(dtype):
    X = np.random.default_rng(0).standard_normal((20_000, 16)).astype(dtype)
    parallel, greedy = mean_inertias(X, 32)
    assert parallel <= 1.01 * greedy, parallel / greedy


@pytest.mark.parametrize("spread", [3.0, 10.0])
def test_quality_on_blobs(spread):
    """Overlapping (3) and well separated (10) blobs; seeding helps most on
    the latter, where a bad seed splits one blob and merges two."""
    X = blobs(20_000, 8, 30, spread)
    parallel, greedy = mean_inertias(X, 30)
    assert parallel <= 1.02 * greedy, parallel / greedy


def test_seeds_beat_random_rows_before_lloyd():
    """The seeds' potential: far below that of random rows, near greedy's."""
    X = blobs(20_000, 8, 30, 10)

    def potential(C):
        return ((X[:, None, :] - C[None]) ** 2).sum(axis=2).min(axis=1).sum()

    parallel = np.mean([potential(kmeans_parallel(X, 30, random_state=s)) for s in range(3)])
    greedy = np.mean([potential(kmeans_plusplus(X, 30, random_state=s)[0]) for s in range(3)])
    rows = np.mean([potential(X[np.random.default_rng(s).choice(len(X), 30, replace=False)]) for s in range(3)])
    assert parallel < 1.1 * greedy and parallel < 0.5 * rows


# -- edge cases --------------------------------------------------------------------


def test_fewer_distinct_rows_than_clusters():
    X = np.repeat(np.array([[0.0, 1.0], [5.0, 5.0], [-3.0, 2.0]]), 20, axis=0)
    with pytest.warns(ConvergenceWarning, match="Number of distinct clusters"):
        km = KMeans(5, init="k-means||", random_state=0).fit(X)
    assert km.inertia_ == pytest.approx(0, abs=1e-20)
    assert len(np.unique(km.labels_)) == 3


def test_too_few_candidates_are_topped_up():
    """One round of 0.1 K expected candidates: the rest are drawn by their
    distance to the candidates, so all K centers are distinct rows."""
    X = blobs(5000, 3, 40, 8)
    centers, info = kmeans_parallel_centers(X, np.ones(5000), 40, check_random_state(1), oversampling_factor=0.1,
                                            n_rounds=1)
    assert info["n_candidates"] < 40
    assert centers.shape == (40, 3) and len(np.unique(centers, axis=0)) == 40
    km = KMeans(40, init="k-means||", oversampling_factor=0.1, init_max_iter=1, random_state=1).fit(X)
    assert np.isfinite(km.inertia_)


def test_rounds_stop_when_every_row_is_a_candidate():
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    centers, info = kmeans_parallel_centers(X, np.ones(6), 6, check_random_state(0), oversampling_factor=10)
    assert info["n_rounds"] < 5 and info["n_candidates"] == 6
    np.testing.assert_array_equal(np.sort(centers[:, 0]), X[:, 0])


def test_zero_weight_rows_are_never_candidates(monkeypatch):
    X = blobs(4000, 3, 10, 5)
    w = np.ones(4000)
    w[1::2] = 0
    monkeypatch.setattr(_kmeans_parallel, "CANDIDATE_LLOYD_ITER", 0)  # centers are then candidate rows
    for seed in range(3):
        centers = kmeans_parallel(X, 10, sample_weight=w, random_state=seed)
        d = ref_sq_distances(centers, X)
        assert d.min(axis=1).max() < 1e-24
        assert np.all(d.argmin(axis=1) % 2 == 0)


@pytest.mark.parametrize("scale", [1e300, 1e-310])
def test_weight_scale_does_not_matter(scale):
    """The draws are invariant to the weights' scale (up to the rounding of
    their mean), and huge or subnormal weights neither overflow nor
    underflow the potential."""
    X = blobs(3000, 3, 6, 5)
    np.testing.assert_allclose(kmeans_parallel(X, 6, sample_weight=np.full(3000, scale), random_state=2),
                               kmeans_parallel(X, 6, random_state=2), rtol=1e-12)
    km = KMeans(6, init="k-means||", random_state=2).fit(X, sample_weight=np.full(3000, scale))
    assert np.isfinite(km.inertia_) and np.all(np.isfinite(km.cluster_centers_))


def test_zero_weight_rows_do_not_pull_centers():
    """Far rows with zero weight: the fit ignores them, as it ignores them
    in Lloyd."""
    X = np.vstack([blobs(3000, 2, 3, 5), np.full((20, 2), 1e4)])
    w = np.r_[np.ones(3000), np.zeros(20)]
    km = KMeans(3, init="k-means||", random_state=0).fit(X, sample_weight=w)
    assert np.abs(km.cluster_centers_).max() < 100


@pytest.mark.parametrize("dtype", DTYPES)
def test_float32_kept_and_sparse_input(dtype):
    X = sp.random(3000, 50, density=0.1, format="csr", random_state=0, dtype=dtype)
    km = KMeans(8, init="k-means||", random_state=0).fit(X)
    assert km.cluster_centers_.dtype == dtype and km.transform(X[:3]).dtype == dtype
    dense = KMeans(8, init="k-means||", random_state=0).fit(X.toarray())
    assert km.inertia_ == pytest.approx(dense.inertia_, rel=0.05)
    greedy = KMeans(8, random_state=0).fit(X)
    assert km.inertia_ <= 1.05 * greedy.inertia_
    assert kmeans_parallel(X, 8, random_state=0).dtype == dtype


@pytest.mark.parametrize("n_clusters", [1, 7])
def test_one_cluster_and_as_many_clusters_as_rows(n_clusters):
    X = np.random.default_rng(0).standard_normal((7, 3))
    km = KMeans(n_clusters, init="k-means||", random_state=0).fit(X)
    assert km.cluster_centers_.shape == (n_clusters, 3)
    if n_clusters == 7:
        assert km.inertia_ == pytest.approx(0, abs=1e-20)
    else:
        np.testing.assert_allclose(km.cluster_centers_[0], X.mean(axis=0))


def test_float64_data_beyond_float32_scores_range():
    """Scale 1e25: float32 scores would overflow, so float64 scores are used."""
    X = blobs(3000, 3, 5, 8) * 1e25
    km = KMeans(5, init="k-means||", random_state=0).fit(X)
    greedy = KMeans(5, random_state=0).fit(X)
    assert np.isfinite(km.inertia_) and km.inertia_ <= 1.05 * greedy.inertia_
    X = blobs(3000, 3, 5, 8) * 1e-15  # tiny: float32 would lose the digits
    assert KMeans(5, init="k-means||", random_state=0).fit(X).inertia_ <= 1.05 * KMeans(5, random_state=0).fit(
        X).inertia_


def test_n_init_auto_is_one_and_k_means_function():
    X = blobs(2000, 2, 4, 5)
    km = KMeans(4, init="k-means||", random_state=0).fit(X)
    assert km._n_init == 1
    centers, _, _ = k_means(X, 4, init="k-means||", random_state=0, oversampling_factor=3, init_max_iter=2)
    again = KMeans(4, init="k-means||", random_state=0, oversampling_factor=3, init_max_iter=2).fit(X)
    np.testing.assert_array_equal(centers, again.cluster_centers_)


# -- parameters --------------------------------------------------------------------


@pytest.mark.parametrize("name,value", [
    ("oversampling_factor", 0), ("oversampling_factor", -1.0), ("oversampling_factor", np.nan),
    ("oversampling_factor", "2"), ("oversampling_factor", None), ("oversampling_factor", True),
    ("init_max_iter", 0), ("init_max_iter", -2), ("init_max_iter", 1.5), ("init_max_iter", "5"),
    ("init_max_iter", None), ("init_max_iter", True), ("init", "k-means|"), ("init", "kmeans||"),
])
def test_bad_parameters_name_the_parameter(name, value):
    X = blobs(100, 2, 3, 5)
    km = KMeans(3, init="k-means||")
    km.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"'{name}' parameter of KMeans"):
        km.fit(X)
    assert not hasattr(km, "cluster_centers_")
    if name != "init":
        with pytest.raises(ValueError, match=f"'{name}' parameter of kmeans_parallel"):
            kmeans_parallel(X, 3, **{name: value})


def test_parameters_are_kept_and_documented():
    km = KMeans(init="k-means||", oversampling_factor=0.5, init_max_iter=3)
    assert km.get_params()["oversampling_factor"] == 0.5 and km.get_params()["init_max_iter"] == 3
    for text in ("'k-means||'", "oversampling_factor : float, default=2", "init_max_iter : int, default=5"):
        assert text in KMeans.__doc__


def test_check_estimator_with_k_means_parallel_init():
    # As for greedy k-means++ (tests/sklearn_compat/test_sklearn_compat.py): seeding samples
    # rows at random, so weighting a row and repeating it draw different seeds.
    expected_failures = {
        f"check_sample_weight_equivalence_on_{kind}_data": "seeding draws differ between weighted and repeated rows"
        for kind in ("dense", "sparse")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_estimator(KMeans(init="k-means||"), expected_failed_checks=expected_failures)


def test_block_plan_of_the_update_depends_on_the_shape_only():
    assert _kmeans_parallel._update_plan(10**6, 32) == plan_blocks(10**6, row_bytes=36 * 8)
