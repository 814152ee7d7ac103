"""Input that every estimator must refuse or take cleanly: overflow-scale and
subnormal data, NaN / inf hyperparameters, labels of another type at score,
messages about feature names and pandas missing values, and the cases the
property suite's thorough profile found."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.utils._param_validation import InvalidParameterError

from lvmfast import GaussianClassifier, GaussianMixture, GaussianNB, KMeans
from lvmfast.cluster import kmeans_plusplus
from two_class_data import COVARIANCE_TYPES, two_blobs


# ---------------------------------------------------------------------------
# Overflow-scale and subnormal data

SCALE_MESSAGE = r"X has values up to [0-9.]+e\+300 in absolute value, whose squares overflow float64"


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_mixture_fit_refuses_overflowing_scale(covariance_type):
    X, _ = two_blobs()
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        gm.fit(X * 1e300)
    assert not hasattr(gm, "means_")


@pytest.mark.parametrize(
    "make", [lambda: KMeans(2, random_state=0), lambda: GaussianNB(), lambda: GaussianClassifier()],
    ids=["KMeans", "GaussianNB", "GaussianClassifier"],
)
def test_fits_refuse_overflowing_scale(make):
    X, y = two_blobs()
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        make().fit(X * 1e300, y)


def test_score_samples_on_overflowing_scale_raises_not_nan():
    X, _ = two_blobs()
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"X has values up to .*e\+160.*Scale the data"):
        gm.score_samples(X * 1e160)
    for method in (gm.predict, gm.predict_proba, gm.score):
        with pytest.raises(ValueError, match="Scale the data"):
            method(X * 1e160)


def test_predictions_on_overflowing_scale_raise():
    X, y = two_blobs()
    km = KMeans(2, random_state=0).fit(X)
    gnb = GaussianNB().fit(X, y)
    for method in (km.predict, km.transform, km.score, gnb.predict, gnb.predict_proba):
        with pytest.raises(ValueError, match="Scale the data"):
            method(X * 1e300)


def test_sparse_and_function_inputs_refuse_overflowing_scale():
    X, _ = two_blobs()
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        KMeans(2, random_state=0).fit(sp.csr_matrix(X * 1e300))
    with pytest.raises(ValueError, match=SCALE_MESSAGE):
        kmeans_plusplus(X * 1e300, 2, random_state=0)


def test_large_but_safe_scale_still_fits():
    X, _ = two_blobs()
    scale = 1e150
    gm = GaussianMixture(2, random_state=0).fit(X * scale)
    ref = GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_allclose(gm.means_ / scale, ref.means_, rtol=1e-6, atol=1e-9)
    assert np.isfinite(gm.score_samples(X * scale)).all()
    km = KMeans(2, random_state=0).fit(X * scale)
    assert np.isfinite(km.inertia_)


def test_float32_scale_limit():
    X, _ = two_blobs()
    with pytest.raises(ValueError, match="overflow float32"):
        KMeans(2, random_state=0).fit((X * 1e19).astype(np.float32))
    km = KMeans(2, random_state=0).fit((X * 1e17).astype(np.float32))
    assert np.isfinite(km.inertia_) and np.isfinite(km.cluster_centers_).all()


def test_nan_and_inf_keep_scikit_learns_messages():
    X, _ = two_blobs()
    X_nan, X_inf = X.copy(), X.copy()
    X_nan[3, 1], X_inf[5, 2] = np.nan, np.inf
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(2).fit(X_nan)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        KMeans(2).fit(X_inf)


def test_assume_finite_skips_the_scale_check():
    X, _ = two_blobs()
    with sklearn.config_context(assume_finite=True):
        KMeans(2, random_state=0, n_init=1).fit(X)  # still fine on ordinary data


SUBNORMAL_MESSAGE = r"X's spread is too small for float32.*pass X as float64"


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")  # k-means on squares that underflow
def test_subnormal_float32_data_is_refused_not_nan():
    X, y = two_blobs()
    tiny = (X * 1e-40).astype(np.float32)
    with pytest.raises(ValueError, match=SUBNORMAL_MESSAGE):
        GaussianNB().fit(tiny, y)
    with pytest.raises(ValueError, match=SUBNORMAL_MESSAGE):
        GaussianClassifier(reg_covar=1e-90).fit(tiny, y)
    with pytest.raises(ValueError, match=SUBNORMAL_MESSAGE):
        GaussianMixture(2, reg_covar=1e-90, random_state=0).fit(tiny)
    # reg_covar bounds the precisions: a finite answer, not NaN
    gm = GaussianMixture(2, random_state=0).fit(tiny)
    assert np.isfinite(gm.predict_proba(tiny)).all()
    assert np.isfinite(gm.score_samples(tiny)).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sum_of_squares_kernel(dtype, n_threads):
    from lvmfast._kernels._data import sum_of_squares

    values = np.random.default_rng(0).normal(size=100_003).astype(dtype)
    expected = np.sum(values.astype(np.float64) ** 2)
    assert sum_of_squares(values, n_threads) == pytest.approx(expected, rel=1e-12)
    assert sum_of_squares(values[:0], n_threads) == 0.0
    for bad in (np.nan, np.inf, -np.inf):
        spoiled = values.copy()
        spoiled[77_777] = bad
        assert not np.isfinite(sum_of_squares(spoiled, n_threads))
    with pytest.raises(ValueError, match="sum_of_squares: n_threads"):
        sum_of_squares(values, 0)


def test_validation_cost_is_one_pass(monkeypatch):
    # Ordinary data: the scale check never reads X a second time.
    import lvmfast._validation as validation

    def fail(*args, **kwargs):
        raise AssertionError("second pass over X")

    monkeypatch.setattr(validation, "_assert_all_finite", fail)
    X, _ = two_blobs()
    KMeans(2, random_state=0).fit(X).predict(X)
    GaussianMixture(2, random_state=0).fit(X.astype(np.float32))


# ---------------------------------------------------------------------------
# NaN / inf hyperparameters


@pytest.mark.parametrize(
    "make, parameter, value",
    [
        (lambda v: GaussianNB(var_smoothing=v), "var_smoothing", np.nan),
        (lambda v: GaussianNB(var_smoothing=v), "var_smoothing", np.inf),
        (lambda v: GaussianMixture(2, reg_covar=v), "reg_covar", np.nan),
        (lambda v: GaussianMixture(2, reg_covar=v), "reg_covar", np.inf),
        (lambda v: GaussianMixture(2, tol=v), "tol", np.nan),
        (lambda v: GaussianMixture(2, warm_start=v), "warm_start", "no"),
        (lambda v: GaussianClassifier(reg_covar=v), "reg_covar", np.nan),
        (lambda v: GaussianClassifier(reg_covar=v), "reg_covar", np.inf),
        (lambda v: KMeans(2, tol=v), "tol", np.nan),
    ],
)
def test_bad_hyperparameters_are_refused_at_fit(make, parameter, value):
    X, y = two_blobs()
    estimator = make(value)
    with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter"):
        estimator.fit(X, y)
    assert not hasattr(estimator, "n_features_in_")


# ---------------------------------------------------------------------------
# score with labels of another type than fit's


@pytest.mark.parametrize("make", [GaussianNB, GaussianClassifier])
def test_score_with_another_label_type_raises(make):
    X, y = two_blobs()
    clf = make().fit(X, y)
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.score(X, (y == "b").astype(int))
    assert clf.score(X, y) > 0.9


# ---------------------------------------------------------------------------
# Messages about the input


@pytest.mark.parametrize("make", [lambda: GaussianMixture(2, random_state=0), lambda: KMeans(2, random_state=0)])
def test_feature_name_mismatch_lists_unseen_and_missing(make):
    X, _ = two_blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    estimator = make().fit(frame)
    with pytest.raises(ValueError, match=r"(?s)unseen at fit time:\n- z.*yet now missing:\n- a"):
        estimator.predict(frame.rename(columns={"a": "z"}))


@pytest.mark.parametrize("dtype", ["object", "Float64", "Int64"])
@pytest.mark.parametrize(
    "make", [lambda: GaussianMixture(2, random_state=0), lambda: KMeans(2, random_state=0), lambda: GaussianNB()],
    ids=["GaussianMixture", "KMeans", "GaussianNB"],
)
def test_pandas_missing_value_says_nan(make, dtype):
    X, y = two_blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    values = list(np.round(X[:, 1])) if dtype == "Int64" else list(X[:, 1])
    values[7] = pd.NA
    frame["b"] = pd.Series(values, dtype=dtype)
    with pytest.raises(ValueError, match="contains NaN"):
        make().fit(frame, y)


# ---------------------------------------------------------------------------
# Found by the property suite's thorough profile (tests/properties/)


@pytest.mark.parametrize("make", [lambda v: KMeans(n_clusters=v), lambda v: KMeans(max_iter=v),
                                  lambda v: GaussianMixture(n_components=v)])
def test_bool_counts_are_refused(make):
    """True is an Integral to Python; as a count it is a mistake, refused by
    the parameter check (which names the parameter), not a NumPy TypeError."""
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(InvalidParameterError, match="parameter"):
        make(True).fit(X)


def test_kmeans_huge_weights_give_the_unweighted_model():
    """Weights of 1e300 (all equal) overflowed the sums w x: NaN centers."""
    X, _ = two_blobs(60, 2)
    ref = KMeans(2, init=X[[0, -1]], n_init=1).fit(X)
    est = KMeans(2, init=X[[0, -1]], n_init=1).fit(X, sample_weight=np.full(len(X), 1e300))
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    np.testing.assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    assert est.inertia_ == pytest.approx(ref.inertia_ * 1e300, rel=1e-12)


def test_kmeans_float32_rows_against_a_far_float64_model():
    """transform of float32 rows with a float64 model at 1e20: the squared
    distances overflow float32 (inf), the distances themselves do not."""
    X = np.array([[0.0], [1e20]])
    est = KMeans(2, init=X, n_init=1).fit(X)
    out = est.transform(np.array([[0.0]], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1e20]], rtol=1e-6)


def test_kmeans_labels_are_exact_on_near_ties():
    """Rows 1.19e-7 apart next to a row at 45: the float64 expansion cannot
    tell them apart; the labels must be the nearest centers all the same
    (each distinct row its own cluster), in fit and in predict."""
    X = np.array([[0.0], [45.0], [1.1920929e-07], [1.0]])
    est = KMeans(4, n_init=1, random_state=0).fit(X)
    assert len(np.unique(est.labels_)) == 4
    assert est.inertia_ == 0.0
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_gaussian_nb_refuses_zero_variance_at_fit():
    """Constant X (or a spread whose square underflows, or var_smoothing=0
    on a constant feature) left var_ 0 and NaN probabilities."""
    y = np.array([0, 1])
    with pytest.raises(ValueError, match="X is constant"):
        GaussianNB().fit(np.ones((2, 2)), y)
    with pytest.raises(ValueError, match="spread is too small"):
        GaussianNB().fit(np.array([[0.0], [1e-319]]), y)
    with pytest.raises(ValueError, match="var_smoothing"):
        GaussianNB(var_smoothing=0).fit(np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]), [0, 0, 1, 1])


def test_gaussian_nb_partial_fit_zero_variance_then_more_batches():
    """A first partial_fit batch may have no spread yet: accepted, with
    predictions refused (naming var_smoothing) until a later batch gives one."""
    est = GaussianNB().partial_fit(np.array([[1.0]]), [0], classes=[0, 1])
    with pytest.raises(ValueError, match="zero variance"):
        est.predict_proba(np.array([[1.0]]))
    est.partial_fit(np.array([[2.0], [5.0], [6.0]]), [0, 1, 1])
    assert np.isfinite(est.predict_proba(np.array([[1.0]]))).all()


def test_gaussian_classifier_spherical_tight_class_far_from_the_mean():
    """A spherical class of variance 2.5e-17 at 1e5: its log-densities by
    the expansion ||x||^2 - 2 x.m + ||m||^2 erred by thousands of nats."""
    X = np.array([[100116.19667202], [99986.81346811], [99986.81346812], [100109.72322526], [100123.45064396]])
    y = np.array([1, 0, 0, 1, 1])
    est = GaussianClassifier("spherical").fit(X, y)
    proba = est.predict_proba(X)
    np.testing.assert_array_equal(proba.argmax(axis=1), y)
    assert proba[1, 0] == pytest.approx(1.0)


def test_gaussian_mixture_max_iter_zero_returns_means_init_exactly():
    """max_iter=0: means_ are means_init as given, not their round trip
    through the centered frame (1e-20 next to a data mean of 5 came back 0)."""
    X = np.array([[9.7, 10.5], [1.05, 1e-20], [-0.4, 1e-20], [8.9, 10.5]])
    means = np.array([[0.3, 1e-20], [9.3, 10.5]])
    est = GaussianMixture(2, max_iter=0, means_init=means, weights_init=[0.5, 0.5],
                          precisions_init=np.array([np.eye(2), np.eye(2)])).fit(X)
    np.testing.assert_array_equal(est.means_, means)
