"""K-means kernels for CSR sparse input (the TF-IDF + KMeans path).

X is never densified. It arrives as its three CSR arrays: `data` (float32 or
float64), `indices` and `indptr` (both int32 or both int64), with
`n_features` given. The caller validates and canonicalizes X (no duplicate
column indices in a row, indices in range, indptr non-decreasing); every
kernel here checks that its arrays' shapes agree before it reads them, and
raises ValueError otherwise.

The dot products of a row with K centers read, per nonzero (j, v), the
contiguous K-vector centers_t[j, :] of a transposed copy of the centers
(D x kp, kp being K rounded up to a whole number of 32-byte half vectors,
zero padded), built once per call. The inner loop over k is written with GCC
vector extensions and built per ISA (AVX-512, AVX2, baseline), so the score
of a row depends on the CPU only, never on the thread count.

Threads take fixed blocks of rows whose split depends on n_samples and the
plan only; each block writes its own slot, and the Lloyd statistics are
summed per cluster by one thread in row order. Results are bit-identical for
any thread count.
"""
import numpy as np

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from libc.string cimport memset

from lvmfast._kernels._checks cimport (
    check_csr, check_labels, check_length, check_plan, check_shape, csr_index, expected_blocks,
)


cdef extern from "_sparse.h":
    void lvs_dots_d_d_i32(const double *data, const int32_t *idx, Py_ssize_t nnz,
                          const double *ct, Py_ssize_t kp, double *out) nogil
    void lvs_dots_d_d_i64(const double *data, const int64_t *idx, Py_ssize_t nnz,
                          const double *ct, Py_ssize_t kp, double *out) nogil
    void lvs_dots_f_f_i32(const float *data, const int32_t *idx, Py_ssize_t nnz,
                          const float *ct, Py_ssize_t kp, float *out) nogil
    void lvs_dots_f_f_i64(const float *data, const int64_t *idx, Py_ssize_t nnz,
                          const float *ct, Py_ssize_t kp, float *out) nogil
    void lvs_dots_f_d_i32(const float *data, const int32_t *idx, Py_ssize_t nnz,
                          const double *ct, Py_ssize_t kp, double *out) nogil
    void lvs_dots_f_d_i64(const float *data, const int64_t *idx, Py_ssize_t nnz,
                          const double *ct, Py_ssize_t kp, double *out) nogil
    void lvs_group_sum_d_i32(const double *data, const int32_t *idx, const int32_t *indptr,
                             const Py_ssize_t *rows, Py_ssize_t n_rows, const double *weight,
                             const int *labels, Py_ssize_t n_features, double *sums,
                             double *weights) nogil
    void lvs_group_sum_d_i64(const double *data, const int64_t *idx, const int64_t *indptr,
                             const Py_ssize_t *rows, Py_ssize_t n_rows, const double *weight,
                             const int *labels, Py_ssize_t n_features, double *sums,
                             double *weights) nogil
    void lvs_group_sum_f_i32(const float *data, const int32_t *idx, const int32_t *indptr,
                             const Py_ssize_t *rows, Py_ssize_t n_rows, const float *weight,
                             const int *labels, Py_ssize_t n_features, double *sums,
                             double *weights) nogil
    void lvs_group_sum_f_i64(const float *data, const int64_t *idx, const int64_t *indptr,
                             const Py_ssize_t *rows, Py_ssize_t n_rows, const float *weight,
                             const int *labels, Py_ssize_t n_features, double *sums,
                             double *weights) nogil


# ---------------------------------------------------------------------------
# Shared helpers


cdef inline void row_dots(const floating *data, const csr_index *idx, Py_ssize_t nnz,
                          const floating *ct, Py_ssize_t kp, floating *out) noexcept nogil:
    """out[k] = x . centers[k] for k < kp, summed in the data's dtype."""
    if floating is double:
        if csr_index is int32_t:
            lvs_dots_d_d_i32(data, idx, nnz, ct, kp, out)
        else:
            lvs_dots_d_d_i64(data, idx, nnz, ct, kp, out)
    else:
        if csr_index is int32_t:
            lvs_dots_f_f_i32(data, idx, nnz, ct, kp, out)
        else:
            lvs_dots_f_f_i64(data, idx, nnz, ct, kp, out)


