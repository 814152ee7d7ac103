"""Rows with missing entries (NaN, missing at random) under K Gaussian
components: each row's log-density over its observed features, and the EM
statistics with the missing entries' conditional expectations filled in
(the arithmetic is in _missing.h).

The pass reads only the rows it is given (`rows`, indices into X, best
ordered by missingness pattern: a run of rows with one pattern shares each
component's factorization), never a filled-in copy of X. Rows are split
into fixed blocks of `block_rows` (never dependent on the thread count),
each block's statistics summed in row order into its own slot, so results
are bit-identical for any thread count. All arithmetic is in double;
float32 X is read as it is.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport exp, log, INFINITY
from libc.string cimport memset

from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from scipy.linalg.cython_blas cimport dgemm
from lvmfast._kernels._checks cimport check_length, check_positive, expected_blocks

cdef extern from "_missing.h" nogil:
    ctypedef struct lvm_missing_model:
        int kind
        Py_ssize_t n_features, n_components
        const double *chol
        const double *means
        const double *constants
        const double *log_chol
        const double *variances
    ctypedef struct lvm_missing_scratch:
        Py_ssize_t *observed
        Py_ssize_t *missing
        Py_ssize_t *cached_missing
        Py_ssize_t n_observed, n_missing, n_cached
        double *delta
        double *u
        double *y
        double *filled
        double *observed_mask
        double *dev
        double *log_dens
        double *factor
        double *cond_cov
        double *log_det_factor
    int lvm_missing_split(const double *x, lvm_missing_scratch *s, Py_ssize_t n_features)
    int lvm_missing_prepare(const lvm_missing_model *model, lvm_missing_scratch *s, int same)
    void lvm_missing_log_dens(const lvm_missing_model *model, lvm_missing_scratch *s, const double *x)
    void lvm_missing_accumulate(const lvm_missing_model *model, const lvm_missing_scratch *s,
                                const double *wr, double *nk, double *s1, double *s2)

# The kinds, as lvmfast._gaussian.CovarianceKind numbers them ('spherical'
# goes as 'diag' with equal precisions).
cdef enum:
    FULL = 0
    TIED = 1
    DIAG = 2


cdef void free_scratch(lvm_missing_scratch *s) noexcept nogil:
    if s == NULL:
        return
    lvm_free(s.observed)
    lvm_free(s.missing)
    lvm_free(s.cached_missing)
    lvm_free(s.delta)
    lvm_free(s.u)
    lvm_free(s.y)
    lvm_free(s.filled)
    lvm_free(s.observed_mask)
    lvm_free(s.dev)
    lvm_free(s.log_dens)
    lvm_free(s.factor)
    lvm_free(s.cond_cov)
    lvm_free(s.log_det_factor)
    lvm_free(s)


cdef lvm_missing_scratch *alloc_scratch(Py_ssize_t D, Py_ssize_t K, int kind, bint want_cov) noexcept nogil:
    """One thread's scratch, or NULL (everything freed) when memory ran out."""
    cdef Py_ssize_t n_factors = 0 if kind == DIAG else (1 if kind == TIED else K)
    cdef lvm_missing_scratch *s = <lvm_missing_scratch *> lvm_alloc(sizeof(lvm_missing_scratch))
    if s == NULL:
        return NULL
    s.observed = <Py_ssize_t *> lvm_alloc(D * sizeof(Py_ssize_t))
    s.missing = <Py_ssize_t *> lvm_alloc(D * sizeof(Py_ssize_t))
    s.cached_missing = <Py_ssize_t *> lvm_alloc(D * sizeof(Py_ssize_t))
    s.delta = <double *> lvm_alloc(D * sizeof(double))
    s.u = <double *> lvm_alloc(D * sizeof(double))
    s.y = <double *> lvm_alloc(D * sizeof(double))
    s.filled = <double *> lvm_alloc(D * sizeof(double))
    s.observed_mask = <double *> lvm_alloc(D * sizeof(double))
    s.dev = <double *> lvm_alloc(K * D * sizeof(double))
    s.log_dens = <double *> lvm_alloc(K * sizeof(double))
    s.factor = <double *> lvm_alloc((n_factors * D * D + 1) * sizeof(double))
    s.cond_cov = <double *> lvm_alloc((n_factors * D * D + 1) * sizeof(double)) if want_cov else NULL
    s.log_det_factor = <double *> lvm_alloc((n_factors + 1) * sizeof(double))
    s.n_cached = -1
    if (s.observed == NULL or s.missing == NULL or s.cached_missing == NULL or s.delta == NULL
            or s.u == NULL or s.y == NULL or s.filled == NULL or s.observed_mask == NULL or s.dev == NULL or s.log_dens == NULL or s.factor == NULL
            or (want_cov and s.cond_cov == NULL) or s.log_det_factor == NULL):
        free_scratch(s)
        return NULL
    return s


