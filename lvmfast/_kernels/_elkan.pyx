"""Lloyd with distance bounds ('elkan'): the rows whose bounds prove their
label are not measured; the labels, centers and inertia are lloyd_step's."""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.float cimport FLT_MAX, FLT_MIN
from libc.math cimport INFINITY, sqrt
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from libc.string cimport memset
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport (
    check_labels, check_length, check_plan, check_positive, check_shape, check_shape3, expected_blocks,
)
from lvmfast._kernels._rows cimport copy_centered
from lvmfast._kernels._assign cimport (
    SingleScratch, assign_chunk, assign_double, assign_single, block_end, free_single_scratch,
    lloyd_rows, lvm_drop_bounds, lvm_group_min2_d, lvm_group_min2_s, settle_labels,
    single_scratch, single_scratch_ok,
)


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