cdef inline void row_dots_double(const floating *data, const csr_index *idx, Py_ssize_t nnz,
                                 const double *ct, Py_ssize_t kp, double *out) noexcept nogil:
    """out[k] = x . centers[k] for k < kp, summed in double."""
    if floating is double:
        if csr_index is int32_t:
            lvs_dots_d_d_i32(data, idx, nnz, ct, kp, out)
        else:
            lvs_dots_d_d_i64(data, idx, nnz, ct, kp, out)
    else:
        if csr_index is int32_t:
            lvs_dots_f_d_i32(data, idx, nnz, ct, kp, out)
        else:
            lvs_dots_f_d_i64(data, idx, nnz, ct, kp, out)


cdef inline Py_ssize_t padded_width(Py_ssize_t n_clusters, Py_ssize_t itemsize) noexcept nogil:
    """K rounded up to a whole number of 32-byte half vectors."""
    cdef Py_ssize_t lanes = 32 // itemsize
    return max(1, (n_clusters + lanes - 1) // lanes) * lanes


ctypedef fused table_t:
    float
    double


cdef void transpose_centers(const floating[:, ::1] centers, table_t *ct, Py_ssize_t kp,
                            int n_threads) noexcept nogil:
    """ct[j * kp + k] = centers[k, j] (in the table's type: the data's for
    the Lloyd scores, double for distances), zero for K <= k < kp."""
    cdef Py_ssize_t n_clusters = centers.shape[0], n_features = centers.shape[1]
    cdef Py_ssize_t n_tiles = (n_features + 255) // 256
    cdef Py_ssize_t tile, j, k, stop
    for tile in prange(n_tiles, num_threads=n_threads, schedule="static"):
        stop = min((tile + 1) * 256, n_features)
        for j in range(tile * 256, stop):
            for k in range(n_clusters):
                ct[j * kp + k] = <table_t> centers[k, j]
            for k in range(n_clusters, kp):
                ct[j * kp + k] = 0


cdef void center_sq_norms_double(const floating[:, ::1] centers, double *out) noexcept nogil:
    """out[k] = ||centers[k]||^2, summed in double in column order."""
    cdef Py_ssize_t k, j
    cdef double s
    for k in range(centers.shape[0]):
        s = 0.0
        for j in range(centers.shape[1]):
            s = s + <double> centers[k, j] * centers[k, j]
        out[k] = s


# ---------------------------------------------------------------------------
# Row norms


# out[i] = ||X[i]||^2, summed in double over the row's nonzeros in order.
# Reads data and indptr; writes out (n_samples).
def csr_row_sq_norms(const floating[::1] data, const csr_index[::1] indptr, double[::1] out,
                     int n_threads):
    """out[i] = squared norm of row i of the CSR matrix, in double."""
    cdef Py_ssize_t n_samples = check_csr("csr_row_sq_norms", data.shape[0], data.shape[0],
                                          indptr, 1)
    check_length("csr_row_sq_norms", "out", out.shape[0], n_samples)
    cdef Py_ssize_t i, p
    cdef double s
    with nogil:
        for i in prange(n_samples, num_threads=n_threads, schedule="static"):
            s = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                s = s + <double> data[p] * data[p]
            out[i] = s


# ---------------------------------------------------------------------------
# Lloyd


# One Lloyd step on CSR rows. Reads data, indices, indptr, sample_weight,
# centers (K x D), center_sq_norms (K, in the data's dtype: they enter the
# scores) and, with inertia, row_sq_norms. Writes labels (the nearest center
# by ||c||^2 - 2 x.c in the data's dtype, ties to the lowest index) and returns
# how many changed; with_inertia: block_inertia[b] = sum over block b's rows of
# w * max(||x||^2 - 2 x.c + ||c||^2, 0) in double (||c||^2 recomputed in
# double); update_centers: sums[k] = sum of w * x and weights[k] = sum of w
# over the rows labelled k, in double. Each cluster's statistics are summed
# by one thread in row order (see cluster_sums): deterministic, and no
# per-block K x D buffers.
def csr_lloyd_step(const floating[::1] data, const csr_index[::1] indices,
                   const csr_index[::1] indptr, Py_ssize_t n_features,
                   const floating[::1] sample_weight, const floating[:, ::1] centers,
                   const floating[::1] center_sq_norms, int[::1] labels,
                   const double[::1] row_sq_norms, double[:, ::1] sums, double[::1] weights,
                   double[::1] block_inertia, Py_ssize_t chunk_rows, Py_ssize_t block_rows,
                   int n_threads, bint update_centers, bint with_inertia):
    """Assign each CSR row to its nearest center and, optionally, compute the
    inertia per block and the per-cluster weighted sums and weights. Returns
    the number of labels that changed."""
    name = "csr_lloyd_step"
    cdef Py_ssize_t n_samples = check_csr(name, data.shape[0], indices.shape[0], indptr, n_features)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], centers.shape[0], n_features)
    cdef Py_ssize_t n_clusters = centers.shape[0]
    if n_clusters < 1:
        raise ValueError(f"{name}: need at least one center, got 0")
    check_length(name, "center_sq_norms", center_sq_norms.shape[0], n_clusters)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_plan(name, chunk_rows, block_rows)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    if with_inertia:
        if row_sq_norms is None or block_inertia is None:
            raise ValueError(f"{name}: with_inertia needs row_sq_norms and block_inertia")
        check_length(name, "row_sq_norms", row_sq_norms.shape[0], n_samples)
        check_length(name, "block_inertia (one slot per block of the plan)",
                     block_inertia.shape[0], n_blocks)
    if update_centers:
        if sums is None or weights is None:
            raise ValueError(f"{name}: update_centers needs sums and weights")
        check_shape(name, "sums", sums.shape[0], sums.shape[1], n_clusters, n_features)
        check_length(name, "weights", weights.shape[0], n_clusters)
    if n_threads < 1:
        raise ValueError(f"{name}: n_threads must be >= 1, got {n_threads}")

    cdef Py_ssize_t kp = padded_width(n_clusters, sizeof(floating))
    cdef floating *ct = <floating *> lvm_alloc(n_features * kp * sizeof(floating))
    cdef double *center_sq = <double *> lvm_alloc(n_clusters * sizeof(double))
    if ct == NULL or center_sq == NULL:
        lvm_free(ct)
        lvm_free(center_sq)
        raise MemoryError(f"{name}: could not allocate its scratch memory")
    cdef Py_ssize_t b, n_changed = 0
    cdef floating *acc = NULL
    cdef int failed = 0
    with nogil:
        transpose_centers(centers, ct, kp, n_threads)
        if with_inertia:
            center_sq_norms_double(centers, center_sq)
        with parallel(num_threads=n_threads):
            acc = <floating *> lvm_alloc(kp * sizeof(floating))
            if acc == NULL:
                lvm_flag(&failed)
            for b in prange(n_blocks, schedule="dynamic"):
                if lvm_flagged(&failed):
                    continue
                n_changed += lloyd_block(data, indices, indptr, sample_weight, centers,
                                         center_sq_norms, labels, row_sq_norms, block_inertia,
                                         ct, kp, center_sq, b, block_rows, n_samples,
                                         with_inertia, acc)
            lvm_free(acc)
    lvm_free(ct)
    lvm_free(center_sq)
    raise_if_failed(failed, name)
    if update_centers:
        cluster_sums(data, indices, indptr, sample_weight, labels, sums, weights, n_threads)
    return n_changed


