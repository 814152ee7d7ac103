"""MiniBatchKMeans: NumPy references of its kernels, parity with
scikit-learn's MiniBatchKMeans from the same initial centers and
random_state, determinism across thread counts, and bad input."""
import io
import pickle
import re
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from lvmfast import MiniBatchKMeans
from lvmfast._kernels import _minibatch as kernels
from lvmfast.cluster._minibatch import _step_threads

STATUS = kernels.STATUS
SLOT = kernels.STATE_SLOTS
DTYPES = [np.float64, np.float32]


# ---------------------------------------------------------------------------
# NumPy references of the kernels


def ref_search(cdf, uniforms):
    return np.minimum(np.searchsorted(cdf, uniforms, side="right"), len(cdf) - 1)


def sampling_cdf(weights):
    p = (weights / weights.sum()).astype(np.float64)
    cdf = np.cumsum(p)
    return cdf / cdf[-1]


def ref_step(X, shift, weights, rows, centers, counts):
    """One mini-batch step in float64 NumPy: labels by exact distances, the
    inertia, and the count-weighted update. Returns (new centers, counts,
    labels, inertia, per-center squared shift)."""
    batch = (X[rows] if rows is not None else X).astype(np.float64) - shift
    n = batch.shape[0]
    weights = np.ones(n) if weights is None else weights.astype(np.float64)
    c = centers.astype(np.float64)
    d = ((batch[:, None, :] - c[None]) ** 2).sum(axis=2)
    labels = d.argmin(axis=1)
    inertia = float((d[np.arange(n), labels] * weights).sum())
    new, counts = c.copy(), counts.astype(np.float64).copy()
    for k in range(c.shape[0]):
        mine = labels == k
        w = weights[mine].sum()
        if w > 0:
            new[k] = (c[k] * counts[k] + (weights[mine, None] * batch[mine]).sum(axis=0)) / (counts[k] + w)
            counts[k] += w
    return new, counts, labels, inertia, ((new - c) ** 2).sum(axis=1)


def ref_convergence(state, step, n_samples, batch_size, diff, batch_inertia, tol, max_no_improvement):
    """scikit-learn's _mini_batch_convergence, on the kernel's state vector."""
    state[SLOT["batch_inertia"]] = batch_inertia
    state[SLOT["centers_squared_diff"]] = diff
    if step == 0:
        return STATUS["ran_all"]
    ewa = state[SLOT["ewa_inertia"]]
    if np.isnan(ewa):
        ewa = batch_inertia
    else:
        alpha = min(batch_size * 2.0 / (n_samples + 1), 1)
        ewa = ewa * (1 - alpha) + batch_inertia * alpha
    state[SLOT["ewa_inertia"]] = ewa
    if tol > 0 and diff <= tol:
        return STATUS["converged_centers"]
    best = state[SLOT["ewa_inertia_min"]]
    if np.isnan(best) or ewa < best:
        state[SLOT["no_improvement"]] = 0
        state[SLOT["ewa_inertia_min"]] = ewa
    else:
        state[SLOT["no_improvement"]] += 1
    if max_no_improvement >= 0 and state[SLOT["no_improvement"]] >= max_no_improvement:
        return STATUS["converged_inertia"]
    return STATUS["ran_all"]


def new_state():
    state = np.zeros(kernels.N_STATE)
    state[[SLOT["ewa_inertia"], SLOT["ewa_inertia_min"]]] = np.nan
    return state


