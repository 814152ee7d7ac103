"""Gaussian log-densities from means and precision Cholesky factors, in
scikit-learn's parametrization (covariance_type 'full', 'tied', 'diag',
'spherical'), evaluated by lvmfast._kernels._gaussian. Shared by the
mixtures and the Gaussian classifiers."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import linalg

from lvmfast._kernels import _gaussian as kernels
from lvmfast._kernels._gaussian import CovarianceKind
from lvmfast._missing import (
    covariances_of, diagonal_missing_statistics, incomplete_rows_by_pattern, lift_group_statistics, marginal_model, missing_log_prob,
    missing_mask_rows, missing_statistics, observed_mean, observed_moments, pattern_groups, refuse_empty_columns,
    refuse_empty_rows,
)
from lvmfast._parallel import blas_single_thread, effective_n_threads, plan_blocks, threads_for_work

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# The largest error, in nats, that 'diag' by expansion may make in a
# log-density before the direct differences are used instead.
EXPANSION_TOLERANCE = 1e-3
# Second moments summed around one point lose about log10((mean - point)^2 /
# variance) digits in a component's (or class's) variance once moved to its
# mean. Past this ratio (3 digits) they are summed around the means.
PIVOT_RATIO = 1e3


def log_det_cholesky(precisions_cholesky, covariance_type, n_features):
    """log det of each component's precision Cholesky factor, shape (K,) (or
    a scalar for 'tied')."""
    if covariance_type == "full":
        return np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.log(np.diag(precisions_cholesky)).sum()
    if covariance_type == "diag":
        return np.log(precisions_cholesky).sum(axis=1)
    return n_features * np.log(precisions_cholesky)


def log_prob_terms(means, precisions_cholesky, covariance_type, shift, dtype, log_weights=None):
    """The kernel's per-type inputs (see lvmfast._kernels._gaussian): factors
    (flattened), projected means, offsets and constants, for rows centered by
    `shift` ('full', 'tied' or 'diag'). Computed in float64, factors and
    means cast to `dtype`."""
    means = np.asarray(means, dtype=np.float64) - np.asarray(shift, dtype=np.float64)
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    n_components, n_features = means.shape
    constants = log_det_cholesky(chol, covariance_type, n_features) - 0.5 * n_features * np.log(2 * np.pi)
    constants = np.broadcast_to(constants, (n_components,)).astype(np.float64)
    if log_weights is not None:
        constants = constants + log_weights
    offsets = np.zeros(n_components)
    if covariance_type == "full":
        factors = np.concatenate(list(chol), axis=1)  # D x K*D
        projected = np.einsum("kd,kde->ke", means, chol)
    elif covariance_type == "tied":
        factors = chol
        projected = means @ chol
        offsets = np.einsum("kd,kd->k", projected, projected)
    else:
        factors = chol**2
        projected = means * factors
        offsets = np.einsum("kd,kd->k", means * means, factors)
    return (
        np.ascontiguousarray(factors, dtype=dtype).ravel(),
        np.ascontiguousarray(projected, dtype=dtype),
        np.ascontiguousarray(offsets),
        np.ascontiguousarray(constants),
    )


def expansion_loses_digits(means, precisions_cholesky, shift, dtype):
    """Whether 'diag' by expansion, sum_d p_kd (x_d^2 - 2 x_d m_kd + m_kd^2),
    may err by more than EXPANSION_TOLERANCE on rows the model expects. Its
    rounding error is about u sum_d p_kd (x_d^2 + m_kd^2) (u: the dtype's
    unit roundoff); x_d^2 is bounded by what any component expects,
    (m_jd - shift_d)^2 + 1 / p_jd. A component collapsing onto a few points
    (p ~ 1 / reg_covar) in float32 trips it."""
    precisions = np.asarray(precisions_cholesky, dtype=np.float64) ** 2
    offsets = (np.asarray(means, dtype=np.float64) - np.asarray(shift, dtype=np.float64)) ** 2
    row_sq = (offsets + 1 / precisions).max(axis=0)
    worst = (precisions * (row_sq + offsets)).sum(axis=1).max()
    return np.finfo(dtype).eps / 2 * worst > EXPANSION_TOLERANCE


def moments_lose_digits(means, precisions_cholesky, shift, covariance_type="diag"):
    """Whether second moments summed around the shift (sum r x x^T, the
    expansion's) would lose more than log10(PIVOT_RATIO) digits of some
    component's variances once moved to its mean: (m_d - shift_d)^2 past
    PIVOT_RATIO times the variance in some feature d ('diag' or 'full')."""
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    if chol.ndim == 1:  # spherical: one precision per component
        chol = chol[:, None]
    if covariance_type == "full":
        # Sigma = P^-T P^-1: its diagonal, the column norms of P^-1
        variances = (np.linalg.inv(chol) ** 2).sum(axis=1)
    else:
        variances = 1 / chol**2
    offsets = (np.asarray(means, dtype=np.float64) - np.asarray(shift, dtype=np.float64)) ** 2
    return bool(np.any(offsets > PIVOT_RATIO * variances))


def kernel_terms(means, precisions_cholesky, covariance_type, shift, dtype, log_weights=None, direct=None):
    """The kernel's CovarianceKind and its terms (see log_prob_terms). 'spherical'
    goes as 'diag' with equal precisions. direct=True evaluates 'diag' by
    direct differences (DIAG_DIRECT) instead of one gemm: slower, but exact where
    the expansion ||x||^2 - 2 x.m + ||m||^2 loses digits; None decides by
    expansion_loses_digits."""
    if covariance_type == "spherical":
        n_features = np.shape(means)[1]
        precisions_cholesky = np.repeat(np.asarray(precisions_cholesky, dtype=np.float64)[:, None], n_features, axis=1)
        covariance_type = "diag"
    terms = log_prob_terms(means, precisions_cholesky, covariance_type, shift, dtype, log_weights)
    if direct is None and covariance_type == "diag":
        direct = expansion_loses_digits(means, precisions_cholesky, shift, dtype)
    if direct and covariance_type == "diag":
        centered = np.ascontiguousarray(np.asarray(means, dtype=np.float64) - shift, dtype=dtype)
        return CovarianceKind.DIAG_DIRECT, (terms[0], centered, terms[2], terms[3])
    return CovarianceKind[covariance_type.upper()], terms


def log_prob(X, shift, means, precisions_cholesky, covariance_type, log_weights=None, chunk_rows=None,
             direct=None, normalize=False):
    """log N(x_i | mu_k, Sigma_k) (+ log_weights[k]) for every row and
    component: an (n_samples, n_components) row-major array in X's dtype.
    X must already be validated (C-contiguous float32/float64). direct: see
    kernel_terms. normalize=True returns (p, lse) instead: each row's
    exp(log-density - lse), lse its log-sum-exp (float64), normalized in the
    same pass."""
    n_samples, n_features = X.shape
    n_components = np.shape(means)[0]
    code, terms = kernel_terms(means, precisions_cholesky, covariance_type, shift, X.dtype, log_weights, direct)
    if chunk_rows is None:
        per_row = n_features + 2 * n_components + (n_components * n_features if covariance_type == "full" else n_features)
        chunk_rows = plan_blocks(n_samples, row_bytes=per_row * X.itemsize).chunk_rows
        if covariance_type == "full":
            # its product, chunk x [P_1 ... P_K], runs 4-5% faster with 256
            # rows than the 112 of a 256 KiB chunk (1M x 50, 10 classes);
            # the scratch may then reach 4x that
            chunk_rows = max(chunk_rows, min(256, 4 * chunk_rows))
    out = np.empty((n_samples, n_components), dtype=X.dtype)
    lse = np.empty(n_samples) if normalize else None
    with blas_single_thread():
        kernels.log_prob(
            X, np.ascontiguousarray(shift, dtype=X.dtype), code, *terms, out, lse, chunk_rows,
            threads_for_work(out.size * (n_features if covariance_type == "full" else 1) * n_features),
        )
    return (out, lse) if normalize else out


def log_prob_with_missing(X, shift, means, precisions_cholesky, covariance_type, log_weights=None, normalize=True,
                          direct=None):
    """log_prob for X that may hold NaN (missing entries): complete rows by
    its kernels (on a copy of the complete rows), the others by their
    marginal density over their observed features (lvmfast._missing).
    normalize=True returns (p, lse) as log_prob does; otherwise the
    (n_samples, n_components) log-densities plus log_weights. In X's dtype
    (lse float64). A row with every feature missing is refused."""
    n_missing = missing_mask_rows(X)
    refuse_empty_rows(n_missing, X.shape[1])
    incomplete = np.flatnonzero(n_missing)
    if incomplete.size == 0:
        return log_prob(X, shift, means, precisions_cholesky, covariance_type, log_weights, direct=direct,
                        normalize=normalize)
    complete = np.flatnonzero(n_missing == 0)
    n_components = np.shape(means)[0]
    out = np.empty((X.shape[0], n_components), dtype=X.dtype)
    lse = np.empty(X.shape[0])
    if complete.size:
        result = log_prob(np.ascontiguousarray(X[complete]), shift, means, precisions_cholesky, covariance_type,
                          log_weights, direct=direct, normalize=normalize)
        if normalize:
            out[complete], lse[complete] = result
        else:
            out[complete] = result
    log_dens = missing_log_prob(X, incomplete, shift, means, precisions_cholesky, covariance_type, log_weights)
    if not normalize:
        out[incomplete] = log_dens
        return out
    top = log_dens.max(axis=1, keepdims=True)
    probabilities = np.exp(log_dens - top)
    total = probabilities.sum(axis=1, keepdims=True)
    out[incomplete] = probabilities / total
    lse[incomplete] = (top + np.log(total)).ravel()
    return out, lse


def check_precisions_fit_dtype(largest_precision, dtype):
    """Refuse a model whose precisions (inverse variances, the largest given
    in float64) overflow the data's dtype: float32 data whose spread is near
    its smallest normal numbers (about 1e-19 and below) would give infinite
    precisions and NaN probabilities."""
    dtype = np.dtype(dtype)
    limit = float(np.finfo(dtype).max)
    if largest_precision < limit:
        return
    hint = " or pass X as float64" if dtype == np.float32 else ""
    raise ValueError(
        f"X's spread is too small for {dtype.name}: the fitted precisions (inverse variances) reach "
        f"{largest_precision:.3g}, past the {dtype.name} maximum {limit:.3g}, so the densities would be "
        f"infinite or NaN. Scale the data (for example standardize it){hint}."
    )


def explain_zero_variance(X):
    """Called when a fit's variances came out zero (not positive definite):
    raise the reason that lies in X itself, if it does. Constant X has no
    spread at all; data whose spread squared underflows the dtype (float32
    near 1e-19, float64 near 1e-154 and subnormal values) would need
    precisions past its maximum. Returns when X has a usable spread (the
    caller then blames the one class or component)."""
    spread = float(np.max(X.max(axis=0).astype(np.float64) - X.min(axis=0)))
    if spread == 0.0:
        raise ValueError(
            "X is constant (every feature takes a single value), so every variance is 0 and the "
            "Gaussian densities are undefined. Pass X with some spread."
        )
    with np.errstate(over="ignore"):
        check_precisions_fit_dtype(float(np.float64(spread) ** -2), X.dtype)


def largest_precision(precisions_cholesky):
    """An estimate of the largest precision, max |P_ij|^2, in float64."""
    chol = np.abs(np.asarray(precisions_cholesky, dtype=np.float64))
    with np.errstate(over="ignore"):
        return float(chol.max()) ** 2 if chol.size else 0.0


def statistics_size(covariance_type, n_components, n_features):
    """Length of the flattened second-moment statistic per block."""
    if covariance_type == "full":
        return n_components * n_features * n_features
    if covariance_type == "tied":
        return n_features * n_features
    return n_components * n_features


def em_statistics(X, shift, sample_weight, log_weights, means, precisions_cholesky, covariance_type, n_threads=None,
                  tied_scatter=None):
    """One fused pass: the E-step under (log_weights, means,
    precisions_cholesky) and the M-step's weighted sufficient statistics, in
    the frame X - shift. log_weights (K,) is added to each component's
    log-density: log pi_k for EM, the expected log weight and Wishart terms
    for the variational E-step.

    Returns nk (K,), s1 (K, D) = sum w r x, s2 (see em_pass: around the
    current means, rounded to X's dtype) and the weighted log-likelihood
    sum, all float64, reduced over blocks in block order. 'tied': s2 is the
    rows' scatter sum w x x^T, the same in every pass; a tied_scatter from
    an earlier pass (same X, weights, shift) is returned instead of summed.
    """
    n_samples, n_features = X.shape
    n_components = np.shape(means)[0]
    n_threads = threads_for_work(
        X.size * n_components * (n_features if covariance_type in ("full", "tied") else 1), n_threads
    )
    code, terms = kernel_terms(
        means, precisions_cholesky, covariance_type, shift, X.dtype, np.asarray(log_weights, dtype=np.float64)
    )
    centered_means = np.ascontiguousarray(np.asarray(means, dtype=np.float64) - shift, dtype=X.dtype)
    s2_size = statistics_size(covariance_type, n_components, n_features)
    reuse_scatter = covariance_type == "tied" and tied_scatter is not None
    # 'full' and 'diag' moments by one gemm around the shift, in float64
    # where few digits are lost; float32 sums them around the means (its
    # sums of squares around the shift kept 4 digits)
    around_shift = (
        X.dtype == np.float64 and code in (CovarianceKind.FULL, CovarianceKind.DIAG)
        and not moments_lose_digits(means, precisions_cholesky, shift, "full" if code == CovarianceKind.FULL else "diag")
    )
    work = {CovarianceKind.FULL: n_components * n_features, CovarianceKind.TIED: n_features + 1,
            CovarianceKind.DIAG: n_features}.get(code, n_features)
    plan = plan_blocks(
        n_samples,
        row_bytes=(2 * n_features + n_components + work) * X.itemsize + 8,
        stat_bytes=(n_components * (n_features + 1) + s2_size + 1) * 8,
    )
    nk = np.empty((plan.n_blocks, n_components))
    s1 = np.empty((plan.n_blocks, n_components, n_features))
    s2 = np.empty((plan.n_blocks, s2_size))
    log_likelihood = np.empty(plan.n_blocks)
    with blas_single_thread():
        kernels.em_pass(
            X, np.ascontiguousarray(shift, dtype=X.dtype), sample_weight,
            code, *terms,
            centered_means, nk, s1, s2, log_likelihood, plan.chunk_rows, plan.block_rows, n_threads,
            not reuse_scatter, around_shift,
        )
    nk, s1, s2 = nk.sum(axis=0), s1.sum(axis=0), s2.sum(axis=0)
    around = centered_means.astype(np.float64)
    if reuse_scatter:
        s2 = np.asarray(tied_scatter, dtype=np.float64).ravel()
    elif around_shift and code == CovarianceKind.DIAG:  # sum w r x^2, moved to the means
        s2 = (s2.reshape(n_components, n_features) - 2 * around * s1 + nk[:, None] * around**2).ravel()
    elif around_shift:  # 'full': sum w r x x^T (upper triangles), mirrored and moved to the means
        upper = s2.reshape(n_components, n_features, n_features)
        scatter = upper + np.swapaxes(np.triu(upper, 1), 1, 2)
        cross = s1[:, :, None] * around[:, None, :]
        s2 = (scatter - cross - np.swapaxes(cross, 1, 2)
              + nk[:, None, None] * around[:, :, None] * around[:, None, :]).ravel()
    return nk, s1, s2, float(log_likelihood.sum())


class LocalEMRows:
    """The local backend of the EM pass (an EMRows): the compiled kernels
    over the fixed blocks of an in-memory X (em_statistics), for the
    mixtures' loop and the classifiers' semi-supervised EM. The Dask
    backend is lvmfast.dask._mixture.DaskEMRows.

    share_initial_assignments=True keeps a memo of the initial one-hot
    assignments (`initial_assignments`), so that fits of several covariance
    types on these rows draw them once (GaussianMixtureIC's grid).

    allow_missing=True: NaN entries of X are missing at random. When X has
    some, the complete rows go through em_statistics (on one copy of the
    complete rows, `X`); the rows of a missingness pattern shared by
    lvmfast._missing.GROUP_MIN_ROWS rows or more through em_statistics too,
    on their observed entries (gathered once per pattern) under the
    observed marginal, their statistics lifted to all features; the other
    incomplete rows through lvmfast._missing's per-row kernel, read in
    place from X by index in pattern order. Their statistics add up. The frame's shift is then each feature's mean over
    its observed entries. Rows or columns with every entry missing are
    refused (columns: unless check_columns=False, for a part of X). Without
    NaN the rows are exactly those of allow_missing=False."""

    def __init__(self, X, sample_weight, n_threads, share_initial_assignments=False, allow_missing=False,
                 check_columns=True):
        # sample_weight: the fit's weights of mean 1 (lvmfast._validation.unit_mean_weights),
        # zero on the rows the pass leaves out (the semi-supervised labeled rows)
        self.incomplete = None  # the rows with a missing entry, in pattern order (None: none)
        self.groups = []  # the patterns of many rows (see pattern_groups)
        self.observed_moments = None  # with missing entries: () -> each feature's observed mean and variance
        n_missing = missing_mask_rows(X) if allow_missing else None
        if n_missing is not None and n_missing.any():
            refuse_empty_rows(n_missing, X.shape[1])
            if check_columns:  # (a Dask block or a sample may miss a feature that X has)
                refuse_empty_columns(X)
            self.X_all, self.weights_all = X, sample_weight
            self.groups, self.incomplete = pattern_groups(X, incomplete_rows_by_pattern(X, np.flatnonzero(n_missing)))
            # the same rows in X's order, for the products' pass ('diag', 'spherical')
            self.incomplete_in_order = np.sort(self.incomplete)
            self.incomplete_in_order_weight = np.ascontiguousarray(sample_weight[self.incomplete_in_order],
                                                                   dtype=np.float64)
            # each group: observed and missing features, its rows' observed entries and weights
            self.groups = [(o, m, np.ascontiguousarray(X[np.ix_(rows, o)]), np.ascontiguousarray(sample_weight[rows]))
                           for o, m, rows in self.groups]
            self.incomplete_weight = np.ascontiguousarray(sample_weight[self.incomplete], dtype=np.float64)
            complete = np.flatnonzero(n_missing == 0)
            self.shift = observed_mean(X, n_missing)
            self.observed_moments = lambda: observed_moments(self.X_all, self.weights_all)
            X, sample_weight = np.ascontiguousarray(X[complete]), np.ascontiguousarray(sample_weight[complete])
        else:
            self.shift = X.mean(axis=0, dtype=np.float64)  # the frame of the pass
        self.X, self.sample_weight, self.n_threads = X, sample_weight, n_threads
        self.dtype = X.dtype
        self.total_weight = (self.weights_all if self.incomplete is not None else sample_weight).sum(dtype=np.float64)
        # sum w x x^T, the tied s2 of every pass, summed once per component
        # count (whose block plan fixes its rounding)
        self._tied_scatter = {}
        self.initial_assignments = {} if share_initial_assignments else None

    def rows_for_initialization(self, n_components):
        """The rows the initial responsibilities are drawn on: these rows;
        with missing entries, the complete rows when there are at least
        10 (n_features + 1) per component (enough for each component's
        mean and covariance), otherwise X with each missing entry set to its
        feature's observed mean (a copy made for the initialization only).
        Same shift as this pass."""
        if self.incomplete is None:
            return self
        if self.X.shape[0] >= 10 * n_components * (self.X.shape[1] + 1):
            rows = LocalEMRows(self.X, self.sample_weight, self.n_threads)
        else:
            filled = self.X_all.copy()
            for start in range(0, filled.shape[0], 65536):
                chunk = filled[start:start + 65536]
                np.copyto(chunk, np.broadcast_to(self.shift.astype(self.dtype), chunk.shape), where=np.isnan(chunk))
            rows = LocalEMRows(filled, self.weights_all, self.n_threads)
        rows.shift = self.shift
        return rows

    def em_statistics(self, log_weights, means, precisions_cholesky, covariance_type):
        n_components = len(means)
        shift = self.shift.astype(self.dtype)
        statistics = None
        if self.X.shape[0]:
            statistics = em_statistics(
                self.X, shift, self.sample_weight, log_weights, means, precisions_cholesky,
                covariance_type, self.n_threads, tied_scatter=self._tied_scatter.get(n_components),
            )
            if covariance_type == "tied":
                self._tied_scatter[n_components] = statistics[2]
        if self.incomplete is None:
            return statistics
        parts = [] if statistics is None else [statistics]
        if self.incomplete.size and covariance_type in ("diag", "spherical"):  # any patterns, by products
            n_threads = effective_n_threads() if self.n_threads is None else int(self.n_threads)
            parts.append(diagonal_missing_statistics(
                self.X_all, self.incomplete_in_order, self.incomplete_in_order_weight, log_weights, means,
                precisions_cholesky, covariance_type, shift,
                threads_for_work(self.incomplete.size * n_components * self.X_all.shape[1], n_threads),
            ))
        elif self.incomplete.size:
            parts.append(missing_statistics(
                self.X_all, self.incomplete, self.incomplete_weight, log_weights, means, precisions_cholesky,
                covariance_type, shift, n_threads=self.n_threads,
            ))
        if self.groups:
            n_features = self.X_all.shape[1]
            means = np.asarray(means, dtype=np.float64)
            covariances = covariances_of(precisions_cholesky, covariance_type, n_components, n_features)
            centered = (means - shift).astype(self.dtype).astype(np.float64)  # as em_statistics rounds them
            n_threads = effective_n_threads() if self.n_threads is None else int(self.n_threads)
            # As many groups as threads or more: each group's pass on one
            # thread, the groups side by side (one join per pass, not one per
            # group); fewer: one group at a time on all threads. The results
            # are the same bits either way.
            side_by_side = len(self.groups) >= n_threads > 1

            def group_statistics(index):
                observed, missing, x_observed, weights = self.groups[index]
                chol, gain, conditional = marginal_model(covariances, covariance_type, observed)
                if covariance_type == "spherical":
                    chol = precisions_cholesky
                key = (index, n_components)
                group = em_statistics(
                    x_observed, shift[observed], weights, log_weights, means[:, observed], chol, covariance_type,
                    1 if side_by_side else n_threads, tied_scatter=self._tied_scatter.get(key),
                )
                if covariance_type == "tied":
                    self._tied_scatter[key] = group[2]
                return lift_group_statistics(group, observed, missing, gain, conditional, centered, covariances,
                                             covariance_type, n_features)

            if side_by_side:
                with ThreadPoolExecutor(n_threads) as pool:
                    parts.extend(pool.map(group_statistics, range(len(self.groups))))
            else:
                parts.extend(group_statistics(index) for index in range(len(self.groups)))
        total = parts[0]
        for part in parts[1:]:
            total = tuple(a + b for a, b in zip(total, part))
        return total


def moments_around(nk, s1, s2, around, to, covariance_type):
    """em_pass's second moments s2, summed around `around` (K x D), summed
    around `to` instead: with d = to - around and c = s1 - nk around =
    sum w r (x - around), s2 - c d^T - d c^T + nk d d^T, exactly. (c is not
    nk d where `to` is not s1 / nk.) 'tied' s2 is sum w x x^T, around no
    means: returned as it is."""
    if covariance_type == "tied":
        return s2
    n_components, n_features = s1.shape
    shift = to - around
    centered_s1 = s1 - nk[:, None] * around
    if covariance_type == "full":
        s2 = s2.reshape(n_components, n_features, n_features)
        cross = centered_s1[:, :, None] * shift[:, None, :]
        return s2 - cross - cross.transpose(0, 2, 1) + nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
    return s2.reshape(n_components, n_features) - 2 * centered_s1 * shift + nk[:, None] * shift**2


def covariances_from_moments(moments, counts, covariance_type, reg_covar):
    """The (biased, weighted) covariances of the components or classes from
    their second moments around their own means: `moments` is what
    moments_around(..., to=means) gives ('full': (K, D, D); 'diag',
    'spherical': (K, D)), or for 'tied' the pooled scatter
    sum_k sum w (x - m_k)(x - m_k)^T (D, D). Divided by the counts ('tied':
    by their sum), reg_covar added to the diagonal; variances are clipped
    at 0 (rounding), and 'spherical' is their mean per component. The one
    estimate of the mixtures' M-step and the classifiers' fit."""
    n_features = moments.shape[-1]
    if covariance_type == "tied":
        covariances = moments / counts.sum()
        covariances.flat[:: n_features + 1] += reg_covar
        return covariances
    if covariance_type == "full":
        covariances = moments / counts[:, None, None]
        for covariance in covariances:
            covariance.flat[:: n_features + 1] += reg_covar
        return covariances
    variances = np.maximum(moments / counts[:, None], 0.0) + reg_covar
    return variances.mean(axis=1) if covariance_type == "spherical" else variances


def merge_moments(counts_a, means_a, covariances_a, counts_b, means_b, covariances_b, covariance_type):
    """Two sets of rows' statistics per class combined exactly (Chan, Golub
    and LeVeque's pairwise update): counts (K,), means (K, D) and biased
    covariances ('full': (K, D, D); 'diag': (K, D); 'spherical': (K,), the
    mean of the features' variances; 'tied': (D, D), the classes' pooled
    scatter over their total count). Each class's covariance becomes
    p C_a + q C_b + p q d d^T, with p, q the two shares of its total weight
    and d = mean_a - mean_b (taken as fractions, so that huge weights do not
    overflow in n_a n_b). A class with no weight in b keeps a's statistics
    exactly. Returns (counts, means, covariances)."""
    counts = counts_a + counts_b
    safe = np.where(counts > 0, counts, 1)
    past, new = counts_a / safe, counts_b / safe
    filled = counts_b > 0
    delta = means_a - means_b
    means = np.where(filled[:, None], past[:, None] * means_a + new[:, None] * means_b, means_a)
    cross = past * new
    if covariance_type == "tied":  # pooled: sum_k n_k (p_k q_k d_k d_k^T) over the total count
        total_a, total = counts_a.sum(), counts.sum()
        share_a = total_a / total if total > 0 else 0.0
        spread = ((counts / (total if total > 0 else 1) * cross)[:, None] * delta).T @ delta
        return counts, means, share_a * covariances_a + (1 - share_a) * covariances_b + spread
    if covariance_type == "full":
        merged = (past[:, None, None] * covariances_a + new[:, None, None] * covariances_b
                  + cross[:, None, None] * delta[:, :, None] * delta[:, None, :])
        return counts, means, np.where(filled[:, None, None], merged, covariances_a)
    if covariance_type == "spherical":
        merged = past * covariances_a + new * covariances_b + cross * np.mean(delta**2, axis=1)
        return counts, means, np.where(filled, merged, covariances_a)
    merged = past[:, None] * covariances_a + new[:, None] * covariances_b + cross[:, None] * delta**2
    return counts, means, np.where(filled[:, None], merged, covariances_a)


def pooled_scatter(s2, counts, means):
    """The tied moments: sum_k sum w (x - m_k)(x - m_k)^T from the pass's
    tied s2 (sum w x x^T) and each component's count and mean."""
    n_features = means.shape[1]
    return s2.reshape(n_features, n_features) - (counts[:, None] * means).T @ means


def log_likelihood_from_statistics(nk, s1, s2, around, log_weights, means, precisions_cholesky, covariance_type):
    """sum over the rows of w log(weight_k N(x | means_k, Sigma_k)), each row
    taken in its own (known) component, from the rows' statistics alone
    (nk, s1 and s2 around `around`, as em_pass sums them, all float64):
    sum_k nk_k (log_weights_k + log det L_k - D/2 log 2 pi)
    - 1/2 trace(P_k S_k), with S_k the moments around means_k and P_k the
    precision L_k L_k^T."""
    n_components, n_features = s1.shape
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    log_det = np.broadcast_to(log_det_cholesky(chol, covariance_type, n_features), (n_components,))
    per_row = np.asarray(log_weights, dtype=np.float64) + log_det - 0.5 * n_features * np.log(2 * np.pi)
    with np.errstate(invalid="ignore"):  # a component without rows adds nothing, whatever its weight
        total = float(np.where(nk > 0, nk * per_row, 0.0).sum())
    if covariance_type == "tied":
        # sum_k sum_rows (x - m_k)(x - m_k)^T from sum w x x^T over all rows
        cross = s1.T @ means
        scatter = s2.reshape(n_features, n_features) - cross - cross.T + (nk[:, None] * means).T @ means
        return total - 0.5 * float(np.sum((scatter @ chol) * chol))
    moments = moments_around(nk, s1, s2, around, means, covariance_type)
    if covariance_type == "full":
        return total - 0.5 * float(np.einsum("kij,kjl,kil->", moments, chol, chol))
    precisions = chol**2 if covariance_type == "diag" else (chol**2)[:, None]
    return total - 0.5 * float(np.sum(moments * precisions))


def precision_cholesky(covariances, covariance_type, reg_covar, names=None):
    """scikit-learn's precisions_cholesky_ from covariances. A component (or
    class, named by `names`) whose covariance is not positive definite gets an
    error that names it and suggests reg_covar."""

    def collapsed(index):
        if names is not None and index is None:  # a classifier's pooled covariance
            return ValueError(
                "The pooled (tied) covariance collapsed: it is not positive definite (the samples "
                f"lie on a lower-dimensional set). Increase reg_covar (now {reg_covar!r}) or scale "
                "the input data X."
            )
        if names is not None:
            return ValueError(
                f"Class {names[index]!r} collapsed: its covariance is not positive definite (a "
                f"singleton or samples on a lower-dimensional set). Increase reg_covar (now "
                f"{reg_covar!r}) or scale the input data."
            )
        which = "The shared covariance" if index is None else f"Component {index}"
        # scikit-learn's sentence first (its tests match it), then which one.
        return ValueError(
            "Fitting the mixture model failed because some components have ill-defined "
            "empirical covariance (for instance caused by singleton or collapsed samples). "
            "Try to decrease the number of components, increase reg_covar, or scale the "
            f"input data. {which} collapsed: its covariance is not positive definite "
            f"(reg_covar is {reg_covar!r}; the rows of X it holds lie on a lower-dimensional set)."
        )

    if covariance_type in ("full", "tied"):
        stack = covariances[None] if covariance_type == "tied" else covariances
        if not np.isfinite(stack).all():
            raise ValueError("array must not contain infs or NaNs")  # as scipy.linalg.cholesky says
        # The LAPACK routines scipy.linalg.cholesky and solve_triangular call
        # (the same bits), without their per-call checks: an M-step calls
        # this once per component, and a stream once per batch.
        identity = np.eye(stack.shape[-1])  # float64, as solve_triangular's: float32 factors are inverted in float64
        (potrf,) = linalg.lapack.get_lapack_funcs(("potrf",), (stack,))
        (trtrs,) = linalg.lapack.get_lapack_funcs(("trtrs",), (stack, identity))
        out = np.empty_like(stack)
        for k, cov in enumerate(stack):
            chol, info = potrf(cov, lower=True, clean=True)
            if info > 0:
                raise collapsed(None if covariance_type == "tied" else k)
            inverse, info = trtrs(chol, identity, lower=True)
            if info != 0:
                raise collapsed(None if covariance_type == "tied" else k)
            out[k] = inverse.T
        return out[0] if covariance_type == "tied" else out
    bad = np.flatnonzero(np.asarray(covariances).reshape(len(covariances), -1).min(axis=1) <= 0)
    if bad.size:
        raise collapsed(int(bad[0]))
    return 1.0 / np.sqrt(covariances)


# A single class pass sums the second moments around a pivot row of each
# class; past PIVOT_RATIO they are summed again, around the means.
PIVOT_SEARCH_ROWS = 65536


def _class_pivots(X, shift, sample_weight, labels, n_classes):
    """One row of each class (its first weighted row among the first
    PIVOT_SEARCH_ROWS rows), centered by shift, in X's dtype; the frame's
    origin for a class not seen there."""
    pivots = np.zeros((n_classes, X.shape[1]), dtype=X.dtype)
    rows = np.flatnonzero(sample_weight[:PIVOT_SEARCH_ROWS] > 0)
    first = np.full(n_classes, -1, dtype=np.intp)
    first[labels[rows[::-1]]] = rows[::-1]  # the last write per class is its first row
    seen = first >= 0
    pivots[seen] = X[first[seen]] - np.asarray(shift, dtype=X.dtype)
    return pivots


def class_statistics(X, shift, sample_weight, labels, n_classes, covariance_type, n_threads=None):
    """Per class k (labels in 0 .. n_classes-1), in the frame X - shift:
    nk = sum w, means = sum w x / nk, and s2, the second moments of em_pass
    taken around `around` ('tied': sum w x x^T). One pass over X sums them
    around a pivot row of each class; where a pivot lies too far from its
    class's mean for that to be accurate (PIVOT_RATIO), a second pass sums
    them around the means."""
    n_samples, n_features = X.shape
    n_threads = threads_for_work(X.size * (n_features if covariance_type in ("full", "tied") else 1), n_threads)
    s2_size = statistics_size(covariance_type, n_classes, n_features)
    plan = plan_blocks(
        n_samples,
        row_bytes=(2 * n_features + n_classes) * X.itemsize,
        stat_bytes=(n_classes * (n_features + 1) + s2_size) * 8,
    )
    code = CovarianceKind[covariance_type.upper()]
    labels = np.ascontiguousarray(labels, dtype=np.intp)
    shift = np.ascontiguousarray(shift, dtype=X.dtype)
    nk = np.empty((plan.n_blocks, n_classes))
    s1 = np.empty((plan.n_blocks, n_classes, n_features))
    s2 = np.empty((plan.n_blocks, s2_size))
    around = _class_pivots(X, shift, sample_weight, labels, n_classes)
    with blas_single_thread():
        for around_the_means in (False, True):
            kernels.class_pass(
                X, shift, sample_weight, labels, code, around, True, nk, s1, s2,
                plan.chunk_rows, plan.block_rows, n_threads,
            )
            counts = nk.sum(axis=0)
            means64 = s1.sum(axis=0) / np.where(counts > 0, counts, 1)[:, None]
            moments = s2.sum(axis=0)
            if (around_the_means or covariance_type == "tied"
                    or not _pivots_too_far(counts, means64, moments, around, covariance_type)):
                break
            around = np.ascontiguousarray(means64, dtype=X.dtype)
    return counts, means64, moments, around.astype(np.float64)


def _pivots_too_far(counts, means, s2, around, covariance_type):
    """Whether any class's (mean - pivot)^2 exceeds PIVOT_RATIO times its
    variance in some feature (see class_statistics)."""
    n_classes, n_features = means.shape
    filled = counts > 0
    if covariance_type == "full":
        second = np.diagonal(s2.reshape(n_classes, n_features, n_features), axis1=1, axis2=2)
    else:
        second = s2.reshape(n_classes, n_features)
    offset = (means - around.astype(np.float64)) ** 2
    variance = second[filled] / counts[filled, None] - offset[filled]
    return bool(np.any(offset[filled] > PIVOT_RATIO * np.maximum(variance, 0.0)))