cdef Py_ssize_t lloyd_block(const floating[::1] data, const csr_index[::1] indices,
                            const csr_index[::1] indptr, const floating[::1] sample_weight,
                            const floating[:, ::1] centers, const floating[::1] center_sq_norms,
                            int[::1] labels, const double[::1] row_sq_norms,
                            double[::1] block_inertia, const floating *ct, Py_ssize_t kp,
                            const double *center_sq, Py_ssize_t b, Py_ssize_t block_rows,
                            Py_ssize_t n_samples, bint with_inertia,
                            floating *acc) noexcept nogil:
    """The assignment (and inertia) of block b's rows; returns labels changed."""
    cdef Py_ssize_t n_clusters = centers.shape[0]
    cdef Py_ssize_t i, k, p, start, stop, best_k, changed = 0
    cdef floating score, best
    cdef double inertia = 0.0, dot, d
    start = b * block_rows
    stop = min(start + block_rows, n_samples)
    for i in range(start, stop):
        p = indptr[i]
        row_dots(&data[0] + p, &indices[0] + p, indptr[i + 1] - p, ct, kp, acc)
        best = center_sq_norms[0] - 2 * acc[0]
        best_k = 0
        for k in range(1, n_clusters):
            score = center_sq_norms[k] - 2 * acc[k]
            if score < best:
                best = score
                best_k = k
        if labels[i] != best_k:
            changed += 1
            labels[i] = <int> best_k
        if with_inertia:
            if floating is double:
                dot = acc[best_k]
            else:
                dot = 0.0
                for p in range(indptr[i], indptr[i + 1]):
                    dot += <double> data[p] * centers[best_k, indices[p]]
            d = row_sq_norms[i] - 2.0 * dot + center_sq[best_k]
            inertia += sample_weight[i] * (d if d > 0.0 else 0.0)
    if with_inertia:
        block_inertia[b] = inertia
    elif block_inertia is not None:
        block_inertia[b] = 0.0
    return changed


