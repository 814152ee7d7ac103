"""The input contract of lvmfast's kernels, on top of scikit-learn's checks.

scikit-learn does the checking (types, shapes, finiteness in one pass,
feature names, n_features_in_); these helpers only fix the arguments every
lvmfast estimator passes, so that the kernels always receive C-contiguous
float32 or float64 data (float32 is kept, other numbers become float64).
"""
import functools
import re

import numpy as np
from sklearn.utils.validation import _check_sample_weight, check_array, validate_data

FLOAT_DTYPES = [np.float64, np.float32]


def validate_float_data(estimator, X, y="no_validation", *, reset, accept_sparse=False, ensure_min_samples=1):
    """scikit-learn's validate_data with lvmfast's contract (returns X, or
    X and y when y is given). Sparse input, where accepted, becomes CSR;
    unlike scikit-learn's KMeans, 64-bit indices are kept (the CSR kernels
    take both), so matrices past 2^31 nonzeros work."""
    names = ("X",) if isinstance(y, str) and y == "no_validation" else ("X", "y")
    with naming_errors(*names):
        return validate_data(
            estimator, X, y, reset=reset, accept_sparse=accept_sparse, dtype=FLOAT_DTYPES, order="C",
            accept_large_sparse=True, ensure_min_samples=ensure_min_samples,
        )


def check_float_array(X, *, input_name="X", accept_sparse=False):
    """check_array with lvmfast's contract, for functions (no estimator)."""
    with naming_errors(input_name):
        return check_array(
            X, accept_sparse=accept_sparse, dtype=FLOAT_DTYPES, order="C", accept_large_sparse=True,
            input_name=input_name,
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
