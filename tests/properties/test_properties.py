"""Property-based tests (hypothesis) of every public estimator and method.

Each call of lvmfast's API under generated input must have exactly one of two
outcomes:

(a) a ValueError or TypeError whose message names the offending argument
    ('X', 'y', 'sample_weight', the parameter's name, ...), after which the
    estimator is unchanged (get_params() and pickle.dumps(vars(est)) compare
    equal before and after) and the input arrays are unchanged; or
(b) a finite result (inf only where scikit-learn also gives inf) equal,
    within tolerance, to a reference: scikit-learn's counterpart from the same
    starting point, or a NumPy reference computed in extended precision
    (np.longdouble) from the very array the estimator saw.

The generated data are well separated clusters (so that labels have no near
ties), scaled by factors from 1e-320 (subnormal) to 1e300, moved far from the
origin, and given as float64, float32, int64 and (KMeans) CSR; sample weights
include zeros, tiny, huge, negative and NaN values; labels are ints, strings,
one class and unseen classes; parameters are valid and invalid (negative,
zero, NaN, inf, wrong types).

Profiles (registered in tests/conftest.py):

* ``ci`` (default): 50 examples per property, derandomized (each test's
  examples come from its own source, whatever ran before it), no deadline,
  no shrinking (failures are reported as found); the whole file runs in
  about two minutes on two cores.
* ``thorough``: 1000 examples per property, from one seed for the session
  (``--hypothesis-seed=N``, or a random one printed in the header), no
  example database: a run is reproduced by its seed alone. Select it with
  ``python -m pytest tests/properties --hypothesis-profile=thorough``
  or ``LVMFAST_HYPOTHESIS_PROFILE=thorough python -m pytest ...``.

Every example builds its arrays from what it draws; the module-level tables
hold only values to draw, which no call changes (the estimators copy what
they keep).
"""
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import KMeans as SKKMeans
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
from sklearn.mixture import GaussianMixture as SKGaussianMixture
from sklearn.naive_bayes import GaussianNB as SKGaussianNB

from lvmfast import GaussianClassifier, GaussianMixture, GaussianNB, KMeans, kmeans_plusplus

LD = np.longdouble
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

# ---------------------------------------------------------------------------
# The two outcomes


class Failed:
    """Outcome (a): the exception a call raised."""

    def __init__(self, exc):
        self.exc = exc

    def __repr__(self):
        return f"Failed({type(self.exc).__name__}: {self.exc})"


def _snapshot(est):
    return pickle.dumps(vars(est)), repr(est.get_params(deep=False))


def _copy_input(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if sp.issparse(value):
        return value.copy()
    return None


def _same_input(before, after):
    if before is None:
        return True
    if sp.issparse(before):
        return (
            before.shape == after.shape
            and np.array_equal(before.data, after.data, equal_nan=True)
            and np.array_equal(before.indices, after.indices)
            and np.array_equal(before.indptr, after.indptr)
        )
    if before.dtype.kind in "fc":
        return before.dtype == after.dtype and np.array_equal(before, after, equal_nan=True)
    return before.dtype == after.dtype and np.array_equal(before, after)


def names_argument(message, names):
    """Whether the message names one of `names` as a word (so 'X' is not
    matched inside 'Xavier', 'y' not inside 'array'); scikit-learn's 'Sample
    weights ...' counts as naming sample_weight."""
    if "sample_weight" in names:
        names = list(names) + ["Sample weights", "sample weights"]
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) for name in names)


def call(est, method, *args, names, **kwargs):
    """Call est.method(*args, **kwargs) (est may be None for a function, then
    `method` is the function). Returns the result, or Failed for outcome (a)
    after checking its message names one of `names` and that the estimator
    and the arrays passed are unchanged. Inputs must be unchanged in both
    outcomes. Any other exception propagates (a defect)."""
    inputs = list(args) + list(kwargs.values())
    saved_inputs = [_copy_input(v) for v in inputs]
    before = _snapshot(est) if est is not None else None
    fn = method if est is None else getattr(est, method)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        note(f"{getattr(method, '__name__', method)} raised {type(exc).__name__}: {message[:300]}")
        assert names_argument(message, names), (
            f"{type(exc).__name__} does not name any of {names}: {message[:300]!r}"
        )
        if est is not None:
            after = _snapshot(est)
            assert after[1] == before[1], "get_params() changed by a failed call"
            assert after[0] == before[0], "estimator attributes changed by a failed call"
        for saved, value in zip(saved_inputs, inputs):
            assert _same_input(saved, value), "a failed call modified its input"
        return Failed(exc)
    for saved, value in zip(saved_inputs, inputs):
        assert _same_input(saved, value), "a call modified its input"
    return result


def sk_call(fn, *args, **kwargs):
    """scikit-learn's outcome: the result, or Failed for any exception."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure of the reference
        return Failed(exc)


def failed(result):
    return isinstance(result, Failed)


def scale_refusal(result):
    """lvmfast's documented refusal of data whose squares overflow the dtype,
    or whose spread is too small for float32 precisions (it names X and says
    to scale the data): outcome (a) even where scikit-learn returns inf/NaN
    or an overflowed model."""
    if not failed(result):
        return False
    message = str(result.exc) if hasattr(result, "exc") else repr(result)
    return "whose squares overflow" in message or "spread is too small" in message


def all_finite(*values):
    return all(np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in values)


def assert_finite(value, what, allow_inf_where=None):
    """Outcome (b) is finite: no NaN anywhere; inf only where the reference
    (allow_inf_where, the same shape) is inf of the same sign."""
    v = np.asarray(value, dtype=np.float64)
    assert not np.isnan(v).any(), f"{what} has NaN"
    inf = np.isinf(v)
    if inf.any():
        assert allow_inf_where is not None, f"{what} has inf"
        ref = np.broadcast_to(np.asarray(allow_inf_where, dtype=np.float64), v.shape)
        assert np.array_equal(v[inf], ref[inf]), f"{what} has inf where the reference has {ref[inf][:5]}"


def eps_of(dtype):
    return float(np.finfo(np.float32 if dtype == np.float32 else np.float64).eps)


def tiny_of(dtype):
    """The smallest normal number: squares (of distances, of deviations)
    below it underflow, so distances below its square root are not
    resolved by any squared-distance arithmetic."""
    return float(np.finfo(np.float32 if dtype == np.float32 else np.float64).tiny)


def subnormal_of(dtype):
    """The absolute rounding step below the normal range: relative
    tolerances (eps) say nothing about subnormal results, which keep only
    the digits above this step."""
    return float(np.finfo(np.float32 if dtype == np.float32 else np.float64).smallest_subnormal)


def assert_close(actual, expected, rtol, atol, what):
    """|actual - expected| <= atol + rtol |expected| elementwise (atol may
    be an array broadcasting against them); equal infinities pass."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    with np.errstate(all="ignore"):
        same = actual == expected
        ok = same | (np.abs(actual - expected) <= np.asarray(atol, dtype=np.float64) + rtol * np.abs(expected))
    if not np.all(ok):
        bad = np.flatnonzero(~np.broadcast_to(ok, actual.shape))[:5]
        raise AssertionError(
            f"{what} differs (rtol={rtol}): actual {actual.ravel()[bad]} vs expected {expected.ravel()[bad]}"
        )


# ---------------------------------------------------------------------------
# Strategies

# Scale factors: powers of ten from 1e-320 (subnormal in float64) to 1e300,
# drawn mostly from the ordinary range with the extremes well represented.
MODERATE_EXPONENTS = st.integers(-30, 30)
# float32 squares overflow past ~1.8e19 and underflow below ~1e-19: its
# ordinary range is narrower (beyond it is the extreme-magnitude tests').
MODERATE_EXPONENTS_F32 = st.integers(-12, 12)
EXTREME_EXPONENTS = st.sampled_from([-320, -310, -300, -200, -160, -150, -100, -45, -40, -38, 38, 100, 150, 155, 160, 200, 300])


@st.composite
def blobs(draw, *, min_clusters=1, max_clusters=4, max_per_cluster=6, max_features=4,
          dtypes=("float64", "float32", "int64"), exponents=None, max_offset=6,
          min_per_cluster=1):
    """Well separated clusters: (X, true labels, n_clusters, info). Cluster j
    sits around 10 j (1, ..., 1) + a small jitter, its rows within +-1 of the
    center; the whole is scaled by 10**exponent and moved by 10**offset times
    the scale (far from the origin), then cast to the dtype."""
    k = draw(st.integers(min_clusters, max_clusters))
    d = draw(st.integers(1, max_features))
    counts = draw(st.lists(st.integers(min_per_cluster, max_per_cluster), min_size=k, max_size=k))
    n = sum(counts)
    labels = np.repeat(np.arange(k), counts)
    jitter = draw(hnp.arrays(np.float64, (k, d), elements=st.floats(-2, 2)))
    noise = draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-1, 1)))
    base = (10.0 * np.arange(k)[:, None] + jitter)[labels] + noise
    # Shuffle rows so that clusters are not contiguous (kernels chunk rows).
    perm = np.random.default_rng(draw(st.integers(0, 2**16))).permutation(n)
    base, labels = base[perm], labels[perm]
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    if dtype.kind == "i":
        offset = draw(st.sampled_from([0, 10**3, 10**6]))
        X = np.round(base * 10).astype(np.int64) + offset
        return X, labels, k, dict(dtype=dtype, scale=np.float64(10.0), offset=float(offset), base=base)
    if exponents is None:  # the ordinary range of the dtype
        exponents = MODERATE_EXPONENTS_F32 if dtype == np.float32 else MODERATE_EXPONENTS
    exponent = draw(exponents)
    offset_exp = draw(st.sampled_from([None] + list(range(0, max_offset + 1))))
    if dtype == np.float32:
        offset_exp = None if offset_exp is None else min(offset_exp, 2)
    scale = 10.0 ** exponent if exponent > -308 else float(f"1e{exponent}")
    offset = 0.0 if offset_exp is None else 10.0**offset_exp
    with np.errstate(all="ignore"):
        X = (base * scale + offset * scale).astype(dtype)
    return X, labels, k, dict(dtype=dtype, scale=np.float64(scale), offset=offset, base=base)


