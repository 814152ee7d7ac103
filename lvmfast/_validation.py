"""The input contract of lvmfast's kernels, on top of scikit-learn's checks.

scikit-learn does the checking (types, shapes, feature names,
n_features_in_); these helpers fix the arguments every lvmfast estimator
passes, so that the kernels always receive C-contiguous float32 or float64
data (float32 is kept, other numbers become float64), and replace
scikit-learn's finiteness pass with check_scale, which in the same one pass
also refuses finite values whose squares overflow.
"""
import contextlib
import functools
import re
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils._param_validation import Interval
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import _assert_all_finite, _check_sample_weight, check_array, validate_data

from lvmfast._kernels._data import sum_of_squares
from lvmfast._parallel import threads_for_work

FLOAT_DTYPES = [np.float64, np.float32]


class _NoBoolInterval(Interval):
    """scikit-learn's Interval without bools: True is an Integral (and a
    Real) to Python, but n_clusters=True is a mistake, not 1 (and it reached
    NumPy as a TypeError that named no parameter)."""

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


def integers(low, high=None):
    """The parameter constraint 'an int in [low, high]' (high None: no
    upper end), bools refused."""
    return _NoBoolInterval(Integral, low, high, closed="left" if high is None else "both")


def positive_reals():
    """The parameter constraint 'a real number > 0', bools refused."""
    return _NoBoolInterval(Real, 0, None, closed="neither")


def validate_float_data(estimator, X, y="no_validation", *, reset, accept_sparse=False, ensure_min_samples=1,
                        allow_nan=False):
    """scikit-learn's validate_data with lvmfast's contract (returns X, or
    X and y when y is given). Sparse input, where accepted, becomes CSR;
    unlike scikit-learn's KMeans, 64-bit indices are kept (the CSR kernels
    take both), so matrices past 2^31 nonzeros work. X is checked for
    NaN, infinity and an overflowing scale in one pass (check_scale);
    allow_nan=True lets NaN (missing entries) through."""
    names = ("X",) if isinstance(y, str) and y == "no_validation" else ("X", "y")
    with naming_errors(*names), _missing_values_as_nan(X, type(estimator).__name__):
        out = validate_data(
            estimator, X, y, reset=reset, accept_sparse=accept_sparse, dtype=FLOAT_DTYPES, order="C",
            accept_large_sparse=True, ensure_min_samples=ensure_min_samples, ensure_all_finite=False,
        )
    if isinstance(out, tuple):
        out = (_kernel_csr(out[0], "X"),) + out[1:]
    else:
        out = _kernel_csr(out, "X")
    check_scale(out[0] if isinstance(out, tuple) else out, estimator_name=type(estimator).__name__,
                allow_nan=allow_nan)
    return out


def check_float_array(X, *, input_name="X", accept_sparse=False):
    """check_array with lvmfast's contract, for functions (no estimator)."""
    with naming_errors(input_name), _missing_values_as_nan(X, None, input_name):
        X = check_array(
            X, accept_sparse=accept_sparse, dtype=FLOAT_DTYPES, order="C", accept_large_sparse=True,
            input_name=input_name, ensure_all_finite=False,
        )
    X = _kernel_csr(X, input_name)
    check_scale(X, input_name=input_name)
    return X


def _kernel_csr(X, input_name):
    """Dense X as it is; CSR X checked for what scipy accepts but the CSR
    kernels cannot (negative or out-of-range indices, a broken indptr), with
    duplicate entries summed on a copy (a row's squared norm needs them
    summed) and one index type for indices and indptr. Unsorted indices are
    fine."""
    if not sp.issparse(X):
        return X
    try:
        X.check_format(full_check=True)
    except ValueError as exc:
        raise ValueError(f"{input_name} is not a valid CSR matrix: {exc}") from exc
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    if X.indices.dtype != X.indptr.dtype:
        X = sp.csr_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)), shape=X.shape)
    return X


@contextlib.contextmanager
def _missing_values_as_nan(X, estimator_name, input_name="X"):
    """pandas' pd.NA in an object column makes NumPy's float conversion raise
    a TypeError about 'NAType'; say what it is: a missing value, as
    scikit-learn says for NaN."""
    try:
        yield
    except TypeError as exc:
        if "NAType" not in str(exc):
            raise
        where = ""
        if hasattr(X, "columns") and hasattr(X, "isna"):
            columns = [str(c) for c in X.columns[np.asarray(X.isna().any(axis=0))]]
            if columns:
                where = f" (pd.NA in column(s) {', '.join(map(repr, columns))})"
        by = f"{estimator_name} does not accept" if estimator_name else "lvmfast does not accept"
        raise ValueError(
            f"Input {input_name} contains NaN{where}. {by} missing values; drop or impute them first."
        ) from exc


