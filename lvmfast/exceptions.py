"""Exceptions and warnings raised by lvmfast."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before `fit`."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped before it converged, or found a degenerate model."""