def ref_steps(X, shift, cdf, uniforms, centers, counts, state, first_step, tol, max_no_improvement, ratio):
    """minibatch_steps in NumPy: returns (steps run, status, centers,
    previous, counts, batch rows)."""
    n_samples, n_clusters = X.shape[0], centers.shape[0]
    batch_size = uniforms.shape[1]
    centers, counts = centers.astype(np.float64), counts.astype(np.float64)
    for s in range(uniforms.shape[0]):
        state[SLOT["since_last_reassign"]] += batch_size
        due = (counts == 0).any() or state[SLOT["since_last_reassign"]] >= 10 * n_clusters
        if due:
            state[SLOT["since_last_reassign"]] = 0
        rows = ref_search(cdf, uniforms[s])
        new, counts, _, inertia, shift_k = ref_step(X, shift, None, rows, centers, counts)
        previous, centers = centers, new
        if due and ratio > 0 and (counts < ratio * counts.max()).any():
            state[SLOT["batch_inertia"]] = inertia / batch_size
            state[SLOT["centers_squared_diff"]] = np.nan  # Python finishes the step
            return s + 1, STATUS["needs_reassignment"], centers, previous, counts, rows
        diff = shift_k.sum() if tol > 0 else 0.0
        status = ref_convergence(state, first_step + s, n_samples, batch_size, diff, inertia / batch_size, tol,
                                 max_no_improvement)
        if status != STATUS["ran_all"]:
            return s + 1, status, centers, previous, counts, rows
    return uniforms.shape[0], STATUS["ran_all"], centers, previous, counts, rows


def tolerance(dtype):
    return 1e-10 if dtype == np.float64 else 2e-5


@pytest.fixture
def data():
    X, _ = make_blobs(2000, 6, centers=8, random_state=0)
    return X + 3.0  # off the origin: the frame shift matters


