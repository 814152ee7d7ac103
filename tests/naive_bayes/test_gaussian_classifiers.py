"""GaussianNB against scikit-learn and GaussianClassifier against NumPy, SciPy
and LinearDiscriminantAnalysis."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.naive_bayes import GaussianNB as SKGaussianNB
from sklearn.utils.multiclass import check_classification_targets
from threadpoolctl import threadpool_limits

from lvmfast import GaussianClassifier, GaussianNB

LOADERS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer, "digits": load_digits}


def two_class_data(n_samples, seed=0, labels=(-1, 1)):
    """The two-class model of the issue: p(y=+1) = 0.6."""
    rng = np.random.default_rng(seed)
    positive = rng.random(n_samples) < 0.6
    X = np.empty((n_samples, 2))
    X[positive] = rng.multivariate_normal([2, 0], [[1.0, 0.8], [0.8, 2.0]], positive.sum())
    X[~positive] = rng.multivariate_normal([-2, 0], [[2.0, 0.6], [0.6, 1.0]], (~positive).sum())
    return X, np.where(positive, labels[1], labels[0])


def assert_close(a, b, rtol=1e-9):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_gaussian_nb_matches_sklearn(name):
    X, y = LOADERS[name](return_X_y=True)
    ours, theirs = GaussianNB().fit(X, y), SKGaussianNB().fit(X, y)
    assert_close(ours.theta_, theirs.theta_)
    assert_close(ours.var_, theirs.var_)
    assert_close(ours.class_prior_, theirs.class_prior_)
    assert_close(ours.class_count_, theirs.class_count_)
    assert ours.epsilon_ == pytest.approx(theirs.epsilon_, rel=1e-9)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-9)
    assert_close(ours.predict_joint_log_proba(X), theirs.predict_joint_log_proba(X))
    assert ours.score(X, y) == theirs.score(X, y)


def test_gaussian_nb_partial_fit_in_chunks_equals_fit():
    X, y = load_digits(return_X_y=True)
    whole = GaussianNB().fit(X, y)
    chunked = GaussianNB()
    for part in np.array_split(np.arange(len(X)), 5):
        chunked.partial_fit(X[part], y[part], classes=np.unique(y))
    assert_close(chunked.theta_, whole.theta_)
    assert_close(chunked.var_, whole.var_)
    assert_close(chunked.class_count_, whole.class_count_)
    assert chunked.epsilon_ == pytest.approx(whole.epsilon_, rel=1e-9)
    np.testing.assert_array_equal(chunked.predict(X), whole.predict(X))


def test_gaussian_nb_sample_weight():
    X, y = load_wine(return_X_y=True)
    counts = np.random.default_rng(0).integers(1, 4, len(X))
    weighted = GaussianNB().fit(X, y, sample_weight=counts)
    repeated = GaussianNB().fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    assert_close(weighted.theta_, repeated.theta_)
    # epsilon_ follows scikit-learn: var_smoothing times the unweighted variance
    assert_close(weighted.var_ - weighted.epsilon_, repeated.var_ - repeated.epsilon_, rtol=1e-8)
    assert_close(weighted.class_prior_, repeated.class_prior_)
    theirs = SKGaussianNB().fit(X, y, sample_weight=counts.astype(float))
    assert_close(weighted.theta_, theirs.theta_)
    assert_close(weighted.var_, theirs.var_)


@pytest.mark.parametrize("scale", [1e-10, 1e10])
def test_gaussian_nb_scale_invariance(scale):
    X, y = load_breast_cancer(return_X_y=True)
    np.testing.assert_array_equal(GaussianNB().fit(X * scale, y).predict(X * scale), GaussianNB().fit(X, y).predict(X))


def test_gaussian_nb_string_labels_and_priors():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    nb = GaussianNB(priors=[0.2, 0.3, 0.5]).fit(X, names)
    np.testing.assert_array_equal(nb.classes_, ["setosa", "versicolor", "virginica"])
    np.testing.assert_array_equal(nb.class_prior_, [0.2, 0.3, 0.5])
    theirs = SKGaussianNB(priors=[0.2, 0.3, 0.5]).fit(X, names)
    np.testing.assert_array_equal(nb.predict(X), theirs.predict(X))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_classifier_estimates(covariance_type):
    X, y = two_class_data(20000)
    clf = GaussianClassifier(covariance_type).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [-1, 1])
    for k, label in enumerate(clf.classes_):
        part = X[y == label]
        np.testing.assert_allclose(clf.means_[k], part.mean(axis=0), rtol=1e-12, atol=1e-12)
        biased = np.cov(part.T, bias=True)
        expected = {
            "full": biased,
            "diag": np.diag(biased),
            "spherical": np.diag(biased).mean(),
        }.get(covariance_type)
        if expected is not None:
            np.testing.assert_allclose(clf.covariances_[k], expected, rtol=1e-10)
    if covariance_type == "tied":
        pooled = sum(np.cov(X[y == c].T, bias=True) * (y == c).sum() for c in clf.classes_) / len(X)
        np.testing.assert_allclose(clf.covariances_, pooled, rtol=1e-10)
    np.testing.assert_allclose(clf.class_prior_, [(y == -1).mean(), (y == 1).mean()], rtol=1e-12)


def test_gaussian_classifier_full_is_the_bayes_rule():
    X, y = two_class_data(20000)
    clf = GaussianClassifier("full").fit(X, y)
    joint = np.column_stack([
        np.log(clf.class_prior_[k]) + multivariate_normal(clf.means_[k], clf.covariances_[k]).logpdf(X)
        for k in range(2)
    ])
    np.testing.assert_allclose(clf.predict_joint_log_proba(X), joint, rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[joint.argmax(axis=1)])
    proba = np.exp(joint - np.logaddexp(joint[:, 0], joint[:, 1])[:, None])
    np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-9, atol=1e-12)
    # and it is close to the Bayes rule of the true model
    true = np.column_stack([
        np.log(0.4) + multivariate_normal([-2, 0], [[2.0, 0.6], [0.6, 1.0]]).logpdf(X),
        np.log(0.6) + multivariate_normal([2, 0], [[1.0, 0.8], [0.8, 2.0]]).logpdf(X),
    ])
    assert (clf.predict(X) == clf.classes_[true.argmax(axis=1)]).mean() > 0.99


def test_gaussian_classifier_tied_is_lda():
    X, y = two_class_data(5000)
    ours = GaussianClassifier("tied").fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)  # the same pooled, biased covariance
    np.testing.assert_allclose(lda.covariance_, ours.covariances_, rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), lda.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), lda.predict_proba(X), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("estimator", [GaussianNB(), GaussianClassifier("full")])
def test_float32_and_threads(estimator):
    X, y = two_class_data(40000)
    fitted = estimator.fit(X.astype(np.float32), y)
    params = fitted.theta_ if isinstance(estimator, GaussianNB) else fitted.means_
    assert params.dtype == np.float32 and fitted.predict_proba(X.astype(np.float32)).dtype == np.float32
    runs = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            runs.append(estimator.fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_singular_class_covariance_suggests_reg_covar():
    X = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [3.0, 1.0]])  # 'a': one point
    y = np.array(["a", "a", "a", "b", "b", "b"])
    with pytest.raises(ValueError, match=r"Class 'a' collapsed.*Increase reg_covar"):
        GaussianClassifier("full").fit(X, y)
    assert GaussianClassifier("full", reg_covar=1e-3).fit(X, y).predict(X).shape == (6,)


@pytest.mark.parametrize("make", [GaussianNB, lambda **kw: GaussianClassifier("full", **kw)])
def test_bad_input(make):
    X, y = two_class_data(100)
    before = X.copy()
    with pytest.raises(ValueError, match="at least 2 classes"):
        make().fit(X, np.zeros(100))
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[100, 99\]"):
        make().fit(X, y[:99])
    with pytest.raises(ValueError, match="sum of the priors should be 1"):
        make(priors=[0.5, 0.6]).fit(X, y)
    with pytest.raises(ValueError, match="Number of priors must match number of classes"):
        make(priors=[1.0]).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        make().fit(X, np.linspace(0, 1, 100))
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make().fit(X_nan, y)
    np.testing.assert_array_equal(X, before)


NUMERIC_LABELS = {
    "continuous": np.linspace(0, 1, 100),
    "nan": np.where(np.arange(100) % 2, 1.0, np.nan),
    "inf": np.where(np.arange(100) % 2, 1.0, np.inf),
    "integral floats": np.arange(100) % 3 * 1.0,
    "bools": np.arange(100) % 2 == 0,
    "small ints": np.arange(100, dtype=np.int8) % 5,
    "negative ints": -(np.arange(100) % 4),
}


@pytest.mark.parametrize("kind", sorted(NUMERIC_LABELS))
@pytest.mark.parametrize("make", [GaussianNB, lambda **kw: GaussianClassifier("diag", **kw)])
def test_numeric_label_checks_match_sklearn(kind, make):
    """Numeric labels' target type is judged on their distinct values (no
    hash pass over all of y): the same acceptance and the same error as
    scikit-learn's check_classification_targets on the whole of y."""
    X, _ = two_class_data(100)
    y = NUMERIC_LABELS[kind]
    try:
        check_classification_targets(y)
        expected = None
    except ValueError as exc:
        expected = str(exc)
    if expected is None:
        np.testing.assert_array_equal(make().fit(X, y).classes_, np.unique(y))
    else:
        with pytest.raises(ValueError) as info:
            make().fit(X, y)
        assert expected in str(info.value)


