"""BayesianGaussianMixture against scikit-learn from the same initial
responsibilities, and its own properties: the lower bound from the pass's
statistics, priors, weights, float32, bad input."""
import pickle
import warnings

import numpy as np
import pytest
from scipy.special import betaln, digamma, gammaln
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SKBayesianGaussianMixture
from threadpoolctl import threadpool_limits

from lvmfast import BayesianGaussianMixture
from lvmfast.datasets import load_faithful

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]


def skewed_blobs(seed=0, n_per=300, n_features=3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (4, n_features))
    return np.vstack([c + rng.standard_normal((n_per, n_features)) @ rng.normal(0, 1, (n_features, n_features))
                      for c in centers])


def fit_quietly(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


def assert_same_model(ours, theirs, rtol=1e-6, lower_bound_rtol=1e-8):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    theirs_bound = float(np.ravel(theirs.lower_bound_)[0])  # scikit-learn's 'tied' bound is an array of one
    assert abs(ours.lower_bound_ - theirs_bound) <= lower_bound_rtol * abs(theirs_bound)
    names = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "mean_precision_",
             "degrees_of_freedom_", "mean_prior_", "covariance_prior_")
    for name in names:
        a, b = np.asarray(getattr(ours, name)), np.asarray(getattr(theirs, name))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)
    for a, b in zip(np.atleast_2d(ours.weight_concentration_), np.atleast_2d(theirs.weight_concentration_)):
        np.testing.assert_allclose(a, b, rtol=rtol, err_msg="weight_concentration_")


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["random", "kmeans"])
def test_matches_sklearn_from_the_same_responsibilities(prior_type, covariance_type, init_params):
    """Same initial responsibilities (the same random_state draws), run to
    convergence at tol=1e-6: same n_iter_, lower bound within 1e-8,
    parameters within 1e-6 (measured: about 1e-14)."""
    X = skewed_blobs()
    params = dict(n_components=6, covariance_type=covariance_type, weight_concentration_prior_type=prior_type,
                  init_params=init_params, random_state=1, max_iter=500, tol=1e-6)
    ours = fit_quietly(BayesianGaussianMixture(**params), X)
    theirs = fit_quietly(SKBayesianGaussianMixture(**params), X)
    assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-9)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_sklearn_with_given_priors(covariance_type):
    X = skewed_blobs(1)
    d = X.shape[1]
    covariance_prior = {"full": np.eye(d) * 2, "tied": np.eye(d) * 2 + 0.5, "diag": np.full(d, 3.0), "spherical": 0.7}
    params = dict(n_components=5, covariance_type=covariance_type, init_params="random_from_data", random_state=3,
                  weight_concentration_prior=0.01, mean_precision_prior=0.5, mean_prior=np.ones(d),
                  degrees_of_freedom_prior=d + 2.5, covariance_prior=covariance_prior[covariance_type], max_iter=300)
    assert_same_model(fit_quietly(BayesianGaussianMixture(**params), X),
                      fit_quietly(SKBayesianGaussianMixture(**params), X))