@pytest.mark.parametrize("weights", ["equal", "random", "with zeros"])
def test_sample_rows_is_numpys_searchsorted_and_choice(weights):
    rng = np.random.RandomState(0)
    n = 5000
    w = {"equal": np.ones(n), "random": rng.uniform(0, 3, n), "with zeros": rng.uniform(0, 1, n) * (rng.rand(n) < 0.3)}[
        weights]
    cdf = sampling_cdf(w)
    u = np.concatenate([rng.random_sample(4000), cdf[::97], [0.0, np.nextafter(1.0, 0)]])
    out = np.empty(u.shape[0], dtype=np.intp)
    kernels.sample_rows(cdf, u, out)
    np.testing.assert_array_equal(out, ref_search(cdf, u))
    # ... hence the rows RandomState.choice(p=...) draws from the same state.
    expected = np.random.RandomState(7).choice(n, 1000, p=w / w.sum())
    kernels.sample_rows(cdf, np.random.RandomState(7).random_sample(1000), out[:1000])
    np.testing.assert_array_equal(out[:1000], expected)
    assert (w[out] > 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("subset", [False, True])
def test_minibatch_step_matches_numpy(data, dtype, weighted, subset):
    rng = np.random.RandomState(1)
    X = data.astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    rows = rng.randint(0, X.shape[0], 300) if subset else None
    n = 300 if subset else X.shape[0]
    weights = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    centers = (X[rng.choice(X.shape[0], 8, replace=False)] - shift).astype(dtype)
    centers[3] += 100  # a center that gets no rows keeps its place
    counts = rng.randint(0, 50, 8).astype(dtype)
    new, labels, shifts = np.empty_like(centers), np.empty(n, dtype=np.int32), np.empty(8)
    got_counts = counts.copy()
    inertia = kernels.minibatch_step(X, shift, weights, None if rows is None else rows.astype(np.intp), centers, new,
                                     got_counts, labels, shifts, 64, 2)
    ref_new, ref_counts, ref_labels, ref_inertia, ref_shifts = ref_step(X, shift, weights, rows, centers, counts)
    np.testing.assert_array_equal(labels, ref_labels)
    rtol = tolerance(dtype)
    assert inertia == pytest.approx(ref_inertia, rel=rtol)
    np.testing.assert_allclose(new, ref_new, rtol=rtol, atol=rtol * np.abs(ref_new).max())
    np.testing.assert_allclose(got_counts, ref_counts, rtol=rtol)
    np.testing.assert_allclose(shifts, ref_shifts, rtol=1e-6 if dtype == np.float32 else 1e-9,
                               atol=rtol * np.abs(ref_new).max() ** 2)
    np.testing.assert_array_equal(new[3], centers[3])
    assert new.dtype == dtype and got_counts.dtype == dtype


@pytest.mark.parametrize("step", [0, 1, 5])
@pytest.mark.parametrize("tol, max_no_improvement", [(0.0, 3), (0.5, -1), (0.0, -1), (0.0, 0)])
def test_minibatch_convergence_matches_scikit_learns_test(step, tol, max_no_improvement):
    rng = np.random.RandomState(step)
    state, ref = new_state(), new_state()
    for i in range(step, step + 30):
        args = (i, 1000, 50, float(rng.uniform(0, 1)), float(rng.uniform(1, 2) / (1 + i)), tol, max_no_improvement)
        assert kernels.minibatch_convergence(state, *args) == ref_convergence(ref, *args)
        np.testing.assert_array_equal(state, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", [
    {"tol": 0.0, "max_no_improvement": -1, "ratio": 0.0},
    {"tol": 0.0, "max_no_improvement": 3, "ratio": 0.0},
    {"tol": 0.1, "max_no_improvement": -1, "ratio": 0.0},
    {"tol": 0.0, "max_no_improvement": -1, "ratio": 0.2},
], ids=["plain", "no-improvement", "tol", "reassignment"])
def test_minibatch_steps_match_numpy(data, dtype, params):
    rng = np.random.RandomState(2)
    X = data.astype(dtype)
    shift = X.mean(axis=0).astype(dtype)
    cdf = sampling_cdf(rng.uniform(0, 1, X.shape[0]))
    n_clusters, batch_size = 8, 50
    uniforms = rng.random_sample((120, batch_size))
    centers = (X[rng.choice(X.shape[0], n_clusters, replace=False)] - shift).astype(dtype)
    counts = np.full(n_clusters, 20, dtype=dtype)
    state, ref_state = new_state(), new_state()
    state[SLOT["since_last_reassign"]] = ref_state[SLOT["since_last_reassign"]] = 1  # not due before step 2
    got = centers.copy()
    previous, got_counts, batch_rows = np.empty_like(centers), counts.copy(), np.empty(batch_size, dtype=np.intp)
    n_done, status = kernels.minibatch_steps(X, shift, cdf, uniforms, got, previous, got_counts, state, batch_rows, 3,
                                             params["tol"], params["max_no_improvement"], params["ratio"], 16, 2)
    ref = ref_steps(X, shift, cdf, uniforms, centers, counts, ref_state, 3, params["tol"],
                    params["max_no_improvement"], params["ratio"])
    assert (n_done, status) == ref[:2]
    if params["ratio"]:
        assert status == STATUS["needs_reassignment"]
    elif params["tol"]:
        assert status == STATUS["converged_centers"] and n_done < uniforms.shape[0]
    elif params["max_no_improvement"] > 0:
        assert status == STATUS["converged_inertia"] and n_done < uniforms.shape[0]
    else:
        assert status == STATUS["ran_all"] and n_done == uniforms.shape[0]
    rtol = tolerance(dtype)
    scale = np.abs(ref[2]).max()
    np.testing.assert_allclose(got, ref[2], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(previous, ref[3], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(got_counts, ref[4], rtol=rtol)
    np.testing.assert_array_equal(batch_rows, ref[5])
    np.testing.assert_allclose(state, ref_state, rtol=1e-12 if dtype == np.float64 else 1e-6, equal_nan=True)


def test_minibatch_steps_split_into_calls_give_the_same_run(data):
    """Steps run in one call or in several (as the estimator does) agree
    bit for bit, and so do 1 and 2 threads."""
    rng = np.random.RandomState(3)
    X = data
    shift = X.mean(axis=0)
    cdf = sampling_cdf(np.ones(X.shape[0]))
    uniforms = rng.random_sample((30, 100))
    start = X[:8] - shift
    results = []
    for splits, n_threads in [([30], 1), ([30], 2), ([1, 7, 22], 2)]:
        centers, previous, counts = start.copy(), np.empty_like(start), np.full(8, 5.0)
        state, rows = new_state(), np.empty(100, dtype=np.intp)
        state[SLOT["since_last_reassign"]] = -1e9  # never due: no reassignment stops
        first = 0
        for size in splits:
            n_done, status = kernels.minibatch_steps(X, shift, cdf, uniforms[first:first + size], centers, previous,
                                                     counts, state, rows, first, 0.0, -1, 0.01, 32, n_threads)
            assert (n_done, status) == (size, STATUS["ran_all"])
            first += size
        results.append((centers, counts, state))
    for centers, counts, state in results[1:]:
        np.testing.assert_array_equal(centers, results[0][0])
        np.testing.assert_array_equal(counts, results[0][1])
        np.testing.assert_array_equal(state, results[0][2])


def test_kernels_check_their_arrays(data):
    X = data
    shift = np.zeros(6)
    centers, previous, counts = X[:4].copy(), np.empty((4, 6)), np.zeros(4)
    state, rows = new_state(), np.empty(10, dtype=np.intp)
    uniforms = np.zeros((2, 10))
    with pytest.raises(ValueError, match="minibatch_steps: cdf must have length 2000, got 5"):
        kernels.minibatch_steps(X, shift, np.ones(5), uniforms, centers, previous, counts, state, rows, 0, 0.0, -1,
                                0.01, 16, 1)
    with pytest.raises(ValueError, match="previous must not be centers"):
        kernels.minibatch_steps(X, shift, np.ones(2000), uniforms, centers, centers, counts, state, rows, 0, 0.0, -1,
                                0.01, 16, 1)
    with pytest.raises(ValueError, match="batch_rows must have length 10, got 3"):
        kernels.minibatch_steps(X, shift, np.ones(2000), uniforms, centers, previous, counts, state,
                                np.empty(3, dtype=np.intp), 0, 0.0, -1, 0.01, 16, 1)
    with pytest.raises(ValueError, match=r"rows must lie in \[0, 2000\)"):
        kernels.minibatch_step(X, shift, None, np.array([0, 2000]), centers, previous, counts,
                               np.empty(2, dtype=np.int32), np.empty(4), 16, 1)
    with pytest.raises(ValueError, match="counts must have length 4, got 3"):
        kernels.minibatch_step(X, shift, None, None, centers, previous, np.zeros(3), np.empty(2000, dtype=np.int32),
                               np.empty(4), 16, 1)
    with pytest.raises(ValueError, match="sample_weight"):
        kernels.minibatch_step(X, shift, np.ones(3), None, centers, previous, counts,
                               np.empty(2000, dtype=np.int32), np.empty(4), 16, 1)


# ---------------------------------------------------------------------------
# Parity with scikit-learn


def fit_both(X, sample_weight=None, **params):
    ours = MiniBatchKMeans(**params).fit(X, sample_weight=sample_weight)
    theirs = SklearnMiniBatchKMeans(**params).fit(X, sample_weight=sample_weight)
    return ours, theirs


def assert_same_fit(ours, theirs, dtype, labels=True):
    assert ours.n_steps_ == theirs.n_steps_
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.cluster_centers_.dtype == theirs.cluster_centers_.dtype == dtype
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    scale = np.abs(theirs.cluster_centers_).max()
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=rtol, atol=rtol * scale)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=rtol)
    if labels:
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours._counts, theirs._counts, rtol=rtol)


