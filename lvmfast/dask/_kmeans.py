"""KMeans on dask arrays: lvmfast.cluster.KMeans's loops (the runs of
Lloyd, the k-means|| rounds) with the Dask rows of this module."""
import numpy as np
from dask import delayed
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions

from lvmfast._parallel import effective_n_threads
from lvmfast._validation import integers, unchanged_on_error
from lvmfast.cluster import _kmeans as local
from lvmfast.cluster._centering import centering_shift, check_squared_spread
from lvmfast.cluster._kmeans_parallel import (
    _top_up, candidate_weights, draw_rows, single_precision_scores, update_nearest,
)
from lvmfast.cluster._rows import _DenseRows
from lvmfast.cluster._seeding import _kmeans_plusplus_indices
from lvmfast.dask._core import (
    DaskData, add_statistics, add_tuples, as_block_array, as_dask_rows, as_dask_vector, check_input_features,
    on_worker, run, tree_sum,
)
from lvmfast.dask._estimator import DaskEstimatorMixin

__all__ = ["KMeans"]

# init='k-means++' runs greedy k-means++ on a uniform sample of this many
# rows (all rows when there are fewer: then it is the local seeding).
DEFAULT_SAMPLE_SIZE = 100_000
# Streamed X keeps the float32 gemm's squared row norms between Lloyd
# passes (12 bytes a row with the labels, not 4) while they take at most
# this share of the workers' memory: recomputing them reads each block once
# more, about a tenth of a step at D = 32, K = 64.
ROW_STATE_SHARE = 0.25


# ---------------------------------------------------------------------------
# Per-block functions (run on the workers)


def _block_equals_row(x, w, start, row):
    return bool((x == row).all())


def _is_constant(data):
    """Whether every row of the dask data is its first row (one pass)."""
    _, equal = run(compute=data.per_block(_block_equals_row, data.rows([0])[0]), progress=data.progress)
    return all(equal)


@on_worker
def _lloyd_block(x, w, start, previous, shift, centers, update_centers, with_inertia, keep_row_norms):
    """lloyd_step on one block. previous: the block's output of the last
    pass, None before the first; its state is (labels, squared row norms
    for the float32 gemm, or None). The norms are kept only with
    keep_row_norms (see ROW_STATE_SHARE); otherwise the block keeps 4 bytes
    a row on the workers, not 12, and recomputes them. Returns (new state,
    (n_changed, sums, weights, inertia))."""
    labels, row_sq = (None, None) if previous is None else previous[0]
    labels = np.full(x.shape[0], -1, dtype=np.int32) if labels is None else labels.copy()  # inputs stay as they are
    rows = _DenseRows(x, shift, centers.shape[0], 1, single_precision=update_centers, gemm_row_sq_norms=row_sq)
    n_changed, sums, weights, inertia = rows.lloyd_step(w, centers, labels, update_centers, with_inertia)
    return (labels, rows.gemm_row_sq_norms if keep_row_norms else None), (n_changed, sums, weights, inertia)


@on_worker
def _farthest_block(x, w, start, previous, shift, centers, n_rows):
    """The block's n_rows rows farthest from their center: (distances, global
    indices, rows in the frame, weights, labels), farthest first."""
    rows = _DenseRows(x, shift, centers.shape[0], 1)
    labels = previous[0][0]
    distances = rows.assigned_sq_distances(centers, labels)
    order = np.argsort(-distances, kind="stable")[:n_rows]
    points = np.array([rows.row(i) for i in order]).reshape(len(order), x.shape[1])
    return distances[order], start + order, points, w[order].astype(np.float64), labels[order]


def _unique_labels(x, w, start, previous):
    return np.unique(previous[0][0])


def _label_pairs(x, w, start, previous, other):
    return np.unique(np.stack([previous[0][0], other[0][0]], axis=1), axis=0)


@on_worker
def _seed_fold_block(x, w, start, previous, shift, candidates, label_offset, single):
    """update_nearest on one block; previous: the block's last output, whose
    state is (closest, labels); None before the first fold."""
    state = None if previous is None else previous[0]
    if state is None:
        closest, labels = np.full(x.shape[0], np.inf), np.zeros(x.shape[0], dtype=np.int32)
    else:
        closest, labels = state[0].copy(), state[1].copy()
    potential = update_nearest(x, shift, candidates, w, closest, labels, label_offset, 1, single)
    return (closest, labels), (potential, float(closest.max(initial=0.0)), float(closest.sum()))


@on_worker
def _seed_draw_block(x, w, start, previous, factor, key):
    return start + draw_rows(previous[0][0], w, factor, key, start, 1)


@on_worker
def _seed_weights_block(x, w, start, previous, n_candidates):
    return (candidate_weights(previous[0][1], w, n_candidates, 1),)


