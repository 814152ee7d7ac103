"""Low-rank-plus-diagonal Gaussian log-densities (factor analyzers) of a
chunk of rows under K components, and the fused EM pass of the mixture of
factor analyzers.

Component k has covariance W_k W_k^T + Psi_k (W_k: D x q, Psi_k diagonal).
With L_k the Cholesky factor of I + W_k^T Psi_k^-1 W_k and
B_k = L_k^-1 W_k^T Psi_k^-1 (q x D), Woodbury gives, for e = x - mu_k,

    -q_k / 2 = -1/2 sum_d e_d^2 / Psi_kd + 1/2 ||B_k e||^2

and log N(x | k) = c_k - q_k / 2 with c_k (log-determinant by the
determinant lemma, plus log pi_k where wanted) given by the caller
(lvmfast._factor.LowRankTerms). Per chunk (rows centered by `shift`):
  Z = X [B_1; ...; B_K]^T       one gemm, n x K q (O(n D K q))
  y_ik = Z_ik - B_k mu_k        the whitened projection B_k e (q values)
  diagonal part                 by direct differences (_gaussian.h)
so a row costs O(D q) per component, never a D x D matrix.

The posterior of the factors is N(L_k^-T y_ik, M_k^-1): the EM pass turns y
into the posterior means E_ik = L_k^-T y_ik (O(q^2)) and sums, with r the
responsibilities times the row weights:
  nk[k]  = sum r_ik               s1[k]  = sum r_ik x_i          (K x D)
  sxz[k] = sum r_ik x_i E_ik^T    (D x q; one gemm for all k)
  sz[k]  = sum r_ik E_ik          szz[k] = sum r_ik E_ik E_ik^T (q x q)
  see[k] = sum r_ik (x_i - mu_k)^2  (elementwise, around the current means)
and sum w log p(x), per block, reduced by the caller in block order.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.string cimport memset

from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport (
    check_length, check_plan, check_positive, check_shape, check_shape3, expected_blocks,
)
from lvmfast._kernels._gaussian cimport (
    lvm_diag_log_prob_d, lvm_diag_log_prob_s, lvm_weigh_sum_d, lvm_weigh_sum_s, log_normalize,
    weighted_sq_dev,
)
from lvmfast._kernels._rows cimport copy_centered


cdef int check_terms(str kernel, Py_ssize_t n_features, Py_ssize_t n_components,
                     Py_ssize_t n_factors, const floating[:, ::1] projections,
                     const floating[:, ::1] projected_means, const floating[:, ::1] means,
                     const floating[:, ::1] inverse_noise, const double[::1] constants) except -1:
    check_positive(kernel, "the number of components (rows of means)", n_components)
    check_shape(kernel, "projections (K * q rows)", projections.shape[0], projections.shape[1],
                n_components * n_factors, n_features)
    check_shape(kernel, "means", means.shape[0], means.shape[1], n_components, n_features)
    check_shape(kernel, "inverse_noise", inverse_noise.shape[0], inverse_noise.shape[1],
                n_components, n_features)
    check_length(kernel, "constants", constants.shape[0], n_components)
    return 0


cdef void factor_scores(const floating *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_components,
                        Py_ssize_t n_factors, const floating *projections,
                        const floating *projected_means, const floating *means,
                        const floating *inverse_noise, floating *y, floating *xt,
                        floating *out) noexcept nogil:
    """out[k * n + i] = -q_k(x_i) / 2 (column-major n x K, without the
    constants) for the n centered rows x (row-major n x d); y (row-major
    n x K q) receives the whitened projections B_k (x_i - mu_k). xt: n x d
    scratch."""
    cdef Py_ssize_t i, k, a, kq = n_components * n_factors
    cdef double gain, v
    if floating is double:
        lvm_diag_log_prob_d(x, n, d, n_components, means, inverse_noise, out, n, xt)
    else:
        lvm_diag_log_prob_s(x, n, d, n_components, means, inverse_noise, out, n, xt)
    if kq == 0:
        return
    # y (column-major K q x n) = [B_1; ...; B_K] x^T
    gemm(c'T', c'N', <int> kq, <int> n, <int> d, 1.0, projections, <int> d, x, <int> d, 0.0, y,
         <int> kq)
    for i in range(n):
        for k in range(n_components):
            gain = 0.0
            for a in range(n_factors):
                v = y[i * kq + k * n_factors + a] - projected_means[k * n_factors + a]
                y[i * kq + k * n_factors + a] = <floating> v
                gain = gain + v * v
            out[k * n + i] = <floating> (out[k * n + i] + 0.5 * gain)


def log_prob(const floating[:, ::1] X not None, const floating[::1] shift not None,
             const floating[:, ::1] projections not None, const floating[:, ::1] projected_means not None,
             const floating[:, ::1] means not None, const floating[:, ::1] inverse_noise not None,
             const double[::1] constants not None, floating[:, ::1] out not None, double[::1] lse,
             Py_ssize_t chunk_rows, int n_threads):
    """out[i, k] = constants[k] - q_k(X[i] - shift) / 2 (see the module
    docstring; means, projected_means = B_k mu_k in the shifted frame).
    With lse (length n_samples) each row is normalized instead:
    lse[i] = log sum_k exp(...) and out[i] the probabilities."""
    name = "factor log_prob"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = means.shape[0]
    cdef Py_ssize_t n_factors = projected_means.shape[1]
    check_terms(name, n_features, n_components, n_factors, projections, projected_means, means,
                inverse_noise, constants)
    check_shape(name, "projected_means", projected_means.shape[0], n_factors, n_components, n_factors)
    check_length(name, "shift", shift.shape[0], n_features)
    check_shape(name, "out", out.shape[0], out.shape[1], n_samples, n_components)
    cdef bint normalize = lse is not None
    if normalize:
        check_length(name, "lse", lse.shape[0], n_samples)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    if n_samples == 0:
        return
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, start, n, i, k, kq = n_components * n_factors
    cdef floating *buf
    cdef floating *xt
    cdef floating *y
    cdef floating *scores
    cdef floating *rows
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
        xt = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
        y = <floating *> lvm_alloc((chunk_rows * kq + 1) * sizeof(floating))
        scores = <floating *> lvm_alloc(chunk_rows * n_components * sizeof(floating))
        if buf == NULL or xt == NULL or y == NULL or scores == NULL:
            lvm_flag(&failed)
        for c in prange(n_chunks, schedule="static"):
            if lvm_flagged(&failed):
                continue
            start = c * chunk_rows
            n = min(chunk_rows, n_samples - start)
            copy_centered(X, start, n, shift, buf)
            factor_scores(buf, n, n_features, n_components, n_factors, &projections[0, 0],
                          &projected_means[0, 0] if kq > 0 else NULL, &means[0, 0],
                          &inverse_noise[0, 0], y, xt, scores)
            rows = &out[start, 0]
            if normalize:
                log_normalize(scores, n, n_components, &constants[0], &lse[start])
                for i in range(n):
                    for k in range(n_components):
                        rows[i * n_components + k] = scores[k * n + i]
            else:
                for i in range(n):
                    for k in range(n_components):
                        rows[i * n_components + k] = <floating> (scores[k * n + i] + constants[k])
        lvm_free(buf)
        lvm_free(xt)
        lvm_free(y)
        lvm_free(scores)
    raise_if_failed(failed, name)


cdef void accumulate_factor_stats(const floating *x, Py_ssize_t n, Py_ssize_t d,
                                  Py_ssize_t n_components, Py_ssize_t n_factors,
                                  const floating *weight, floating *resp, const floating *means,
                                  const floating *inverse_cholesky, const floating *y,
                                  floating *post, floating *weighted_post, floating *stat,
                                  double *nk, double *s1, double *sxz, double *sz, double *szz,
                                  double *see) noexcept nogil:
    """Add the chunk's statistics (module docstring) to the block's sums.
    resp: column-major n x K responsibilities, scaled by the weights here;
    y: the whitened projections (row-major n x K q); post, weighted_post:
    n x K q scratch; stat: max(D, q) x K max(q, 1) scratch."""
    cdef Py_ssize_t i, k, a, b, j, q = n_factors, kq = n_components * n_factors
    cdef double v
    cdef const floating *linv
    # responsibilities below `tiny` (a row far from a component) become 0:
    # their products with x and E would be subnormal numbers, which run
    # the products tens of times slower, for a share below 1e-250 (1e-30)
    cdef floating tiny = <floating> (1e-250 if floating is double else 1e-30)
    for a in range(n * n_components):
        if resp[a] < tiny:
            resp[a] = 0
    for k in range(n_components):
        if floating is double:
            nk[k] += lvm_weigh_sum_d(&resp[k * n], weight, n)
        else:
            nk[k] += lvm_weigh_sum_s(&resp[k * n], weight, n)
    # s1 (column-major D x K) = x^T r
    gemm(c'N', c'N', <int> d, <int> n_components, <int> n, 1.0, x, <int> d, resp, <int> n, 0.0,
         stat, <int> d)
    for k in range(n_components):
        for j in range(d):
            s1[k * d + j] += stat[k * d + j]
        weighted_sq_dev(x, n, d, d, &resp[k * n], &means[k * d], &see[k * d])
    if kq == 0:
        return
    # posterior means E_ik = L_k^-T y_ik (L_k^-1 lower triangular: E_a = sum_{b >= a} Linv[b, a] y_b)
    for i in range(n):
        for k in range(n_components):
            linv = &inverse_cholesky[k * q * q]
            for a in range(q):
                v = 0.0
                for b in range(a, q):
                    v = v + <double> linv[b * q + a] * y[i * kq + k * q + b]
                post[i * kq + k * q + a] = <floating> v
                weighted_post[i * kq + k * q + a] = <floating> (v * resp[k * n + i])
    # sxz (column-major D x K q) = x^T (r E)
    gemm(c'N', c'T', <int> d, <int> kq, <int> n, 1.0, x, <int> d, weighted_post, <int> kq, 0.0,
         stat, <int> d)
    for k in range(n_components):
        for a in range(q):
            for j in range(d):
                sxz[(k * d + j) * q + a] += stat[(k * q + a) * d + j]
    for i in range(n):
        for a in range(kq):
            sz[a] += weighted_post[i * kq + a]
    # szz[k] = (r E_k)^T E_k, one q x q product per component
    for k in range(n_components):
        gemm(c'N', c'T', <int> q, <int> q, <int> n, 1.0, &weighted_post[k * q], <int> kq,
             &post[k * q], <int> kq, 0.0, stat, <int> q)
        for a in range(q * q):
            szz[k * q * q + a] += stat[a]


def em_pass(const floating[:, ::1] X not None, const floating[::1] shift not None,
            const floating[::1] sample_weight not None,
            const floating[:, ::1] projections not None, const floating[:, ::1] projected_means not None,
            const floating[:, ::1] means not None, const floating[:, ::1] inverse_noise not None,
            const double[::1] constants not None, const floating[:, :, ::1] inverse_cholesky not None,
            double[:, ::1] block_nk not None, double[:, :, ::1] block_s1 not None,
            double[:, ::1] block_sxz not None, double[:, ::1] block_sz not None,
            double[:, ::1] block_szz not None, double[:, :, ::1] block_see not None,
            double[::1] block_log_likelihood not None, Py_ssize_t chunk_rows,
            Py_ssize_t block_rows, int n_threads):
    """One E-step of the mixture of factor analyzers and the M-step's
    statistics (module docstring), in one pass over X. constants include
    the log weights. Per block b (n_blocks = max(1, ceil(n / block_rows))):
    block_nk[b] (K), block_s1[b] (K x D), block_sxz[b] (K*D*q, row-major
    K x D x q), block_sz[b] (K*q), block_szz[b] (K*q*q), block_see[b]
    (K x D) and block_log_likelihood[b] = sum w log p(x). No n_samples x K
    array: each thread holds one chunk."""
    name = "factor em_pass"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = means.shape[0]
    cdef Py_ssize_t q = projected_means.shape[1], kq
    check_terms(name, n_features, n_components, q, projections, projected_means, means,
                inverse_noise, constants)
    check_shape(name, "projected_means", projected_means.shape[0], q, n_components, q)
    check_shape3(name, "inverse_cholesky", inverse_cholesky.shape[0], inverse_cholesky.shape[1],
                 inverse_cholesky.shape[2], n_components, q, q)
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    kq = n_components * q
    check_shape(name, "block_nk", block_nk.shape[0], block_nk.shape[1], n_blocks, n_components)
    check_shape3(name, "block_s1", block_s1.shape[0], block_s1.shape[1], block_s1.shape[2],
                 n_blocks, n_components, n_features)
    check_shape3(name, "block_see", block_see.shape[0], block_see.shape[1], block_see.shape[2],
                 n_blocks, n_components, n_features)
    check_shape(name, "block_sxz", block_sxz.shape[0], block_sxz.shape[1], n_blocks, kq * n_features)
    check_shape(name, "block_sz", block_sz.shape[0], block_sz.shape[1], n_blocks, kq)
    check_shape(name, "block_szz", block_szz.shape[0], block_szz.shape[1], n_blocks, kq * q)
    check_length(name, "block_log_likelihood", block_log_likelihood.shape[0], n_blocks)
    cdef Py_ssize_t stat_size = max(n_features, q) * max(kq, n_components) + 1
    cdef Py_ssize_t b, start, stop, n, i
    cdef double ll
    cdef floating *buf
    cdef floating *xt
    cdef floating *y
    cdef floating *post
    cdef floating *weighted_post
    cdef floating *scores
    cdef floating *stat
    cdef double *lse
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
        xt = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
        y = <floating *> lvm_alloc((chunk_rows * kq + 1) * sizeof(floating))
        post = <floating *> lvm_alloc((chunk_rows * kq + 1) * sizeof(floating))
        weighted_post = <floating *> lvm_alloc((chunk_rows * kq + 1) * sizeof(floating))
        scores = <floating *> lvm_alloc(chunk_rows * n_components * sizeof(floating))
        stat = <floating *> lvm_alloc(stat_size * sizeof(floating))
        lse = <double *> lvm_alloc(chunk_rows * sizeof(double))
        if (buf == NULL or xt == NULL or y == NULL or post == NULL or weighted_post == NULL
                or scores == NULL or stat == NULL or lse == NULL):
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            memset(&block_nk[b, 0], 0, n_components * sizeof(double))
            memset(&block_s1[b, 0, 0], 0, n_components * n_features * sizeof(double))
            memset(&block_see[b, 0, 0], 0, n_components * n_features * sizeof(double))
            if kq > 0:
                memset(&block_sxz[b, 0], 0, kq * n_features * sizeof(double))
                memset(&block_sz[b, 0], 0, kq * sizeof(double))
                memset(&block_szz[b, 0], 0, kq * q * sizeof(double))
            ll = 0.0
            start = b * block_rows
            stop = min(start + block_rows, n_samples)
            while start < stop:
                n = min(chunk_rows, stop - start)
                copy_centered(X, start, n, shift, buf)
                factor_scores(buf, n, n_features, n_components, q, &projections[0, 0],
                              &projected_means[0, 0] if kq > 0 else NULL, &means[0, 0],
                              &inverse_noise[0, 0], y, xt, scores)
                log_normalize(scores, n, n_components, &constants[0], lse)
                for i in range(n):
                    ll = ll + sample_weight[start + i] * lse[i]
                accumulate_factor_stats(
                    buf, n, n_features, n_components, q, &sample_weight[start], scores, &means[0, 0],
                    &inverse_cholesky[0, 0, 0] if kq > 0 else NULL, y, post, weighted_post, stat,
                    &block_nk[b, 0], &block_s1[b, 0, 0],
                    &block_sxz[b, 0] if kq > 0 else NULL, &block_sz[b, 0] if kq > 0 else NULL,
                    &block_szz[b, 0] if kq > 0 else NULL, &block_see[b, 0, 0])
                start = start + n
            block_log_likelihood[b] = ll
        lvm_free(buf)
        lvm_free(xt)
        lvm_free(y)
        lvm_free(post)
        lvm_free(weighted_post)
        lvm_free(scores)
        lvm_free(stat)
        lvm_free(lse)
    raise_if_failed(failed, name)
