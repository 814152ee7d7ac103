"""K-means kernels: squared distances through gemm fused with argmin, the
Lloyd step, k-means++ seeding, and the per-row distance helpers.

Rows are split into blocks of `block_rows` (a multiple of `chunk_rows`) that
depend on the data size only. Threads take whole blocks; each block writes its
own slot of the statistics buffers, which Python reduces in block order, so
results do not depend on the thread count. The gemm kernels copy each chunk
of rows into a per-thread buffer minus `shift` (the data mean): the distance
expansion ||x||^2 - 2 x.c + ||c||^2 then works on centered data and keeps its
precision, without a centered copy of X. k-means++ uses direct differences.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.float cimport FLT_MAX, FLT_MIN
from libc.math cimport INFINITY, sqrt
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from libc.string cimport memcpy, memset

from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport (
    check_labels, check_length, check_plan, check_positive, check_shape, check_shape3,
    expected_blocks,
)
from lvmfast._kernels._rows cimport (
    argmin_columns, copy_centered, lvm_sq_distances_d, lvm_sq_distances_s,
)

cdef extern from "_kmeans.h" nogil:
    void lvm_pp_potentials_d(const double *dist, Py_ssize_t n, Py_ssize_t n_cols,
                             const double *weight, const double *closest, double *pots)
    void lvm_pp_potentials_s(const double *dist, Py_ssize_t n, Py_ssize_t n_cols,
                             const float *weight, const double *closest, double *pots)
    Py_ssize_t lvm_pp_search_d(const double *dist, Py_ssize_t n, const double *weight,
                               const double *closest, double *partial, double target,
                               Py_ssize_t *last_positive)
    Py_ssize_t lvm_pp_search_s(const double *dist, Py_ssize_t n, const float *weight,
                               const double *closest, double *partial, double target,
                               Py_ssize_t *last_positive)
    void lvm_pp_absorb(const double *dist, Py_ssize_t n, double *closest, int *label,
                       int new_label)
    Py_ssize_t lvm_pp_select(const double *closest, const int *label, const double *reach,
                             Py_ssize_t n, Py_ssize_t *rows)
    void lvm_narrow(const double *x, Py_ssize_t n, float *out)
    void lvm_nearest2_s(const float *rows_t, Py_ssize_t n, Py_ssize_t ldn, Py_ssize_t n_features,
                        const float *centers, const float *offset, Py_ssize_t n_cols,
                        float *best, float *second, float *lab, const char *ahead,
                        Py_ssize_t ahead_bytes)
    void lvm_transpose_rows_s(const float *x, Py_ssize_t n, Py_ssize_t n_features, Py_ssize_t ldn,
                              float *rows_t, double *row_sq)
    int LVM_NEAREST_CENTERS
    float lvm_drop_bounds(float *lower, const float *drop, Py_ssize_t n)
    void lvm_group_min2_d(const double *scores, const double *offset, const int *group,
                          Py_ssize_t n, Py_ssize_t n_cols, double *min1, double *min2)
    void lvm_group_min2_s(const float *scores, const float *offset, const int *group,
                          Py_ssize_t n, Py_ssize_t n_cols, double *min1, double *min2)
    void lvm_argmin2_columns_d(const double *scores, const double *offset, Py_ssize_t n,
                               Py_ssize_t n_cols, double *best, double *second, double *lab)
    void lvm_argmin2_columns_s(const float *scores, const float *offset, Py_ssize_t n,
                               Py_ssize_t n_cols, float *best, float *second, float *lab)
    void lvm_lloyd_rows_d(const double *buf, Py_ssize_t n, Py_ssize_t n_features,
                          const double *lab, const double *centers, const double *weight,
                          int *labels, double *sums, double *weights, int with_inertia,
                          double *inertia, Py_ssize_t *n_changed)
    void lvm_lloyd_rows_s(const float *buf, Py_ssize_t n, Py_ssize_t n_features,
                          const float *lab, const float *centers, const float *weight,
                          int *labels, double *sums, double *weights, int with_inertia,
                          double *inertia, Py_ssize_t *n_changed)


cdef inline void lloyd_rows(const floating *buf, Py_ssize_t n, Py_ssize_t n_features,
                            const floating *lab, const floating *centers, const floating *weight,
                            int *labels, double *sums, double *weights, bint with_inertia,
                            double *inertia, Py_ssize_t *n_changed) noexcept nogil:
    if floating is double:
        lvm_lloyd_rows_d(buf, n, n_features, lab, centers, weight, labels, sums, weights,
                         with_inertia, inertia, n_changed)
    else:
        lvm_lloyd_rows_s(buf, n, n_features, lab, centers, weight, labels, sums, weights,
                         with_inertia, inertia, n_changed)


cdef inline Py_ssize_t block_end(Py_ssize_t block, Py_ssize_t block_rows, Py_ssize_t n_samples) noexcept nogil:
    return min((block + 1) * block_rows, n_samples)


# ---------------------------------------------------------------------------
# Lloyd


def lloyd_step(const floating[:, ::1] X not None, const floating[::1] shift not None,
               const floating[::1] sample_weight not None, const floating[:, ::1] centers not None,
               const floating[::1] center_sq_norms not None, int[::1] labels not None,
               double[:, :, ::1] block_sums, double[:, ::1] block_weights,
               double[::1] block_inertia not None, Py_ssize_t chunk_rows, Py_ssize_t block_rows,
               int n_threads, bint update_centers, bint with_inertia,
               const float[:, ::1] centers_single=None, const float[::1] center_sq_single=None,
               const double[::1] row_sq_norms=None, double bound_scale=0.0):
    """One assignment pass over X, and the statistics of one Lloyd step.

    Assigns each row to its nearest center (centers live in the frame of X -
    shift; center_sq_norms are their squared norms), writes `labels` and
    returns how many labels changed. Per block b: when
    with_inertia, block_inertia[b] = sum of w * ||x - shift - c_label||^2
    (exact differences); when update_centers, block_sums[b, k] = sum of
    w * (x - shift) and block_weights[b, k] = sum of w over rows labelled k.

    Float32 data, and float64 data given centers_single (the centers in
    float32, with their squared norms; row_sq_norms is checked but only the
    bounded steps use it), are scored in float32 by the fused kernel with
    every label proven: see assign_fused. Float64 data without it runs a
    float64 gemm with the same proofs (assign_double).

    Buffers per block of the plan: block_inertia (n_blocks), and, when
    update_centers, block_sums (n_blocks, K, D) and block_weights
    (n_blocks, K), with n_blocks = max(1, ceil(n_samples / block_rows)).
    """
    name = "lloyd_step"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = centers.shape[0]
    check_positive(name, "the number of centers (rows of centers)", n_clusters)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], n_clusters, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "center_sq_norms", center_sq_norms.shape[0], n_clusters)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    check_length(name, "block_inertia (one slot per block of the plan)", block_inertia.shape[0], n_blocks)
    if update_centers:
        if block_sums is None or block_weights is None:
            raise ValueError(f"{name}: update_centers needs block_sums and block_weights")
        check_shape3(name, "block_sums (one slot per block of the plan)", block_sums.shape[0],
                     block_sums.shape[1], block_sums.shape[2], n_blocks, n_clusters, n_features)
        check_shape(name, "block_weights (one slot per block of the plan)", block_weights.shape[0],
                    block_weights.shape[1], n_blocks, n_clusters)
    if floating is double and centers_single is not None:
        if center_sq_single is None or row_sq_norms is None:
            raise ValueError(f"{name}: centers_single needs center_sq_single and row_sq_norms")
        check_shape(name, "centers_single", centers_single.shape[0], centers_single.shape[1],
                    n_clusters, n_features)
        check_length(name, "center_sq_single", center_sq_single.shape[0], n_clusters)
        check_length(name, "row_sq_norms", row_sq_norms.shape[0], n_samples)
    cdef Py_ssize_t b, start, stop, n, j, k
    cdef Py_ssize_t n_changed = 0, block_changed
    cdef floating *buf
    cdef floating *scores
    cdef floating *best
    cdef floating *lab
    cdef double *sums
    cdef double *weights
    cdef double inertia
    cdef bint single = floating is double and centers_single is not None
    # float32 data and the float64 fit's float32 scores: the fused kernel
    cdef bint fused = floating is float or single
    cdef SingleScratch scratch
    cdef FusedScratch fused_scratch
    cdef FusedCenters fc
    cdef double bound_offset = 0.0
    cdef double max_center_sq = max(center_sq_norms)
    if floating is float:
        bound_scale = single_bound_scale(n_features)
        bound_offset = bound_scale * max_center_sq
        fc = fused_centers(&centers[0, 0], &center_sq_norms[0], n_clusters, n_features)
    elif single:
        bound_offset = bound_scale * max(center_sq_single)
        fc = fused_centers(&centers_single[0, 0], &center_sq_single[0], n_clusters, n_features)
    if fused and not fused_centers_ok(&fc):
        free_fused_centers(&fc)
        raise MemoryError("lloyd_step: could not allocate its scratch memory")

    cdef int failed = 0
    with nogil:
        with parallel(num_threads=n_threads):
            buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
            lab = <floating *> lvm_alloc(chunk_rows * sizeof(floating))
            scores = NULL
            best = NULL
            if fused:
                fused_scratch = fused_scratch_for(chunk_rows, n_features, n_clusters)
            else:
                scores = <floating *> lvm_alloc(chunk_rows * n_clusters * sizeof(floating))
                best = <floating *> lvm_alloc(chunk_rows * sizeof(floating))
                scratch = single_scratch(chunk_rows, 0, 0)
            if buf == NULL or lab == NULL or (fused and not fused_scratch_ok(&fused_scratch)) or (
                    not fused and (scores == NULL or best == NULL or not single_scratch_ok(&scratch))):
                lvm_flag(&failed)
            for b in prange(n_blocks, schedule="dynamic"):
                if lvm_flagged(&failed):
                    continue
                inertia = 0.0
                block_changed = 0
                sums = NULL
                weights = NULL
                if update_centers:
                    sums = &block_sums[b, 0, 0]
                    weights = &block_weights[b, 0]
                    memset(sums, 0, n_clusters * n_features * sizeof(double))
                    memset(weights, 0, n_clusters * sizeof(double))
                start = b * block_rows
                stop = block_end(b, block_rows, n_samples)
                while start < stop:
                    n = min(chunk_rows, stop - start)
                    # The centered copy also streams the rows into cache for
                    # gemm's packing and the row pass (measured: faster than
                    # letting gemm pack straight from X).
                    copy_centered(X, start, n, shift, buf)
                    if fused:
                        # (prefetching the block's next chunk of X meanwhile)
                        assign_fused(buf, n, n_features, n_clusters, &fc, &centers[0, 0],
                                     bound_scale, bound_offset, &fused_scratch, lab,
                                     <const char *> &X[start + n, 0] if start + n < stop else NULL,
                                     min(chunk_rows, stop - start - n) * n_features * sizeof(floating))
                    elif floating is double:
                        assign_double(buf, n, n_features, n_clusters, &centers[0, 0],
                                      &center_sq_norms[0], max_center_sq, &scratch, scores,
                                      best, lab, scores)
                    lloyd_rows(buf, n, n_features, lab, &centers[0, 0], &sample_weight[start],
                               &labels[start], sums, weights, with_inertia, &inertia, &block_changed)
                    start = start + n
                block_inertia[b] = inertia
                n_changed += block_changed
            lvm_free(buf)
            lvm_free(lab)
            if fused:
                free_fused_scratch(&fused_scratch)
            else:
                lvm_free(scores)
                lvm_free(best)
                free_single_scratch(&scratch)
    if fused:
        free_fused_centers(&fc)
    raise_if_failed(failed, "lloyd_step")
    return n_changed


cdef inline void assign_chunk(const float *buf, Py_ssize_t n, Py_ssize_t n_features,
                              Py_ssize_t n_clusters, const float *centers,
                              const float *center_sq, float *scores, float *best,
                              float *second, float *lab, double *direct) noexcept nogil:
    """lab[i] = the nearest center to row i of the float32 chunk buf, through
    a gemm (scores: column-major n x K = -2 buf @ centers.T; the argmin adds
    ||c||^2), with the labels settled as assign_fused settles them; `direct`
    holds K doubles."""
    gemm(c'T', c'N', <int> n, <int> n_clusters, <int> n_features,
         -2.0, buf, <int> n_features, centers, <int> n_features, 0.0, scores, <int> n)
    lvm_argmin2_columns_s(scores, center_sq, n, n_clusters, best, second, lab)
    cdef double scale = single_bound_scale(n_features)
    cdef double offset = scale * max_of(center_sq, n_clusters)
    settle_labels(buf, n, n_features, n_clusters, centers, best, second, NULL, scale, offset,
                  direct, lab)


cdef inline double single_bound_scale(Py_ssize_t n_features) noexcept nogil:
    # 2 E per unit of squared norm for float32 scores (see below), 1% to spare
    return 1.01 * 2.0 * 2.0 ** -24 * (n_features + 6)


cdef inline double max_of(const float *values, Py_ssize_t n) noexcept nogil:
    cdef double largest = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        if values[i] > largest:
            largest = values[i]
    return largest


cdef void settle_labels(const floating *buf, Py_ssize_t n, Py_ssize_t n_features,
                        Py_ssize_t n_clusters, const floating *centers, const float *best,
                        const float *second, const double *row_sq, double scale, double offset,
                        double *direct, floating *lab) noexcept nogil:
    """Keep lab[i] (the float32 scores' argmin) where the runner-up trails
    the best by more than scale ||x_i||^2 + offset (row_sq, or from buf when
    NULL); redo the other rows (near ties, overflowed scores) by direct
    differences to the centers, ties to the lowest index. Proven or redone,
    a row's label does not depend on which path scored it (gemm or fused),
    so elkan's labels are lloyd's."""
    cdef Py_ssize_t i, j, k, nearest
    cdef double sq, value
    for i in range(n):
        if row_sq != NULL:
            sq = row_sq[i]
        else:
            sq = 0.0
            for j in range(n_features):
                value = buf[i * n_features + j]
                sq = sq + value * value
        if <double> second[i] - <double> best[i] > scale * sq + offset:
            continue
        if floating is double:
            lvm_sq_distances_d(buf + i * n_features, NULL, 1, n_features, centers, n_clusters, direct, 1)
        else:
            lvm_sq_distances_s(buf + i * n_features, NULL, 1, n_features, centers, n_clusters, direct, 1)
        nearest = 0
        for k in range(1, n_clusters):
            if direct[k] < direct[nearest]:
                nearest = k
        lab[i] = nearest


# The fused kernel's inputs: the centers (float32) padded with zero rows to a
# whole number of the kernel's center tiles, their squared norms padded with
# +inf (a padding center never wins nor runs up).
cdef struct FusedCenters:
    float *centers
    float *sq
    Py_ssize_t n_cols


cdef FusedCenters fused_centers(const float *centers, const float *sq, Py_ssize_t n_clusters,
                                Py_ssize_t n_features) noexcept nogil:
    cdef FusedCenters fc
    cdef Py_ssize_t k
    fc.n_cols = (n_clusters + LVM_NEAREST_CENTERS - 1) // LVM_NEAREST_CENTERS * LVM_NEAREST_CENTERS
    fc.centers = <float *> lvm_alloc(fc.n_cols * n_features * sizeof(float))
    fc.sq = <float *> lvm_alloc(fc.n_cols * sizeof(float))
    if fc.centers == NULL or fc.sq == NULL:
        return fc
    memset(fc.centers, 0, fc.n_cols * n_features * sizeof(float))
    memcpy(fc.centers, centers, n_clusters * n_features * sizeof(float))
    for k in range(fc.n_cols):
        fc.sq[k] = sq[k] if k < n_clusters else INFINITY
    return fc


cdef bint fused_centers_ok(const FusedCenters *fc) noexcept nogil:
    return fc.centers != NULL and fc.sq != NULL


cdef void free_fused_centers(FusedCenters *fc) noexcept nogil:
    lvm_free(fc.centers)
    lvm_free(fc.sq)


# Per-thread scratch of the fused kernel: the chunk in float32 (`narrow`,
# for float64 rows), transposed, with its rows' squared norms, and the kernel's outputs, all sized for the
# chunk rounded up to the kernel's widest row tile (32 lanes); `direct` holds
# one row's distances to the K centers.
cdef struct FusedScratch:
    Py_ssize_t ldn
    float *narrow
    float *rows_t
    double *row_sq
    float *best
    float *second
    float *lab
    double *direct


cdef FusedScratch fused_scratch_for(Py_ssize_t chunk_rows, Py_ssize_t n_features,
                                    Py_ssize_t n_clusters) noexcept nogil:
    cdef FusedScratch f
    f.ldn = (chunk_rows + 31) // 32 * 32
    f.narrow = <float *> lvm_alloc(chunk_rows * n_features * sizeof(float))
    f.rows_t = <float *> lvm_alloc(f.ldn * n_features * sizeof(float))
    f.row_sq = <double *> lvm_alloc(f.ldn * sizeof(double))
    f.best = <float *> lvm_alloc(f.ldn * sizeof(float))
    f.second = <float *> lvm_alloc(f.ldn * sizeof(float))
    f.lab = <float *> lvm_alloc(f.ldn * sizeof(float))
    f.direct = <double *> lvm_alloc(n_clusters * sizeof(double))
    return f


cdef bint fused_scratch_ok(const FusedScratch *f) noexcept nogil:
    return (f.narrow != NULL and f.rows_t != NULL and f.row_sq != NULL and f.best != NULL
            and f.second != NULL and f.lab != NULL and f.direct != NULL)


cdef void free_fused_scratch(FusedScratch *f) noexcept nogil:
    lvm_free(f.narrow)
    lvm_free(f.rows_t)
    lvm_free(f.row_sq)
    lvm_free(f.best)
    lvm_free(f.second)
    lvm_free(f.lab)
    lvm_free(f.direct)


cdef void assign_fused(const floating *buf, Py_ssize_t n, Py_ssize_t n_features,
                       Py_ssize_t n_clusters, const FusedCenters *fc, const floating *centers,
                       double scale, double offset, FusedScratch *f, floating *lab,
                       const char *ahead, Py_ssize_t ahead_bytes) noexcept nogil:
    """The Lloyd step's assignment without a gemm: the chunk transposed to
    float32 (float64 rows rounded), the fused distance + argmin kernel
    (lvm_nearest2_s) on fc, then the labels proven or redone by direct
    differences to the exact centers (settle_labels) with the float32
    scores' bound scale ||x||^2 + offset (see below)."""
    cdef Py_ssize_t i
    if floating is double:
        lvm_narrow(buf, n * n_features, f.narrow)
        lvm_transpose_rows_s(f.narrow, n, n_features, f.ldn, f.rows_t, f.row_sq)
    else:
        lvm_transpose_rows_s(buf, n, n_features, f.ldn, f.rows_t, f.row_sq)
    lvm_nearest2_s(f.rows_t, n, f.ldn, n_features, fc.centers, fc.sq, fc.n_cols,
                   f.best, f.second, f.lab, ahead, ahead_bytes)
    for i in range(n):
        lab[i] = f.lab[i]
    settle_labels(buf, n, n_features, n_clusters, centers, f.best, f.second, f.row_sq,
                  scale, offset, f.direct, lab)


# The float32 gemm for float64 data. With u = 2^-24, rounding the rows and
# centers to float32 and summing D products moves each score
# s_k = ||c_k||^2 - 2 x.c_k by at most E = u (D + 6) (||x||^2 + max ||c||^2).
# Where the float32 runner-up trails the float32 best by more than 2E, the
# float32 best is the exact argmin. The few other rows (exact ties among them)
# are redone by direct differences, ||x - c_k||^2, whose rounding is relative
# to the distances themselves: near ties that the float64 expansion cannot
# resolve (two centers 1e-7 apart next to rows of norm 10) get the nearest
# center, ties the lowest index.
# Per-thread scratch of the float64 paths: the float32 copies (sized 0 when
# the float32 gemm is not used) and the runner-up scores of the proofs.
cdef struct SingleScratch:
    float *buf
    float *scores
    float *best
    float *second
    float *lab
    Py_ssize_t *ambiguous
    double *runner_up


cdef SingleScratch single_scratch(Py_ssize_t chunk_rows, Py_ssize_t n_features,
                                  Py_ssize_t n_clusters) noexcept nogil:
    cdef SingleScratch s
    s.buf = <float *> lvm_alloc(chunk_rows * n_features * sizeof(float))
    s.scores = <float *> lvm_alloc(chunk_rows * n_clusters * sizeof(float))
    s.best = <float *> lvm_alloc(chunk_rows * sizeof(float))
    s.second = <float *> lvm_alloc(chunk_rows * sizeof(float))
    s.lab = <float *> lvm_alloc(chunk_rows * sizeof(float))
    s.ambiguous = <Py_ssize_t *> lvm_alloc(chunk_rows * sizeof(Py_ssize_t))
    s.runner_up = <double *> lvm_alloc(chunk_rows * sizeof(double))
    return s


cdef bint single_scratch_ok(const SingleScratch *s) noexcept nogil:
    return (s.buf != NULL and s.scores != NULL and s.best != NULL and s.second != NULL
            and s.lab != NULL and s.ambiguous != NULL and s.runner_up != NULL)


cdef void free_single_scratch(SingleScratch *s) noexcept nogil:
    lvm_free(s.buf)
    lvm_free(s.scores)
    lvm_free(s.best)
    lvm_free(s.second)
    lvm_free(s.lab)
    lvm_free(s.ambiguous)
    lvm_free(s.runner_up)


cdef void assign_single(const double *buf, Py_ssize_t n, Py_ssize_t n_features,
                        Py_ssize_t n_clusters, const float *centers_single,
                        const float *center_sq_single, const double *centers,
                        const double *center_sq, const double *row_sq, double bound_scale,
                        double bound_offset, SingleScratch *s, double *scores, double *best,
                        double *lab) noexcept nogil:
    """assign_chunk for float64 rows, through a float32 gemm (see above)."""
    cdef Py_ssize_t i
    lvm_narrow(buf, n * n_features, s.buf)
    gemm(c'T', c'N', <int> n, <int> n_clusters, <int> n_features,
         <float> -2.0, s.buf, <int> n_features, centers_single, <int> n_features,
         <float> 0.0, s.scores, <int> n)
    lvm_argmin2_columns_s(s.scores, center_sq_single, n, n_clusters, s.best, s.second, s.lab)
    for i in range(n):
        lab[i] = s.lab[i]
    # (`scores` holds one row's direct distances)
    settle_labels(buf, n, n_features, n_clusters, centers, s.best, s.second, row_sq,
                  bound_scale, bound_offset, scores, lab)


cdef void assign_double(const double *buf, Py_ssize_t n, Py_ssize_t n_features,
                        Py_ssize_t n_clusters, const double *centers, const double *center_sq,
                        double max_center_sq, SingleScratch *s, double *scores, double *best,
                        double *lab, double *direct) noexcept nogil:
    """assign_chunk for float64 rows, with the float32 path's proof at
    float64 precision: the gemm expansion moves each score by at most
    E = u (D + 6) (||x||^2 + max ||c||^2), u = 2^-53, so where the runner-up
    trails the best by more than 2E (with 1% to spare) the best is the
    exact argmin; the other rows are redone by direct differences (their
    squared distances go to `direct`, n x K column-major, which may be
    `scores`). So a fit, predict and score agree on near ties whichever gemm
    assigned them."""
    cdef Py_ssize_t i, j, a, k, nearest, n_ambiguous = 0
    cdef double row_sq, value
    cdef double scale = 1.01 * 2.0 * 2.0 ** -53 * (n_features + 6)
    gemm(c'T', c'N', <int> n, <int> n_clusters, <int> n_features,
         -2.0, buf, <int> n_features, centers, <int> n_features, 0.0, scores, <int> n)
    lvm_argmin2_columns_d(scores, center_sq, n, n_clusters, best, s.runner_up, lab)
    for i in range(n):
        if s.runner_up[i] - best[i] > scale * max_center_sq:
            row_sq = 0.0
            for j in range(n_features):
                value = buf[i * n_features + j]
                row_sq = row_sq + value * value
            if s.runner_up[i] - best[i] > scale * (row_sq + max_center_sq):
                continue
        s.ambiguous[n_ambiguous] = i
        n_ambiguous += 1
    if n_ambiguous == 0:
        return
    lvm_sq_distances_d(buf, s.ambiguous, n_ambiguous, n_features, centers, n_clusters, direct, n)
    for a in range(n_ambiguous):
        i = s.ambiguous[a]
        nearest = 0
        for k in range(1, n_clusters):
            if direct[k * n + i] < direct[nearest * n + i]:
                nearest = k
        lab[i] = nearest


def row_sq_norms(const double[:, ::1] X not None, const double[::1] shift not None,
                 double[::1] out not None, Py_ssize_t chunk_rows, int n_threads):
    """out[i] = ||X[i] - shift||^2, by direct differences."""
    name = "row_sq_norms"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "out", out.shape[0], n_samples)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, start
    with nogil:
        for c in prange(n_chunks, num_threads=n_threads, schedule="static"):
            start = c * chunk_rows
            lvm_sq_distances_d(&X[start, 0], NULL, min(chunk_rows, n_samples - start), n_features,
                               &shift[0], 1, &out[start], 0)