def weights_for(draw, n, kind=None):
    """Valid sample weights: None, uniform times a factor from 1e-310 to
    1e300, or random positive times the factor; some may be zero."""
    kind = kind or draw(st.sampled_from(["none", "uniform", "random"]))
    if kind == "none":
        return None
    factor = draw(st.sampled_from([1.0, 1.0, 0.5, 3.0, 1e-15, 1e-310, 1e15, 1e300]))
    if kind == "uniform":
        return np.full(n, factor)
    w = draw(hnp.arrays(np.float64, n, elements=st.floats(0.25, 4.0)))
    return w * factor


def exact_center_stats(X, labels, k, w):
    """Per-cluster weighted means, and the inertia, in long double."""
    Xl = (X.toarray() if sp.issparse(X) else np.asarray(X)).astype(LD)
    wl = np.ones(X.shape[0], dtype=LD) if w is None else np.asarray(w).astype(LD)
    centers = np.zeros((k, X.shape[1]), dtype=LD)
    for j in range(k):
        m = labels == j
        centers[j] = (wl[m, None] * Xl[m]).sum(axis=0) / wl[m].sum()
    diff = Xl - centers[labels]
    inertia = (wl * (diff * diff).sum(axis=1)).sum()
    spread = (wl * ((Xl - Xl.mean(axis=0)) ** 2).sum(axis=1)).sum()
    if sp.issparse(X):  # sparse distances are expanded without centering
        spread = (wl * (Xl * Xl).sum(axis=1)).sum()
    return centers, inertia, spread, Xl


# ---------------------------------------------------------------------------
# KMeans


def _kmeans_fit_case(draw, exponents):
    X, labels, k, info = draw(blobs(exponents=exponents))
    w = weights_for(draw, X.shape[0])
    # Every cluster needs a row with positive weight: the initial center.
    first = np.array([np.flatnonzero(labels == j)[0] for j in range(k)])
    if w is not None and draw(st.booleans()):
        zero = draw(st.lists(st.integers(0, X.shape[0] - 1), max_size=3))
        w = w.copy()
        w[[i for i in zero if i not in first]] = 0.0
    sparse = info["dtype"] != np.int64 and draw(st.booleans())
    return X, labels, k, info, w, first, sparse


def check_kmeans_against_references(X, labels, k, info, w, first, sparse):
    """KMeans from the init array of one row per cluster, n_init=1: against
    the exact partition (long double) and scikit-learn from the same init."""
    Xin = sp.csr_matrix(X) if sparse else X
    init = np.asarray(X[first], dtype=np.float64)
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    exact_centers, exact_inertia, spread, Xl = exact_center_stats(Xin, labels, k, w)
    sk = sk_call(lambda: SKKMeans(k, init=init, n_init=1, max_iter=10).fit(Xin, sample_weight=w))

    est = KMeans(k, init=init, n_init=1, max_iter=10)
    fitted = call(est, "fit", Xin, sample_weight=w, names=["X", "sample_weight", "init"])
    note(f"lvmfast fit: {fitted!r}; scikit-learn fit: {sk!r}")
    # scikit-learn is a valid oracle where it is finite and right.
    eps = eps_of(dtype)
    d = X.shape[1]
    inertia_atol = (16 * eps * (d + 6) * float(spread) if np.isfinite(float(spread)) else np.inf) + 64 * X.shape[0] * subnormal_of(dtype)
    exact_inertia64 = float(exact_inertia)  # rounds to 0 / inf outside float64's range
    sk_good = (
        not failed(sk)
        and all_finite(sk.cluster_centers_)
        and np.array_equal(sk.labels_, labels)
        and np.isfinite(sk.inertia_)
        and np.isclose(sk.inertia_, exact_inertia64, rtol=1e-4, atol=inertia_atol)
    )
    if failed(fitted):
        # Stricter than scikit-learn only with a reason: on data it fits
        # correctly, refusing is a defect. The one reason: values whose
        # squares overflow (lvmfast refuses them up front, where scikit-learn
        # fits them only when centering happens to bring them back in range).
        assert not sk_good or scale_refusal(fitted), f"lvmfast refused data that scikit-learn fits correctly: {fitted!r}"
        return None
    assert_finite(est.cluster_centers_, "cluster_centers_")
    # inf where the exact inertia is past the float64 maximum (weights 1e300)
    inertia_inf = exact_inertia64 if np.isinf(exact_inertia64) else (None if failed(sk) else sk.inertia_)
    assert_finite(est.inertia_, "inertia_", allow_inf_where=inertia_inf)
    assert est.labels_.shape == (X.shape[0],)
    if sk_good:
        np.testing.assert_array_equal(est.labels_, sk.labels_)
        assert_close(est.inertia_, sk.inertia_, 1e-6 if dtype == np.float64 else 1e-4, inertia_atol, "inertia_")
        scale = np.abs(Xl).max(axis=0).astype(np.float64)
        assert_close(est.cluster_centers_, sk.cluster_centers_, 1e-6, 8 * eps * scale + 64 * subnormal_of(dtype),
                     "cluster_centers_")
    return est, sk if sk_good else None, inertia_atol


@given(data=st.data())
def test_kmeans_fit_matches_references(data):
    """KMeans.fit (dense, CSR; float64, float32, int; weights) from one row
    per cluster: same labels and inertia as scikit-learn from that init, and
    fit_predict, fit_transform, predict, transform and score consistent."""
    case = _kmeans_fit_case(data.draw, None)
    out = check_kmeans_against_references(*case)
    if out is None:
        return
    est, sk, inertia_atol = out
    X, labels, k, info, w, first, sparse = case
    Xin = sp.csr_matrix(X) if sparse else X
    predicted = call(est, "predict", Xin, names=["X"])
    np.testing.assert_array_equal(predicted, est.labels_)
    distances = call(est, "transform", Xin, names=["X"])
    assert distances.shape == (X.shape[0], k)
    assert_finite(distances, "transform")
    np.testing.assert_array_equal(distances.argmin(axis=1), est.labels_)
    if sk is not None:
        sk_dist = sk.transform(Xin)
        eps = eps_of(X.dtype if X.dtype == np.float32 else np.float64)
        # scikit-learn's transform expands ||x||^2 - 2 x.c + ||c||^2 without
        # centering: its error is about sqrt(eps) * max ||x||.
        row_norm = float(np.sqrt(np.max((X.astype(np.float64) ** 2).sum(axis=1)))) + float(np.max(sk_dist))
        atol = 4 * np.sqrt(eps * (X.shape[1] + 6)) * row_norm
        assert_close(distances, sk_dist, 1e-5, atol, "transform")
    score = call(est, "score", Xin, sample_weight=w, names=["X", "sample_weight"])
    assert_close(score, -est.inertia_, 1e-6, inertia_atol, "score")
    again = KMeans(k, init=est.init, n_init=1, max_iter=10)
    np.testing.assert_array_equal(call(again, "fit_predict", Xin, sample_weight=w, names=["X"]), est.labels_)
    again = KMeans(k, init=est.init, n_init=1, max_iter=10)
    assert_close(call(again, "fit_transform", Xin, sample_weight=w, names=["X"]), distances, 1e-6, 0, "fit_transform")


@given(data=st.data())
def test_kmeans_fit_extreme_magnitudes(data):
    """As test_kmeans_fit_matches_references, with scale factors from 1e-320
    to 1e300: an error naming X, or the right (finite) answer."""
    case = _kmeans_fit_case(data.draw, EXTREME_EXPONENTS)
    check_kmeans_against_references(*case)


