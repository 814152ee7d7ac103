"""Gaussian log-densities of a chunk of rows under K components, from the
precision Cholesky factors (scikit-learn's parametrization: precision =
P P^T, P upper triangular for 'full' and 'tied', 1/sigma for 'diag').

Every covariance type is shaped as gemm on the chunk, centered by `shift`:
  full       Y = X [P_1 ... P_K]   (one gemm against all factors), then
             q_k = ||Y_k - mu_k P_k||^2
  tied       Y = X P               (one projection of X, not K), then one
             gemm of [Y, ||Y||^2] against [mu_k P, -1/2]:
             -q_k / 2 = Y.(mu_k P) - ||Y||^2 / 2 - ||mu_k P||^2 / 2
  diag       one gemm of the rows [x, x*x] against [mu_k * p_k, -p_k / 2]:
             -q_k / 2 = x.(mu_k p_k) - (x*x).p_k / 2 - mu_k^2.p_k / 2
and log N(x | k) + c_k = c_k - q_k / 2, with c_k given by the caller
(log det P_k - D log(2 pi) / 2, plus log pi_k where wanted). 'spherical' is
'diag' with equal precisions (lvmfast._gaussian.kernel_terms), and 'diag'
by direct differences (DIAG_DIRECT) sums p_kd (x_d - mu_kd)^2 itself, for rows
where the expansion would lose digits.

The chunk routine writes a column-major (n x K) block with any leading
dimension, so the fused EM pass can run it on its per-thread chunk and
`log_prob` on a whole n_samples x n_components output.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from libc.string cimport memset

from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport (
    check_labels, check_length, check_plan, check_positive, check_shape, check_shape3,
    expected_blocks,
)
from lvmfast._kernels._rows cimport center_rows, copy_centered

COVARIANCE_CODES = ("full", "tied", "diag", "spherical", "diag by direct differences")


cdef int check_cov_type(str kernel, int cov_type) except -1:
    if cov_type < FULL or cov_type > DIAG_DIRECT:
        raise ValueError(f"{kernel}: cov_type must be a CovarianceKind, 0 to 4 (FULL, TIED, DIAG, "
                         f"SPHERICAL, DIAG_DIRECT), got {cov_type}")
    return 0


cdef int check_density_type(str kernel, int cov_type) except -1:
    """The log-density kernels take spherical components as diagonal ones."""
    check_cov_type(kernel, cov_type)
    if cov_type == SPHERICAL:
        raise ValueError(f"{kernel}: cov_type SPHERICAL (3) is evaluated as DIAG (2) with equal "
                         "precisions; pass those")
    return 0


cdef Py_ssize_t factors_length(int cov_type, Py_ssize_t n_components, Py_ssize_t n_features) noexcept nogil:
    """Length of the flattened precision factors of log_prob_chunk."""
    if cov_type == FULL:
        return n_features * n_components * n_features
    if cov_type == TIED:
        return n_features * n_features
    return n_components * n_features  # diag, by expansion or by direct differences


cdef Py_ssize_t s2_length(int cov_type, Py_ssize_t n_components, Py_ssize_t n_features) noexcept nogil:
    """Length of a block's flattened second-moment statistic."""
    if cov_type == FULL:
        return n_components * n_features * n_features
    if cov_type == TIED:
        return n_features * n_features
    return n_components * n_features


cdef int check_terms(str kernel, int cov_type, Py_ssize_t n_components, Py_ssize_t n_features,
                     const floating[::1] factors, const floating[:, ::1] projected_means,
                     const double[::1] offsets, const double[::1] constants) except -1:
    """The log-density terms (see log_prob_chunk) against K and D."""
    check_density_type(kernel, cov_type)
    check_length(kernel, f"factors (precision factors for cov_type {cov_type}, "
                 f"{COVARIANCE_CODES[cov_type]})", factors.shape[0],
                 factors_length(cov_type, n_components, n_features))
    check_shape(kernel, "projected_means", projected_means.shape[0], projected_means.shape[1],
                n_components, n_features)
    check_length(kernel, "offsets", offsets.shape[0], n_components)
    check_length(kernel, "constants", constants.shape[0], n_components)
    return 0


