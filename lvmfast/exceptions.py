"""Exceptions and warnings raised by lvmfast."""
import functools
import sys


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before `fit`."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped before it converged, or found a degenerate model."""


class DataConversionWarning(UserWarning):
    """An input was converted to the form the estimator needs (a column y raveled)."""


@functools.lru_cache(maxsize=None)
def _bridged_not_fitted_error(sklearn_class):
    return type("NotFittedError", (NotFittedError, sklearn_class), {"__module__": __name__})


def not_fitted_error(message):
    """A NotFittedError that scikit-learn's own class also catches when
    scikit-learn is loaded (importing it here would cost a second)."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return NotFittedError(message)
    return _bridged_not_fitted_error(sklearn_exceptions.NotFittedError)(message)