def _closest_block(x, w, start, previous):
    return previous[0][0]


# ---------------------------------------------------------------------------
# The Dask rows


class _BlockState:
    """Per-block state of a loop (labels, nearest candidates), persisted on
    the workers; `parts` is replaced by each pass."""

    def __init__(self, n_blocks):
        self.parts = [None] * n_blocks


class DaskLloydRows:
    """The Dask LloydRows (lvmfast.cluster._protocols), twin of
    lvmfast.cluster._rows._DenseRows: the Lloyd loop (lvmfast.cluster._lloyd)
    and fit_lloyd_runs over the blocks of a dask X. Labels are a
    _BlockState; sample_weight is ignored in favour of the data's unit-mean
    weights (the same ones KMeans passes)."""

    def __init__(self, data):
        self.data = data
        self.shift = centering_shift(data.mean, data.variance, data.dtype)
        self.keep_row_norms = data.persisted or 12 * data.n_samples <= ROW_STATE_SHARE * data.cluster_memory

    def to_frame(self, centers):
        return np.ascontiguousarray(centers - self.shift, dtype=self.data.dtype)

    def from_frame(self, centers):
        return centers + self.shift

    def new_labels(self):
        return _BlockState(len(self.data.x_blocks))

    def lloyd_step(self, sample_weight, centers, labels, update_centers, with_inertia):
        outputs = self.data.per_block(
            _lloyd_block, self.shift, delayed(centers), update_centers, with_inertia, self.keep_row_norms,
            state=labels.parts,
        )
        labels.parts = None  # run() lets each block's old labels go as its new ones are made
        # the outputs (state, statistics) stay on the workers for the next
        # pass; the first level of the sum reads their statistics
        labels.parts, (total,) = run(
            keep=outputs, compute=[tree_sum(outputs, add_tuples, leaf=add_statistics)], progress=self.data.progress,
        )
        n_changed, sums, weights, inertia = total
        return int(n_changed), sums, weights, float(inertia) if with_inertia else float("nan")

    def farthest_rows(self, sample_weight, centers, labels, n_rows):
        parts = self.data.per_block(_farthest_block, self.shift, delayed(centers), n_rows, state=labels.parts)
        _, parts = run(compute=parts, progress=self.data.progress)
        distances, indices, points, weights, old = (np.concatenate([p[i] for p in parts]) for i in range(5))
        if distances.max(initial=0.0) == 0:
            return []
        order = np.lexsort((indices, -distances))[:n_rows]  # farthest first, then by row
        return [(points[i], float(weights[i]), old[i]) for i in order]

    def n_distinct(self, labels):
        _, parts = run(compute=self.data.per_block(_unique_labels, state=labels.parts, rows=False))
        return len(np.unique(np.concatenate(parts)))

    def same_clustering(self, labels1, labels2, n_clusters):
        """Whether each cluster of labels1 is one cluster of labels2 (as
        lvmfast.cluster._rows._is_same_clustering)."""
        parts = [
            delayed(_label_pairs, pure=True)(None, None, 0, a, b) for a, b in zip(labels1.parts, labels2.parts)
        ]
        _, parts = run(compute=parts)
        pairs = np.unique(np.concatenate(parts), axis=0)
        return len(np.unique(pairs[:, 0])) == len(pairs)

    def labels_array(self, labels):
        """The labels as a dask array in X's row blocks."""
        parts = [p[0][0] for p in labels.parts]
        return as_block_array(parts, self.data.X.chunks[0], np.int32)


