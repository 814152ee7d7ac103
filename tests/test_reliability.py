"""Regression tests for the reliability issue: kernel entry checks, BLAS
limits under concurrent calls, overflow-scale data, tied initialization far
from the origin, weight scale, covariances_ with precisions_init, bad
hyperparameters, label types at score, and input messages."""
import threading

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
import threadpoolctl
from sklearn.mixture import GaussianMixture as SKGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

from lvmfast import GaussianClassifier, GaussianMixture, GaussianNB, KMeans
from lvmfast._kernels import _distances, _gaussian, _kmeanspp, _lloyd, _responsibilities, _sparse
from lvmfast._parallel import blas_single_thread
from lvmfast.cluster import kmeans_plusplus

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def two_blobs(n=300, d=3, seed=0, offset=4.0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n // 2, d)), rng.normal(offset, 1, (n - n // 2, d))])
    y = np.repeat(["a", "b"], [n // 2, n - n // 2])
    return X, y


# ---------------------------------------------------------------------------
# 1. Kernel entry checks
#
# Each kernel is called with a valid set of arrays (which must work), then
# with one array replaced by a mismatched one: a ValueError naming the kernel
# must come before anything is read.

N, D, K, CHUNK, BLOCK = 50, 3, 4, 16, 32  # 2 blocks of 32 rows, chunks of 16
N_BLOCKS = 2


def _f(*shape):
    return np.zeros(shape)


def _valid_calls():
    rng = np.random.default_rng(0)
    X = rng.random((N, D))
    centers = rng.random((K, D))
    calls = {}
    calls["lloyd_step"] = (_lloyd.lloyd_step, dict(
        X=X, shift=_f(D), sample_weight=np.ones(N), centers=centers,
        center_sq_norms=(centers**2).sum(1), labels=np.zeros(N, np.intc),
        block_sums=_f(N_BLOCKS, K, D), block_weights=_f(N_BLOCKS, K), block_inertia=_f(N_BLOCKS),
        chunk_rows=CHUNK, block_rows=BLOCK, n_threads=1, update_centers=True, with_inertia=True,
        centers_single=centers.astype(np.float32), center_sq_single=(centers**2).sum(1).astype(np.float32),
        row_sq_norms=(X**2).sum(1), bound_scale=1e-6,
    ))
    calls["row_sq_norms"] = (_lloyd.row_sq_norms, dict(X=X, shift=_f(D), out=_f(N), chunk_rows=CHUNK, n_threads=1))
    calls["assigned_sq_distances"] = (_distances.assigned_sq_distances, dict(
        X=X, shift=_f(D), centers=centers, labels=np.arange(N, dtype=np.intc) % K, out=_f(N), n_threads=1,
    ))
    calls["pairwise_sq_distances"] = (_distances.pairwise_sq_distances, dict(
        X=X, shift=_f(D), centers=centers, out=_f(N, K), chunk_rows=CHUNK, n_threads=1,
    ))
    calls["direct_pairwise_sq_distances"] = (_distances.direct_pairwise_sq_distances, dict(
        X=X, centers=centers, out=_f(N, K), chunk_rows=CHUNK, n_threads=1,
    ))
    calls["kmeans_plusplus"] = (_kmeanspp.kmeans_plusplus, dict(
        X=X, sample_weight=np.ones(N), first_index=0, uniforms=rng.random((K - 1, 3)),
        indices=np.zeros(K, np.intp), closest=_f(N), labels=np.zeros(N, np.intc), pots=_f(N_BLOCKS, 4),
        chunk_rows=CHUNK, block_rows=BLOCK, n_threads=1,
    ))
    # full covariances: factors D x K*D, flattened
    terms = dict(
        cov_type=_gaussian.CovarianceKind.FULL, factors=np.tile(np.eye(D), (1, K)).ravel(), projected_means=centers.copy(),
        offsets=_f(K), constants=_f(K),
    )
    calls["log_prob"] = (_gaussian.log_prob, dict(
        X=X, shift=_f(D), out=np.zeros((N, K)), lse=_f(N), chunk_rows=CHUNK, n_threads=1, **terms,
    ))
    calls["em_pass"] = (_gaussian.em_pass, dict(
        X=X, shift=_f(D), sample_weight=np.ones(N), means=centers.copy(),
        block_nk=_f(N_BLOCKS, K), block_s1=_f(N_BLOCKS, K, D), block_s2=_f(N_BLOCKS, K * D * D),
        block_log_likelihood=_f(N_BLOCKS), chunk_rows=CHUNK, block_rows=BLOCK, n_threads=1, **terms,
    ))
    calls["class_pass"] = (_gaussian.class_pass, dict(
        X=X, shift=_f(D), sample_weight=np.ones(N), labels=np.arange(N, dtype=np.intp) % K, cov_type=_gaussian.CovarianceKind.DIAG,
        means=centers.copy(), second_moments=True, block_nk=_f(N_BLOCKS, K), block_s1=_f(N_BLOCKS, K, D),
        block_s2=_f(N_BLOCKS, K * D), chunk_rows=CHUNK, block_rows=BLOCK, n_threads=1,
    ))
    calls["log_normalize"] = (_responsibilities.log_normalize, dict(
        scores=np.zeros((N, K), order="F"), lse=_f(N), chunk_rows=CHUNK, n_threads=1,
    ))
    Xs = sp.random(N, D, density=0.5, format="csr", random_state=0)
    calls["csr_lloyd_step"] = (_sparse.csr_lloyd_step, dict(
        data=Xs.data, indices=Xs.indices, indptr=Xs.indptr, n_features=D, sample_weight=np.ones(N),
        centers=centers, center_sq_norms=(centers**2).sum(1), labels=np.zeros(N, np.intc),
        row_sq_norms=np.asarray(Xs.multiply(Xs).sum(1)).ravel(), sums=_f(K, D), weights=_f(K),
        block_inertia=_f(N_BLOCKS), chunk_rows=CHUNK, block_rows=BLOCK, n_threads=1,
        update_centers=True, with_inertia=True,
    ))
    return calls


F_CHOL = np.tile(np.eye(D), (1, K)).ravel()
MISMATCHES = {
    "lloyd_step": [
        ("shift", _f(D + 1)), ("sample_weight", np.ones(N - 1)), ("centers", _f(K, D - 1)),
        ("centers", _f(0, D)), ("center_sq_norms", _f(K - 1)), ("labels", np.zeros(N + 1, np.intc)),
        ("block_sums", _f(N_BLOCKS - 1, K, D)), ("block_sums", _f(N_BLOCKS, K + 1, D)),
        ("block_sums", _f(N_BLOCKS, K, D + 1)), ("block_weights", _f(N_BLOCKS + 1, K)),
        ("block_weights", _f(N_BLOCKS, K - 1)), ("block_inertia", _f(N_BLOCKS - 1)),
        ("block_inertia", _f(N_BLOCKS + 5)), ("chunk_rows", 0), ("block_rows", 24), ("block_rows", 0),
        ("n_threads", 0), ("centers_single", np.zeros((K, D + 1), np.float32)),
        ("center_sq_single", np.zeros(K + 1, np.float32)), ("row_sq_norms", _f(N - 1)),
        ("row_sq_norms", None),
    ],
    "row_sq_norms": [("shift", _f(D - 1)), ("out", _f(N - 1)), ("chunk_rows", 0)],
    "assigned_sq_distances": [
        ("shift", _f(D + 1)), ("centers", _f(K, D + 1)), ("labels", np.zeros(N - 1, np.intc)),
        ("labels", np.full(N, K, np.intc)), ("labels", np.full(N, -1, np.intc)), ("out", _f(N + 1)),
    ],
    "pairwise_sq_distances": [
        ("shift", _f(D + 1)), ("centers", _f(K, D - 1)), ("out", _f(N, K + 1)), ("out", _f(N - 1, K)),
        ("chunk_rows", 0), ("centers", _f(0, D)),
    ],
    "direct_pairwise_sq_distances": [
        ("centers", _f(K, D + 1)), ("out", _f(N, K - 1)), ("out", _f(N + 1, K)), ("chunk_rows", 0),
    ],
    "kmeans_plusplus": [
        ("sample_weight", np.ones(N - 1)), ("first_index", N), ("first_index", -1),
        ("uniforms", _f(K, 3)), ("indices", np.zeros(0, np.intp)), ("closest", _f(N - 1)),
        ("labels", np.zeros(N - 1, np.intc)), ("pots", _f(N_BLOCKS - 1, 4)), ("pots", _f(N_BLOCKS, 3)),
        ("block_rows", 20), ("chunk_rows", 0),
    ],
    "log_prob": [
        ("shift", _f(D + 1)), ("factors", F_CHOL[:-1]), ("projected_means", _f(K, D + 1)),
        ("projected_means", _f(K - 1, D)), ("offsets", _f(K + 1)), ("constants", _f(K - 1)),
        ("out", np.zeros((N - 1, K))), ("cov_type", 7), ("cov_type", 1), ("chunk_rows", 0),
        ("out", np.zeros((N, 0))), ("lse", _f(N - 1)),
    ],
    "em_pass": [
        ("shift", _f(D - 1)), ("sample_weight", np.ones(N + 1)), ("factors", _f(D * D)),
        ("projected_means", _f(K, D - 1)), ("offsets", _f(K - 1)), ("constants", _f(K + 1)),
        ("means", _f(K, D + 1)), ("block_nk", _f(N_BLOCKS - 1, K)), ("block_nk", _f(N_BLOCKS, K + 1)),
        ("block_s1", _f(N_BLOCKS, K, D - 1)), ("block_s2", _f(N_BLOCKS, K * D)),
        ("block_log_likelihood", _f(N_BLOCKS + 1)), ("block_rows", 40), ("cov_type", -1),
        ("n_threads", 0), ("cov_type", 3),
    ],
    "class_pass": [
        ("shift", _f(D + 1)), ("sample_weight", np.ones(N - 1)), ("labels", np.zeros(N - 1, np.intp)),
        ("labels", np.full(N, K, np.intp)), ("means", _f(K, D - 1)), ("block_nk", _f(N_BLOCKS + 1, K)),
        ("block_s1", _f(N_BLOCKS, K - 1, D)), ("block_s2", _f(N_BLOCKS, D * D)), ("cov_type", 9),
        ("block_rows", 8 + CHUNK),
    ],
    "log_normalize": [("lse", _f(N - 1)), ("scores", np.zeros((N, 0), order="F")), ("chunk_rows", 0)],
    "csr_lloyd_step": [
        ("centers", _f(K, D + 1)), ("labels", np.zeros(N - 1, np.intc)), ("block_inertia", _f(1)),
        ("sums", _f(K, D + 1)), ("block_rows", 17),
    ],
}
CASES = [(kernel, name, value) for kernel, changes in MISMATCHES.items() for name, value in changes]


@pytest.mark.parametrize("kernel", sorted(MISMATCHES))
def test_kernel_accepts_matching_arrays(kernel):
    function, kwargs = _valid_calls()[kernel]
    function(**kwargs)


@pytest.mark.parametrize(
    "kernel, name, value", CASES,
    ids=[f"{k}-{n}-{np.shape(v) if v is not None else None}-{v if np.isscalar(v) else ''}" for k, n, v in CASES],
)
def test_kernel_refuses_a_mismatched_array(kernel, name, value):
    function, kwargs = _valid_calls()[kernel]
    kwargs[name] = value
    with pytest.raises(ValueError, match=kernel):
        function(**kwargs)


def test_kernel_message_names_the_array_and_shapes():
    function, kwargs = _valid_calls()["em_pass"]
    kwargs["block_s1"] = _f(N_BLOCKS, K, D + 2)
    with pytest.raises(ValueError, match=r"em_pass: block_s1.*\(2, 4, 3\), got \(2, 4, 5\)"):
        function(**kwargs)


def test_kernel_refuses_none_for_a_required_array():
    function, kwargs = _valid_calls()["lloyd_step"]
    kwargs["labels"] = None
    with pytest.raises(TypeError):
        function(**kwargs)


def test_log_prob_with_a_wider_X_than_the_model():
    # The historic crash, at the kernel: rows of 2000 features against a
    # 3-feature model must not be read.
    function, kwargs = _valid_calls()["log_prob"]
    kwargs["X"] = np.zeros((N, 2000))
    with pytest.raises(ValueError, match="log_prob: shift"):
        function(**kwargs)


def _wide_rows(n=4000, d=2000):
    return np.random.default_rng(1).random((n, d))


def test_gaussian_mixture_failed_refit_then_predict_on_wider_X():
    rng = np.random.default_rng(0)
    gm = GaussianMixture(2, random_state=0).fit(rng.random((100, 3)))
    gm.set_params(reg_covar=-1)
    with pytest.raises(ValueError):
        gm.fit(rng.random((100, 2000)))
    gm.set_params(reg_covar=1e-6)
    assert gm.n_features_in_ == 3 and gm.means_.shape == (2, 3)
    for method in (gm.predict, gm.predict_proba, gm.score_samples):
        with pytest.raises(ValueError, match="2000 features.*expecting 3 features"):
            method(_wide_rows())


def test_gaussian_classifier_failed_refit_then_predict_on_wider_X():
    X, y = two_blobs()
    gc = GaussianClassifier().fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        gc.fit(np.random.default_rng(0).random((100, 2000)), np.zeros(100))
    assert gc.n_features_in_ == 3
    for method in (gc.predict, gc.predict_proba, gc.predict_log_proba):
        with pytest.raises(ValueError, match="2000 features.*expecting 3 features"):
            method(_wide_rows())


def test_kmeans_failed_refit_then_predict_on_wider_X():
    X, _ = two_blobs()
    km = KMeans(2, random_state=0).fit(X)
    km.set_params(n_clusters=200)
    with pytest.raises(ValueError, match="n_samples=100 should be >= n_clusters=200"):
        km.fit(np.random.default_rng(0).random((100, 2000)))
    km.set_params(n_clusters=2)
    assert km.cluster_centers_.shape == (2, 3)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match="2000 features.*expecting 3 features"):
            method(_wide_rows())


# ---------------------------------------------------------------------------
# 2. Concurrent calls leave the BLAS thread counts as they were


def _thread_counts():
    return sorted((i["internal_api"], i["prefix"], i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info())


def _run_in_threads(functions):
    results, errors = [None] * len(functions), []
    barrier = threading.Barrier(len(functions))

    def run(i):
        try:
            barrier.wait()
            results[i] = functions[i]()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(functions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


class _RecordingController:
    """Stands in for threadpoolctl's controller: records when the limit is
    set and restored (OpenBLAS itself may ignore a count set from a thread
    other than the main one, so the real libraries cannot show this)."""

    def __init__(self):
        self.log = []

    def limit(self, limits, user_api):
        self.log.append(("set", limits, user_api))
        controller = self

        class Limiter:
            def restore_original_limits(self):
                controller.log.append(("restore",))

        return Limiter()


def test_blas_limit_is_shared_and_restored_by_the_last_one_out(monkeypatch):
    import lvmfast._parallel as parallel

    controller = _RecordingController()
    monkeypatch.setattr(parallel, "_threadpool_controller", lambda: controller)
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    log_while_b_alone = []

    def first():
        with blas_single_thread():
            a_inside.set()
            assert b_inside.wait(10)
        a_left.set()

    def second():
        assert a_inside.wait(10)
        with blas_single_thread():
            b_inside.set()
            assert a_left.wait(10)
            log_while_b_alone.extend(controller.log)  # A has left; B still holds the limit

    _run_in_threads([first, second])
    assert log_while_b_alone == [("set", 1, "blas")]
    assert controller.log == [("set", 1, "blas"), ("restore",)]
    assert parallel._blas_holders == 0


def test_blas_limit_is_restored_after_an_error(monkeypatch):
    import lvmfast._parallel as parallel

    controller = _RecordingController()
    monkeypatch.setattr(parallel, "_threadpool_controller", lambda: controller)
    with pytest.raises(RuntimeError):
        with blas_single_thread():
            with blas_single_thread():
                raise RuntimeError
    assert controller.log == [("set", 1, "blas"), ("restore",)]
    assert parallel._blas_holders == 0


def test_blas_limit_nests():
    before = _thread_counts()
    with blas_single_thread():
        with blas_single_thread():
            pass
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    assert _thread_counts() == before


def test_concurrent_calls_match_serial_and_leave_thread_counts():
    X, y = two_blobs(n=4000, d=6)
    before = _thread_counts()
    fitted = {
        "kmeans": KMeans(3, random_state=0).fit(X),
        "gm": GaussianMixture(3, random_state=0).fit(X),
        "gnb": GaussianNB().fit(X, y),
        "gc": GaussianClassifier().fit(X, y),
    }
    calls = {  # shared fitted estimators
        "kmeans.predict": lambda: fitted["kmeans"].predict(X),
        "kmeans.transform": lambda: fitted["kmeans"].transform(X),
        "gm.predict": lambda: fitted["gm"].predict(X),
        "gm.predict_proba": lambda: fitted["gm"].predict_proba(X),
        "gm.score_samples": lambda: fitted["gm"].score_samples(X),
        "gnb.predict_proba": lambda: fitted["gnb"].predict_proba(X),
        "gc.predict_proba": lambda: fitted["gc"].predict_proba(X),
        "gc.predict": lambda: fitted["gc"].predict(X),
        # separate estimators, fitted concurrently
        "kmeans.fit": lambda: KMeans(3, random_state=1).fit(X).cluster_centers_,
        "kmeans.fit_2": lambda: KMeans(3, random_state=1).fit(X).cluster_centers_,
        "gm.fit": lambda: GaussianMixture(3, random_state=1).fit(X).means_,
        "gm.fit_tied": lambda: GaussianMixture(2, covariance_type="tied", random_state=1).fit(X).covariances_,
        "gnb.fit": lambda: GaussianNB().fit(X, y).var_,
        "gc.fit": lambda: GaussianClassifier().fit(X, y).covariances_,
    }
    serial = {name: call() for name, call in calls.items()}
    for _ in range(2):
        concurrent = dict(zip(calls, _run_in_threads(list(calls.values()))))
        for name in calls:
            np.testing.assert_array_equal(concurrent[name], serial[name], err_msg=name)
    assert _thread_counts() == before


# ---------------------------------------------------------------------------
# 3. Overflow-scale and subnormal data

SCALE_MESSAGE = r"X has values up to [0-9.]+e\+300 in absolute value, whose squares overflow float64"


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_mixture_fit_refuses_overflowing_scale(covariance_type):
    X, _ = two_blobs()
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        gm.fit(X * 1e300)
    assert not hasattr(gm, "means_")


@pytest.mark.parametrize(
    "make", [lambda: KMeans(2, random_state=0), lambda: GaussianNB(), lambda: GaussianClassifier()],
    ids=["KMeans", "GaussianNB", "GaussianClassifier"],
)
def test_fits_refuse_overflowing_scale(make):
    X, y = two_blobs()
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        make().fit(X * 1e300, y)


def test_score_samples_on_overflowing_scale_raises_not_nan():
    X, _ = two_blobs()
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"X has values up to .*e\+160.*Scale the data"):
        gm.score_samples(X * 1e160)
    for method in (gm.predict, gm.predict_proba, gm.score):
        with pytest.raises(ValueError, match="Scale the data"):
            method(X * 1e160)


def test_predictions_on_overflowing_scale_raise():
    X, y = two_blobs()
    km = KMeans(2, random_state=0).fit(X)
    gnb = GaussianNB().fit(X, y)
    for method in (km.predict, km.transform, km.score, gnb.predict, gnb.predict_proba):
        with pytest.raises(ValueError, match="Scale the data"):
            method(X * 1e300)


def test_sparse_and_function_inputs_refuse_overflowing_scale():
    X, _ = two_blobs()
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        KMeans(2, random_state=0).fit(sp.csr_matrix(X * 1e300))
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        kmeans_plusplus(X * 1e300, 2, random_state=0)


def test_large_but_safe_scale_still_fits():
    X, _ = two_blobs()
    scale = 1e150
    gm = GaussianMixture(2, random_state=0).fit(X * scale)
    ref = GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_allclose(gm.means_ / scale, ref.means_, rtol=1e-6, atol=1e-9)
    assert np.isfinite(gm.score_samples(X * scale)).all()
    km = KMeans(2, random_state=0).fit(X * scale)
    assert np.isfinite(km.inertia_)


def test_float32_scale_limit():
    X, _ = two_blobs()
    with pytest.raises(ValueError, match="overflow float32"):
        KMeans(2, random_state=0).fit((X * 1e19).astype(np.float32))
    km = KMeans(2, random_state=0).fit((X * 1e17).astype(np.float32))
    assert np.isfinite(km.inertia_) and np.isfinite(km.cluster_centers_).all()


def test_nan_and_inf_keep_scikit_learns_messages():
    X, _ = two_blobs()
    X_nan, X_inf = X.copy(), X.copy()
    X_nan[3, 1], X_inf[5, 2] = np.nan, np.inf
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(2).fit(X_nan)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        KMeans(2).fit(X_inf)


def test_assume_finite_skips_the_scale_check():
    X, _ = two_blobs()
    with sklearn.config_context(assume_finite=True):
        KMeans(2, random_state=0, n_init=1).fit(X)  # still fine on ordinary data


SUBNORMAL_MESSAGE = r"X's spread is too small for float32.*pass X as float64"


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")  # k-means on squares that underflow
def test_subnormal_float32_data_is_refused_not_nan():
    X, y = two_blobs()
    tiny = (X * 1e-40).astype(np.float32)
    with pytest.raises(ValueError, match=SUBNORMAL_MESSAGE):
        GaussianNB().fit(tiny, y)
    with pytest.raises(ValueError, match=SUBNORMAL_MESSAGE):
        GaussianClassifier(reg_covar=1e-90).fit(tiny, y)
    with pytest.raises(ValueError, match=SUBNORMAL_MESSAGE):
        GaussianMixture(2, reg_covar=1e-90, random_state=0).fit(tiny)
    # reg_covar bounds the precisions: a finite answer, not NaN
    gm = GaussianMixture(2, random_state=0).fit(tiny)
    assert np.isfinite(gm.predict_proba(tiny)).all()
    assert np.isfinite(gm.score_samples(tiny)).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sum_of_squares_kernel(dtype, n_threads):
    from lvmfast._kernels._data import sum_of_squares

    values = np.random.default_rng(0).normal(size=100_003).astype(dtype)
    expected = np.sum(values.astype(np.float64) ** 2)
    assert sum_of_squares(values, n_threads) == pytest.approx(expected, rel=1e-12)
    assert sum_of_squares(values[:0], n_threads) == 0.0
    for bad in (np.nan, np.inf, -np.inf):
        spoiled = values.copy()
        spoiled[77_777] = bad
        assert not np.isfinite(sum_of_squares(spoiled, n_threads))
    with pytest.raises(ValueError, match="sum_of_squares: n_threads"):
        sum_of_squares(values, 0)


def test_validation_cost_is_one_pass(monkeypatch):
    # Ordinary data: the scale check never reads X a second time.
    import lvmfast._validation as validation

    def fail(*args, **kwargs):
        raise AssertionError("second pass over X")

    monkeypatch.setattr(validation, "_assert_all_finite", fail)
    X, _ = two_blobs()
    KMeans(2, random_state=0).fit(X).predict(X)
    GaussianMixture(2, random_state=0).fit(X.astype(np.float32))


# ---------------------------------------------------------------------------
# 4. Tied covariances from k-means far from the origin


def test_tied_kmeans_init_far_from_the_origin_matches_sklearn():
    X, _ = two_blobs(n=400)
    offset = 1e8
    ours = GaussianMixture(2, covariance_type="tied", random_state=5).fit(X + offset)
    theirs = SKGaussianMixture(2, covariance_type="tied", random_state=5).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.means_ - offset, theirs.means_, rtol=1e-6, atol=1e-6)
    for name in ("weights_", "covariances_", "precisions_"):
        a, b = getattr(ours, name), getattr(theirs, name)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("n_samples", [8, 20, 60])
def test_tied_kmeans_init_far_from_the_origin_small_data(n_samples):
    rng = np.random.default_rng(3)
    X = rng.random((n_samples, 3))
    weights = rng.random(n_samples) + 0.5
    for sample_weight in (None, weights):
        far = GaussianMixture(2, covariance_type="tied", random_state=0).fit(X + 1e8, sample_weight=sample_weight)
        near = GaussianMixture(2, covariance_type="tied", random_state=0).fit(X, sample_weight=sample_weight)
        np.testing.assert_allclose(far.covariances_, near.covariances_, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# 5. GaussianMixture sample_weight scale


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("scale", [1e-15, 1e-310, 1e15, 1e300])
def test_gaussian_mixture_weight_scale_changes_nothing(covariance_type, scale):
    X, _ = two_blobs()
    weights = np.random.default_rng(2).random(X.shape[0]) + 0.5
    ref = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X, sample_weight=weights)
    scaled = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X, sample_weight=weights * scale)
    assert scaled.n_iter_ == ref.n_iter_
    assert scaled.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10, abs=1e-12)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(scaled, name), getattr(ref, name), rtol=1e-9, atol=1e-12, err_msg=name)


