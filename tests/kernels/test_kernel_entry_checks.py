"""Kernels check their arrays before they read them (a ValueError naming the
kernel, the array and the shapes), and estimators refitted on a wider X
after a failed fit still predict through those checks."""
import numpy as np
import pytest
import scipy.sparse as sp

from lvmfast import GaussianClassifier, GaussianMixture, KMeans
from lvmfast._kernels import _distances, _gaussian, _kmeanspp, _lloyd, _responsibilities, _sparse
from two_class_data import two_blobs


# ---------------------------------------------------------------------------
# Kernel entry checks
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
