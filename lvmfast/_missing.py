"""Missing entries (NaN, missing at random) in the Gaussian passes: which
rows are incomplete, ordered by missingness pattern, and the compiled
kernels (lvmfast._kernels._missing) that evaluate and sum them.

Complete rows keep today's kernels (lvmfast._gaussian); only the incomplete
rows go through the missing-value kernel, read in place from X by index
(no filled-in copy of X). For a row with observed features o and missing
features m under a Gaussian component:

- its density is the marginal over o, N(x_o | mu_o, Sigma_oo);
- the EM statistics take the missing entries' conditional expectations:
  E[x_m | x_o] = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o) in s1, and
  E[x x^T | x_o], that is xhat xhat^T plus the conditional covariance
  Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om on the (m, m) block, in s2.
  For 'diag' and 'spherical' components the missing features drop out of
  the density, and their conditional mean and variance are the
  component's own.
"""
import numpy as np

from lvmfast._kernels import _missing as kernels
from lvmfast._parallel import blas_single_thread, plan_blocks, threads_for_work

CHUNK_ROWS = 65536
KIND = {"full": 0, "tied": 1, "diag": 2, "spherical": 2}


def missing_mask_rows(X):
    """Per row of X (dense, NaN marking missing entries): whether it has a
    missing entry, and how many it has; computed a chunk at a time."""
    n_missing = np.empty(X.shape[0], dtype=np.intp)
    for start in range(0, X.shape[0], CHUNK_ROWS):
        n_missing[start:start + CHUNK_ROWS] = np.isnan(X[start:start + CHUNK_ROWS]).sum(axis=1)
    return n_missing


def refuse_empty_rows(n_missing, n_features, input_name="X"):
    """A row with every feature missing has no density to evaluate and
    tells nothing about the parameters: refused with its position."""
    empty = np.flatnonzero(n_missing == n_features)
    if empty.size:
        raise ValueError(
            f"{input_name} has {empty.size} row(s) with every feature missing (NaN), the first at index "
            f"{int(empty[0])}: such a row has no observed feature to evaluate or learn from. Drop these rows."
        )


def refuse_empty_columns(X, input_name="X"):
    """A feature with no observed entry has no mean or variance to learn."""
    observed = np.zeros(X.shape[1], dtype=bool)
    for start in range(0, X.shape[0], CHUNK_ROWS):
        observed |= ~np.isnan(X[start:start + CHUNK_ROWS]).all(axis=0)
    if not observed.all():
        columns = np.flatnonzero(~observed)
        raise ValueError(
            f"{input_name} has {columns.size} feature(s) with every entry missing (NaN), column(s) "
            f"{columns[:10].tolist()}{' ...' if columns.size > 10 else ''}: their distribution cannot be "
            "learned. Drop these columns."
        )


