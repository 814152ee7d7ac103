"""k-means|| (scalable k-means++) kernels: the per-block parts of the
oversampling rounds, each a function of a block of rows so that the Dask pass
can map it over a dask array's blocks as the local driver runs it over X.

- nearest_update: one pass over the rows folding a batch of new candidates
  into each row's closest squared distance and nearest-candidate label, and
  the weighted potential per block.
- oversample: the rows a round draws, each independently with probability
  min(1, factor * w * closest), from a counter-based generator keyed by
  (round key, global row index), so that the draws do not depend on how rows
  are split into blocks, threads or dask chunks.
- candidate_weights: the weighted count of rows nearest each candidate, per
  block.

Blocks depend on the data size only, threads take whole blocks and Python
reduces the per-block results in block order: results are bit-identical
whatever the thread count.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport uint8_t, uint64_t
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from libc.string cimport memset

from lvmfast._kernels._checks cimport (
    check_labels, check_length, check_plan, check_positive, check_shape, expected_blocks,
)
from lvmfast._kernels._rows cimport lvm_sq_distances_d, lvm_sq_distances_s


cdef inline Py_ssize_t block_end(Py_ssize_t block, Py_ssize_t block_rows, Py_ssize_t n_samples) noexcept nogil:
    return min((block + 1) * block_rows, n_samples)


# ---------------------------------------------------------------------------
# Counter-based uniforms
#
# u(key, row) = top 53 bits of mix64(key + (row + 1) * GOLDEN) / 2^53, with
# mix64 SplitMix64's output function: a SplitMix64 stream started at `key`,
# read at position `row`. Any row's draw is computed alone, in any order.

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline double counter_uniform(uint64_t key, uint64_t row) noexcept nogil:
    return <double> (mix64(key + (row + 1) * GOLDEN) >> 11) * (1.0 / 9007199254740992.0)


def round_key(uint64_t seed, uint64_t round_index):
    """The key of round `round_index`'s draws: mix64(seed + (round + 1) * GOLDEN)."""
    return mix64(seed + (round_index + 1) * GOLDEN)


# ---------------------------------------------------------------------------
# Sampling

# selected[i] = 1 where u(key, row_offset + i) < factor * w[i] * closest[i]
# (products in double, in that order), else 0; returns how many. Reads
# closest and sample_weight (n rows of the block); writes selected. A row of
# zero weight or zero distance is never drawn.
def oversample(const double[::1] closest not None, const floating[::1] sample_weight not None,
               double factor, uint64_t key, Py_ssize_t row_offset, uint8_t[::1] selected not None,
               int n_threads):
    """Draw the rows of one oversampling round: row i independently with
    probability min(1, factor * w_i * closest_i). Returns the number drawn."""
    name = "oversample"
    cdef Py_ssize_t n_samples = closest.shape[0]
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "selected", selected.shape[0], n_samples)
    check_positive(name, "n_threads", n_threads)
    if row_offset < 0:
        raise ValueError(f"{name}: row_offset must be >= 0, got {row_offset}")
    if not factor >= 0.0:
        raise ValueError(f"{name}: factor must be >= 0, got {factor}")
    cdef Py_ssize_t i, count = 0
    cdef uint8_t hit
    with nogil:
        for i in prange(n_samples, num_threads=n_threads, schedule="static"):
            hit = counter_uniform(key, <uint64_t> (row_offset + i)) < factor * <double> sample_weight[i] * closest[i]
            selected[i] = hit
            count += hit
    return count


# ---------------------------------------------------------------------------
# Distances to the new candidates

cdef extern from "_nearest.h" nogil:
    Py_ssize_t LVM_NEAREST_ROWS
    void lvm_nearest_d(const double *xt, Py_ssize_t ld, Py_ssize_t n_features, const double *groups,
                       const double *offset, Py_ssize_t n_groups, double *best, double *lab)
    void lvm_nearest_s(const float *xt, Py_ssize_t ld, Py_ssize_t n_features, const float *groups,
                       const float *offset, Py_ssize_t n_groups, float *best, float *lab)

ctypedef fused scoring:
    float
    double


cdef void pack_groups(const floating[:, ::1] candidates, const floating[::1] shift, scoring *groups,
                      scoring *offset) noexcept nogil:
    """The candidates centered by shift (in X's dtype, as the rows are) and
    converted to the scoring type, times -2, in groups of 4, feature-major
    within a group (see _nearest.h), a short last group repeating its last
    candidate; and their squared norms (of those values, summed in double)."""
    cdef Py_ssize_t n_new = candidates.shape[0], n_features = candidates.shape[1]
    cdef Py_ssize_t n_groups = (n_new + 3) // 4
    cdef Py_ssize_t g, u, j, t
    cdef scoring c
    cdef double s
    for g in range(n_groups):
        for u in range(4):
            t = min(g * 4 + u, n_new - 1)
            s = 0.0
            for j in range(n_features):
                c = <scoring> (candidates[t, j] - shift[j])
                groups[(g * n_features + j) * 4 + u] = -2 * c
                s = s + <double> c * <double> c
            offset[g * 4 + u] = <scoring> s


