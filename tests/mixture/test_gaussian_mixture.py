"""GaussianMixture against scikit-learn from the same starting point, and its
own properties."""
import numpy as np
import pytest
from sklearn.datasets import load_iris, make_blobs
from sklearn.mixture import GaussianMixture as SKGaussianMixture
from threadpoolctl import threadpool_limits

from lvmfast import GaussianMixture
from lvmfast.datasets import load_faithful
from sklearn.exceptions import ConvergenceWarning

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DATASETS = {
    "faithful": load_faithful()[0],
    "iris": load_iris().data,
    "blobs": make_blobs(2000, 4, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=0)[0],
}


def starting_point(X, covariance_type, seed):
    """weights, means and precisions after one scikit-learn EM step from k-means."""
    sk = SKGaussianMixture(3, covariance_type=covariance_type, max_iter=1, random_state=seed)
    with pytest.warns(Warning):
        sk.fit(X)
    return {"weights_init": sk.weights_, "means_init": sk.means_, "precisions_init": sk.precisions_}


def assert_same_model(ours, theirs, X, lower_bound_atol=1e-8, rtol=1e-6):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert abs(ours.lower_bound_ - theirs.lower_bound_) <= lower_bound_atol
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        a, b = getattr(ours, name), getattr(theirs, name)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_sklearn_from_the_same_parameters(name, covariance_type):
    X = DATASETS[name]
    init = starting_point(X, covariance_type, seed=0)
    ours = GaussianMixture(3, covariance_type=covariance_type, **init).fit(X)
    theirs = SKGaussianMixture(3, covariance_type=covariance_type, **init).fit(X)
    assert_same_model(ours, theirs, X)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-10)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-10)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_random_state_as_sklearn(init_params, covariance_type):
    # Every initialization draws from the RandomState as scikit-learn's does.
    # With n_init=2 both initializations can reach one optimum, their
    # components in another order and their lower bounds equal to rounding
    # (4e-15 apart for 'tied' from k-means here): which one is kept is then
    # a coin flip of rounding, so the components are compared in one order.
    X = DATASETS["blobs"]
    ours = GaussianMixture(3, covariance_type=covariance_type, init_params=init_params, n_init=2, random_state=5).fit(X)
    theirs = SKGaussianMixture(3, covariance_type=covariance_type, init_params=init_params, n_init=2, random_state=5).fit(X)
    assert_same_model(in_mean_order(ours), in_mean_order(theirs), X)


def in_mean_order(model):
    """A copy of a fitted mixture with its components sorted by their means."""
    import copy

    order = np.lexsort(model.means_.T[::-1])
    out = copy.copy(model)
    names = ["weights_", "means_", "precisions_cholesky_", "precisions_", "covariances_"]
    for name in names if model.covariance_type != "tied" else names[:2]:
        setattr(out, name, getattr(model, name)[order])
    return out


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_stays_float32(covariance_type):
    X = DATASETS["blobs"].astype(np.float32)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(gm, name).dtype == np.float32, name
    ref = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X.astype(np.float64))
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-3, atol=1e-3)
    assert gm.predict_proba(X).dtype == np.float32


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases(covariance_type):
    X = DATASETS["blobs"]
    gm = GaussianMixture(4, covariance_type=covariance_type, init_params="random", tol=0, max_iter=30, random_state=1)
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    assert len(gm.lower_bounds_) == 30
    assert np.all(np.diff(gm.lower_bounds_) >= -1e-12)


