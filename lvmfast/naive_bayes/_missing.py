"""The Gaussian classifiers' fits on X with missing entries (NaN, missing at
random), the classes known.

- 'diag' (GaussianNB) and 'spherical': the log-likelihood of the observed
  entries separates by feature, so its maximum is in closed form: each
  class's mean and variance of a feature over the rows where it is
  observed ('spherical': the variance pooled over every observed entry of
  the class). One pass for the means, one for the variances.
- 'full' and 'tied': EM over the missing entries with the responsibilities
  fixed at the labels: the compiled pass of lvmfast._missing on the
  incomplete rows (conditional means and covariances), the complete rows'
  statistics summed once (class_statistics), from the 'diag' estimate.
"""
import numpy as np

from lvmfast._gaussian import (
    class_statistics, log_likelihood_from_statistics, moments_around,
)
from lvmfast._iterate import iterate
from lvmfast._missing import (
    CHUNK_ROWS, incomplete_rows_by_pattern, missing_mask_rows, missing_statistics, observed_mean,
    refuse_empty_columns, refuse_empty_rows,
)
from lvmfast._parallel import blas_single_thread


def check_missing_rows(X):
    """Rows with missing entries of X (None when X has none); rows or columns
    with every entry missing refused."""
    n_missing = missing_mask_rows(X)
    if not n_missing.any():
        return None
    refuse_empty_rows(n_missing, X.shape[1])
    refuse_empty_columns(X)
    return n_missing


def observed_class_moments(X, labels, weights, n_classes, shift):
    """Per class and feature, over the rows where the feature is observed:
    the weighted count, mean and biased variance (float64, means in the
    frame X - shift); and per class the weighted count of observed entries
    (for 'spherical') and of rows."""
    n_features = X.shape[1]
    counts = np.zeros((n_classes, n_features))
    sums = np.zeros((n_classes, n_features))
    rows = np.bincount(labels, weights=weights, minlength=n_classes).astype(np.float64)

    def chunks():
        for start in range(0, X.shape[0], CHUNK_ROWS):
            stop = start + CHUNK_ROWS
            x = X[start:stop].astype(np.float64) - shift
            observed = ~np.isnan(x)
            yield labels[start:stop], np.where(observed, weights[start:stop, None], 0.0), np.where(observed, x, 0.0)

    for y, w, x in chunks():
        for k in np.unique(y):
            in_class = y == k
            counts[k] += w[in_class].sum(axis=0)
            sums[k] += (w[in_class] * x[in_class]).sum(axis=0)
    means = sums / np.where(counts > 0, counts, 1.0)
    squares = np.zeros((n_classes, n_features))
    for y, w, x in chunks():
        for k in np.unique(y):
            in_class = y == k
            squares[k] += (w[in_class] * np.where(w[in_class] > 0, x[in_class] - means[k], 0.0) ** 2).sum(axis=0)
    return counts, means, squares, rows


def diagonal_fit(X, labels, weights, n_classes, covariance_type, reg_covar, shift):
    """Closed-form 'diag' or 'spherical' class models: (row counts, means in
    the frame, variances ('diag' (K, D), 'spherical' (K,)), per-feature
    observed counts)."""
    counts, means, squares, rows = observed_class_moments(X, labels, weights, n_classes, shift)
    if (counts <= 0).any():
        k, d = np.argwhere(counts <= 0)[0]
        raise ValueError(
            f"Class index {int(k)} has no observed entry of feature {int(d)} (with positive weight): its mean "
            "and variance there cannot be learned from X's missing values."
        )
    if covariance_type == "spherical":
        variances = squares.sum(axis=1) / counts.sum(axis=1) + reg_covar
    else:
        variances = squares / counts + reg_covar
    return rows, means, variances, counts


def full_fit_em(X, n_missing, labels, weights, n_classes, covariance_type, reg_covar, shift, start, m_step, max_iter,
                tol):
    """'full' or 'tied' class models by EM over the missing entries, classes
    known. m_step(counts, means, s2, around) is the classifier's own (as in
    semi-supervised EM), start(counts, means, covariances) the same from
    covariances (the first model: the 'diag' one). Returns (its last state, counts, lower_bound,
    lower_bounds, converged, n_iter): the bound is the mean weighted log
    p(x_o, y) under the state the last iteration started from."""
    complete = np.flatnonzero(n_missing == 0)
    incomplete = incomplete_rows_by_pattern(X, np.flatnonzero(n_missing))
    x_complete = np.ascontiguousarray(X[complete])
    shift_x = np.asarray(shift, dtype=X.dtype).astype(np.float64)  # the frame, as the kernels round it
    if complete.size:
        complete_stats = class_statistics(x_complete, shift_x, weights[complete], labels[complete], n_classes,
                                          covariance_type)
        complete_stats = (complete_stats[0], complete_stats[0][:, None] * complete_stats[1], *complete_stats[2:])
    else:
        size = n_classes * X.shape[1] ** 2 if covariance_type == "full" else X.shape[1] ** 2
        complete_stats = (np.zeros(n_classes), np.zeros((n_classes, X.shape[1])), np.zeros(size),
                          np.zeros((n_classes, X.shape[1])))
    missing_weights = np.ascontiguousarray(weights[incomplete], dtype=np.float64)
    missing_labels = np.ascontiguousarray(labels[incomplete], dtype=np.intp)
    total_weight = float(weights.sum(dtype=np.float64))
    rows, start_means, variances, _ = diagonal_fit(X, labels, weights, n_classes, "diag", reg_covar, shift_x)
    if covariance_type == "full":
        covariances = np.array([np.diag(v) for v in variances])
    else:
        covariances = np.diag(rows @ variances / rows.sum())
    log_prior, means, chol, state = start(rows, start_means, covariances)

    def statistics_of(model):
        log_prior, means, chol, _ = model
        nk, s1, s2, log_likelihood = missing_statistics(
            X, incomplete, missing_weights, log_prior, means + shift_x, chol, covariance_type, shift_x,
            labels=missing_labels,
        )
        around = ((means + shift_x) - shift_x).astype(X.dtype).astype(np.float64)
        counts_c, s1_c, s2_c, around_c = complete_stats
        if complete.size:
            log_likelihood += log_likelihood_from_statistics(
                counts_c, s1_c, s2_c, around_c, log_prior, means, chol, covariance_type
            )
        s2 = s2 + moments_around(counts_c, s1_c, s2_c, around_c, around, covariance_type).ravel()
        return nk + counts_c, s1 + s1_c, s2, around, log_likelihood

    def step(statistics, model):
        nk, s1, s2, around, log_likelihood = statistics
        return m_step(nk, s1 / nk[:, None], s2, around), log_likelihood / total_weight

    model = (log_prior, means, chol, state)
    with blas_single_thread():
        model, lower_bound, lower_bounds, converged, n_iter = iterate(statistics_of, step, model, -np.inf,
                                                                      max_iter, tol)
        if n_iter == 0:
            lower_bound = statistics_of(model)[-1] / total_weight
    return model[3], rows, lower_bound, lower_bounds, converged, n_iter


__all__ = ["check_missing_rows", "diagonal_fit", "full_fit_em", "observed_class_moments", "observed_mean"]
