"""K-means clustering (Lloyd's algorithm) and k-means++ seeding.

Python validates, plans the blocks, runs the iteration loop and the tiny
M-step; the compiled kernels in lvmfast._kernels._kmeans make the passes over
the rows. X is never copied whole: kernels subtract the data mean chunk by
chunk, which keeps the distance expansion accurate (scikit-learn centers a
copy of X instead).
"""
import time
import warnings

import numpy as np

from lvmfast._kernels import _kmeans as kernels
from lvmfast._parallel import blas_single_thread, effective_n_threads, plan_blocks
from lvmfast._validation import (
    check_array,
    check_is_fitted,
    check_option,
    check_random_state,
    check_sample_weight,
    check_scalar,
    validate_data,
)
from lvmfast.base import BaseEstimator
from lvmfast.exceptions import ConvergenceWarning

__all__ = ["KMeans", "kmeans_plusplus"]


# ---------------------------------------------------------------------------
# Kernel drivers


def _lloyd_plan(n_samples, n_features, n_clusters, itemsize):
    # Per chunk row: the centered row, its K scores, its running min and label.
    return plan_blocks(
        n_samples,
        row_bytes=(n_features + n_clusters + 2) * itemsize,
        stat_bytes=n_clusters * (n_features + 1) * 8,
    )


def _sq_norms(centers):
    return np.einsum("ij,ij->i", centers, centers)


def _single_precision_rows(X, shift, n_clusters, n_threads):
    """Squared norms of the centered rows when the float64 Lloyd step may run
    its distance gemm in float32 (see lloyd_step), else None: only for float64
    data whose magnitudes float32 holds without overflow or subnormals."""
    if X.dtype != np.float64 or n_clusters < 2:
        return None
    row_sq = np.empty(X.shape[0])
    plan = plan_blocks(X.shape[0], row_bytes=X.shape[1] * X.itemsize)
    kernels.row_sq_norms(X, shift, row_sq, plan.chunk_rows, n_threads)
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


def _assign(X, shift, sample_weight, centers, n_threads, labels=None, with_inertia=True):
    """Labels of the nearest center for every row, and the weighted inertia
    (nan unless with_inertia). `centers` live in the frame of X - shift."""
    n_samples = X.shape[0]
    plan = _lloyd_plan(n_samples, X.shape[1], centers.shape[0], X.itemsize)
    if labels is None:
        labels = np.full(n_samples, -1, dtype=np.int32)
    block_inertia = np.empty(plan.n_blocks)
    with blas_single_thread():
        kernels.lloyd_step(
            X, shift, sample_weight, centers, _sq_norms(centers), labels,
            np.empty((plan.n_blocks, 0, 0)), np.empty((plan.n_blocks, 0)), block_inertia,
            plan.chunk_rows, plan.block_rows, n_threads, False, with_inertia,
        )
    return labels, float(block_inertia.sum()) if with_inertia else float("nan")


def _kmeans_plusplus_indices(X, sample_weight, n_clusters, random_state, n_local_trials, n_threads):
    """Row indices of greedy k-means++ seeds. Draws from random_state exactly
    as scikit-learn does: one choice for the first center, then n_local_trials
    uniforms per further center."""
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    first = random_state.choice(n_samples, p=sample_weight / sample_weight.sum(dtype=np.float64))
    uniforms = random_state.uniform(size=(n_clusters - 1, n_local_trials))
    plan = plan_blocks(n_samples, row_bytes=(n_local_trials + 1) * 8, stat_bytes=(n_local_trials + 1) * 8)
    indices = np.empty(n_clusters, dtype=np.intp)
    closest = np.empty(n_samples)
    labels = np.empty(n_samples, dtype=np.intc)
    pots = np.empty((plan.n_blocks, n_local_trials + 1))
    kernels.kmeans_plusplus(
        X, sample_weight, int(first), np.ascontiguousarray(uniforms), indices, closest, labels, pots,
        plan.chunk_rows, plan.block_rows, n_threads,
    )
    return indices


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None, n_local_trials=None):
    """Choose initial cluster centers by greedy k-means++.

    Each further center is the best of `n_local_trials` candidates drawn with
    probability proportional to weight times squared distance to the nearest
    center chosen so far.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data to pick seeds from.
    n_clusters : int
        Number of centers to choose.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs them equally.
    random_state : int, RandomState instance or None, default=None
        Seed of the candidate draws, used as scikit-learn uses it: for
        float64 data the same seed picks the same rows as scikit-learn's
        ``kmeans_plusplus``. (For float32 data scikit-learn sums its
        sampling weights in float32, so on large data the picks differ.)
    n_local_trials : int, default=None
        Candidates per center; None means ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The chosen rows of X, in X's dtype (float32 or float64).
    indices : ndarray of shape (n_clusters,)
        Their row indices in X.
    """
    X = check_array(X)
    check_scalar(n_clusters, "n_clusters", "int", minimum=1)
    if n_local_trials is not None:
        check_scalar(n_local_trials, "n_local_trials", "int", minimum=1)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    random_state = check_random_state(random_state)
    indices = _kmeans_plusplus_indices(
        X, sample_weight, n_clusters, random_state, n_local_trials, effective_n_threads()
    )
    return X[indices], indices