# ---------------------------------------------------------------------------
# Per-row distances


def assigned_sq_distances(const floating[:, ::1] X not None, const floating[::1] shift not None,
                          const floating[:, ::1] centers not None, const int[::1] labels not None,
                          double[::1] out not None, int n_threads):
    """out[i] = ||X[i] - shift - centers[labels[i]]||^2, by exact differences."""
    name = "assigned_sq_distances"
    cdef Py_ssize_t i, j, n_samples = X.shape[0], n_features = X.shape[1]
    cdef double s, d
    check_length(name, "shift", shift.shape[0], n_features)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], centers.shape[0], n_features)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_length(name, "out", out.shape[0], n_samples)
    check_positive(name, "n_threads", n_threads)
    check_labels(name, "labels", labels, centers.shape[0])
    with nogil:
        for i in prange(n_samples, num_threads=n_threads, schedule="static"):
            s = 0.0
            for j in range(n_features):
                d = <double> X[i, j] - <double> shift[j] - <double> centers[labels[i], j]
                s = s + d * d
            out[i] = s


def pairwise_sq_distances(const floating[:, ::1] X not None, const floating[::1] shift not None,
                          const floating[:, ::1] centers not None, floating[:, ::1] out not None,
                          Py_ssize_t chunk_rows, int n_threads):
    """out[i, k] = ||X[i] - shift - centers[k]||^2 through gemm, clipped at 0."""
    name = "pairwise_sq_distances"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = centers.shape[0]
    check_positive(name, "the number of centers (rows of centers)", n_clusters)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], n_clusters, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_shape(name, "out", out.shape[0], out.shape[1], n_samples, n_clusters)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, start, n, i, j, k
    cdef floating *buf
    cdef floating *dst
    cdef double x_sq, d
    cdef double *center_sq = <double *> lvm_alloc(n_clusters * sizeof(double))
    if center_sq == NULL:
        raise MemoryError(f"{name}: could not allocate its scratch memory")
    cdef int failed = 0
    with nogil:
        for k in range(n_clusters):
            d = 0.0
            for j in range(n_features):
                d = d + <double> centers[k, j] * centers[k, j]
            center_sq[k] = d
        with parallel(num_threads=n_threads):
            buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
            if buf == NULL:
                lvm_flag(&failed)
            for c in prange(n_chunks, schedule="static"):
                if lvm_flagged(&failed):
                    continue
                start = c * chunk_rows
                n = min(chunk_rows, n_samples - start)
                copy_centered(X, start, n, shift, buf)
                dst = &out[start, 0]
                # out rows (column-major K x n) = centers @ buf.T
                gemm(c'T', c'N', <int> n_clusters, <int> n, <int> n_features,
                     1.0, &centers[0, 0], <int> n_features, buf, <int> n_features,
                     0.0, dst, <int> n_clusters)
                for i in range(n):
                    x_sq = 0.0
                    for j in range(n_features):
                        x_sq = x_sq + <double> buf[i * n_features + j] * buf[i * n_features + j]
                    for k in range(n_clusters):
                        d = x_sq - 2.0 * dst[i * n_clusters + k] + center_sq[k]
                        dst[i * n_clusters + k] = <floating> (d if d > 0.0 else 0.0)
            lvm_free(buf)
        lvm_free(center_sq)
    raise_if_failed(failed, name)