def check_scale(X, *, input_name="X", estimator_name=None, allow_nan=False):
    """Refuse NaN, infinity, and finite values whose squares overflow.

    Every model here works on squared distances and sums of squares, so a
    finite X can still give inf and then NaN: float64 values past ~1e154,
    float32 ones past ~1e19. The squared distance of two rows is at most
    twice the sum of their squared norms, so when T, the sum of squares of
    all entries, is below a quarter of the dtype's maximum, every squared
    distance and every sum of squares is finite. T is one pass (a compiled,
    threaded sum in double, lvmfast._kernels._data; it replaces
    scikit-learn's finiteness sum and costs about as much), and it is NaN or
    inf when X holds NaN or infinity. Only when T is not
    below that bound is X looked at again, for scikit-learn's NaN/infinity
    message or for the scale:

    - float64: refused (sums of squares, in float64, would overflow);
    - float32, whose sums lvmfast takes in float64: refused when a squared
      distance between rows, up to (2 max|x|)^2 * n_features, overflows
      float32.

    allow_nan=True (the estimators' allow_missing) refuses infinity only,
    and bounds the scale by the entries that are not NaN.

    With scikit-learn's assume_finite configuration, nothing is checked.
    """
    if get_config()["assume_finite"]:
        return
    data = X.data if sp.issparse(X) else X
    if data.size == 0:
        return
    flat = np.ravel(data)
    total = sum_of_squares(flat, threads_for_work(flat.size))  # in double
    if total < float(np.finfo(data.dtype).max) / 4:  # False for NaN and inf
        return
    _assert_all_finite(data, allow_nan=allow_nan, estimator_name=estimator_name, input_name=input_name)
    if allow_nan:  # T over the observed entries, a chunk at a time
        step = 1 << 20
        total = sum(float(np.nansum(np.square(flat[i:i + step], dtype=np.float64))) for i in range(0, flat.size, step))
        if total < float(np.finfo(data.dtype).max) / 4:
            return
    largest = float(np.nanmax(np.abs(flat))) if allow_nan else float(np.max(np.abs(flat)))
    if data.dtype == np.float32 and (2.0 * largest) ** 2 * X.shape[1] < float(np.finfo(np.float32).max):
        return
    raise ValueError(
        f"{input_name} has values up to {largest:.3g} in absolute value, whose squares overflow "
        f"{data.dtype.name} in the squared distances and sums of squares computed from it (they would be "
        f"infinite or NaN). Scale the data (for example divide it by {largest:.0e})."
    )


def check_sample_weight(sample_weight, X, dtype):
    """One finite, non-negative weight per row of X, not all zero, as a
    contiguous array of `dtype`. scikit-learn's KMeans accepts negative
    weights; lvmfast refuses them, since a negative weight has no meaning
    as a row's multiplicity and breaks the k-means++ sampling."""
    with naming_errors("sample_weight", "Sample weights", "sample weights"):
        weights = _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
    # A scalar weight skips check_array's finiteness check.
    if not np.isfinite(weights).all():
        raise ValueError("Input sample_weight contains NaN or infinity.")
    return np.ascontiguousarray(weights)


def weights_with_finite_sum(sample_weight):
    """The (checked) weights, or, when their sum overflows float64, the same
    weights times the power of two that brings the largest below 1: exact
    (only weights below 2^-1074 of the largest are lost), so draws in
    proportion to the weights, and weighted means, do not change."""
    with np.errstate(over="ignore"):
        if np.isfinite(np.sum(sample_weight, dtype=np.float64)):
            return sample_weight
    exponent = np.frexp(np.max(sample_weight))[1]  # the largest is below 2^exponent
    return np.ldexp(sample_weight, -int(exponent)).astype(sample_weight.dtype, copy=False)


def draw_probabilities(sample_weight):
    """The weights normalized to sum to 1, in float64: RandomState.choice's
    p. (Normalized in float32, float32 weights whose sum overflows float32
    give NaN.)"""
    weights = weights_with_finite_sum(np.asarray(sample_weight, dtype=np.float64))
    return weights / weights.sum()


def unit_mean_weights(sample_weight, dtype, with_scale=False):
    """The (checked, float64) weights divided by their mean, in `dtype`
    (with_scale: and that mean, what a weighted sum on them is multiplied by
    to be in the caller's units). The passes sum w x, w x x^T and w d^2: on
    weights of mean 1 these neither underflow (subnormal weights on small
    data) nor overflow (1e300 weights), and the mixture's NK_EPSILON is the
    same tiny nudge whatever scale the caller's weights had, so multiplying
    all weights by a constant changes nothing but rounding. Unit weights
    stay exactly 1 (n / n), which keeps scikit-learn's iterations."""
    largest = 1.0
    with np.errstate(over="ignore"):
        total = sample_weight.sum()
    if not np.isfinite(total):  # weights near the float64 maximum
        largest = float(sample_weight.max())
        sample_weight = sample_weight / largest
        total = sample_weight.sum()
    mean = total / sample_weight.shape[0]
    unit = np.ascontiguousarray(sample_weight / mean, dtype=dtype)
    return (unit, float(mean) * largest) if with_scale else unit


def _names_any(message, names):
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) for name in names)


class naming_errors:
    """Context manager: a ValueError or TypeError from scikit-learn's checks
    whose message does not name the argument ('Expected 2D array, got 1D
    array instead', 'Complex data not supported', 'Found array with 0
    sample(s)', ...) is raised again, of the same type, with the argument's
    name in front ('X: Expected 2D array ...'), so a caller can tell which
    argument was wrong. The original message is kept whole after the name
    (scikit-learn's tests search for it)."""

    def __init__(self, *names):
        self.names = names

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type not in (ValueError, TypeError) or _names_any(str(exc), self.names):
            return False
        raise exc_type(f"{' and '.join(n for n in self.names if ' ' not in n)}: {exc}") from exc


def unchanged_on_error(fit):
    """Wrap a fit method so that a fit that raises leaves the estimator's
    attributes as they were (scikit-learn's validate_data records
    n_features_in_ before later checks can fail). Fits assign new arrays
    rather than writing into fitted ones, so a shallow copy suffices."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def feature_mean_variance(X, chunk_rows=65536):
    """Per-feature mean and (unweighted) variance of X: in float64 a chunk of
    rows at a time for dense X, scikit-learn's mean_variance_axis for CSR."""
    if sp.issparse(X):
        return mean_variance_axis(X, axis=0)
    mean = X.mean(axis=0, dtype=np.float64)
    total = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        diff = X[start:start + chunk_rows] - mean
        total += np.einsum("ij,ij->j", diff, diff, dtype=np.float64)
    return mean, total / max(X.shape[0], 1)