cdef inline void read_row(const floating *x, const double *shift, Py_ssize_t D, double *out) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(D):
        out[j] = <double> x[j] - shift[j]


def _diag_terms(int kind, chol):
    """'diag': log p and 1 / p^2 of the factors (one element each otherwise)."""
    import numpy as np
    if kind != DIAG:
        return np.zeros(1), np.zeros(1)
    factors = np.asarray(chol)
    return np.ascontiguousarray(np.log(factors)), np.ascontiguousarray(1.0 / factors**2)


def _check_model(str name, int kind, Py_ssize_t D, Py_ssize_t K, chol, means, constants, shift):
    if kind != FULL and kind != TIED and kind != DIAG:
        raise ValueError(f"{name}: kind must be 0 (full), 1 (tied) or 2 (diag), got {kind}")
    check_positive(name, "the number of components (rows of means)", K)
    check_length(name, "means (K x D, flattened)", means.shape[0] * means.shape[1], K * D)
    check_length(name, "shift", shift.shape[0], D)
    check_length(name, "constants", constants.shape[0], K)
    expected = {FULL: K * D * D, TIED: D * D, DIAG: K * D}[kind]
    check_length(name, "chol (flattened precision factors)", chol.shape[0], expected)


def missing_pass(const floating[:, ::1] X not None, const Py_ssize_t[::1] rows not None,
                 const double[::1] weights not None, const Py_ssize_t[::1] labels,
                 int kind, const double[::1] chol not None, const double[:, ::1] means not None,
                 const double[::1] constants not None, const double[::1] shift not None,
                 double[:, ::1] block_nk not None, double[:, :, ::1] block_s1 not None,
                 double[:, ::1] block_s2 not None, double[::1] block_log_likelihood not None,
                 Py_ssize_t block_rows, int n_threads):
    """EM statistics of X[rows] (rows with missing entries) in the frame
    X - shift. weights[i] is row rows[i]'s weight. labels None: E-step on the
    observed features (responsibilities from the log-densities plus
    constants); labels given: the responsibility is 1 at labels[i] (known
    classes). Writes per block b: nk (K), s1 (K, D) = sum w r xhat, s2
    ('full' K x D x D around `means`: sum w r ((xhat - mu)(xhat - mu)^T + C),
    upper triangles; 'tied' D x D: sum w r (xhat xhat^T + C), upper; 'diag'
    K x D: sum w r ((xhat - mu)^2 + conditional variance)) and sum w log p(x_o)."""
    name = "missing_pass"
    cdef Py_ssize_t D = X.shape[1], K = means.shape[0], n_rows = rows.shape[0]
    _check_model(name, kind, D, K, chol, means, constants, shift)
    check_length(name, "weights", weights.shape[0], n_rows)
    if labels is not None:
        check_length(name, "labels", labels.shape[0], n_rows)
    check_positive(name, "block_rows", block_rows)
    cdef Py_ssize_t n_blocks = expected_blocks(n_rows, block_rows)
    cdef Py_ssize_t s2_size = K * D * D if kind == FULL else (D * D if kind == TIED else K * D)
    check_length(name, "block_nk (blocks x K)", block_nk.shape[0] * block_nk.shape[1], n_blocks * K)
    check_length(name, "block_s1 (blocks x K x D)", block_s1.shape[0] * block_s1.shape[1] * block_s1.shape[2],
                 n_blocks * K * D)
    check_length(name, "block_s2 (blocks x its size)", block_s2.shape[0] * block_s2.shape[1], n_blocks * s2_size)
    check_length(name, "block_log_likelihood", block_log_likelihood.shape[0], n_blocks)
    cdef Py_ssize_t i, r
    for i in range(n_rows):
        r = rows[i]
        if r < 0 or r >= X.shape[0]:
            raise ValueError(f"{name}: rows must index X's {X.shape[0]} rows, got {r}")
        if labels is not None and (labels[i] < 0 or labels[i] >= K):
            raise ValueError(f"{name}: labels must lie in 0 .. {K - 1}, got {labels[i]}")
    cdef lvm_missing_model model
    model.kind = kind
    model.n_features = D
    model.n_components = K
    model.chol = &chol[0]
    model.means = &means[0, 0]
    model.constants = &constants[0]
    diag_terms = _diag_terms(kind, chol)
    cdef const double[::1] log_chol = diag_terms[0]
    cdef const double[::1] variances = diag_terms[1]
    model.log_chol = &log_chol[0]
    model.variances = &variances[0]
    cdef const Py_ssize_t *label_ptr = &labels[0] if labels is not None and n_rows > 0 else NULL
    cdef int failed = 0, same
    cdef Py_ssize_t b, start, stop, k
    cdef double top, total, ll
    cdef lvm_missing_scratch *s
    cdef double *x
    cdef double *wr
    with nogil, parallel(num_threads=n_threads):
        x = <double *> lvm_alloc(D * sizeof(double))
        wr = <double *> lvm_alloc(K * sizeof(double))
        s = alloc_scratch(D, K, kind, kind != DIAG)
        if s == NULL or x == NULL or wr == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            memset(&block_nk[b, 0], 0, K * sizeof(double))
            memset(&block_s1[b, 0, 0], 0, K * D * sizeof(double))
            memset(&block_s2[b, 0], 0, s2_size * sizeof(double))
            ll = 0.0
            s.n_cached = -1  # a block starts from no cached pattern: its sums never depend on another's
            start = b * block_rows
            stop = min(start + block_rows, n_rows)
            for i in range(start, stop):
                read_row(&X[rows[i], 0], &shift[0], D, x)
                same = lvm_missing_split(x, s, D)
                if lvm_missing_prepare(&model, s, same) < 0:
                    lvm_flag(&failed)
                    break
                lvm_missing_log_dens(&model, s, x)
                if label_ptr != NULL:
                    for k in range(K):
                        wr[k] = 0.0
                    wr[label_ptr[i]] = weights[i]
                    ll = ll + weights[i] * s.log_dens[label_ptr[i]]
                else:
                    top = -INFINITY
                    for k in range(K):
                        if s.log_dens[k] > top:
                            top = s.log_dens[k]
                    total = 0.0
                    for k in range(K):
                        wr[k] = exp(s.log_dens[k] - top)
                        total = total + wr[k]
                    for k in range(K):
                        wr[k] = weights[i] * (wr[k] / total)
                    ll = ll + weights[i] * (top + log(total))
                lvm_missing_accumulate(&model, s, wr, &block_nk[b, 0], &block_s1[b, 0, 0], &block_s2[b, 0])
            block_log_likelihood[b] = ll
        free_scratch(s)
        lvm_free(x)
        lvm_free(wr)
    raise_if_failed(failed, name)