class DaskSeedingRows:
    """The Dask SeedingRows (lvmfast.cluster._protocols), twin of
    lvmfast.cluster._kmeans_parallel._LocalSeedingRows: k-means|| rounds over
    the blocks (each row's nearest candidate stays on the workers; the draws
    are keyed by the global row index, so they are the local backend's);
    greedy k-means++ on a uniform sample of sample_size rows."""

    def __init__(self, data, shift, sample_size=DEFAULT_SAMPLE_SIZE):
        self.data, self.shift, self.sample_size = data, shift, sample_size
        self.n_samples, self.dtype = data.n_samples, data.dtype
        self.n_threads = effective_n_threads()
        self.state = _BlockState(len(data.x_blocks))
        self._largest = self._mean = 0.0

    def probabilities(self):
        # the first draw needs every row's probability on the client (8 bytes
        # a row); unit weights are made here instead of brought over
        if self.data.given_weights:
            weights = self.data.gather(self.data.weights).astype(self.dtype)
        else:
            weights = np.ones(self.n_samples, dtype=self.dtype)
        return weights / weights.sum(dtype=np.float64)

    def greedy_seeds(self, n_clusters, random_state):
        return sample_kmeans_plusplus(self.data, n_clusters, random_state, self.sample_size)

    def fold(self, indices, label_offset, single=False):
        outputs = self.data.per_block(
            _seed_fold_block, self.shift, delayed(self.candidates(indices)), int(label_offset), bool(single),
            state=self.state.parts,
        )
        self.state.parts = None  # run() lets each block's old state go as its new one is made
        self.state.parts, sums = run(keep=outputs, compute=[o[1] for o in outputs], progress=self.data.progress)
        potential = 0.0
        for s in sums:  # block order
            potential += s[0]
        self._largest = max(s[1] for s in sums)
        self._mean = sum(s[2] for s in sums) / self.n_samples
        return potential

    def single_precision(self, first):
        if self.dtype != np.float64:
            return False
        return single_precision_scores(self._largest, self._mean, self.data.rows([first])[0], self.shift)

    def draw(self, factor, key):
        parts = self.data.per_block(_seed_draw_block, float(factor), int(key), state=self.state.parts, rows=False)
        _, parts = run(compute=parts)
        return np.concatenate(parts).astype(np.intp)

    def top_up(self, chosen, n_missing, random_state):
        # rare (fewer candidates than clusters): needs every row's distance
        closest = as_block_array(
            self.data.per_block(_closest_block, state=self.state.parts, rows=False), self.data.X.chunks[0], np.float64
        )
        weights = self.data.gather(self.data.weights)
        return _top_up(self.data.gather(closest), weights, chosen, n_missing, random_state)

    def candidate_weights(self, n_candidates):
        parts = self.data.per_block(_seed_weights_block, int(n_candidates), state=self.state.parts, rows=False)
        total = tree_sum(parts, add_tuples)
        _, (total,) = run(compute=[total])
        return total[0]

    def candidates(self, indices):
        return self.data.rows(indices)


# ---------------------------------------------------------------------------
# The estimator