cdef void cluster_sums(const floating[::1] data, const csr_index[::1] indices,
                       const csr_index[::1] indptr, const floating[::1] sample_weight,
                       const int[::1] labels, double[:, ::1] sums, double[::1] weights,
                       int n_threads) noexcept:
    """sums[k] = sum of w * x and weights[k] = sum of w over the rows labelled k.

    Each cluster is summed by one thread, in row order, straight into sums[k]
    and weights[k]: so the result does not depend on which thread takes which
    cluster, and no per-block K x D buffers are needed. The clusters are dealt
    into one group per thread (largest load first, to the least loaded group);
    a counting sort lists each group's rows in row order, and each thread
    sweeps its group's rows once. Sweeping a group rather than one cluster at a
    time reads X in denser, more prefetchable order (measured single-threaded
    at 200,000 x 50,000, 50 nonzeros a row, K = 20: one sweep per cluster
    32 ms, one sweep per group 22 ms, a sweep of X in order into a single
    cluster 11 ms). A CSC copy of X summed column by column (bit-identical)
    was no faster and doubles the memory."""
    cdef Py_ssize_t n_samples = labels.shape[0], n_clusters = sums.shape[0]
    cdef Py_ssize_t n_features = sums.shape[1]
    cdef Py_ssize_t n_groups = max(1, min(n_threads, n_clusters))
    cdef Py_ssize_t i, k, c, g, best_g
    loads_arr = np.zeros(n_clusters, dtype=np.intp)
    group_of_arr = np.empty(n_clusters, dtype=np.intp)
    group_load_arr = np.zeros(n_groups, dtype=np.intp)
    offsets_arr = np.zeros(n_groups + 1, dtype=np.intp)
    order_arr = np.empty(max(n_samples, 1), dtype=np.intp)
    cdef Py_ssize_t[::1] loads = loads_arr
    cdef const Py_ssize_t[::1] by_load
    cdef Py_ssize_t[::1] group_of = group_of_arr
    cdef Py_ssize_t[::1] group_load = group_load_arr
    cdef Py_ssize_t[::1] offsets = offsets_arr
    cdef Py_ssize_t[::1] order = order_arr
    with nogil:
        # A cluster's load: its rows and their nonzeros.
        for i in range(n_samples):
            loads[labels[i]] += 1 + indptr[i + 1] - indptr[i]
    # Largest load first (ties by index), each to the least loaded group
    # (ties to the lowest group).
    by_load_arr = np.argsort(-loads_arr, kind="stable")
    by_load = by_load_arr
    with nogil:
        for c in range(n_clusters):
            k = by_load[c]
            best_g = 0
            for g in range(1, n_groups):
                if group_load[g] < group_load[best_g]:
                    best_g = g
            group_of[k] = best_g
            group_load[best_g] += loads[k]
        # Counting sort of the rows by group, in row order within a group:
        # group g spans order[offsets[g]:offsets[g + 1]].
        for i in range(n_samples):
            offsets[group_of[labels[i]] + 1] += 1
        for g in range(n_groups):
            offsets[g + 1] += offsets[g]
        for i in range(n_samples):
            g = group_of[labels[i]]
            order[offsets[g]] = i
            offsets[g] += 1
        for g in range(n_groups - 1, 0, -1):
            offsets[g] = offsets[g - 1]
        offsets[0] = 0
        for g in prange(n_groups, num_threads=n_threads, schedule="static"):
            for k in range(n_clusters):
                if group_of[k] == g:
                    memset(&sums[k, 0], 0, n_features * sizeof(double))
                    weights[k] = 0.0
            group_sum(&data[0], &indices[0], &indptr[0], &order[0] + offsets[g],
                      offsets[g + 1] - offsets[g], &sample_weight[0], &labels[0],
                      n_features, &sums[0, 0], &weights[0])


