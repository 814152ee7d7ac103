"""Factor analysis with missing values (NaN, missing at random): EM on the
factor model (Ghahramani and Jordan, 1994).

Rows are grouped by their pattern of observed features, o. For a row, with
e = x_o - mu_o and M = I + W_o^T Psi_o^-1 W_o (q x q),

    log p(x_o) = -1/2 (|o| log 2 pi + log det Psi_o + log det M
                       + e^T Psi_o^-1 e - e^T Psi_o^-1 W_o M^-1 W_o^T Psi_o^-1 e)
    z | x_o    ~ N(M^-1 W_o^T Psi_o^-1 e, M^-1)
    x_m | x_o  : E[x_m] = mu_m + W_m E[z],  Cov(x_m, z) = W_m M^-1,
                 Var(x_d) = W_d M^-1 W_d^T + Psi_d  (d missing)

and the M-step is the complete-data one (x regressed on [z; 1]) on the
expected statistics: sum E[x [z; 1]^T], sum E[[z; 1][z; 1]^T] and the
diagonal of sum E[x x^T]. The log-likelihood of the observed values never
decreases. All in float64, in the frame X - center (center: the observed
means), one pattern at a time.
"""
import numpy as np
from scipy import linalg

__all__ = ["missing_pass", "missing_m_step"]

# scikit-learn's floor on the noise variances
SMALL = 1e-12


def _patterns(observed):
    """(patterns (P x D bool), each row's pattern index)."""
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    return patterns, np.ravel(inverse)


def missing_pass(X, observed, weights, mean, loadings, noise_variance, statistics=True, posterior=False):
    """One pass over the rows of X (centered, NaN where missing; observed:
    its mask) under (mean, loadings (D x q), noise_variance).

    Returns the per-row log-likelihoods of the observed values and, with
    statistics, (N, S_z (q), S_zz (q x q), C_xz (D x q), C_x (D), S_xx (D))
    of the weighted expected complete data; with posterior, each row's
    posterior mean factors instead of the statistics."""
    n_samples, n_features = X.shape
    n_factors = loadings.shape[1]
    log_likelihood = np.empty(n_samples)
    factors = np.empty((n_samples, n_factors)) if posterior else None
    stats = [0.0, np.zeros(n_factors), np.zeros((n_factors, n_factors)), np.zeros((n_features, n_factors)),
             np.zeros(n_features), np.zeros(n_features)]
    patterns, which = _patterns(observed)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(patterns) + 1))
    for p, pattern in enumerate(patterns):
        rows = order[bounds[p]:bounds[p + 1]]
        seen, unseen = np.flatnonzero(pattern), np.flatnonzero(~pattern)
        w_seen, psi_seen = loadings[seen], noise_variance[seen]
        scaled = w_seen / psi_seen[:, None]
        inner = np.eye(n_factors) + w_seen.T @ scaled
        cholesky = linalg.cho_factor(inner, lower=True)
        e = X[np.ix_(rows, seen)] - mean[seen]
        projected = e @ scaled
        ez = linalg.cho_solve(cholesky, projected.T).T if n_factors else projected
        log_det = np.log(psi_seen).sum() + 2 * np.log(np.diag(cholesky[0])).sum()
        quad = np.einsum("ij,ij->i", e, e / psi_seen) - np.einsum("ij,ij->i", projected, ez)
        log_likelihood[rows] = -0.5 * (len(seen) * np.log(2 * np.pi) + log_det + quad)
        if posterior:
            factors[rows] = ez
        if not statistics:
            continue
        r = weights[rows]
        total = float(r.sum())
        covariance_z = linalg.cho_solve(cholesky, np.eye(n_factors)) if n_factors else np.zeros((0, 0))
        filled = np.empty((len(rows), n_features))
        filled[:, seen] = X[np.ix_(rows, seen)]
        filled[:, unseen] = mean[unseen] + ez @ loadings[unseen].T
        weighted = r[:, None] * filled
        stats[0] += total
        stats[1] += r @ ez
        stats[2] += (r[:, None] * ez).T @ ez + total * covariance_z
        stats[3] += weighted.T @ ez
        stats[4] += weighted.sum(axis=0)
        stats[5] += np.einsum("ij,ij->j", weighted, filled)
        if len(unseen):
            spread = loadings[unseen] @ covariance_z  # Cov(x_m, z | x_o)
            stats[3][unseen] += total * spread
            stats[5][unseen] += total * (np.einsum("dj,dj->d", spread, loadings[unseen]) + noise_variance[unseen])
    if posterior:
        return log_likelihood, factors
    return (log_likelihood, tuple(stats)) if statistics else log_likelihood


def missing_m_step(stats):
    """(mean, loadings (D x q), noise_variance) from missing_pass's
    statistics: [W, mu] = C A^-1, Psi = diag(S_xx - [W, mu] C^T) / N."""
    total, s_z, s_zz, c_xz, c_x, s_xx = stats
    n_factors = len(s_z)
    inner = np.empty((n_factors + 1, n_factors + 1))
    inner[:n_factors, :n_factors] = s_zz
    inner[:n_factors, n_factors] = inner[n_factors, :n_factors] = s_z
    inner[n_factors, n_factors] = total
    cross = np.column_stack([c_xz, c_x])
    regression = linalg.solve(inner, cross.T, assume_a="pos").T
    noise_variance = np.maximum((s_xx - np.einsum("dj,dj->d", regression, cross)) / total, SMALL)
    return regression[:, n_factors], regression[:, :n_factors], noise_variance
