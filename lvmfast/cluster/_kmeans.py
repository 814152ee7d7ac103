"""K-means clustering (Lloyd's algorithm) and k-means++ seeding.

Python validates, plans the blocks, runs the iteration loop and the tiny
M-step; the compiled kernels in lvmfast._kernels._kmeans make the passes over
the rows. X is never copied whole: kernels subtract the data mean chunk by
chunk, which keeps the distance expansion accurate (scikit-learn centers a
copy of X instead).
"""
import time
import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_array, check_is_fitted

from lvmfast._kernels import _kmeans as kernels
from lvmfast.cluster._centering import dense_centering_shift, feature_mean_variance
from lvmfast._parallel import blas_single_thread, effective_n_threads, plan_blocks
from lvmfast._validation import (
    FLOAT_DTYPES, check_float_array, check_sample_weight, integers, positive_reals, unchanged_on_error,
    unit_mean_weights, validate_float_data,
)

__all__ = ["KMeans", "k_means", "kmeans_plusplus"]


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


class _LocalRows:
    """What the local row views (dense below, CSR in _sparse_kmeans) share:
    the parts of a Lloyd pass that the Dask rows (lvmfast.dask) do their
    own way."""

    def new_labels(self):
        return np.full(self.X.shape[0], -1, dtype=np.int32)

    def farthest_rows(self, sample_weight, centers, labels, n_rows):
        """The n_rows rows farthest from their center, farthest first, as
        (row in the frame, its weight, its label); none when every row sits
        on its center."""
        distances = self.assigned_sq_distances(centers, labels)
        if distances.max() == 0:
            return []
        farthest = np.argpartition(distances, -n_rows)[: -n_rows - 1 : -1]
        return [(self.row(row), float(sample_weight[row]), labels[row]) for row in farthest]

    def n_distinct(self, labels):
        return len(np.unique(labels))

    def same_clustering(self, labels1, labels2, n_clusters):
        return _is_same_clustering(labels1, labels2, n_clusters)