CASES = {
    "k-means++": {"n_clusters": 8, "random_state": 0, "batch_size": 100},
    "random, 3 inits": {"n_clusters": 8, "random_state": 1, "batch_size": 256, "init": "random"},
    "array": {"n_clusters": 8, "random_state": 2, "batch_size": 64, "init": "array"},
    "tol": {"n_clusters": 8, "random_state": 3, "batch_size": 64, "tol": 1e-3},
    "no early stop": {"n_clusters": 8, "random_state": 4, "batch_size": 128, "max_no_improvement": None, "max_iter": 4},
    "many reassignments": {"n_clusters": 20, "random_state": 5, "batch_size": 40, "reassignment_ratio": 0.3, "max_iter": 3,
                               "max_no_improvement": None},
    "batch over n_samples": {"n_clusters": 8, "random_state": 6, "batch_size": 5000, "max_iter": 5},
    "small init_size": {"n_clusters": 8, "random_state": 7, "batch_size": 100, "init_size": 30, "n_init": 2},
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(CASES))
def test_fit_follows_scikit_learn(data, case, weighted, dtype):
    X = data.astype(dtype)
    params = dict(CASES[case])
    if params.get("init") == "array":
        params["init"] = X[np.random.RandomState(0).choice(len(X), 8, replace=False)]
    weights = np.random.RandomState(1).uniform(0, 2, len(X)) if weighted else None
    ours, theirs = fit_both(X, weights, **params)
    assert_same_fit(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_without_labels_reports_the_smoothed_inertia(data, dtype):
    ours, theirs = fit_both(data.astype(dtype), n_clusters=8, random_state=0, batch_size=100, compute_labels=False)
    assert not hasattr(ours, "labels_")
    assert_same_fit(ours, theirs, dtype, labels=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sparse_fit_follows_scikit_learn(dtype, weighted):
    X = sp.random(1500, 40, density=0.1, random_state=0, format="csr", dtype=dtype)
    weights = np.random.RandomState(1).uniform(0, 2, X.shape[0]) if weighted else None
    ours, theirs = fit_both(X, weights, n_clusters=6, random_state=0, batch_size=64, reassignment_ratio=0.1,
                            max_iter=3, max_no_improvement=None)
    assert_same_fit(ours, theirs, dtype)
    dense = MiniBatchKMeans(n_clusters=6, random_state=0, batch_size=64, reassignment_ratio=0.1, max_iter=3,
                            max_no_improvement=None).fit(X.toarray(), sample_weight=weights)
    np.testing.assert_array_equal(dense.labels_, ours.labels_)
    np.testing.assert_allclose(dense.cluster_centers_, ours.cluster_centers_, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_partial_fit_follows_scikit_learn(data, dtype, sparse):
    X = data.astype(dtype)
    weights = np.random.RandomState(0).uniform(0, 2, len(X))
    ours, theirs = MiniBatchKMeans(8, random_state=0), SklearnMiniBatchKMeans(8, random_state=0)
    for start in range(0, len(X), 125):
        batch = X[start:start + 125]
        batch = sp.csr_matrix(batch) if sparse else batch
        ours.partial_fit(batch, sample_weight=weights[start:start + 125])
        theirs.partial_fit(batch, sample_weight=weights[start:start + 125])
    assert ours.n_steps_ == theirs.n_steps_ == 16
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=rtol,
                               atol=rtol * np.abs(theirs.cluster_centers_).max())
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=rtol)
    assert ours.cluster_centers_.dtype == dtype


def test_partial_fit_after_fit_continues_as_scikit_learn(data):
    ours, theirs = fit_both(data, n_clusters=8, random_state=0, batch_size=200, max_iter=2)
    for start in range(0, 600, 200):
        ours.partial_fit(data[start:start + 200])
        theirs.partial_fit(data[start:start + 200])
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10, atol=1e-10)
    assert ours.n_steps_ == theirs.n_steps_