def incomplete_rows_by_pattern(X, incomplete):
    """The indices `incomplete` (rows with a missing entry) ordered by their
    missingness pattern (stable, so rows of one pattern keep their order):
    runs of one pattern then share each component's factorization in the
    kernel."""
    if incomplete.size == 0:
        return incomplete
    n_features = X.shape[1]
    if n_features <= 64:  # the pattern as the bits of one integer
        bits = np.left_shift(np.uint64(1), np.arange(n_features, dtype=np.uint64))
        keys = np.empty(incomplete.size, dtype=np.uint64)
        for start in range(0, incomplete.size, CHUNK_ROWS):
            rows = incomplete[start:start + CHUNK_ROWS]
            keys[start:start + rows.size] = np.bitwise_or.reduce(np.where(np.isnan(X[rows]), bits, np.uint64(0)),
                                                                  axis=1)
        return np.ascontiguousarray(incomplete[np.argsort(keys, kind="stable")])
    keys = np.empty((incomplete.size, -(-n_features // 8)), dtype=np.uint8)
    for start in range(0, incomplete.size, CHUNK_ROWS):
        rows = incomplete[start:start + CHUNK_ROWS]
        keys[start:start + rows.size] = np.packbits(np.isnan(X[rows]), axis=1)
    _, pattern = np.unique(keys, axis=0, return_inverse=True)
    return np.ascontiguousarray(incomplete[np.argsort(pattern.ravel(), kind="stable")])


def observed_mean(X, n_missing):
    """The mean of each feature over its observed entries (float64)."""
    total = np.zeros(X.shape[1])
    count = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start:start + CHUNK_ROWS]
        total += np.nansum(chunk, axis=0, dtype=np.float64)
        count += (~np.isnan(chunk)).sum(axis=0)
    return total / count


def observed_moments(X, weights, ddof=1):
    """The weighted mean and variance of each feature over its observed
    entries (float64), the variance divided by their total weight - ddof
    (1: the n - 1 correction on weights of mean 1)."""
    total = np.zeros(X.shape[1])
    count = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start:start + CHUNK_ROWS].astype(np.float64)
        w = np.where(np.isnan(chunk), 0.0, weights[start:start + CHUNK_ROWS, None])
        total += (w * np.nan_to_num(chunk)).sum(axis=0)
        count += w.sum(axis=0)
    mean = total / count
    scatter = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start:start + CHUNK_ROWS].astype(np.float64) - mean
        w = np.where(np.isnan(chunk), 0.0, weights[start:start + CHUNK_ROWS, None])
        scatter += (w * np.nan_to_num(chunk) ** 2).sum(axis=0)
    return mean, scatter / np.maximum(count - ddof, 1.0 if ddof else np.finfo(np.float64).tiny)


def _model(means, precisions_cholesky, covariance_type, shift, log_weights, dtype):
    """The kernel's (kind, factors, centered means, constants). The centered
    means are rounded to X's dtype, as em_statistics rounds them (its s2 is
    summed around them, and the two passes' s2 add up)."""
    means = np.asarray(means, dtype=np.float64)
    n_components, n_features = means.shape
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    if covariance_type in ("full", "tied"):  # log det P_k, from the factors' diagonals
        log_det = np.log(np.diagonal(chol.reshape(-1, n_features, n_features), axis1=1, axis2=2)).sum(axis=1)
    elif covariance_type == "diag":
        log_det = np.log(chol).sum(axis=1)
    else:
        log_det = n_features * np.log(chol)
    log_det = np.broadcast_to(log_det, (n_components,))
    constants = log_det + (0.0 if log_weights is None else np.asarray(log_weights, dtype=np.float64))
    if covariance_type == "spherical":
        chol = np.repeat(chol[:, None], n_features, axis=1)
    centered = np.ascontiguousarray((means - np.asarray(shift, dtype=np.float64)).astype(dtype), dtype=np.float64)
    return KIND[covariance_type], np.ascontiguousarray(chol).ravel(), centered, np.ascontiguousarray(constants)


def _work(covariance_type, n_components, n_features):
    return n_components * (n_features * n_features if covariance_type in ("full", "tied") else n_features)