def test_unit_weights_are_kept_exactly():
    X, _ = two_blobs()
    plain = GaussianMixture(2, random_state=0).fit(X)
    weighted = GaussianMixture(2, random_state=0).fit(X, sample_weight=np.ones(X.shape[0]))
    np.testing.assert_array_equal(plain.means_, weighted.means_)
    np.testing.assert_array_equal(plain.covariances_, weighted.covariances_)


# ---------------------------------------------------------------------------
# 6. covariances_ with max_iter=0 and precisions_init


def _precisions_init(covariance_type, d=3, k=2):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(k, d, d))
    full = np.einsum("kij,klj->kil", a, a) + 2 * np.eye(d)
    return {"full": full, "tied": full[0], "diag": rng.random((k, d)) + 0.5, "spherical": rng.random(k) + 0.5}[covariance_type]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_iter_0_covariances_are_the_inverse_precisions(covariance_type, dtype):
    X, _ = two_blobs()
    X = X.astype(dtype)
    precisions = _precisions_init(covariance_type)
    if covariance_type in ("full", "tied"):
        expected = np.linalg.inv(precisions)
    else:
        expected = 1 / precisions
    fresh = GaussianMixture(2, covariance_type=covariance_type, max_iter=0, precisions_init=precisions, random_state=0)
    fresh.fit(X)
    refit = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    refit.set_params(max_iter=0, precisions_init=precisions).fit(X)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for gm in (fresh, refit):
        assert gm.covariances_.dtype == dtype
        np.testing.assert_allclose(gm.covariances_, expected, rtol=rtol)
        np.testing.assert_allclose(gm.precisions_, precisions, rtol=rtol * 10)