class KMeans(DaskEstimatorMixin, local.KMeans):
    """K-means clustering of a dask array, by Lloyd's algorithm on the Dask
    workers.

    lvmfast.KMeans's loop with the Dask pass: each Lloyd iteration maps the
    compiled Lloyd step over X's blocks on the workers (one kernel thread
    per dask thread), sums the per-block statistics in a fixed tree and
    moves the centers on the client. From the same initial centers it gives
    lvmfast.KMeans's labels, ``n_iter_`` and (to rounding) centers and inertia,
    whatever the chunks; the same chunks give bit-identical results.

    Parameters
    ----------
    n_clusters, max_iter, tol, random_state, copy_x, n_init, oversampling_factor, init_max_iter
        As for :class:`lvmfast.KMeans`.
    verbose : int, default=0
        Print one line per iteration, with its time.
    init : {'k-means||', 'k-means++', 'random'}, callable or array-like, default='k-means||'
        'k-means||': lvmfast's scalable k-means++, its rounds on the
        workers (the local seeding's draws, keyed by row). 'k-means++':
        greedy k-means++ on a uniform sample of `sample_size` rows (all of
        X when smaller: the local seeding). 'random': rows drawn with
        probability proportional to their weight (the weights are brought
        to the client). An array: the initial centers. A callable:
        ``init(X, n_clusters, random_state=...)`` with the dask X.
    algorithm : {'lloyd'}, default='lloyd'
        'elkan' keeps per-row bounds between iterations and is not offered
        on Dask.
    sample_size : int, default=100000
        init='k-means++': rows in the sample it seeds from.
    persist : 'auto' or bool, default='auto'
        Keep X in the workers' memory between passes ('auto': when it takes
        at most half of it), or read it from its source every pass.
    progress : bool, default=False
        Show dask's progress bar on each pass.

    Attributes
    ----------
    cluster_centers_, inertia_, n_iter_, n_features_in_, feature_names_in_
        As for :class:`lvmfast.KMeans` (NumPy arrays).
    labels_ : dask array of shape (n_samples,)
        The cluster of each training row (int32), in X's row blocks.

    See Also
    --------
    lvmfast.KMeans : The in-memory estimator (``to_local()``).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import lvmfast.dask
    >>> rng = np.random.default_rng(0)
    >>> X = da.from_array(np.concatenate([rng.normal(0, 1, (500, 2)), rng.normal(8, 1, (500, 2))]),
    ...                   chunks=(250, 2))
    >>> km = lvmfast.dask.KMeans(n_clusters=2, random_state=0).fit(X)
    >>> np.sort(km.cluster_centers_[:, 0]).round(0) + 0.0
    array([0., 8.])
    >>> km.labels_.compute().shape
    (1000,)
    >>> type(km.to_local()).__name__
    'KMeans'
    """

    _parameter_constraints: dict = {
        **local.KMeans._parameter_constraints,
        "algorithm": [StrOptions({"lloyd"})],
        "sample_size": [integers(1)],
        **DaskEstimatorMixin._dask_constraints,
    }
    _local_class = local.KMeans
    _verbose_seconds = True

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means||",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
        oversampling_factor=2,
        init_max_iter=5,
        sample_size=DEFAULT_SAMPLE_SIZE,
        persist="auto",
        progress=False,
    ):
        super().__init__(
            n_clusters, init=init, n_init=n_init, max_iter=max_iter, tol=tol, verbose=verbose,
            random_state=random_state, copy_x=copy_x, algorithm=algorithm,
            oversampling_factor=oversampling_factor, init_max_iter=init_max_iter,
        )
        self.sample_size = sample_size
        self.persist = persist
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering of a dask X.

        Parameters
        ----------
        X : dask array or dask DataFrame of shape (n_samples, n_features)
            float32 stays float32; other numbers become float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Rechunked to X's row blocks when its blocks differ.

        Returns
        -------
        self : KMeans
            The fitted estimator.
        """
        X_dask = as_dask_rows(X)
        check_input_features(self, X, X_dask, reset=True)
        if X_dask.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X_dask.shape[0]} should be >= n_clusters={self.n_clusters}.")
        init_array = self._check_centers(self.init, X_dask, "init") if self._init_is_array() else None
        data = DaskData(X_dask, sample_weight, weight_dtype=X_dask.dtype, persist=self.persist,
                        progress=self.progress)
        self._persisted = data.persisted
        rows = DaskLloydRows(data)
        check_squared_spread(data.variance, data.dtype, lambda: _is_constant(data))
        tol = self.tol * float(np.mean(data.variance)) if self.tol else 0.0
        local.fit_lloyd_runs(self, X_dask, rows, data.weights, data.weights, data.weight_mean, tol, init_array)
        self.labels_ = rows.labels_array(self.labels_).persist()
        return self

    def _seeding_rows(self, X, rows: "DaskLloydRows", sample_weight) -> "DaskSeedingRows":
        """The seeding backend over the workers' blocks (for KMeans._initial_centers)."""
        return DaskSeedingRows(rows.data, rows.shift, self.sample_size)

    def _check_centers(self, centers, X, what):
        if hasattr(centers, "compute"):
            centers = centers.compute()
        return super()._check_centers(centers, _Shape(X), what)

    # -- using a fitted model: dask arrays in, dask arrays out -------------

    def predict(self, X):
        """The nearest center of each row, as a dask array (int32).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        labels : dask array of shape (n_samples,)
            The cluster of each row.
        """
        return self._map_rows(X, "predict", dtype=np.int32)

    def transform(self, X):
        """Distances of each row to every center, as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        distances : dask array of shape (n_samples, n_clusters)
            Euclidean distances, in X's dtype.
        """
        return self._map_rows(X, "transform", self.n_clusters, as_dask_rows(X).dtype)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X (computed: a float).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Weights of the rows; None weighs each row 1.

        Returns
        -------
        score : float
            Minus the sum of the rows' weighted squared distances to their
            nearest center.
        """
        X_dask = as_dask_rows(X)
        weights = None
        if sample_weight is not None:
            weights = as_dask_vector(sample_weight, X_dask, "sample_weight", X_dask.dtype)
        distances = self._map_rows(X_dask, "transform", self.n_clusters, X_dask.dtype)
        # per block: dask's min reduction fails on a block of 0 rows
        per_row = distances.map_blocks(np.min, axis=1, drop_axis=1, dtype=X_dask.dtype)
        squared = (per_row.astype(np.float64) ** 2)
        return -float((squared if weights is None else squared * weights).sum().compute())

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_`` (a dask array).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Non-negative weights of the rows, rechunked to X's row blocks
            when its blocks differ.

        Returns
        -------
        labels : dask array of shape (n_samples,)
            The cluster of each training row.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of X to the centers (a dask array).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Non-negative weights of the rows, rechunked to X's row blocks
            when its blocks differ.

        Returns
        -------
        distances : dask array of shape (n_samples, n_clusters)
            Euclidean distances, in X's dtype.
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)



class _Shape:
    """What _check_centers reads of X (its dtype and width), without computing it."""

    def __init__(self, X):
        self.dtype, self.shape = X.dtype, X.shape


def sample_kmeans_plusplus(data, n_clusters, random_state, sample_size):
    """Global row indices of greedy k-means++ seeds picked from a uniform
    sample of sample_size rows (from all rows, with their weights, when X
    has no more: then they are lvmfast.kmeans_plusplus's picks)."""
    if data.n_samples <= sample_size:
        indices = np.arange(data.n_samples)
    else:
        indices = np.sort(random_state.choice(data.n_samples, size=sample_size, replace=False))
    sample = data.rows(indices)
    weights = data.weights_of(indices)
    picked = _kmeans_plusplus_indices(sample, weights, n_clusters, random_state, None, effective_n_threads())
    return indices[picked]