def direct_pairwise_sq_distances(const floating[:, ::1] X not None,
                                 const floating[:, ::1] centers not None,
                                 floating[:, ::1] out not None, Py_ssize_t chunk_rows, int n_threads):
    """out[i, k] = ||X[i] - centers[k]||^2 by direct differences (centers in
    X's frame): exact near zero distance, where the float32 expansion loses
    its digits. Each thread holds a chunk's K x chunk_rows distances."""
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = centers.shape[0]
    cdef Py_ssize_t n_chunks, c, start, n, i, k
    cdef double *dist
    name = "direct_pairwise_sq_distances"
    check_shape(name, "centers", centers.shape[0], centers.shape[1], n_clusters, n_features)
    check_shape(name, "out", out.shape[0], out.shape[1], n_samples, n_clusters)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    if n_samples == 0 or n_clusters == 0:
        return
    n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        dist = <double *> lvm_alloc(n_clusters * chunk_rows * sizeof(double))
        if dist == NULL:
            lvm_flag(&failed)
        for c in prange(n_chunks, schedule="static"):
            if lvm_flagged(&failed):
                continue
            start = c * chunk_rows
            n = min(chunk_rows, n_samples - start)
            sq_distances(X, start, NULL, n, &centers[0, 0], n_clusters, dist, n)
            for i in range(n):
                for k in range(n_clusters):
                    out[start + i, k] = <floating> dist[k * n + i]
        lvm_free(dist)
    raise_if_failed(failed, name)


