"""The iteration loop of every EM-like fit: GaussianMixture (EM),
BayesianGaussianMixture (variational EM) and the semi-supervised Gaussian
classifiers. Each alternates one pass over the rows, which sums statistics
under the current state, and an M-step on those statistics, until the lower
bound gains less than tol; they differ only in the pass and the M-step they
hand to `iterate`.

EMRows is the contract of the rows an EM-like loop passes over: a new
backend (another storage of X) or a new model family's loop is written
against it, not against one backend's class."""
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class EMRows(Protocol):
    """The rows backend of the mixtures' loop (lvmfast.mixture._base.fit_rows):
    lvmfast._gaussian.LocalEMRows (the compiled kernels over an
    in-memory X) and lvmfast.dask._mixture.DaskEMRows (the same kernels
    mapped over a dask X's blocks) provide it.

    The weights a backend passes carry mean 1 (the caller's weights divided
    by their mean), and every statistic is taken in the frame X - shift."""

    #: X's dtype: the kernels run in it, and the fitted parameters take it.
    dtype: np.dtype
    #: (n_features,) float64: the origin of the frame the passes work in (a mean of X).
    shift: np.ndarray
    #: sum of the (mean 1) weights, float64.
    total_weight: float

    def em_statistics(self, log_weights: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray,
                      covariance_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """One pass: with r the responsibilities of log N(x | means,
        precisions) + log_weights, (nk = sum w r, s1 = sum w r (x - shift),
        s2 = the second moments around `means` (the tied s2: sum w x x^T),
        sum w log-likelihood), summed in a fixed order."""
        ...


def iterate(statistics_of, m_step, state, lower_bound, max_iter, tol, on_iteration=None, converged_after=None):
    """Run up to max_iter iterations from `state` (whose lower bound is
    `lower_bound`, -inf for a fresh start).

    statistics_of(state) returns the pass's statistics under state;
    m_step(statistics, state) returns the next state and the lower bound;
    on_iteration(n_iter, change), if given, is called after each iteration;
    converged_after(lower_bounds), if given, replaces the test |change| < tol
    (the HMMs' monitor_ decides, as hmmlearn's ConvergenceMonitor does).

    Returns (state, lower_bound, lower_bounds, converged, n_iter):
    lower_bounds holds the bound after each iteration; converged says
    whether the last change was below tol."""
    lower_bounds, converged, n_iter = [], False, 0
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        state, lower_bound = m_step(statistics_of(state), state)
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        if on_iteration is not None:
            on_iteration(n_iter, change)
        if (abs(change) < tol) if converged_after is None else converged_after(lower_bounds):
            converged = True
            break
    return state, lower_bound, lower_bounds, converged, n_iter
