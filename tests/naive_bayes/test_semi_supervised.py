"""Semi-supervised GaussianClassifier and GaussianNB: rows of y marked
`unlabeled` have latent classes, fit by EM with the labeled rows' classes
fixed. Checked against a plain NumPy EM (N x K responsibilities), for the
monotone log-likelihood, on the 1%-labeled experiment, and on bad input."""
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from lvmfast import GaussianClassifier, GaussianNB
from lvmfast.cli import TWO_CLASS_MODEL, _two_class_draws

# The two-class model of the experiment is lvmfast's demo model
# (lvmfast.cli.TWO_CLASS_MODEL): priors 0.6 / 0.4, classes +1 and -1
# overlapping (about 2.6% Bayes error):
#   +1: prior 0.6, mean (2, 0),  covariance [[1.0, 0.8], [0.8, 2.0]]
#   -1: prior 0.4, mean (-2, 0), covariance [[2.0, 0.6], [0.6, 1.0]]


def two_class_data(n_samples, seed):
    return _two_class_draws(np.random.default_rng(seed), n_samples)


def bayes_rule(X):
    scores = [np.log(part["prior"]) + multivariate_normal(part["mean"], part["cov"]).logpdf(X)
              for part in TWO_CLASS_MODEL.values()]
    return np.where(scores[0] > scores[1], 1, -1)


# ---------------------------------------------------------------------------
# A plain NumPy reference: the EM of the docstring, with N x K arrays.


def reference_m_step(X, resp, covariance_type, reg_covar, priors, epsilon):
    """Weighted responsibilities resp (N x K, w * r) -> priors, means and
    covariances (shaped as covariance_type; 'nb': diagonal + epsilon)."""
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    full = np.stack([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) / nk[k] for k in range(len(nk))])
    d = X.shape[1]
    if covariance_type == "full":
        cov = full + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        cov = np.einsum("k,kij->ij", nk, full) / nk.sum() + reg_covar * np.eye(d)
    elif covariance_type == "spherical":
        cov = np.diagonal(full, axis1=1, axis2=2).mean(axis=1) + reg_covar
    else:
        cov = np.diagonal(full, axis1=1, axis2=2) + (epsilon if covariance_type == "nb" else reg_covar)
    prior = nk / nk.sum() if priors is None else np.asarray(priors, dtype=float)
    return prior, means, cov


def reference_log_joint(X, prior, means, cov, covariance_type):
    """log(prior_k N(x | means_k, cov_k)), N x K."""
    columns = []
    for k in range(len(prior)):
        if covariance_type == "full":
            c = cov[k]
        elif covariance_type == "tied":
            c = cov
        elif covariance_type == "spherical":
            c = cov[k] * np.eye(X.shape[1])
        else:
            c = np.diag(cov[k])
        columns.append(np.log(prior[k]) + multivariate_normal(means[k], c).logpdf(X))
    return np.column_stack(columns)


def reference_em(X, y, marker, weights, covariance_type, n_iter, reg_covar=0.0, priors=None, var_smoothing=0.0):
    """n_iter EM iterations from the labeled rows' model; returns the last
    (prior, means, cov) and the weighted log-likelihood before each M-step."""
    labeled = y != marker
    classes = np.unique(y[labeled])
    fixed = (y[labeled, None] == classes).astype(float) * weights[labeled, None]
    epsilon = var_smoothing * X.var(axis=0).max()
    resp = np.zeros((len(X), len(classes)))
    resp[labeled] = fixed
    params = reference_m_step(X, resp, covariance_type, reg_covar, priors, epsilon)
    log_likelihoods = []
    kind = "diag" if covariance_type == "nb" else covariance_type
    for _ in range(n_iter):
        joint = reference_log_joint(X, *params, kind)
        log_px = logsumexp(joint[~labeled], axis=1)
        log_likelihoods.append(weights[~labeled] @ log_px + (fixed * joint[labeled]).sum())
        resp[~labeled] = np.exp(joint[~labeled] - log_px[:, None]) * weights[~labeled, None]
        params = reference_m_step(X, resp, covariance_type, reg_covar, priors, epsilon)
    return params, np.array(log_likelihoods)