def log_prob(const floating[:, ::1] X not None, const floating[::1] shift not None, int cov_type,
             const floating[::1] factors not None, const floating[:, ::1] projected_means not None,
             const double[::1] offsets not None, const double[::1] constants not None,
             floating[:, ::1] out not None, double[::1] lse, Py_ssize_t chunk_rows, int n_threads):
    """out[i, k] = constants[k] - q_k(X[i] - shift) / 2 for every row (see
    log_prob_chunk; `factors` is flattened, means live in the shifted
    frame). cov_type is the index in COVARIANCE_CODES (spherical goes as
    diag). out is row-major n_samples x
    n_components, as the methods return it. With lse (length n_samples),
    each row is normalized too: lse[i] = log sum_k exp(out[i, k]) and out[i]
    becomes exp(out[i] - lse[i]), chunk by chunk in the threads' scratch, so
    out is written once."""
    name = "log_prob"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = out.shape[1]
    check_positive(name, "the number of components (columns of out)", n_components)
    check_length(name, "shift", shift.shape[0], n_features)
    check_terms(name, cov_type, n_components, n_features, factors, projected_means, offsets, constants)
    check_shape(name, "out", out.shape[0], out.shape[1], n_samples, n_components)
    cdef bint normalize = lse is not None
    if normalize:
        check_length(name, "lse", lse.shape[0], n_samples)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, start, n, i, k
    cdef Py_ssize_t extra = work_size(cov_type, chunk_rows, n_features, n_components)
    cdef Py_ssize_t width = row_width(cov_type, n_features)
    cdef floating *buf
    cdef floating *work
    cdef floating *scores
    cdef floating *rows
    if n_samples == 0:
        return
    cdef double *cols = NULL
    cdef floating *expanded = NULL
    density_terms(name, cov_type, n_components, n_features, &factors[0], &projected_means[0, 0],
                  offsets, constants, &cols, &expanded)
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        buf = <floating *> lvm_alloc(chunk_rows * width * sizeof(floating))
        work = <floating *> lvm_alloc((extra if extra > 0 else 1) * sizeof(floating))
        scores = <floating *> lvm_alloc(chunk_rows * n_components * sizeof(floating))
        if buf == NULL or work == NULL or scores == NULL:
            lvm_flag(&failed)
        for c in prange(n_chunks, schedule="static"):
            if lvm_flagged(&failed):
                continue
            start = c * chunk_rows
            n = min(chunk_rows, n_samples - start)
            copy_rows(cov_type, X, start, n, shift, buf)
            # column-major in the scratch (the kernels' layout), then one
            # transposing write of the chunk's rows
            log_prob_chunk(cov_type, buf, n, n_features, n_components, &factors[0],
                           &projected_means[0, 0], expanded, work, scores, n)
            rows = &out[start, 0]
            if normalize:
                log_normalize(scores, n, n_components, cols, &lse[start])
                for i in range(n):
                    for k in range(n_components):
                        rows[i * n_components + k] = scores[k * n + i]
            else:
                for i in range(n):
                    for k in range(n_components):
                        rows[i * n_components + k] = <floating> (scores[k * n + i] + cols[k])
        lvm_free(buf)
        lvm_free(work)
        lvm_free(scores)
    lvm_free(expanded)
    lvm_free(cols)
    raise_if_failed(failed, name)


# ---------------------------------------------------------------------------
# The fused EM pass
#
# Per chunk: log-densities plus log weights, normalized into responsibilities
# (lvm_log_normalize), then the weighted sufficient statistics of the block:
#   nk[k]  = sum w r_ik
#   s1[k]  = sum w r_ik x_i                      (x centered by shift)
#   s2     = full:      [k] sum w r_ik (x_i - m_k)(x_i - m_k)^T
#            tied:      sum w x_i x_i^T
#            diag:      [k] sum w r_ik (x_i - m_k)^2   (elementwise)
# with m_k the means of this iteration (the model being evaluated). Summing
# around m_k keeps second moments free of cancellation: the M-step subtracts
# only (mu_new - m_k)(mu_new - m_k)^T, which is small. With around_shift,
# 'full' and 'diag' by expansion sum w r x x^T (x^2) around the shift
# instead, by one gemm; the caller moves them to m_k, where that loses few
# digits (lvmfast._gaussian.em_statistics).


