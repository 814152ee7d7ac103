"""MixtureOfFactorAnalyzers: a plain NumPy EM from the same start, the
one-component limits (factor analysis; closed-form probabilistic PCA),
monotone log-likelihood, the estimator protocol and bad input."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_estimator

from lvmfast import FactorAnalysis, MixtureOfFactorAnalyzers
from lvmfast.mixture import MixtureOfFactorAnalyzers as FromMixture
from lvmfast.mixture._base import NK_EPSILON


def clustered_factor_data(n_per=150, n_features=7, n_factors=2, n_clusters=3, seed=0):
    rng = np.random.RandomState(seed)
    parts = []
    for k in range(n_clusters):
        loadings = rng.randn(n_factors, n_features)
        noise = rng.uniform(0.2, 1.0, size=n_features)
        parts.append(8 * rng.randn(n_features) + rng.randn(n_per, n_factors) @ loadings
                     + rng.randn(n_per, n_features) * np.sqrt(noise))
    return np.vstack(parts)


def reference_em_step(X, w, weights, means, components, noise_variance, noise, reg_covar):
    """One EM iteration of the mixture of factor analyzers, in dense NumPy
    (Ghahramani and Hinton; joint regression on [z; 1]). Returns the new
    state and the mean weighted log-likelihood of the old one."""
    n_components, n_factors, n_features = components.shape
    log_prob = np.empty((len(X), n_components))
    posterior, posterior_covariance = [], []
    for k in range(n_components):
        W = components[k].T
        covariance = W @ W.T + np.diag(noise_variance[k])
        diff = X - means[k]
        _, log_det = np.linalg.slogdet(covariance)
        log_prob[:, k] = np.log(weights[k]) - 0.5 * (
            n_features * np.log(2 * np.pi) + log_det + np.einsum("ij,ij->i", diff, np.linalg.solve(covariance, diff.T).T))
        inner = np.eye(n_factors) + W.T @ (W / noise_variance[k][:, None])
        posterior_covariance.append(np.linalg.inv(inner))
        posterior.append(diff @ (W / noise_variance[k][:, None]) @ posterior_covariance[k])
    lse = np.logaddexp.reduce(log_prob, axis=1)
    resp = np.exp(log_prob - lse[:, None]) * w[:, None]
    new = (np.empty(n_components), np.empty_like(means), np.empty_like(components), np.empty_like(noise_variance))
    nk = resp.sum(axis=0) + NK_EPSILON
    for k in range(n_components):
        r = resp[:, k]
        augmented = np.hstack([posterior[k], np.ones((len(X), 1))])
        second = (r[:, None] * augmented).T @ augmented
        second[:n_factors, :n_factors] += nk[k] * posterior_covariance[k]
        second[-1, -1] = nk[k]
        cross = (r[:, None] * X).T @ augmented
        regression = np.linalg.solve(second, cross.T).T
        residual = (np.einsum("i,id->d", r, X**2) - np.einsum("dj,dj->d", regression, cross)) / nk[k]
        if noise == "isotropic":
            residual = np.full(n_features, residual.mean())
        new[1][k], new[2][k], new[3][k] = regression[:, -1], regression[:, :-1].T, residual + reg_covar
    new[0][:] = nk / nk.sum()
    return new, float(np.sum(w * lse) / w.sum())


def set_state(model, state):
    model.weights_, model.means_, model.components_, model.noise_variance_ = (np.array(a) for a in state)


@pytest.mark.parametrize("noise", ["diag", "isotropic"])
def test_matches_numpy_reference_em(noise):
    X = clustered_factor_data(seed=1)
    w = np.random.RandomState(2).uniform(0.5, 2.0, size=len(X))
    w_unit = w / w.mean()
    model = MixtureOfFactorAnalyzers(3, n_factors=2, noise=noise, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, sample_weight=w)
    state = tuple(np.array(a, dtype=np.float64) for a in (model.weights_, model.means_, model.components_,
                                                          model.noise_variance_))
    expected_bounds = []
    reference = state
    for _ in range(6):
        reference, bound = reference_em_step(X, w_unit, *reference, noise, model.reg_covar)
        expected_bounds.append(bound)
    model.set_params(warm_start=True, max_iter=6, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, sample_weight=w)
    np.testing.assert_allclose(model.lower_bounds_, expected_bounds, rtol=1e-10)
    np.testing.assert_allclose(model.weights_, reference[0], rtol=1e-8)
    np.testing.assert_allclose(model.means_, reference[1], rtol=1e-8, atol=1e-8)
    got = np.einsum("kqd,kqe->kde", model.components_, model.components_)
    expected = np.einsum("kqd,kqe->kde", reference[2], reference[2])
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(model.noise_variance_, reference[3], rtol=1e-8)


@pytest.mark.parametrize("noise", ["diag", "isotropic"])
def test_log_likelihood_never_decreases(noise):
    X = clustered_factor_data(seed=3)
    model = MixtureOfFactorAnalyzers(3, n_factors=2, noise=noise, init_params="random", tol=0, max_iter=60,
                                     random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    assert model.score(X) >= bounds[-1] - 1e-10


def test_one_component_equals_factor_analysis():
    X = clustered_factor_data(n_clusters=1, n_per=600, n_features=6, n_factors=2, seed=4)
    fa = FactorAnalysis(2, svd_method="lapack", tol=1e-9, max_iter=20000).fit(X)
    mfa = MixtureOfFactorAnalyzers(1, n_factors=2, reg_covar=0, tol=1e-12, max_iter=20000).fit(X)
    np.testing.assert_allclose(mfa.means_[0], fa.mean_, rtol=1e-10, atol=1e-10)
    covariance = mfa.components_[0].T @ mfa.components_[0] + np.diag(mfa.noise_variance_[0])
    np.testing.assert_allclose(covariance, fa.get_covariance(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mfa.score(X), fa.score(X), rtol=1e-7)


def test_isotropic_one_component_is_closed_form_ppca():
    X = clustered_factor_data(n_clusters=1, n_per=500, n_features=6, n_factors=2, seed=5)
    # closed form (Tipping and Bishop): W = U (L - sigma^2 I)^1/2, sigma^2 the mean discarded eigenvalue
    values, vectors = np.linalg.eigh(np.cov(X, rowvar=False, bias=True))
    values, vectors = values[::-1], vectors[:, ::-1]
    sigma2 = values[2:].mean()
    W = vectors[:, :2] * np.sqrt(values[:2] - sigma2)
    expected = W @ W.T + sigma2 * np.eye(6)
    model = MixtureOfFactorAnalyzers(1, n_factors=2, noise="isotropic", reg_covar=0, max_iter=1).fit(X)
    # start far from the solution, and let EM find it
    rng = np.random.RandomState(0)
    model.components_ = rng.randn(1, 2, 6)
    model.noise_variance_ = np.full((1, 6), 5.0)
    model.set_params(warm_start=True, max_iter=5000, tol=1e-13).fit(X)
    covariance = model.components_[0].T @ model.components_[0] + np.diag(model.noise_variance_[0])
    np.testing.assert_allclose(covariance, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.noise_variance_[0], sigma2, rtol=1e-5)


def test_float32_kept_and_thread_count_free(monkeypatch):
    import lvmfast._factor as factor

    X = clustered_factor_data(n_per=3000, seed=6)
    results = []
    for n_threads in (1, 3):
        monkeypatch.setattr(factor, "threads_for_work", lambda work, n=None, t=n_threads: t)
        model = MixtureOfFactorAnalyzers(3, n_factors=2, max_iter=5, tol=0, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X.astype(np.float32))
        results.append(model)
    assert results[0].means_.dtype == np.float32 and results[0].components_.dtype == np.float32
    assert results[0].transform(X[:5].astype(np.float32)).dtype == np.float32
    np.testing.assert_array_equal(results[0].lower_bounds_, results[1].lower_bounds_)
    np.testing.assert_array_equal(results[0].components_, results[1].components_)


def test_methods_and_exports():
    X = clustered_factor_data(seed=7)
    model = FromMixture(3, n_factors=2, random_state=0).fit(X)
    assert FromMixture is MixtureOfFactorAnalyzers
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    assert model.fit_predict(X).shape == (len(X),)
    factors = model.transform(X)
    labels = model.predict(X)
    k = labels[0]
    W, psi = model.components_[k].T, model.noise_variance_[k]
    inner = np.eye(2) + W.T @ (W / psi[:, None])
    np.testing.assert_allclose(factors[0], np.linalg.solve(inner, W.T @ ((X[0] - model.means_[k]) / psi)), rtol=1e-8)
    samples, components = model.sample(500)
    assert samples.shape == (500, 7) and np.all(np.bincount(components, minlength=3) > 0)
    assert model.bic(X) > model.aic(X) - 1e9
    n_parameters = 3 * (7 * 2 - 1 + 7 + 7) + 2
    assert model.bic(X) == pytest.approx(-2 * model.score(X) * len(X) + n_parameters * np.log(len(X)))


def test_bad_input_is_refused_and_changes_nothing():
    X = clustered_factor_data(seed=8)
    model = MixtureOfFactorAnalyzers(2, n_factors=2, random_state=0).fit(X)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(model).items() if k.endswith("_")}
    with pytest.raises(ValueError, match="n_factors must be at most n_features = 7"):
        model.set_params(n_factors=8).fit(X)
    with pytest.raises(ValueError, match="n_components = 50, n_samples = 10"):
        model.set_params(n_factors=2, n_components=50).fit(X[:10])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.set_params(n_components=2).fit(bad)
    constant = X.copy()
    constant[:, 3] = 1.0
    with pytest.raises(ValueError, match=r"constant features \(columns \[3\]\).*reg_covar"):
        model.set_params(reg_covar=0).fit(constant)
    with pytest.raises(ValueError, match="X is constant"):
        model.set_params(reg_covar=1e-6).fit(np.ones((20, 7)))
    for key, value in before.items():
        np.testing.assert_array_equal(getattr(model, key), value)


def test_check_estimator():
    check_estimator(MixtureOfFactorAnalyzers(n_factors=1, random_state=0))


def test_no_factors_is_the_diagonal_gaussian_mixture():
    from lvmfast import GaussianMixture

    X = clustered_factor_data(n_clusters=2, seed=9)
    kwargs = {"random_state": 0, "tol": 1e-10, "max_iter": 500}
    mfa = MixtureOfFactorAnalyzers(2, n_factors=0, **kwargs).fit(X)
    diag = GaussianMixture(2, covariance_type="diag", **kwargs).fit(X)
    order = np.argsort(mfa.means_[:, 0]), np.argsort(diag.means_[:, 0])
    np.testing.assert_allclose(mfa.means_[order[0]], diag.means_[order[1]], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mfa.noise_variance_[order[0]], diag.covariances_[order[1]], rtol=1e-5)
    assert mfa.score(X) == pytest.approx(diag.score(X), rel=1e-9)
    assert mfa.transform(X).shape == (len(X), 0)