cdef inline void group_sum(const floating *data, const csr_index *indices,
                           const csr_index *indptr, const Py_ssize_t *rows, Py_ssize_t n_rows,
                           const floating *weight, const int *labels, Py_ssize_t n_features,
                           double *sums, double *weights) noexcept nogil:
    if floating is double:
        if csr_index is int32_t:
            lvs_group_sum_d_i32(data, indices, indptr, rows, n_rows, weight, labels,
                                n_features, sums, weights)
        else:
            lvs_group_sum_d_i64(data, indices, indptr, rows, n_rows, weight, labels,
                                n_features, sums, weights)
    else:
        if csr_index is int32_t:
            lvs_group_sum_f_i32(data, indices, indptr, rows, n_rows, weight, labels,
                                n_features, sums, weights)
        else:
            lvs_group_sum_f_i64(data, indices, indptr, rows, n_rows, weight, labels,
                                n_features, sums, weights)


# ---------------------------------------------------------------------------
# Distances


# out[i, k] = max(||x_i||^2 - 2 x_i.c_k + ||c_k||^2, 0), the dot summed in
# double. Reads data, indices, indptr, row_sq_norms (N), centers (K x D) and
# center_sq_norms (K, double); writes out (N x K, the data's dtype).
def csr_pairwise_sq_distances(const floating[::1] data, const csr_index[::1] indices,
                              const csr_index[::1] indptr, Py_ssize_t n_features,
                              const double[::1] row_sq_norms, const floating[:, ::1] centers,
                              const double[::1] center_sq_norms, floating[:, ::1] out,
                              Py_ssize_t chunk_rows, int n_threads):
    """Squared distances of every CSR row to every center, clamped at 0."""
    name = "csr_pairwise_sq_distances"
    cdef Py_ssize_t n_samples = check_csr(name, data.shape[0], indices.shape[0], indptr, n_features)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], centers.shape[0], n_features)
    cdef Py_ssize_t n_clusters = centers.shape[0]
    if n_clusters < 1:
        raise ValueError(f"{name}: need at least one center, got 0")
    check_length(name, "row_sq_norms", row_sq_norms.shape[0], n_samples)
    check_length(name, "center_sq_norms", center_sq_norms.shape[0], n_clusters)
    check_shape(name, "out", out.shape[0], out.shape[1], n_samples, n_clusters)
    check_plan(name, chunk_rows, chunk_rows)
    if n_threads < 1:
        raise ValueError(f"{name}: n_threads must be >= 1, got {n_threads}")
    cdef Py_ssize_t kp = padded_width(n_clusters, sizeof(double))
    cdef double *ct = <double *> lvm_alloc(n_features * kp * sizeof(double))
    if ct == NULL:
        raise MemoryError(f"{name}: could not allocate its scratch memory")
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, i, k, p, stop
    cdef double *acc = NULL
    cdef double d
    cdef int failed = 0
    with nogil:
        transpose_centers(centers, ct, kp, n_threads)
        with parallel(num_threads=n_threads):
            acc = <double *> lvm_alloc(kp * sizeof(double))
            if acc == NULL:
                lvm_flag(&failed)
            for c in prange(n_chunks, schedule="dynamic"):
                if lvm_flagged(&failed):
                    continue
                stop = min((c + 1) * chunk_rows, n_samples)
                for i in range(c * chunk_rows, stop):
                    p = indptr[i]
                    row_dots_double(&data[0] + p, &indices[0] + p, indptr[i + 1] - p, ct, kp, acc)
                    for k in range(n_clusters):
                        d = row_sq_norms[i] - 2.0 * acc[k] + center_sq_norms[k]
                        out[i, k] = <floating> (d if d > 0.0 else 0.0)
            lvm_free(acc)
    lvm_free(ct)
    raise_if_failed(failed, name)