cdef void accumulate_stats(int cov_type, const floating *x, Py_ssize_t n, Py_ssize_t d,
                           Py_ssize_t n_components, const floating *weight,
                           floating *resp, const floating *means, double *nk, double *s1,
                           double *s2, bint second_moments, bint around_shift, floating *work,
                           floating *stat) noexcept nogil:
    """Add the chunk's statistics (see above) to nk, s1 and, with
    second_moments, s2; with around_shift, 'full' sums s2 = sum w r x x^T
    instead, by one gemm of the rows' packed outer products, and 'diag' by
    expansion sum w r x^2, in the gemm of s1. x holds the
    rows as copy_rows does; resp (column-major n x K) is scaled by the
    weights in place. work holds n x D (and n x D(D+1)/2 for around_shift),
    stat K x 2D, D x D and K x D(D+1)/2."""
    cdef Py_ssize_t i, l, k, a, t, kd = n_components * d
    cdef Py_ssize_t width = row_width(cov_type, d), packed = packed_length(d)
    for k in range(n_components):
        if floating is double:
            nk[k] += lvm_weigh_sum_d(&resp[k * n], weight, n)
        else:
            nk[k] += lvm_weigh_sum_s(&resp[k * n], weight, n)
    # stat (row-major K x cols, i.e. column-major cols x K) = rows^T (w r):
    # s1, and for diag around the shift s2 = sum w r x^2 beside it
    cdef Py_ssize_t cols = width if cov_type == DIAG and around_shift else d
    gemm(c'N', c'N', <int> cols, <int> n_components, <int> n, 1.0, x, <int> width, resp, <int> n,
         0.0, stat, <int> cols)
    for k in range(n_components):
        for l in range(d):
            s1[k * d + l] += stat[k * cols + l]
    if not second_moments:
        return
    if cov_type == FULL and around_shift:
        # work (row-major n x packed) = each row's x_a x_b, a <= b; stat
        # (column-major packed x K) = work^T (w r): half the flops of K
        # separate D x D products, in one gemm
        if floating is double:
            lvm_packed_outer_d(x, n, d, work)
        else:
            lvm_packed_outer_s(x, n, d, work)
        gemm(c'N', c'N', <int> packed, <int> n_components, <int> n, 1.0, work, <int> packed, resp,
             <int> n, 0.0, stat, <int> packed)
        for k in range(n_components):
            t = 0
            for a in range(d):
                for l in range(a, d):
                    s2[k * d * d + a * d + l] += stat[k * packed + t]
                    t = t + 1
    elif cov_type == FULL:
        for k in range(n_components):
            # work = sqrt(w r_k) (x - m_k); s2[k] += work^T work (BLAS's syrk,
            # half the flops, is slower at these sizes)
            scaled_dev(x, n, d, &resp[k * n], &means[k * d], work)
            gemm(c'N', c'T', <int> d, <int> d, <int> n, 1.0, work, <int> d, work, <int> d,
                 0.0, stat, <int> d)
            for l in range(d * d):
                s2[k * d * d + l] += stat[l]
    elif cov_type == TIED:
        # work = sqrt(w) x (stat, zeroed, stands for a zero mean); s2 += work^T work
        memset(stat, 0, d * sizeof(floating))
        scaled_dev(x, n, d, weight, stat, work)
        gemm(c'N', c'T', <int> d, <int> d, <int> n, 1.0, work, <int> d, work, <int> d,
             0.0, stat, <int> d)
        for l in range(d * d):
            s2[l] += stat[l]
    elif cov_type == DIAG and around_shift:
        for k in range(n_components):
            for l in range(d):
                s2[k * d + l] += stat[k * cols + d + l]
    else:
        for k in range(n_components):
            weighted_sq_dev(x, n, d, width, &resp[k * n], &means[k * d], &s2[k * d])


