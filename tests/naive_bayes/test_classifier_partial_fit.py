"""GaussianClassifier.partial_fit: exact (the class statistics add up, merged
by lvmfast._gaussian.merge_moments) for every covariance type."""
import numpy as np
import pytest

from lvmfast import GaussianClassifier
from lvmfast._gaussian import merge_moments

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def labeled_data(rng, n, offset=50.0):
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)) * [1.0, 2.0, 0.5, 3.0] + offset
    X[y == 1] += [2.0, 0.0, 1.0, 0.0]
    X[y == 2] = X[y == 2] @ np.array([[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0.3], [0, 0, 0, 1.0]])
    return X, y


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_equals_fit_on_the_concatenation(covariance_type, weighted):
    rng = np.random.default_rng(0)
    X, y = labeled_data(rng, 3000)
    w = rng.uniform(0.1, 5.0, len(y)) if weighted else None
    fitted = GaussianClassifier(covariance_type, reg_covar=1e-6).fit(X, y, sample_weight=w)
    streamed = GaussianClassifier(covariance_type, reg_covar=1e-6)
    # uneven batches, one of them lacking class 2 and one a single row
    order = np.argsort(y == 2, kind="stable")
    X, y, w = X[order], y[order], None if w is None else w[order]
    for part in np.split(np.arange(len(y)), [1, 700, 1500, 2200]):
        streamed.partial_fit(X[part], y[part], classes=[0, 1, 2], sample_weight=None if w is None else w[part])
    for name in ("means_", "covariances_", "precisions_cholesky_", "class_prior_"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(fitted, name), rtol=1e-10, atol=1e-12)
    assert streamed.lower_bound_ == pytest.approx(fitted.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(streamed.predict_proba(X), fitted.predict_proba(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_after_fit_goes_on_from_it(covariance_type):
    rng = np.random.default_rng(1)
    X, y = labeled_data(rng, 2000)
    w = rng.uniform(0.5, 2.0, len(y))
    one = GaussianClassifier(covariance_type, reg_covar=1e-4).fit(X, y, sample_weight=w)
    two = GaussianClassifier(covariance_type, reg_covar=1e-4).fit(X[:1200], y[:1200], sample_weight=w[:1200])
    two.partial_fit(X[1200:], y[1200:], sample_weight=w[1200:])
    np.testing.assert_allclose(two.means_, one.means_, rtol=1e-10)
    np.testing.assert_allclose(two.covariances_, one.covariances_, rtol=1e-9)
    np.testing.assert_allclose(two.class_prior_, one.class_prior_, rtol=1e-12)


def test_merge_moments_matches_numpy():
    """The pairwise merge against the moments of the rows themselves."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(40, 3)) + 5, rng.normal(size=(25, 3)) * 2 - 1
    wa, wb = rng.uniform(0.1, 2, 40), rng.uniform(0.1, 2, 25)

    def moments(x, w):
        mean = w @ x / w.sum()
        return np.array([w.sum()]), mean[None], (((x - mean) * w[:, None]).T @ (x - mean) / w.sum())[None]

    counts, means, cov = merge_moments(*moments(a, wa), *moments(b, wb), "full")
    all_counts, all_means, all_cov = moments(np.vstack([a, b]), np.concatenate([wa, wb]))
    np.testing.assert_allclose(counts, all_counts)
    np.testing.assert_allclose(means, all_means, rtol=1e-13)
    np.testing.assert_allclose(cov, all_cov, rtol=1e-12)
    # 'diag' and 'spherical' are its diagonal and that diagonal's mean
    diag = merge_moments(*moments(a, wa)[:2], np.diagonal(moments(a, wa)[2], axis1=1, axis2=2),
                         *moments(b, wb)[:2], np.diagonal(moments(b, wb)[2], axis1=1, axis2=2), "diag")[2]
    np.testing.assert_allclose(diag, np.diagonal(all_cov, axis1=1, axis2=2), rtol=1e-12)
    spherical = merge_moments(*moments(a, wa)[:2], np.trace(moments(a, wa)[2][0])[None] / 3,
                              *moments(b, wb)[:2], np.trace(moments(b, wb)[2][0])[None] / 3, "spherical")[2]
    np.testing.assert_allclose(spherical, np.trace(all_cov[0]) / 3, rtol=1e-12)


def test_predictions_wait_for_every_class():
    rng = np.random.default_rng(3)
    X, y = labeled_data(rng, 300)
    model = GaussianClassifier(reg_covar=0.0).partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    with pytest.raises(ValueError, match="Class 1 has no rows"):
        model.predict(X)
    one = np.flatnonzero(y == 1)[:1]
    two = np.flatnonzero(y == 2)[:1]
    model.partial_fit(X[np.r_[one, two]], y[np.r_[one, two]])
    with pytest.raises(ValueError, match="collapsed"):
        model.predict(X)
    model.partial_fit(X, y)
    assert model.score(X, y) > 0.5


def test_hostile_batches_change_nothing():
    rng = np.random.default_rng(4)
    X, y = labeled_data(rng, 200)
    model = GaussianClassifier(reg_covar=1e-6)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1, 2])
    before = {k: np.copy(v) for k, v in model.__dict__.items() if k.endswith("_") and not isinstance(v, (list, tuple))}
    moments = model._class_moments
    cases = [
        (lambda: model.partial_fit(X[:, :3], y), "X has 3 features"),
        (lambda: model.partial_fit(X, y, sample_weight=np.r_[np.nan, np.ones(199)]), "NaN"),
        (lambda: model.partial_fit(X, y, sample_weight=np.r_[-1.0, np.ones(199)]), "[Nn]egative"),
        (lambda: model.partial_fit(X, np.where(y == 2, 7, y)), r"label\(s\) \[7\]"),
        (lambda: model.partial_fit(X, y, classes=[0, 1]), "not the same as on last call"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
        assert model._class_moments is moments
        for name, value in before.items():
            np.testing.assert_array_equal(getattr(model, name), value)
