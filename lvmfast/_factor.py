"""Low-rank-plus-diagonal Gaussians, N(x | mu_k, W_k W_k^T + Psi_k), through
the Woodbury identity: the log-densities of factor analysis and of the
mixtures of factor analyzers, evaluated by lvmfast._kernels._factor.

With M_k = I + W_k^T Psi_k^-1 W_k = L_k L_k^T (q x q) and
B_k = L_k^-1 W_k^T Psi_k^-1 (q x D), for e = x - mu_k:

    log N = -1/2 (D log 2 pi + sum log Psi_k + 2 sum log diag L_k
                  + sum_d e_d^2 / Psi_kd - ||B_k e||^2)

(the determinant lemma gives the log-determinant), so a row costs O(D q)
per component and no D x D matrix is formed. The posterior of the factors
given x and k is N(L_k^-T B_k e, M_k^-1).
"""
import numpy as np
from scipy import linalg

from lvmfast._gaussian import class_statistics, moments_around
from lvmfast._kernels import _factor as kernels
from lvmfast._parallel import blas_single_thread, plan_blocks, threads_for_work
from lvmfast._validation import feature_mean_variance


class LowRankTerms:
    """What the kernels need of K components (means (K, D), components
    (K, q, D) = W_k^T, noise variances (K, D)), in the frame X - shift:
    whitened projections B (K*q, D), their values at the means
    c_k = B_k (mu_k - shift) (K, q), the centered means, 1 / Psi, the
    constants (K, float64, log weights added) and L_k^-1 (K, q, q, float64)
    for the posterior factors. Computed in float64, cast to `dtype`."""

    def __init__(self, means, components, noise_variance, shift, dtype, log_weights=None):
        means = np.asarray(means, dtype=np.float64)
        components = np.asarray(components, dtype=np.float64)
        noise_variance = np.asarray(noise_variance, dtype=np.float64)
        n_components, n_factors, n_features = components.shape
        inverse_noise = 1.0 / noise_variance
        centered = means - np.asarray(shift, dtype=np.float64)
        projections = np.empty((n_components, n_factors, n_features))
        inverse_cholesky = np.empty((n_components, n_factors, n_factors))
        log_det = np.log(noise_variance).sum(axis=1)
        for k in range(n_components):
            scaled = components[k] * inverse_noise[k]  # W^T Psi^-1 (q x D)
            inner = np.eye(n_factors) + scaled @ components[k].T
            cholesky = linalg.cholesky(inner, lower=True)
            # L^-1 by LAPACK's trtri (scipy's solve_triangular takes ~20 ms a
            # call under a loaded threaded BLAS, even for 2 x 2)
            inverse_cholesky[k], info = linalg.lapack.dtrtri(cholesky, lower=1) if n_factors else (cholesky, 0)
            if info != 0:
                raise linalg.LinAlgError(f"component {k}: I + W^T Psi^-1 W is singular")
            projections[k] = inverse_cholesky[k] @ scaled
            log_det[k] += 2 * np.log(np.diag(cholesky)).sum()
        constants = -0.5 * (n_features * np.log(2 * np.pi) + log_det)
        if log_weights is not None:
            constants = constants + np.asarray(log_weights, dtype=np.float64)
        self.n_components, self.n_factors, self.n_features = n_components, n_factors, n_features
        self.dtype = np.dtype(dtype)
        self.projections = np.ascontiguousarray(projections.reshape(n_components * n_factors, n_features), dtype=dtype)
        self.projected_means = np.ascontiguousarray(np.einsum("kqd,kd->kq", projections, centered), dtype=dtype)
        self.centered_means = np.ascontiguousarray(centered, dtype=dtype)
        self.inverse_noise = np.ascontiguousarray(inverse_noise, dtype=dtype)
        self.constants = np.ascontiguousarray(constants)
        self.inverse_cholesky = inverse_cholesky
        self.shift = np.ascontiguousarray(shift, dtype=dtype)


def _work(n_samples, terms):
    return n_samples * terms.n_components * terms.n_features * (terms.n_factors + 1)


def log_prob_low_rank(X, means, components, noise_variance, log_weights=None, shift=None, normalize=False):
    """log N(x_i | means_k, components_k^T components_k + diag(noise_variance_k))
    (+ log_weights[k]) for every row: (n_samples, n_components) in X's
    dtype. X must be validated (C-contiguous float32/float64); components
    is (K, q, D). normalize=True returns (resp, lse): each row's
    probabilities and its log-sum-exp (float64)."""
    n_samples, n_features = X.shape
    if shift is None:
        shift = np.asarray(means, dtype=np.float64).mean(axis=0)
    terms = LowRankTerms(means, components, noise_variance, shift, X.dtype, log_weights)
    out = np.empty((n_samples, terms.n_components), dtype=X.dtype)
    lse = np.empty(n_samples) if normalize else None
    width = n_features + terms.n_components * (terms.n_factors + 1)
    chunk_rows = plan_blocks(n_samples, row_bytes=width * X.itemsize).chunk_rows
    with blas_single_thread():
        kernels.log_prob(X, terms.shift, terms.projections, terms.projected_means, terms.centered_means,
                         terms.inverse_noise, terms.constants, out, lse, chunk_rows,
                         threads_for_work(_work(n_samples, terms)))
    return (out, lse) if normalize else out