def test_predict_proba_rows_sum_to_one():
    X = DATASETS["iris"]
    proba = GaussianMixture(3, random_state=0).fit(X).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert proba.min() >= 0


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X = DATASETS["faithful"]
    counts = np.random.default_rng(0).integers(1, 4, len(X))
    init = starting_point(X, covariance_type, seed=0)
    weighted = GaussianMixture(3, covariance_type=covariance_type, **init).fit(X, sample_weight=counts)
    repeated = GaussianMixture(3, covariance_type=covariance_type, **init).fit(np.repeat(X, counts, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, abs=1e-10)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_from_the_model(covariance_type):
    X = DATASETS["blobs"]
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    draws, components = gm.sample(200_000)
    assert draws.shape == (200_000, 4)
    np.testing.assert_allclose(np.bincount(components) / 200_000, gm.weights_, atol=0.01)
    for k in range(3):
        part = draws[components == k]
        np.testing.assert_allclose(part.mean(axis=0), gm.means_[k], atol=0.05 * np.sqrt(part.var(axis=0).max()) + 0.02)
    # the whole sample has the mixture's mean and covariance
    mixture_mean = gm.weights_ @ gm.means_
    np.testing.assert_allclose(draws.mean(axis=0), mixture_mean, atol=0.05)


def test_bit_identical_with_one_and_two_threads():
    X, _ = make_blobs(60000, 5, centers=4, random_state=3)
    fits = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            fits.append(GaussianMixture(4, random_state=0, max_iter=20, tol=0).fit(X))
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    assert fits[0].lower_bounds_ == fits[1].lower_bounds_


def test_warm_start_continues():
    X = DATASETS["blobs"]
    gm = GaussianMixture(3, max_iter=2, warm_start=True, random_state=0, tol=0)
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    first = gm.lower_bound_
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    assert gm.lower_bound_ >= first - 1e-12
    cold = GaussianMixture(3, max_iter=4, random_state=0, tol=0)
    with pytest.warns(ConvergenceWarning):
        cold.fit(X)
    assert gm.lower_bound_ == pytest.approx(cold.lower_bound_, abs=1e-10)


def test_collapsed_component_is_named():
    X = np.vstack([np.zeros((5, 2)), np.random.default_rng(0).standard_normal((50, 2)) + 5])
    gm = GaussianMixture(2, reg_covar=0, means_init=[[0.0, 0.0], [5.0, 5.0]])
    with pytest.raises(ValueError, match=r"increase reg_covar.*Component [01] collapsed.*reg_covar is 0"):
        gm.fit(X)


def test_convergence_warning_when_max_iter_is_hit():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GaussianMixture(3, max_iter=1, random_state=0).fit(DATASETS["iris"])


@pytest.mark.parametrize(
    "params,error,message",
    [
        ({"n_components": 0}, ValueError, "'n_components' parameter of GaussianMixture must be an int in the range"),
        ({"covariance_type": "banded"}, ValueError, "'covariance_type' parameter of GaussianMixture must be a str among"),
        ({"reg_covar": -1.0}, ValueError, "'reg_covar' parameter of GaussianMixture must be a float in the range"),
        ({"tol": -1.0}, ValueError, "'tol' parameter of GaussianMixture must be a float in the range"),
        ({"init_params": "kmeans++"}, ValueError, "'init_params' parameter of GaussianMixture must be a str among"),
        ({"weights_init": [0.5, 0.5]}, ValueError, r"'weights' should have the shape of \(3,\), but got \(2,\)"),
        ({"weights_init": [0.5, 0.4, 0.3]}, ValueError, "should be normalized"),
        ({"means_init": np.zeros((3, 2))}, ValueError, r"'means' should have the shape of \(3, 4\), but got \(3, 2\)"),
        ({"precisions_init": np.zeros((3, 4, 4))}, ValueError, "symmetric, positive-definite"),
        ({"precisions_init": np.ones((3, 4, 4))}, ValueError, "symmetric, positive-definite"),
        ({"covariance_type": "diag", "precisions_init": -np.ones((3, 4))}, ValueError, "'diag precision' should be positive"),
        ({"covariance_type": "tied", "precisions_init": np.eye(3)}, ValueError, r"shape of \(4, 4\)"),
    ],
)
def test_bad_parameters(params, error, message):
    X = DATASETS["iris"].copy()
    before = X.copy()
    with pytest.raises(error, match=message):
        GaussianMixture(**{"n_components": 3, **params}).fit(X)
    np.testing.assert_array_equal(X, before)


def test_bad_input():
    X = DATASETS["iris"].copy()
    with pytest.raises(ValueError, match="n_components = 5, n_samples = 4"):
        GaussianMixture(5).fit(X[:4])
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(X)
    gm = GaussianMixture(2, random_state=0).fit(DATASETS["iris"])
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 4"):
        gm.predict(DATASETS["iris"][:, :3])
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        GaussianMixture(2).fit(DATASETS["iris"], sample_weight=-np.ones(150))


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(GaussianMixture())


def test_verbose_lines(capsys):
    X = DATASETS["iris"]
    GaussianMixture(3, random_state=0, verbose=1, verbose_interval=1).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "  Iteration 1" in out and "converged" in out
    GaussianMixture(3, random_state=0, verbose=2, verbose_interval=2).fit(X)
    out = capsys.readouterr().out
    assert "ll change" in out and "  Iteration 2\t" in out and "  Iteration 1\t" not in out
