"""Lloyd's algorithm: the iteration loop of KMeans, on any rows backend.

lloyd() runs one fit from given centers on a LloydRows object (in-memory
dense or CSR rows, lvmfast.cluster._rows, or the Dask blocks,
lvmfast.dask._kmeans): each iteration asks the rows for the per-cluster
sums of the current centers and moves the centers (the M-step, tiny, in
NumPy). KMeans and the k-means|| seeding (which polishes its candidates'
centers with a few weighted iterations) both call it. algorithm='elkan' is
the same loop with _BoundedSteps in place of the rows' lloyd_step.
"""
import time

import numpy as np

from lvmfast._kernels import _elkan as kernels
from lvmfast._parallel import blas_single_thread
from lvmfast._validation import feature_mean_variance
from lvmfast.cluster._protocols import LloydRows
from lvmfast.cluster._rows import _DenseRows, _sq_norms

__all__ = ["lloyd"]


def lloyd(rows: LloydRows, sample_weight, centers, *, max_iter, tol, bounded=False, verbose=0, weight_scale=1.0,
          verbose_seconds=False):
    """One run of Lloyd's algorithm from `centers` (in the rows' frame).

    Parameters
    ----------
    rows : LloydRows
        The data's backend (for bounded=True: _DenseRows).
    sample_weight : ndarray or the backend's weights
        Weights of mean about 1 (see lvmfast._validation.unit_mean_weights).
    centers : ndarray of shape (n_clusters, n_features)
        The initial centers, in the rows' frame and X's dtype.
    max_iter : int
        Maximum iterations.
    tol : float
        Stop when the squared shift of the centers is at most tol (absolute).
    bounded : bool, default=False
        Run the bounded steps of algorithm='elkan' (same results).
    verbose : int, default=0
        Print scikit-learn's line per iteration (inertia times weight_scale).
    weight_scale : float, default=1.0
        What the inertia on sample_weight is multiplied by to be in the
        caller's units (verbose lines only).
    verbose_seconds : bool, default=False
        Add each iteration's time to the verbose line.

    Returns
    -------
    labels : the rows' labels (lloyd_step's), inertia (in sample_weight's
    units), the cluster centers (in X's frame) and the number of iterations.
    """
    labels = rows.new_labels()
    steps = _BoundedSteps(rows, centers) if bounded else None
    # The M-step between passes is tiny; a threaded BLAS there would wake
    # worker threads that then spin against the kernels' OpenMP threads.
    with blas_single_thread():
        for iteration in range(max_iter):
            started = time.perf_counter()
            if steps is None:
                n_changed, sums, weights, inertia = rows.lloyd_step(sample_weight, centers, labels, True, bool(verbose))
            else:
                n_changed, sums, weights, inertia = steps.step(sample_weight, centers, labels, bool(verbose))
            if not weights.all():
                _relocate_empty_clusters(rows, sample_weight, centers, labels, sums, weights)
            new_centers = np.empty_like(centers)
            filled = weights > 0
            new_centers[filled] = sums[filled] / weights[filled, None]
            _empty_clusters_to_largest(new_centers, weights)
            center_shift = float(np.sum((new_centers.astype(np.float64) - centers) ** 2))
            centers = new_centers
            if verbose:
                # scikit-learn's line; the Dask estimators add the iteration's time
                seconds = f" ({time.perf_counter() - started:.3f} s)" if verbose_seconds else ""
                print(f"Iteration {iteration}, inertia {inertia * weight_scale}.{seconds}")
            if n_changed == 0:
                if verbose:
                    print(f"Converged at iteration {iteration}: strict convergence.")
                break
            if center_shift <= tol:
                if verbose:
                    print(f"Converged at iteration {iteration}: center shift {center_shift} within tolerance {tol}.")
                break
        # The reported labels and inertia come from the final centers, by
        # the same arithmetic as predict() and score().
        cluster_centers = rows.from_frame(centers)
        _, _, _, inertia = rows.lloyd_step(sample_weight, rows.to_frame(cluster_centers), labels, False, True)
    return labels, inertia, cluster_centers, iteration + 1


