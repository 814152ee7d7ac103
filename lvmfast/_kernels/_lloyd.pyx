"""The Lloyd step: squared distances through gemm fused with argmin, and the
per-block statistics.

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
from libc.math cimport INFINITY
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from libc.string cimport memcpy, memset
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport (
    check_length, check_plan, check_positive, check_shape, check_shape3, expected_blocks,
)
from lvmfast._kernels._rows cimport copy_centered, lvm_sq_distances_d
from lvmfast._kernels._assign cimport (
    LVM_NEAREST_CENTERS, SingleScratch, assign_double, block_end, free_single_scratch, lloyd_rows, lvm_narrow,
    lvm_nearest2_s, lvm_transpose_rows_s, settle_labels, single_bound_scale, single_scratch,
    single_scratch_ok,
)


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