# ---------------------------------------------------------------------------
# k-means++
#
# Greedy k-means++ reads X once per chosen center. Pass c computes, for every
# row, the distance to the center chosen at step c-1 (folding it into
# `closest`, the squared distance to the nearest chosen center, and `labels`,
# which center that is) and to the step's candidates, and sums per block the
# weighted potential that each candidate would leave. Sampling then walks the
# block potentials and rescans one block in row order with the same per-row
# arithmetic. With a handful of columns, direct differences beat gemm (no
# copy, no packing) and need no centering.
#
# Most rows need none of those distances once a few centers are chosen: by
# the triangle inequality, a row x whose nearest center a lies within half of
# every column's distance from a (||c - a||^2 >= 4 ||x - a||^2) is at least
# as near to a as to any column, so it keeps its closest and adds closest to
# every potential, exactly what the distances would have given. Each pass
# puts, per chosen center a, reach[a] = min over columns of ||c - a||^2 / 4,
# shrunk by a margin for rounding, and computes only the rows beyond their
# center's reach (the others get an infinite distance). The picks are those
# of the full computation; only the work changes.


cdef inline void sq_distances(const floating[:, ::1] X, Py_ssize_t start, const Py_ssize_t *rows,
                              Py_ssize_t n, const floating *cols, Py_ssize_t n_cols,
                              double *dist, Py_ssize_t ld) noexcept nogil:
    if floating is double:
        lvm_sq_distances_d(&X[start, 0], rows, n, X.shape[1], cols, n_cols, dist, ld)
    else:
        lvm_sq_distances_s(&X[start, 0], rows, n, X.shape[1], cols, n_cols, dist, ld)