@given(data=st.data())
def test_kmeans_predict_new_data(data):
    """predict/transform/score on new rows (other scale, other dtype) against
    a long double NumPy reference of the distances to the fitted centers."""
    X, labels, k, info = data.draw(blobs(dtypes=("float64", "float32")))
    est = KMeans(k, init=np.asarray(X[[np.flatnonzero(labels == j)[0] for j in range(k)]], dtype=np.float64),
                 n_init=1)
    if failed(call(est, "fit", X, names=["X"])):
        return
    Z = data.draw(hnp.arrays(data.draw(st.sampled_from([np.float64, np.float32])), (data.draw(st.integers(1, 5)), X.shape[1]),
                             elements=st.floats(-1e6, 1e6, width=32)))
    distances = call(est, "transform", Z, names=["X"])
    predicted = call(est, "predict", Z, names=["X"])
    score = call(est, "score", Z, names=["X"])
    centers = est.cluster_centers_.astype(LD)
    exact = np.sqrt(((Z.astype(LD)[:, None, :] - centers[None]) ** 2).sum(axis=2)).astype(np.float64)
    dtype = np.float32 if (Z.dtype == np.float32 and X.dtype == np.float32) else np.float64
    scale = float(np.abs(Z).max() + np.abs(centers).max()) + 1e-300
    atol = 8 * np.sqrt(eps_of(dtype) * (Z.shape[1] + 6)) * scale + 2 * np.sqrt(tiny_of(dtype) * Z.shape[1])
    assert_finite(distances, "transform")
    # transform returns Z's dtype: float32 distances below float32's normal
    # range keep only its subnormal steps (5.6e-151 reads 0)
    output_floor = float(np.finfo(np.float32).tiny) if distances.dtype == np.float32 else 0.0
    assert_close(distances, exact, 1e-5, atol + output_floor, "transform")
    best = exact.min(axis=1)
    # predict picks a nearest center up to rounding
    chosen = exact[np.arange(len(Z)), predicted]
    assert np.all(chosen <= best + 2 * atol), "predict is not a nearest center"
    # score, like transform, runs in Z's dtype: float32 squared distances
    # below float32's normal range keep only its subnormal steps
    score_floor = len(Z) * float(np.finfo(np.float32).tiny) if Z.dtype == np.float32 else 0.0
    assert_close(-score, float((best.astype(LD) ** 2).sum()), 1e-4, 8 * atol * scale * len(Z) + score_floor, "score")


BAD_NUMBERS = [0, -1, -1.5, 1.5, np.nan, np.inf, -np.inf, "3", None, [2], True]

KMEANS_PARAMS = {
    "n_clusters": BAD_NUMBERS + [np.int64(2), 2**62],
    "max_iter": BAD_NUMBERS + [np.int32(3)],
    "tol": BAD_NUMBERS + [1e300, 0.0],
    "n_init": BAD_NUMBERS + ["auto", "warn"],
    "init": ["bogus", np.nan, np.zeros((5, 1)), np.full((2, 2), np.nan), np.full((2, 2), np.inf), [[1, 2]], "random"],
    "algorithm": ["elkan", "full", None, 1],
    "random_state": [-1, 1.5, "a", 2**40],
    "verbose": [-1, "a", 1.5],
    "copy_x": [None, "yes", 2],
}


@st.composite
def bad_arrays(draw, n, d):
    """X variants: NaN, inf, empty, wrong dimensions, strings, complex,
    object, wrong width."""
    kind = draw(st.sampled_from(["nan", "inf", "-inf", "no_rows", "no_columns", "1d", "3d", "str", "numeric_str", "complex",
                                 "object_none", "list_ragged", "scalar", "bool", "huge_int"]))
    base = draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-10, 10)))
    if kind in ("nan", "inf", "-inf"):
        base[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = float(kind)
        return kind, base.astype(draw(st.sampled_from([np.float64, np.float32])))
    return kind, {
        "no_rows": np.zeros((0, d)),
        "no_columns": np.zeros((n, 0)),
        "1d": base[:, 0],
        "3d": base[:, :, None],
        "numeric_str": base.astype(str).astype(object),
        "str": np.full((n, d), "a"),
        "complex": base + 1j,
        "object_none": np.full((n, d), None, dtype=object),
        "list_ragged": [[1.0] * d, [1.0] * (d + 1)],
        "scalar": 3.0,
        "bool": base > 0,
        "huge_int": np.full((n, d), 2**62, dtype=np.int64),
    }[kind]


# Odd but valid X: booleans, numbers as strings, huge integers.
VALID_ODD_X = ("bool", "huge_int", "numeric_str")


@st.composite
def bad_weights(draw, n):
    kind = draw(st.sampled_from(["negative", "nan", "inf", "all_zero", "short", "long", "2d", "str", "scalar_neg",
                                 "tiny_negative", "scalar_nan", "object"]))
    w = np.ones(n)
    i = draw(st.integers(0, n - 1))
    if kind == "negative":
        w[i] = -1.0
    elif kind == "tiny_negative":
        w[i] = -1e-300
    elif kind == "nan":
        w[i] = np.nan
    elif kind == "inf":
        w[i] = np.inf
    elif kind == "all_zero":
        w[:] = 0.0
    elif kind == "short":
        w = w[:-1]
    elif kind == "long":
        w = np.ones(n + 1)
    elif kind == "2d":
        w = w[:, None] * np.ones((1, 2))
    elif kind == "str":
        w = np.full(n, "a")
    elif kind == "scalar_neg":
        w = -1.0
    elif kind == "scalar_nan":
        w = np.nan
    elif kind == "object":
        w = np.full(n, None, dtype=object)
    return kind, w


def _small_data(draw, min_rows=2):
    n = draw(st.integers(min_rows, 8))
    d = draw(st.integers(1, 3))
    X = draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-100, 100), unique=False))
    X = X + np.arange(n)[:, None] * 1e-3  # distinct rows
    return X


@given(data=st.data())
def test_kmeans_invalid_parameters(data):
    """KMeans with one parameter set to an invalid or odd value: an error
    naming the parameter (estimator unchanged), or a finite fit."""
    X = _small_data(data.draw)
    name = data.draw(st.sampled_from(sorted(KMEANS_PARAMS)))
    value = data.draw(st.sampled_from(KMEANS_PARAMS[name]))
    n_clusters = value if name == "n_clusters" else 2
    est = KMeans(n_clusters=2, n_init=1, max_iter=5, random_state=0)
    est.set_params(**{name: value})
    sk = sk_call(lambda: SKKMeans(**{**est.get_params()}).fit(X))
    out = call(est, "fit", X, names=[name] + (["X", "n_samples"] if name == "n_clusters" else []))
    if failed(out):
        return
    assert_finite(est.cluster_centers_, "cluster_centers_")
    assert_finite(est.inertia_, "inertia_")
    assert est.cluster_centers_.shape == (n_clusters, X.shape[1])
    if failed(sk):
        note(f"lvmfast accepted {name}={value!r}, scikit-learn refused it: {sk!r}")


@given(data=st.data())
def test_kmeans_invalid_input(data):
    """fit/predict/transform/score with bad X or bad sample_weight: an error
    that names the argument; the estimator and the arrays are unchanged."""
    X = _small_data(data.draw)
    est = KMeans(2, n_init=1, random_state=0)
    fit_first = data.draw(st.booleans())
    if fit_first:
        est.fit(X)
    which = data.draw(st.sampled_from(["X", "sample_weight"]))
    if which == "X":
        kind, bad = data.draw(bad_arrays(X.shape[0], X.shape[1]))
        method = data.draw(st.sampled_from(["fit", "fit_predict", "fit_transform"] +
                                           (["predict", "transform", "score"] if fit_first else [])))
        out = call(est, method, bad, names=["X"])
        if kind in VALID_ODD_X:  # valid numbers
            return
        assert failed(out), f"{method} accepted X of kind {kind}"
    else:
        kind, w = data.draw(bad_weights(X.shape[0]))
        method = data.draw(st.sampled_from(["fit", "fit_predict", "fit_transform"] + (["score"] if fit_first else [])))
        out = call(est, method, X, sample_weight=w, names=["sample_weight"])
        assert failed(out), f"{method} accepted sample_weight of kind {kind}"


@given(data=st.data())
def test_kmeans_shapes(data):
    """One row, one feature, n_samples == n_clusters (also with duplicate
    rows): finite centers, each distinct row its own cluster, inertia ~ 0,
    as scikit-learn."""
    n = data.draw(st.integers(1, 5))
    d = data.draw(st.integers(1, 3))
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    X = data.draw(hnp.arrays(dtype, (n, d), elements=st.floats(-1e3, 1e3, width=32)))
    k = data.draw(st.integers(1, n))
    est = KMeans(k, n_init=1, random_state=0)
    out = call(est, "fit", X, names=["X"])
    if scale_refusal(out):  # values near float32's smallest normals: squared distances underflow
        assert float(np.var(X.astype(np.float64), axis=0).sum()) < float(np.finfo(dtype).tiny)
        return
    assert not failed(out)
    assert_finite(est.cluster_centers_, "cluster_centers_")
    assert_finite(est.inertia_, "inertia_")
    sk = SKKMeans(k, n_init=1, random_state=0).fit(X)
    # distinct as the kernels see the rows: centered by the mean in X's
    # dtype (as scikit-learn centers them too), which merges rows closer
    # than the rounding of the mean (6e-18 and 0 next to a mean of 0.75)
    n_distinct = len(np.unique(X - X.mean(axis=0, dtype=np.float64).astype(X.dtype), axis=0))
    if k == n_distinct == n:
        assert est.inertia_ == pytest.approx(0.0, abs=1e-6 * float(np.abs(X).max() ** 2 + 1e-300))
        if dtype == np.float64:
            # (float32 labels are the float32 expansion's argmin, as
            # scikit-learn's: rows closer than its rounding, such as 0 and
            # 1.2e-7 next to 1e3, may share a cluster; float64 labels are
            # proven or redone by direct differences)
            assert len(np.unique(est.labels_)) == k
    # (+ the dtype's underflow of each squared entry: scikit-learn's float32
    # squares of 1e-35 are 0, lvmfast's, taken in float64, are not)
    assert_close(est.inertia_, sk.inertia_, 1e-4,
                 1e-5 * float(np.abs(X).astype(np.float64).max() ** 2 * n + 1e-300) + n * d * tiny_of(dtype), "inertia_")