def small_problem(seed=0, n_samples=900, labeled_fraction=0.3, marker=-1):
    """Three overlapping classes in 3-D, labels 0, 1, 2, a share of the
    rows marked unlabeled."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n_samples)
    centers = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, -1.0], [-1.0, 2.5, 1.0]])
    scales = np.array([[1.0, 0.5, 1.5], [0.7, 1.2, 1.0], [1.3, 0.8, 0.6]])
    mixing = np.array([[1.0, 0.3, 0.0], [0.0, 1.0, -0.4], [0.2, 0.0, 1.0]])
    X = (centers[y] + rng.standard_normal((n_samples, 3)) * scales[y] @ mixing) + [5.0, -3.0, 1.0]
    partial = np.where(rng.random(n_samples) < labeled_fraction, y, marker)
    return X, y, partial


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "nb"])
def test_matches_numpy_reference_em(covariance_type, weighted):
    X, _, partial = small_problem()
    weights = np.random.default_rng(1).uniform(0.2, 3.0, len(X)) if weighted else np.ones(len(X))
    n_iter = 6
    if covariance_type == "nb":
        model = GaussianNB(unlabeled=-1, max_iter=n_iter, tol=0.0)
        ref_kwargs = dict(var_smoothing=1e-9)
    else:
        model = GaussianClassifier(covariance_type, unlabeled=-1, max_iter=n_iter, tol=0.0, reg_covar=1e-6)
        ref_kwargs = dict(reg_covar=1e-6)
    fit_quietly(model, X, partial, sample_weight=weights if weighted else None)
    (prior, means, cov), log_likelihoods = reference_em(X, partial, -1, weights, covariance_type, n_iter, **ref_kwargs)
    assert model.n_iter_ == n_iter and not model.converged_
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    if covariance_type == "nb":
        fitted_means, fitted_cov = model.theta_, model.var_
        np.testing.assert_allclose(model.class_count_, prior * weights.sum(), rtol=1e-8)  # in the caller's units
    else:
        fitted_means, fitted_cov = model.means_, model.covariances_
    np.testing.assert_allclose(model.class_prior_, prior, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fitted_means, means, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(fitted_cov, cov, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.array(model.lower_bounds_) * weights.sum(), log_likelihoods, rtol=1e-9)
    assert model.lower_bound_ == model.lower_bounds_[-1]
    # the predictions are those of the fitted parameters
    joint = reference_log_joint(X, prior, means, cov, "diag" if covariance_type == "nb" else covariance_type)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), joint, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("make", [
    lambda **kw: GaussianClassifier("full", **kw), lambda **kw: GaussianClassifier("tied", **kw),
    lambda **kw: GaussianNB(**kw),
])
def test_log_likelihood_never_decreases(make):
    X, y = two_class_data(20000, seed=3)
    partial = np.where(np.random.default_rng(4).random(len(y)) < 0.01, y, 0)
    model = fit_quietly(make(unlabeled=0, max_iter=60, tol=0.0), X, partial)
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) == 60
    assert (np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])).all(), np.diff(bounds).min()
    assert bounds[-1] > bounds[0]


def test_one_percent_labeled_recovers_the_supervised_fit():
    """The judging experiment: 100k rows of the two-class model, 1% labeled
    (the rest marked 0, since the classes are -1 and +1)."""
    X, y = two_class_data(100_000, seed=0)
    X_test, y_test = two_class_data(100_000, seed=1)
    labeled = np.random.default_rng(2).random(len(y)) < 0.01
    supervised = GaussianClassifier("full").fit(X, y)
    semi = GaussianClassifier("full", unlabeled=0).fit(X, np.where(labeled, y, 0))
    alone = GaussianClassifier("full").fit(X[labeled], y[labeled])
    np.testing.assert_array_equal(semi.classes_, [-1, 1])

    def errors(model):
        means = np.abs(model.means_ - supervised.means_).max()
        cov = max(
            np.linalg.norm(c - s) / np.linalg.norm(s) for c, s in zip(model.covariances_, supervised.covariances_)
        )
        accuracy = model.score(X_test, y_test)
        off_bayes = (model.predict(X_test) != bayes_rule(X_test)).mean()
        return means, cov, accuracy, off_bayes

    semi_means, semi_cov, semi_accuracy, semi_off = errors(semi)
    alone_means, alone_cov, alone_accuracy, alone_off = errors(alone)
    accuracy = supervised.score(X_test, y_test)
    print(
        f"\n1% labeled, {semi.n_iter_} EM iterations: means within {semi_means:.4f} (labeled alone "
        f"{alone_means:.4f}), covariances within {100 * semi_cov:.2f}% (alone {100 * alone_cov:.2f}%); test "
        f"accuracy semi {100 * semi_accuracy:.3f}%, supervised {100 * accuracy:.3f}%, labeled alone "
        f"{100 * alone_accuracy:.3f}%; predictions off the Bayes rule: semi {100 * semi_off:.3f}%, "
        f"labeled alone {100 * alone_off:.3f}%"
    )
    assert semi_means < 0.02 and semi_cov < 0.02
    assert abs(semi_accuracy - accuracy) < 0.01
    # what the unlabeled rows bring: the labeled rows alone miss both bounds
    # and stray further from the Bayes rule (their accuracy is lower too, by
    # a few test rows only: the classes' overlap, 2.6% Bayes error, dominates)
    assert alone_means > 0.02 and alone_cov > 0.02
    assert alone_off > 2 * semi_off


@pytest.mark.parametrize("make", [lambda **kw: GaussianClassifier("full", **kw), lambda **kw: GaussianNB(**kw)])
def test_every_row_labeled_is_the_supervised_fit(make):
    X, y, _ = small_problem(labeled_fraction=1.0)
    plain, marked = make().fit(X, y), make(unlabeled=-1).fit(X, y)
    for name, value in vars(plain).items():
        if name.endswith("_") and not name.startswith("_"):
            np.testing.assert_array_equal(getattr(marked, name), value, err_msg=name)
    assert marked.n_iter_ == 1 and marked.converged_ and marked.lower_bounds_ == [marked.lower_bound_]
    # lower_bound_: the mean log p(x, y) of the rows under the fitted model
    params = (plain.class_prior_, plain.theta_, plain.var_) if isinstance(plain, GaussianNB) else (
        plain.class_prior_, plain.means_, plain.covariances_)
    joint = reference_log_joint(X, *params, "diag" if isinstance(plain, GaussianNB) else "full")
    assert plain.lower_bound_ == pytest.approx(joint[np.arange(len(y)), y].mean(), rel=1e-10)


@pytest.mark.parametrize("make", [lambda **kw: GaussianClassifier("full", **kw), lambda **kw: GaussianNB(**kw)])
def test_no_iteration_is_the_labeled_rows_model(make):
    X, y, partial = small_problem()
    labeled = partial != -1
    alone = make().fit(X[labeled], y[labeled])
    start = make(unlabeled=-1, max_iter=0).fit(X, partial)
    names = ("theta_", "var_", "class_prior_") if isinstance(alone, GaussianNB) else ("means_", "covariances_", "class_prior_")
    for name in names:
        np.testing.assert_allclose(getattr(start, name), getattr(alone, name), rtol=1e-9, atol=1e-12, err_msg=name)
    assert start.n_iter_ == 0
    # lower_bound_ is the likelihood of all rows under that model
    nb = isinstance(alone, GaussianNB)
    _, bounds = reference_em(X, partial, -1, np.ones(len(X)), "nb" if nb else "full", 1, var_smoothing=1e-9 if nb else 0.0)
    assert start.lower_bound_ == pytest.approx(bounds[0] / len(X), rel=1e-9)


@pytest.mark.parametrize("make", [lambda **kw: GaussianClassifier("full", **kw), lambda **kw: GaussianNB(**kw)])
def test_float32_kept_and_threads_agree(make):
    X, _, partial = small_problem(n_samples=3000, labeled_fraction=0.05)
    single = fit_quietly(make(unlabeled=-1), X.astype(np.float32), partial)
    double = fit_quietly(make(unlabeled=-1), X, partial)
    name = "theta_" if isinstance(single, GaussianNB) else "means_"
    assert getattr(single, name).dtype == np.float32 and single.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(getattr(single, name), getattr(double, name), rtol=1e-4, atol=1e-4)
    runs = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            runs.append(fit_quietly(make(unlabeled=-1), X, partial).predict_proba(X))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_string_labels_with_a_string_marker():
    X, y, partial = small_problem()
    names = np.array(["a", "b", "c", "?"])
    model = GaussianClassifier(unlabeled="?").fit(X, names[partial])
    reference = GaussianClassifier(unlabeled=-1).fit(X, partial)
    np.testing.assert_array_equal(model.classes_, ["a", "b", "c"])
    np.testing.assert_array_equal(model.means_, reference.means_)
    as_objects = GaussianClassifier(unlabeled="?").fit(X, names[partial].astype(object))
    np.testing.assert_array_equal(as_objects.means_, reference.means_)


def test_convergence_warning_when_max_iter_is_reached():
    X, _, partial = small_problem()
    with pytest.warns(ConvergenceWarning, match=r"did not converge in max_iter=1 iterations"):
        model = GaussianClassifier(unlabeled=-1, max_iter=1, tol=0.0).fit(X, partial)
    assert model.n_iter_ == 1 and not model.converged_


# ---------------------------------------------------------------------------
# Bad input: clear errors, the estimator unchanged


def fitted_state(model):
    """The estimator's attributes, arrays (also inside tuples) copied."""
    import copy

    return copy.deepcopy(vars(model))