def reference_lower_bound(model, X, previous):
    """scikit-learn's lower bound, written out with an N x K array: the
    responsibilities under `previous` (the fitted state one iteration
    earlier), the prior terms under `model`."""
    n_features = X.shape[1]
    log_resp = previous._estimate_weighted_log_prob(X)
    log_resp -= np.logaddexp.reduce(log_resp, axis=1)[:, None]
    entropy = -np.sum(np.exp(log_resp) * log_resp)
    chol = model.precisions_cholesky_
    if model.covariance_type == "full":
        log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    elif model.covariance_type == "tied":
        log_det = np.log(np.diag(chol)).sum()
    elif model.covariance_type == "diag":
        log_det = np.log(chol).sum(axis=1)
    else:
        log_det = n_features * np.log(chol)
    dof = np.asarray(model.degrees_of_freedom_, dtype=float)
    log_det = log_det - 0.5 * n_features * np.log(dof)
    wishart = -(dof * log_det + dof * n_features * 0.5 * np.log(2)
                + gammaln(0.5 * (dof[..., None] - np.arange(n_features))).sum(axis=-1))
    wishart = np.sum(wishart) * (model.n_components if model.covariance_type == "tied" else 1)
    a, b = model.weight_concentration_
    return entropy - wishart + np.sum(betaln(a, b)) - 0.5 * n_features * np.sum(np.log(model.mean_precision_))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_equals_the_entropy_written_out(covariance_type):
    """The bound from the pass's statistics (no N x K array) equals the one
    computed from explicit responsibilities, iteration by iteration."""
    X = skewed_blobs(2)
    ours = BayesianGaussianMixture(n_components=4, covariance_type=covariance_type, max_iter=1, warm_start=True,
                                   random_state=0)
    reference = SKBayesianGaussianMixture(n_components=4, covariance_type=covariance_type, random_state=0)
    fit_quietly(ours, X)
    for _ in range(4):
        previous = pickle.loads(pickle.dumps(ours))
        fit_quietly(ours, X)
        # previous's state in scikit-learn's class, to score its responsibilities
        for name in ("weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_", "covariances_",
                     "precisions_cholesky_"):
            setattr(reference, name, getattr(previous, name))
        expected = reference_lower_bound(ours, X, reference)
        assert ours.lower_bound_ == pytest.approx(expected, rel=1e-11)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(covariance_type):
    X = skewed_blobs(3)
    model = fit_quietly(BayesianGaussianMixture(n_components=8, covariance_type=covariance_type, max_iter=200,
                                                tol=1e-8, random_state=0, reg_covar=0), X)
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == model.n_iter_
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_switches_off_unneeded_components_on_old_faithful():
    """Old Faithful has two clusters: with 6 components and a small
    concentration, all but two weights go to about 0, as in scikit-learn."""
    X = load_faithful()[0]
    params = dict(n_components=6, weight_concentration_prior=1e-3, max_iter=1000, random_state=0)
    ours = fit_quietly(BayesianGaussianMixture(**params), X)
    theirs = fit_quietly(SKBayesianGaussianMixture(**params), X)
    assert np.sum(ours.weights_ > 0.01) == 2
    np.testing.assert_allclose(np.sort(ours.weights_), np.sort(theirs.weights_), atol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_stays_float32_and_agrees_with_float64(covariance_type):
    X = skewed_blobs(4)
    params = dict(n_components=4, covariance_type=covariance_type, max_iter=10, tol=0, random_state=0,
                  init_params="random_from_data")
    m32 = fit_quietly(BayesianGaussianMixture(**params), X.astype(np.float32))
    m64 = fit_quietly(BayesianGaussianMixture(**params), X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "mean_prior_", "covariance_prior_"):
        a, b = getattr(m32, name), getattr(m64, name)
        assert np.asarray(a).dtype == np.float32, name
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max(), err_msg=name)
    assert m32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert m32.lower_bound_ == pytest.approx(m64.lower_bound_, rel=1e-5)


SCALED_FIT_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_cholesky_", "mean_prior_",
                         "covariance_prior_", "mean_precision_", "degrees_of_freedom_")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weights_that_only_rescale_change_nothing(covariance_type):
    """sample_weight is relative: the fit is that of the weights normalized
    to mean 1, so w and c * w give one model, for weights summing to 1
    (where the covariance prior once divided by sum(w) - 1 = 0) and below."""
    X = skewed_blobs(3)
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(X))
    params = dict(n_components=4, covariance_type=covariance_type, random_state=0, tol=1e-8, max_iter=500)
    reference = fit_quietly(BayesianGaussianMixture(**params), X, sample_weight=w)
    for c in (1e-3, 1 / w.sum(), 1.0, 1e3):
        scaled = fit_quietly(BayesianGaussianMixture(**params), X, sample_weight=c * w)
        assert scaled.n_iter_ == reference.n_iter_, c
        assert scaled.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-9), c
        for name in SCALED_FIT_ATTRIBUTES:
            np.testing.assert_allclose(np.asarray(getattr(scaled, name), dtype=np.float64),
                                       np.asarray(getattr(reference, name), dtype=np.float64),
                                       rtol=1e-7, atol=1e-9, err_msg=f"{name}, c={c}")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_covariance_prior_is_the_weighted_covariance(covariance_type):
    """covariance_prior_ by default: the covariance of X under its weights
    normalized to mean 1, sum w (x - m)(x - m)^T / (n_samples - 1), which is
    scikit-learn's np.cov(X.T) when the weights are all 1."""
    X = skewed_blobs(4)
    n, d = X.shape
    w = np.random.default_rng(1).uniform(0.0, 2.0, n)
    unit = w / w.mean()
    mean = unit @ X / n
    covariance = ((unit[:, None] * (X - mean)).T @ (X - mean)) / (n - 1)
    expected = {"full": covariance, "tied": covariance, "diag": np.diag(covariance),
                "spherical": np.diag(covariance).mean()}[covariance_type]
    params = dict(n_components=2, covariance_type=covariance_type, random_state=0, max_iter=0)
    weighted = fit_quietly(BayesianGaussianMixture(**params), X, sample_weight=w / w.sum())
    np.testing.assert_allclose(weighted.covariance_prior_, expected, rtol=1e-10)
    np.testing.assert_allclose(weighted.mean_prior_, mean, rtol=1e-10, atol=1e-12)
    unweighted = fit_quietly(BayesianGaussianMixture(**params), X)
    theirs = fit_quietly(SKBayesianGaussianMixture(**params), X)
    np.testing.assert_allclose(unweighted.covariance_prior_, theirs.covariance_prior_, rtol=1e-10)


