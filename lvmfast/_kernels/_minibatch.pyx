"""Mini-batch k-means kernels: many mini-batch steps per call.

A step (scikit-learn's MiniBatchKMeans step) draws a batch of rows, assigns
each to its nearest center, and moves every center that received rows to
the weighted mean of its old position (weighted by its running count) and
of its new rows; then the running counts grow by the batch's weights.

`minibatch_steps` runs up to one step per row of `uniforms` in one call,
so an epoch of a thousand steps costs a handful of Python calls: per step,
the batch rows are found from the uniforms by a search of the weights'
cumulative distribution (numpy.random.RandomState.choice's own arithmetic,
so the same uniforms give scikit-learn's batches), assigned through gemm
(rows centered by `shift` chunk by chunk, as in the Lloyd kernels), the
centers updated, and the early-stopping test of scikit-learn applied. It
returns to Python at the steps that need new random draws (a random
reassignment of centers), which Python does with its RandomState.

Threads and determinism: the assignment (the gemm, nearly all the work) is
parallel over chunks of batch rows, and each row's label and distance
depend on that row only; the update is serial, each center's sum running
over its rows in batch order. So a step synchronizes the threads once, and
results do not depend on the thread count.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport NAN, isnan
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from libc.string cimport memcpy

from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport check_labels, check_length, check_positive, check_shape
from lvmfast._kernels._rows cimport argmin_columns

cdef extern from "_core.h":
    void lvm_prefetch(const void *p) noexcept nogil

# Status codes of minibatch_steps (and codes of minibatch_convergence).
cdef enum:
    RAN_ALL = 0
    CONVERGED_CENTERS = 1      # the centers moved less than tol
    CONVERGED_INERTIA = 2      # no improvement of the smoothed inertia
    NEEDS_REASSIGNMENT = 3     # stopped after a step whose centers need random reassignment

# Slots of the state vector carried from call to call (NaN stands for
# scikit-learn's None).
cdef enum:
    EWA_INERTIA = 0
    EWA_INERTIA_MIN = 1
    NO_IMPROVEMENT = 2
    SINCE_LAST_REASSIGN = 3
    BATCH_INERTIA = 4          # the last step's batch inertia, per batch row
    CENTERS_SQUARED_DIFF = 5   # the last step's squared center shift (with tol > 0)
    STATE_SIZE = 6

# The same names for Python.
STATUS = {"ran_all": RAN_ALL, "converged_centers": CONVERGED_CENTERS,
          "converged_inertia": CONVERGED_INERTIA, "needs_reassignment": NEEDS_REASSIGNMENT}
STATE_SLOTS = {"ewa_inertia": EWA_INERTIA, "ewa_inertia_min": EWA_INERTIA_MIN,
               "no_improvement": NO_IMPROVEMENT, "since_last_reassign": SINCE_LAST_REASSIGN,
               "batch_inertia": BATCH_INERTIA, "centers_squared_diff": CENTERS_SQUARED_DIFF}
N_STATE = STATE_SIZE


cdef inline Py_ssize_t search_guess(Py_ssize_t n, double u) noexcept nogil:
    """Where search_right starts: u * n, in [0, n - 1]."""
    cdef Py_ssize_t guess = <Py_ssize_t> (u * n)
    if guess < 0:
        return 0
    if guess > n - 1:
        return n - 1
    return guess


cdef inline Py_ssize_t search_right(const double *cdf, Py_ssize_t n, double u) noexcept nogil:
    """numpy.searchsorted(cdf, u, side='right') for a non-decreasing cdf: the
    number of entries <= u, capped at n - 1. Gallops from the guess u * n,
    which is the answer or next to it when the weights are equal, then
    bisects: a few reads per draw instead of log2(n) scattered ones."""
    cdef Py_ssize_t lo, hi, step, mid
    cdef Py_ssize_t guess = search_guess(n, u)
    # Invariant: cdf[lo] <= u (lo = -1: none) and cdf[hi] > u (hi = n: none).
    if cdf[guess] > u:
        hi = guess
        step = 1
        lo = hi - step
        while lo >= 0 and cdf[lo] > u:
            hi = lo
            step = step * 2
            lo = hi - step
        if lo < -1:
            lo = -1
    else:
        lo = guess
        step = 1
        hi = lo + step
        while hi < n and cdf[hi] <= u:
            lo = hi
            step = step * 2
            hi = lo + step
        if hi > n:
            hi = n
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if cdf[mid] > u:
            hi = mid
        else:
            lo = mid
    return hi if hi < n else n - 1


def sample_rows(const double[::1] cdf not None, const double[::1] uniforms not None,
                Py_ssize_t[::1] out not None):
    """out[i] = numpy.searchsorted(cdf, uniforms[i], side='right'), capped at
    len(cdf) - 1: the rows numpy's RandomState.choice(p=...) draws for these
    uniforms, cdf being the cumulative sum of p divided by its last entry."""
    name = "sample_rows"
    check_positive(name, "len(cdf)", cdf.shape[0])
    check_length(name, "out", out.shape[0], uniforms.shape[0])
    cdef Py_ssize_t i
    with nogil:
        for i in range(uniforms.shape[0]):
            out[i] = search_right(&cdf[0], cdf.shape[0], uniforms[i])


# Rows whose cache lines are requested ahead of the row being copied.
cdef enum:
    PREFETCH_ROWS = 16


cdef inline void prefetch_row(const void *row, Py_ssize_t row_bytes) noexcept nogil:
    cdef Py_ssize_t offset = 0
    while offset < row_bytes:
        lvm_prefetch(<const char *> row + offset)
        offset = offset + 64


cdef int assign_batch(const floating[:, ::1] X, const floating *shift, const double *cdf,
                       const double *uniforms, Py_ssize_t *rows, Py_ssize_t n,
                       const floating *centers, const floating *center_sq, Py_ssize_t n_clusters,
                       int *labels, double *dist, floating *batch_buf, Py_ssize_t chunk_rows,
                       int n_threads) noexcept nogil:
    """Assign n batch rows to their nearest center; 0, or -1 when out of
    memory (outputs then undefined).

    The batch rows are X[rows[i]] (rows == NULL: X[i]); with uniforms, rows
    is first written as rows[i] = search_right(cdf, uniforms[i]). Writes
    labels[i] (first index of the least ||c||^2 - 2 (x - shift).c, in X's
    dtype through gemm) and dist[i] = ||x - shift - c_label||^2 by exact
    differences, in double. With batch_buf (n x n_features), the centered
    rows are kept there for the update; otherwise each thread centers a
    chunk at a time."""
    cdef Py_ssize_t n_features = X.shape[1], n_samples = X.shape[0]
    cdef Py_ssize_t n_chunks = (n + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t row_bytes = n_features * sizeof(floating)
    cdef Py_ssize_t c, start, m, i, j, row, k
    cdef floating *buf
    cdef floating *chunk_buf
    cdef floating *scores
    cdef floating *best
    cdef floating *lab
    cdef const floating *x
    cdef double s, d
    if n == 0:
        return 0
    cdef int failed = 0
    with parallel(num_threads=n_threads):
        buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating)) if batch_buf == NULL else NULL
        scores = <floating *> lvm_alloc(chunk_rows * n_clusters * sizeof(floating))
        best = <floating *> lvm_alloc(chunk_rows * sizeof(floating))
        lab = <floating *> lvm_alloc(chunk_rows * sizeof(floating))
        if (batch_buf == NULL and buf == NULL) or scores == NULL or best == NULL or lab == NULL:
            lvm_flag(&failed)
        for c in prange(n_chunks, schedule="static"):
            if lvm_flagged(&failed):
                continue
            start = c * chunk_rows
            m = min(chunk_rows, n - start)
            chunk_buf = &batch_buf[start * n_features] if batch_buf != NULL else buf
            # The batch rows are scattered through X (and the searches through
            # cdf): ask for their cache lines ahead, so the loads overlap.
            if uniforms != NULL:
                for i in range(m):
                    lvm_prefetch(&cdf[search_guess(n_samples, uniforms[start + i])])
                for i in range(m):
                    rows[start + i] = search_right(cdf, n_samples, uniforms[start + i])
            if rows != NULL:
                for i in range(min(m, PREFETCH_ROWS)):
                    prefetch_row(&X[rows[start + i], 0], row_bytes)
            for i in range(m):
                if rows != NULL:
                    if i + PREFETCH_ROWS < m:
                        prefetch_row(&X[rows[start + i + PREFETCH_ROWS], 0], row_bytes)
                    row = rows[start + i]
                else:
                    row = start + i
                x = &X[row, 0]
                for j in range(n_features):
                    chunk_buf[i * n_features + j] = x[j] - shift[j]
            # scores (column-major m x K) = -2 rows @ centers.T; the argmin adds ||c||^2.
            gemm(c'T', c'N', <int> m, <int> n_clusters, <int> n_features,
                 -2.0, chunk_buf, <int> n_features, centers, <int> n_features, 0.0, scores, <int> m)
            argmin_columns(scores, center_sq, m, n_clusters, best, lab)
            for i in range(m):
                k = <Py_ssize_t> lab[i]
                labels[start + i] = <int> k
                s = 0.0
                for j in range(n_features):
                    d = <double> chunk_buf[i * n_features + j] - <double> centers[k * n_features + j]
                    s = s + d * d
                dist[start + i] = s
        lvm_free(buf)
        lvm_free(scores)
        lvm_free(best)
        lvm_free(lab)
    return -1 if failed else 0


cdef void update_centers(const floating[:, ::1] X, const floating *shift, const Py_ssize_t *rows,
                         const floating *batch_buf, const floating *weights, Py_ssize_t n,
                         const int *labels,
                         const floating *old, floating *new, floating *counts,
                         Py_ssize_t n_clusters, double *center_shift, Py_ssize_t *order,
                         Py_ssize_t *offsets, double *wsum, double *acc) noexcept nogil:
    """The mini-batch update of every center from the labelled batch.

    For a center k whose batch rows (X[rows[i]] - shift, or batch_buf[i]
    where the assignment kept them; rows NULL: X[i]; weights w_i, NULL: 1)
    have total weight W > 0:
        counts[k] <- counts[k] + W (rounded to X's dtype)
        new[k] = (old[k] * old count + sum_i w_i x_i) / counts[k]
    summed in double over the center's rows in batch order; other centers
    are copied. center_shift[k] = ||new[k] - old[k]||^2. Scratch: order (n),
    offsets (n_clusters + 1), wsum (n_clusters), acc (n_features)."""
    cdef Py_ssize_t n_features = X.shape[1]
    cdef Py_ssize_t i, j, k, t, row
    cdef double w, alpha, v, diff, sh, count
    cdef const floating *x
    cdef floating new_count
    # Stable counting sort of the batch by label, and each center's weight.
    for k in range(n_clusters + 1):
        offsets[k] = 0
    for k in range(n_clusters):
        wsum[k] = 0.0
    for i in range(n):
        offsets[labels[i] + 1] += 1
        wsum[labels[i]] += weights[i] if weights != NULL else 1.0
    for k in range(n_clusters):
        offsets[k + 1] += offsets[k]
    for i in range(n):
        k = labels[i]
        order[offsets[k]] = i
        offsets[k] += 1
    for k in range(n_clusters, 0, -1):
        offsets[k] = offsets[k - 1]
    offsets[0] = 0
    # Serial: O(batch rows x n_features) adds, small beside the assignment's
    # gemm, and not worth a second synchronization of the threads per step.
    for k in range(n_clusters):
        if wsum[k] > 0:
            count = counts[k]
            for j in range(n_features):
                acc[j] = <double> old[k * n_features + j] * count
            for t in range(offsets[k], offsets[k + 1]):
                i = order[t]
                w = weights[i] if weights != NULL else 1.0
                if batch_buf != NULL:
                    x = &batch_buf[i * n_features]
                    for j in range(n_features):
                        acc[j] = acc[j] + w * <double> x[j]
                else:
                    row = rows[i] if rows != NULL else i
                    x = &X[row, 0]
                    for j in range(n_features):
                        acc[j] = acc[j] + w * (<double> x[j] - <double> shift[j])
            new_count = <floating> (count + wsum[k])
            counts[k] = new_count
            alpha = 1.0 / <double> new_count
            sh = 0.0
            for j in range(n_features):
                v = <double> (<floating> (acc[j] * alpha))
                diff = v - <double> old[k * n_features + j]
                sh = sh + diff * diff
                new[k * n_features + j] = <floating> v
            center_shift[k] = sh
        else:
            for j in range(n_features):
                new[k * n_features + j] = old[k * n_features + j]
            center_shift[k] = 0.0


cdef void center_sq_norms(const floating *centers, Py_ssize_t n_clusters, Py_ssize_t n_features,
                          floating *out) noexcept nogil:
    cdef Py_ssize_t k, j
    cdef double s
    for k in range(n_clusters):
        s = 0.0
        for j in range(n_features):
            s = s + <double> centers[k * n_features + j] * centers[k * n_features + j]
        out[k] = <floating> s


cdef int convergence(double *state, Py_ssize_t step, Py_ssize_t n_samples, Py_ssize_t batch_size,
                     double centers_squared_diff, double batch_inertia, double tol,
                     Py_ssize_t max_no_improvement) noexcept nogil:
    """scikit-learn's early stopping after step `step` (from 0): the batch
    inertia per batch row (batch_inertia) enters an exponentially weighted
    average (from the second step on, with weight
    min(2 batch_size / (n_samples + 1), 1)); stop when the squared center
    shift is at most tol (tol > 0), or when the average has not reached a
    new minimum for max_no_improvement steps (max_no_improvement < 0:
    never)."""
    cdef double alpha
    state[BATCH_INERTIA] = batch_inertia
    state[CENTERS_SQUARED_DIFF] = centers_squared_diff
    if step == 0:  # the first step's inertia is that of the initial centers
        return RAN_ALL
    if isnan(state[EWA_INERTIA]):
        state[EWA_INERTIA] = batch_inertia
    else:
        alpha = min(batch_size * 2.0 / (n_samples + 1), 1.0)
        state[EWA_INERTIA] = state[EWA_INERTIA] * (1 - alpha) + batch_inertia * alpha
    if tol > 0.0 and centers_squared_diff <= tol:
        return CONVERGED_CENTERS
    if isnan(state[EWA_INERTIA_MIN]) or state[EWA_INERTIA] < state[EWA_INERTIA_MIN]:
        state[NO_IMPROVEMENT] = 0
        state[EWA_INERTIA_MIN] = state[EWA_INERTIA]
    else:
        state[NO_IMPROVEMENT] += 1
    if max_no_improvement >= 0 and state[NO_IMPROVEMENT] >= max_no_improvement:
        return CONVERGED_INERTIA
    return RAN_ALL


def minibatch_convergence(double[::1] state not None, Py_ssize_t step, Py_ssize_t n_samples,
                          Py_ssize_t batch_size, double centers_squared_diff,
                          double batch_inertia, double tol, Py_ssize_t max_no_improvement):
    """The early-stopping test of minibatch_steps after step `step` (from 0;
    batch_inertia per batch row), for the steps Python finishes itself.
    Updates `state` and returns RAN_ALL, CONVERGED_CENTERS or
    CONVERGED_INERTIA."""
    check_length("minibatch_convergence", "state", state.shape[0], STATE_SIZE)
    check_positive("minibatch_convergence", "batch_size", batch_size)
    return convergence(&state[0], step, n_samples, batch_size, centers_squared_diff,
                       batch_inertia, tol, max_no_improvement)


cdef inline double batch_total(const double *dist, const floating *weights, Py_ssize_t n) noexcept nogil:
    """sum of w_i dist_i in batch order, rounded to X's dtype as scikit-learn
    returns it."""
    cdef Py_ssize_t i
    cdef double total = 0.0
    for i in range(n):
        total += dist[i] * (weights[i] if weights != NULL else 1.0)
    if floating is float:
        total = <double> (<float> total)
    return total


cdef int check_step_arrays(str name, const floating[:, ::1] X, const floating[::1] shift,
                           const floating[:, ::1] centers, const floating[:, ::1] out_centers,
                           const floating[::1] counts, Py_ssize_t chunk_rows,
                           int n_threads) except -1:
    cdef Py_ssize_t n_clusters = centers.shape[0], n_features = X.shape[1]
    check_positive(name, "the number of centers (rows of centers)", n_clusters)
    check_positive(name, "n_features", n_features)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], n_clusters, n_features)
    check_shape(name, "the second centers buffer", out_centers.shape[0], out_centers.shape[1],
                n_clusters, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "counts", counts.shape[0], n_clusters)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    return 0


def minibatch_step(const floating[:, ::1] X not None, const floating[::1] shift not None,
                   const floating[::1] sample_weight, const Py_ssize_t[::1] rows,
                   const floating[:, ::1] centers not None, floating[:, ::1] new_centers not None,
                   floating[::1] counts not None, int[::1] labels not None,
                   double[::1] center_shift not None, Py_ssize_t chunk_rows, int n_threads):
    """One mini-batch step on the batch X[rows] (rows None: all of X) with
    weights sample_weight (one per batch row; None: 1).

    Labels the batch rows against `centers` (frame X - shift), writes the
    updated centers to `new_centers` (which may not be `centers`), adds each
    center's batch weight to `counts` and its squared shift to
    center_shift. Returns the batch inertia before the update,
    sum of w ||x - shift - c_label||^2 (rounded to X's dtype)."""
    name = "minibatch_step"
    check_step_arrays(name, X, shift, centers, new_centers, counts, chunk_rows, n_threads)
    cdef Py_ssize_t n_clusters = centers.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n = rows.shape[0] if rows is not None else X.shape[0]
    if n < 1:
        raise ValueError(f"{name}: the batch must hold at least one row, got 0")
    if rows is not None:
        check_labels(name, "rows", rows, X.shape[0])
    if sample_weight is not None:
        check_length(name, "sample_weight (one per batch row)", sample_weight.shape[0], n)
    check_length(name, "labels", labels.shape[0], n)
    check_length(name, "center_shift", center_shift.shape[0], n_clusters)
    if &centers[0, 0] == &new_centers[0, 0]:
        raise ValueError(f"{name}: new_centers must not be centers")
    cdef floating *center_sq = <floating *> lvm_alloc(n_clusters * sizeof(floating))
    cdef double *dist = <double *> lvm_alloc(n * sizeof(double))
    cdef Py_ssize_t *order = <Py_ssize_t *> lvm_alloc(n * sizeof(Py_ssize_t))
    cdef Py_ssize_t *offsets = <Py_ssize_t *> lvm_alloc((n_clusters + 1) * sizeof(Py_ssize_t))
    cdef double *wsum = <double *> lvm_alloc(n_clusters * sizeof(double))
    cdef double *acc = <double *> lvm_alloc(n_features * sizeof(double))
    cdef const Py_ssize_t *row_ptr = &rows[0] if rows is not None else NULL
    cdef const floating *w_ptr = &sample_weight[0] if sample_weight is not None else NULL
    cdef double inertia = 0.0
    cdef int failed = 0
    if center_sq == NULL or dist == NULL or order == NULL or offsets == NULL or wsum == NULL or acc == NULL:
        lvm_free(center_sq); lvm_free(dist); lvm_free(order); lvm_free(offsets); lvm_free(wsum); lvm_free(acc)
        raise MemoryError(f"{name}: could not allocate the batch's scratch")
    with nogil:
        center_sq_norms(&centers[0, 0], n_clusters, n_features, center_sq)
        failed = assign_batch(X, &shift[0], NULL, NULL, <Py_ssize_t *> row_ptr, n, &centers[0, 0], center_sq,
                              n_clusters, &labels[0], dist, NULL, chunk_rows, n_threads)
        if not failed:
            inertia = batch_total(dist, w_ptr, n)
            update_centers(X, &shift[0], row_ptr, NULL, w_ptr, n, &labels[0], &centers[0, 0],
                           &new_centers[0, 0], &counts[0], n_clusters, &center_shift[0], order, offsets,
                           wsum, acc)
    lvm_free(center_sq); lvm_free(dist); lvm_free(order); lvm_free(offsets); lvm_free(wsum); lvm_free(acc)
    raise_if_failed(failed, name)
    return inertia


def minibatch_steps(const floating[:, ::1] X not None, const floating[::1] shift not None,
                    const double[::1] cdf not None, const double[:, ::1] uniforms not None,
                    floating[:, ::1] centers not None, floating[:, ::1] previous not None,
                    floating[::1] counts not None, double[::1] state not None,
                    Py_ssize_t[::1] batch_rows not None, Py_ssize_t first_step, double tol, Py_ssize_t max_no_improvement,
                    double reassignment_ratio, Py_ssize_t chunk_rows, int n_threads):
    """Run the mini-batch steps first_step, first_step + 1, ... of a fit, one
    per row of `uniforms` (S x batch_size), as scikit-learn's
    MiniBatchKMeans.fit runs them, with unit weights in the step.

    Per step s: the random-reassignment clock (scikit-learn's
    _random_reassign: due when a count is 0 or 10 n_clusters rows have gone
    by since the last one); the batch rows search_right(cdf, uniforms[s]);
    the assignment and update (centers in place, counts); then either a stop
    with NEEDS_REASSIGNMENT (the clock was due, reassignment_ratio > 0 and
    some count is below reassignment_ratio times the largest: Python draws
    the new centers and finishes the step's convergence test), or the
    convergence test (`convergence`), stopping with its code.

    On return: centers holds the centers after the last step run, previous
    those before it, batch_rows that step's rows, state the test's state
    (see the *_INERTIA slots). Returns (steps run, status code)."""
    name = "minibatch_steps"
    check_step_arrays(name, X, shift, centers, previous, counts, chunk_rows, n_threads)
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = centers.shape[0]
    cdef Py_ssize_t n_run = uniforms.shape[0], batch_size = uniforms.shape[1]
    check_positive(name, "the number of steps (rows of uniforms)", n_run)
    check_positive(name, "batch_size (columns of uniforms)", batch_size)
    check_length(name, "cdf", cdf.shape[0], n_samples)
    check_length(name, "batch_rows", batch_rows.shape[0], batch_size)
    check_length(name, "state", state.shape[0], STATE_SIZE)
    if &centers[0, 0] == &previous[0, 0]:
        raise ValueError(f"{name}: previous must not be centers")
    cdef floating *center_sq = <floating *> lvm_alloc(n_clusters * sizeof(floating))
    cdef int *labels = <int *> lvm_alloc(batch_size * sizeof(int))
    cdef double *dist = <double *> lvm_alloc(batch_size * sizeof(double))
    cdef Py_ssize_t *order = <Py_ssize_t *> lvm_alloc(batch_size * sizeof(Py_ssize_t))
    cdef Py_ssize_t *offsets = <Py_ssize_t *> lvm_alloc((n_clusters + 1) * sizeof(Py_ssize_t))
    cdef double *wsum = <double *> lvm_alloc(n_clusters * sizeof(double))
    cdef double *center_shift = <double *> lvm_alloc(n_clusters * sizeof(double))
    cdef floating *swap = <floating *> lvm_alloc(n_clusters * n_features * sizeof(floating))
    cdef double *acc = <double *> lvm_alloc(n_features * sizeof(double))
    # The batch's centered rows, from the assignment to the update.
    cdef floating *batch_buf = <floating *> lvm_alloc(batch_size * n_features * sizeof(floating))
    if (center_sq == NULL or labels == NULL or dist == NULL or order == NULL or offsets == NULL
            or wsum == NULL or center_shift == NULL or swap == NULL or acc == NULL or batch_buf == NULL):
        lvm_free(center_sq); lvm_free(labels); lvm_free(dist); lvm_free(order); lvm_free(offsets); lvm_free(wsum)
        lvm_free(center_shift); lvm_free(swap); lvm_free(acc); lvm_free(batch_buf)
        raise MemoryError(f"{name}: could not allocate the batch's scratch")
    cdef floating *cur = &centers[0, 0]
    cdef floating *nxt = &previous[0, 0]
    cdef floating *tmp
    cdef floating counts_max, threshold
    cdef Py_ssize_t s, k, step, n_done = 0
    cdef int status = RAN_ALL
    cdef int failed = 0
    cdef bint due, low
    cdef double inertia, diff
    cdef Py_ssize_t size = n_clusters * n_features
    with nogil:
        for s in range(n_run):
            step = first_step + s
            state[SINCE_LAST_REASSIGN] += batch_size
            due = state[SINCE_LAST_REASSIGN] >= 10 * n_clusters
            for k in range(n_clusters):
                if counts[k] == 0:
                    due = True
            if due:
                state[SINCE_LAST_REASSIGN] = 0
            center_sq_norms(cur, n_clusters, n_features, center_sq)
            if assign_batch(X, &shift[0], &cdf[0], &uniforms[s, 0], &batch_rows[0], batch_size, cur,
                            center_sq, n_clusters, labels, dist, batch_buf, chunk_rows, n_threads) != 0:
                failed = 1
                break
            inertia = batch_total(dist, <floating *> NULL, batch_size)
            update_centers(X, &shift[0], &batch_rows[0], batch_buf, NULL, batch_size, labels, cur, nxt,
                           &counts[0], n_clusters, center_shift, order, offsets, wsum, acc)
            tmp = cur
            cur = nxt
            nxt = tmp
            n_done = s + 1
            if due and reassignment_ratio > 0:
                counts_max = counts[0]
                for k in range(1, n_clusters):
                    if counts[k] > counts_max:
                        counts_max = counts[k]
                # In X's dtype, as scikit-learn compares its counts.
                threshold = (<floating> reassignment_ratio) * counts_max
                low = False
                for k in range(n_clusters):
                    if counts[k] < threshold:
                        low = True
                if low:
                    state[BATCH_INERTIA] = inertia / batch_size
                    state[CENTERS_SQUARED_DIFF] = NAN
                    status = NEEDS_REASSIGNMENT
                    break
            diff = 0.0
            if tol > 0.0:
                for k in range(n_clusters):
                    diff += center_shift[k]
            status = convergence(&state[0], step, n_samples, batch_size, diff, inertia / batch_size,
                                 tol, max_no_improvement)
            if status != RAN_ALL:
                break
        # centers gets the last centers, previous the ones before.
        if cur != &centers[0, 0]:
            memcpy(swap, cur, size * sizeof(floating))
            memcpy(&previous[0, 0], &centers[0, 0], size * sizeof(floating))
            memcpy(&centers[0, 0], swap, size * sizeof(floating))
    lvm_free(center_sq); lvm_free(labels); lvm_free(dist); lvm_free(order); lvm_free(offsets); lvm_free(wsum)
    lvm_free(center_shift); lvm_free(swap); lvm_free(acc); lvm_free(batch_buf)
    raise_if_failed(failed, name)
    return n_done, status