cdef int check_block_statistics(str kernel, double[:, ::1] block_nk, double[:, :, ::1] block_s1,
                                double[:, ::1] block_s2, Py_ssize_t n_blocks,
                                Py_ssize_t n_components, Py_ssize_t n_features,
                                Py_ssize_t s2_size) except -1:
    check_shape(kernel, "block_nk (one row per block of the plan)", block_nk.shape[0],
                block_nk.shape[1], n_blocks, n_components)
    check_shape3(kernel, "block_s1 (one slot per block of the plan)", block_s1.shape[0],
                 block_s1.shape[1], block_s1.shape[2], n_blocks, n_components, n_features)
    check_shape(kernel, "block_s2 (one row per block of the plan)", block_s2.shape[0],
                block_s2.shape[1], n_blocks, s2_size)
    return 0


def em_pass(const floating[:, ::1] X not None, const floating[::1] shift not None,
            const floating[::1] sample_weight not None, int cov_type,
            const floating[::1] factors not None, const floating[:, ::1] projected_means not None,
            const double[::1] offsets not None, const double[::1] constants not None,
            const floating[:, ::1] means not None, double[:, ::1] block_nk not None,
            double[:, :, ::1] block_s1 not None, double[:, ::1] block_s2 not None,
            double[::1] block_log_likelihood not None, Py_ssize_t chunk_rows,
            Py_ssize_t block_rows, int n_threads, bint second_moments=True,
            bint around_shift=False):
    """One E-step and the M-step's statistics, in one pass over X.

    constants include the log weights, so each row's log-sum-exp is its
    log-likelihood: block_log_likelihood[b] = sum of w * log p(x). means (in
    the shifted frame) are the model's current means, around which s2 is
    summed (see above: by expansion, around the shift). Per block b:
    block_nk[b] (K), block_s1[b] (K x D) and block_s2[b] (flattened: K*D*D
    full, D*D tied, K*D diag; left at 0 when second_moments is false: the
    tied s2 does not change from pass to pass). With around_shift, 'full'
    sums s2 = sum w r x x^T around the shift, in its upper triangles (the
    caller mirrors them), and 'diag' by expansion sum w r x^2. No
    n_samples x n_components
    array is made: each thread holds one chunk. Block buffers have
    n_blocks = max(1, ceil(n_samples / block_rows)) rows.
    """
    name = "em_pass"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_components = means.shape[0]
    check_positive(name, "the number of components (rows of means)", n_components)
    check_shape(name, "means", means.shape[0], means.shape[1], n_components, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_terms(name, cov_type, n_components, n_features, factors, projected_means, offsets, constants)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    cdef Py_ssize_t s2_size = s2_length(cov_type, n_components, n_features)
    check_block_statistics(name, block_nk, block_s1, block_s2, n_blocks, n_components, n_features,
                           s2_size)
    check_length(name, "block_log_likelihood (one slot per block of the plan)",
                 block_log_likelihood.shape[0], n_blocks)
    cdef Py_ssize_t extra = work_size(cov_type, chunk_rows, n_features, n_components)
    cdef Py_ssize_t width = row_width(cov_type, n_features)
    cdef Py_ssize_t b, start, stop, n, i
    cdef double ll
    cdef floating *buf
    cdef floating *work
    cdef floating *scores
    cdef floating *stat
    cdef double *lse
    if extra < chunk_rows * n_features:
        extra = chunk_rows * n_features
    cdef Py_ssize_t stat_size = max(n_features * n_features, n_components * width)
    if around_shift:
        if cov_type != FULL and cov_type != DIAG:
            raise ValueError(f"{name}: around_shift is for cov_type FULL (0) and DIAG (2, by expansion), "
                             f"got cov_type {cov_type}")
        stat_size = max(stat_size, n_components * packed_length(n_features))
    cdef double *cols = NULL
    cdef floating *expanded = NULL
    density_terms(name, cov_type, n_components, n_features, &factors[0], &projected_means[0, 0],
                  offsets, constants, &cols, &expanded)
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        buf = <floating *> lvm_alloc(chunk_rows * width * sizeof(floating))
        work = <floating *> lvm_alloc(extra * sizeof(floating))
        scores = <floating *> lvm_alloc(chunk_rows * n_components * sizeof(floating))
        stat = <floating *> lvm_alloc(stat_size * sizeof(floating))
        lse = <double *> lvm_alloc(chunk_rows * sizeof(double))
        if buf == NULL or work == NULL or scores == NULL or stat == NULL or lse == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            memset(&block_nk[b, 0], 0, n_components * sizeof(double))
            memset(&block_s1[b, 0, 0], 0, n_components * n_features * sizeof(double))
            memset(&block_s2[b, 0], 0, s2_size * sizeof(double))
            ll = 0.0
            start = b * block_rows
            stop = min(start + block_rows, n_samples)
            while start < stop:
                n = min(chunk_rows, stop - start)
                copy_rows(cov_type, X, start, n, shift, buf)
                log_prob_chunk(cov_type, buf, n, n_features, n_components, &factors[0],
                               &projected_means[0, 0], expanded, work, scores, n)
                log_normalize(scores, n, n_components, cols, lse)
                for i in range(n):
                    ll = ll + sample_weight[start + i] * lse[i]
                accumulate_stats(cov_type, buf, n, n_features, n_components,
                                 &sample_weight[start], scores, &means[0, 0], &block_nk[b, 0],
                                 &block_s1[b, 0, 0], &block_s2[b, 0], second_moments,
                                 around_shift, work, stat)
                start = start + n
            block_log_likelihood[b] = ll
        lvm_free(buf)
        lvm_free(work)
        lvm_free(scores)
        lvm_free(stat)
        lvm_free(lse)
    lvm_free(expanded)
    lvm_free(cols)
    raise_if_failed(failed, name)


cdef void class_scatter(const floating *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_classes,
                        const Py_ssize_t *labels, const floating *weight, const floating *means,
                        double *nk, double *s1, double *s2, Py_ssize_t *order,
                        Py_ssize_t *offsets, floating *work, floating *stat) noexcept nogil:
    """The 'full' class statistics of a chunk: nk and s1 as class_moments
    adds them, and s2[c] += sum over the rows of class c of
    w (x - m_c)(x - m_c)^T, one gemm per class over its own rows (gathered
    in chunk order, scaled by sqrt(w)): O(n d^2) in all, where the one-hot
    mixture form costs O(n d^2 K). Scratch: order (n), offsets (K + 1),
    work (n x d), stat (d x d)."""
    cdef Py_ssize_t i, k, t, m, l
    if floating is double:
        lvm_class_moments_d(x, n, d, labels, weight, means, nk, s1, NULL)
    else:
        lvm_class_moments_s(x, n, d, labels, weight, means, nk, s1, NULL)
    # a stable counting sort of the chunk's rows by class
    for k in range(n_classes + 1):
        offsets[k] = 0
    for i in range(n):
        offsets[labels[i] + 1] += 1
    for k in range(n_classes):
        offsets[k + 1] += offsets[k]
    for i in range(n):
        order[offsets[labels[i]]] = i
        offsets[labels[i]] += 1
    t = 0
    for k in range(n_classes):
        m = offsets[k] - t  # offsets[k] is now the end of class k's rows
        if m > 0:
            for l in range(m):
                i = order[t + l]
                scaled_dev(&x[i * d], 1, d, &weight[i], &means[k * d], &work[l * d])
            gemm(c'N', c'T', <int> d, <int> d, <int> m, 1.0, work, <int> d, work, <int> d,
                 0.0, stat, <int> d)
            for l in range(d * d):
                s2[k * d * d + l] += stat[l]
        t = offsets[k]


def class_pass(const floating[:, ::1] X not None, const floating[::1] shift not None,
               const floating[::1] sample_weight not None, const Py_ssize_t[::1] labels not None,
               int cov_type, const floating[:, ::1] means not None, bint second_moments,
               double[:, ::1] block_nk not None, double[:, :, ::1] block_s1 not None,
               double[:, ::1] block_s2 not None, Py_ssize_t chunk_rows,
               Py_ssize_t block_rows, int n_threads):
    """em_pass's statistics for known classes: responsibilities are one-hot on
    labels (0 .. K-1). With second_moments false only nk and s1 are summed
    (s2 is left at 0); the generative classifiers take s1 first, then s2
    around the class means so found."""
    name = "class_pass"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_classes = means.shape[0]
    check_cov_type(name, cov_type)
    check_positive(name, "the number of classes (rows of means)", n_classes)
    check_shape(name, "means", means.shape[0], means.shape[1], n_classes, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    cdef Py_ssize_t s2_size = s2_length(cov_type, n_classes, n_features)
    check_block_statistics(name, block_nk, block_s1, block_s2, n_blocks, n_classes, n_features,
                           s2_size)
    check_labels(name, "labels", labels, n_classes)
    cdef Py_ssize_t b, start, stop, n, i, l
    cdef floating *buf
    cdef const floating *rows
    cdef floating *work
    cdef floating *resp
    cdef floating *stat
    cdef Py_ssize_t *order
    cdef Py_ssize_t *offsets
    # with no shift, the moments kernel reads X's rows where they are (it
    # does not write them): no per-chunk copy
    cdef bint in_place = cov_type >= DIAG or not second_moments
    for l in range(n_features):
        if shift[l] != 0:
            in_place = False
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
        order = <Py_ssize_t *> lvm_alloc(chunk_rows * sizeof(Py_ssize_t))
        offsets = <Py_ssize_t *> lvm_alloc((n_classes + 1) * sizeof(Py_ssize_t))
        work = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
        resp = <floating *> lvm_alloc(chunk_rows * n_classes * sizeof(floating))
        stat = <floating *> lvm_alloc(max(n_features * n_features, n_classes * n_features) * sizeof(floating))
        if buf == NULL or order == NULL or offsets == NULL or work == NULL or resp == NULL or stat == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            memset(&block_nk[b, 0], 0, n_classes * sizeof(double))
            memset(&block_s1[b, 0, 0], 0, n_classes * n_features * sizeof(double))
            memset(&block_s2[b, 0], 0, s2_size * sizeof(double))
            start = b * block_rows
            stop = min(start + block_rows, n_samples)
            while start < stop:
                n = min(chunk_rows, stop - start)
                if in_place:
                    rows = &X[start, 0]
                else:
                    copy_centered(X, start, n, shift, buf)
                    rows = buf
                if second_moments and cov_type == FULL:
                    class_scatter(buf, n, n_features, n_classes, &labels[start], &sample_weight[start],
                                  &means[0, 0], &block_nk[b, 0], &block_s1[b, 0, 0], &block_s2[b, 0],
                                  order, offsets, work, stat)
                elif second_moments and cov_type == TIED:
                    # tied: the mixture's statistics, one-hot responsibilities
                    memset(resp, 0, n * n_classes * sizeof(floating))
                    for i in range(n):
                        resp[labels[start + i] * n + i] = 1
                    accumulate_stats(cov_type, buf, n, n_features, n_classes,
                                     &sample_weight[start], resp, &means[0, 0], &block_nk[b, 0],
                                     &block_s1[b, 0, 0], &block_s2[b, 0], True, False, work, stat)
                elif floating is double:
                    lvm_class_moments_d(rows, n, n_features, &labels[start], &sample_weight[start],
                                        &means[0, 0], &block_nk[b, 0], &block_s1[b, 0, 0],
                                        &block_s2[b, 0] if second_moments else NULL)
                else:
                    lvm_class_moments_s(rows, n, n_features, &labels[start], &sample_weight[start],
                                        &means[0, 0], &block_nk[b, 0], &block_s1[b, 0, 0],
                                        &block_s2[b, 0] if second_moments else NULL)
                start = start + n
        lvm_free(buf)
        lvm_free(order)
        lvm_free(offsets)
        lvm_free(work)
        lvm_free(resp)
        lvm_free(stat)
    raise_if_failed(failed, name)
