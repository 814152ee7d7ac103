# The Gaussian kernels' per-covariance-type pieces: the C loops of
# _gaussian.h and the chunk helpers that log_prob, em_pass and class_pass
# share (inline: a .pxd holds only inline bodies).
from cython cimport floating
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_free
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._rows cimport center_rows



# The covariance kind each kernel takes as cov_type; Python reads it as
# lvmfast._kernels._gaussian.CovarianceKind ('spherical' runs as DIAG with
# equal precisions; DIAG_DIRECT is 'diag' by direct differences).
cpdef enum CovarianceKind:
    FULL = 0
    TIED = 1
    DIAG = 2
    SPHERICAL = 3
    DIAG_DIRECT = 4

cdef extern from "_gaussian.h" nogil:
    void lvm_log_normalize_d(double *scores, Py_ssize_t n, Py_ssize_t ld, Py_ssize_t n_cols,
                             const double *cols, double *lse)
    void lvm_log_normalize_s(float *scores, Py_ssize_t n, Py_ssize_t ld, Py_ssize_t n_cols,
                             const double *cols, double *lse)
    double lvm_weigh_sum_d(double *r, const double *w, Py_ssize_t n)
    double lvm_weigh_sum_s(float *r, const float *w, Py_ssize_t n)
    void lvm_weighted_sq_dev_d(const double *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t ldx,
                               const double *r, const double *m, double *out)
    void lvm_weighted_sq_dev_s(const float *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t ldx,
                               const float *r, const float *m, double *out)
    void lvm_scaled_dev_d(const double *x, Py_ssize_t n, Py_ssize_t d, const double *r,
                          const double *m, double *out)
    void lvm_scaled_dev_s(const float *x, Py_ssize_t n, Py_ssize_t d, const float *r,
                          const float *m, float *out)
    void lvm_full_log_prob_d(const double *y, Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_components,
                             const double *pm, double *out, Py_ssize_t ld)
    void lvm_full_log_prob_s(const float *y, Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_components,
                             const float *pm, float *out, Py_ssize_t ld)
    void lvm_packed_outer_d(const double *x, Py_ssize_t n, Py_ssize_t d, double *out)
    void lvm_packed_outer_s(const float *x, Py_ssize_t n, Py_ssize_t d, float *out)
    void lvm_class_moments_d(const double *x, Py_ssize_t n, Py_ssize_t d, const Py_ssize_t *labels,
                             const double *weight, const double *m, double *nk, double *s1,
                             double *s2)
    void lvm_class_moments_s(const float *x, Py_ssize_t n, Py_ssize_t d, const Py_ssize_t *labels,
                             const float *weight, const float *m, double *nk, double *s1,
                             double *s2)
    void lvm_diag_log_prob_d(const double *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_components,
                             const double *m, const double *p, double *out, Py_ssize_t ld,
                             double *xt)
    void lvm_diag_log_prob_s(const float *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_components,
                             const float *m, const float *p, float *out, Py_ssize_t ld, float *xt)


cdef inline void weighted_sq_dev(const floating *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t ldx,
                                 const floating *r, const floating *m, double *out) noexcept nogil:
    if floating is double:
        lvm_weighted_sq_dev_d(x, n, d, ldx, r, m, out)
    else:
        lvm_weighted_sq_dev_s(x, n, d, ldx, r, m, out)


cdef inline void scaled_dev(const floating *x, Py_ssize_t n, Py_ssize_t d, const floating *r,
                            const floating *m, floating *out) noexcept nogil:
    if floating is double:
        lvm_scaled_dev_d(x, n, d, r, m, out)
    else:
        lvm_scaled_dev_s(x, n, d, r, m, out)


cdef inline void log_normalize(floating *scores, Py_ssize_t n, Py_ssize_t n_cols,
                               const double *cols, double *lse) noexcept nogil:
    if floating is double:
        lvm_log_normalize_d(scores, n, n, n_cols, cols, lse)
    else:
        lvm_log_normalize_s(scores, n, n, n_cols, cols, lse)


cdef inline Py_ssize_t row_width(int cov_type, Py_ssize_t n_features) noexcept nogil:
    """Width of a chunk's rows as the kernels hold them: [x, x*x] for 'diag'
    by expansion, x otherwise."""
    return 2 * n_features if cov_type == DIAG else n_features


cdef inline Py_ssize_t packed_length(Py_ssize_t n_features) noexcept nogil:
    """Entries of a symmetric D x D matrix's upper triangle."""
    return n_features * (n_features + 1) // 2


cdef inline Py_ssize_t work_size(int cov_type, Py_ssize_t chunk_rows, Py_ssize_t n_features,
                          Py_ssize_t n_components) noexcept nogil:
    """Scratch a chunk needs beyond its rows, in elements."""
    if cov_type == FULL:  # x [P_1 ... P_K]; then the rows' outer products, packed
        return chunk_rows * max(n_components * n_features, packed_length(n_features))
    if cov_type == TIED:  # [Y, ||Y||^2]
        return chunk_rows * (n_features + 1)
    if cov_type == DIAG_DIRECT:  # the transposed chunk
        return chunk_rows * n_features
    return 0


cdef inline void copy_rows(int cov_type, const floating[:, ::1] X, Py_ssize_t start,
                           Py_ssize_t n_rows, const floating[::1] shift,
                           floating *out) noexcept nogil:
    """The chunk's centered rows, x = X[start + i] - shift, as the kernels
    hold them (row_width): [x, x*x] for 'diag' by expansion, x otherwise."""
    center_rows(X, start, n_rows, shift, cov_type == DIAG, out)


