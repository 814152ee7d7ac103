"""k-means on CSR sparse input: the Python side of lvmfast._kernels._sparse.

Python decides, Cython computes: this module plans the blocks and drives
k-means++ seeding over the CSR kernels. X must already be validated and
canonical CSR (float32 or float64 data; int32 or int64 indices and indptr of
the same type).
"""
import numpy as np
from sklearn.utils import check_random_state

from lvmfast._kernels import _sparse
from lvmfast._parallel import effective_n_threads, plan_blocks
from lvmfast.cluster._kmeans import _LocalRows

__all__ = ["CSRRows", "plan_csr_blocks", "csr_kmeans_plusplus_indices"]


def plan_csr_blocks(X, n_columns):
    """The block plan for a CSR kernel pass over X's rows that keeps
    `n_columns` scores per row (K for Lloyd, the trials for k-means++)."""
    n_samples = X.shape[0]
    mean_nnz = X.nnz / max(n_samples, 1)
    row_bytes = mean_nnz * (X.data.itemsize + X.indices.itemsize) + n_columns * X.data.itemsize
    return plan_blocks(n_samples, max(1, int(np.ceil(row_bytes))))


class CSRRows(_LocalRows):
    """A CSR X as the Lloyd kernels see it: the sparse twin of
    lvmfast.cluster._kmeans._DenseRows, with the same methods. Rows are not
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


def csr_kmeans_plusplus_indices(X, sample_weight, n_clusters, random_state, n_local_trials=None,
                                n_threads=None):
    """Greedy k-means++ seeding on a CSR matrix; returns the chosen rows.

    Draws its random numbers exactly as scikit-learn's ``_kmeans_plusplus``:
    the first center with probability proportional to the weights, then per
    further center ``n_local_trials`` candidates with probability proportional
    to ``sample_weight * closest`` (``closest`` being the squared distance to
    the nearest chosen center), keeping the candidate that leaves the least
    potential. On float64 data it picks the rows scikit-learn's
    ``kmeans_plusplus`` picks for the same ``random_state``, up to rounding
    ties. No N x n_local_trials array is stored.

    Parameters
    ----------
    X : scipy.sparse CSR matrix of shape (n_samples, n_features)
        Canonical CSR, float32 or float64.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights, not all zero; cast to X's dtype as scikit-learn
        does.
    n_clusters : int
        Number of centers to pick, at most n_samples.
    random_state : int, RandomState instance or None
        As in scikit-learn.
    n_local_trials : int, default=None
        Candidates per center after the first; None means
        ``2 + int(np.log(n_clusters))``.
    n_threads : int, default=None
        OpenMP threads; None means ``effective_n_threads()``.

    Returns
    -------
    indices : ndarray of shape (n_clusters,), dtype intp
        The rows of X chosen as centers, in order.
    """
    n_samples, n_features = X.shape
    if not 1 <= n_clusters <= n_samples:
        raise ValueError(f"n_clusters must lie in [1, n_samples={n_samples}], got {n_clusters}")
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    if n_local_trials < 1:
        raise ValueError(f"n_local_trials must be >= 1, got {n_local_trials}")
    if n_threads is None:
        n_threads = effective_n_threads()
    random_state = check_random_state(random_state)
    dtype = X.data.dtype
    data, indices, indptr = X.data, X.indices, X.indptr
    sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
    if sample_weight.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {sample_weight.shape}")

    row_sq_norms = np.empty(n_samples, dtype=np.float64)
    _sparse.csr_row_sq_norms(data, indptr, row_sq_norms, n_threads)
    plan = plan_csr_blocks(X, n_local_trials)
    pots = np.empty((plan.n_blocks, n_local_trials), dtype=np.float64)

    def dense_rows(rows):
        return np.ascontiguousarray(X[rows].toarray(), dtype=dtype)

    chosen = np.full(n_clusters, -1, dtype=np.intp)
    # The first center, drawn as scikit-learn draws it.
    center_id = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    chosen[0] = center_id
    closest = np.full(n_samples, np.inf, dtype=np.float64)
    _sparse.csr_pp_fold_center(data, indices, indptr, n_features, row_sq_norms,
                               dense_rows([center_id])[0], float(row_sq_norms[center_id]),
                               closest, n_threads)
    current_pot = closest @ sample_weight

    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidate_ids = np.searchsorted(
            np.cumsum(sample_weight * closest, dtype=np.float64), rand_vals
        )
        np.clip(candidate_ids, None, n_samples - 1, out=candidate_ids)
        candidates = dense_rows(candidate_ids)
        _sparse.csr_pp_potentials(data, indices, indptr, n_features, row_sq_norms, sample_weight,
                                  closest, candidates, row_sq_norms[candidate_ids], pots,
                                  plan.chunk_rows, plan.block_rows, n_threads)
        # Sum the block potentials in block order (deterministic).
        candidates_pot = np.zeros(n_local_trials)
        for block_pots in pots:
            candidates_pot += block_pots
        best = int(np.argmin(candidates_pot))
        current_pot = candidates_pot[best]
        chosen[c] = candidate_ids[best]
        _sparse.csr_pp_fold_center(data, indices, indptr, n_features, row_sq_norms,
                                   candidates[best], float(row_sq_norms[candidate_ids[best]]),
                                   closest, n_threads)
    return chosen
