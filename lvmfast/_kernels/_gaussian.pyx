"""Gaussian log-densities of a chunk of rows under K components, from the
precision Cholesky factors (scikit-learn's parametrization: precision =
P P^T, P upper triangular for 'full' and 'tied', 1/sigma for 'diag' and
'spherical').

Every covariance type is shaped as gemm on the chunk, centered by `shift`:
  full       Y = X [P_1 ... P_K]   (one gemm against all factors), then
             q_k = ||Y_k - mu_k P_k||^2
  tied       Y = X P               (one projection of X, not K), then
             q_k = ||Y||^2 - 2 Y.(mu_k P) + ||mu_k P||^2
  diag       q_k = (X*X) p_k - 2 X (mu_k * p_k) + mu_k^2 . p_k   (two gemms)
  spherical  q_k = p_k (||x||^2 - 2 x.mu_k + ||mu_k||^2)          (one gemm)
and log N(x | k) + c_k = c_k - q_k / 2, with c_k given by the caller
(log det P_k - D log(2 pi) / 2, plus log pi_k where wanted).

The chunk routine writes a column-major (n x K) block with any leading
dimension, so the fused EM pass can run it on its per-thread chunk and
`log_prob` on a whole n_samples x n_components output.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc

from lvmfast._kernels._blas cimport gemm

cdef inline void copy_centered(const floating[:, ::1] X, Py_ssize_t start, Py_ssize_t n,
                               const floating[::1] shift, floating *out) noexcept nogil:
    cdef Py_ssize_t i, j, n_features = X.shape[1]
    for i in range(n):
        for j in range(n_features):
            out[i * n_features + j] = X[start + i, j] - shift[j]


cdef Py_ssize_t work_size(int cov_type, Py_ssize_t chunk_rows, Py_ssize_t n_features,
                          Py_ssize_t n_components) noexcept nogil:
    """Scratch a chunk needs beyond the centered rows, in elements."""
    if cov_type == 0:
        return chunk_rows * n_components * n_features
    if cov_type == 1:
        return chunk_rows * n_features
    if cov_type == 2:
        return chunk_rows * n_features
    return 0


cdef void log_prob_chunk(int cov_type, const floating *x, Py_ssize_t n, Py_ssize_t n_features,
                         Py_ssize_t n_components, const floating *factors,
                         const floating *projected_means, const double *offsets,
                         const double *constants, floating *work, floating *out,
                         Py_ssize_t ld) noexcept nogil:
    """out[k * ld + i] = constants[k] - q_k(x_i) / 2 for the n centered rows x.

    factors / projected_means / offsets by type (D features, K components):
      full       factors (D x K*D) = [P_1 ... P_K]; projected_means (K x D) = mu_k P_k
      tied       factors (D x D) = P;              projected_means (K x D) = mu_k P;
                 offsets[k] = ||mu_k P||^2
      diag       factors (K x D) = p_k = 1/sigma_k^2; projected_means (K x D) = mu_k * p_k;
                 offsets[k] = mu_k^2 . p_k
      spherical  factors (K) = p_k;                 projected_means (K x D) = mu_k;
                 offsets[k] = ||mu_k||^2
    """
    cdef Py_ssize_t i, j, k, d = n_features, kd = n_components * n_features
    cdef double q, diff, row_sq
    cdef const floating *y
    cdef const floating *m
    if cov_type == 0:
        # work (column-major n x K*D) = x @ [P_1 ... P_K]
        gemm(c'N', c'N', <int> kd, <int> n, <int> d, 1.0, factors, <int> kd, x, <int> d,
             0.0, work, <int> kd)
        for i in range(n):
            for k in range(n_components):
                y = &work[i * kd + k * d]
                m = &projected_means[k * d]
                q = 0.0
                for j in range(d):
                    diff = <double> y[j] - <double> m[j]
                    q = q + diff * diff
                out[k * ld + i] = <floating> (constants[k] - 0.5 * q)
    elif cov_type == 1:
        # work (row-major n x D) = x @ P; out = -2 work @ (mu P)^T
        gemm(c'N', c'N', <int> d, <int> n, <int> d, 1.0, factors, <int> d, x, <int> d,
             0.0, work, <int> d)
        gemm(c'T', c'N', <int> n, <int> n_components, <int> d, -2.0, work, <int> d,
             projected_means, <int> d, 0.0, out, <int> ld)
        for i in range(n):
            row_sq = 0.0
            for j in range(d):
                row_sq = row_sq + <double> work[i * d + j] * work[i * d + j]
            for k in range(n_components):
                q = row_sq + <double> out[k * ld + i] + offsets[k]
                out[k * ld + i] = <floating> (constants[k] - 0.5 * (q if q > 0.0 else 0.0))
    elif cov_type == 2:
        # out = (x*x) @ p^T - 2 x @ (mu*p)^T
        for i in range(n * d):
            work[i] = x[i] * x[i]
        gemm(c'T', c'N', <int> n, <int> n_components, <int> d, 1.0, work, <int> d,
             factors, <int> d, 0.0, out, <int> ld)
        gemm(c'T', c'N', <int> n, <int> n_components, <int> d, -2.0, x, <int> d,
             projected_means, <int> d, 1.0, out, <int> ld)
        for k in range(n_components):
            for i in range(n):
                q = <double> out[k * ld + i] + offsets[k]
                out[k * ld + i] = <floating> (constants[k] - 0.5 * (q if q > 0.0 else 0.0))
    else:
        # out = -2 x @ mu^T, then p_k (||x||^2 + out + ||mu_k||^2)
        gemm(c'T', c'N', <int> n, <int> n_components, <int> d, -2.0, x, <int> d,
             projected_means, <int> d, 0.0, out, <int> ld)
        for i in range(n):
            row_sq = 0.0
            for j in range(d):
                row_sq = row_sq + <double> x[i * d + j] * x[i * d + j]
            for k in range(n_components):
                q = row_sq + <double> out[k * ld + i] + offsets[k]
                out[k * ld + i] = <floating> (constants[k] - 0.5 * <double> factors[k] * (q if q > 0.0 else 0.0))


def log_prob(const floating[:, ::1] X, const floating[::1] shift, int cov_type,
             const floating[::1] factors, const floating[:, ::1] projected_means,
             const double[::1] offsets, const double[::1] constants,
             floating[::1, :] out, Py_ssize_t chunk_rows, int n_threads):
    """out[i, k] = constants[k] - q_k(X[i] - shift) / 2 for every row (see
    log_prob_chunk; `factors` is flattened, means live in the shifted
    frame). cov_type is the index in lvmfast._gaussian.COVARIANCE_TYPES
    (full, tied, diag, spherical). out is column-major n_samples x
    n_components."""
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = out.shape[1]
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, start, n
    cdef Py_ssize_t extra = work_size(cov_type, chunk_rows, n_features, n_components)
    cdef floating *buf
    cdef floating *work
    if n_samples == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        buf = <floating *> malloc(chunk_rows * n_features * sizeof(floating))
        work = <floating *> malloc((extra if extra > 0 else 1) * sizeof(floating))
        for c in prange(n_chunks, schedule="static"):
            start = c * chunk_rows
            n = min(chunk_rows, n_samples - start)
            copy_centered(X, start, n, shift, buf)
            log_prob_chunk(cov_type, buf, n, n_features, n_components, &factors[0],
                           &projected_means[0, 0], &offsets[0], &constants[0], work,
                           &out[start, 0], n_samples)
        free(buf)
        free(work)