def _is_same_clustering(labels1, labels2, n_clusters):
    """True when each cluster of labels1 is a single cluster of labels2 (as
    scikit-learn checks before preferring a run for a lower inertia)."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[labels1] = labels2
    return bool(np.array_equal(mapping[labels1], labels2))


def _mean_variance(X, mean, chunk_rows=65536):
    """Mean over features of the per-feature variance, in float64, a chunk at a time."""
    total = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        diff = X[start:start + chunk_rows] - mean
        total += np.einsum("ij,ij->j", diff, diff, dtype=np.float64)
    return float(np.mean(total / X.shape[0]))


# ---------------------------------------------------------------------------
# The estimator


class KMeans(BaseEstimator):
    """K-means clustering by Lloyd's algorithm, with k-means++ seeding.

    A drop-in for ``sklearn.cluster.KMeans(algorithm="lloyd")``: the same
    parameters, attributes and results from the same starting point, computed
    by fused OpenMP kernels that never copy X and never hold an
    n_samples x n_clusters array while fitting.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {'k-means++', 'random'}, callable or array-like of shape \
            (n_clusters, n_features), default='k-means++'
        'k-means++': greedy k-means++ seeding. 'random': n_clusters distinct
        rows drawn with probability proportional to their weight. An array:
        the initial centers. A callable: ``init(X, n_clusters,
        random_state=RandomState)`` returning the initial centers.
    n_init : 'auto' or int, default='auto'
        Number of runs from different seeds; the run with the lowest inertia
        is kept. 'auto' is 1 for 'k-means++' or an array and 10 otherwise.
    max_iter : int, default=300
        Maximum Lloyd iterations per run.
    tol : float, default=1e-4
        Convergence threshold on the squared shift of the centers, relative
        to the mean per-feature variance of X.
    verbose : int, default=0
        Print one line per iteration (inertia, center shift, time).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization; the same seed gives bit-identical
        results whatever the thread count.
    copy_x : bool, default=True
        Accepted for scikit-learn compatibility. lvmfast never modifies X and
        never copies it whole (chunks are centered on the fly), so both values
        behave the same.
    algorithm : {'lloyd'}, default='lloyd'
        Only Lloyd's algorithm is implemented.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Cluster centers, in X's dtype.
    labels_ : ndarray of shape (n_samples,), dtype int32
        The cluster of each training row.
    inertia_ : float
        Sum of weighted squared distances of the rows to their center.
    n_iter_ : int
        Iterations of the kept run.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in fit, when X had string column names.

    Notes
    -----
    The thread count follows OMP_NUM_THREADS and threadpoolctl limits and
    defaults to all usable cores.
    """

    _estimator_type = "clusterer"
    _transformer = True

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    # -- parameters ---------------------------------------------------------

    def _check_params(self):
        check_scalar(self.n_clusters, "n_clusters", "int", minimum=1)
        if isinstance(self.init, str):
            check_option(self.init, "init", ("k-means++", "random"))
        elif not callable(self.init) and not hasattr(self.init, "__array__") and not isinstance(self.init, (list, tuple)):
            raise TypeError(
                "init must be 'k-means++', 'random', a callable or an array of shape "
                f"(n_clusters, n_features); got {self.init!r}."
            )
        if isinstance(self.n_init, str):
            check_option(self.n_init, "n_init", ("auto",))
        else:
            check_scalar(self.n_init, "n_init", "int", minimum=1)
        check_scalar(self.max_iter, "max_iter", "int", minimum=1)
        check_scalar(self.tol, "tol", "real", minimum=0)
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_scalar(self.verbose, "verbose", "int", minimum=0)
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise TypeError(f"copy_x must be a bool; got {self.copy_x!r}.")
        check_option(self.algorithm, "algorithm", ("lloyd",))
        check_random_state(self.random_state)

    def _resolved_n_init(self):
        init_is_array = not isinstance(self.init, str) and not callable(self.init)
        if self.n_init == "auto":
            return 1 if (init_is_array or self.init == "k-means++") else 10
        if init_is_array and self.n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"KMeans instead of n_init={self.n_init}.",
                RuntimeWarning,
                stacklevel=3,
            )
            return 1
        return self.n_init

    def _check_centers(self, centers, X, what):
        centers = check_array(centers, name=what)
        if centers.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"The shape of {what} {centers.shape} does not match "
                f"(n_clusters, n_features) = ({self.n_clusters}, {X.shape[1]})."
            )
        return np.ascontiguousarray(centers, dtype=X.dtype)

    # -- fitting ------------------------------------------------------------

    def _initial_centers(self, X, shift, sample_weight, random_state, n_threads):
        """Initial centers in the frame of X - shift."""
        if isinstance(self.init, str) and self.init == "k-means++":
            indices = _kmeans_plusplus_indices(X, sample_weight, self.n_clusters, random_state, None, n_threads)
            centers = X[indices]
        elif isinstance(self.init, str) and self.init == "random":
            p = sample_weight / sample_weight.sum(dtype=np.float64)
            if np.count_nonzero(p) < self.n_clusters:
                raise ValueError(
                    f"init='random' needs n_clusters={self.n_clusters} rows with positive weight; "
                    f"sample_weight has only {np.count_nonzero(p)}."
                )
            seeds = random_state.choice(X.shape[0], size=self.n_clusters, replace=False, p=p)
            centers = X[seeds]
        elif callable(self.init):
            centers = self._check_centers(
                self.init(X, self.n_clusters, random_state=random_state), X, "the centers returned by init"
            )
        else:
            centers = self._check_centers(self.init, X, "init")
        return np.ascontiguousarray(centers - shift, dtype=X.dtype)

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows. float32 stays float32; other numbers become float64.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (not all zero). Not used by a
            callable or array init.

        Returns
        -------
        self
        """
        self._check_params()
        X = validate_data(self, X, reset=True)
        n_samples, n_features = X.shape
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
        random_state = check_random_state(self.random_state)
        n_threads = effective_n_threads()
        n_init = self._resolved_n_init()
        if not isinstance(self.init, str) and not callable(self.init):
            self._check_centers(self.init, X, "init")

        mean = X.mean(axis=0, dtype=np.float64)
        shift = mean.astype(X.dtype)
        tol = self.tol * _mean_variance(X, mean) if self.tol else 0.0

        row_sq = _single_precision_rows(X, shift, self.n_clusters, n_threads)
        best = None
        for _ in range(n_init):
            centers = self._initial_centers(X, shift, sample_weight, random_state, n_threads)
            if self.verbose:
                print("Initialization complete")
            run = self._lloyd(X, shift, sample_weight, centers, tol, n_threads, row_sq)
            labels, inertia = run[0], run[1]
            if best is None or (inertia < best[1] and not _is_same_clustering(labels, best[0], self.n_clusters)):
                best = run

        labels, inertia, centers, n_iter = best
        distinct = len(np.unique(labels))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centers
        self._x_mean = shift
        self._n_features_out = self.n_clusters
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def _lloyd(self, X, shift, sample_weight, centers, tol, n_threads, row_sq=None):
        """One run of Lloyd's algorithm from `centers` (in the frame of X - shift).
        Returns labels, inertia, cluster centers (in X's frame) and n_iter.
        row_sq, from _single_precision_rows, lets iterations use the float32 gemm."""
        n_samples, n_features = X.shape
        n_clusters = centers.shape[0]
        plan = _lloyd_plan(n_samples, n_features, n_clusters, X.itemsize)
        labels = np.full(n_samples, -1, dtype=np.int32)
        block_sums = np.empty((plan.n_blocks, n_clusters, n_features))
        block_weights = np.empty((plan.n_blocks, n_clusters))
        block_inertia = np.empty(plan.n_blocks)
        with blas_single_thread():
            for iteration in range(self.max_iter):
                started = time.perf_counter()
                center_sq = _sq_norms(centers)
                n_changed = kernels.lloyd_step(
                    X, shift, sample_weight, centers, center_sq, labels,
                    block_sums, block_weights, block_inertia, plan.chunk_rows, plan.block_rows,
                    n_threads, True, bool(self.verbose),
                    **_single_precision_args(centers, center_sq, row_sq),
                )
                sums = block_sums.sum(axis=0)
                weights = block_weights.sum(axis=0)
                if not weights.all():
                    self._relocate_empty_clusters(X, shift, sample_weight, centers, labels, sums, weights, n_threads)
                new_centers = centers.copy()
                filled = weights > 0
                new_centers[filled] = sums[filled] / weights[filled, None]
                center_shift = float(np.sum((new_centers.astype(np.float64) - centers) ** 2))
                centers = new_centers
                if self.verbose:
                    print(
                        f"Iteration {iteration}: inertia {block_inertia.sum():.6g}, "
                        f"center shift {center_shift:.3g}, {1e3 * (time.perf_counter() - started):.1f} ms"
                    )
                if n_changed == 0:
                    if self.verbose:
                        print(f"Converged at iteration {iteration}: strict convergence.")
                    break
                if center_shift <= tol:
                    if self.verbose:
                        print(
                            f"Converged at iteration {iteration}: center shift {center_shift:.3g} "
                            f"within tolerance {tol:.3g}."
                        )
                    break
        # The reported labels and inertia come from the final centers, by the
        # same arithmetic as predict() and score().
        cluster_centers = centers + shift
        labels, inertia = _assign(X, shift, sample_weight, np.ascontiguousarray(cluster_centers - shift), n_threads, labels)
        return labels, inertia, cluster_centers, iteration + 1

    @staticmethod
    def _relocate_empty_clusters(X, shift, sample_weight, centers, labels, sums, weights, n_threads):
        """Re-seed each empty cluster with one of the rows farthest from their
        center (the farthest first), moving that row's weight with it."""
        empty = np.flatnonzero(weights == 0)
        distances = np.empty(X.shape[0])
        kernels.assigned_sq_distances(X, shift, centers, labels, distances, n_threads)
        n_empty = empty.shape[0]
        farthest = np.argpartition(distances, -n_empty)[: -n_empty - 1 : -1]
        for cluster, row in zip(empty, farthest):
            point = (X[row] - shift).astype(np.float64)
            w = float(sample_weight[row])
            old = labels[row]
            sums[old] -= point * w
            weights[old] -= w
            sums[cluster] = point * w
            weights[cluster] = w

    # -- using a fitted model -----------------------------------------------

    def _fitted_input(self, X):
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, reset=False)
        centers = np.ascontiguousarray(self.cluster_centers_ - self._x_mean, dtype=X.dtype)
        shift = self._x_mean.astype(X.dtype)
        return X, shift, centers

    def predict(self, X):
        """The index of the nearest cluster center for each row of X.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        X, shift, centers = self._fitted_input(X)
        weights = np.ones(X.shape[0], dtype=X.dtype)
        return _assign(X, shift, weights, centers, effective_n_threads(), with_inertia=False)[0]

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return labels_."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distances of each row of X to every cluster center.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), X's dtype
        """
        X, shift, centers = self._fitted_input(X)
        out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
        plan = plan_blocks(X.shape[0], row_bytes=(X.shape[1] + centers.shape[0]) * X.itemsize)
        with blas_single_thread():
            kernels.pairwise_sq_distances(X, shift, centers, out, plan.chunk_rows, effective_n_threads())
        return np.sqrt(out, out=out)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of X to the centers."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X under the fitted centers."""
        X, shift, centers = self._fitted_input(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return -_assign(X, shift, sample_weight, centers, effective_n_threads())[1]

    def get_feature_names_out(self, input_features=None):
        """Names of the transform's outputs: kmeans0, kmeans1, ..."""
        check_is_fitted(self, "cluster_centers_")
        return np.asarray([f"kmeans{i}" for i in range(self._n_features_out)], dtype=object)