class _DenseRows(_LocalRows):
    """A dense X as the Lloyd kernels see it: rows centered by `shift` (the
    training mean) chunk by chunk, so centers live in the frame of X - shift.
    The sparse twin (lvmfast.cluster._sparse_kmeans.CSRRows) has the same
    methods, with no centering."""

    def __init__(self, X, shift, n_clusters, n_threads, single_precision=False):
        self.X, self.shift, self.n_threads = X, shift, n_threads
        self.plan = _lloyd_plan(X.shape[0], X.shape[1], n_clusters, X.itemsize)
        # Squared row norms that let a float64 fit run its distance gemm in
        # float32 (see lloyd_step); only fits compute them.
        self._row_sq = _single_precision_rows(X, shift, n_clusters, n_threads) if single_precision else None
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
        block_sums, block_weights, block_inertia = self._buffers(centers.shape, update_centers)
        center_sq = _sq_norms(centers)
        extra = _single_precision_args(centers, center_sq, self._row_sq) if update_centers else {}
        with blas_single_thread():
            n_changed = kernels.lloyd_step(
                self.X, self.shift, sample_weight, centers, center_sq, labels,
                block_sums, block_weights, block_inertia, plan.chunk_rows, plan.block_rows,
                self.n_threads, update_centers, with_inertia, **extra,
            )
        inertia = float(block_inertia.sum()) if with_inertia else float("nan")
        if not update_centers:
            return n_changed, None, None, inertia
        return n_changed, block_sums.sum(axis=0), block_weights.sum(axis=0), inertia

    def _buffers(self, centers_shape, update_centers):
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
        kernels.assigned_sq_distances(self.X, self.shift, centers, labels, distances, self.n_threads)
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
            kernels.direct_pairwise_sq_distances(
                X, np.ascontiguousarray(cluster_centers, dtype=X.dtype), out, plan.chunk_rows, self.n_threads
            )
        else:
            plan = plan_blocks(X.shape[0], row_bytes=(X.shape[1] + centers.shape[0]) * X.itemsize)
            with blas_single_thread():
                kernels.pairwise_sq_distances(X, self.shift, centers, out, plan.chunk_rows, self.n_threads)
        return out


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
    their label (lvmfast._kernels._kmeans.bounded_step; dense rows only)."""

    def __init__(self, rows, centers):
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
        block_sums, block_weights, block_inertia = rows._buffers(centers.shape, True)
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
                **_single_precision_args(centers, center_sq, rows._row_sq),
            )
        self.previous = centers.astype(np.float64)
        self.measured_fraction.append(float(self.measured.sum()) / rows.X.shape[0])
        inertia = float(block_inertia.sum()) if with_inertia else float("nan")
        return n_changed, block_sums.sum(axis=0), block_weights.sum(axis=0), inertia


def _kmeans_plusplus_indices(X, sample_weight, n_clusters, random_state, n_local_trials, n_threads):
    """Row indices of greedy k-means++ seeds. Draws from random_state exactly
    as scikit-learn does: one choice for the first center, then n_local_trials
    uniforms per further center."""
    if sp.issparse(X):
        from lvmfast.cluster._sparse_kmeans import csr_kmeans_plusplus_indices

        return csr_kmeans_plusplus_indices(X, sample_weight, n_clusters, random_state, n_local_trials, n_threads)
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


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "n_clusters": [integers(1)],
        "sample_weight": ["array-like", None],
        "x_squared_norms": ["array-like", None],
        "random_state": ["random_state"],
        "n_local_trials": [integers(1), None],
    },
    prefer_skip_nested_validation=True,
)
def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None, random_state=None,
                    n_local_trials=None):
    """Choose initial cluster centers by greedy k-means++.

    Each further center is the best of `n_local_trials` candidates drawn with
    probability proportional to weight times squared distance to the nearest
    center chosen so far.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data to pick seeds from (sparse input is used as CSR).
    n_clusters : int
        Number of centers to choose.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs them equally.
    x_squared_norms : array-like of shape (n_samples,), default=None
        Accepted for scikit-learn compatibility and checked for its length;
        lvmfast computes distances by direct differences and does not use it.
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
    X = check_float_array(X, accept_sparse="csr")
    sample_weight = check_sample_weight(sample_weight, X, X.dtype)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    if x_squared_norms is not None:
        x_squared_norms = check_array(x_squared_norms, dtype=FLOAT_DTYPES, ensure_2d=False, input_name="x_squared_norms")
        if x_squared_norms.ndim != 1 or x_squared_norms.shape[0] != X.shape[0]:
            raise ValueError(
                f"The length of x_squared_norms {x_squared_norms.shape} should "
                f"be equal to the length of n_samples {X.shape[0]}."
            )
    random_state = check_random_state(random_state)
    indices = _kmeans_plusplus_indices(
        X, sample_weight, n_clusters, random_state, n_local_trials, effective_n_threads()
    )
    centers = X[indices]
    return (centers.toarray() if sp.issparse(centers) else centers), indices


def _is_same_clustering(labels1, labels2, n_clusters):
    """True when each cluster of labels1 is a single cluster of labels2 (as
    scikit-learn checks before preferring a run for a lower inertia)."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[labels1] = labels2
    return bool(np.array_equal(mapping[labels1], labels2))


def _mean_variance(X, chunk_rows=65536):
    """Mean over features of the per-feature (unweighted) variance of X, in
    float64, a chunk at a time: the scale of KMeans' tol."""
    if sp.issparse(X):
        return float(np.mean(mean_variance_axis(X, axis=0)[1]))
    return float(np.mean(feature_mean_variance(X, chunk_rows)[1]))


def _rows(X, n_clusters, n_threads, fitting=False, shift=None):
    """The Lloyd kernels' view of X: dense rows centered by the training mean
    (computed when fitting), or CSR rows."""
    if sp.issparse(X):
        from lvmfast.cluster._sparse_kmeans import CSRRows

        return CSRRows(X, n_clusters, n_threads)
    if shift is None:
        shift = dense_centering_shift(X)
    return _DenseRows(X, shift.astype(X.dtype), n_clusters, n_threads, single_precision=fitting)


def _float32_squares_overflow(cluster_centers, shift):
    """Whether squared distances between validated float32 rows (each
    squared entry below a quarter of the float32 maximum, see check_scale)
    and these centers, in the frame centered by shift, could overflow
    float32: only for a float64 model far beyond float32's range."""
    # D (|x| + reach)^2 <= 2 D |x|^2 + 2 D reach^2, and check_scale keeps
    # D (2 |x|)^2 below the maximum: asking D (4 reach)^2 to stay below it
    # too bounds the whole under 5/8 of it.
    centers = np.asarray(cluster_centers, dtype=np.float64)
    reach = float(np.abs(centers - shift).max(initial=0.0)) + float(np.abs(shift).max(initial=0.0))
    return (4 * reach) ** 2 * centers.shape[1] >= float(np.finfo(np.float32).max)


