"""Gaussian mixtures on data with missing entries (allow_missing=True),
against a NumPy EM for incomplete data written from the formulas."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lvmfast._kernels import _missing as kernels
from lvmfast._missing import incomplete_rows_by_pattern, missing_statistics
from lvmfast.mixture import BayesianGaussianMixture, GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# ---------------------------------------------------------------------------
# The reference: EM for incomplete Gaussian-mixture data, from the formulas


def full_covariances(covariances, covariance_type, n_components, n_features):
    if covariance_type == "full":
        return np.asarray(covariances, dtype=float)
    if covariance_type == "tied":
        return np.repeat(np.asarray(covariances, dtype=float)[None], n_components, axis=0)
    if covariance_type == "diag":
        return np.array([np.diag(v) for v in covariances])
    return np.array([v * np.eye(n_features) for v in covariances])


def reference_log_dens(X, weights, means, sigmas):
    """log(pi_k N(x_o | mu_k,o, Sigma_k,oo)) for every row and component."""
    n, d = X.shape
    out = np.empty((n, len(means)))
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        for k, (mu, sigma) in enumerate(zip(means, sigmas)):
            s = sigma[np.ix_(o, o)]
            diff = x[o] - mu[o]
            _, logdet = np.linalg.slogdet(s)
            out[i, k] = (np.log(weights[k]) - 0.5 * (o.sum() * np.log(2 * np.pi) + logdet)
                         - 0.5 * diff @ np.linalg.solve(s, diff))
    return out


def reference_em_step(X, w, weights, means, sigmas, covariance_type, reg_covar):
    """One EM iteration: E-step on the observed marginals, M-step with the
    missing entries' conditional means and covariances. Returns the new
    (weights, means, covariances in covariance_type's shape) and the mean
    weighted log-likelihood under the old parameters."""
    n, d = X.shape
    k_count = len(means)
    log_dens = reference_log_dens(X, weights, means, sigmas)
    top = log_dens.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(log_dens - top).sum(axis=1))
    resp = np.exp(log_dens - lse[:, None]) * w[:, None]
    filled = np.empty((k_count, n, d))
    corrections = np.zeros((k_count, n, d, d))
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        m = ~o
        for k, (mu, sigma) in enumerate(zip(means, sigmas)):
            xhat = x.copy()
            if m.any():
                gain = sigma[np.ix_(m, o)] @ np.linalg.inv(sigma[np.ix_(o, o)])
                xhat[m] = mu[m] + gain @ (x[o] - mu[o])
                corrections[k, i][np.ix_(m, m)] = sigma[np.ix_(m, m)] - gain @ sigma[np.ix_(o, m)]
            filled[k, i] = xhat
    nk = resp.sum(axis=0)
    new_means = np.einsum("ik,kid->kd", resp, filled) / nk[:, None]
    scatter = np.empty((k_count, d, d))
    for k in range(k_count):
        dev = filled[k] - new_means[k]
        scatter[k] = (resp[:, k, None] * dev).T @ dev + np.einsum("i,ide->de", resp[:, k], corrections[k])
    if covariance_type == "full":
        cov = scatter / nk[:, None, None] + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        cov = scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(d)
    elif covariance_type == "diag":
        cov = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar
    else:
        cov = (np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar).mean(axis=1)
    return (nk / nk.sum(), new_means, cov), float(w @ lse / w.sum())


def precisions_of(cov, covariance_type):
    return np.linalg.inv(cov) if covariance_type in ("full", "tied") else 1.0 / cov


def missing_data(rng, n=240, d=4, fraction=0.1):
    centers = np.array([[0.0] * d, [4.0] * d, [0.0, 5.0] + [-3.0] * (d - 2)])
    X = centers[rng.integers(0, 3, n)] + rng.normal(size=(n, d)) @ np.diag(np.linspace(0.6, 1.4, d))
    X += 50.0  # away from the origin: the pass's centering matters
    mask = rng.random((n, d)) < fraction
    mask[mask.all(axis=1), 0] = False  # no row with every feature missing
    X[mask] = np.nan
    return X, centers + 50.0


def start_of(covariance_type, centers, d):
    k = len(centers)
    cov = {"full": np.array([np.eye(d) * 2.0] * k), "tied": np.eye(d) * 2.0,
           "diag": np.full((k, d), 2.0), "spherical": np.full(k, 2.0)}[covariance_type]
    return np.full(k, 1.0 / k), centers + 0.3, cov


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("fraction", [0.1, 0.5])
@pytest.mark.parametrize("group_min_rows", [2, 10**9])
def test_em_matches_reference(covariance_type, fraction, group_min_rows, monkeypatch):
    """Rows of a shared pattern by the grouped path (patterns of 2 rows or
    more) or all row by row."""
    monkeypatch.setattr("lvmfast._missing.GROUP_MIN_ROWS", group_min_rows)
    rng = np.random.default_rng(7)
    X, centers = missing_data(rng, fraction=fraction)
    n, d = X.shape
    w = rng.uniform(0.2, 3.0, n)
    weights, means, cov = start_of(covariance_type, centers, d)
    n_iter = 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(
            3, covariance_type=covariance_type, allow_missing=True, max_iter=n_iter, tol=0.0, reg_covar=1e-6,
            weights_init=weights, means_init=means, precisions_init=precisions_of(cov, covariance_type),
        ).fit(X, sample_weight=w)
    bounds = []
    for _ in range(n_iter):
        sigmas = full_covariances(cov, covariance_type, 3, d)
        (weights, means, cov), bound = reference_em_step(X, w, weights, means, sigmas, covariance_type, 1e-6)
        bounds.append(bound)
    np.testing.assert_allclose(model.weights_, weights, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.means_, means, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(model.covariances_, cov, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(model.lower_bounds_, bounds, rtol=1e-9)
    # scoring marginalizes the same way
    sigmas = full_covariances(cov, covariance_type, 3, d)
    log_dens = reference_log_dens(X, weights, means, sigmas)
    top = log_dens.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(log_dens - top).sum(axis=1))
    np.testing.assert_allclose(model.score_samples(X), lse, rtol=1e-8)
    np.testing.assert_allclose(model.predict_proba(X), np.exp(log_dens - lse[:, None]), atol=1e-9)
    np.testing.assert_array_equal(model.predict(X), log_dens.argmax(axis=1))
    np.testing.assert_allclose(model.score(X, sample_weight=w), w @ lse / w.sum(), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases(covariance_type):
    rng = np.random.default_rng(3)
    X, _ = missing_data(rng, n=400, d=5, fraction=0.3)
    model = GaussianMixture(3, covariance_type=covariance_type, allow_missing=True, tol=0.0, max_iter=30,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-10 * np.abs(model.lower_bounds_[1:]))


@pytest.mark.parametrize("estimator", [GaussianMixture, BayesianGaussianMixture])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_without_nan_bit_identical(estimator, covariance_type, dtype):
    rng = np.random.default_rng(0)
    X, _ = missing_data(rng, fraction=0.0)
    X = X.astype(dtype)
    a = estimator(n_components=3, covariance_type=covariance_type, random_state=0).fit(X)
    b = estimator(n_components=3, covariance_type=covariance_type, random_state=0, allow_missing=True).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.lower_bound_ == b.lower_bound_ and a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))


@pytest.mark.parametrize("estimator", [GaussianMixture, BayesianGaussianMixture])
def test_default_refuses_nan_and_tags(estimator):
    X, _ = missing_data(np.random.default_rng(0))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator(n_components=2).fit(X)
    assert estimator().__sklearn_tags__().input_tags.allow_nan is False
    assert estimator(allow_missing=True).__sklearn_tags__().input_tags.allow_nan is True
    fitted = estimator(n_components=2, allow_missing=True, random_state=0).fit(X)
    assert np.isfinite(fitted.means_).all() and fitted.means_.dtype == X.dtype
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator(n_components=2, random_state=0).fit(np.nan_to_num(X, nan=50.0)).score_samples(X)


@pytest.mark.parametrize("estimator", [GaussianMixture, BayesianGaussianMixture])
def test_hostile_inputs_leave_estimator_unchanged(estimator):
    X, _ = missing_data(np.random.default_rng(1))
    model = estimator(n_components=2, allow_missing=True, random_state=0).fit(X)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(model).items()}

    empty_row = X.copy()
    empty_row[5] = np.nan
    with pytest.raises(ValueError, match=r"X has 1 row\(s\) with every feature missing.*index 5"):
        model.fit(empty_row)
    empty_column = np.nan_to_num(X, nan=50.0)
    empty_column[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"X has 1 feature\(s\) with every entry missing.*\[2\]"):
        model.fit(empty_column)
    weights = np.ones(len(X))
    weights[3] = np.nan
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(X, sample_weight=weights)
    infinite = X.copy()
    infinite[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.fit(infinite)
    for key, value in before.items():
        np.testing.assert_equal(getattr(model, key), value)
    with pytest.raises(ValueError, match="every feature missing"):
        model.predict(empty_row)


def test_kernel_statistics_match_numpy_and_threads():
    """missing_pass's statistics against the reference's, for each kind, and
    the same bits with one thread or several."""
    rng = np.random.default_rng(5)
    X, centers = missing_data(rng, n=300, d=5, fraction=0.4)
    n, d = X.shape
    rows = incomplete_rows_by_pattern(X, np.flatnonzero(np.isnan(X).any(axis=1)))
    w = rng.uniform(0.5, 2.0, rows.size)
    shift = np.nanmean(X, axis=0)
    for covariance_type in COVARIANCE_TYPES:
        weights, means, cov = start_of(covariance_type, centers[:, :d], d)
        sigmas = full_covariances(cov, covariance_type, 3, d)
        from lvmfast._gaussian import precision_cholesky
        chol = precision_cholesky(np.asarray(cov, dtype=float), covariance_type, 0.0)
        nk, s1, s2, ll = missing_statistics(X, rows, w, np.log(weights), means, chol, covariance_type, shift)
        # the kernel on blocks of 16 rows: the same bits with 1 or 3 threads
        kind = {"full": 0, "tied": 1}.get(covariance_type, 2)
        model = _kernel_model(means, chol, covariance_type, shift, np.log(weights))
        n_blocks = -(-rows.size // 16)
        s2_size = s2.size
        sums = []
        for threads in (1, 3):
            out = (np.empty((n_blocks, 3)), np.empty((n_blocks, 3, d)), np.empty((n_blocks, s2_size)),
                   np.empty(n_blocks))
            kernels.missing_pass(X, rows, w, None, kind, *model, *out, 16, threads)
            sums.append(out)
        for a, b in zip(*sums):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(sums[0][0].sum(axis=0), nk, rtol=1e-13)
        log_dens = reference_log_dens(X[rows], weights, means, sigmas)
        lse = np.log(np.exp(log_dens).sum(axis=1))
        resp = np.exp(log_dens - lse[:, None]) * w[:, None]
        np.testing.assert_allclose(nk, resp.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(ll, w @ lse, rtol=1e-12)
        # s1: the conditional means, centered by the shift
        expected_s1 = np.zeros((3, d))
        for i, x in enumerate(X[rows]):
            o = ~np.isnan(x)
            for k in range(3):
                xhat = x.copy()
                gain = sigmas[k][np.ix_(~o, o)] @ np.linalg.inv(sigmas[k][np.ix_(o, o)])
                xhat[~o] = means[k][~o] + gain @ (x[o] - means[k][o])
                expected_s1[k] += resp[i, k] * (xhat - shift)
        np.testing.assert_allclose(s1, expected_s1, rtol=1e-10, atol=1e-9)
        log_prob = np.empty((rows.size, 3))
        kernels.missing_log_prob(X, rows, 0 if covariance_type == "full" else 1 if covariance_type == "tied" else 2,
                                 *_kernel_model(means, chol, covariance_type, shift, np.log(weights)), log_prob,
                                 64, 1)
        np.testing.assert_allclose(log_prob, log_dens, rtol=1e-12)


def _kernel_model(means, chol, covariance_type, shift, log_weights):
    from lvmfast._missing import _model
    _, factors, centered, constants = _model(means, chol, covariance_type, shift, log_weights, np.float64)
    return factors, centered, constants, np.asarray(shift, dtype=np.float64)


def test_float32_kept_and_close_to_float64():
    X, _ = missing_data(np.random.default_rng(2), fraction=0.2)
    a = GaussianMixture(3, allow_missing=True, random_state=0).fit(X)
    b = GaussianMixture(3, allow_missing=True, random_state=0).fit(X.astype(np.float32))
    assert b.means_.dtype == np.float32 and b.score_samples(X.astype(np.float32)).dtype == np.float32
    order = np.argsort(a.means_[:, 0])
    np.testing.assert_allclose(b.means_[np.argsort(b.means_[:, 0])], a.means_[order], rtol=1e-4)


def test_recovery_beats_dropping_and_imputing():
    """A small version of the recovery check: 5-component full mixture in
    D = 8, 30% of the entries missing completely at random; held-out
    log-likelihood on complete rows."""
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(11)
    k, d, n = 5, 8, 6000
    centers = rng.normal(scale=4.0, size=(k, d))
    factors = [np.linalg.qr(rng.normal(size=(d, d)))[0] * rng.uniform(0.5, 1.5, d) for _ in range(k)]

    def draw(count):
        labels = rng.integers(0, k, count)
        z = rng.normal(size=(count, d))
        return centers[labels] + np.einsum("nd,nde->ne", z, np.array(factors)[labels])

    X, held_out = draw(n), draw(3000)
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < 0.3] = np.nan
    X_missing = X_missing[~np.isnan(X_missing).all(axis=1)]
    em = GaussianMixture(k, allow_missing=True, random_state=0, n_init=2).fit(X_missing)
    dropped = GaussianMixture(k, random_state=0, n_init=2).fit(X_missing[~np.isnan(X_missing).any(axis=1)])
    imputed = GaussianMixture(k, random_state=0, n_init=2).fit(SimpleImputer().fit_transform(X_missing))
    assert em.score(held_out) > dropped.score(held_out)
    assert em.score(held_out) > imputed.score(held_out)


@pytest.mark.parametrize("estimator", [GaussianMixture, BayesianGaussianMixture])
def test_check_estimator_with_allow_missing(estimator):
    """scikit-learn's checks with allow_nan=True in the tags (the default's
    pass in test_gaussian_mixture.py and test_bayesian_mixture.py)."""
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(estimator(allow_missing=True))


def test_diagonal_pass_matches_numpy_and_threads():
    """diagonal_pass: the features [o, x0, x0^2] of each row, scored against
    the terms, normalized, and summed with the weighted responsibilities,
    as NumPy computes them; the same bits with 1 or 3 threads."""
    rng = np.random.default_rng(8)
    X, _ = missing_data(rng, n=200, d=5, fraction=0.3)
    rows = np.flatnonzero(np.isnan(X).any(axis=1))
    w = rng.uniform(0.5, 2.0, rows.size)
    shift = np.nanmean(X, axis=0)
    terms = rng.normal(size=(15, 3)) * 0.1
    log_weights = np.log([0.2, 0.3, 0.5])
    x = X[rows] - shift
    observed = ~np.isnan(x)
    x0 = np.where(observed, x, 0.0)
    features = np.hstack([observed, x0, x0**2])
    scores = features @ terms + log_weights
    lse = np.log(np.exp(scores).sum(axis=1))
    resp = np.exp(scores - lse[:, None]) * w[:, None]
    out = []
    for threads in (1, 3):
        n_blocks = -(-rows.size // 32)
        sums = (np.empty((n_blocks, 3)), np.empty((n_blocks, 3, 15)), np.empty(n_blocks))
        kernels.diagonal_pass(X, rows, w, terms, log_weights, shift, *sums, 16, 32, threads)
        out.append(sums)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(out[0][0].sum(axis=0), resp.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(out[0][1].sum(axis=0), resp.T @ features, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out[0][2].sum(), w @ lse, rtol=1e-12)