def test_larger_fit_keeps_scikit_learns_inertia():
    """Hundreds of steps on 20,000 rows from the same seed: the same batches
    and the same result (float64 to 1e-8, float32 well within 1%)."""
    X, _ = make_blobs(20_000, 16, centers=32, random_state=3)
    for dtype, rtol in [(np.float64, 1e-8), (np.float32, 1e-3)]:
        params = {"n_clusters": 32, "random_state": 0, "batch_size": 256, "max_iter": 5, "max_no_improvement": None}
        ours, theirs = fit_both(X.astype(dtype), **params)
        assert ours.n_steps_ == theirs.n_steps_ == 390
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=rtol)


def test_verbose_prints_scikit_learns_lines(data):
    outputs = []
    for cls in (MiniBatchKMeans, SklearnMiniBatchKMeans):
        out = io.StringIO()
        with redirect_stdout(out):
            cls(8, random_state=0, batch_size=20, verbose=1, max_iter=2, reassignment_ratio=0.2).fit(data)
        outputs.append(re.sub(r"-?\d+\.\d+(e[-+]\d+)?", "#", out.getvalue()))
    assert "Reassigning" in outputs[1] and "Converged" in outputs[1]
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("batch_size, n_clusters", [(100, 8), (2048, 128)], ids=["small steps", "threaded steps"])
def test_same_result_with_any_thread_count(batch_size, n_clusters):
    X, _ = make_blobs(3000, 32, centers=20, random_state=1)
    # 2048 x 128 x 32 multiply-adds per step: two threads share each step.
    assert _step_threads(2, batch_size, n_clusters, X.shape[1]) == (2 if batch_size == 2048 else 1)
    fits = []
    for n in (1, 2):
        with threadpool_limits(n, user_api="openmp"):
            fits.append(MiniBatchKMeans(n_clusters, random_state=0, batch_size=batch_size, max_iter=3).fit(X))
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].inertia_ == fits[1].inertia_