# ---------------------------------------------------------------------------
# 7. NaN / inf hyperparameters


@pytest.mark.parametrize(
    "make, parameter, value",
    [
        (lambda v: GaussianNB(var_smoothing=v), "var_smoothing", np.nan),
        (lambda v: GaussianNB(var_smoothing=v), "var_smoothing", np.inf),
        (lambda v: GaussianMixture(2, reg_covar=v), "reg_covar", np.nan),
        (lambda v: GaussianMixture(2, reg_covar=v), "reg_covar", np.inf),
        (lambda v: GaussianMixture(2, tol=v), "tol", np.nan),
        (lambda v: GaussianMixture(2, warm_start=v), "warm_start", "no"),
        (lambda v: GaussianClassifier(reg_covar=v), "reg_covar", np.nan),
        (lambda v: GaussianClassifier(reg_covar=v), "reg_covar", np.inf),
        (lambda v: KMeans(2, tol=v), "tol", np.nan),
    ],
)
def test_bad_hyperparameters_are_refused_at_fit(make, parameter, value):
    X, y = two_blobs()
    estimator = make(value)
    with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter"):
        estimator.fit(X, y)
    assert not hasattr(estimator, "n_features_in_")


# ---------------------------------------------------------------------------
# 8. score with labels of another type than fit's


