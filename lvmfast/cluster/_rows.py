"""The rows backends of k-means: X as the Lloyd kernels see it.

_DenseRows (a dense X, centered chunk by chunk) and CSRRows (a CSR X) are
the in-memory implementations of lvmfast.cluster._protocols.InMemoryRows;
the Lloyd loop, the seedings and the estimators take them. Python plans the
blocks; the compiled kernels (lvmfast._kernels._lloyd, ._distances, ._sparse) make the
passes. X is never copied whole: dense kernels subtract the data mean chunk
by chunk, which keeps the distance expansion accurate (scikit-learn centers a
copy of X instead).
"""
import numpy as np
import scipy.sparse as sp

from lvmfast._kernels import _distances, _lloyd
from lvmfast._kernels import _sparse
from lvmfast._parallel import blas_single_thread, plan_blocks, threads_for_work
from lvmfast.cluster._centering import dense_centering_shift

__all__ = ["CSRRows", "plan_csr_blocks"]


def _lloyd_plan(n_samples, n_features, n_clusters, itemsize):
    # Per chunk row: the centered row, its K scores, its running min and label.
    return plan_blocks(
        n_samples,
        row_bytes=(n_features + n_clusters + 2) * itemsize,
        stat_bytes=n_clusters * (n_features + 1) * 8,
    )


def _sq_norms(centers):
    # summed in float64 and rounded once: the label proofs of the float32
    # scores count on ||c||^2 being within half an ulp
    return np.einsum("ij,ij->i", centers, centers, dtype=np.float64).astype(centers.dtype, copy=False)


def _single_precision_rows(X, shift, n_clusters, n_threads):
    """Squared norms of the centered rows when the float64 Lloyd step may run
    its distance gemm in float32 (see lloyd_step), else None: only for float64
    data whose magnitudes float32 holds without overflow or subnormals."""
    if X.dtype != np.float64 or n_clusters < 2:
        return None
    row_sq = np.empty(X.shape[0])
    plan = plan_blocks(X.shape[0], row_bytes=X.shape[1] * X.itemsize)
    _lloyd.row_sq_norms(X, shift, row_sq, plan.chunk_rows, n_threads)
    if not (1e-20 < row_sq.mean() and row_sq.max() < 1e30):
        return None
    return row_sq


def _single_precision_args(centers, center_sq, row_sq):
    """lloyd_step's float32 gemm inputs; the bound is 2 u (D + 6) per unit of
    squared norm (u = 2^-24), with 1% to spare."""
    if row_sq is None or center_sq.max() >= 1e30:
        return {}
    return {
        "centers_single": centers.astype(np.float32),
        "center_sq_single": center_sq.astype(np.float32),
        "row_sq_norms": row_sq,
        "bound_scale": 1.01 * 2.0 * 2.0**-24 * (centers.shape[1] + 6),
    }


# Distances this close, relative to the largest, are one tie when choosing
# the rows farthest from their centers: about what separates the dense and
# the CSR distances of one row (the centered frame's rounding of the
# centers, the norm expansion's cancellation).
FARTHEST_TIE = {np.dtype(np.float64): 2.0**-36, np.dtype(np.float32): 2.0**-16}


def _farthest(distances, n_rows, dtype):
    """Indices of the n_rows rows farthest from their centers, farthest
    first, distances within FARTHEST_TIE of each other (exact ties in exact
    arithmetic: copies of a row, two rows on either side of their mean) by
    row index, so that dense and CSR rows take the same rows."""
    tolerance = FARTHEST_TIE[np.dtype(dtype)] * float(distances.max())
    threshold = np.partition(distances, -n_rows)[-n_rows] - tolerance
    candidates = np.flatnonzero(distances >= threshold)
    candidates = candidates[np.argsort(-distances[candidates], kind="stable")]
    near = distances[candidates]
    tie_group = np.cumsum(np.concatenate([[0], (near[:-1] - near[1:]) > tolerance]))
    return candidates[np.lexsort((candidates, tie_group))][:n_rows]


def _repeated_centers(centers):
    """Mask of the centers equal to a center of lower index."""
    # each center as one opaque value of its bytes (+ 0.0 makes -0.0 +0.0):
    # np.unique(axis=0) would build a dtype with a field per feature
    values = np.ascontiguousarray(centers + 0.0)
    as_bytes = values.view(np.dtype((np.void, values.dtype.itemsize * values.shape[1]))).ravel()
    repeated = np.ones(centers.shape[0], dtype=bool)
    repeated[np.unique(as_bytes, return_index=True)[1]] = False
    return repeated