def test_methods_and_dtypes(data):
    X32 = data.astype(np.float32)
    km = MiniBatchKMeans(8, random_state=0).fit(X32)
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(X32).dtype == np.float32
    np.testing.assert_array_equal(km.predict(X32), km.labels_)
    assert km.score(X32) == pytest.approx(-km.inertia_, rel=1e-6)
    np.testing.assert_array_equal(km.transform(km.cluster_centers_).diagonal(), 0)
    assert MiniBatchKMeans(3, random_state=0).fit(np.arange(40).reshape(20, 2)).cluster_centers_.dtype == np.float64
    assert list(km.get_feature_names_out()) == [f"minibatchkmeans{i}" for i in range(8)]


# ---------------------------------------------------------------------------
# Bad input


def unchanged(estimator):
    return pickle.dumps({k: v for k, v in vars(estimator).items() if k != "_random_state"})


@pytest.mark.parametrize("param, value", [
    ("batch_size", 0), ("max_no_improvement", -1), ("init_size", 0), ("reassignment_ratio", -0.5),
    ("compute_labels", "yes"), ("n_init", 0), ("max_iter", 0), ("tol", -1.0), ("batch_size", True),
    ("init", "k-means||"),  # KMeans' k-means||, not scikit-learn's MiniBatchKMeans
])
def test_bad_parameters_are_named(data, param, value):
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of MiniBatchKMeans"):
        MiniBatchKMeans(**{param: value}).fit(data)
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of MiniBatchKMeans"):
        MiniBatchKMeans(**{param: value}).partial_fit(data)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_input_changes_nothing(data, method):
    km = MiniBatchKMeans(8, random_state=0, batch_size=100).fit(data)
    km.partial_fit(data[:100])
    before = unchanged(km)
    bad_X = data.copy()
    bad_X[3, 2] = np.nan
    attempts = [
        (bad_X, {}, ValueError, "NaN"),
        (data, {"sample_weight": -np.ones(len(data))}, ValueError, "sample_weight"),
        (data, {"sample_weight": np.ones(5)}, ValueError, "sample_weight"),
        (data[:, :3] if method == "partial_fit" else data[:5], {}, ValueError,
         "features" if method == "partial_fit" else "n_samples=5 should be >= n_clusters=8"),
        (np.array([["a"] * 6] * 10), {}, ValueError, "X"),
    ]
    for X, kwargs, error, message in attempts:
        with pytest.raises(error, match=message):
            getattr(km, method)(X, **kwargs)
        assert unchanged(km) == before


def test_bad_init_is_named(data):
    with pytest.raises(ValueError, match=r"The shape of the initial centers \(3, 6\) does not match the number of "
                                         r"clusters 8"):
        MiniBatchKMeans(8, init=data[:3]).fit(data)
    with pytest.raises(ValueError, match="the centers returned by init"):
        MiniBatchKMeans(8, init=lambda X, k, random_state: X[:, :2][:k]).fit(data)
    weights = np.zeros(len(data))
    weights[:3] = 1
    with pytest.raises(ValueError, match="init='random' needs 8 row.*positive sample_weight"):
        MiniBatchKMeans(8, init="random", init_size=50, random_state=0).fit(data, sample_weight=weights)


def test_warnings_and_predict_before_fit(data):
    with pytest.warns(RuntimeWarning, match="init_size=3 should be larger than n_clusters=8"):
        MiniBatchKMeans(8, init_size=3, random_state=0).fit(data)
    with pytest.warns(RuntimeWarning, match="performing only one init in MiniBatchKMeans instead of n_init=4"):
        MiniBatchKMeans(8, init=data[:8], n_init=4).fit(data)
    with pytest.raises(NotFittedError):
        MiniBatchKMeans(8).predict(data)
