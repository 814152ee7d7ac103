"""FactorAnalysis(allow_missing=True): EM on the factor model with NaN,
against a per-row NumPy reference of one EM step and the dense marginal
likelihood; without NaN it is the usual fit."""
import numpy as np
import pytest

from lvmfast import FactorAnalysis
from lvmfast.decomposition._factor_missing import missing_m_step, missing_pass


def factor_rows(n=600, d=6, q=2, seed=0, share_missing=0.2):
    rng = np.random.RandomState(seed)
    loadings = rng.randn(q, d)
    X = rng.randn(n, q) @ loadings + rng.randn(n, d) * np.sqrt(rng.uniform(0.2, 1.0, d)) + 3
    with_nan = X.copy()
    with_nan[rng.rand(n, d) < share_missing] = np.nan
    return X, with_nan


def reference_em_step(X, w, mean, W, psi):
    """One EM step for factor analysis with missing values, row by row."""
    n, d = X.shape
    q = W.shape[1]
    A, C, sxx, ll = np.zeros((q + 1, q + 1)), np.zeros((d, q + 1)), np.zeros(d), 0.0
    for x, weight in zip(X, w):
        o, m = ~np.isnan(x), np.isnan(x)
        cov = W[o] @ W[o].T + np.diag(psi[o])
        e = x[o] - mean[o]
        ll += weight * -0.5 * (o.sum() * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1] + e @ np.linalg.solve(cov, e))
        Minv = np.linalg.inv(np.eye(q) + W[o].T @ (W[o] / psi[o][:, None]))
        ez = Minv @ W[o].T @ (e / psi[o])
        u = np.append(ez, 1.0)
        uu = np.outer(u, u)
        uu[:q, :q] += Minv
        A += weight * uu
        ex = x.copy()
        ex[m] = mean[m] + W[m] @ ez
        exu = np.outer(ex, u)
        exu[m, :q] += W[m] @ Minv
        C += weight * exu
        exx = ex**2
        exx[m] += np.einsum("dj,jk,dk->d", W[m], Minv, W[m]) + psi[m]
        sxx += weight * exx
    regression = C @ np.linalg.inv(A)
    new_psi = (sxx - np.einsum("dj,dj->d", regression, C)) / w.sum()
    return regression[:, q], regression[:, :q], new_psi, ll


def test_one_em_step_matches_the_row_by_row_reference():
    _, X = factor_rows(200, 5, 2, seed=1)
    rng = np.random.RandomState(2)
    w = rng.uniform(0.5, 2.0, len(X))
    mean, W, psi = rng.randn(5), rng.randn(5, 2), rng.uniform(0.3, 1.5, 5)
    observed = ~np.isnan(X)
    rows_ll, statistics = missing_pass(X, observed, w, mean, W, psi)
    got = missing_m_step(statistics)
    expected = reference_em_step(X, w, mean, W, psi)
    assert w @ rows_ll == pytest.approx(expected[3], rel=1e-12)
    for a, b in zip(got, expected[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fit_with_nan_is_monotone_and_scores_observed_values():
    _, X = factor_rows()
    fa = FactorAnalysis(2, svd_method="lapack", tol=1e-3, allow_missing=True).fit(X)
    assert 1 < fa.n_iter_ < fa.max_iter
    assert np.all(np.diff(fa.loglike_) > -1e-9)
    covariance = fa.get_covariance()
    scores = fa.score_samples(X[:20])
    for x, score in zip(X[:20], scores):
        o = ~np.isnan(x)
        e = x[o] - fa.mean_[o]
        cov = covariance[np.ix_(o, o)]
        expected = -0.5 * (o.sum() * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1] + e @ np.linalg.solve(cov, e))
        assert score == pytest.approx(expected, rel=1e-10)
    factors = fa.transform(X[:5])
    assert factors.shape == (5, 2) and np.all(np.isfinite(factors))
    # the last log-likelihood is the fitted model's
    assert fa.loglike_[-1] == pytest.approx(fa.score_samples(X).sum(), rel=1e-10)


def test_without_nan_it_is_the_usual_fit_and_few_nan_change_little():
    X, _ = factor_rows(seed=3)
    usual = FactorAnalysis(2, svd_method="lapack").fit(X)
    allowed = FactorAnalysis(2, svd_method="lapack", allow_missing=True).fit(X)
    np.testing.assert_array_equal(allowed.get_covariance(), usual.get_covariance())
    assert allowed.loglike_ == usual.loglike_
    one_missing = X.copy()
    one_missing[0, 0] = np.nan
    close = FactorAnalysis(2, svd_method="lapack", tol=1e-4, allow_missing=True).fit(one_missing)
    np.testing.assert_allclose(close.get_covariance(), usual.get_covariance(), atol=2e-2)


def test_missing_values_are_refused_unless_allowed_and_empty_features_always():
    _, X = factor_rows(seed=4)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        FactorAnalysis(2).fit(X)
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"feature\(s\) \[2\] have no observed value"):
        FactorAnalysis(2, allow_missing=True).fit(X)
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        FactorAnalysis(2, allow_missing=True).fit(X)


def test_check_estimator_with_missing_values_allowed():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(FactorAnalysis(allow_missing=True))
