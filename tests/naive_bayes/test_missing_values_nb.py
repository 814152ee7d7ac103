"""GaussianNB and GaussianClassifier on X with missing entries
(allow_missing=True), against NumPy references written from the formulas."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lvmfast import GaussianClassifier, GaussianNB


def class_data(rng, n=300, d=4, fraction=0.2):
    y = rng.integers(0, 3, n)
    centers = np.array([[0.0] * d, [3.0] + [1.0] * (d - 1), [0.0, 3.0] + [2.0] * (d - 2)])
    mixing = np.eye(d) + 0.4 * rng.normal(size=(d, d))
    X = centers[y] + rng.normal(size=(n, d)) @ mixing + 20.0
    mask = rng.random((n, d)) < fraction
    mask[mask.all(axis=1), 0] = False
    X[mask] = np.nan
    return X, y


def observed_log_density(x, mean, cov):
    o = ~np.isnan(x)
    s = cov[np.ix_(o, o)]
    diff = x[o] - mean[o]
    return -0.5 * (o.sum() * np.log(2 * np.pi) + np.linalg.slogdet(s)[1] + diff @ np.linalg.solve(s, diff))


def reference_joint(X, prior, means, covs):
    return np.array([[np.log(p) + observed_log_density(x, m, c) for p, m, c in zip(prior, means, covs)] for x in X])


def reference_diagonal(X, y, w, n_classes, spherical=False):
    """Per class and feature, the weighted mean and biased variance of the
    observed entries ('spherical': the variance pooled over all of them)."""
    observed = ~np.isnan(X)
    means, variances = [], []
    for k in range(n_classes):
        rows = y == k
        ww = w[rows, None] * observed[rows]
        xk = np.where(observed[rows], X[rows], 0.0)
        mean = (ww * xk).sum(axis=0) / ww.sum(axis=0)
        squares = (ww * np.where(observed[rows], xk - mean, 0.0) ** 2)
        means.append(mean)
        variances.append(squares.sum() / ww.sum() if spherical else squares.sum(axis=0) / ww.sum(axis=0))
    return np.array(means), np.array(variances)


def reference_class_em(X, y, w, prior, means, covs, tied, reg_covar, n_iter):
    """EM over the missing entries with known classes; returns the means,
    covariances and the mean weighted log p(x_o, y) before each step."""
    n, d = X.shape
    bounds = []
    for _ in range(n_iter):
        joint = reference_joint(X, prior, means, covs)
        bounds.append(float(w @ joint[np.arange(n), y] / w.sum()))
        filled, corrections = X.copy(), np.zeros((n, d, d))
        for i, x in enumerate(X):
            o, k = ~np.isnan(x), y[i]
            if (~o).any():
                gain = covs[k][np.ix_(~o, o)] @ np.linalg.inv(covs[k][np.ix_(o, o)])
                filled[i, ~o] = means[k][~o] + gain @ (x[o] - means[k][o])
                corrections[i][np.ix_(~o, ~o)] = covs[k][np.ix_(~o, ~o)] - gain @ covs[k][np.ix_(o, ~o)]
        counts = np.bincount(y, weights=w)
        means = np.array([w[y == k] @ filled[y == k] / counts[k] for k in range(len(counts))])
        scatter = np.array([
            (w[y == k, None] * (filled[y == k] - means[k])).T @ (filled[y == k] - means[k])
            + np.einsum("i,ide->de", w[y == k], corrections[y == k]) for k in range(len(counts))
        ])
        if tied:
            covs = np.array([scatter.sum(axis=0) / counts.sum() + reg_covar * np.eye(d)] * len(counts))
        else:
            covs = scatter / counts[:, None, None] + reg_covar * np.eye(d)
    return means, covs, bounds


@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_gaussian_nb_matches_reference(fraction):
    rng = np.random.default_rng(4)
    X, y = class_data(rng, fraction=fraction)
    w = rng.uniform(0.2, 3.0, len(y))
    nb = GaussianNB(allow_missing=True).fit(X, y, sample_weight=w)
    means, variances = reference_diagonal(X, y, w, 3)
    epsilon = 1e-9 * np.nanvar(X, axis=0).max()
    np.testing.assert_allclose(nb.theta_, means, rtol=1e-10)
    np.testing.assert_allclose(nb.var_, variances + epsilon, rtol=1e-9)
    np.testing.assert_allclose(nb.epsilon_, epsilon, rtol=1e-9)
    np.testing.assert_allclose(nb.class_count_, np.bincount(y, weights=w), rtol=1e-12)
    prior = np.bincount(y, weights=w) / w.sum()
    joint = reference_joint(X, prior, means, [np.diag(v + epsilon) for v in variances])
    np.testing.assert_allclose(nb.predict_joint_log_proba(X), joint, rtol=1e-9)
    lse = np.log(np.exp(joint).sum(axis=1))
    np.testing.assert_allclose(nb.predict_proba(X), np.exp(joint - lse[:, None]), atol=1e-10)
    np.testing.assert_array_equal(nb.predict(X), joint.argmax(axis=1))


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_diagonal_classifier_closed_form(covariance_type):
    rng = np.random.default_rng(5)
    X, y = class_data(rng, fraction=0.3)
    w = rng.uniform(0.2, 3.0, len(y))
    model = GaussianClassifier(covariance_type, allow_missing=True, reg_covar=1e-6).fit(X, y, sample_weight=w)
    means, variances = reference_diagonal(X, y, w, 3, spherical=covariance_type == "spherical")
    np.testing.assert_allclose(model.means_, means, rtol=1e-10)
    np.testing.assert_allclose(model.covariances_, variances + 1e-6, rtol=1e-9)
    d = X.shape[1]
    covs = [np.diag(v) if covariance_type == "diag" else v * np.eye(d) for v in variances + 1e-6]
    joint = reference_joint(X, np.bincount(y, weights=w) / w.sum(), means, covs)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), joint, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_full_classifier_em_matches_reference(covariance_type, fraction):
    rng = np.random.default_rng(6)
    X, y = class_data(rng, fraction=fraction)
    w = rng.uniform(0.2, 3.0, len(y))
    n_iter = 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianClassifier(covariance_type, allow_missing=True, reg_covar=1e-6, max_iter=n_iter,
                                   tol=0.0).fit(X, y, sample_weight=w)
    # the start: each class's 'diag' model ('tied': the variances pooled)
    means, variances = reference_diagonal(X, y, w, 3)
    counts = np.bincount(y, weights=w)
    if covariance_type == "tied":
        covs = np.array([np.diag(counts @ (variances + 1e-6) / counts.sum())] * 3)
    else:
        covs = np.array([np.diag(v + 1e-6) for v in variances])
    means, covs, bounds = reference_class_em(X, y, w, counts / counts.sum(), means, covs, covariance_type == "tied",
                                             1e-6, n_iter)
    np.testing.assert_allclose(model.means_, means, rtol=1e-9)
    np.testing.assert_allclose(model.covariances_, covs[0] if covariance_type == "tied" else covs, rtol=1e-8,
                               atol=1e-10)
    np.testing.assert_allclose(model.lower_bounds_, bounds, rtol=1e-9)
    assert np.all(np.diff(model.lower_bounds_) >= 0)
    joint = reference_joint(X, counts / counts.sum(), means, covs)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), joint, rtol=1e-9)


@pytest.mark.parametrize("make", [lambda **k: GaussianNB(**k)] + [
    (lambda ct: lambda **k: GaussianClassifier(ct, **k))(ct) for ct in ("full", "tied", "diag", "spherical")])
def test_without_nan_bit_identical_and_default_refuses(make):
    rng = np.random.default_rng(0)
    X, y = class_data(rng, fraction=0.0)
    a, b = make().fit(X, y), make(allow_missing=True).fit(X, y)
    for name in ("theta_", "var_", "means_", "covariances_", "precisions_cholesky_", "class_prior_"):
        if hasattr(a, name):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    X_missing, _ = class_data(rng, fraction=0.2)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        make().fit(X_missing, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        a.predict(X_missing)
    assert make().__sklearn_tags__().input_tags.allow_nan is False
    assert make(allow_missing=True).__sklearn_tags__().input_tags.allow_nan is True


@pytest.mark.parametrize("make", [lambda **k: GaussianNB(**k), lambda **k: GaussianClassifier("full", **k)])
def test_hostile_inputs_leave_classifier_unchanged(make):
    rng = np.random.default_rng(1)
    X, y = class_data(rng)
    model = make(allow_missing=True).fit(X, y)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(model).items()}
    empty_row = X.copy()
    empty_row[7] = np.nan
    with pytest.raises(ValueError, match=r"row\(s\) with every feature missing.*index 7"):
        model.fit(empty_row, y)
    empty_column = np.nan_to_num(X, nan=20.0)
    empty_column[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"feature\(s\) with every entry missing"):
        model.fit(empty_column, y)
    weights = np.ones(len(y))
    weights[0] = np.nan
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match="unlabeled"):
        make(allow_missing=True, unlabeled=-1).fit(X, np.where(np.arange(len(y)) % 5 == 0, -1, y))
    for key, value in before.items():
        np.testing.assert_equal(getattr(model, key), value)
    with pytest.raises(ValueError, match="every feature missing"):
        model.predict(empty_row)


def test_nb_partial_fit_refuses_missing_rows():
    X, y = class_data(np.random.default_rng(2))
    with pytest.raises(ValueError, match="partial_fit takes complete rows only"):
        GaussianNB(allow_missing=True).partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("make", [lambda: GaussianNB(allow_missing=True), lambda: GaussianClassifier(allow_missing=True),
                                  lambda: GaussianClassifier("tied", allow_missing=True)])
def test_accuracy_not_below_mean_imputation(make):
    """30% missing completely at random: accuracy on held-out rows (with
    their own missing entries) at least that of SimpleImputer + the same
    classifier."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(9)
    X, y = class_data(rng, n=4000, d=6, fraction=0.3)
    train, test = slice(0, 3000), slice(3000, None)
    ours = make().fit(X[train], y[train]).score(X[test], y[test])
    base = make()
    base.set_params(allow_missing=False)
    imputed = make_pipeline(SimpleImputer(), base).fit(X[train], y[train]).score(X[test], y[test])
    assert ours >= imputed


@pytest.mark.parametrize("estimator", [GaussianNB(allow_missing=True),
                                       GaussianClassifier(reg_covar=1e-6, allow_missing=True)])
def test_check_estimator_with_allow_missing(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(estimator)