def direct_sq_distances(const floating[:, ::1] X not None, const Py_ssize_t[::1] rows not None,
                        const floating[:, ::1] cols not None, double[:, ::1] out not None):
    """out[t, rows[i]] = ||X[rows[i]] - cols[t]||^2 by direct differences: the
    kernel of the k-means++ passes, exposed for the tests."""
    name = "direct_sq_distances"
    check_shape(name, "cols", cols.shape[0], cols.shape[1], cols.shape[0], X.shape[1])
    check_shape(name, "out", out.shape[0], out.shape[1], cols.shape[0], X.shape[0])
    check_labels(name, "rows", rows, X.shape[0])
    if rows.shape[0] == 0 or cols.shape[0] == 0:
        return
    sq_distances(X, 0, &rows[0], rows.shape[0], &cols[0, 0], cols.shape[0], &out[0, 0],
                 out.shape[1])


cdef Py_ssize_t pp_pass(const floating[:, ::1] X, const floating[::1] sample_weight,
                        const floating *cols, Py_ssize_t n_cols, double[::1] closest,
                        int[::1] labels, const double *reach, int new_label,
                        double[:, ::1] pots, Py_ssize_t chunk_rows, Py_ssize_t block_rows,
                        int n_threads) noexcept nogil:
    """closest and labels absorb column 0 (as center new_label); then
    pots[b, t] = sum over block b of w * min(closest, d(x, col_t)). Returns
    how many rows needed their distances, or -1 when out of memory (outputs
    then undefined)."""
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t n_blocks = pots.shape[0]
    cdef Py_ssize_t b, start, stop, n, t, i, n_near, n_computed = 0
    cdef double *dist
    cdef Py_ssize_t *rows
    cdef int failed = 0
    with parallel(num_threads=n_threads):
        dist = <double *> lvm_alloc(chunk_rows * n_cols * sizeof(double))
        rows = <Py_ssize_t *> lvm_alloc(chunk_rows * sizeof(Py_ssize_t))
        if dist == NULL or rows == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            for t in range(n_cols):
                pots[b, t] = 0.0
            start = b * block_rows
            stop = block_end(b, block_rows, n_samples)
            while start < stop:
                n = min(chunk_rows, stop - start)
                n_near = lvm_pp_select(&closest[start], &labels[start], reach, n, rows)
                if n_near < n:
                    for i in range(n * n_cols):
                        dist[i] = INFINITY
                sq_distances(X, start, rows, n_near, cols, n_cols, dist, n)
                n_computed += n_near
                lvm_pp_absorb(dist, n, &closest[start], &labels[start], new_label)
                if floating is double:
                    lvm_pp_potentials_d(dist, n, n_cols, &sample_weight[start], &closest[start], &pots[b, 0])
                else:
                    lvm_pp_potentials_s(dist, n, n_cols, &sample_weight[start], &closest[start], &pots[b, 0])
                start = start + n
        lvm_free(dist)
        lvm_free(rows)
    return -1 if failed else n_computed


cdef void pp_reach(const floating[:, ::1] X, const floating *cols, Py_ssize_t n_cols,
                   const Py_ssize_t[::1] indices, Py_ssize_t n_centers,
                   double *reach) noexcept nogil:
    """reach[a] = (min over columns of ||col - X[indices[a]]||^2) / (4 margin),
    less an absolute allowance for underflow: rows of center a with closest at
    or below it cannot move. The margin covers the relative rounding of a
    computed sum of n_features + 2 squares, with room to spare. Distances here
    are summed in double."""
    cdef Py_ssize_t a, t, j, n_features = X.shape[1]
    cdef double s, d, nearest
    cdef double margin = 1.0 + 8.0 * (n_features + 2) * (2.0 ** -53 if floating is double else 2.0 ** -24)
    cdef double tiny = (n_features + 2) * (2.2250738585072014e-308 if floating is double else 1.1754943508222875e-38)
    for a in range(n_centers):
        nearest = INFINITY
        for t in range(n_cols):
            s = 0.0
            for j in range(n_features):
                d = <double> cols[t * n_features + j] - <double> X[indices[a], j]
                s = s + d * d
            nearest = min(nearest, s)
        reach[a] = (nearest - tiny) / (4.0 * margin)