def missing_log_prob(const floating[:, ::1] X not None, const Py_ssize_t[::1] rows not None,
                     int kind, const double[::1] chol not None, const double[:, ::1] means not None,
                     const double[::1] constants not None, const double[::1] shift not None,
                     double[:, ::1] out not None, Py_ssize_t block_rows, int n_threads):
    """out[i, k] = log N(x_o | component k) + constants[k] - log det P_k +
    log det P_k (constants carry log det P_k and any log weight) for the
    observed features of row rows[i] of X, in the frame X - shift."""
    name = "missing_log_prob"
    cdef Py_ssize_t D = X.shape[1], K = means.shape[0], n_rows = rows.shape[0]
    _check_model(name, kind, D, K, chol, means, constants, shift)
    check_length(name, "out (rows x K)", out.shape[0] * out.shape[1], n_rows * K)
    check_positive(name, "block_rows", block_rows)
    cdef Py_ssize_t i, r, b, start, stop, k
    for i in range(n_rows):
        r = rows[i]
        if r < 0 or r >= X.shape[0]:
            raise ValueError(f"{name}: rows must index X's {X.shape[0]} rows, got {r}")
    cdef Py_ssize_t n_blocks = expected_blocks(n_rows, block_rows)
    cdef lvm_missing_model model
    model.kind = kind
    model.n_features = D
    model.n_components = K
    model.chol = &chol[0]
    model.means = &means[0, 0]
    model.constants = &constants[0]
    diag_terms = _diag_terms(kind, chol)
    cdef const double[::1] log_chol = diag_terms[0]
    cdef const double[::1] variances = diag_terms[1]
    model.log_chol = &log_chol[0]
    model.variances = &variances[0]
    cdef int failed = 0, same
    cdef lvm_missing_scratch *s
    cdef double *x
    with nogil, parallel(num_threads=n_threads):
        x = <double *> lvm_alloc(D * sizeof(double))
        s = alloc_scratch(D, K, kind, False)
        if s == NULL or x == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            s.n_cached = -1
            start = b * block_rows
            stop = min(start + block_rows, n_rows)
            for i in range(start, stop):
                read_row(&X[rows[i], 0], &shift[0], D, x)
                same = lvm_missing_split(x, s, D)
                if lvm_missing_prepare(&model, s, same) < 0:
                    lvm_flag(&failed)
                    break
                lvm_missing_log_dens(&model, s, x)
                for k in range(K):
                    out[i, k] = s.log_dens[k]
        free_scratch(s)
        lvm_free(x)
    raise_if_failed(failed, name)


