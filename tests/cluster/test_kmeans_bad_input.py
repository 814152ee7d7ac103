"""Bad input gets a clear error that names what was expected, and changes nothing."""
import numpy as np
import pytest

from lvmfast import KMeans, kmeans_plusplus
from sklearn.exceptions import NotFittedError


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((40, 3))


def fit_leaves_x_unchanged(X, estimator=None, **fit_kwargs):
    before = X.copy()
    estimator = estimator or KMeans(3, random_state=0)
    try:
        estimator.fit(X, **fit_kwargs)
    finally:
        np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("value,message", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")])
def test_non_finite_values(X, value, message):
    X[5, 1] = value
    with pytest.raises(ValueError, match=message):
        fit_leaves_x_unchanged(X)
    with pytest.raises(ValueError, match=message):
        kmeans_plusplus(X, 3)


def test_non_finite_values_at_predict(X):
    km = KMeans(3, random_state=0).fit(X)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        km.predict(X)


@pytest.mark.parametrize("shape", [(40,), (4, 5, 2), ()])
def test_wrong_number_of_dimensions(shape):
    with pytest.raises(ValueError, match="Expected 2D array|Found array with dim 3"):
        KMeans(2).fit(np.ones(shape))


def test_one_dimensional_input_suggests_reshape():
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        KMeans(2).fit(np.arange(10.0))


def test_no_rows_and_no_columns():
    with pytest.raises(ValueError, match="0 sample"):
        KMeans(2).fit(np.empty((0, 3)))
    with pytest.raises(ValueError, match="0 feature"):
        KMeans(2).fit(np.empty((5, 0)))


def test_more_clusters_than_samples(X):
    with pytest.raises(ValueError, match="n_samples=40 should be >= n_clusters=41"):
        fit_leaves_x_unchanged(X, KMeans(41))
    with pytest.raises(ValueError, match="n_samples=40 should be >= n_clusters=41"):
        kmeans_plusplus(X, 41)


@pytest.mark.parametrize(
    "weights,error,message",
    [
        (-np.ones(40), ValueError, "Negative values in data passed to `sample_weight`"),
        (np.zeros(40), ValueError, "at least one non-zero"),
        (np.ones(39), ValueError, r"sample_weight.shape == \(39,\), expected \(40,\)"),
        (np.ones((40, 2)), ValueError, "Sample weights must be 1D"),
        (np.r_[np.nan, np.ones(39)], ValueError, "NaN"),
        (np.array(["a"] * 40), ValueError, "could not convert"),
    ],
)
def test_bad_sample_weight(X, weights, error, message):
    with pytest.raises(error, match=message):
        fit_leaves_x_unchanged(X, sample_weight=weights)
    with pytest.raises(error, match=message):
        kmeans_plusplus(X, 3, sample_weight=weights)


def test_random_init_needs_enough_weighted_rows(X):
    weights = np.zeros(40)
    weights[:2] = 1.0
    with pytest.raises(ValueError, match="positive weight"):
        fit_leaves_x_unchanged(X, KMeans(3, init="random"), sample_weight=weights)


@pytest.mark.parametrize("init", [np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(3)])
def test_init_of_the_wrong_shape(X, init):
    with pytest.raises(ValueError, match="init"):
        fit_leaves_x_unchanged(X, KMeans(3, init=init, n_init=1))


def test_init_with_nan(X):
    init = np.zeros((3, 3))
    init[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_leaves_x_unchanged(X, KMeans(3, init=init, n_init=1))


def test_callable_init_returning_the_wrong_shape(X):
    with pytest.raises(ValueError, match=r"initial centers \(2, 3\) does not match the number of clusters 3"):
        fit_leaves_x_unchanged(X, KMeans(3, init=lambda X, k, random_state: X[:2]))


def test_array_init_with_several_runs_warns(X):
    with pytest.warns(RuntimeWarning, match="only one init"):
        KMeans(3, init=X[:3], n_init=4).fit(X)


@pytest.mark.parametrize(
    "params,error,message",
    [
        ({"n_clusters": 0}, ValueError, "'n_clusters' parameter of KMeans must be an int in the range \\[1, inf\\)"),
        ({"n_clusters": 2.5}, TypeError, "'n_clusters' parameter of KMeans must be an int"),
        ({"init": "kmeans"}, ValueError, "'init' parameter of KMeans must be a str among"),
        ({"init": 3}, TypeError, "'init' parameter of KMeans must be"),
        ({"n_init": 0}, ValueError, "'n_init' parameter of KMeans must be"),
        ({"n_init": "sometimes"}, ValueError, "'n_init' parameter of KMeans must be a str among {'auto'}"),
        ({"max_iter": 0}, ValueError, "'max_iter' parameter of KMeans must be an int in the range"),
        ({"tol": -1e-3}, ValueError, "'tol' parameter of KMeans must be a float in the range \\[0.0, inf\\)"),
        ({"tol": "small"}, TypeError, "'tol' parameter of KMeans must be a float"),
        ({"verbose": -1}, ValueError, "'verbose' parameter of KMeans must be"),
        ({"algorithm": "full"}, ValueError, "'algorithm' parameter of KMeans must be a str among"),
        ({"copy_x": "yes"}, TypeError, "'copy_x' parameter of KMeans must be an instance of 'bool'"),
        ({"random_state": "seed"}, ValueError, "'random_state' parameter of KMeans must be"),
    ],
)
def test_unknown_parameter_values(X, params, error, message):
    with pytest.raises(error, match=message):
        fit_leaves_x_unchanged(X, KMeans(**{"n_clusters": 3, **params}))


def test_kmeans_plusplus_bad_parameters(X):
    with pytest.raises(ValueError, match="'n_local_trials' parameter of kmeans_plusplus must be"):
        kmeans_plusplus(X, 3, n_local_trials=0)
    with pytest.raises(TypeError, match="'n_clusters' parameter of kmeans_plusplus must be an int"):
        kmeans_plusplus(X, "3")


def test_predict_with_the_wrong_number_of_features(X):
    km = KMeans(3, random_state=0).fit(X)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match="X has 2 features, but KMeans is expecting 3 features as input"):
            method(X[:, :2])


def test_use_before_fit(X):
    for method in (KMeans(3).predict, KMeans(3).transform, KMeans(3).score):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(X)


def test_non_numeric_input():
    with pytest.raises(ValueError, match="could not convert"):
        KMeans(2).fit(np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object))
    with pytest.raises(ValueError, match="Complex data not supported"):
        KMeans(2).fit(np.ones((4, 2), dtype=complex))


def test_lists_are_accepted():
    km = KMeans(2, random_state=0).fit([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    assert sorted(np.bincount(km.labels_)) == [2, 2]


def test_duplicate_points_warn_about_fewer_distinct_clusters():
    from sklearn.exceptions import ConvergenceWarning

    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 10, axis=0)
    with pytest.warns(ConvergenceWarning, match="Number of distinct clusters"):
        KMeans(3, random_state=0).fit(X)