cdef Py_ssize_t pp_search_block(const floating[:, ::1] X, const floating[::1] sample_weight,
                                const floating *col, const double[::1] closest,
                                Py_ssize_t block, double prefix, double target,
                                Py_ssize_t chunk_rows, Py_ssize_t block_rows,
                                double *dist) noexcept nogil:
    """First row of `block` where prefix plus the running sum of
    w * min(closest, d(x, col)) reaches target (numpy's searchsorted, side
    'left'). The block sum was taken in another order, so rounding may leave
    the target just out of reach: then the last row with a positive term."""
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t start = block * block_rows
    cdef Py_ssize_t stop = block_end(block, block_rows, n_samples)
    cdef Py_ssize_t n, found, last_positive = -1, last_positive_row = stop - 1
    cdef double partial = prefix
    while start < stop:
        n = min(chunk_rows, stop - start)
        sq_distances(X, start, NULL, n, col, 1, dist, n)
        if floating is double:
            found = lvm_pp_search_d(dist, n, &sample_weight[start], &closest[start],
                                    &partial, target, &last_positive)
        else:
            found = lvm_pp_search_s(dist, n, &sample_weight[start], &closest[start],
                                    &partial, target, &last_positive)
        if found >= 0:
            return start + found
        if last_positive >= 0:
            last_positive_row = start + last_positive
            last_positive = -1
        start = start + n
    return last_positive_row


def kmeans_plusplus(const floating[:, ::1] X not None, const floating[::1] sample_weight not None,
                    Py_ssize_t first_index, const double[:, ::1] uniforms not None,
                    Py_ssize_t[::1] indices not None, double[::1] closest not None,
                    int[::1] labels not None, double[:, ::1] pots not None,
                    Py_ssize_t chunk_rows, Py_ssize_t block_rows, int n_threads, int search_threads=0):
    """Greedy k-means++: indices[0] = first_index, then for each further center
    draw len(uniforms[c - 1]) candidates with probability w * closest and keep
    the one that leaves the least potential. Scratch: `closest` and `labels`
    (n_samples) and `pots` (n_blocks x (n_trials + 1)). Returns the number of
    rows whose distances were computed, over all passes. The passes run on
    n_threads, the candidates' searches on search_threads (0: n_threads)."""
    name = "kmeans_plusplus"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = indices.shape[0]
    cdef Py_ssize_t n_trials = uniforms.shape[1]
    check_positive(name, "the number of centers (length of indices)", n_clusters)
    if first_index < 0 or first_index >= n_samples:
        raise ValueError(f"{name}: first_index must lie in [0, {n_samples}), got {first_index}")
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "closest", closest.shape[0], n_samples)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_shape(name, "uniforms", uniforms.shape[0], uniforms.shape[1], n_clusters - 1,
                max(n_trials, 1) if n_clusters > 1 else n_trials)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    check_shape(name, "pots (one row per block of the plan)", pots.shape[0], pots.shape[1],
                n_blocks, n_trials + 1)
    cdef Py_ssize_t max_cols = n_trials + 1
    cdef Py_ssize_t c, t, j, b, n_cols, best_col = 0, total_computed = 0
    cdef double total, target, prefix, best_pot = 0.0, pot
    cdef floating *cols = <floating *> lvm_alloc(max_cols * n_features * sizeof(floating))
    cdef Py_ssize_t *chosen_rows = <Py_ssize_t *> lvm_alloc(max_cols * sizeof(Py_ssize_t))
    cdef double *dist
    cdef double *reach = <double *> lvm_alloc(n_clusters * sizeof(double))
    if cols == NULL or chosen_rows == NULL or reach == NULL:
        lvm_free(cols)
        lvm_free(chosen_rows)
        lvm_free(reach)
        raise MemoryError(f"{name}: could not allocate the candidates' scratch")

    cdef int failed = 0
    cdef Py_ssize_t computed
    with nogil:
        for j in range(n_samples):
            closest[j] = INFINITY
            labels[j] = 0
        indices[0] = first_index
        # Pass 0: the first center alone, as column 0, absorbed into closest.
        chosen_rows[0] = first_index
        n_cols = 1
        gather_rows(X, chosen_rows, n_cols, cols)
        reach[0] = -INFINITY
        total_computed = pp_pass(X, sample_weight, cols, n_cols, closest, labels, reach, 0, pots,
                                 chunk_rows, block_rows, n_threads)
        if total_computed < 0:
            failed = 1
        best_col = 0
        for c in range(1, n_clusters):
            if failed:
                break
            total = 0.0
            for b in range(n_blocks):
                total += pots[b, best_col]
            # Sample candidates against the potential the last pass left. The
            # draws are independent, so threads take them (a serial part that
            # would otherwise grow with the thread count).
            with parallel(num_threads=<int> min(search_threads if search_threads > 0 else n_threads, n_trials)):
                dist = <double *> lvm_alloc(chunk_rows * sizeof(double))
                if dist == NULL:
                    lvm_flag(&failed)
                for t in prange(n_trials, schedule="static"):
                    if lvm_flagged(&failed):
                        continue
                    target = uniforms[c - 1, t] * total
                    prefix = 0.0
                    b = 0
                    while b < n_blocks - 1 and prefix + pots[b, best_col] < target:
                        prefix = prefix + pots[b, best_col]
                        b = b + 1
                    chosen_rows[1 + t] = pp_search_block(
                        X, sample_weight, &cols[best_col * n_features], closest, b, prefix,
                        target, chunk_rows, block_rows, dist)
                lvm_free(dist)
            if failed:
                break
            # Column 0 is the center chosen last step; the rest are candidates.
            chosen_rows[0] = indices[c - 1]
            n_cols = n_trials + 1
            gather_rows(X, chosen_rows, n_cols, cols)
            pp_reach(X, cols, n_cols, indices, c, reach)
            computed = pp_pass(X, sample_weight, cols, n_cols, closest, labels, reach,
                               <int> (c - 1), pots, chunk_rows, block_rows, n_threads)
            if computed < 0:
                failed = 1
                break
            total_computed += computed
            best_col = 1
            for t in range(1, n_cols):
                pot = 0.0
                for b in range(n_blocks):
                    pot += pots[b, t]
                if t == 1 or pot < best_pot:
                    best_pot = pot
                    best_col = t
            indices[c] = chosen_rows[best_col]
    lvm_free(cols)
    lvm_free(chosen_rows)
    lvm_free(reach)
    raise_if_failed(failed, name)
    return total_computed


cdef void gather_rows(const floating[:, ::1] X, const Py_ssize_t *rows, Py_ssize_t n_rows,
                      floating *out) noexcept nogil:
    cdef Py_ssize_t t, j, n_features = X.shape[1]
    for t in range(n_rows):
        for j in range(n_features):
            out[t * n_features + j] = X[rows[t], j]