@pytest.mark.parametrize("make", [GaussianNB, GaussianClassifier])
def test_score_with_another_label_type_raises(make):
    X, y = two_blobs()
    clf = make().fit(X, y)
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.score(X, (y == "b").astype(int))
    assert clf.score(X, y) > 0.9


# ---------------------------------------------------------------------------
# 9. Messages about the input


@pytest.mark.parametrize("make", [lambda: GaussianMixture(2, random_state=0), lambda: KMeans(2, random_state=0)])
def test_feature_name_mismatch_lists_unseen_and_missing(make):
    X, _ = two_blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    estimator = make().fit(frame)
    with pytest.raises(ValueError, match=r"(?s)unseen at fit time:\n- z.*yet now missing:\n- a"):
        estimator.predict(frame.rename(columns={"a": "z"}))


@pytest.mark.parametrize("dtype", ["object", "Float64", "Int64"])
@pytest.mark.parametrize(
    "make", [lambda: GaussianMixture(2, random_state=0), lambda: KMeans(2, random_state=0), lambda: GaussianNB()],
    ids=["GaussianMixture", "KMeans", "GaussianNB"],
)
def test_pandas_missing_value_says_nan(make, dtype):
    X, y = two_blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    values = list(np.round(X[:, 1])) if dtype == "Int64" else list(X[:, 1])
    values[7] = pd.NA
    frame["b"] = pd.Series(values, dtype=dtype)
    with pytest.raises(ValueError, match="contains NaN"):
        make().fit(frame, y)


