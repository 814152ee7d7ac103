"""Gaussian log-densities against scipy.stats.multivariate_normal, for every
covariance type, at chunk edges."""
import numpy as np
import pytest
from scipy import linalg
from scipy.stats import multivariate_normal

from lvmfast._gaussian import COVARIANCE_TYPES, log_prob

RTOL = {np.float64: 1e-10, np.float32: 2e-4}


def random_model(covariance_type, n_components, n_features, rng):
    """Means, covariances (K x D x D, as full matrices) and scikit-learn's
    precision Cholesky factors for that covariance type."""
    means = rng.standard_normal((n_components, n_features)) * 3
    if covariance_type in ("full", "tied"):
        count = n_components if covariance_type == "full" else 1
        A = rng.standard_normal((count, n_features, n_features))
        covs = A @ A.transpose(0, 2, 1) + n_features * np.eye(n_features)
        chols = np.array([linalg.solve_triangular(linalg.cholesky(c, lower=True), np.eye(n_features), lower=True).T for c in covs])
        full = np.repeat(covs, n_components, axis=0) if covariance_type == "tied" else covs
        return means, full, (chols[0] if covariance_type == "tied" else chols)
    if covariance_type == "diag":
        var = rng.uniform(0.5, 3.0, (n_components, n_features))
        return means, np.array([np.diag(v) for v in var]), 1 / np.sqrt(var)
    var = rng.uniform(0.5, 3.0, n_components)
    return means, np.array([v * np.eye(n_features) for v in var]), 1 / np.sqrt(var)


def reference(X, means, covs, log_weights=None):
    out = np.column_stack([multivariate_normal(m, c).logpdf(X.astype(np.float64)) for m, c in zip(means, covs)])
    return out if log_weights is None else out + log_weights


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_samples,chunk_rows", [(1, 16), (15, 16), (16, 16), (17, 16), (300, 64)])
@pytest.mark.parametrize("n_components", [1, 3])
def test_log_prob_matches_scipy(covariance_type, dtype, n_samples, chunk_rows, n_components):
    rng = np.random.default_rng(n_samples + 10 * n_components)
    means, covs, chol = random_model(covariance_type, n_components, 4, rng)
    X = (means[rng.integers(0, n_components, n_samples)] + rng.standard_normal((n_samples, 4)) + 50).astype(dtype)
    means = means + 50  # data and model far from the origin: the kernel centers
    shift = X.mean(axis=0)
    log_weights = np.log(rng.dirichlet(np.ones(n_components)))
    got = log_prob(X, shift, means, chol, covariance_type, log_weights, chunk_rows=chunk_rows)
    assert got.dtype == dtype and got.shape == (n_samples, n_components)
    np.testing.assert_allclose(got, reference(X, means, covs, log_weights), rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_prob_same_for_any_thread_count(covariance_type):
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(7)
    means, _, chol = random_model(covariance_type, 5, 6, rng)
    X = rng.standard_normal((2000, 6))
    runs = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            runs.append(log_prob(X, X.mean(axis=0), means, chol, covariance_type, chunk_rows=64))
    np.testing.assert_array_equal(runs[0], runs[1])


def reference_statistics(X, shift, w, weights, means, covs, covariance_type):
    from scipy.special import logsumexp

    log_prob = reference(X, means, covs, np.log(weights))
    lse = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - lse[:, None]) * w[:, None]
    Xc = X.astype(np.float64) - shift
    mc = means - shift
    nk = resp.sum(axis=0)
    s1 = resp.T @ Xc
    if covariance_type == "full":
        s2 = np.stack([(resp[:, k, None] * (Xc - mc[k])).T @ (Xc - mc[k]) for k in range(len(means))]).ravel()
    elif covariance_type == "tied":
        s2 = ((w[:, None] * Xc).T @ Xc).ravel()
    else:
        s2 = np.stack([resp[:, k] @ (Xc - mc[k]) ** 2 for k in range(len(means))]).ravel()
    return nk, s1, s2, float(w @ lse)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_samples", [1, 17, 3000])