# ---------------------------------------------------------------------------
# Lloyd with distance bounds ('elkan')
#
# Per row: upper[i] >= the distance to its center labels[i]; lower[i, g] <=
# the distance to every other center of group g (the centers are split into
# G groups, Yinyang-style; lower is float32, rounded down). When the centers
# move, by drift[k] each and at most group_drop[g] within a group, the
# bounds follow by the triangle inequality: upper grows by the drift of its
# center, lower[g] shrinks by group_drop[g]. A row whose bounds prove its
# label (see bound_keeps) is not measured; the others go, a compacted chunk
# at a time, through the Lloyd step's own gemm and argmin (with the same
# proofs), which also refreshes all their bounds. The labels are then those
# of lloyd_step and the statistics are summed by the same row pass in the
# same blocks, so the centers, inertia and n_iter_ are lloyd's, bit for bit.
# All bound arithmetic is rounded outwards: a bound may be loose, never wrong.

cdef double ROUND_UP = 1.0 + 4.0 * 2.0 ** -52
# rows per gemm of measured rows (see bounded_step)
cdef Py_ssize_t MEASURE_BATCH = 1024
cdef double ROUND_DOWN = 1.0 - 4.0 * 2.0 ** -52


cdef inline double expansion_error(double unit, Py_ssize_t n_features, double row_sq,
                                   double max_center_sq) noexcept nogil:
    # the error bound of a gemm score ||c||^2 - 2 x.c (see assign_single),
    # plus the rounding of ||x||^2 itself
    return 1.01 * 2.0 * unit * (n_features + 6) * (row_sq + max_center_sq) + 4.0 * 2.0 ** -53 * row_sq


cdef inline float float_below(double value) noexcept nogil:
    """A float32 not above value >= 0 (0 below FLT_MIN, FLT_MAX past the
    range): lower bounds are stored in float32 and must not grow when
    rounded. Rounding to nearest moves value (1 - 2^-22) by at most 2^-24
    of itself, which leaves it below value."""
    if value >= FLT_MAX:
        return FLT_MAX
    if value < FLT_MIN:
        return 0.0
    return <float> (value * (1.0 - 2.0 ** -22))


cdef inline bint bound_keeps(double upper, double nearest_other, double margin) noexcept nogil:
    """Whether upper >= d(x, c_label) and nearest_other <= d(x, c_k) for
    every other k prove that the row keeps its label: the other centers'
    squared distances exceed its own by more than `margin` (0 where the
    labels are exact; the float32 gemm's error where lloyd's argmin is
    itself rounded, so that it cannot pick another center either)."""
    return upper < nearest_other and nearest_other * nearest_other * ROUND_DOWN > upper * upper * ROUND_UP + margin