# out[i] = ||x_i - centers[labels[i]]||^2 in double, in scikit-learn's
# sparse-dense form: the sum over the row's nonzeros of (x_j - c_j)^2 - c_j^2,
# plus ||c||^2, clamped at 0. Reads data, indices, indptr, centers, labels;
# writes out (N).
def csr_assigned_sq_distances(const floating[::1] data, const csr_index[::1] indices,
                              const csr_index[::1] indptr, Py_ssize_t n_features,
                              const floating[:, ::1] centers, const int[::1] labels,
                              double[::1] out, int n_threads):
    """Each row's squared distance to its own labelled center."""
    name = "csr_assigned_sq_distances"
    cdef Py_ssize_t n_samples = check_csr(name, data.shape[0], indices.shape[0], indptr, n_features)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], centers.shape[0], n_features)
    cdef Py_ssize_t n_clusters = centers.shape[0]
    check_length(name, "labels", labels.shape[0], n_samples)
    check_length(name, "out", out.shape[0], n_samples)
    if n_threads < 1:
        raise ValueError(f"{name}: n_threads must be >= 1, got {n_threads}")
    cdef Py_ssize_t i, p, k
    cdef double s, c, x
    check_labels(name, "labels", labels, n_clusters)
    cdef double *center_sq = <double *> lvm_alloc(max(n_clusters, 1) * sizeof(double))
    if center_sq == NULL:
        raise MemoryError(f"{name}: could not allocate its scratch memory")
    with nogil:
        center_sq_norms_double(centers, center_sq)
        for i in prange(n_samples, num_threads=n_threads, schedule="static"):
            k = labels[i]
            s = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                c = centers[k, indices[p]]
                x = <double> data[p] - c
                s = s + (x * x - c * c)
            s = s + center_sq[k]
            out[i] = s if s > 0.0 else 0.0
    lvm_free(center_sq)


# ---------------------------------------------------------------------------
# k-means++
#
# The Python driver (lvmfast.cluster._rows and _seeding) keeps `closest`, the
# squared distance of each row to its nearest chosen center, draws the
# candidates as scikit-learn does, and asks these kernels for the candidates'
# potentials and to fold the chosen center into closest. Both compute a
# distance in the same way, in double, in the order of scikit-learn's
# euclidean_distances: max((-2 x.c + ||c||^2) + ||x||^2, 0).


cdef inline double pp_distance(double dot, double center_sq, double row_sq) noexcept nogil:
    cdef double d = (-2.0 * dot + center_sq) + row_sq
    return d if d > 0.0 else 0.0