def test_em_statistics_match_numpy(covariance_type, dtype, n_samples):
    from lvmfast._gaussian import em_statistics

    rng = np.random.default_rng(n_samples)
    means, covs, chol = random_model(covariance_type, 3, 5, rng)
    X = (means[rng.integers(0, 3, n_samples)] + rng.standard_normal((n_samples, 5)) * 2 + 20).astype(dtype)
    means = means + 20
    shift = X.mean(axis=0, dtype=np.float64).astype(dtype)
    w = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    weights = rng.dirichlet(np.ones(3))
    got = em_statistics(X, shift, w, np.log(weights), means, chol, covariance_type)
    ref = reference_statistics(X, shift.astype(np.float64), w.astype(np.float64), weights, means, covs, covariance_type)
    rtol = 1e-9 if dtype is np.float64 else 2e-4
    for name, a, b in zip(("nk", "s1", "s2"), got[:3], ref[:3]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)
    assert got[3] == pytest.approx(ref[3], rel=rtol)


def test_em_statistics_same_for_any_thread_count():
    from threadpoolctl import threadpool_limits

    from lvmfast._gaussian import em_statistics

    rng = np.random.default_rng(3)
    means, _, chol = random_model("full", 4, 3, rng)
    X = rng.standard_normal((50000, 3)) * 3
    runs = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            runs.append(em_statistics(X, X.mean(axis=0), np.ones(50000), np.log(np.full(4, 0.25)), means, chol, "full"))
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)


def collapsed_diag_model(rng, n_features=8):
    """Two diag components, the second collapsed to variance 1e-6 (what
    reg_covar leaves of a component on one point), and float32 rows around
    both, 10 units from the data mean."""
    means = np.stack([np.full(n_features, -10.0), np.full(n_features, 10.0)])
    var = np.stack([np.ones(n_features), np.full(n_features, 1e-6)])
    X = np.concatenate([
        means[0] + rng.standard_normal((200, n_features)),
        means[1] + 1e-3 * rng.standard_normal((200, n_features)),
    ]).astype(np.float32)
    return X, means, var


def test_diag_switches_to_direct_differences_where_the_expansion_loses_digits():
    from lvmfast._gaussian import expansion_loses_digits

    rng = np.random.default_rng(3)
    X, means, var = collapsed_diag_model(rng)
    shift = X.mean(axis=0, dtype=np.float64)
    chol = 1 / np.sqrt(var)
    assert expansion_loses_digits(means, chol, shift, np.float32)
    assert not expansion_loses_digits(means[:1], chol[:1], shift, np.float32)
    ref = reference(X, means, [np.diag(v) for v in var])
    # The expansion in float32 is off by nats here; the automatic choice is exact.
    expanded = log_prob(X, shift.astype(np.float32), means, chol, "diag", direct=False)
    assert np.abs(expanded - ref).max() > 1.0
    chosen = log_prob(X, shift.astype(np.float32), means, chol, "diag")
    np.testing.assert_allclose(chosen, ref, rtol=1e-5, atol=1e-3)