cdef void nearest_in_chunk(const floating[:, ::1] X, const floating[::1] shift, Py_ssize_t start,
                           Py_ssize_t n, Py_ssize_t ld, const scoring *groups, const scoring *offset,
                           Py_ssize_t n_groups, Py_ssize_t tile_groups, scoring *xt, scoring *best,
                           scoring *lab, scoring *run_best, Py_ssize_t *run_col) noexcept nogil:
    """run_col[i] = the candidate with the least offset - 2 x.c for the n rows
    from `start` (centered by shift, then in the scoring type), tile by tile
    of tile_groups groups; ties keep the earlier candidate."""
    cdef Py_ssize_t n_features = X.shape[1]
    cdef Py_ssize_t i, j, g0, ng
    cdef const floating *row
    for i in range(n):
        row = &X[start + i, 0]
        for j in range(n_features):
            xt[j * ld + i] = <scoring> (row[j] - shift[j])
    g0 = 0
    while g0 < n_groups:
        ng = min(tile_groups, n_groups - g0)
        if scoring is double:
            lvm_nearest_d(xt, ld, n_features, &groups[g0 * n_features * 4], &offset[g0 * 4], ng, best, lab)
        else:
            lvm_nearest_s(xt, ld, n_features, &groups[g0 * n_features * 4], &offset[g0 * 4], ng, best, lab)
        for i in range(n):
            if g0 == 0 or best[i] < run_best[i]:
                run_best[i] = best[i]
                run_col[i] = g0 * 4 + <Py_ssize_t> lab[i]
        g0 = g0 + ng