def assert_unchanged(model, state):
    assert set(vars(model)) == set(state)
    for name, value in state.items():
        now = getattr(model, name)
        for a, b in zip(now, value) if isinstance(value, tuple) else [(now, value)]:
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("make", [lambda **kw: GaussianClassifier("full", **kw), lambda **kw: GaussianNB(**kw)])
def test_bad_input_is_refused_and_changes_nothing(make):
    X, y, partial = small_problem()
    strings = np.array(["a", "b", "-1"])[y]
    mixed = strings.astype(object)
    mixed[partial == -1] = -1  # the int -1 among string labels
    cases = [
        (make(unlabeled=-1), np.full(len(X), -1), r"Every row of y is unlabeled \(marked unlabeled=-1\).*GaussianMixture"),
        (make(unlabeled=-1), strings, r"unlabeled=-1 cannot mark rows of y, which holds string labels \('-1' is among them: pass unlabeled='-1'"),
        (make(unlabeled=-1), mixed, "unlabeled=-1 cannot mark rows of y, which holds string labels"),
        # a string marker with numbers (as unlabeled='-1' with the int -1 would be a class, silently)
        (make(unlabeled="?"), partial, r"unlabeled='\?' cannot mark rows of y, which holds numeric labels"),
        (make(unlabeled=-1), np.where(partial == -1, -1, 0), r"at least 2 classes; y has 1 class among its labeled rows \(the rest marked unlabeled=-1\): \[0\]"),
        (make(unlabeled=-1, priors=[0.0, 0.5, 0.5]), partial, r"priors gives class 0 probability 0"),
    ]
    for model, labels, message in cases:
        X_before = X.copy()
        model.fit(X, strings if isinstance(model.unlabeled, str) else y)  # a fitted state to keep
        state = fitted_state(model)
        with pytest.raises(ValueError, match=message):
            model.fit(X, labels)
        assert_unchanged(model, state)
        np.testing.assert_array_equal(X, X_before)
    for params in ({"max_iter": -1}, {"tol": -1.0}, {"unlabeled": 1.5}, {"unlabeled": True}, {"max_iter": 2.0}):
        with pytest.raises(InvalidParameterError, match=next(iter(params))):
            make(**params).fit(X, partial)


