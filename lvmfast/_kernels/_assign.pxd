# The k-means kernels' shared pieces: the C loops of _kmeans.h and the
# assignment helpers that the Lloyd and the bounded steps both run (inline,
# so each module that cimports them compiles its own copy).
from cython cimport floating
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_free
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._rows cimport lvm_sq_distances_d, lvm_sq_distances_s


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


cdef inline void settle_labels(const floating *buf, Py_ssize_t n, Py_ssize_t n_features,
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


cdef inline SingleScratch single_scratch(Py_ssize_t chunk_rows, Py_ssize_t n_features,
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


cdef inline bint single_scratch_ok(const SingleScratch *s) noexcept nogil:
    return (s.buf != NULL and s.scores != NULL and s.best != NULL and s.second != NULL
            and s.lab != NULL and s.ambiguous != NULL and s.runner_up != NULL)


cdef inline void free_single_scratch(SingleScratch *s) noexcept nogil:
    lvm_free(s.buf)
    lvm_free(s.scores)
    lvm_free(s.best)
    lvm_free(s.second)
    lvm_free(s.lab)
    lvm_free(s.ambiguous)
    lvm_free(s.runner_up)


cdef inline void assign_single(const double *buf, Py_ssize_t n, Py_ssize_t n_features,
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


cdef inline void assign_double(const double *buf, Py_ssize_t n, Py_ssize_t n_features,
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



cdef inline void sq_distances(const floating[:, ::1] X, Py_ssize_t start, const Py_ssize_t *rows,
                              Py_ssize_t n, const floating *cols, Py_ssize_t n_cols,
                              double *dist, Py_ssize_t ld) noexcept nogil:
    if floating is double:
        lvm_sq_distances_d(&X[start, 0], rows, n, X.shape[1], cols, n_cols, dist, ld)
    else:
        lvm_sq_distances_s(&X[start, 0], rows, n, X.shape[1], cols, n_cols, dist, ld)