@given(data=st.data())
def test_kmeans_plusplus(data):
    """kmeans_plusplus: centers are the rows at the returned distinct
    indices; float64 picks the same rows as scikit-learn with the same seed
    (documented); a zero-weight row is never picked while enough positive
    rows remain."""
    X, labels, k, info = data.draw(blobs(dtypes=("float64", "float32"), exponents=st.integers(-100, 100)))
    w = weights_for(data.draw, X.shape[0])
    seed = data.draw(st.integers(0, 2**31 - 1))
    n_local_trials = data.draw(st.sampled_from([None, 1, 3]))
    sparse = data.draw(st.booleans())
    Xin = sp.csr_matrix(X) if sparse else X
    out = call(None, kmeans_plusplus, Xin, k, sample_weight=w, random_state=seed, n_local_trials=n_local_trials,
               names=["X", "sample_weight"])
    sk = sk_call(sk_kmeans_plusplus, Xin, k, sample_weight=w, random_state=seed, n_local_trials=n_local_trials)
    if failed(out):
        assert failed(sk) or scale_refusal(out), f"lvmfast refused what scikit-learn accepts: {out!r}"
        return
    centers, indices = out
    assert centers.dtype == X.dtype and centers.shape == (k, X.shape[1])
    # weights * squared distances underflowing to 0 leave nothing to sample
    # by (subnormal weights on small data; left as is, since rescaling the
    # weights would change the rounding of scikit-learn's picks): only then
    # may seeds repeat.
    if len(np.unique(X, axis=0)) >= k and (w is None or w.max() > 1e-290):
        assert len(set(indices.tolist())) == k, "repeated indices"
    np.testing.assert_array_equal(centers, X[indices])
    Xd = X.astype(np.float64)
    d2 = ((Xd[:, None, :] - Xd[None]) ** 2).sum(axis=2)
    # The greedy choice compares candidates' potentials, sums of pairwise
    # distances: two equal pairwise distances anywhere (d(0, 1) = d(2, 3))
    # can make two candidates tie, broken by rounding.
    pairs = np.sort(d2[np.triu_indices(len(X), 1)])
    pairs = pairs[pairs > 0]
    ties = bool(np.any(np.isclose(np.diff(pairs), 0, atol=1e-9 * pairs.max()))) if pairs.size > 1 else False
    if X.dtype == np.float64 and not failed(sk) and (w is None or np.all(w == w[0])) and not ties:
        np.testing.assert_array_equal(indices, sk[1])


KPP_BAD = {
    "n_clusters": [0, -1, 1.5, np.nan, "2", None, 100],
    "n_local_trials": [0, -1, 1.5, np.nan, "2"],
    "random_state": [-1, "a", 1.5],
    "x_squared_norms": [np.ones(1), np.ones((2, 2)), "a"],
}


@given(data=st.data())
def test_kmeans_plusplus_invalid(data):
    X = _small_data(data.draw)
    name = data.draw(st.sampled_from(sorted(KPP_BAD) + ["X", "sample_weight"]))
    kwargs = dict(n_clusters=2)
    if name == "X":
        kind, X = data.draw(bad_arrays(X.shape[0], X.shape[1]))
        assume(kind not in VALID_ODD_X)
    elif name == "sample_weight":
        kind, kwargs["sample_weight"] = data.draw(bad_weights(X.shape[0]))
    else:
        kwargs[name] = data.draw(st.sampled_from(KPP_BAD[name]))
    out = call(None, kmeans_plusplus, X, names=[name] + (["n_samples"] if name == "n_clusters" else []), **kwargs)
    assert failed(out), f"kmeans_plusplus accepted {name}={kwargs.get(name, X)!r}"


# ---------------------------------------------------------------------------
# GaussianMixture


def _gmm_starting_point(X, labels, k, covariance_type, reg_covar):
    """weights, means and precisions of the true clusters (float64)."""
    Xd = X.astype(np.float64)
    weights = np.bincount(labels, minlength=k) / len(labels)
    means = np.array([Xd[labels == j].mean(axis=0) for j in range(k)])
    d = X.shape[1]
    covs = []
    for j in range(k):
        diff = Xd[labels == j] - means[j]
        covs.append(diff.T @ diff / len(diff) + reg_covar * np.eye(d))
    covs = np.array(covs)
    with np.errstate(all="ignore"):
        if covariance_type == "full":
            prec = np.array([np.linalg.inv(c) for c in covs])
            prec = (prec + np.transpose(prec, (0, 2, 1))) / 2
        elif covariance_type == "tied":
            tied = (weights[:, None, None] * covs).sum(axis=0)
            prec = np.linalg.inv(tied)
            prec = (prec + prec.T) / 2
        elif covariance_type == "diag":
            prec = 1 / np.array([np.diag(c) for c in covs])
        else:
            prec = 1 / np.array([np.diag(c).mean() for c in covs])
    return weights, means, prec


def _gmm_case(draw, exponents, dtypes=("float64", "float32", "int64"), reg_covars=(1e-6, 1e-6, 1e-3)):
    X, labels, k, info = draw(blobs(min_per_cluster=2, dtypes=dtypes, exponents=exponents))
    covariance_type = draw(st.sampled_from(COVARIANCE_TYPES))
    reg_covar = draw(st.sampled_from(reg_covars))
    given_init = draw(st.sampled_from(["all", "means", "weights_means", "none"]))
    init_params = draw(st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]))
    max_iter = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 1000))
    with np.errstate(all="ignore"):
        reg = max(reg_covar, 1e-6 * info["scale"] ** 2)
    weights, means, prec = _gmm_starting_point(X, labels, k, covariance_type, reg)
    params = dict(n_components=k, covariance_type=covariance_type, reg_covar=reg_covar, max_iter=max_iter, tol=0.0,
                  init_params=init_params, random_state=seed)
    if given_init in ("all", "means", "weights_means"):
        params["means_init"] = means
    if given_init in ("all", "weights_means"):
        params["weights_init"] = weights
    if given_init == "all":
        params["precisions_init"] = prec
    return X, labels, k, info, params


