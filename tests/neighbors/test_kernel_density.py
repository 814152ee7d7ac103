"""lvmfast.KernelDensity: the exact evaluation against a direct NumPy
reference (float64 sums, log-sum-exp), the normalization, float32, thread
independence, the expansion guard, bad input, sampling and check_estimator."""
import math
import pickle

import numpy as np
import pytest
from scipy import integrate
from scipy.special import gammaln, logsumexp
from sklearn.neighbors._ball_tree import kernel_norm
from sklearn.utils.estimator_checks import check_estimator

from lvmfast import KernelDensity
from lvmfast.neighbors._kde import BLOCK_ROWS, CHUNK_ROWS, exact_log_sums
from lvmfast.neighbors._kernels import KERNELS, log_kernel_norm

BOUNDED = ("tophat", "epanechnikov", "linear", "cosine")


def radial_log_norm(bandwidth, n_features, kernel):
    """-log of the kernel's integral over R^D, by quadrature of its radial
    profile (independent of lvmfast's closed forms)."""
    profile = {
        "gaussian": lambda r: np.exp(-0.5 * r * r),
        "tophat": lambda r: 1.0,
        "epanechnikov": lambda r: 1.0 - r * r,
        "exponential": lambda r: np.exp(-r),
        "linear": lambda r: 1.0 - r,
        "cosine": lambda r: np.cos(0.5 * np.pi * r),
    }[kernel]
    upper = np.inf if kernel in ("gaussian", "exponential") else 1.0
    radial = integrate.quad(lambda r: r ** (n_features - 1) * profile(r), 0, upper, epsabs=0, epsrel=1e-13)[0]
    log_area = math.log(2) + 0.5 * n_features * math.log(math.pi) - gammaln(0.5 * n_features)
    return -(log_area + math.log(radial) + n_features * math.log(bandwidth))


def reference_log_density(Y, X, weights, bandwidth, kernel):
    """log sum_j w_j K_h(y - x_j), every pair in float64, log-sum-exp."""
    Y, X = np.asarray(Y, np.float64), np.asarray(X, np.float64)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    d = np.sqrt(((Y[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    u = d / bandwidth
    with np.errstate(divide="ignore", invalid="ignore"):
        if kernel == "gaussian":
            log_k = -0.5 * u * u
        elif kernel == "exponential":
            log_k = -u
        elif kernel == "tophat":
            log_k = np.where(u < 1, 0.0, -np.inf)
        elif kernel == "epanechnikov":
            log_k = np.where(u < 1, np.log1p(-u * u), -np.inf)
        elif kernel == "linear":
            log_k = np.where(u < 1, np.log1p(-u), -np.inf)
        else:
            log_k = np.where(u < 1, np.log(np.cos(0.5 * np.pi * u)), -np.inf)
        log_w = np.log(w)
    return logsumexp(log_k + log_w, axis=1) + radial_log_norm(bandwidth, X.shape[1], kernel)


def assert_log_close(got, expected, rtol):
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_array_equal(got[~finite], expected[~finite])
    np.testing.assert_allclose(got[finite], expected[finite], rtol=rtol, atol=0)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n_features", [1, 3, 7])
def test_matches_numpy_reference_with_weights(kernel, n_features):
    # more training rows than a block and more queries than a chunk; some
    # weights zero
    rng = np.random.default_rng(n_features)
    X = rng.normal(size=(BLOCK_ROWS + 77, n_features)) + 3.0
    Y = np.vstack([rng.normal(size=(CHUNK_ROWS + 21, n_features)) + 3.0, X[:5]])
    weights = rng.uniform(0, 2, size=len(X))
    weights[::9] = 0.0
    bandwidth = 0.9 if kernel in BOUNDED else 0.4
    got = KernelDensity(kernel=kernel, bandwidth=bandwidth).fit(X, sample_weight=weights).score_samples(Y)
    assert got.dtype == np.float64
    assert_log_close(got, reference_log_density(Y, X, weights, bandwidth, kernel), 1e-10)


@pytest.mark.parametrize("kernel", KERNELS)
def test_float32_kept_and_close(kernel):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    Y = rng.normal(size=(90, 4)).astype(np.float32)
    weights = rng.uniform(0.5, 1.5, size=300)
    got = KernelDensity(kernel=kernel, bandwidth=1.2).fit(X, sample_weight=weights).score_samples(Y)
    assert got.dtype == np.float32
    assert_log_close(got.astype(np.float64), reference_log_density(Y, X, weights, 1.2, kernel), 1e-5)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n_features", [1, 2, 3, 5, 6])
def test_normalization(kernel, n_features):
    expected = radial_log_norm(0.7, n_features, kernel)
    assert log_kernel_norm(0.7, n_features, kernel) == pytest.approx(expected, rel=1e-11, abs=1e-11)
    if kernel != "cosine" or n_features % 2 == 1:
        # scikit-learn's cosine normalization is wrong in even dimensions
        assert log_kernel_norm(0.7, n_features, kernel) == pytest.approx(
            math.log(kernel_norm(0.7, n_features, kernel)), rel=1e-11
        )


@pytest.mark.parametrize("kernel", ["gaussian", "exponential", "epanechnikov"])
def test_guard_where_the_expansion_loses_digits(kernel):
    """Training rows 1e5 apart with h = 0.05: ||q||^2 / h^2 ~ 4e12, where the
    norm expansion alone would lose every digit of the distances; the guard
    recomputes them directly. Queries on training rows test the exponential's
    pairs at distance 0."""
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(40, 2)) * 0.1 + 1e5, rng.normal(size=(40, 2)) * 0.1 - 1e5])
    Y = np.vstack([X[::7] + rng.normal(size=(12, 2)) * 0.02, X[:3]])
    got = KernelDensity(kernel=kernel, bandwidth=0.05).fit(X).score_samples(Y)
    assert_log_close(got, reference_log_density(Y, X, None, 0.05, kernel), 1e-10)


def test_far_queries_keep_their_log_density():
    # every kernel value underflows exp; the log-sum-exp keeps it
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    Y = rng.normal(size=(10, 3)) + 40.0
    got = KernelDensity(bandwidth=0.5).fit(X).score_samples(Y)
    assert np.all(got < -2000)
    assert_log_close(got, reference_log_density(Y, X, None, 0.5, "gaussian"), 1e-10)


@pytest.mark.parametrize("n_features", [2, 9])
def test_same_result_for_any_thread_count(n_features):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1200, n_features))
    Y = rng.normal(size=(700, n_features))
    shift = X.mean(axis=0)
    train = X - shift
    w = np.full(len(X), 1 / len(X))
    results = [exact_log_sums(Y, shift, train, w, np.log(w), 0.6, "gaussian", n_threads=t) for t in (1, 2, 3)]
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_tolerances_never_exceeded():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 2))
    Y = rng.normal(size=(50, 2))
    exact = np.exp(reference_log_density(Y, X, None, 0.3, "gaussian"))
    for rtol, atol in [(1e-3, 0), (1e-1, 1e-4), (0, 1e-2)]:
        dens = np.exp(KernelDensity(bandwidth=0.3, rtol=rtol, atol=atol).fit(X).score_samples(Y))
        assert np.all(np.abs(dens - exact) <= atol + rtol * exact + 1e-12 * exact)