cdef int update_pass(const floating[:, ::1] X, const floating[::1] shift,
                      const floating[:, ::1] candidates, const floating[::1] sample_weight,
                      double[::1] closest, int[::1] labels, int label_offset,
                      double[::1] block_potential, const scoring *groups, const scoring *offset,
                      Py_ssize_t chunk_rows, Py_ssize_t block_rows, int n_threads) noexcept nogil:
    """nearest_update's pass, scoring in `scoring`; 0, or -1 when out of
    memory (outputs then undefined)."""
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_new = candidates.shape[0]
    cdef Py_ssize_t n_groups = (n_new + 3) // 4
    # A tile of candidates (about 128 KiB) stays in cache while a chunk's
    # rows stream past it.
    cdef Py_ssize_t tile_groups = max(1, (128 * 1024) // (4 * max(n_features, 1) * <Py_ssize_t> sizeof(scoring)))
    cdef Py_ssize_t ld = (chunk_rows + LVM_NEAREST_ROWS - 1) // LVM_NEAREST_ROWS * LVM_NEAREST_ROWS
    cdef Py_ssize_t n_blocks = block_potential.shape[0]
    cdef Py_ssize_t b, start, stop, n, i, col
    cdef scoring *xt
    cdef scoring *best
    cdef scoring *lab
    cdef scoring *run_best
    cdef Py_ssize_t *run_col
    cdef double s, potential
    cdef int failed = 0
    with parallel(num_threads=n_threads):
        xt = <scoring *> lvm_alloc(ld * max(n_features, 1) * sizeof(scoring))
        best = <scoring *> lvm_alloc(ld * sizeof(scoring))
        lab = <scoring *> lvm_alloc(ld * sizeof(scoring))
        run_best = <scoring *> lvm_alloc(ld * sizeof(scoring))
        run_col = <Py_ssize_t *> lvm_alloc(ld * sizeof(Py_ssize_t))
        # Padding rows are scored and ignored; zeros keep them finite.
        if xt != NULL:
            memset(xt, 0, ld * max(n_features, 1) * sizeof(scoring))
        if xt == NULL or best == NULL or lab == NULL or run_best == NULL or run_col == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            potential = 0.0
            start = b * block_rows
            stop = block_end(b, block_rows, n_samples)
            while start < stop:
                n = min(chunk_rows, stop - start)
                if n_new > 0:
                    nearest_in_chunk(X, shift, start, n, ld, groups, offset, n_groups, tile_groups,
                                     xt, best, lab, run_best, run_col)
                    # The winner's squared distance by direct differences of
                    # the rows of X (0 for a row and itself).
                    for i in range(n):
                        col = run_col[i]
                        s = 0.0  # assigned here, so private to the thread (written through &s)
                        if floating is double:
                            lvm_sq_distances_d(&X[start + i, 0], NULL, 1, n_features,
                                               &candidates[col, 0], 1, &s, 0)
                        else:
                            lvm_sq_distances_s(&X[start + i, 0], NULL, 1, n_features,
                                               &candidates[col, 0], 1, &s, 0)
                        if s < closest[start + i]:
                            closest[start + i] = s
                            labels[start + i] = label_offset + <int> col
                for i in range(n):
                    potential = potential + <double> sample_weight[start + i] * closest[start + i]
                start = start + n
            block_potential[b] = potential
        lvm_free(xt)
        lvm_free(best)
        lvm_free(lab)
        lvm_free(run_best)
        lvm_free(run_col)
    return -1 if failed else 0


# For each row x, the nearest of the new candidates (rows of X) by the fused
# product and argmin of _nearest.h on rows and candidates centered by shift,
# scoring ||c||^2 - 2 x.c in X's dtype, or in float32 when `single` (float64
# data whose scale float32 holds: the scores only pick the candidate); then
# that candidate's squared distance by direct differences (_rows.h: X's
# dtype's lanes, summed to double). Where it is below closest[i], closest[i]
# takes it and labels[i] = label_offset + the candidate's index (ties keep
# the earlier candidate). block_potential[b] = sum over block b of w * closest
# after the update. Reads X, shift, candidates, sample_weight; updates
# closest and labels (n rows); writes block_potential.
def nearest_update(const floating[:, ::1] X not None, const floating[::1] shift not None,
                   const floating[:, ::1] candidates not None,
                   const floating[::1] sample_weight not None, double[::1] closest not None,
                   int[::1] labels not None, int label_offset, double[::1] block_potential not None,
                   Py_ssize_t chunk_rows, Py_ssize_t block_rows, int n_threads, bint single=False):
    """Fold a batch of candidates into each row's closest squared distance
    and nearest-candidate label; the weighted potential per block."""
    name = "nearest_update"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_new = candidates.shape[0]
    check_shape(name, "candidates", candidates.shape[0], candidates.shape[1], n_new, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_length(name, "closest", closest.shape[0], n_samples)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    if label_offset < 0 or label_offset + n_new > 2147483647:
        raise ValueError(f"{name}: label_offset + the number of candidates must lie in "
                         f"[0, 2^31), got {label_offset} + {n_new}")
    if n_new >= 16777216:
        raise ValueError(f"{name}: at most 2^24 candidates per call, got {n_new}")
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    check_length(name, "block_potential (one slot per block of the plan)", block_potential.shape[0],
                 n_blocks)
    cdef Py_ssize_t n_groups = (n_new + 3) // 4
    cdef Py_ssize_t group_size = max(n_groups * 4 * n_features, 1)
    cdef bint narrow = single or floating is float
    cdef float *groups_s = NULL
    cdef float *offset_s = NULL
    cdef double *groups_d = NULL
    cdef double *offset_d = NULL
    if narrow:
        groups_s = <float *> lvm_alloc(group_size * sizeof(float))
        offset_s = <float *> lvm_alloc(max(n_groups * 4, 1) * sizeof(float))
        if groups_s == NULL or offset_s == NULL:
            lvm_free(groups_s)
            lvm_free(offset_s)
            raise MemoryError(f"{name}: could not allocate the candidates' groups")
    else:
        groups_d = <double *> lvm_alloc(group_size * sizeof(double))
        offset_d = <double *> lvm_alloc(max(n_groups * 4, 1) * sizeof(double))
        if groups_d == NULL or offset_d == NULL:
            lvm_free(groups_d)
            lvm_free(offset_d)
            raise MemoryError(f"{name}: could not allocate the candidates' groups")
    cdef int failed = 0
    with nogil:
        if narrow:
            if n_new > 0:
                pack_groups(candidates, shift, groups_s, offset_s)
            failed = update_pass(X, shift, candidates, sample_weight, closest, labels, label_offset,
                        block_potential, groups_s, offset_s, chunk_rows, block_rows, n_threads)
        else:
            if n_new > 0:
                pack_groups(candidates, shift, groups_d, offset_d)
            failed = update_pass(X, shift, candidates, sample_weight, closest, labels, label_offset,
                        block_potential, groups_d, offset_d, chunk_rows, block_rows, n_threads)
    lvm_free(groups_s)
    lvm_free(offset_s)
    lvm_free(groups_d)
    lvm_free(offset_d)
    raise_if_failed(failed, name)


# ---------------------------------------------------------------------------
# Candidate weights

# block_weights[b, k] = sum of w over block b's rows with labels == k. Reads
# labels and sample_weight; writes block_weights (n_blocks x n_candidates),
# which Python sums in block order.
def candidate_weights(const int[::1] labels not None, const floating[::1] sample_weight not None,
                      double[:, ::1] block_weights not None, Py_ssize_t block_rows, int n_threads):
    """The weighted count of rows nearest each candidate, per block of rows."""
    name = "candidate_weights"
    cdef Py_ssize_t n_samples = labels.shape[0]
    cdef Py_ssize_t n_candidates = block_weights.shape[1]
    check_length(name, "sample_weight", sample_weight.shape[0], n_samples)
    check_plan(name, 1, block_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    check_shape(name, "block_weights (one row per block of the plan)", block_weights.shape[0],
                n_candidates, n_blocks, n_candidates)
    check_labels(name, "labels", labels, n_candidates)
    cdef Py_ssize_t b, i, stop
    cdef double *weights
    with nogil:
        for b in prange(n_blocks, num_threads=n_threads, schedule="static"):
            weights = &block_weights[b, 0]
            memset(weights, 0, n_candidates * sizeof(double))
            stop = block_end(b, block_rows, n_samples)
            for i in range(b * block_rows, stop):
                weights[labels[i]] += <double> sample_weight[i]