# ---------------------------------------------------------------------------
# Found by the property suite's thorough profile (tests/properties/)


@pytest.mark.parametrize("make", [lambda v: KMeans(n_clusters=v), lambda v: KMeans(max_iter=v),
                                  lambda v: GaussianMixture(n_components=v)])
def test_bool_counts_are_refused(make):
    """True is an Integral to Python; as a count it is a mistake, refused by
    the parameter check (which names the parameter), not a NumPy TypeError."""
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(InvalidParameterError, match="parameter"):
        make(True).fit(X)


def test_kmeans_huge_weights_give_the_unweighted_model():
    """Weights of 1e300 (all equal) overflowed the sums w x: NaN centers."""
    X, _ = two_blobs(60, 2)
    ref = KMeans(2, init=X[[0, -1]], n_init=1).fit(X)
    est = KMeans(2, init=X[[0, -1]], n_init=1).fit(X, sample_weight=np.full(len(X), 1e300))
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    np.testing.assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    assert est.inertia_ == pytest.approx(ref.inertia_ * 1e300, rel=1e-12)


def test_kmeans_float32_rows_against_a_far_float64_model():
    """transform of float32 rows with a float64 model at 1e20: the squared
    distances overflow float32 (inf), the distances themselves do not."""
    X = np.array([[0.0], [1e20]])
    est = KMeans(2, init=X, n_init=1).fit(X)
    out = est.transform(np.array([[0.0]], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1e20]], rtol=1e-6)