def test_scott_and_silverman_bandwidths():
    X = np.random.default_rng(6).normal(size=(100, 3))
    assert KernelDensity(bandwidth="scott").fit(X).bandwidth_ == pytest.approx(100 ** (-1 / 7))
    assert KernelDensity(bandwidth="silverman").fit(X).bandwidth_ == pytest.approx((100 * 5 / 4) ** (-1 / 7))


def test_score_is_the_sum_and_pickles():
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(60, 2)), rng.normal(size=(20, 2))
    kde = KernelDensity(bandwidth=0.7).fit(X)
    assert kde.score(Y) == pytest.approx(kde.score_samples(Y).sum(), rel=1e-14)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(kde)).score_samples(Y), kde.score_samples(Y))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"bandwidth": 0.0}, "bandwidth"),
        ({"bandwidth": -1.0}, "bandwidth"),
        ({"bandwidth": "wide"}, "bandwidth"),
        ({"kernel": "triangle"}, "kernel"),
        ({"metric": "manhattan"}, "metric"),
        ({"metric": "minkowski", "metric_params": {"p": 1}}, "metric"),
        ({"metric_params": {"w": 2}}, "metric_params"),
        ({"method": "fast"}, "method"),
    ],
)
def test_bad_parameters_named_and_nothing_changed(params, match):
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(5, 2))
    kde = KernelDensity(bandwidth=0.5).fit(X)
    before = kde.score_samples(Y)
    state = dict(kde.__dict__)
    kde.set_params(**params)
    with pytest.raises(ValueError, match=match):
        kde.fit(rng.normal(size=(40, 3)))
    assert kde.n_features_in_ == 2 and kde.bandwidth_ == state["bandwidth_"]
    assert kde._train is state["_train"]
    kde.set_params(**{**{k: KernelDensity().get_params()[k] for k in params}, "bandwidth": 0.5})
    np.testing.assert_array_equal(kde.score_samples(Y), before)


@pytest.mark.parametrize(
    "weights, match",
    [
        (-np.ones(30), "sample_weight"),
        (np.zeros(30), "sample_weight"),
        (np.ones(29), "sample_weight"),
        (np.r_[np.ones(29), np.nan], "sample_weight|NaN"),
    ],
)
def test_bad_sample_weight_named(weights, match):
    X = np.random.default_rng(9).normal(size=(30, 2))
    kde = KernelDensity().fit(X[:10])
    with pytest.raises(ValueError, match=match):
        kde.fit(X, sample_weight=weights)
    assert kde._train.shape == (10, 2)


def test_nan_refused():
    X = np.random.default_rng(10).normal(size=(30, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KernelDensity().fit(X)
    kde = KernelDensity().fit(np.nan_to_num(X))
    with pytest.raises(ValueError, match="NaN"):
        kde.score_samples(X)


def test_sample_gaussian_and_tophat():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(50, 3))
    weights = np.r_[np.zeros(25), np.ones(25)]
    for kernel, reach in [("tophat", 0.2), ("gaussian", 0.2 * 6)]:
        kde = KernelDensity(kernel=kernel, bandwidth=0.2).fit(X, sample_weight=weights)
        draws = kde.sample(400, random_state=0)
        assert draws.shape == (400, 3)
        nearest = np.sqrt(((draws[:, None] - X[None, 25:]) ** 2).sum(-1)).min(axis=1)
        assert np.all(nearest < reach)
    np.testing.assert_array_equal(kde.sample(5, random_state=1), kde.sample(5, random_state=1))
    with pytest.raises(NotImplementedError, match="epanechnikov"):
        KernelDensity(kernel="epanechnikov").fit(X).sample()


def test_check_estimator():
    check_estimator(KernelDensity())