def _empty_clusters_to_largest(centers, weights):
    """Where a cluster kept no weight, scikit-learn places its center on the
    center of the heaviest cluster."""
    empty = weights == 0
    if empty.any():
        centers[empty] = centers[np.argmax(weights)]


# ---------------------------------------------------------------------------
# The estimator


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """What KMeans and MiniBatchKMeans share: tags, the init checks, and
    the methods of a fitted model (they read n_clusters, init,
    cluster_centers_ and _x_mean)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def _init_is_array(self):
        return not isinstance(self.init, str) and not callable(self.init)

    def _check_centers(self, centers, X, what):
        try:
            centers = check_array(centers, dtype=X.dtype, order="C", input_name=what)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from exc
        if centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match "
                f"the number of clusters {self.n_clusters}. ({what})."
            )
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match "
                f"the number of features of the data {X.shape[1]}. ({what})."
            )
        return centers

    def _fitted_rows(self, X):
        """The rows of X and the fitted centers in their frame."""
        check_is_fitted(self)
        X = validate_float_data(self, X, reset=False, accept_sparse="csr")
        if X.dtype == np.float32 and _float32_squares_overflow(self.cluster_centers_, self._x_mean):
            # float32 rows against a float64 model whose distances, squared,
            # overflow float32: measured in float64 (transform casts back).
            X = X.astype(np.float64)
        rows = _rows(X, self.n_clusters, effective_n_threads(), shift=self._x_mean)
        return rows, rows.to_frame(self.cluster_centers_)

    def predict(self, X):
        """The index of the nearest cluster center for each row of X.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        rows, centers = self._fitted_rows(X)
        labels = np.full(rows.X.shape[0], -1, dtype=np.int32)
        rows.lloyd_step(np.ones(rows.X.shape[0], dtype=rows.X.dtype), centers, labels, False, False)
        return labels

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return labels_."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of X to the centers."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X under the fitted centers."""
        rows, centers = self._fitted_rows(X)
        sample_weight = check_sample_weight(sample_weight, rows.X, rows.X.dtype)
        labels = np.full(rows.X.shape[0], -1, dtype=np.int32)
        return -rows.lloyd_step(sample_weight, centers, labels, False, True)[3]


class KMeans(_BaseKMeans):
    """K-means clustering by Lloyd's algorithm, with k-means++ seeding.

    A drop-in for ``sklearn.cluster.KMeans(algorithm="lloyd")``: the same
    parameters, attributes and results from the same starting point, computed
    by fused OpenMP kernels that never copy X and never hold an
    n_samples x n_clusters array while fitting.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {'k-means++', 'k-means||', 'random'}, callable or array-like of shape \\
            (n_clusters, n_features), default='k-means++'
        'k-means++': greedy k-means++ seeding. 'k-means||': scalable
        k-means++ (Bahmani et al., 2012): `init_max_iter` rounds each draw
        about ``oversampling_factor * n_clusters`` candidate rows in one
        pass over X, then weighted k-means++ and a few weighted Lloyd
        iterations on the candidates choose the centers; far fewer passes
        than greedy k-means++ for large n_clusters, with as good a final
        inertia (see lvmfast.cluster._kmeans_parallel). 'random':
        n_clusters distinct rows drawn with probability proportional to
        their weight. An array: the initial centers. A callable:
        ``init(X, n_clusters, random_state=RandomState)`` returning the
        initial centers.
    n_init : 'auto' or int, default='auto'
        Number of runs from different seeds; the run with the lowest inertia
        is kept. 'auto' is 1 for 'k-means++', 'k-means||' or an array and 10
        otherwise.
    max_iter : int, default=300
        Maximum Lloyd iterations per run.
    tol : float, default=1e-4
        Convergence threshold on the squared shift of the centers, relative
        to the mean per-feature variance of X.
    verbose : int, default=0
        Print one line per iteration, as scikit-learn does
        (``Iteration 3, inertia 1234.5.``).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization; the same seed gives bit-identical
        results whatever the thread count.
    copy_x : bool, default=True
        Accepted for scikit-learn compatibility. lvmfast never modifies X and
        never copies it whole (chunks are centered on the fly), so both values
        behave the same.
    algorithm : {'lloyd', 'elkan'}, default='lloyd'
        'lloyd': every iteration measures every row's distance to every
        center (a gemm). 'elkan': exact k-means with distance bounds
        (Yinyang-style: one upper bound per row and one lower bound per
        group of about 10 centers, at most 32 groups), which measures only
        the rows whose bounds do not prove their cluster; it gives
        'lloyd''s labels, centers, inertia and n_iter_ (bit for bit in
        float64) and pays off when rows settle, at larger n_clusters. Sparse
        input runs 'lloyd'.
    oversampling_factor : float, default=2
        init='k-means||' only: each round draws about
        ``oversampling_factor * n_clusters`` candidates (dask-ml's name).
    init_max_iter : int, default=5
        init='k-means||' only: the number of oversampling rounds, each one
        pass over X (dask-ml's name).

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

    _parameter_constraints: dict = {
        "n_clusters": [integers(1)],
        "init": [StrOptions({"k-means++", "k-means||", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), integers(1)],
        "max_iter": [integers(1)],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "oversampling_factor": [positive_reals()],
        "init_max_iter": [integers(1)],
    }

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
        oversampling_factor=2,
        init_max_iter=5,
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
        self.oversampling_factor = oversampling_factor
        self.init_max_iter = init_max_iter

    # -- parameters ---------------------------------------------------------

    def _resolved_n_init(self):
        if self.n_init == "auto":
            return 1 if (self._init_is_array() or self.init in ("k-means++", "k-means||")) else 10
        if self._init_is_array() and self.n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={self.n_init}.",
                RuntimeWarning,
                stacklevel=3,
            )
            return 1
        return self.n_init

    # -- fitting ------------------------------------------------------------

    def _initial_centers(self, X, rows, sample_weight, random_state, init_array):
        """Initial centers in the rows' frame."""
        if isinstance(self.init, str) and self.init == "k-means++":
            indices = _kmeans_plusplus_indices(X, sample_weight, self.n_clusters, random_state, None, rows.n_threads)
            centers = X[indices]
        elif isinstance(self.init, str) and self.init == "k-means||":
            from lvmfast.cluster._kmeans_parallel import kmeans_parallel_centers

            centers, _ = kmeans_parallel_centers(
                X, sample_weight, self.n_clusters, random_state, oversampling_factor=self.oversampling_factor,
                n_rounds=self.init_max_iter, shift=rows.shift, n_threads=rows.n_threads,
            )
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
            centers = init_array
        if sp.issparse(centers):
            centers = centers.toarray()
        return rows.to_frame(centers)

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows. float32 stays float32; other numbers become
            float64. Sparse input is used as CSR, never densified.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (not all zero). Not used by a
            callable or array init.

        Returns
        -------
        self
        """
        X = validate_float_data(self, X, reset=True, accept_sparse="csr")
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        sample_weight = check_sample_weight(sample_weight, X, X.dtype)
        init_array = self._check_centers(self.init, X, "init") if self._init_is_array() else None
        if self.algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
                stacklevel=2,
            )
        rows = _rows(X, self.n_clusters, effective_n_threads(), fitting=True)
        tol = self.tol * _mean_variance(X) if self.tol else 0.0
        # Lloyd runs on unit-mean weights: the centers are weighted means,
        # which the weights' scale does not change, but sums of w x with
        # weights of 1e300 (or 1e-310) would overflow (or underflow). The
        # inertia is scaled back to the caller's weights.
        lloyd_weight, weight_scale = unit_mean_weights(sample_weight.astype(np.float64), X.dtype, with_scale=True)
        self._fit_rows(X, rows, sample_weight, lloyd_weight, weight_scale, tol, init_array)
        return self

    def _fit_rows(self, X, rows, sample_weight, lloyd_weight, weight_scale, tol, init_array):
        """The runs of Lloyd from each initialization, on either backend's
        rows (local, or lvmfast.dask's), and the fitted attributes."""
        random_state = check_random_state(self.random_state)
        # scikit-learn records the resolved count as _n_init; its tests read it.
        self._n_init = n_init = self._resolved_n_init()

        best = None
        for _ in range(n_init):
            centers = self._initial_centers(X, rows, sample_weight, random_state, init_array)
            if self.verbose:
                print("Initialization complete")
            run = self._lloyd(rows, lloyd_weight, centers, tol, weight_scale)
            labels, inertia = run[0], run[1]
            if best is None or (inertia < best[1] and not rows.same_clustering(labels, best[0], self.n_clusters)):
                best = run

        labels, inertia, centers, n_iter = best
        distinct = rows.n_distinct(labels)
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.cluster_centers_ = centers
        self._x_mean = rows.shift
        self.labels_ = labels
        with np.errstate(over="ignore"):
            self.inertia_ = inertia * weight_scale
        self.n_iter_ = n_iter

    _verbose_seconds = False

    def _lloyd(self, rows, sample_weight, centers, tol, weight_scale=1.0):
        """One run of Lloyd's algorithm from `centers` (in the rows' frame).
        Returns labels, inertia (in sample_weight's units: times
        weight_scale for the caller's), cluster centers (in X's frame) and
        n_iter."""
        labels = rows.new_labels()
        bounded = _BoundedSteps(rows, centers) if self._bounded(rows) else None
        # The M-step between passes is tiny; a threaded BLAS there would wake
        # worker threads that then spin against the kernels' OpenMP threads.
        with blas_single_thread():
            for iteration in range(self.max_iter):
                started = time.perf_counter()
                if bounded is None:
                    n_changed, sums, weights, inertia = rows.lloyd_step(
                        sample_weight, centers, labels, True, bool(self.verbose)
                    )
                else:
                    n_changed, sums, weights, inertia = bounded.step(sample_weight, centers, labels, bool(self.verbose))
                if not weights.all():
                    self._relocate_empty_clusters(rows, sample_weight, centers, labels, sums, weights)
                new_centers = np.empty_like(centers)
                filled = weights > 0
                new_centers[filled] = sums[filled] / weights[filled, None]
                _empty_clusters_to_largest(new_centers, weights)
                center_shift = float(np.sum((new_centers.astype(np.float64) - centers) ** 2))
                centers = new_centers
                if self.verbose:
                    # scikit-learn's line; the Dask estimators add the iteration's time
                    seconds = f" ({time.perf_counter() - started:.3f} s)" if self._verbose_seconds else ""
                    print(f"Iteration {iteration}, inertia {inertia * weight_scale}.{seconds}")
                if n_changed == 0:
                    if self.verbose:
                        print(f"Converged at iteration {iteration}: strict convergence.")
                    break
                if center_shift <= tol:
                    if self.verbose:
                        print(f"Converged at iteration {iteration}: center shift {center_shift} within tolerance {tol}.")
                    break
            # The reported labels and inertia come from the final centers, by
            # the same arithmetic as predict() and score().
            cluster_centers = rows.from_frame(centers)
            _, _, _, inertia = rows.lloyd_step(sample_weight, rows.to_frame(cluster_centers), labels, False, True)
        return labels, inertia, cluster_centers, iteration + 1

    def _bounded(self, rows):
        """Whether this fit runs the bounded steps ('elkan' on dense rows)."""
        return self.algorithm == "elkan" and isinstance(rows, _DenseRows) and self.n_clusters > 1

    @staticmethod
    def _relocate_empty_clusters(rows, sample_weight, centers, labels, sums, weights):
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

    # -- using a fitted model -----------------------------------------------

    def transform(self, X):
        """Euclidean distances of each row of X to every cluster center.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), X's dtype
        """
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else None
        rows, centers = self._fitted_rows(X)
        out = rows.sq_distances(centers, self.cluster_centers_)
        out = np.sqrt(out, out=out)
        if dtype is not None and out.dtype != dtype:
            with np.errstate(over="ignore"):  # distances past the float32 maximum are inf
                out = out.astype(dtype)
        return out




def k_means(
    X,
    n_clusters,
    *,
    sample_weight=None,
    init="k-means++",
    n_init="auto",
    max_iter=300,
    verbose=False,
    tol=1e-4,
    random_state=None,
    copy_x=True,
    algorithm="lloyd",
    return_n_iter=False,
    oversampling_factor=2,
    init_max_iter=5,
):
    """Perform k-means clustering: the function form of :class:`KMeans`.

    Parameters are those of :class:`KMeans`, plus ``X``, ``sample_weight``
    and ``return_n_iter``.

    Returns
    -------
    centroid : ndarray of shape (n_clusters, n_features)
    label : ndarray of shape (n_samples,)
    inertia : float
    best_n_iter : int
        Only when return_n_iter is True.
    """
    est = KMeans(
        n_clusters=n_clusters, init=init, n_init=n_init, max_iter=max_iter, verbose=verbose, tol=tol,
        random_state=random_state, copy_x=copy_x, algorithm=algorithm,
        oversampling_factor=oversampling_factor, init_max_iter=init_max_iter,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_