def diagonal_pass(const floating[:, ::1] X not None, const Py_ssize_t[::1] rows not None,
                  const double[::1] weights not None, const double[:, ::1] terms not None,
                  const double[::1] log_weights not None, const double[::1] shift not None,
                  double[:, ::1] block_nk not None, double[:, :, ::1] block_moments not None,
                  double[::1] block_log_likelihood not None, Py_ssize_t chunk_rows, Py_ssize_t block_rows,
                  int n_threads):
    """'diag' components on rows X[rows] with any missing entries, as two
    gemms per chunk. A row's features are f = [o, x0, x0^2] (3D: the
    observed mask, the row centered by shift with 0 where missing, its
    square); its scores are f @ terms + log_weights (terms: 3D x K, see
    lvmfast._missing.diagonal_missing_statistics), normalized in place; per
    block b: nk (K) = sum w r, moments (K x 3D) = sum w r f^T and sum w lse."""
    name = "diagonal_pass"
    cdef Py_ssize_t D = X.shape[1], K = terms.shape[1], n_rows = rows.shape[0], width = 3 * X.shape[1]
    check_length(name, "terms (rows: 3 x n_features)", terms.shape[0], width)
    check_positive(name, "the number of components (columns of terms)", K)
    check_length(name, "log_weights", log_weights.shape[0], K)
    check_length(name, "shift", shift.shape[0], D)
    check_length(name, "weights", weights.shape[0], n_rows)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "block_rows", block_rows)
    if block_rows % chunk_rows:
        raise ValueError(f"{name}: block_rows ({block_rows}) must be a multiple of chunk_rows ({chunk_rows})")
    cdef Py_ssize_t n_blocks = expected_blocks(n_rows, block_rows)
    check_length(name, "block_nk (blocks x K)", block_nk.shape[0] * block_nk.shape[1], n_blocks * K)
    check_length(name, "block_moments (blocks x K x 3D)",
                 block_moments.shape[0] * block_moments.shape[1] * block_moments.shape[2], n_blocks * K * width)
    check_length(name, "block_log_likelihood", block_log_likelihood.shape[0], n_blocks)
    cdef Py_ssize_t i, r, b, start, stop, n, c, j, k
    for i in range(n_rows):
        r = rows[i]
        if r < 0 or r >= X.shape[0]:
            raise ValueError(f"{name}: rows must index X's {X.shape[0]} rows, got {r}")
    cdef int failed = 0
    cdef double *features
    cdef double *scores
    cdef double v, top, total, ll, w
    cdef double one = 1.0, zero = 0.0
    cdef char no_trans = b'N', trans = b'T'
    cdef int gemm_k = <int> K, gemm_width = <int> width, gemm_n
    with nogil, parallel(num_threads=n_threads):
        features = <double *> lvm_alloc(chunk_rows * width * sizeof(double))
        scores = <double *> lvm_alloc(chunk_rows * K * sizeof(double))
        if features == NULL or scores == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            memset(&block_nk[b, 0], 0, K * sizeof(double))
            memset(&block_moments[b, 0, 0], 0, K * width * sizeof(double))
            ll = 0.0
            start = b * block_rows
            stop = min(start + block_rows, n_rows)
            while start < stop:
                n = min(chunk_rows, stop - start)
                gemm_n = <int> n
                for c in range(n):
                    for j in range(D):
                        v = <double> X[rows[start + c], j] - shift[j]
                        if v != v:  # NaN: missing
                            features[c * width + j] = 0.0
                            features[c * width + D + j] = 0.0
                            features[c * width + 2 * D + j] = 0.0
                        else:
                            features[c * width + j] = 1.0
                            features[c * width + D + j] = v
                            features[c * width + 2 * D + j] = v * v
                # scores (n x K, row-major) = features (n x 3D) @ terms (3D x K)
                dgemm(&no_trans, &no_trans, &gemm_k, &gemm_n, &gemm_width, &one, <double *> &terms[0, 0],
                      &gemm_k, features, &gemm_width, &zero, scores, &gemm_k)
                for c in range(n):
                    top = -INFINITY
                    for k in range(K):
                        scores[c * K + k] = scores[c * K + k] + log_weights[k]
                        if scores[c * K + k] > top:
                            top = scores[c * K + k]
                    total = 0.0
                    for k in range(K):
                        scores[c * K + k] = exp(scores[c * K + k] - top)
                        total = total + scores[c * K + k]
                    w = weights[start + c]
                    ll = ll + w * (top + log(total))
                    for k in range(K):
                        scores[c * K + k] = w * (scores[c * K + k] / total)
                        block_nk[b, k] += scores[c * K + k]
                # moments (K x 3D, row-major) += (w r)^T (K x n) @ features (n x 3D)
                dgemm(&no_trans, &trans, &gemm_width, &gemm_k, &gemm_n, &one, features, &gemm_width,
                      scores, &gemm_k, &one, &block_moments[b, 0, 0], &gemm_width)
                start = start + n
            block_log_likelihood[b] = ll
        lvm_free(features)
        lvm_free(scores)
    raise_if_failed(failed, name)