def missing_statistics(X, rows, weights, log_weights, means, precisions_cholesky, covariance_type, shift,
                       labels=None, n_threads=None):
    """EM statistics of X[rows] (rows with missing entries; weights and
    labels aligned with rows), in the frame X - shift, with `means` (K, D)
    in X's coordinates: (nk (K,), s1 (K, D) = sum w r xhat, s2, sum w log
    p(x_o)), float64, summed over fixed blocks in block order. s2 is what
    lvmfast._gaussian.em_statistics gives: 'full' (K*D*D,) around the
    centered means, 'tied' (D*D,) sum w r (xhat xhat^T + C), 'diag' and
    'spherical' (K*D,) around the centered means. labels: known classes
    (responsibilities one-hot) instead of the E-step."""
    n_features = X.shape[1]
    kind, chol, centered, constants = _model(means, precisions_cholesky, covariance_type, shift, log_weights, X.dtype)
    n_components = centered.shape[0]
    s2_size = {0: n_components * n_features**2, 1: n_features**2, 2: n_components * n_features}[kind]
    plan = plan_blocks(rows.size, row_bytes=64 * n_features, stat_bytes=(n_components * (n_features + 1) + s2_size) * 8)
    nk = np.empty((plan.n_blocks, n_components))
    s1 = np.empty((plan.n_blocks, n_components, n_features))
    s2 = np.empty((plan.n_blocks, s2_size))
    log_likelihood = np.empty(plan.n_blocks)
    kernels.missing_pass(
        X, rows, np.ascontiguousarray(weights, dtype=np.float64),
        None if labels is None else np.ascontiguousarray(labels, dtype=np.intp),
        kind, chol, centered, constants, np.ascontiguousarray(shift, dtype=np.float64),
        nk, s1, s2, log_likelihood, plan.block_rows,
        threads_for_work(rows.size * _work(covariance_type, n_components, n_features), n_threads),
    )
    nk, s1, s2 = nk.sum(axis=0), s1.sum(axis=0), s2.sum(axis=0)
    if kind == 0:  # upper triangles, mirrored
        upper = s2.reshape(n_components, n_features, n_features)
        s2 = (upper + np.swapaxes(np.triu(upper, 1), 1, 2)).ravel()
    elif kind == 1:
        upper = s2.reshape(n_features, n_features)
        s2 = (upper + np.triu(upper, 1).T).ravel()
    return nk, s1, s2, float(log_likelihood.sum())


def missing_log_prob(X, rows, shift, means, precisions_cholesky, covariance_type, log_weights=None, n_threads=None):
    """log N(x_o | mu_k,o, Sigma_k,oo) + log_weights[k] for each row of
    X[rows] (rows with missing entries) and component: (len(rows), K) float64."""
    kind, chol, centered, constants = _model(means, precisions_cholesky, covariance_type, shift, log_weights, X.dtype)
    n_components, n_features = centered.shape
    out = np.empty((rows.size, n_components))
    plan = plan_blocks(rows.size, row_bytes=64 * n_features)
    kernels.missing_log_prob(
        X, rows, kind, chol, centered, constants, np.ascontiguousarray(shift, dtype=np.float64), out,
        plan.block_rows, threads_for_work(rows.size * _work(covariance_type, n_components, n_features), n_threads),
    )
    return out


# A missingness pattern shared by at least this many rows is evaluated as a
# group: its rows' observed entries, gathered once per fit, go through the
# complete-data kernels (lvmfast._gaussian.em_statistics) under the observed
# marginal, and the statistics are lifted to all features below. Rarer
# patterns go row by row through missing_pass.
GROUP_MIN_ROWS = 64


def pattern_groups(X, incomplete):
    """Split `incomplete` (rows with a missing entry, in pattern order, as
    incomplete_rows_by_pattern gives them) into the patterns shared by
    GROUP_MIN_ROWS rows or more, as (observed, missing, rows) with
    observed and missing feature indices, and the remaining rows."""
    if incomplete.size == 0:
        return [], incomplete
    masks = np.empty((incomplete.size, X.shape[1]), dtype=bool)
    for start in range(0, incomplete.size, CHUNK_ROWS):
        masks[start:start + CHUNK_ROWS] = np.isnan(X[incomplete[start:start + CHUNK_ROWS]])
    change = np.flatnonzero((masks[1:] != masks[:-1]).any(axis=1)) + 1
    bounds = np.concatenate(([0], change, [incomplete.size]))
    groups, rest = [], []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if stop - start >= GROUP_MIN_ROWS:
            missing = masks[start]
            groups.append((np.flatnonzero(~missing), np.flatnonzero(missing), incomplete[start:stop]))
        else:
            rest.append(incomplete[start:stop])
    return groups, (np.concatenate(rest) if rest else incomplete[:0])