def check_gmm_against_sklearn(X, labels, k, info, params):
    """GaussianMixture from the same starting point as scikit-learn: the
    same lower_bound_, weights, means, covariances and the same
    predictions, densities and criteria."""
    est = GaussianMixture(**params)
    sk_est = SKGaussianMixture(**params)
    # scikit-learn's tied score_samples truncates its log-densities to X's
    # dtype (an empty array of X.dtype): give it integer data as float64.
    X_sk = X.astype(np.float64) if X.dtype.kind in "iu" else X
    sk = sk_call(sk_est.fit, X_sk)
    out = call(est, "fit", X, names=["X", "reg_covar", "means_init", "weights_init", "precisions_init", "n_components",
                                     "precision", "means", "weights"])
    note(f"lvmfast: {out!r}, scikit-learn: {sk!r}")
    sk_good = not failed(sk) and all_finite(sk.lower_bound_, sk_est.means_, sk_est.covariances_, sk_est.weights_)
    if sk_good:
        with np.errstate(all="ignore"):
            sk_good = all_finite(sk_est.score_samples(X_sk), sk_est.predict_proba(X_sk))
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    if failed(out):
        if sk_good and names_argument(str(out.exc), ["reg_covar"]):
            # A component whose scikit-learn covariance is at rounding level
            # (zero spread, reg_covar ~ 0) is collapsed: refusing is fair.
            covs = np.asarray(sk_est.covariances_, dtype=np.float64)
            smallest = (np.min([np.linalg.eigvalsh(c).min() for c in np.atleast_3d(covs).reshape(-1, X.shape[1], X.shape[1])])
                        if params["covariance_type"] in ("full", "tied") else covs.min())
            sk_good = smallest > 1e3 * eps_of(dtype) * float(np.max(np.abs(X.astype(np.float64))) ** 2 + 1e-300)
        assert not sk_good, f"lvmfast refused data scikit-learn fits: {out!r}"
        return
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_finite(getattr(est, name), name)
    assert_finite(est.lower_bound_, "lower_bound_")
    if not sk_good:
        return
    if params["init_params"] == "random_from_data" and "means_init" not in params:
        picks = np.random.RandomState(params["random_state"]).choice(len(X), size=k, replace=False)
        if len(set(labels[picks].tolist())) < k:
            return  # two seeds in one cluster: the split of that cluster is a near tie
    # scikit-learn's diag/spherical/tied statistics are not centered: their
    # rounding error is about eps * max|x|^2; compare only where that is
    # small against the covariances.
    sk_error = 64 * eps_of(dtype) * float(np.max(np.abs(X.astype(np.float64))) ** 2)
    # (the smallest variance in any direction: eigenvalues for 'full' and 'tied')
    smallest_cov = float(np.min(est.covariances_ if params["covariance_type"] not in ("full", "tied")
                                else np.linalg.eigvalsh(est.covariances_.astype(np.float64))))
    if sk_error > 1e-4 * smallest_cov:
        note("scikit-learn's cancellation error is too large to compare")
        return
    f32 = dtype == np.float32
    # Where that error is not negligible against the covariances, it moves
    # scikit-learn's responsibilities, and so its weights and means, by up to
    # about as much relatively, more after several iterations (a cluster at
    # 1e6 of spread 10: 1e-4 in the covariances, 2.3e-6 in the weights).
    # (sk_error is 0 where the squares underflow; so may smallest_cov be)
    rtol = max(1e-4 if f32 else 1e-6, 100 * sk_error / smallest_cov if sk_error > 0 else 0.0)
    d = X.shape[1]
    # lower_bound_ is the log-likelihood under the starting point; where
    # scikit-learn's starting covariances are themselves at its rounding
    # level (one-hot k-means++ seeds: x x^T - 2 x x^T + x x^T), its value is
    # that rounding, not a reference.
    if params.get("precisions_init") is None:
        sk_start = SKGaussianMixture(**{**params, "max_iter": 0})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk_start.fit(X_sk)
        start_covs = np.asarray(sk_start.covariances_, dtype=np.float64)
        smallest_start = (np.linalg.eigvalsh(start_covs.reshape(-1, d, d)).min()
                          if params["covariance_type"] in ("full", "tied") else start_covs.min())
        start_reliable = sk_error <= 1e-4 * smallest_start
    else:
        start_reliable = True
    if not start_reliable:
        # Nor is anything after it: its first E-step weighs each row by
        # those covariances, so its responsibilities (and the weights, means
        # and covariances they give) are decided by that rounding. Seeds at
        # 1e12, reg_covar=1e-6: its starting variances 5.8e6 .. 8.6e9, not
        # 1e-6, send a row 3.7e10 from its nearest mean to another one.
        note("scikit-learn's starting covariances are its rounding error: no reference")
        return
    assert_close(est.lower_bound_, sk_est.lower_bound_, rtol, (1e-3 if f32 else 1e-6) * d, "lower_bound_")
    assert_close(est.weights_, sk_est.weights_, rtol, 1e-5 if f32 else 1e-8, "weights_")
    data_scale = np.abs(X.astype(np.float64)).max(axis=0)
    # scikit-learn sums r x in X's dtype: each product is rounded to a
    # multiple of the smallest subnormal, so a component's mean carries up
    # to N * subnormal / (N_k + eps) of it (on subnormal data with tiny
    # responsibilities, all of it: r x underflows to 0).
    underflow = X.shape[0] * subnormal_of(dtype) / (np.asarray(sk_est.weights_, np.float64)[:, None] * X.shape[0]
                                                    + 10 * eps_of(np.float64))
    assert_close(est.means_, sk_est.means_, rtol, 32 * eps_of(dtype) * data_scale + 64 * subnormal_of(dtype) + underflow,
                 "means_")
    cov_scale = float(np.abs(sk_est.covariances_).max())
    assert_close(est.covariances_, sk_est.covariances_, 1e-3 if f32 else 1e-5,
                 (1e-3 * cov_scale if f32 else 1e-7 * cov_scale) + sk_error, "covariances_")
    ll = call(est, "score_samples", X, names=["X"])
    with np.errstate(all="ignore"):
        sk_ll = sk_est.score_samples(X_sk)
    assert_finite(ll, "score_samples", allow_inf_where=sk_ll)
    assert_close(ll, sk_ll, rtol, (1e-2 if f32 else 1e-6) * (d + np.abs(sk_ll)), "score_samples")
    proba = call(est, "predict_proba", X, names=["X"])
    assert_finite(proba, "predict_proba")
    assert_close(proba, sk_est.predict_proba(X_sk), 0, max(1e-3 if f32 else 1e-6, rtol), "predict_proba")
    sk_proba = sk_est.predict_proba(X_sk)
    clear = np.sort(sk_proba, axis=1)[:, -1] - (np.sort(sk_proba, axis=1)[:, -2] if k > 1 else 0) > 1e-3
    np.testing.assert_array_equal(call(est, "predict", X, names=["X"])[clear], sk_est.predict(X_sk)[clear])
    for method in ("score", "bic", "aic"):
        ours, theirs = call(est, method, X, names=["X"]), getattr(sk_est, method)(X_sk)
        assert_finite(ours, method)
        assert_close(ours, theirs, rtol * 10, (1e-2 if f32 else 1e-6) * d * len(X), method)


@given(data=st.data())
def test_gaussian_mixture_matches_sklearn(data):
    """GaussianMixture, all covariance types, every init_params, given or
    partial means/weights/precisions init, max_iter 1..3: the same result
    as scikit-learn from the same starting point and random_state."""
    check_gmm_against_sklearn(*_gmm_case(data.draw, st.integers(-30, 10)))


@given(data=st.data())
def test_gaussian_mixture_components_far_from_the_mean(data):
    """As test_gaussian_mixture_matches_sklearn with scales 1e11 .. 1e30:
    components far (in units of their spread) from the data mean."""
    check_gmm_against_sklearn(*_gmm_case(data.draw, st.integers(11, 30), dtypes=("float64",)))


@given(data=st.data())
def test_gaussian_mixture_zero_reg_covar(data):
    """As test_gaussian_mixture_matches_sklearn with reg_covar=0, where
    components may collapse onto single points: lvmfast may refuse only a
    component whose scikit-learn covariance is at rounding level."""
    check_gmm_against_sklearn(*_gmm_case(data.draw, st.integers(-5, 5), reg_covars=(0.0,)))


@given(data=st.data())
def test_gaussian_mixture_max_iter_zero(data):
    """max_iter=0 with precisions_init (after an earlier fit, or fresh):
    the model is the given starting point; covariances_ is the inverse of
    precisions_init, not left from the earlier fit or missing."""
    X, labels, k, info, params = _gmm_case(data.draw, st.integers(-3, 3), dtypes=("float64",))
    weights, means, prec = _gmm_starting_point(X, labels, k, params["covariance_type"], 1e-3 * float(info["scale"]) ** 2)
    est = GaussianMixture(**{**params, "means_init": None, "weights_init": None, "precisions_init": None})
    if data.draw(st.booleans()):
        call(est, "fit", X, names=["X", "reg_covar"])
    est.set_params(max_iter=0, means_init=means, weights_init=weights, precisions_init=prec)
    if failed(call(est, "fit", X, names=["X", "reg_covar", "precision"])):
        return
    ct = params["covariance_type"]
    expected = np.array([np.linalg.inv(p) for p in prec]) if ct == "full" else (np.linalg.inv(prec) if ct == "tied" else 1 / prec)
    assert_close(est.covariances_, expected, 1e-6, 0, "covariances_")
    assert_close(est.means_, means, 1e-9, 0, "means_")


@given(data=st.data())
def test_gaussian_mixture_extreme_magnitudes(data):
    check_gmm_against_sklearn(*_gmm_case(data.draw, EXTREME_EXPONENTS, dtypes=("float64", "float32")))


@given(data=st.data())
def test_gaussian_mixture_integer_weights_are_repeated_rows(data):
    """fit(X, sample_weight=w) with integer w equals scikit-learn's fit on
    rows repeated w times, from the same means/weights/precisions init."""
    X, labels, k, info = data.draw(blobs(min_per_cluster=2, dtypes=("float64",), exponents=st.integers(-5, 5)))
    w = data.draw(hnp.arrays(np.int64, X.shape[0], elements=st.integers(1, 4)))
    covariance_type = data.draw(st.sampled_from(COVARIANCE_TYPES))
    Xr = np.repeat(X, w, axis=0)
    lr = np.repeat(labels, w)
    weights, means, prec = _gmm_starting_point(Xr, lr, k, covariance_type, 1e-6 * float(info["scale"]) ** 2)
    params = dict(n_components=k, covariance_type=covariance_type, max_iter=data.draw(st.integers(1, 3)), tol=0.0,
                  means_init=means, weights_init=weights, precisions_init=prec)
    est = GaussianMixture(**params)
    out = call(est, "fit", X, sample_weight=w.astype(float), names=["X", "sample_weight"])
    sk = sk_call(SKGaussianMixture(**params).fit, Xr)
    if failed(out):
        assert failed(sk) or scale_refusal(out), f"lvmfast refused what scikit-learn fits: {out!r}"
        return
    sk_error = 64 * eps_of(np.float64) * float(np.max(np.abs(X)) ** 2)
    if failed(sk) or sk_error > 1e-4 * float(np.min(est.covariances_ if covariance_type not in ("full", "tied")
                                                    else np.linalg.eigvalsh(est.covariances_))):
        return  # scikit-learn's uncentered statistics are not accurate enough here
    assert_close(est.lower_bound_, sk.lower_bound_, 1e-6, 1e-6 * X.shape[1], "lower_bound_")
    assert_close(est.means_, sk.means_, 1e-6, 1e-9 * info["scale"] * (1 + info["offset"]), "means_")
    assert_close(est.weights_, sk.weights_, 1e-6, 1e-9, "weights_")


