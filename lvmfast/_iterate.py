"""The iteration loop of every EM-like fit: GaussianMixture (EM),
BayesianGaussianMixture (variational EM) and the semi-supervised Gaussian
classifiers. Each alternates one pass over the rows, which sums statistics
under the current state, and an M-step on those statistics, until the lower
bound gains less than tol; they differ only in the pass and the M-step they
hand to `iterate`."""


def iterate(statistics_of, m_step, state, lower_bound, max_iter, tol, on_iteration=None):
    """Run up to max_iter iterations from `state` (whose lower bound is
    `lower_bound`, -inf for a fresh start).

    statistics_of(state) returns the pass's statistics under state;
    m_step(statistics, state) returns the next state and the lower bound;
    on_iteration(n_iter, change), if given, is called after each iteration.

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
        if abs(change) < tol:
            converged = True
            break
    return state, lower_bound, lower_bounds, converged, n_iter