def covariances_of(precisions_cholesky, covariance_type, n_components, n_features):
    """Each component's covariance from its precision factor, float64:
    'full' and 'tied' (K, D, D) (tied repeated), 'diag' and 'spherical'
    (K, D) variances."""
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        inverse = np.linalg.inv(chol.reshape(-1, n_features, n_features))  # P^-1; Sigma = P^-T P^-1
        covariances = np.swapaxes(inverse, 1, 2) @ inverse
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    if covariance_type == "spherical":
        chol = np.repeat(chol[:, None], n_features, axis=1)
    return 1.0 / chol**2


def marginal_model(covariances, covariance_type, observed):
    """The precision factors of the observed features' marginal: 'full' and
    'tied' the upper Cholesky factors of Sigma_oo^-1 (as scikit-learn's
    precisions_cholesky_), 'diag' 1 / sigma_o, 'spherical' as it is; and the
    gain G = Sigma_mo Sigma_oo^-1 and conditional covariance
    Sigma_mm - G Sigma_om of the missing ones ('full', 'tied')."""
    if covariance_type in ("full", "tied"):
        missing = np.setdiff1d(np.arange(covariances.shape[1]), observed)
        stack = covariances if covariance_type == "full" else covariances[:1]
        s_oo = stack[:, observed][:, :, observed]
        lower = np.linalg.cholesky(s_oo)
        identity = np.broadcast_to(np.eye(observed.size), s_oo.shape)
        chol = np.swapaxes(np.linalg.solve(lower, identity), 1, 2)  # L^-T: upper, P P^T = Sigma_oo^-1
        s_mo = stack[:, missing][:, :, observed]
        gain = s_mo @ chol @ np.swapaxes(chol, 1, 2)
        conditional = stack[:, missing][:, :, missing] - gain @ np.swapaxes(s_mo, 1, 2)
        return (chol if covariance_type == "full" else chol[0]), gain, conditional
    if covariance_type == "diag":
        return 1.0 / np.sqrt(covariances[:, observed]), None, None
    return None, None, None


def lift_group_statistics(group_statistics, observed, missing, gain, conditional, centered_means, variances,
                          covariance_type, n_features):
    """Statistics of all D features from those em_statistics summed on a
    group's observed entries under the observed marginal: the missing
    entries' conditional means xhat_m = mu_m + G (x_o - mu_o) in s1, and in
    s2 their outer products plus the conditional covariance (diag: the
    variances). centered_means: (K, D) in the frame, as em_statistics
    rounds them (its s2 is around them)."""
    nk, s1_o, s2_o, log_likelihood = group_statistics
    n_components = nk.shape[0]
    o, m = observed, missing
    mu_o, mu_m = centered_means[:, o], centered_means[:, m]
    s1 = np.empty((n_components, n_features))
    s1[:, o] = s1_o
    if covariance_type in ("diag", "spherical"):
        s1[:, m] = nk[:, None] * mu_m
        s2 = np.empty((n_components, n_features))
        s2[:, o] = s2_o.reshape(n_components, o.size)
        s2[:, m] = nk[:, None] * variances[:, m]
        return nk, s1, s2.ravel(), log_likelihood
    gain = np.broadcast_to(gain, (n_components, m.size, o.size))
    deviation = s1_o - nk[:, None] * mu_o  # sum r (x_o - mu_o)
    s1[:, m] = nk[:, None] * mu_m + np.einsum("kmo,ko->km", gain, deviation)
    if covariance_type == "full":
        s_oo = s2_o.reshape(n_components, o.size, o.size)  # sum r (x_o - mu_o)(x_o - mu_o)^T
        s2 = np.empty((n_components, n_features, n_features))
        s2[:, o[:, None], o] = s_oo
        s_mo = gain @ s_oo
        s2[:, m[:, None], o] = s_mo
        s2[:, o[:, None], m] = np.swapaxes(s_mo, 1, 2)
        s2[:, m[:, None], m] = s_mo @ np.swapaxes(gain, 1, 2) + nk[:, None, None] * conditional
        return nk, s1, s2.ravel(), log_likelihood
    # tied: sum_k sum r xhat_k xhat_k^T with xhat_k = E x_o + c_k, E = [I; G]
    # on (o; m), c_k = (0; mu_km - G mu_ko); s2_o = sum w x_o x_o^T
    g = gain[0]
    lift = np.zeros((n_features, o.size))
    lift[o] = np.eye(o.size)
    lift[m] = g
    offsets = np.zeros((n_components, n_features))
    offsets[:, m] = mu_m - mu_o @ g.T
    cross = lift @ s1_o.T @ offsets  # E (sum_k s1_o[k] c_k^T)
    s2 = lift @ s2_o.reshape(o.size, o.size) @ lift.T + cross + cross.T + (nk[:, None] * offsets).T @ offsets
    s2[m[:, None], m] += nk.sum() * conditional[0]
    return nk, s1, s2.ravel(), log_likelihood