@given(data=st.data())
def test_gaussian_mixture_weight_scale_invariance(data):
    """Multiplying every sample weight by a constant c (1e-310 .. 1e300)
    gives the same model (or an error naming sample_weight)."""
    X, labels, k, info = data.draw(blobs(min_per_cluster=2, dtypes=("float64", "float32"), exponents=st.integers(-3, 3)))
    w = data.draw(hnp.arrays(np.float64, X.shape[0], elements=st.floats(0.5, 2.0)))
    c = data.draw(st.sampled_from([1e-310, 1e-300, 1e-15, 1e15, 1e300]))
    covariance_type = data.draw(st.sampled_from(COVARIANCE_TYPES))
    params = dict(n_components=k, covariance_type=covariance_type, max_iter=3, tol=0.0, random_state=0,
                  init_params=data.draw(st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"])))
    ref = GaussianMixture(**params)
    if failed(call(ref, "fit", X, sample_weight=w, names=["X", "reg_covar"])):
        return  # a refusal of the data themselves (scikit-learn refuses it too), whatever the weights' scale
    est = GaussianMixture(**params)
    out = call(est, "fit", X, sample_weight=w * c, names=["sample_weight"])
    if failed(out):
        return
    # Weights scaled by c differ from w in their last bit: where the
    # covariances' smallest eigenvalues are below the rounding of their
    # largest (eps max|x|^2), that bit moves them, and the likelihood, far.
    covs = np.asarray(ref.covariances_, dtype=np.float64)
    smallest = (np.linalg.eigvalsh(covs.reshape(-1, X.shape[1], X.shape[1])).min()
                if covariance_type in ("full", "tied") else covs.min())
    if 64 * eps_of(np.float64) * float(np.max(np.abs(X.astype(np.float64))) ** 2) > 1e-4 * smallest:
        return
    assert_finite(est.lower_bound_, "lower_bound_")
    assert_close(est.lower_bound_, ref.lower_bound_, 1e-6, 1e-6, "lower_bound_")
    assert_close(est.means_, ref.means_, 1e-6, 1e-6 * float(np.abs(X).max()), "means_")


GMM_PARAMS = {
    "n_components": BAD_NUMBERS + [100],
    "covariance_type": ["bogus", None, 1, "FULL"],
    "tol": BAD_NUMBERS + [1e300],
    "reg_covar": BAD_NUMBERS + [1e300, 5e-324],
    "max_iter": BAD_NUMBERS,
    "n_init": BAD_NUMBERS,
    "init_params": ["bogus", None, 1],
    "weights_init": [[1.0], [0.5, 0.6], [np.nan, 1.0], [-0.5, 1.5], "a", [[0.5, 0.5]]],
    "means_init": [np.zeros((1, 2)), np.full((2, 2), np.nan), np.full((2, 2), np.inf), "a", np.zeros((2, 7))],
    "precisions_init": [np.zeros(2), -np.ones(2), np.full(2, np.nan), np.full(2, np.inf), "a", np.ones(5)],
    "random_state": [-1, "a", 1.5],
    "warm_start": [None, "yes", 2],
    "verbose_interval": [0, -1, np.nan, 1.5],
}


@given(data=st.data())
def test_gaussian_mixture_invalid_parameters(data):
    """GaussianMixture with one parameter set to an invalid or odd value: an
    error naming it, or a finite fit."""
    X = _small_data(data.draw, min_rows=4)
    name = data.draw(st.sampled_from(sorted(GMM_PARAMS)))
    value = data.draw(st.sampled_from(GMM_PARAMS[name]))
    covariance_type = "spherical" if name == "precisions_init" else data.draw(st.sampled_from(COVARIANCE_TYPES))
    est = GaussianMixture(2, covariance_type=covariance_type, max_iter=5, random_state=0)
    est.set_params(**{name: value})
    aliases = {"weights_init": ["weights"], "means_init": ["means"], "precisions_init": ["precision", "spherical precision"],
               "n_components": ["n_samples"]}
    out = call(est, "fit", X, names=[name] + aliases.get(name, []))
    if failed(out):
        return
    if name == "max_iter" and value == 0:
        return  # test_gaussian_mixture_max_iter_zero
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_finite(getattr(est, attr), attr)
    # scikit-learn also reports -inf when no EM iteration ran
    assert_finite(est.lower_bound_, "lower_bound_", allow_inf_where=-np.inf if est.max_iter == 0 else None)


@given(data=st.data())
def test_gaussian_mixture_invalid_input(data):
    """fit/score_samples/predict... with bad X or bad sample_weight: an
    error naming the argument; the estimator and the arrays unchanged."""
    X = _small_data(data.draw, min_rows=4)
    est = GaussianMixture(2, covariance_type=data.draw(st.sampled_from(COVARIANCE_TYPES)), random_state=0)
    fit_first = data.draw(st.booleans())
    if fit_first:
        est.fit(X)
    predicting = ["predict", "predict_proba", "score_samples", "score", "bic", "aic"]
    if data.draw(st.booleans()):
        kind, bad = data.draw(bad_arrays(X.shape[0], X.shape[1]))
        method = data.draw(st.sampled_from(["fit", "fit_predict"] + (predicting if fit_first else [])))
        out = call(est, method, bad, names=["X"] + (["reg_covar"] if method.startswith("fit") else []))
        if kind in VALID_ODD_X:
            return
        assert failed(out), f"{method} accepted X of kind {kind}"
    else:
        kind, w = data.draw(bad_weights(X.shape[0]))
        method = data.draw(st.sampled_from(["fit", "fit_predict"] + (["score"] if fit_first else [])))
        out = call(est, method, X, sample_weight=w, names=["sample_weight"])
        assert failed(out), f"{method} accepted sample_weight of kind {kind}"


SAMPLE_SIZES = [1, 2, 7, 0, -1, np.int64(4)]


@given(n=st.sampled_from([1.5, np.nan, np.inf, "3", None, [2], 2.0]))
def test_gaussian_mixture_sample_n_samples_type(n):
    """sample(n_samples) with a non-integer n_samples: an error naming it."""
    est = GaussianMixture(1, random_state=0).fit(np.arange(6.0)[:, None])
    out = call(est, "sample", n, names=["n_samples"])
    assert failed(out), f"sample accepted n_samples={n!r}"


@given(data=st.data())
def test_gaussian_mixture_sample(data):
    """sample(n): n finite rows in the fitted dtype, components in range,
    reproducible with an int random_state; bad n_samples names n_samples."""
    X, labels, k, info = data.draw(blobs(min_per_cluster=2, dtypes=("float64", "float32"), exponents=st.integers(-20, 20)))
    covariance_type = data.draw(st.sampled_from(COVARIANCE_TYPES))
    est = GaussianMixture(k, covariance_type=covariance_type, random_state=0, reg_covar=1e-6 * info["scale"] ** 2)
    if failed(call(est, "fit", X, names=["X", "reg_covar"])):
        return
    n = data.draw(st.sampled_from(SAMPLE_SIZES))
    out = call(est, "sample", n, names=["n_samples"])
    if failed(out):
        assert not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1)
        return
    assert isinstance(n, (int, np.integer)) and n >= 1, f"sample accepted n_samples={n!r}"
    Xs, ys = out
    assert Xs.shape == (n, X.shape[1]) and ys.shape == (n,)
    assert_finite(Xs, "sample")
    assert set(ys.tolist()) <= set(range(k))
    Xs2, ys2 = est.sample(n)
    np.testing.assert_array_equal(Xs, Xs2)
    np.testing.assert_array_equal(ys, ys2)


# ---------------------------------------------------------------------------
# GaussianNB and GaussianClassifier

LABEL_KINDS = {
    "int": lambda labels: labels,
    "negative_int": lambda labels: -3 * labels - 1,
    "str": lambda labels: np.array(["c%d" % v for v in labels]),
    "float": lambda labels: labels * 2.0 + 1.0,
    "object_str": lambda labels: np.array(["x" * (v + 1) for v in labels], dtype=object),
    "bool": lambda labels: labels.astype(bool),
}


def _classifier_case(draw, exponents, dtypes=("float64", "float32", "int64"), min_per_cluster=1):
    X, labels, k, info = draw(blobs(min_clusters=2, dtypes=dtypes, exponents=exponents, min_per_cluster=min_per_cluster))
    kind = draw(st.sampled_from(sorted(LABEL_KINDS)))
    if kind == "bool":
        labels = np.minimum(labels, 1)
        k = 2
    y = LABEL_KINDS[kind](labels)
    w = weights_for(draw, X.shape[0])
    return X, y, labels, k, info, w


def check_gnb_against_sklearn(X, y, labels, k, info, w):
    est, sk_est = GaussianNB(), SKGaussianNB()
    sk = sk_call(sk_est.fit, X, y, sample_weight=w)
    out = call(est, "fit", X, y, sample_weight=w, names=["X", "y", "sample_weight"])
    sk_good = not failed(sk) and all_finite(sk_est.theta_, sk_est.var_)
    if sk_good:
        with np.errstate(all="ignore"):
            sk_good = all_finite(sk_est.predict_proba(X)) and np.all(sk_est.var_ > 0)
    if w is not None and min(w[labels == j].sum() for j in range(k)) < 1e-6:
        # scikit-learn skips a class whose weight sum is np.isclose to 0
        # (theta_ stays 0): lvmfast's weighted means are checked instead.
        sk_good = False
        if not failed(out):
            exact = exact_center_stats(X, np.unique(y, return_inverse=True)[1], len(np.unique(y)), w)[0]
            scale = np.abs(X.astype(np.float64)).max(axis=0)
            assert_close(est.theta_, exact.astype(np.float64), 1e-6, 32 * eps_of(np.float64) * scale, "theta_")
    note(f"lvmfast: {out!r}, scikit-learn: {sk!r}")
    if failed(out):
        assert not sk_good, f"lvmfast refused data scikit-learn fits: {out!r}"
        return
    for name in ("theta_", "var_", "class_prior_", "class_count_"):
        assert_finite(getattr(est, name), name)
    proba = call(est, "predict_proba", X, names=["X"])
    log_proba = call(est, "predict_log_proba", X, names=["X"])
    predicted = call(est, "predict", X, names=["X"])
    assert_finite(proba, "predict_proba")
    if not sk_good:
        assert_finite(log_proba, "predict_log_proba", allow_inf_where=np.full(log_proba.shape, -np.inf))
        return
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    f32 = dtype == np.float32
    rtol = 1e-4 if f32 else 1e-6
    np.testing.assert_array_equal(est.classes_, sk_est.classes_)
    data_scale = np.abs(X.astype(np.float64)).max(axis=0)
    assert_close(est.theta_, sk_est.theta_, rtol, 32 * eps_of(dtype) * data_scale, "theta_")
    assert_close(est.var_, sk_est.var_, 1e-3 if f32 else 1e-6, 64 * eps_of(dtype) * data_scale**2, "var_")
    assert_close(est.class_prior_, sk_est.class_prior_, rtol, 1e-7, "class_prior_")
    assert_close(est.class_count_, sk_est.class_count_, rtol, 0, "class_count_")
    sk_proba = sk_est.predict_proba(X)
    assert_close(proba, sk_proba, 0, 1e-3 if f32 else 1e-6, "predict_proba")
    with np.errstate(all="ignore"):
        sk_log = sk_est.predict_log_proba(X)
    assert_finite(log_proba, "predict_log_proba", allow_inf_where=sk_log)
    big = sk_log > -50
    assert_close(log_proba[big], sk_log[big], 1e-3 if f32 else 1e-6, 1e-3 if f32 else 1e-6, "predict_log_proba")
    np.testing.assert_array_equal(predicted, sk_est.predict(X))
    assert call(est, "score", X, y, names=["X", "y"]) == pytest.approx(sk_est.score(X, y))


@given(data=st.data())
def test_gaussian_nb_matches_sklearn(data):
    """GaussianNB.fit (labels int/str/float/bool, weights) and its
    predictions equal scikit-learn's."""
    check_gnb_against_sklearn(*_classifier_case(data.draw, None))


@given(data=st.data())
def test_gaussian_nb_extreme_magnitudes(data):
    check_gnb_against_sklearn(*_classifier_case(data.draw, EXTREME_EXPONENTS, dtypes=("float64", "float32")))


@given(data=st.data())
def test_gaussian_nb_partial_fit_batches(data):
    """partial_fit in batches (classes given first) equals fit on the whole
    and scikit-learn's partial_fit; an unseen label in a later batch names
    y and leaves the model as it was."""
    X, y, labels, k, info, w = _classifier_case(data.draw, st.integers(-10, 10), dtypes=("float64",))
    classes = np.unique(y)
    cuts = sorted(data.draw(st.lists(st.integers(1, max(1, len(X) - 1)), max_size=3)))
    parts = np.split(np.arange(len(X)), cuts)
    est, sk_est = GaussianNB(), SKGaussianNB()
    for i, part in enumerate(parts):
        kwargs = dict(sample_weight=None if w is None else w[part])
        out = call(est, "partial_fit", X[part], y[part], classes=classes if i == 0 else None,
                   names=["X", "y", "sample_weight", "classes"], **kwargs)
        sk = sk_call(sk_est.partial_fit, X[part], y[part], classes=classes if i == 0 else None, **kwargs)
        if failed(out):
            assert failed(sk) or not all_finite(sk_est.var_), f"partial_fit refused a batch scikit-learn takes: {out!r}"
            return
    whole = GaussianNB().fit(X, y, sample_weight=w)
    data_scale = np.abs(X).max(axis=0)
    assert_close(est.theta_, whole.theta_, 1e-6, 1e-12 * data_scale, "theta_ (batches vs whole)")
    assert_close(est.var_, whole.var_, 1e-5, 1e-10 * data_scale**2, "var_ (batches vs whole)")
    # scikit-learn skips batches whose weight is np.isclose to 0
    sk_valid = w is None or min(w[part].sum() for part in parts if len(part)) > 1e-6
    if sk_valid and not failed(sk) and all_finite(sk_est.var_):
        assert_close(est.theta_, sk_est.theta_, 1e-6, 1e-12 * data_scale, "theta_ (vs scikit-learn)")
    unseen = np.array([y[0]] * (len(y) - 1) + [_unseen_label(y)], dtype=object if y.dtype == object else None)
    if y.dtype.kind != "b" and (unseen.dtype.kind == y.dtype.kind or y.dtype == object):
        out = call(est, "partial_fit", X, unseen, names=["y", "classes"])
        assert failed(out), "partial_fit accepted an unseen label"


def _unseen_label(y):
    if y.dtype.kind in "UO":
        return "never-seen"
    if y.dtype.kind == "b":
        return True if not y.any() else (False if y.all() else True)
    return y.max() + 7


@given(data=st.data())
def test_classifier_bad_labels(data):
    """One class, unseen labels at score, y of the wrong length, NaN labels,
    continuous y, 2-D y: an error naming y (or classes)."""
    X = _small_data(data.draw, min_rows=4)
    n = len(X)
    Est = data.draw(st.sampled_from([GaussianNB, GaussianClassifier]))
    est = Est() if Est is GaussianNB else Est(covariance_type="diag", reg_covar=1e-3)
    kind = data.draw(st.sampled_from(["one_class", "short", "nan", "continuous", "2d", "none", "mixed"]))
    y = {
        "one_class": np.zeros(n, dtype=int),
        "short": np.arange(n - 1) % 2,
        "nan": np.where(np.arange(n) % 2, 1.0, np.nan),
        "continuous": np.linspace(0, 1, n) + 0.01,
        "2d": np.stack([np.arange(n) % 2] * 2, axis=1),
        "none": None,
        "mixed": np.array([1 if i % 2 else "a" for i in range(n)], dtype=object),
    }[kind]
    out = call(est, "fit", X, y, names=["y", "classes"])
    assert failed(out), f"fit accepted y of kind {kind}"


@given(data=st.data())
def test_classifier_score_unseen_labels(data):
    """score(X, y) with labels the model never saw (other values or another
    type): an error naming y, or scikit-learn's accuracy."""
    X, y, labels, k, info, w = _classifier_case(data.draw, st.integers(-3, 3), dtypes=("float64",), min_per_cluster=2)
    Est = data.draw(st.sampled_from([GaussianNB, GaussianClassifier]))
    est = Est() if Est is GaussianNB else Est(covariance_type="diag", reg_covar=1e-3)
    sk_est = SKGaussianNB() if Est is GaussianNB else None
    est.fit(X, y)
    other = data.draw(st.sampled_from(["str", "int", "float", "shifted"]))
    y2 = {"str": np.array(["zz%d" % v for v in labels]), "int": labels + 100, "float": labels + 0.25,
          "shifted": np.roll(y, 1)}[other]
    out = call(est, "score", X, y2, names=["y"])
    if failed(out):
        return
    expected = float(np.mean(est.predict(X) == y2)) if sk_est is None else sk_est.fit(X, y).score(X, y2)
    assert out == pytest.approx(expected)


@given(data=st.data())
def test_classifier_weight_scale_invariance(data):
    """Multiplying every sample weight by c (1e-300 .. 1e300) gives the same
    classifier (or an error naming sample_weight), never NaN."""
    X, y, labels, k, info, w = _classifier_case(data.draw, st.integers(-10, 10), dtypes=("float64",), min_per_cluster=2)
    c = data.draw(st.sampled_from([1e-300, 1e-15, 1e15, 1e300]))
    Est = data.draw(st.sampled_from([GaussianNB, GaussianClassifier]))
    make = (lambda: GaussianNB()) if Est is GaussianNB else (lambda: GaussianClassifier("diag", reg_covar=1e-3 * float(info["scale"]) ** 2))
    ones = np.ones(len(X))
    ref = make().fit(X, y, sample_weight=ones)
    est = make()
    if failed(call(est, "fit", X, y, sample_weight=ones * c, names=["sample_weight"])):
        return
    proba = call(est, "predict_proba", X, names=["X"])
    assert_finite(proba, "predict_proba")
    assert_close(proba, ref.predict_proba(X), 0, 1e-6, "predict_proba")


GNB_PARAMS = {
    "priors": [[0.5], [0.7, 0.7], [-0.5, 1.5], [np.nan, 1.0], "a", [[0.5, 0.5]], [1.0, 0.0]],
    "var_smoothing": BAD_NUMBERS + [1e300],
}
GC_PARAMS = {
    "priors": GNB_PARAMS["priors"],
    "reg_covar": BAD_NUMBERS + [1e300, 5e-324],
    "covariance_type": ["bogus", None, 1],
}


@given(data=st.data())
def test_classifier_invalid_parameters(data):
    """GaussianNB / GaussianClassifier with one invalid or odd parameter: an
    error naming it (or 'priors'), or finite predictions."""
    X = _small_data(data.draw, min_rows=4)
    y = np.arange(len(X)) % 2
    Est = data.draw(st.sampled_from([GaussianNB, GaussianClassifier]))
    table = GNB_PARAMS if Est is GaussianNB else GC_PARAMS
    name = data.draw(st.sampled_from(sorted(table)))
    value = data.draw(st.sampled_from(table[name]))
    est = Est() if Est is GaussianNB else Est(covariance_type="diag", reg_covar=1e-3)
    est.set_params(**{name: value})
    out = call(est, "fit", X, y, names=[name] + (["priors", "Priors"] if name == "priors" else []))
    if failed(out):
        return
    assert_finite(est.predict_proba(X), "predict_proba")
    assert_finite(est.class_prior_, "class_prior_")


@given(data=st.data())
def test_classifier_invalid_input(data):
    """fit/predict/predict_proba/predict_log_proba/score with bad X or bad
    sample_weight: an error naming the argument, estimator unchanged."""
    X = _small_data(data.draw, min_rows=4)
    y = np.arange(len(X)) % 2
    Est = data.draw(st.sampled_from([GaussianNB, GaussianClassifier]))
    est = Est() if Est is GaussianNB else Est(covariance_type="diag", reg_covar=1e-3)
    fit_first = data.draw(st.booleans())
    if fit_first:
        est.fit(X, y)
    predicting = ["predict", "predict_proba", "predict_log_proba"]
    if data.draw(st.booleans()):
        kind, bad = data.draw(bad_arrays(X.shape[0], X.shape[1]))
        method = data.draw(st.sampled_from(["fit"] + (["partial_fit"] if Est is GaussianNB else [])
                                           + (predicting + ["score"] if fit_first else [])))
        if method in ("fit", "partial_fit", "score"):
            extra = dict(classes=[0, 1]) if method == "partial_fit" else {}
            out = call(est, method, bad, y, names=["X"], **extra)
        else:
            out = call(est, method, bad, names=["X"])
        if kind in VALID_ODD_X:
            return
        assert failed(out), f"{method} accepted X of kind {kind}"
    else:
        kind, w = data.draw(bad_weights(X.shape[0]))
        method = data.draw(st.sampled_from(["fit"] + (["partial_fit"] if Est is GaussianNB else [])))
        extra = dict(classes=[0, 1]) if method == "partial_fit" else {}
        out = call(est, method, X, y, sample_weight=w, names=["sample_weight"], **extra)
        assert failed(out), f"{method} accepted sample_weight of kind {kind}"


def reference_gaussian_classifier(X, labels, k, w, covariance_type, reg_covar, priors=None):
    """Per-class weighted means, biased covariances (+ reg_covar) and
    posterior probabilities in long double / float64 NumPy."""
    Xl = X.astype(LD)
    wl = np.ones(len(X), dtype=LD) if w is None else np.asarray(w).astype(LD)
    if w is not None and wl.max() > 0:
        # Only the weights' ratios matter here; on subnormal weights (1e-310)
        # the products w x would underflow even in long double.
        wl = wl / wl.max()
    d = X.shape[1]
    counts = np.array([wl[labels == j].sum() for j in range(k)])
    means = np.array([(wl[labels == j, None] * Xl[labels == j]).sum(axis=0) / counts[j] for j in range(k)])
    covs = []
    for j in range(k):
        diff = Xl[labels == j] - means[j]
        covs.append((wl[labels == j, None] * diff).T @ diff / counts[j])
    covs = np.array(covs).astype(np.float64)
    eye = np.eye(d)
    if covariance_type == "full":
        per = covs + reg_covar * eye
    elif covariance_type == "tied":
        per = np.broadcast_to((counts.astype(np.float64)[:, None, None] * covs).sum(axis=0) / float(counts.sum())
                              + reg_covar * eye, covs.shape)
    elif covariance_type == "diag":
        per = np.array([np.diag(np.diag(c)) for c in covs]) + reg_covar * eye
    else:
        per = np.array([np.diag(c).mean() * eye for c in covs]) + reg_covar * eye
    prior = (counts / counts.sum()).astype(np.float64) if priors is None else np.asarray(priors)
    means64 = means.astype(np.float64)
    joint = np.empty((len(X), k))
    for j in range(k):
        L = np.linalg.cholesky(per[j])
        z = np.linalg.solve(L, (X.astype(np.float64) - means64[j]).T)
        joint[:, j] = np.log(prior[j]) - 0.5 * (z * z).sum(axis=0) - np.log(np.diag(L)).sum() - 0.5 * d * np.log(2 * np.pi)
    top = joint.max(axis=1, keepdims=True)
    proba = np.exp(joint - top)
    proba /= proba.sum(axis=1, keepdims=True)
    return means64, per, proba, joint


def check_gaussian_classifier(X, y, labels, k, info, w, covariance_type, reg_covar):
    labels = np.unique(y, return_inverse=True)[1]  # in classes_ order
    est = GaussianClassifier(covariance_type=covariance_type, reg_covar=reg_covar)
    out = call(est, "fit", X, y, sample_weight=w, names=["X", "y", "sample_weight", "reg_covar"])
    try:
        with np.errstate(all="ignore"):
            ref = reference_gaussian_classifier(X, labels, k, w, covariance_type, reg_covar)
        ref_ok = all_finite(ref[0], ref[1], ref[2])
    except np.linalg.LinAlgError:
        ref_ok = False
    note(f"lvmfast: {out!r}, reference finite: {ref_ok}")
    if failed(out):
        if ref_ok and not names_argument(str(out.exc), ["sample_weight"]) and not scale_refusal(out):
            # Refusing is fair only for a (near-)singular covariance: ill
            # conditioned, or whose smallest variance is at the rounding
            # level of the data (a class of identical rows: its long double
            # variance is that rounding, not a spread).
            cond = max(np.linalg.cond(c) for c in ref[1])
            smallest = min(np.linalg.eigvalsh(c).min() for c in ref[1])
            rounding = 1e3 * eps_of(X.dtype if X.dtype == np.float32 else np.float64) * float(np.max(np.abs(X.astype(np.float64))) ** 2)
            assert cond > 1e10 or not np.isfinite(cond) or smallest <= rounding, f"refused a well-conditioned problem: {out!r}"
        return
    assert_finite(est.means_, "means_")
    assert_finite(est.covariances_, "covariances_")
    proba = call(est, "predict_proba", X, names=["X"])
    predicted = call(est, "predict", X, names=["X"])
    assert_finite(proba, "predict_proba")
    if not ref_ok:
        return
    means, per, ref_proba, joint = ref
    cond = max(np.linalg.cond(c) for c in per)
    if cond > 1e8:
        return
    f32 = X.dtype == np.float32
    dtype = np.float32 if f32 else np.float64
    data_scale = np.abs(X.astype(np.float64)).max(axis=0)
    assert_close(est.means_, means, 1e-4 if f32 else 1e-6, 32 * eps_of(dtype) * data_scale + 64 * subnormal_of(dtype),
                 "means_")
    ours_cov = {"full": lambda c: c, "tied": lambda c: np.broadcast_to(c, per.shape),
                "diag": lambda c: np.array([np.diag(v) for v in c]),
                "spherical": lambda c: np.array([v * np.eye(X.shape[1]) for v in c])}[covariance_type](
        est.covariances_.astype(np.float64))
    cov_scale = float(np.abs(per).max())
    assert_close(ours_cov, per, 1e-3 if f32 else 1e-5, (1e-3 if f32 else 1e-7) * cov_scale, "covariances_")
    atol = 1e-2 if f32 else 1e-5
    assert_close(proba, ref_proba, 0, atol, "predict_proba")
    clear = np.sort(ref_proba, axis=1)[:, -1] - np.sort(ref_proba, axis=1)[:, -2] > 10 * atol
    classes = np.unique(y)
    np.testing.assert_array_equal(predicted[clear], classes[ref_proba.argmax(axis=1)][clear])


@given(data=st.data())
def test_gaussian_classifier_matches_numpy(data):
    """GaussianClassifier (all covariance types, weights, label kinds):
    means, biased covariances and posteriors of a NumPy reference."""
    X, y, labels, k, info, w = _classifier_case(data.draw, None)
    covariance_type = data.draw(st.sampled_from(COVARIANCE_TYPES))
    reg_covar = data.draw(st.sampled_from([0.0, 1e-6, 1.0])) * (float(info["scale"]) ** 2 if X.dtype.kind == "f" else 1.0)
    check_gaussian_classifier(X, y, labels, k, info, w, covariance_type, reg_covar)


@given(data=st.data())
def test_gaussian_classifier_extreme_magnitudes(data):
    X, y, labels, k, info, w = _classifier_case(data.draw, EXTREME_EXPONENTS, dtypes=("float64", "float32"))
    covariance_type = data.draw(st.sampled_from(COVARIANCE_TYPES))
    check_gaussian_classifier(X, y, labels, k, info, w, covariance_type, data.draw(st.sampled_from([0.0, 1e-6])))
