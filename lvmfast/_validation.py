"""Input and parameter checks shared by every estimator.

Errors say what was expected and what was received. Nothing here writes to the
caller's arrays; a copy is made only when the input is not already a
C-contiguous float32/float64 array.
"""
import numbers
import warnings

import numpy as np

from lvmfast.exceptions import not_fitted_error


def check_array(X, *, name="X", min_samples=1):
    """Return X as a C-contiguous 2-D float32 or float64 array.

    float32 and float64 are kept; other numeric dtypes become float64.
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{name} is a sparse matrix ({type(X).__name__}); lvmfast needs dense data: "
            f"pass {name}.toarray()."
        )
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}; expected real numbers.")
    if X.dtype not in (np.float32, np.float64):
        if X.dtype.kind not in "biufO":
            raise TypeError(f"{name} must hold numbers; got dtype {X.dtype}.")
        X = X.astype(np.float64)  # a dict or string in an object array raises here
    if X.ndim != 2:
        shape = "a scalar" if X.ndim == 0 else f"a {X.ndim}-D array of shape {X.shape}"
        hint = (
            f" Reshape your data: {name}.reshape(-1, 1) for a single feature, "
            f"{name}.reshape(1, -1) for a single sample."
            if X.ndim == 1
            else ""
        )
        raise ValueError(f"Expected a 2-D array for {name} (n_samples, n_features), got {shape}.{hint}")
    n_samples, n_features = X.shape
    if n_samples < min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a minimum of "
            f"{min_samples} is required."
        )
    if n_features < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    _check_finite(X, name)
    return np.ascontiguousarray(X)


def _check_finite(a, name):
    # A finite sum proves every entry finite in O(1) extra memory; only a
    # non-finite sum pays for the elementwise look.
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum(dtype=np.float64)
    if np.isfinite(total):
        return
    if np.isnan(a).any():
        raise ValueError(f"Input {name} contains NaN; lvmfast needs finite values.")
    if not np.isfinite(a).all():
        raise ValueError(f"Input {name} contains infinity; lvmfast needs finite values.")


def check_sample_weight(sample_weight, n_samples, dtype):
    """Return one non-negative finite weight per sample, not all zero, as a
    contiguous array of `dtype`."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        weights = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        weights = np.asarray(sample_weight)
        if weights.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must hold real numbers; got dtype {weights.dtype}.")
        if weights.ndim != 1:
            raise ValueError(f"sample_weight must be 1-D with one weight per sample; got shape {weights.shape}.")
        if weights.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight has {weights.shape[0]} entries but X has {n_samples} samples; "
                "expected one weight per sample."
            )
    weights = np.ascontiguousarray(weights, dtype=dtype)
    _check_finite(weights, "sample_weight")
    if weights.min() < 0:
        raise ValueError(f"sample_weight must be non-negative; got a minimum of {weights.min()}.")
    if not weights.any():
        raise ValueError("sample_weight sums to zero; at least one sample needs a positive weight.")
    return weights


def check_random_state(seed):
    """A numpy RandomState from None (the global one), an int, or a RandomState."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a numpy RandomState; got {seed!r}.")


def check_scalar(value, name, kind, *, minimum=None, maximum=None, include_min=True):
    """Check a numeric parameter: kind 'int' or 'real', within the bounds."""
    types = numbers.Integral if kind == "int" else numbers.Real
    if isinstance(value, bool) or not isinstance(value, types):
        expected = "an int" if kind == "int" else "a real number"
        raise TypeError(f"{name} must be {expected}; got {value!r} of type {type(value).__name__}.")
    if minimum is not None and (value < minimum or (value == minimum and not include_min)):
        bound = ">=" if include_min else ">"
        raise ValueError(f"{name} must be {bound} {minimum}; got {value!r}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value!r}.")
    return value


def check_option(value, name, options):
    """Check that a string parameter is one of `options`."""
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def check_is_fitted(estimator, attribute):
    if not hasattr(estimator, attribute):
        raise not_fitted_error(
            f"This {type(estimator).__name__} instance is not fitted yet. "
            "Call 'fit' with appropriate arguments before using this estimator."
        )


def _feature_names(X):
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    are_str = [isinstance(n, str) for n in names]
    if all(are_str) and len(names):
        return names
    if any(are_str):
        raise TypeError(
            "Feature names are only supported when all column names are strings; "
            f"got a mix of types: {sorted({type(n).__name__ for n in names})}."
        )
    return None


def validate_data(estimator, X, *, reset, min_samples=1):
    """check_array, plus the estimator's record of the features seen in fit:
    `reset` records them (fit); otherwise X must match them (predict)."""
    names = _feature_names(X)
    if not reset:
        check_is_fitted(estimator, "n_features_in_")
        fitted_names = getattr(estimator, "feature_names_in_", None)
        cls = type(estimator).__name__
        if fitted_names is not None and names is None:
            warnings.warn(f"X does not have valid feature names, but {cls} was fitted with feature names", UserWarning)
        elif fitted_names is None and names is not None:
            warnings.warn(f"X has feature names, but {cls} was fitted without feature names", UserWarning)
        elif fitted_names is not None and not np.array_equal(fitted_names, names):
            raise ValueError("The feature names should match those that were passed during fit.")
    X = check_array(X, min_samples=min_samples)
    if reset:
        estimator.n_features_in_ = X.shape[1]
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X