def diagonal_missing_statistics(X, rows, weights, log_weights, means, precisions_cholesky, covariance_type, shift,
                                n_threads=1):
    """missing_statistics for 'diag' and 'spherical' components, any
    missingness patterns, as matrix products. With o the row's observed
    mask, x0 its centered entries with 0 where missing, lambda = p^2:

        log pi_k N(x_o | k) = log pi_k + o.(log p - log(2 pi) / 2 - lambda mu^2 / 2)
                              + x0.(lambda mu) - x0^2.(lambda / 2),

    one product of [o, x0, x0^2] with a (3D x K) matrix; the statistics
    (the missing entries at the component's mean, with its variance) are
    one product of the weighted responsibilities with the same rows:
    nk, s1 = r^T x0 + mu (nk - r^T o), s2 (around mu) = r^T x0^2
    - 2 mu r^T x0 + mu^2 r^T o + sigma^2 (nk - r^T o). Fixed
    blocks (in float64, the compiled diagonal_pass), summed in block order.
    Returns what missing_statistics returns."""
    n_features = X.shape[1]
    means = np.asarray(means, dtype=np.float64)
    n_components = means.shape[0]
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    if covariance_type == "spherical":
        chol = np.repeat(chol[:, None], n_features, axis=1)
    centered = (means - np.asarray(shift, dtype=np.float64)).astype(X.dtype).astype(np.float64)
    precision = chol**2
    weight_terms = np.vstack([
        (np.log(chol) - 0.5 * np.log(2 * np.pi) - 0.5 * precision * centered**2).T,
        (precision * centered).T,
        (-0.5 * precision).T,
    ])  # (3D, K)
    log_weights = np.asarray(log_weights, dtype=np.float64)
    shift64 = np.asarray(shift, dtype=np.float64)

    plan = plan_blocks(rows.size, row_bytes=(3 * n_features + n_components) * 8,
                       stat_bytes=(n_components * (3 * n_features + 1) + 1) * 8)
    nk = np.empty((plan.n_blocks, n_components))
    moments = np.empty((plan.n_blocks, n_components, 3 * n_features))
    log_likelihood = np.empty(plan.n_blocks)
    with blas_single_thread():
        kernels.diagonal_pass(
            X, rows, np.ascontiguousarray(weights, dtype=np.float64), np.ascontiguousarray(weight_terms),
            np.ascontiguousarray(log_weights, dtype=np.float64), shift64, nk, moments, log_likelihood,
            plan.chunk_rows, plan.block_rows, n_threads,
        )
    nk, moments, log_likelihood = nk.sum(axis=0), moments.sum(axis=0), float(log_likelihood.sum())
    seen, first, second = np.split(moments, 3, axis=1)
    unseen = nk[:, None] - seen
    s1 = first + centered * unseen
    s2 = second - 2 * centered * first + centered**2 * seen + unseen / precision
    return nk, s1, s2.ravel(), log_likelihood
