"""Greedy k-means++ seeding by direct differences, one pass over X per
chosen center, block potentials summed in block order."""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport (
    check_labels, check_length, check_plan, check_positive, check_shape, expected_blocks,
)
from lvmfast._kernels._assign cimport (
    block_end, lvm_pp_absorb, lvm_pp_potentials_d, lvm_pp_potentials_s, lvm_pp_search_d,
    lvm_pp_search_s, lvm_pp_select, sq_distances,
)


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