def test_kmeans_labels_are_exact_on_near_ties():
    """Rows 1.19e-7 apart next to a row at 45: the float64 expansion cannot
    tell them apart; the labels must be the nearest centers all the same
    (each distinct row its own cluster), in fit and in predict."""
    X = np.array([[0.0], [45.0], [1.1920929e-07], [1.0]])
    est = KMeans(4, n_init=1, random_state=0).fit(X)
    assert len(np.unique(est.labels_)) == 4
    assert est.inertia_ == 0.0
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_gaussian_nb_refuses_zero_variance_at_fit():
    """Constant X (or a spread whose square underflows, or var_smoothing=0
    on a constant feature) left var_ 0 and NaN probabilities."""
    y = np.array([0, 1])
    with pytest.raises(ValueError, match="X is constant"):
        GaussianNB().fit(np.ones((2, 2)), y)
    with pytest.raises(ValueError, match="spread is too small"):
        GaussianNB().fit(np.array([[0.0], [1e-319]]), y)
    with pytest.raises(ValueError, match="var_smoothing"):
        GaussianNB(var_smoothing=0).fit(np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]), [0, 0, 1, 1])


def test_gaussian_nb_partial_fit_zero_variance_then_more_batches():
    """A first partial_fit batch may have no spread yet: accepted, with
    predictions refused (naming var_smoothing) until a later batch gives one."""
    est = GaussianNB().partial_fit(np.array([[1.0]]), [0], classes=[0, 1])
    with pytest.raises(ValueError, match="zero variance"):
        est.predict_proba(np.array([[1.0]]))
    est.partial_fit(np.array([[2.0], [5.0], [6.0]]), [0, 1, 1])
    assert np.isfinite(est.predict_proba(np.array([[1.0]]))).all()