def test_bit_identical_with_one_and_two_threads():
    X = skewed_blobs(5, n_per=20000)
    runs = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            m = fit_quietly(BayesianGaussianMixture(n_components=5, max_iter=20, random_state=0), X)
            runs.append((m.lower_bound_, m.means_.copy(), m.covariances_.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    np.testing.assert_array_equal(runs[0][2], runs[1][2])


def test_warm_start_continues_the_same_iterations():
    X = skewed_blobs(6)
    params = dict(n_components=4, random_state=0, tol=0)
    once = fit_quietly(BayesianGaussianMixture(max_iter=6, **params), X)
    stepped = BayesianGaussianMixture(max_iter=3, warm_start=True, **params)
    fit_quietly(stepped, X)
    fit_quietly(stepped, X)
    assert stepped.lower_bound_ == pytest.approx(once.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(stepped.means_, once.means_, rtol=1e-10)


def test_dirichlet_process_expected_log_weights():
    """The E-step's log weights (stick-breaking), against the formula."""
    X = skewed_blobs(7)
    model = fit_quietly(BayesianGaussianMixture(n_components=4, max_iter=5, random_state=0), X)
    a, b = model.weight_concentration_
    expected = digamma(a) - digamma(a + b) + np.hstack((0, np.cumsum(digamma(b) - digamma(a + b))[:-1]))
    from lvmfast.mixture._bayesian_mixture import _expected_log_weights

    np.testing.assert_allclose(_expected_log_weights((a, b), "dirichlet_process"), expected, rtol=1e-14)


BAD_PRIORS = [
    (dict(degrees_of_freedom_prior=1.5), ValueError, "degrees_of_freedom_prior' should be greater than 2"),
    (dict(mean_prior=[0.0, 1.0]), ValueError, r"'mean_prior' should have the shape of \(3,\), but got \(2,\)"),
    (dict(mean_prior=[0.0, np.nan, 1.0]), ValueError, "'mean_prior' contains NaN"),
    (dict(covariance_prior=np.ones((3, 3))), ValueError, "'full covariance_prior' should be symmetric, positive-definite"),
    (dict(covariance_prior=np.eye(2)), ValueError, r"should have the shape of \(3, 3\), but got \(2, 2\)"),
    (dict(covariance_type="diag", covariance_prior=[1.0, -1.0, 1.0]), ValueError, "'diag covariance_prior' should be positive"),
    (dict(covariance_type="spherical", covariance_prior=[1.0, 2.0]), ValueError, r"shape of \(\), but got \(2,\)"),
    (dict(covariance_prior=-1.0), ValueError, "covariance_prior"),
    (dict(weight_concentration_prior=0.0), ValueError, "weight_concentration_prior"),
    (dict(mean_precision_prior=-1.0), ValueError, "mean_precision_prior"),
    (dict(weight_concentration_prior_type="dirichlet"), ValueError, "weight_concentration_prior_type"),
    (dict(mean_prior=["a", "b", "c"]), TypeError, "'mean_prior' should be numeric"),
    (dict(mean_prior="abc"), ValueError, "mean_prior"),
]


@pytest.mark.parametrize("params, error, message", BAD_PRIORS)
def test_bad_priors_are_refused_and_change_nothing(params, error, message):
    X = skewed_blobs(8)
    model = fit_quietly(BayesianGaussianMixture(n_components=2, random_state=0, max_iter=5), X)
    before = pickle.dumps(vars(model))
    model.set_params(**params)
    with pytest.raises(error, match=message):
        model.fit(X)
    model.set_params(**{k: BayesianGaussianMixture().get_params()[k] for k in params})
    assert pickle.dumps(vars(model)) == before


def test_bad_data_is_refused():
    model = BayesianGaussianMixture(n_components=3)
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        model.fit(np.random.default_rng(0).standard_normal((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, 3.0], [1.0, 1.0]]))
    assert not hasattr(model, "means_")


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(BayesianGaussianMixture())