cdef inline floating *expanded_terms(int cov_type, Py_ssize_t n_components, Py_ssize_t n_features,
                              const floating *factors, const floating *projected_means) noexcept nogil:
    """The right-hand side of the expansion's one gemm (see the module
    docstring), transposed: row-major width x K (so the gemm is TT, which
    OpenBLAS runs without packing at these sizes), or NULL for the other
    types (and when out of memory: the caller checks). Row k of the
    untransposed K x width:
      tied  [mu_k P, -1/2]          (width D + 1)
      diag  [mu_k * p_k, -p_k / 2]  (width 2 D)"""
    cdef Py_ssize_t k, j, d = n_features, width
    cdef floating *terms
    if cov_type != TIED and cov_type != DIAG:
        return NULL
    width = d + 1 if cov_type == TIED else 2 * d
    terms = <floating *> lvm_alloc(n_components * width * sizeof(floating))
    if terms == NULL:
        return NULL
    for k in range(n_components):
        for j in range(d):
            terms[j * n_components + k] = projected_means[k * d + j]
        if cov_type == TIED:
            terms[d * n_components + k] = -0.5
        else:
            for j in range(d):
                terms[(d + j) * n_components + k] = -0.5 * factors[k * d + j]
    return terms


cdef inline double *column_constants(int cov_type, Py_ssize_t n_components, const double[::1] offsets,
                              const double[::1] constants) except NULL:
    """What each component's column adds to log_prob_chunk's -q_k / 2:
    constants[k], less offsets[k] / 2 where the expansion leaves that out
    (tied, diag). Freed by the caller."""
    cdef double *cols = <double *> lvm_alloc(n_components * sizeof(double))
    cdef Py_ssize_t k
    if cols == NULL:
        raise MemoryError("could not allocate the log-densities' constants")
    for k in range(n_components):
        cols[k] = constants[k] - (0.5 * offsets[k] if cov_type == TIED or cov_type == DIAG else 0.0)
    return cols


cdef inline int density_terms(str kernel, int cov_type, Py_ssize_t n_components, Py_ssize_t n_features,
                       const floating *factors, const floating *projected_means,
                       const double[::1] offsets, const double[::1] constants, double **cols,
                       floating **expanded) except -1:
    """column_constants and expanded_terms, for the caller to free (on
    failure neither is left allocated)."""
    cols[0] = column_constants(cov_type, n_components, offsets, constants)
    expanded[0] = expanded_terms(cov_type, n_components, n_features, factors, projected_means)
    if expanded[0] == NULL and (cov_type == TIED or cov_type == DIAG):
        lvm_free(cols[0])
        cols[0] = NULL
        raise MemoryError(f"{kernel}: could not allocate the expansion's terms")
    return 0


cdef inline void log_prob_chunk(int cov_type, const floating *x, Py_ssize_t n, Py_ssize_t n_features,
                         Py_ssize_t n_components, const floating *factors,
                         const floating *projected_means, const floating *expanded,
                         floating *work, floating *out, Py_ssize_t ld) noexcept nogil:
    """out[k * ld + i] = -q_k(x_i) / 2 for the n centered rows x (as
    copy_rows holds them), short of each column's constant
    (column_constants), which the normalization or the write of the
    result adds.

    factors / projected_means / offsets by type (D features, K components):
      full       factors (D x K*D) = [P_1 ... P_K]; projected_means (K x D) = mu_k P_k
      tied       factors (D x D) = P;              projected_means (K x D) = mu_k P;
                 offsets[k] = ||mu_k P||^2
      diag       factors (K x D) = p_k = 1/sigma_k^2; projected_means (K x D) = mu_k * p_k;
                 offsets[k] = mu_k^2 . p_k
      4 (diag by direct differences) factors (K x D) = p_k; projected_means = mu_k
    expanded: expanded_terms of these (tied and diag). By expansion, -q_k / 2
    is not clipped at 0: it exceeds it by rounding only, which the caller
    bounds (lvmfast._gaussian.expansion_loses_digits), and it lacks
    -offsets[k] / 2.
    """
    cdef Py_ssize_t i, j, d = n_features, kd = n_components * n_features
    cdef double row_sq
    if cov_type == FULL:
        # work (column-major n x K*D: rows in the lanes) = x @ [P_1 ... P_K]
        gemm(c'T', c'T', <int> n, <int> kd, <int> d, 1.0, x, <int> d, factors, <int> kd,
             0.0, work, <int> n)
        if floating is double:
            lvm_full_log_prob_d(work, n, d, n_components, projected_means, out, ld)
        else:
            lvm_full_log_prob_s(work, n, d, n_components, projected_means, out, ld)
    elif cov_type == TIED:
        # work (row-major n x (D + 1)) = [x @ P, ||x @ P||^2]
        gemm(c'N', c'N', <int> d, <int> n, <int> d, 1.0, factors, <int> d, x, <int> d,
             0.0, work, <int> (d + 1))
        for i in range(n):
            row_sq = 0.0
            for j in range(d):
                row_sq = row_sq + <double> work[i * (d + 1) + j] * work[i * (d + 1) + j]
            work[i * (d + 1) + d] = <floating> row_sq
        gemm(c'T', c'T', <int> n, <int> n_components, <int> (d + 1), 1.0, work, <int> (d + 1),
             expanded, <int> n_components, 0.0, out, <int> ld)
    elif cov_type == DIAG:
        gemm(c'T', c'T', <int> n, <int> n_components, <int> (2 * d), 1.0, x, <int> (2 * d),
             expanded, <int> n_components, 0.0, out, <int> ld)
    else:
        # diag by direct differences: projected_means holds the means themselves
        if floating is double:
            lvm_diag_log_prob_d(x, n, d, n_components, projected_means, factors, out, ld, work)
        else:
            lvm_diag_log_prob_s(x, n, d, n_components, projected_means, factors, out, ld, work)