def test_em_statistics_exact_with_a_collapsed_float32_diag_component():
    from lvmfast._gaussian import em_statistics

    rng = np.random.default_rng(4)
    X, means, var = collapsed_diag_model(rng)
    shift = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    w = np.ones(len(X), dtype=np.float32)
    weights = np.array([0.5, 0.5])
    got = em_statistics(X, shift, w, np.log(weights), means, 1 / np.sqrt(var), "diag")
    ref = reference_statistics(X, shift.astype(np.float64), w.astype(np.float64), weights, means,
                               [np.diag(v) for v in var], "diag")
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-6)
    assert got[3] == pytest.approx(ref[3], rel=1e-6)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_moments_summed_around_the_means_where_the_expansion_loses_digits(monkeypatch, covariance_type, dtype):
    """'diag' and 'full' sum w r x x^T around the shift by one gemm and move
    it to the means, in float64, unless that loses 3 digits
    (moments_lose_digits: here components 1e4 standard deviations from the
    data mean in float64). Then, and always in float32, the pass sums
    around the means: the moments stay exact."""
    import lvmfast._gaussian as gaussian

    rng = np.random.default_rng(5)
    delta = 1e4 if dtype is np.float64 else 45.0
    means = np.stack([np.full(2, -delta), np.full(2, delta)])
    var = np.ones((2, 2))
    X = np.concatenate([means[0] + rng.standard_normal((3000, 2)),
                        means[1] + rng.standard_normal((3000, 2))]).astype(dtype)
    shift = X.mean(axis=0, dtype=np.float64).astype(dtype)
    w = np.ones(len(X), dtype=dtype)
    weights = np.array([0.5, 0.5])
    chol = 1 / np.sqrt(var)
    if covariance_type == "full":
        chol = np.stack([np.diag(c) for c in chol])
    assert gaussian.moments_lose_digits(means, chol, shift, covariance_type)
    assert not gaussian.moments_lose_digits(means / 1000, chol, shift, covariance_type)
    ref = reference_statistics(X, shift.astype(np.float64), w.astype(np.float64), weights, means,
                               [np.diag(v) for v in var], covariance_type)

    def s2_error():
        got = gaussian.em_statistics(X, shift, w, np.log(weights), means, chol, covariance_type)
        return np.abs(got[2] - ref[2]).max() / np.abs(ref[2]).max()

    exact = 1e-12 if dtype is np.float64 else 1e-6
    assert s2_error() < exact
    monkeypatch.setattr(gaussian, "moments_lose_digits", lambda *args: False)
    if dtype is np.float64:
        assert s2_error() > 100 * exact  # what the sum around the shift would have given
    else:
        assert s2_error() < exact  # float32 never sums around the shift


def test_tied_scatter_reused_as_summed():
    """The tied s2 (sum w x x^T) is the same every pass: given from an
    earlier pass, the statistics are those of a pass that sums it."""
    from lvmfast._gaussian import em_statistics

    rng = np.random.default_rng(6)
    means, _, chol = random_model("tied", 3, 4, rng)
    X = rng.standard_normal((5000, 4)) * 2
    w = rng.uniform(0.5, 2.0, 5000)
    first = em_statistics(X, X.mean(axis=0), w, np.log(np.full(3, 1 / 3)), means, chol, "tied")
    other_means = means + 0.5
    summed = em_statistics(X, X.mean(axis=0), w, np.log(np.full(3, 1 / 3)), other_means, chol, "tied")
    reused = em_statistics(X, X.mean(axis=0), w, np.log(np.full(3, 1 / 3)), other_means, chol, "tied",
                           tied_scatter=first[2])
    for a, b in zip(summed, reused):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_samples", [1, 17, 3000])