# pots[b, t] = sum over block b's rows of w * min(closest, d(x, candidates[t])).
# Reads data, indices, indptr, row_sq_norms, sample_weight, closest (N),
# candidates (t x D, dense) and candidate_sq_norms (t); writes pots
# (n_blocks x t), which Python sums in block order. No N x t array.
def csr_pp_potentials(const floating[::1] data, const csr_index[::1] indices,
                      const csr_index[::1] indptr, Py_ssize_t n_features,
                      const double[::1] row_sq_norms, const floating[::1] sample_weight,
                      const double[::1] closest, const floating[:, ::1] candidates,
                      const double[::1] candidate_sq_norms, double[:, ::1] pots,
                      Py_ssize_t chunk_rows, Py_ssize_t block_rows, int n_threads):
    """Per block, the potential each candidate center would leave."""
    name = "csr_pp_potentials"
    cdef Py_ssize_t n_samples = check_csr(name, data.shape[0], indices.shape[0], indptr, n_features)
    check_shape(name, "candidates", candidates.shape[0], candidates.shape[1],
                candidates.shape[0], n_features)
    cdef Py_ssize_t n_cand = candidates.shape[0]
    if n_cand < 1:
        raise ValueError(f"{name}: need at least one candidate, got 0")
    check_length(name, "row_sq_norms", row_sq_norms.shape[0], n_samples)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "closest", closest.shape[0], n_samples)
    check_length(name, "candidate_sq_norms", candidate_sq_norms.shape[0], n_cand)
    check_plan(name, chunk_rows, block_rows)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    check_shape(name, "pots (one row per block of the plan)", pots.shape[0], pots.shape[1],
                n_blocks, n_cand)
    if n_threads < 1:
        raise ValueError(f"{name}: n_threads must be >= 1, got {n_threads}")
    cdef Py_ssize_t kp = padded_width(n_cand, sizeof(double))
    cdef double *ct = <double *> lvm_alloc(n_features * kp * sizeof(double))
    if ct == NULL:
        raise MemoryError(f"{name}: could not allocate its scratch memory")
    cdef Py_ssize_t b, i, t, p, stop
    cdef double *acc = NULL
    cdef double d, w
    cdef int failed = 0
    with nogil:
        transpose_centers(candidates, ct, kp, n_threads)
        with parallel(num_threads=n_threads):
            acc = <double *> lvm_alloc(kp * sizeof(double))
            if acc == NULL:
                lvm_flag(&failed)
            for b in prange(n_blocks, schedule="dynamic"):
                if lvm_flagged(&failed):
                    continue
                for t in range(n_cand):
                    pots[b, t] = 0.0
                stop = min((b + 1) * block_rows, n_samples)
                for i in range(b * block_rows, stop):
                    p = indptr[i]
                    row_dots_double(&data[0] + p, &indices[0] + p, indptr[i + 1] - p, ct, kp, acc)
                    w = sample_weight[i]
                    for t in range(n_cand):
                        d = pp_distance(acc[t], candidate_sq_norms[t], row_sq_norms[i])
                        pots[b, t] = pots[b, t] + w * (d if d < closest[i] else closest[i])
            lvm_free(acc)
    lvm_free(ct)
    raise_if_failed(failed, name)


# closest[i] = min(closest[i], d(x_i, center)), d as in csr_pp_potentials
# (bit for bit). Reads data, indices, indptr, row_sq_norms, center (D);
# writes closest (N).
def csr_pp_fold_center(const floating[::1] data, const csr_index[::1] indices,
                       const csr_index[::1] indptr, Py_ssize_t n_features,
                       const double[::1] row_sq_norms, const floating[::1] center,
                       double center_sq_norm, double[::1] closest, int n_threads):
    """Fold one chosen center into the closest squared distances."""
    name = "csr_pp_fold_center"
    cdef Py_ssize_t n_samples = check_csr(name, data.shape[0], indices.shape[0], indptr, n_features)
    check_length(name, "center", center.shape[0], n_features)
    check_length(name, "row_sq_norms", row_sq_norms.shape[0], n_samples)
    check_length(name, "closest", closest.shape[0], n_samples)
    if n_threads < 1:
        raise ValueError(f"{name}: n_threads must be >= 1, got {n_threads}")
    cdef Py_ssize_t kp = padded_width(1, sizeof(double))
    cdef double *ct = <double *> lvm_alloc(n_features * kp * sizeof(double))
    if ct == NULL:
        raise MemoryError(f"{name}: could not allocate its scratch memory")
    cdef Py_ssize_t i, j, p, chunk
    cdef Py_ssize_t n_chunks = (n_samples + 1023) // 1024
    cdef double *acc = NULL
    cdef double d
    cdef int failed = 0
    with nogil:
        for j in range(n_features):
            ct[j * kp] = center[j]
            for p in range(1, kp):
                ct[j * kp + p] = 0.0
        with parallel(num_threads=n_threads):
            acc = <double *> lvm_alloc(kp * sizeof(double))
            if acc == NULL:
                lvm_flag(&failed)
            for chunk in prange(n_chunks, schedule="static"):
                if lvm_flagged(&failed):
                    continue
                for i in range(chunk * 1024, min((chunk + 1) * 1024, n_samples)):
                    p = indptr[i]
                    row_dots_double(&data[0] + p, &indices[0] + p, indptr[i + 1] - p, ct, kp, acc)
                    d = pp_distance(acc[0], center_sq_norm, row_sq_norms[i])
                    if d < closest[i]:
                        closest[i] = d
            lvm_free(acc)
    lvm_free(ct)
    raise_if_failed(failed, name)