def test_partial_fit_errors():
    X, y = two_class_data(100)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        GaussianNB().partial_fit(X, y)
    nb = GaussianNB().partial_fit(X, y, classes=[-1, 1])
    with pytest.raises(ValueError, match=r"label\(s\) \[7\] in y do not exist"):
        nb.partial_fit(X[:3], [1, -1, 7])
    with pytest.raises(ValueError, match="not the same as on last call"):
        nb.partial_fit(X, y, classes=[-1, 1, 2])


@pytest.mark.parametrize("estimator", [GaussianNB(), GaussianClassifier(reg_covar=1e-6)])
def test_check_estimator(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(estimator)


@pytest.mark.parametrize("y", [
    np.array([3, -2, 3, 7, -2, 0]),
    np.array([5, 5, 1], dtype=np.uint8),
    np.array([0, 10**12, 5]),  # a range far wider than y: sorted, not counted
    np.array(["b", "a", "b"]),
    np.array([2]),
])
def test_encode_is_numpys_unique(y):
    from lvmfast.naive_bayes._gaussian import _encode

    classes, labels = _encode(y)
    expected_classes, expected_labels = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(classes, expected_classes)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(labels, expected_labels)


def test_gaussian_nb_epsilon_without_weights_is_the_data_variance():
    # without sample_weight the data's variance comes from the classes' own
    # statistics (no second pass); it must still be X's variance
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5000, 4)) * [1.0, 3.0, 0.1, 10.0] + 50
    y = rng.integers(0, 3, 5000)
    model = GaussianNB().fit(X, y)
    assert model.epsilon_ == pytest.approx(1e-9 * X.var(axis=0).max(), rel=1e-12)
    weighted = GaussianNB().fit(X, y, sample_weight=np.ones(5000))
    assert weighted.epsilon_ == pytest.approx(model.epsilon_, rel=1e-12)