def bounded_step(const floating[:, ::1] X not None, const floating[::1] shift not None,
                 const floating[::1] sample_weight not None, const floating[:, ::1] centers not None,
                 const floating[::1] center_sq_norms not None, const int[::1] center_group not None,
                 const double[::1] drift not None, const float[::1] group_drop not None,
                 int[::1] labels not None, double[::1] upper not None, float[:, ::1] lower not None,
                 double[:, :, ::1] block_sums not None, double[:, ::1] block_weights not None,
                 double[::1] block_inertia not None, Py_ssize_t[::1] block_measured not None,
                 Py_ssize_t chunk_rows, Py_ssize_t block_rows, int n_threads, bint restart,
                 bint with_inertia, const float[:, ::1] centers_single=None,
                 const float[::1] center_sq_single=None, const double[::1] row_sq_norms=None,
                 double bound_scale=0.0):
    """One Lloyd step (see lloyd_step: labels, block_sums, block_weights,
    block_inertia; returns the number of changed labels) that measures only
    the rows whose bounds do not prove their label. restart measures every
    row (the first step, or bounds that no longer hold); otherwise drift[k]
    is how far center k moved since the last step and group_drop[g] the
    largest drift in group g, rounded up to float32 (center_group[k] in
    0 .. G-1, G = lower.shape[1]).
    block_measured[b] counts the rows of block b that were measured. For
    float64 data, centers_single (with center_sq_single, row_sq_norms and
    bound_scale, as in lloyd_step) measures through the float32 gemm."""
    name = "bounded_step"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = centers.shape[0], n_groups = lower.shape[1]
    check_positive(name, "the number of centers (rows of centers)", n_clusters)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], n_clusters, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "center_sq_norms", center_sq_norms.shape[0], n_clusters)
    check_length(name, "center_group", center_group.shape[0], n_clusters)
    check_length(name, "drift", drift.shape[0], n_clusters)
    check_positive(name, "the number of groups (columns of lower)", n_groups)
    check_length(name, "group_drop", group_drop.shape[0], n_groups)
    check_labels(name, "center_group", center_group, n_groups)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_length(name, "upper", upper.shape[0], n_samples)
    check_length(name, "lower (rows)", lower.shape[0], n_samples)
    if not restart:
        check_labels(name, "labels", labels, n_clusters)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    check_length(name, "block_inertia (one slot per block of the plan)", block_inertia.shape[0], n_blocks)
    check_length(name, "block_measured (one slot per block of the plan)", block_measured.shape[0], n_blocks)
    check_shape3(name, "block_sums (one slot per block of the plan)", block_sums.shape[0],
                 block_sums.shape[1], block_sums.shape[2], n_blocks, n_clusters, n_features)
    check_shape(name, "block_weights (one slot per block of the plan)", block_weights.shape[0],
                block_weights.shape[1], n_blocks, n_clusters)
    cdef bint single = floating is double and centers_single is not None
    if single:
        if center_sq_single is None or row_sq_norms is None:
            raise ValueError(f"{name}: centers_single needs center_sq_single and row_sq_norms")
        check_shape(name, "centers_single", centers_single.shape[0], centers_single.shape[1],
                    n_clusters, n_features)
        check_length(name, "center_sq_single", center_sq_single.shape[0], n_clusters)
        check_length(name, "row_sq_norms", row_sq_norms.shape[0], n_samples)
    # the unit roundoff of the gemm that measures (float32 for single)
    cdef double unit = 2.0 ** -24 if (floating is float or single) else 2.0 ** -53
    cdef double max_center_sq = max(center_sq_norms)
    cdef double bound_offset = 0.0
    if single:
        bound_offset = bound_scale * max(center_sq_single)
    # Measured rows go through the gemm in batches gathered across the whole
    # block (a chunk holds few of them late in a fit, and a gemm on a few
    # rows is mostly the packing of the centers).
    cdef Py_ssize_t batch = max(chunk_rows, min(block_rows, MEASURE_BATCH))
    cdef Py_ssize_t b, start, stop, n, i, r, j, k, g, a, m, q, nb, n_measured, chunk_start
    cdef Py_ssize_t n_changed = 0, block_changed
    cdef floating *buf
    cdef floating *measured_rows
    cdef floating *scores
    cdef floating *best
    cdef floating *lab
    cdef floating *measured_lab
    cdef Py_ssize_t *measured
    cdef double *group_min
    cdef double *group_min2
    cdef double *direct
    cdef double *measured_sq
    cdef SingleScratch scratch
    cdef double inertia, row_sq, value, d2, err, bound, margin
    cdef float *row_lower
    cdef const floating *x

    cdef int failed = 0
    with nogil:
        with parallel(num_threads=n_threads):
            buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
            lab = <floating *> lvm_alloc(block_rows * sizeof(floating))
            measured = <Py_ssize_t *> lvm_alloc(block_rows * sizeof(Py_ssize_t))
            measured_rows = <floating *> lvm_alloc(batch * n_features * sizeof(floating))
            scores = <floating *> lvm_alloc(batch * n_clusters * sizeof(floating))
            best = <floating *> lvm_alloc(batch * sizeof(floating))
            measured_lab = <floating *> lvm_alloc(batch * sizeof(floating))
            measured_sq = <double *> lvm_alloc(batch * sizeof(double))
            group_min = <double *> lvm_alloc(n_groups * batch * sizeof(double))
            group_min2 = <double *> lvm_alloc(n_groups * batch * sizeof(double))
            # (float32 data: one row's direct distances, see settle_labels)
            direct = <double *> lvm_alloc((batch if floating is double else 1) * n_clusters * sizeof(double))
            scratch = single_scratch(batch, n_features if single else 0, n_clusters if single else 0)
            if (buf == NULL or lab == NULL or measured == NULL or measured_rows == NULL or scores == NULL
                    or best == NULL or measured_lab == NULL or measured_sq == NULL or group_min == NULL
                    or group_min2 == NULL or direct == NULL or not single_scratch_ok(&scratch)):
                lvm_flag(&failed)
            for b in prange(n_blocks, schedule="dynamic"):
                if lvm_flagged(&failed):
                    continue
                inertia = 0.0
                block_changed = 0
                start = b * block_rows
                stop = block_end(b, block_rows, n_samples)
                # 1. bounds: move them with the centers, keep the rows they prove
                n_measured = 0
                for i in range(stop - start):
                    r = start + i
                    if restart:
                        measured[n_measured] = i
                        n_measured = n_measured + 1
                        continue
                    a = labels[r]
                    lab[i] = a
                    bound = lvm_drop_bounds(&lower[r, 0], &group_drop[0], n_groups)
                    upper[r] = (upper[r] + drift[a]) * ROUND_UP
                    x = &X[r, 0]
                    margin = 0.0
                    if floating is float:
                        row_sq = 0.0
                        for j in range(n_features):
                            value = <floating> (x[j] - shift[j])
                            row_sq = row_sq + value * value
                        margin = 2.0 * expansion_error(unit, n_features, row_sq, max_center_sq)
                    if bound_keeps(upper[r], bound, margin):
                        continue
                    # the upper bound is loose after a few steps: measure it (on
                    # the row centered as copy_centered does)
                    d2 = 0.0
                    for j in range(n_features):
                        value = <double> <floating> (x[j] - shift[j]) - <double> centers[a, j]
                        d2 = d2 + value * value
                    upper[r] = sqrt(d2 * (1.0 + (n_features + 2) * 2.0 ** -52)) * ROUND_UP
                    if bound_keeps(upper[r], bound, margin):
                        continue
                    measured[n_measured] = i
                    n_measured = n_measured + 1
                block_measured[b] = n_measured
                # 2. the others: lloyd's gemm and argmin (with its proofs), a
                # batch at a time, and fresh bounds from the same scores
                q = 0
                while q < n_measured:
                    nb = min(batch, n_measured - q)
                    for m in range(nb):
                        x = &X[start + measured[q + m], 0]
                        for j in range(n_features):
                            measured_rows[m * n_features + j] = x[j] - shift[j]
                    if floating is double:
                        if single:
                            for m in range(nb):
                                measured_sq[m] = row_sq_norms[start + measured[q + m]]
                            # (rows redone by direct differences go to `scores`; the
                            # float32 scores stay in scratch.scores)
                            assign_single(measured_rows, nb, n_features, n_clusters,
                                          &centers_single[0, 0], &center_sq_single[0],
                                          &centers[0, 0], &center_sq_norms[0], measured_sq,
                                          bound_scale, bound_offset, &scratch, scores, best,
                                          measured_lab)
                        else:
                            # (direct: rows redone by direct differences, which the
                            # bounds below do not need)
                            assign_double(measured_rows, nb, n_features, n_clusters,
                                          &centers[0, 0], &center_sq_norms[0], max_center_sq,
                                          &scratch, scores, best, measured_lab, direct)
                    else:
                        assign_chunk(measured_rows, nb, n_features, n_clusters,
                                     &centers[0, 0], &center_sq_norms[0], scores, best,
                                     scratch.second, measured_lab, direct)
                    # per group, the nearest center other than the label (the
                    # second nearest where the label is the group's nearest)
                    for m in range(n_groups * nb):
                        group_min[m] = INFINITY
                        group_min2[m] = INFINITY
                    if floating is double:
                        if single:
                            lvm_group_min2_s(scratch.scores, &center_sq_single[0], &center_group[0],
                                             nb, n_clusters, group_min, group_min2)
                        else:
                            lvm_group_min2_d(scores, &center_sq_norms[0], &center_group[0],
                                             nb, n_clusters, group_min, group_min2)
                    else:
                        lvm_group_min2_s(scores, &center_sq_norms[0], &center_group[0],
                                         nb, n_clusters, group_min, group_min2)
                    for m in range(nb):
                        i = measured[q + m]
                        r = start + i
                        a = <Py_ssize_t> measured_lab[m]
                        lab[i] = a
                        row_sq = 0.0
                        for j in range(n_features):
                            value = measured_rows[m * n_features + j]
                            row_sq = row_sq + value * value
                        if floating is double and single:
                            err = expansion_error(unit, n_features, row_sq, max_center_sq) + bound_offset
                            value = <double> scratch.scores[a * nb + m] + <double> center_sq_single[a]
                        else:
                            err = expansion_error(unit, n_features, row_sq, max_center_sq)
                            value = <double> scores[a * nb + m] + <double> center_sq_norms[a]
                        upper[r] = sqrt(max(value + row_sq + err, 0.0)) * ROUND_UP
                        row_lower = &lower[r, 0]
                        for g in range(n_groups):
                            d2 = group_min[g * nb + m]
                            if g == center_group[a] and d2 == value:
                                d2 = group_min2[g * nb + m]
                            row_lower[g] = float_below(sqrt(max(d2 + row_sq - err, 0.0)) * ROUND_DOWN)
                    q = q + nb
                # 3. the statistics, by lloyd's own row pass, a chunk at a time
                memset(&block_sums[b, 0, 0], 0, n_clusters * n_features * sizeof(double))
                memset(&block_weights[b, 0], 0, n_clusters * sizeof(double))
                chunk_start = start
                while chunk_start < stop:
                    n = min(chunk_rows, stop - chunk_start)
                    copy_centered(X, chunk_start, n, shift, buf)
                    lloyd_rows(buf, n, n_features, &lab[chunk_start - start], &centers[0, 0],
                               &sample_weight[chunk_start], &labels[chunk_start], &block_sums[b, 0, 0],
                               &block_weights[b, 0], with_inertia, &inertia, &block_changed)
                    chunk_start = chunk_start + n
                block_inertia[b] = inertia
                n_changed += block_changed
            lvm_free(buf)
            lvm_free(lab)
            lvm_free(measured)
            lvm_free(measured_rows)
            lvm_free(scores)
            lvm_free(best)
            lvm_free(measured_lab)
            lvm_free(measured_sq)
            lvm_free(group_min)
            lvm_free(group_min2)
            lvm_free(direct)
            free_single_scratch(&scratch)
    raise_if_failed(failed, "bounded_step")
    return n_changed