def _is_same_clustering(labels1, labels2, n_clusters):
    """True when each cluster of labels1 is a single cluster of labels2 (as
    scikit-learn checks before preferring a run for a lower inertia)."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[labels1] = labels2
    return bool(np.array_equal(mapping[labels1], labels2))


class _LocalRows:
    """What the in-memory rows (dense and CSR, below) share: the parts of a
    Lloyd pass that the Dask rows (lvmfast.dask) do their own way."""

    def new_labels(self):
        return np.full(self.X.shape[0], -1, dtype=np.int32)

    def farthest_rows(self, sample_weight, centers, labels, n_rows):
        """The n_rows rows farthest from their center, farthest first, as
        (row in the frame, its weight, its label); none when every row sits
        on its center."""
        distances = self.assigned_sq_distances(centers, labels)
        if distances.max() == 0:
            return []
        farthest = _farthest(distances, n_rows, self.X.dtype)
        return [(self.row(row), float(sample_weight[row]), labels[row]) for row in farthest]

    def n_distinct(self, labels):
        return len(np.unique(labels))

    def same_clustering(self, labels1, labels2, n_clusters):
        return _is_same_clustering(labels1, labels2, n_clusters)


class _DenseRows(_LocalRows):
    """A dense X as the Lloyd kernels see it: rows centered by `shift` (the
    training mean) chunk by chunk, so centers live in the frame of X - shift.
    The sparse twin (CSRRows below) has the same methods, with no
    centering.

    gemm_row_sq_norms: the squared norms of the centered rows that let a
    float64 fit run its distance gemm in float32 (see lloyd_step), or None
    (the gemm runs in X's dtype). Fits (single_precision) compute them unless
    they are given (the Dask blocks keep them between passes)."""

    def __init__(self, X, shift, n_clusters, n_threads, single_precision=False, gemm_row_sq_norms=None):
        self.X, self.shift, self.n_threads = X, shift, n_threads
        self.plan = _lloyd_plan(X.shape[0], X.shape[1], n_clusters, X.itemsize)
        if gemm_row_sq_norms is None and single_precision:
            gemm_row_sq_norms = _single_precision_rows(X, shift, n_clusters, n_threads)
        self.gemm_row_sq_norms = gemm_row_sq_norms
        self._stat_buffers = {}

    def to_frame(self, centers):
        return np.ascontiguousarray(centers - self.shift, dtype=self.X.dtype)

    def from_frame(self, centers):
        return centers + self.shift

    def lloyd_step(self, sample_weight, centers, labels, update_centers, with_inertia):
        """Assign rows to `centers` (labels in place); returns the number of
        changed labels, the per-cluster sums of w x and of w (None unless
        update_centers) and the inertia (nan unless with_inertia)."""
        plan = self.plan
        block_sums, block_weights, block_inertia = self.stat_buffers(centers.shape, update_centers)
        center_sq = _sq_norms(centers)
        extra = self.single_precision_args(centers, center_sq) if update_centers else {}
        with blas_single_thread():
            n_changed = _lloyd.lloyd_step(
                self.X, self.shift, sample_weight, centers, center_sq, labels,
                block_sums, block_weights, block_inertia, plan.chunk_rows, plan.block_rows,
                self.n_threads, update_centers, with_inertia, **extra,
            )
        inertia = float(block_inertia.sum()) if with_inertia else float("nan")
        if not update_centers:
            return n_changed, None, None, inertia
        return n_changed, block_sums.sum(axis=0), block_weights.sum(axis=0), inertia

    def single_precision_args(self, centers, center_sq):
        """The float32 gemm's arguments of a step to `centers` ({}: none)."""
        return _single_precision_args(centers, center_sq, self.gemm_row_sq_norms)

    def stat_buffers(self, centers_shape, update_centers):
        """The per-block statistics buffers of lloyd_step, allocated once per
        shape and reused by every iteration of a fit."""
        n_clusters, n_features = centers_shape if update_centers else (0, 0)
        key = (n_clusters, n_features)
        if key not in self._stat_buffers:
            n_blocks = self.plan.n_blocks
            self._stat_buffers[key] = (
                np.empty((n_blocks, n_clusters, n_features)), np.empty((n_blocks, n_clusters)), np.empty(n_blocks)
            )
        return self._stat_buffers[key]

    def assigned_sq_distances(self, centers, labels):
        distances = np.empty(self.X.shape[0])
        _distances.assigned_sq_distances(self.X, self.shift, centers, labels, distances, self.n_threads)
        return distances

    def row(self, index):
        """One row in the frame, in float64."""
        return self.X[index].astype(np.float64) - self.shift

    def sq_distances(self, centers, cluster_centers):
        """n_samples x n_clusters squared distances, in X's dtype."""
        X = self.X
        out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
        if X.dtype == np.float32:
            # The float32 expansion loses digits near zero distance (the
            # distance of a center to itself); direct differences do not.
            plan = plan_blocks(X.shape[0], row_bytes=centers.shape[0] * 8)
            _distances.direct_pairwise_sq_distances(
                X, np.ascontiguousarray(cluster_centers, dtype=X.dtype), out, plan.chunk_rows, self.n_threads
            )
        else:
            plan = plan_blocks(X.shape[0], row_bytes=(X.shape[1] + centers.shape[0]) * X.itemsize)
            with blas_single_thread():
                _distances.pairwise_sq_distances(X, self.shift, centers, out, plan.chunk_rows, self.n_threads)
        return out


def plan_csr_blocks(X, n_columns):
    """The block plan for a CSR kernel pass over X's rows that keeps
    `n_columns` scores per row (K for Lloyd, the trials for k-means++)."""
    n_samples = X.shape[0]
    mean_nnz = X.nnz / max(n_samples, 1)
    row_bytes = mean_nnz * (X.data.itemsize + X.indices.itemsize) + n_columns * X.data.itemsize
    return plan_blocks(n_samples, max(1, int(np.ceil(row_bytes))))


class CSRRows(_LocalRows):
    """A CSR X as the Lloyd kernels see it: the sparse twin of _DenseRows,
    with the same methods. Rows are not
    centered (that would densify them), so centers live in X's frame and
    distances come from the norm expansion, as in scikit-learn."""

    def __init__(self, X, n_clusters, n_threads):
        self.X, self.n_threads = X, n_threads
        self.shift = np.zeros(X.shape[1], dtype=X.dtype)
        self.plan = plan_csr_blocks(X, n_clusters)
        self._csr = (X.data, X.indices, X.indptr, X.shape[1])
        self.row_sq_norms = np.empty(X.shape[0])
        _sparse.csr_row_sq_norms(X.data, X.indptr, self.row_sq_norms, n_threads)

    def to_frame(self, centers):
        return np.ascontiguousarray(centers, dtype=self.X.dtype)

    def from_frame(self, centers):
        return centers

    def lloyd_step(self, sample_weight, centers, labels, update_centers, with_inertia):
        """As _DenseRows.lloyd_step: n_changed, sums, weights, inertia."""
        n_clusters, n_features = centers.shape
        sums = np.empty((n_clusters, n_features)) if update_centers else None
        weights = np.empty(n_clusters) if update_centers else None
        block_inertia = np.empty(max(self.plan.n_blocks, 1)) if with_inertia else None
        center_sq = np.einsum("ij,ij->i", centers, centers)
        # A center equal to a lower-index one never wins, so an exact tie
        # goes to the lowest index as on dense rows: the kernel's x . c is
        # rounded differently in different lanes of its center tiles.
        center_sq[_repeated_centers(centers)] = np.inf
        n_changed = _sparse.csr_lloyd_step(
            *self._csr, sample_weight, centers, center_sq, labels, self.row_sq_norms,
            sums, weights, block_inertia, self.plan.chunk_rows, self.plan.block_rows,
            self.n_threads, update_centers, with_inertia,
        )
        inertia = float(block_inertia.sum()) if with_inertia else float("nan")
        return n_changed, sums, weights, inertia

    def assigned_sq_distances(self, centers, labels):
        distances = np.empty(self.X.shape[0])
        _sparse.csr_assigned_sq_distances(*self._csr, centers, labels, distances, self.n_threads)
        return distances

    def row(self, index):
        """One row, dense, in float64."""
        return self.X[index].toarray().ravel().astype(np.float64)

    def sq_distances(self, centers, cluster_centers):
        """n_samples x n_clusters squared distances, in X's dtype."""
        out = np.empty((self.X.shape[0], centers.shape[0]), dtype=self.X.dtype)
        center_sq = np.einsum("ij,ij->i", centers, centers, dtype=np.float64)
        _sparse.csr_pairwise_sq_distances(
            *self._csr, self.row_sq_norms, centers, center_sq, out, self.plan.chunk_rows, self.n_threads
        )
        return out


def _rows(X, n_clusters, n_threads, fitting=False, shift=None):
    """The Lloyd kernels' view of X: dense rows centered by the training mean
    (computed when fitting), or CSR rows. Their passes (rows x centers
    distances) get the threads that work pays for."""
    n_threads = threads_for_work((X.nnz if sp.issparse(X) else X.size) * max(n_clusters, 1), n_threads)
    if sp.issparse(X):
        return CSRRows(X, n_clusters, n_threads)
    if shift is None:
        shift = dense_centering_shift(X)
    return _DenseRows(X, shift.astype(X.dtype), n_clusters, n_threads, single_precision=fitting)
