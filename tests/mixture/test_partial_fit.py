"""partial_fit of the mixtures: stepwise EM (GaussianMixture) and stochastic
variational inference (BayesianGaussianMixture) against NumPy references
written from the formulas, convergence on a stream, and hostile input."""
import numpy as np
import pytest
from scipy.special import digamma
from sklearn.utils._param_validation import InvalidParameterError

from lvmfast import BayesianGaussianMixture, GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
CENTERS = np.array([[-4.0, 0.0, 1.0], [3.0, 3.0, 0.0], [2.0, -4.0, -1.0]])


def draw(rng, n, centers=CENTERS):
    labels = rng.integers(0, len(centers), n)
    scales = np.array([0.7, 1.0, 1.4])[labels, None]
    return centers[labels] + scales * rng.normal(size=(n, centers.shape[1]))


# -- reference: the per-component covariances and the E-step -------------------


def full_covariances(covariances, covariance_type, n_components, n_features):
    """(K, D, D) covariances from covariance_type's shape."""
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return c
    if covariance_type == "tied":
        return np.repeat(c[None], n_components, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([v * np.eye(n_features) for v in c])


def log_gaussian(X, means, covariances):
    """(N, K) log N(x | m_k, C_k), by solves (no lvmfast code)."""
    out = np.empty((X.shape[0], len(means)))
    for k, (m, c) in enumerate(zip(means, covariances)):
        chol = np.linalg.cholesky(c)
        z = np.linalg.solve(chol, (X - m).T)
        out[:, k] = -0.5 * (z**2).sum(axis=0) - np.log(np.diag(chol)).sum() - 0.5 * X.shape[1] * np.log(2 * np.pi)
    return out


def responsibilities(log_scores):
    top = log_scores.max(axis=1, keepdims=True)
    r = np.exp(log_scores - top)
    return r / r.sum(axis=1, keepdims=True)


def raw_statistics(X, w, r):
    """Per unit of weight: n_k, sum w r x, sum w r x x^T (K, D, D), raw."""
    wr = w[:, None] * r / w.sum()
    return wr.sum(axis=0), wr.T @ X, np.einsum("nk,ni,nj->kij", wr, X, X)


def reduce_second(S, covariance_type):
    """The part of (K, D, D) second moments that covariance_type keeps."""
    if covariance_type == "full":
        return S
    if covariance_type == "tied":
        return S.mean(axis=0)
    diagonal = np.diagonal(S, axis1=1, axis2=2)
    return diagonal if covariance_type == "diag" else diagonal.mean(axis=1)


# -- stepwise EM ---------------------------------------------------------------


def em_m_step(n, s1, S, covariance_type, reg):
    """Means and covariances from statistics per unit of weight."""
    means = s1 / n[:, None]
    scatter = S - n[:, None, None] * means[:, :, None] * means[:, None, :]
    d = means.shape[1]
    if covariance_type == "tied":
        return n / n.sum(), means, scatter.sum(axis=0) / n.sum() + reg * np.eye(d)
    cov = scatter / n[:, None, None] + reg * np.eye(d)
    return n / n.sum(), means, reduce_second(cov, covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_stepwise_em_matches_numpy_reference(covariance_type):
    rng = np.random.default_rng(0)
    k, d, reg, decay, offset = 3, 3, 1e-4, 0.6, 4.0
    weights = np.array([0.2, 0.5, 0.3])
    means = CENTERS + rng.normal(scale=0.5, size=CENTERS.shape)
    precisions = {"full": np.stack([np.eye(d) * p for p in (1.0, 0.5, 2.0)]), "tied": np.eye(d) * 0.8,
                  "diag": np.array([[1.0, 0.5, 2.0], [0.7, 0.7, 1.5], [2.0, 1.0, 0.3]]),
                  "spherical": np.array([1.0, 0.5, 2.0])}[covariance_type]
    gm = GaussianMixture(k, covariance_type=covariance_type, reg_covar=reg, weights_init=weights, means_init=means,
                         precisions_init=precisions, learning_decay=decay, learning_offset=offset)
    inverse = np.linalg.inv(precisions) if covariance_type in ("full", "tied") else 1.0 / precisions
    ref_w, ref_m, ref_c = weights, means, full_covariances(inverse, covariance_type, k, d)
    running = None
    for t in range(3):
        X = draw(rng, 400 - 150 * t)
        w = rng.uniform(0.2, 3.0, X.shape[0])
        gm.partial_fit(X, sample_weight=w)
        r = responsibilities(log_gaussian(X, ref_m, ref_c) + np.log(ref_w))
        batch = raw_statistics(X, w, r)
        rho = 1.0 if t == 0 else (offset + t) ** -decay
        running = batch if running is None else tuple((1 - rho) * a + rho * b for a, b in zip(running, batch))
        ref_w, ref_m, cov = em_m_step(*running, covariance_type, reg)
        ref_c = full_covariances(cov, covariance_type, k, d)
        np.testing.assert_allclose(gm.weights_, ref_w, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(gm.means_, ref_m, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(gm.covariances_, cov, rtol=1e-8, atol=1e-10)
    assert gm.n_batch_iter_ == gm.n_iter_ == 3


# -- stochastic variational inference ----------------------------------------------


def natural_parameters(bgm, covariance_type):
    """(beta, beta m, W^-1 + reduce(beta m m^T), nu, concentration) of the
    fitted posterior (covariances_ = W^-1 / nu)."""
    beta, m = bgm.mean_precision_.astype(np.float64), bgm.means_.astype(np.float64)
    nu = np.asarray(bgm.degrees_of_freedom_, dtype=np.float64)
    outer = reduce_second(beta[:, None, None] * m[:, :, None] * m[:, None, :], covariance_type)
    scale = bgm.covariances_ * (nu if covariance_type == "tied" else nu.reshape((-1,) + (1,) * (bgm.covariances_.ndim - 1)))
    concentration = bgm.weight_concentration_
    concentration = np.concatenate(concentration) if isinstance(concentration, tuple) else np.asarray(concentration)
    return [beta, beta[:, None] * m, scale + outer, nu, concentration.astype(np.float64)]


def variational_log_scores(X, bgm, covariance_type, prior_type):
    """sklearn's convention: E[log pi] + log N(x | m, cov_) - D/2 log nu
    + 1/2 (D log 2 + sum_i psi((nu - i)/2) - D / beta)."""
    k, d = bgm.means_.shape
    nu = np.broadcast_to(np.asarray(bgm.degrees_of_freedom_, dtype=np.float64), (k,))
    beta = bgm.mean_precision_
    cov = full_covariances(bgm.covariances_, covariance_type, k, d)
    log_lambda = d * np.log(2) + digamma(0.5 * (nu[:, None] - np.arange(d))).sum(axis=1)
    if prior_type == "dirichlet_process":
        a, b = bgm.weight_concentration_
        log_pi = digamma(a) - digamma(a + b) + np.hstack((0, np.cumsum(digamma(b) - digamma(a + b))[:-1]))
    else:
        alpha = bgm.weight_concentration_
        log_pi = digamma(alpha) - digamma(alpha.sum())
    return log_gaussian(X, bgm.means_, cov) - 0.5 * d * np.log(nu) + 0.5 * (log_lambda - d / beta) + log_pi


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_svi_step_matches_numpy_reference(covariance_type, prior_type):
    rng = np.random.default_rng(1)
    k, d, reg, decay, offset, total = 3, 3, 1e-4, 0.8, 2.0, 5000.0
    beta0, nu0, gamma0, m0 = 0.5, 4.0, 0.3, np.array([0.1, -0.2, 0.3])
    w0 = {"full": np.eye(d) * 2.0 + 0.3, "tied": np.eye(d) * 2.0 + 0.3, "diag": np.array([1.0, 2.0, 3.0]),
          "spherical": 1.5}[covariance_type]
    bgm = BayesianGaussianMixture(
        n_components=k, covariance_type=covariance_type, reg_covar=reg, weight_concentration_prior_type=prior_type,
        weight_concentration_prior=gamma0, mean_precision_prior=beta0, mean_prior=m0, degrees_of_freedom_prior=nu0,
        covariance_prior=w0, learning_decay=decay, learning_offset=offset, total_samples=total, random_state=0,
    )
    bgm.partial_fit(draw(rng, 600))
    for t in (1, 2):
        eta = natural_parameters(bgm, covariance_type)
        X = draw(rng, 300)
        w = rng.uniform(0.2, 3.0, X.shape[0])
        r = responsibilities(variational_log_scores(X, bgm, covariance_type, prior_type))
        n, s1, S = (total * a for a in raw_statistics(X, w, r))
        S = S + reg * n[:, None, None] * np.eye(d)  # fit's covariances carry reg_covar, weighted by the counts
        beta = beta0 + n
        nu = nu0 + (n.mean() if covariance_type == "tied" else n)
        scale = reduce_second(np.stack([w0 if np.ndim(w0) == 2 else np.diag(np.broadcast_to(w0, d))] * k)
                              + beta0 * np.outer(m0, m0) + S, covariance_type)
        if prior_type == "dirichlet_process":
            concentration = np.concatenate((1 + n, gamma0 + np.hstack((np.cumsum(n[::-1])[-2::-1], 0.0))))
        else:
            concentration = gamma0 + n
        batch = [beta, beta0 * m0 + s1, scale, nu, concentration]
        rho = (offset + t) ** -decay
        beta, bm, scale, nu, concentration = ((1 - rho) * a + rho * b for a, b in zip(eta, batch))
        means = bm / beta[:, None]
        scale = scale - reduce_second(beta[:, None, None] * means[:, :, None] * means[:, None, :], covariance_type)
        covariances = scale / (nu if covariance_type == "tied" else nu.reshape((-1,) + (1,) * (scale.ndim - 1)))
        bgm.partial_fit(X, sample_weight=w)
        np.testing.assert_allclose(bgm.mean_precision_, beta, rtol=1e-8)
        np.testing.assert_allclose(bgm.means_, means, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(bgm.degrees_of_freedom_, nu, rtol=1e-8)
        np.testing.assert_allclose(bgm.covariances_, covariances, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(natural_parameters(bgm, covariance_type)[4], concentration, rtol=1e-8)


# -- streams -----------------------------------------------------------------


@pytest.mark.parametrize("estimator", [
    GaussianMixture(3, random_state=0),
    BayesianGaussianMixture(n_components=3, random_state=0, total_samples=40000),
])
def test_stream_reaches_the_batch_fit(estimator):
    """40 batches of 1,000 rows, one pass: the held-out log-likelihood within
    0.5% of the batch fit on the same number of rows."""
    rng = np.random.default_rng(2)
    held_out = draw(rng, 20000)
    for _ in range(40):
        estimator.partial_fit(draw(rng, 1000))
    batch = type(estimator)(**{**estimator.get_params(), "random_state": 0}).fit(draw(rng, 40000))
    streamed, fitted = estimator.score(held_out), batch.score(held_out)
    assert abs(streamed - fitted) < 0.005 * abs(fitted)
    assert estimator.n_batch_iter_ == 40 and estimator.lower_bounds_ == [estimator.lower_bound_]


@pytest.mark.parametrize("Estimator", [GaussianMixture, BayesianGaussianMixture])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_after_fit_goes_on_from_the_fit(Estimator, covariance_type):
    """After fit, the fitted model's statistics are the running ones: a step
    of ~0 (a huge learning_offset) leaves the fitted parameters."""
    rng = np.random.default_rng(3)
    X = draw(rng, 3000)
    extra = {"total_samples": 3000} if Estimator is BayesianGaussianMixture else {}
    model = Estimator(n_components=3, covariance_type=covariance_type, random_state=0, learning_offset=1e15, **extra)
    model.fit(X)
    before = {name: np.copy(getattr(model, name)) for name in ("weights_", "means_", "covariances_")}
    model.partial_fit(draw(rng, 50))
    for name, value in before.items():
        np.testing.assert_allclose(getattr(model, name), value, rtol=1e-8, atol=1e-9)
    assert model.n_batch_iter_ == 2
    # and predictions work on it
    assert model.predict(X[:5]).shape == (5,) and np.isfinite(model.score(X))


@pytest.mark.parametrize("Estimator", [GaussianMixture, BayesianGaussianMixture])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_batches_of_one_row(Estimator, covariance_type):
    rng = np.random.default_rng(4)
    model = Estimator(n_components=3, covariance_type=covariance_type, random_state=0)
    model.partial_fit(draw(rng, 30))
    for x in draw(rng, 20):
        model.partial_fit(x[None, :])
    assert np.isfinite(model.covariances_).all() and np.isfinite(model.score(draw(rng, 100)))
    assert model.n_batch_iter_ == 21


def state_of(model):
    return {name: np.copy(value) if isinstance(value, np.ndarray) else value
            for name, value in model.__dict__.items() if name.endswith("_") and not isinstance(value, (tuple, list))}


def assert_same_state(model, state):
    after = state_of(model)
    assert after.keys() == state.keys()
    for name, value in state.items():
        np.testing.assert_array_equal(after[name], value)


@pytest.mark.parametrize("Estimator", [GaussianMixture, BayesianGaussianMixture])
def test_hostile_batches_change_nothing(Estimator):
    rng = np.random.default_rng(5)
    model = Estimator(n_components=3, random_state=0)
    with pytest.raises(ValueError, match="n_samples >= max"):
        model.partial_fit(draw(rng, 1))
    assert not hasattr(model, "means_")
    model.partial_fit(draw(rng, 100))
    model.partial_fit(draw(rng, 100))
    state, stream = state_of(model), model._stream
    X = draw(rng, 50)
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3 features"):
        model.partial_fit(X[:, :2])
    assert_same_state(model, state)
    for bad, message in (([np.nan] + [1.0] * 49, "NaN"), ([-1.0] + [1.0] * 49, "[Nn]egative"),
                         ([0.0] * 50, "zero|positive")):
        with pytest.raises(ValueError, match=message):
            model.partial_fit(X, sample_weight=bad)
        assert_same_state(model, state)
        assert model._stream is stream
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.partial_fit(np.where(np.arange(3) == 1, np.inf, X))
    assert_same_state(model, state)
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        Estimator(learning_decay=1.5).partial_fit(X)
    with pytest.raises(InvalidParameterError, match="learning_offset"):
        Estimator(learning_offset=0.5).partial_fit(X)


def test_total_samples_is_validated():
    with pytest.raises(InvalidParameterError, match="total_samples"):
        BayesianGaussianMixture(total_samples=0).partial_fit(draw(np.random.default_rng(0), 10))


def test_fit_after_partial_fit_starts_anew():
    rng = np.random.default_rng(6)
    X = draw(rng, 2000)
    streamed = GaussianMixture(3, random_state=0).partial_fit(draw(rng, 500))
    np.testing.assert_allclose(streamed.fit(X).means_, GaussianMixture(3, random_state=0).fit(X).means_)
    # and partial_fit then goes on from that fit, not from the stream before it
    fitted_means = streamed.means_.copy()
    streamed.set_params(learning_offset=1e15).partial_fit(X[:10])
    np.testing.assert_allclose(streamed.means_, fitted_means, rtol=1e-8)


# -- missing values in the stream ---------------------------------------------------


def rows_with_missing_entries(rng, n, fraction):
    X = draw(rng, n)
    X[rng.random(X.shape) < fraction] = np.nan
    return X[~np.isnan(X).all(axis=1)]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_stepwise_em_with_missing_values_is_the_incomplete_data_em_step(covariance_type):
    # learning_decay=0 makes every step rho = 1: the running statistics are
    # the batch's, so a partial_fit is one EM iteration for incomplete data
    # on that batch from the current model, which fit(max_iter=1) also takes.
    X = rows_with_missing_entries(np.random.default_rng(5), 1500, 0.25)
    streamed = GaussianMixture(3, covariance_type=covariance_type, allow_missing=True, learning_decay=0.0,
                               random_state=0).partial_fit(X)
    one_step = GaussianMixture(3, covariance_type=covariance_type, allow_missing=True, max_iter=1,
                               weights_init=streamed.weights_, means_init=streamed.means_,
                               precisions_init=streamed.precisions_)
    streamed.partial_fit(X)
    with pytest.warns(Warning):  # ConvergenceWarning: one iteration
        one_step.fit(X)
    np.testing.assert_allclose(streamed.weights_, one_step.weights_, rtol=1e-10)
    np.testing.assert_allclose(streamed.means_, one_step.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.covariances_, one_step.covariances_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Estimator", [GaussianMixture, BayesianGaussianMixture])
def test_streams_with_missing_values_need_the_opt_in(Estimator):
    rng = np.random.default_rng(6)
    X = rows_with_missing_entries(rng, 600, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        Estimator(n_components=3, random_state=0).partial_fit(X)
    model = Estimator(n_components=3, allow_missing=True, random_state=0)
    for batch in np.array_split(X, 3):
        model.partial_fit(batch)
    assert np.isfinite(model.means_).all() and np.isfinite(model.score_samples(X)).all()
