"""Kernel density sums: for each query row q_i,

    out[i] = log sum_j w_j k(||q_i - t_j|| / h)

over every training row t_j (k's peak is 1; the caller adds the kernel's
normalization). The query rows go in chunks over the threads; each chunk
walks the training rows in fixed blocks: one gemm gives the chunk's dot
products with the block (no query x training array beyond a chunk's), the
norm expansion turns them into squared distances, and the kernel and the sum
follow on the same row while it is in cache (with few features
the dot products are the row's own multiply-adds instead of a gemm). For the Gaussian and the
exponential kernel the sum is a log-sum-exp with a running maximum per row,
merged block by block; the bounded kernels sum w_j k directly.

Exactness guard (the k-means kernels' way): the expansion's squared distance
errs by at most (2 D + 4) u (||q||^2 + ||t||^2) (u: the unit roundoff of
double), which moves the Gaussian's exponent by that over 2 h^2. A row whose
bound against a block's largest ||t||^2 exceeds `tolerance` h^2 is done by
direct differences for that block instead; for the kernels of the distance
itself (exponential, linear, cosine), whose slope at 0 turns an error e in
the squared distance into sqrt(e), pairs nearer than bound / (tolerance h)
are redone directly too. Every sum walks the blocks in order, and a row's
result depends on its own chunk only: the same for any thread count.

Rows are centered by `shift` (the training rows arrive centered), so the
norms are small next to the spread and the guard rarely fires.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, exp, log

from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport check_length, check_positive, check_shape

KERNEL_CODES = ("gaussian", "tophat", "epanechnikov", "exponential", "linear", "cosine")
cdef enum:
    GAUSSIAN = 0
    TOPHAT = 1
    EPANECHNIKOV = 2
    EXPONENTIAL = 3
    LINEAR = 4
    COSINE = 5

cdef extern from "_kde.h" nogil:
    void lvm_kde_lse(double *row, const double *c, double scale, Py_ssize_t n, double *top_out,
                     double *total_out)
    void lvm_kde_few_lse(const double *q, const double *t_t, Py_ssize_t ld, Py_ssize_t d, const double *c,
                         double scale, Py_ssize_t n, double *row, double *top_out, double *total_out)
    void lvm_kde_expand(double *row, double q_sq, const double *t_sq, Py_ssize_t n)
    void lvm_kde_direct(const double *q, const double *t, Py_ssize_t d, Py_ssize_t n, double *row)
    void lvm_kde_sqrt(double *row, Py_ssize_t n)
    void lvm_kde_dots(const double *q, const double *t_t, Py_ssize_t ld, Py_ssize_t d, Py_ssize_t n, double *row)
    double lvm_kde_bounded_sum(const double *row, const double *w, Py_ssize_t n, int kernel, double h)

# 2^-53
cdef double UNIT_ROUNDOFF = 1.1102230246251565e-16


cdef inline void merge_log_sum(double *top, double *total, double block_top, double block_total) noexcept nogil:
    """(top, total) <- the pair for exp(top) total + exp(block_top) block_total."""
    if block_total == 0.0:
        return
    if total[0] == 0.0:
        top[0] = block_top
        total[0] = block_total
    elif block_top > top[0]:
        total[0] = total[0] * exp(top[0] - block_top) + block_total
        top[0] = block_top
    else:
        total[0] = total[0] + block_total * exp(block_top - top[0])


def kde_log_sums(const floating[:, ::1] Q not None, const double[::1] shift not None,
                 const double[:, ::1] train not None, const double[::1] log_weights not None,
                 const double[::1] weights not None, double bandwidth, int kernel, double tolerance,
                 double[::1] out not None, Py_ssize_t chunk_rows, Py_ssize_t block_rows, int n_threads,
                 Py_ssize_t fused_features=4):
    """out[i] = log sum_j weights[j] k(||Q[i] - shift - train[j]|| / bandwidth)
    for the kernel's code (index in KERNEL_CODES), k(0) = 1; -inf where the sum
    is 0. train holds the training rows already centered by shift;
    log_weights = log(weights). With at most fused_features features the dot
    products are formed in the kernel's own pass instead of a gemm. Reads Q,
    shift, train, the weights; writes out."""
    name = "kde_log_sums"
    cdef Py_ssize_t n_queries = Q.shape[0], n_features = Q.shape[1], n_train = train.shape[0]
    check_length(name, "shift", shift.shape[0], n_features)
    check_shape(name, "train", train.shape[0], train.shape[1], n_train, n_features)
    check_length(name, "log_weights", log_weights.shape[0], n_train)
    check_length(name, "weights", weights.shape[0], n_train)
    check_length(name, "out", out.shape[0], n_queries)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "block_rows", block_rows)
    check_positive(name, "n_threads", n_threads)
    check_positive(name, "the number of training rows", n_train)
    check_positive(name, "the number of features", n_features)
    if kernel < GAUSSIAN or kernel > COSINE:
        raise ValueError(f"{name}: kernel must be a code 0 to 5 {KERNEL_CODES}, got {kernel}")
    if not bandwidth > 0:
        raise ValueError(f"{name}: bandwidth must be > 0, got {bandwidth}")
    if not tolerance > 0:
        raise ValueError(f"{name}: tolerance must be > 0, got {tolerance}")
    if n_queries == 0:
        return
    cdef Py_ssize_t d = n_features
    cdef Py_ssize_t n_chunks = (n_queries + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t n_blocks = (n_train + block_rows - 1) // block_rows
    cdef double h = bandwidth, h2 = bandwidth * bandwidth
    cdef double coef = (2 * d + 4) * UNIT_ROUNDOFF, limit = tolerance * h2
    cdef bint log_sum = kernel == GAUSSIAN or kernel == EXPONENTIAL
    cdef bint of_distance = kernel == EXPONENTIAL or kernel == LINEAR or kernel == COSINE
    cdef double *t_sq = <double *> lvm_alloc(n_train * sizeof(double))
    cdef double *columns = <double *> lvm_alloc(n_train * sizeof(double))
    cdef double *block_sq = <double *> lvm_alloc(n_blocks * sizeof(double))
    cdef bint few = d <= fused_features
    cdef double *train_t = <double *> lvm_alloc((n_train * d if few else 1) * sizeof(double))
    cdef Py_ssize_t c, b, i, j, k, start, m, t0, nb
    cdef double s, top, total, bound, near
    cdef double *qbuf
    cdef double *q_sq
    cdef double *dots
    cdef double *row
    cdef double *tops
    cdef double *totals
    cdef int failed = 0
    if t_sq == NULL or columns == NULL or block_sq == NULL or train_t == NULL:
        lvm_free(train_t)
        lvm_free(t_sq)
        lvm_free(columns)
        lvm_free(block_sq)
        raise MemoryError(f"{name}: could not allocate the training rows' norms")
    with nogil:
        for b in range(n_blocks):
            block_sq[b] = 0.0
        for j in range(n_train):
            s = 0.0
            for k in range(d):
                s = s + train[j, k] * train[j, k]
            t_sq[j] = s
            # the Gaussian's exponent by expansion: log w_j - ||t_j||^2 / 2h^2 + q.t_j / h^2
            columns[j] = log_weights[j] - 0.5 * s / h2
            if few:
                for k in range(d):
                    train_t[k * n_train + j] = train[j, k]
            b = j // block_rows
            if s > block_sq[b]:
                block_sq[b] = s
        with parallel(num_threads=n_threads):
            qbuf = <double *> lvm_alloc(chunk_rows * d * sizeof(double))
            q_sq = <double *> lvm_alloc(chunk_rows * sizeof(double))
            tops = <double *> lvm_alloc(chunk_rows * sizeof(double))
            totals = <double *> lvm_alloc(chunk_rows * sizeof(double))
            dots = <double *> lvm_alloc(chunk_rows * block_rows * sizeof(double))
            if qbuf == NULL or q_sq == NULL or tops == NULL or totals == NULL or dots == NULL:
                lvm_flag(&failed)
            for c in prange(n_chunks, schedule="dynamic"):
                if lvm_flagged(&failed):
                    continue
                start = c * chunk_rows
                m = min(chunk_rows, n_queries - start)
                for i in range(m):
                    s = 0.0
                    for k in range(d):
                        qbuf[i * d + k] = <double> Q[start + i, k] - shift[k]
                        s = s + qbuf[i * d + k] * qbuf[i * d + k]
                    q_sq[i] = s
                    tops[i] = -INFINITY
                    totals[i] = 0.0
                for b in range(n_blocks):
                    t0 = b * block_rows
                    nb = min(block_rows, n_train - t0)
                    # dots[i * nb + j] = q_i . t_j
                    if not few:
                        gemm(c'T', c'N', <int> nb, <int> m, <int> d, 1.0, &train[t0, 0], <int> d,
                             qbuf, <int> d, 0.0, dots, <int> nb)
                    for i in range(m):
                        row = dots + i * nb
                        # assigned here so that prange makes them private
                        top = -INFINITY
                        total = 0.0
                        bound = coef * (q_sq[i] + block_sq[b])
                        if kernel == GAUSSIAN and bound <= limit:
                            if few:
                                lvm_kde_few_lse(&qbuf[i * d], &train_t[t0], n_train, d, &columns[t0], 1.0 / h2,
                                                nb, row, &top, &total)
                            else:
                                lvm_kde_lse(row, &columns[t0], 1.0 / h2, nb, &top, &total)
                            merge_log_sum(&tops[i], &totals[i], top - 0.5 * q_sq[i] / h2, total)
                            continue
                        if bound > limit:
                            lvm_kde_direct(&qbuf[i * d], &train[t0, 0], d, nb, row)
                        else:
                            if few:
                                lvm_kde_dots(&qbuf[i * d], &train_t[t0], n_train, d, nb, row)
                            lvm_kde_expand(row, q_sq[i], &t_sq[t0], nb)
                            if of_distance:
                                # pairs where sqrt would magnify the expansion's error
                                near = bound / (tolerance * h)
                                near = near * near + bound
                                for j in range(nb):
                                    if row[j] < near:
                                        lvm_kde_direct(&qbuf[i * d], &train[t0 + j, 0], d, 1, &row[j])
                        if kernel == GAUSSIAN:
                            lvm_kde_lse(row, &log_weights[t0], -0.5 / h2, nb, &top, &total)
                            merge_log_sum(&tops[i], &totals[i], top, total)
                        elif kernel == EXPONENTIAL:
                            lvm_kde_sqrt(row, nb)
                            lvm_kde_lse(row, &log_weights[t0], -1.0 / h, nb, &top, &total)
                            merge_log_sum(&tops[i], &totals[i], top, total)
                        else:
                            totals[i] = totals[i] + lvm_kde_bounded_sum(row, &weights[t0], nb, kernel, h)
                for i in range(m):
                    if totals[i] > 0.0:
                        out[start + i] = (tops[i] + log(totals[i])) if log_sum else log(totals[i])
                    else:
                        out[start + i] = -INFINITY
            lvm_free(qbuf)
            lvm_free(q_sq)
            lvm_free(tops)
            lvm_free(totals)
            lvm_free(dots)
    lvm_free(train_t)
    lvm_free(t_sq)
    lvm_free(columns)
    lvm_free(block_sq)
    raise_if_failed(failed, name)


def linear_binning(const floating[:, ::1] X not None, const double[::1] shift not None, const double[::1] weights,
                   double total_weight, const double[::1] low not None, const double[::1] spacing not None,
                   Py_ssize_t grid_size, double[::1] out not None):
    """Linear binning of the rows X - shift (1 to 3 features, every row
    inside the grid) onto the regular grid of grid_size points per feature
    starting at `low` with `spacing`: out (flattened, C order, zeroed by the
    caller) gains weights[i] / total_weight (weights None: 1 / total_weight)
    split over the 2^D corners of the row's cell by the multilinear weights,
    which keep the row's weight and its mean. Serial, in row order."""
    name = "linear_binning"
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, k, corner, index, stride, size = grid_size
    if d < 1 or d > 3:
        raise ValueError(f"{name}: X must have 1 to 3 features, got {d}")
    check_length(name, "shift", shift.shape[0], d)
    check_length(name, "low", low.shape[0], d)
    check_length(name, "spacing", spacing.shape[0], d)
    if grid_size < 2:
        raise ValueError(f"{name}: grid_size must be >= 2, got {grid_size}")
    check_length(name, "out", out.shape[0], size ** d)
    if weights is not None:
        check_length(name, "weights", weights.shape[0], n)
    if not total_weight > 0:
        raise ValueError(f"{name}: total_weight must be > 0, got {total_weight}")
    cdef Py_ssize_t cell[3]
    cdef double frac[3]
    cdef double position, w, part, scale = 1.0 / total_weight
    with nogil:
        for i in range(n):
            for k in range(d):
                position = (<double> X[i, k] - shift[k] - low[k]) / spacing[k]
                cell[k] = <Py_ssize_t> position
                if cell[k] > size - 2:
                    cell[k] = size - 2
                if cell[k] < 0:
                    cell[k] = 0
                frac[k] = position - cell[k]
            w = (weights[i] if weights is not None else 1.0) * scale
            for corner in range(1 << d):
                index = 0
                stride = 1
                part = w
                for k in range(d - 1, -1, -1):
                    if (corner >> k) & 1:
                        index = index + (cell[k] + 1) * stride
                        part = part * frac[k]
                    else:
                        index = index + cell[k] * stride
                        part = part * (1.0 - frac[k])
                    stride = stride * size
                out[index] += part
