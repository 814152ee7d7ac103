"""lvmfast.FactorAnalysis against scikit-learn's (svd_method='lapack' from
the same start), its scatter-only fit, weights, dtypes and bad input."""
import warnings

import numpy as np
import pytest
from sklearn.decomposition import FactorAnalysis as SklearnFactorAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_estimator

from lvmfast import FactorAnalysis
from lvmfast.decomposition._factor_analysis import orthogonal_rotation, weighted_covariance


def factor_data(n_samples=400, n_features=10, n_factors=3, seed=0, offset=3.0):
    rng = np.random.RandomState(seed)
    loadings = rng.randn(n_factors, n_features)
    noise = rng.gamma(1.0, size=n_features) * rng.randn(n_samples, n_features)
    return rng.randn(n_samples, n_factors) @ loadings + noise + offset


@pytest.mark.parametrize("n_components", [0, 1, 3, 10])
@pytest.mark.parametrize("tol", [1e-2, 1e-6])
def test_parity_with_sklearn_lapack(n_components, tol):
    X = factor_data()
    ours = FactorAnalysis(n_components, svd_method="lapack", tol=tol, max_iter=300)
    theirs = SklearnFactorAnalysis(n_components, svd_method="lapack", tol=tol, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X)
        theirs.fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loglike_, theirs.loglike_, rtol=1e-8)
    np.testing.assert_allclose(ours.get_covariance(), theirs.get_covariance(), atol=1e-6)
    np.testing.assert_allclose(ours.noise_variance_, theirs.noise_variance_, rtol=1e-6)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.get_precision(), theirs.get_precision(), atol=1e-6)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-9)
    # the factors agree up to each one's sign
    np.testing.assert_allclose(np.abs(ours.transform(X)), np.abs(theirs.transform(X)), atol=1e-6)


def test_randomized_agrees_with_lapack():
    X = factor_data(seed=1)
    lapack = FactorAnalysis(3, svd_method="lapack").fit(X)
    randomized = FactorAnalysis(3, svd_method="randomized", random_state=0).fit(X)
    np.testing.assert_allclose(randomized.loglike_, lapack.loglike_, rtol=1e-8)
    np.testing.assert_allclose(randomized.get_covariance(), lapack.get_covariance(), atol=1e-6)


def test_weighted_covariance_is_the_weighted_numpy_one():
    X = factor_data(300, 6, seed=2, offset=1e3)
    w = np.random.RandomState(0).uniform(0.1, 3.0, size=len(X))
    mean, covariance, total = weighted_covariance(X, w)
    expected_mean = np.average(X, axis=0, weights=w)
    centered = X - expected_mean
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-13)
    np.testing.assert_allclose(covariance, (w[:, None] * centered).T @ centered / w.sum(), rtol=1e-10, atol=1e-12)
    assert total == pytest.approx(w.sum(), rel=1e-14)


def test_integer_weights_act_as_repeated_rows():
    X = factor_data(120, 5, seed=3)
    w = np.random.RandomState(1).randint(0, 4, size=len(X))
    weighted = FactorAnalysis(2, svd_method="lapack").fit(X, sample_weight=w)
    repeated = FactorAnalysis(2, svd_method="lapack").fit(np.repeat(X, w, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.loglike_, repeated.loglike_, rtol=1e-9)
    np.testing.assert_allclose(weighted.get_covariance(), repeated.get_covariance(), rtol=1e-8, atol=1e-10)


def test_float32_is_kept_and_close_to_float64():
    X = factor_data(500, 8, seed=4)
    fa64 = FactorAnalysis(3, svd_method="lapack").fit(X)
    fa32 = FactorAnalysis(3, svd_method="lapack").fit(X.astype(np.float32))
    assert fa32.components_.dtype == np.float32 and fa32.noise_variance_.dtype == np.float32
    assert fa32.transform(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(fa32.get_covariance(), fa64.get_covariance(), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(fa32.score_samples(X.astype(np.float32)), fa64.score_samples(X), rtol=1e-4)


def test_rotation_keeps_the_covariance_and_matches_sklearn():
    X = factor_data(300, 8, seed=5)
    for method in ("varimax", "quartimax"):
        ours = FactorAnalysis(3, rotation=method, svd_method="lapack").fit(X)
        theirs = SklearnFactorAnalysis(3, rotation=method, svd_method="lapack").fit(X)
        plain = FactorAnalysis(3, svd_method="lapack").fit(X)
        np.testing.assert_allclose(ours.get_covariance(), plain.get_covariance(), atol=1e-10)
        # the same rotated loadings up to the order and sign of the factors
        key = lambda c: np.sort(np.abs(c), axis=0)  # noqa: E731
        np.testing.assert_allclose(key(ours.components_.T), key(theirs.components_.T), atol=1e-5)


def test_orthogonal_rotation_is_orthogonal():
    loadings = np.random.RandomState(0).randn(9, 3)
    rotated = orthogonal_rotation(loadings, "varimax")
    rotation = np.linalg.lstsq(loadings, rotated, rcond=None)[0]
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-10)


def test_bad_input_is_refused_and_changes_nothing():
    X = factor_data(50, 4)
    fa = FactorAnalysis(2).fit(X)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(fa).items() if k.endswith("_")}
    with pytest.raises(ValueError, match="n_components must be at most n_features = 4"):
        fa.set_params(n_components=5).fit(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fa.set_params(n_components=2).fit(bad)
    with pytest.raises(ValueError, match="X is constant"):
        fa.fit(np.ones((10, 4)))
    with pytest.raises(ValueError, match="noise_variance_init"):
        fa.set_params(noise_variance_init=np.ones(3)).fit(X)
    for key, value in before.items():
        np.testing.assert_array_equal(getattr(fa, key), value)


def test_check_estimator():
    check_estimator(FactorAnalysis())