def test_class_statistics_match_numpy(covariance_type, dtype, n_samples):
    # one-hot responsibilities: per class counts, means and second moments
    # around the class means ('full': one gemm per class over its own rows)
    from lvmfast._gaussian import class_statistics

    rng = np.random.default_rng(n_samples + 7)
    n_classes, n_features = 4, 5
    labels = rng.integers(0, n_classes, n_samples)
    labels[: min(n_samples, n_classes)] = np.arange(min(n_samples, n_classes))
    X = (rng.standard_normal((n_samples, n_features)) * 2 + labels[:, None] * 3 + 20).astype(dtype)
    shift = X.mean(axis=0, dtype=np.float64).astype(dtype)
    w = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    counts, means, s2, around = class_statistics(X, shift, w, labels, n_classes, covariance_type)

    Xc = X.astype(np.float64) - shift.astype(np.float64)
    w64 = w.astype(np.float64)
    ref_counts = np.bincount(labels, weights=w64, minlength=n_classes)
    ref_means = np.zeros((n_classes, n_features))
    np.add.at(ref_means, labels, w64[:, None] * Xc)
    filled = ref_counts > 0
    ref_means[filled] /= ref_counts[filled, None]
    dev = Xc - around[labels]
    if covariance_type == "full":
        ref_s2 = np.stack([(w64[labels == k, None] * dev[labels == k]).T @ dev[labels == k] for k in range(n_classes)])
    elif covariance_type == "tied":
        ref_s2 = (w64[:, None] * Xc).T @ Xc
    else:
        # (spherical too: per feature, summed by the caller)
        ref_s2 = np.stack([w64[labels == k] @ dev[labels == k] ** 2 for k in range(n_classes)])
    rtol = 1e-10 if dtype is np.float64 else 2e-5
    np.testing.assert_allclose(counts, ref_counts, rtol=rtol)
    np.testing.assert_allclose(means, ref_means, rtol=rtol, atol=rtol * 20)
    np.testing.assert_allclose(s2.ravel(), ref_s2.ravel(), rtol=rtol, atol=rtol * np.abs(ref_s2).max())


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_class_statistics_fall_back_to_the_means_when_a_pivot_is_an_outlier(covariance_type):
    """A class's first row (its pivot) 1e7 spreads from its mean: summed
    around it, the variance would keep none of its digits; class_statistics
    sums again around the means and the variance is exact."""
    from lvmfast._gaussian import _class_pivots, class_statistics

    rng = np.random.default_rng(11)
    labels = np.repeat([0, 1], 2000)
    X = rng.standard_normal((4000, 3)) + labels[:, None] * 5.0
    X[0] = 1e7  # class 0's pivot
    w = np.ones(4000)
    shift = X.mean(axis=0)
    pivots = _class_pivots(X, shift, w, labels, 2)
    np.testing.assert_array_equal(pivots[0], X[0] - shift)
    counts, means, s2, around = class_statistics(X, shift, w, labels, 2, covariance_type)
    np.testing.assert_allclose(around, means, rtol=0, atol=0)  # the moments were summed around the means
    second = np.diagonal(s2.reshape(2, 3, 3), axis1=1, axis2=2) if covariance_type == "full" else s2.reshape(2, 3)
    expected = np.stack([X[labels == k].var(axis=0) for k in range(2)])
    np.testing.assert_allclose(second / counts[:, None] - (means - around) ** 2, expected, rtol=1e-12)


def test_class_statistics_take_one_pass_with_near_pivots(monkeypatch):
    """Pivots inside their classes: one class pass, not two."""
    from lvmfast import _gaussian

    calls = []
    original = _gaussian.kernels.class_pass
    monkeypatch.setattr(_gaussian.kernels, "class_pass", lambda *a: calls.append(1) or original(*a))
    rng = np.random.default_rng(12)
    labels = rng.integers(0, 3, 5000)
    X = rng.standard_normal((5000, 4)) + labels[:, None] * 4.0
    _gaussian.class_statistics(X, X.mean(axis=0), np.ones(5000), labels, 3, "diag")
    assert len(calls) == 1


def test_covariance_kinds_are_one_enum_shared_with_the_kernels():
    # lvmfast._gaussian hands the kernels a CovarianceKind (a cpdef enum of
    # _gaussian.pxd), looked up by the covariance type's name.
    from lvmfast._gaussian import COVARIANCE_TYPES, kernel_terms
    from lvmfast._kernels._gaussian import CovarianceKind

    assert [CovarianceKind[t.upper()] for t in COVARIANCE_TYPES] == [0, 1, 2, 3]
    assert CovarianceKind.DIAG_DIRECT == 4
    means, shift = np.zeros((2, 3)), np.zeros(3)
    for covariance_type, chol, kind in [
        ("full", np.tile(np.eye(3), (2, 1, 1)), CovarianceKind.FULL),
        ("tied", np.eye(3), CovarianceKind.TIED),
        ("diag", np.ones((2, 3)), CovarianceKind.DIAG),
        ("spherical", np.ones(2), CovarianceKind.DIAG),
    ]:
        code, _ = kernel_terms(means, chol, covariance_type, shift, np.float64, direct=False)
        assert code is kind
    code, _ = kernel_terms(means, np.ones((2, 3)), "diag", shift, np.float64, direct=True)
    assert code is CovarianceKind.DIAG_DIRECT