def test_gaussian_classifier_spherical_tight_class_far_from_the_mean():
    """A spherical class of variance 2.5e-17 at 1e5: its log-densities by
    the expansion ||x||^2 - 2 x.m + ||m||^2 erred by thousands of nats."""
    X = np.array([[100116.19667202], [99986.81346811], [99986.81346812], [100109.72322526], [100123.45064396]])
    y = np.array([1, 0, 0, 1, 1])
    est = GaussianClassifier("spherical").fit(X, y)
    proba = est.predict_proba(X)
    np.testing.assert_array_equal(proba.argmax(axis=1), y)
    assert proba[1, 0] == pytest.approx(1.0)


def test_gaussian_mixture_max_iter_zero_returns_means_init_exactly():
    """max_iter=0: means_ are means_init as given, not their round trip
    through the centered frame (1e-20 next to a data mean of 5 came back 0)."""
    X = np.array([[9.7, 10.5], [1.05, 1e-20], [-0.4, 1e-20], [8.9, 10.5]])
    means = np.array([[0.3, 1e-20], [9.3, 10.5]])
    est = GaussianMixture(2, max_iter=0, means_init=means, weights_init=[0.5, 0.5],
                          precisions_init=np.array([np.eye(2), np.eye(2)])).fit(X)
    np.testing.assert_array_equal(est.means_, means)