def _relocate_empty_clusters(rows: LloydRows, sample_weight, centers, labels, sums, weights):
    """Re-seed each empty cluster with one of the rows farthest from their
    center (the farthest first), moving that row's weight with it. When
    every row sits on its center (more clusters than distinct rows) there
    is nothing to gain, and scikit-learn leaves the clusters empty."""
    empty = np.flatnonzero(weights == 0)
    before = weights.copy()
    for cluster, (point, w, old) in zip(empty, rows.farthest_rows(sample_weight, centers, labels, empty.shape[0])):
        sums[old] -= point * w
        weights[old] -= w
        if weights[old] <= before[old] * 2.0**-40:
            # it gave away all its weight: what is left is rounding, and
            # sums / weights would be a point far from every row
            sums[old] = 0.0
            weights[old] = 0.0
        sums[cluster] = point * w
        weights[cluster] = w


def _empty_clusters_to_largest(centers, weights):
    """Where a cluster kept no weight, scikit-learn places its center on the
    center of the heaviest cluster."""
    empty = weights == 0
    if empty.any():
        centers[empty] = centers[np.argmax(weights)]


def _mean_variance(X):
    """Mean over features of the per-feature (unweighted) variance of X, in
    float64, a chunk at a time: the scale of KMeans' tol."""
    return float(np.mean(feature_mean_variance(X)[1]))


# Groups of centers for the bounded steps: about one per 10 centers
# (Yinyang k-means' choice), at most MAX_GROUPS, so that the bounds take
# n_samples x (MAX_GROUPS + 2) x 4 bytes at most.
MAX_GROUPS = 32


def _center_groups(centers, n_groups):
    """Group index of each center: a few Lloyd iterations on the centers
    themselves from evenly spaced ones, so that a group's centers move and
    lie together (NumPy: K x G x D is small)."""
    centers = np.asarray(centers, dtype=np.float64)
    seeds = centers[np.linspace(0, len(centers) - 1, n_groups).astype(np.intp)]
    for _ in range(5):
        groups = ((centers[:, None, :] - seeds[None]) ** 2).sum(axis=2).argmin(axis=1)
        for g in range(n_groups):
            if np.any(groups == g):
                seeds[g] = centers[groups == g].mean(axis=0)
    return np.ascontiguousarray(groups, dtype=np.intc)


class _BoundedSteps:
    """lloyd_step for one run of algorithm='elkan': the same labels and
    statistics, measuring only the rows whose distance bounds do not prove
    their label (lvmfast._kernels._elkan.bounded_step; dense rows only)."""

    def __init__(self, rows: _DenseRows, centers):
        n_samples, n_clusters = rows.X.shape[0], centers.shape[0]
        self.rows = rows
        n_groups = max(1, min(n_clusters // 10, MAX_GROUPS))
        self.center_group = _center_groups(centers, n_groups)
        self.upper = np.empty(n_samples)
        self.lower = np.empty((n_samples, n_groups), dtype=np.float32)
        self.measured = np.empty(rows.plan.n_blocks, dtype=np.intp)
        self.measured_fraction = []  # per step: the share of rows measured
        self.previous = None

    def step(self, sample_weight, centers, labels, with_inertia):
        """As rows.lloyd_step(sample_weight, centers, labels, True, with_inertia)."""
        rows, plan = self.rows, self.rows.plan
        block_sums, block_weights, block_inertia = rows.stat_buffers(centers.shape, True)
        n_clusters, n_features = centers.shape
        n_groups = self.lower.shape[1]
        restart = self.previous is None
        group_drift = np.zeros(n_groups)
        if restart:
            drift = np.zeros(n_clusters)
        else:
            moved = centers.astype(np.float64) - self.previous
            # rounded up: a drift must not be under-estimated
            drift = np.sqrt(np.einsum("ij,ij->i", moved, moved)) * (1 + (n_features + 4) * 2.0**-52)
            np.maximum.at(group_drift, self.center_group, drift)
        center_sq = _sq_norms(centers)
        # float32, rounded up: the lower bounds are float32
        group_drop = group_drift.astype(np.float32)
        group_drop[group_drop < group_drift] = np.nextafter(group_drop, np.float32(np.inf))[group_drop < group_drift]
        with blas_single_thread():
            n_changed = kernels.bounded_step(
                rows.X, rows.shift, sample_weight, centers, center_sq, self.center_group,
                drift, group_drop, labels, self.upper, self.lower, block_sums, block_weights, block_inertia,
                self.measured, plan.chunk_rows, plan.block_rows, rows.n_threads, restart, with_inertia,
                **rows.single_precision_args(centers, center_sq),
            )
        self.previous = centers.astype(np.float64)
        self.measured_fraction.append(float(self.measured.sum()) / rows.X.shape[0])
        inertia = float(block_inertia.sum()) if with_inertia else float("nan")
        return n_changed, block_sums.sum(axis=0), block_weights.sum(axis=0), inertia