def posterior_factor_means(X, mean, components, noise_variance, chunk_rows=65536):
    """E[z | x] = (I + W^T Psi^-1 W)^-1 W^T Psi^-1 (x - mean) for one factor
    model (components: q x D = W^T): (n_samples, q) in X's dtype, a chunk of
    rows at a time through BLAS (no N x D temporary)."""
    components = np.asarray(components, dtype=np.float64)
    n_factors = components.shape[0]
    scaled = components / np.asarray(noise_variance, dtype=np.float64)
    inner = np.eye(n_factors) + scaled @ components.T
    # x -> (x - mean) A, A = Psi^-1 W M^-1 (D x q)
    projection = linalg.solve(inner, scaled, assume_a="pos").T if n_factors else scaled.T
    projection = projection.astype(X.dtype)
    mean = np.asarray(mean, dtype=X.dtype)
    out = np.empty((X.shape[0], n_factors), dtype=X.dtype)
    for start in range(0, X.shape[0], chunk_rows):
        np.matmul(X[start:start + chunk_rows] - mean, projection, out=out[start:start + chunk_rows])
    return out


def em_statistics(X, terms, sample_weight, n_threads=None):
    """One fused pass of the mixture of factor analyzers' EM under `terms`
    (a LowRankTerms with log weights): with r = w * responsibilities and E
    the posterior factor means, returns (float64, summed in block order)
    nk (K,), s1 = sum r (x - shift) (K, D), sxz = sum r (x - shift) E^T
    (K, D, q), sz = sum r E (K, q), szz = sum r E E^T (K, q, q),
    see = sum r (x - mu_k)^2 (K, D, around terms.centered_means) and the
    weighted log-likelihood sum w log p(x)."""
    n_samples, n_features = X.shape
    n_components, n_factors = terms.n_components, terms.n_factors
    kq = n_components * n_factors
    plan = plan_blocks(
        n_samples,
        row_bytes=(2 * n_features + 3 * kq + n_components) * X.itemsize + 8,
        stat_bytes=(n_components * (2 * n_features + 1) + kq * (n_features + n_factors + 1) + 1) * 8,
    )
    n_threads = threads_for_work(2 * _work(n_samples, terms), n_threads)
    nk = np.empty((plan.n_blocks, n_components))
    s1 = np.empty((plan.n_blocks, n_components, n_features))
    see = np.empty((plan.n_blocks, n_components, n_features))
    sxz = np.empty((plan.n_blocks, kq * n_features))
    sz = np.empty((plan.n_blocks, kq))
    szz = np.empty((plan.n_blocks, kq * n_factors))
    log_likelihood = np.empty(plan.n_blocks)
    inverse_cholesky = np.ascontiguousarray(terms.inverse_cholesky, dtype=X.dtype)
    with blas_single_thread():
        kernels.em_pass(
            X, terms.shift, sample_weight, terms.projections, terms.projected_means, terms.centered_means,
            terms.inverse_noise, terms.constants, inverse_cholesky, nk, s1, sxz, sz, szz, see, log_likelihood,
            plan.chunk_rows, plan.block_rows, n_threads,
        )
    return (
        nk.sum(axis=0), s1.sum(axis=0), sxz.sum(axis=0).reshape(n_components, n_features, n_factors),
        sz.sum(axis=0).reshape(n_components, n_factors), szz.sum(axis=0).reshape(n_components, n_factors, n_factors),
        see.sum(axis=0), float(log_likelihood.sum()),
    )


class LocalFactorRows:
    """The local backend of the mixture of factor analyzers' pass: the
    compiled kernel over an in-memory X, in the frame X - shift (shift: X's
    mean). sample_weight: the fit's weights of mean 1, in X's dtype. The
    Dask backend is lvmfast.dask._factor_analyzers.DaskFactorRows."""

    def __init__(self, X, sample_weight, n_threads=None):
        self.X, self.sample_weight, self.n_threads = X, sample_weight, n_threads
        self.dtype = X.dtype
        self.shift = X.mean(axis=0, dtype=np.float64).astype(X.dtype).astype(np.float64)
        self.total_weight = float(sample_weight.sum(dtype=np.float64))
        _, variance = feature_mean_variance(X)
        self.mean_variance = float(np.mean(variance))

    def initial_moments(self, labels, n_components):
        """(counts (K,), means (K, D) in the frame X - shift, scatter
        sum w (x - m_k)(x - m_k)^T (K, D, D)) of the rows under the hard
        labels (0 .. K-1), from one class pass (float64 sums)."""
        k, n_features = n_components, self.X.shape[1]
        counts, means, moments, around = class_statistics(
            self.X, self.shift.astype(self.dtype), self.sample_weight, np.asarray(labels, dtype=np.intp), k, "full")
        scatter = moments_around(counts, counts[:, None] * means, moments, around, means, "full")
        return counts, means, scatter.reshape(k, n_features, n_features)

    def factor_statistics(self, terms):
        return em_statistics(self.X, terms, self.sample_weight, self.n_threads)