def test_partial_fit_takes_labeled_rows_only():
    X, y, partial = small_problem()
    nb = GaussianNB(unlabeled=-1)
    with pytest.raises(ValueError, match=r"holds the unlabeled marker -1, which is never a class"):
        nb.partial_fit(X, y, classes=[-1, 0, 1, 2])
    nb.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    state = fitted_state(nb)
    with pytest.raises(ValueError, match=r"partial_fit takes labeled rows only, but \d+ row\(s\) of y are marked unlabeled=-1"):
        nb.partial_fit(X, partial)
    assert_unchanged(nb, state)
    # a semi-supervised fit goes on with labeled batches, and forgets its EM summary
    fit_quietly(nb, X, partial)
    assert nb.n_iter_ > 0
    nb.partial_fit(X[:50], y[:50])
    assert not hasattr(nb, "n_iter_") and np.isfinite(nb.theta_).all()


@pytest.mark.parametrize("make", [lambda **kw: GaussianClassifier("full", **kw), lambda **kw: GaussianNB(**kw)])
def test_integer_weights_are_repeated_rows(make):
    X, _, partial = small_problem(seed=5, n_samples=600)
    counts = np.random.default_rng(6).integers(1, 4, len(X))
    weighted = fit_quietly(make(unlabeled=-1, max_iter=8, tol=0.0), X, partial, sample_weight=counts)
    repeated = fit_quietly(make(unlabeled=-1, max_iter=8, tol=0.0), np.repeat(X, counts, axis=0), np.repeat(partial, counts))
    names = ("theta_", "class_prior_", "class_count_") if isinstance(weighted, GaussianNB) else (
        "means_", "covariances_", "class_prior_")
    for name in names:
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-9)


def test_far_from_the_origin():
    # the passes work around the data mean: a translation moves the means only
    X, _, partial = small_problem(seed=7)
    near = fit_quietly(GaussianClassifier("full", unlabeled=-1, max_iter=8, tol=0.0), X, partial)
    far = fit_quietly(GaussianClassifier("full", unlabeled=-1, max_iter=8, tol=0.0), X + 1e5, partial)
    np.testing.assert_allclose(far.means_ - 1e5, near.means_, atol=1e-8)
    np.testing.assert_allclose(far.covariances_, near.covariances_, rtol=1e-6)
    np.testing.assert_array_equal(far.predict(X + 1e5), near.predict(X))
