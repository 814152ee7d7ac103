"""Mini-batch k-means: scikit-learn's MiniBatchKMeans on lvmfast's kernels.

The algorithm, its random draws and its early stopping are scikit-learn's
(1.9): a validation set and an init subset drawn with randint, k-means++
(or the other inits) on the subset, then steps that each draw a batch with
``RandomState.choice(n_samples, batch_size, p=normalized weights)``, label
it, move the centers (each by the mean of its old position, weighted by its
running count, and of its new rows), now and then re-seed the centers whose
count stays far below the others', and stop on a small center shift or on an
exponentially weighted average of the batch inertia that stops improving.
From the same initial centers and random_state it draws the same batches
and follows scikit-learn's iterations.

Dense X runs many steps per call of lvmfast._kernels._minibatch: the
batches come from uniforms drawn up front with the RandomState (the same
numbers choice() would draw), so an epoch costs a few Python calls, not
one per step, and never the O(n_samples) work per step that choice(p=...)
does. The kernel returns at the steps that need a random reassignment; the
RandomState is then rewound to that step, and Python draws as scikit-learn
does. CSR X runs a Python loop over steps on the CSR Lloyd kernel.
"""
import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from lvmfast._kernels import _distances
from lvmfast._kernels import _minibatch as kernels
from lvmfast._kernels import _sparse
from lvmfast._parallel import blas_single_thread, effective_n_threads, plan_blocks, threads_for_work
from lvmfast._validation import (
    check_sample_weight,
    draw_probabilities,
    integers,
    unchanged_on_error,
    validate_float_data,
)
from lvmfast._validation import feature_mean_variance
from lvmfast.cluster._centering import centering_shift, check_squared_spread, is_constant
from lvmfast.cluster._kmeans import _BaseKMeans
from lvmfast.cluster._rows import CSRRows, _DenseRows, _rows, _sq_norms, plan_csr_blocks
from lvmfast.cluster._seeding import _kmeans_plusplus_indices

__all__ = ["MiniBatchKMeans"]

_STATUS = kernels.STATUS
_SLOT = kernels.STATE_SLOTS
# The uniforms drawn up front for one kernel call: at most 8 MiB.
MAX_UNIFORMS = 2**20


def _batch_chunk_rows(n_rows, n_features, n_clusters, itemsize):
    """Rows per chunk of the batch kernels: cache-sized, and small enough that
    a batch of 1024 splits into 8 chunks for the threads. Depends on the
    shapes only, never on the thread count."""
    chunk = plan_blocks(n_rows, row_bytes=(n_features + n_clusters + 2) * itemsize).chunk_rows
    eighth = -(-n_rows // 8)
    return max(16, min(chunk, -(-eighth // 16) * 16))


def _step_threads(n_threads, batch_size, n_clusters, n_features):
    """Threads for the mini-batch steps: the shared rule on a step's
    assignment (batch rows x n_clusters x n_features multiply-adds)."""
    return threads_for_work(batch_size * n_clusters * n_features, n_threads)


def _new_state():
    state = np.zeros(kernels.N_STATE)
    for slot in ("ewa_inertia", "ewa_inertia_min", "batch_inertia", "centers_squared_diff"):
        state[_SLOT[slot]] = np.nan
    return state


def _optional(value):
    return None if np.isnan(value) else float(value)


def _sampling_cdf(sample_weight):
    """The cumulative distribution RandomState.choice(p=w / w.sum()) builds,
    from the weights normalized in float64 (scikit-learn normalizes them in
    X's dtype, which float32 weights whose sum overflows turn into NaN)."""
    cdf = np.cumsum(draw_probabilities(sample_weight))
    cdf /= cdf[-1]
    return cdf


def _check_counts_stay_finite(counts, sample_weight, dtype):
    """partial_fit keeps each center's running count, the sum of the weights
    of the rows it took, in X's dtype (as scikit-learn does): refuse weights
    that could take a count past that dtype's maximum (float32: 3.4e38)."""
    with np.errstate(over="ignore"):
        total = np.sum(sample_weight, dtype=np.float64)
        if counts is not None:
            total += np.sum(counts, dtype=np.float64)
    largest = float(np.finfo(dtype).max)
    if not total <= largest:
        raise ValueError(
            f"sample_weight: the running counts of partial_fit (sums of the weights, here up to {total:.3g}) "
            f"would overflow {np.dtype(dtype).name} (maximum {largest:.3g}); scale the weights down (only "
            f"their ratios matter, within and across calls)."
        )


def _csr_step(X, row_sq_norms, sample_weight, centers, counts, n_threads):
    """A mini-batch step on all rows of the CSR batch X (centers in X's
    frame): the same arithmetic as the dense kernel's step, with the batch's
    sums from the CSR Lloyd kernel. Returns the new centers and the batch
    inertia (rounded to X's dtype); updates counts."""
    n_rows, n_features = X.shape
    n_clusters = centers.shape[0]
    # The work of a step: each nonzero meets every center.
    n_threads = _step_threads(n_threads, n_rows, n_clusters, max(1, X.nnz // max(n_rows, 1)))
    plan = plan_csr_blocks(X, n_clusters)
    labels = np.full(n_rows, -1, dtype=np.int32)
    sums = np.empty((n_clusters, n_features))
    weights = np.empty(n_clusters)
    block_inertia = np.empty(plan.n_blocks)
    _sparse.csr_lloyd_step(
        X.data, X.indices, X.indptr, n_features, sample_weight, centers, _sq_norms(centers), labels,
        row_sq_norms, sums, weights, block_inertia, plan.chunk_rows, plan.block_rows, n_threads, True, True,
    )
    inertia = float(X.dtype.type(block_inertia.sum()))
    new = centers.copy()
    filled = weights > 0
    old_counts = counts[filled].astype(np.float64)
    counts[filled] = old_counts + weights[filled]
    alpha = 1.0 / counts[filled].astype(np.float64)
    new[filled] = (centers[filled] * old_counts[:, None] + sums[filled]) * alpha[:, None]
    return new, inertia


class MiniBatchKMeans(_BaseKMeans):
    """Mini-batch k-means clustering.

    A drop-in for ``sklearn.cluster.MiniBatchKMeans``: the same parameters,
    attributes and methods, and from the same initial centers and
    random_state the same batches and iterations, run by compiled OpenMP
    kernels that take many steps per call.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features), default='k-means++'
        As in :class:`lvmfast.KMeans`; 'k-means++' and 'random' (and a callable)
        work on a random subset of ``init_size`` rows.
    max_iter : int, default=100
        Maximum number of passes over the data (epochs): the fit runs at
        most ``max_iter * n_samples // batch_size`` steps.
    batch_size : int, default=1024
        Rows per mini-batch (at most n_samples).
    verbose : int, default=0
        Print the inits' inertia and each step's batch inertia, as
        scikit-learn does.
    compute_labels : bool, default=True
        Compute ``labels_`` and ``inertia_`` on the whole training set at the
        end of fit (and on the batch in partial_fit).
    random_state : int, RandomState instance or None, default=None
        Seed of the init, the batches and the reassignments, drawn as
        scikit-learn draws them; results do not depend on the thread count.
    tol : float, default=0.0
        Stop when the squared shift of the centers in a step is at most tol
        times the mean per-feature variance of X; 0 disables it.
    max_no_improvement : int or None, default=10
        Stop when the smoothed batch inertia has not improved for this many
        steps; None disables it.
    init_size : int, default=None
        Rows drawn at random for the init (and for the validation set that
        picks the best of n_init inits); None means ``3 * batch_size``, at
        least ``3 * n_clusters``, at most n_samples.
    n_init : 'auto' or int, default='auto'
        Number of inits tried (each on its own subset); the one with the
        least inertia on the validation set is kept. 'auto' is 1 for
        'k-means++' or an array and 3 otherwise.
    reassignment_ratio : float, default=0.01
        Centers whose count falls below this fraction of the largest count
        are moved to random rows of the batch (checked every
        ``10 * n_clusters`` rows, or when a count is 0).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Cluster centers, in X's dtype.
    labels_ : ndarray of shape (n_samples,), dtype int32
        The cluster of each training row (when compute_labels).
    inertia_ : float
        With compute_labels, the weighted inertia of the training set;
        otherwise the smoothed batch inertia times the sum of the weights.
    n_iter_ : int
        Epochs started: ``ceil(n_steps_ * batch_size / n_samples)``.
    n_steps_ : int
        Mini-batch steps run.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.

    See Also
    --------
    lvmfast.KMeans : Full-batch k-means.

    Notes
    -----
    Differences from scikit-learn: negative sample weights are refused (as
    by :class:`lvmfast.KMeans`); dense rows are centered by the training mean chunk by
    chunk in the distance computations, and sums are taken in float64, so
    results agree with scikit-learn's to rounding, not bit for bit. The
    batches' sampling weights are normalized in float64: float32 weights
    whose sum overflows float32 (which scikit-learn turns into NaN) keep
    their ratios.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import MiniBatchKMeans
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 0.5, (500, 2)), rng.normal(8, 0.5, (500, 2))])
    >>> mbk = MiniBatchKMeans(n_clusters=2, batch_size=100, random_state=0).fit(X)
    >>> np.sort(mbk.cluster_centers_[:, 0]).round(0) + 0.0
    array([0., 8.])
    >>> mbk = mbk.partial_fit(X[:100])   # one more step on a batch
    >>> mbk.predict([[0.0, 0.0]]) != mbk.predict([[8.0, 8.0]])
    array([ True])
    """

    # scikit-learn's MiniBatchKMeans constraints (no 'k-means||' init), with
    # lvmfast's integers (bools refused).
    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's convention
        "n_clusters": [integers(1)],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), integers(1)],
        "max_iter": [integers(1)],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "batch_size": [integers(1)],
        "compute_labels": ["boolean"],
        "max_no_improvement": [integers(0), None],
        "init_size": [integers(1), None],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        verbose=0,
        compute_labels=True,
        random_state=None,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio

    def transform(self, X):
        """Euclidean distances of each row of X to every cluster center.

        Dense rows use direct differences, so a row equal to a center is at
        distance exactly 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows, dense or CSR, float32 or float64.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            In X's dtype.
        """
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else None
        rows, centers = self._fitted_rows(X)
        if sp.issparse(rows.X):
            out = rows.sq_distances(centers, self.cluster_centers_)
        else:
            out = np.empty((rows.X.shape[0], self.n_clusters), dtype=rows.X.dtype)
            plan = plan_blocks(rows.X.shape[0], row_bytes=self.n_clusters * 8)
            _distances.direct_pairwise_sq_distances(
                rows.X, np.ascontiguousarray(self.cluster_centers_, dtype=rows.X.dtype), out, plan.chunk_rows,
                rows.n_threads,
            )
        out = np.sqrt(out, out=out)
        if dtype is not None and out.dtype != dtype:  # measured in float64 (see KMeans._fitted_rows)
            with np.errstate(over="ignore"):  # distances past the float32 maximum are inf
                out = out.astype(dtype)
        return out

    # -- parameters ---------------------------------------------------------

    def _check_params_vs_input(self, X):
        """scikit-learn's checks of the parameters against X, in its order;
        records _tol, _n_init, _batch_size and _init_size (its tests read
        them). Returns the dense rows' shift (None for CSR): one mean and
        variance pass serves the spread check, tol's scale and the shift."""
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        mean, variance = feature_mean_variance(X)
        check_squared_spread(variance, X.dtype, lambda: is_constant(X))
        self._tol = self.tol * float(np.mean(variance)) if self.tol else 0.0
        if self.n_init == "auto":
            self._n_init = 1 if (self._init_is_array() or self.init == "k-means++") else 3
        else:
            self._n_init = self.n_init
        if self._init_is_array() and self._n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={self._n_init}.",
                RuntimeWarning,
                stacklevel=3,
            )
            self._n_init = 1
        self._batch_size = min(self.batch_size, n_samples)
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * self._batch_size
            if init_size < self.n_clusters:
                init_size = 3 * self.n_clusters
        elif init_size < self.n_clusters:
            warnings.warn(
                f"init_size={init_size} should be larger than n_clusters={self.n_clusters}. "
                "Setting it to min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=3,
            )
            init_size = 3 * self.n_clusters
        self._init_size = min(init_size, n_samples)
        return None if sp.issparse(X) else centering_shift(mean, variance, X.dtype)

    # -- fitting ------------------------------------------------------------

    def _initial_centers(self, X, sample_weight, random_state, init_array, n_threads):
        """Initial centers in X's frame and dtype, from a random subset of
        _init_size rows when that is fewer than X's (scikit-learn's
        _init_centroids)."""
        n_samples = X.shape[0]
        if self._init_size < n_samples:
            subset = random_state.randint(0, n_samples, self._init_size)
            X, sample_weight = X[subset], sample_weight[subset]
        init = self.init
        if isinstance(init, str) and init in ("k-means++", "random"):
            positive = np.count_nonzero(sample_weight)
            if positive < (1 if init == "k-means++" else self.n_clusters):
                raise ValueError(
                    f"init={init!r} needs {self.n_clusters if init == 'random' else 1} row(s) with positive "
                    f"sample_weight among the {X.shape[0]} rows drawn for the init (init_size="
                    f"{self._init_size}); they have {positive}. Raise init_size, or give the rows weight."
                )
        if isinstance(init, str) and init == "k-means++":
            centers = X[_kmeans_plusplus_indices(X, sample_weight, self.n_clusters, random_state, None, n_threads)]
        elif isinstance(init, str) and init == "random":
            seeds = random_state.choice(
                X.shape[0], size=self.n_clusters, replace=False, p=draw_probabilities(sample_weight)
            )
            centers = X[seeds]
        elif callable(init):
            centers = self._check_centers(
                init(X, self.n_clusters, random_state=random_state), X, "the centers returned by init"
            )
        else:
            centers = init_array
        if sp.issparse(centers):
            centers = centers.toarray()
        return np.array(centers, dtype=X.dtype, order="C")

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Compute the centers on X by mini-batches.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows. float32 stays float32; other numbers become
            float64. Sparse input is used as CSR.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (not all zero): batches are drawn
            with probability proportional to them. Also used by the
            'k-means++' and 'random' inits, not by a callable or array init.

        Returns
        -------
        self : MiniBatchKMeans
            The fitted estimator.
        """
        X = validate_float_data(self, X, reset=True, accept_sparse="csr")
        shift = self._check_params_vs_input(X)
        random_state = check_random_state(self.random_state)
        sample_weight = check_sample_weight(sample_weight, X, X.dtype)
        init_array = self._check_centers(self.init, X, "init") if self._init_is_array() else None
        n_samples = X.shape[0]
        n_threads = effective_n_threads()
        rows = _rows(X, self.n_clusters, n_threads, shift=shift)

        # The validation set that picks the best init.
        validation = random_state.randint(0, n_samples, self._init_size)
        valid_rows = _rows(X[validation], self.n_clusters, n_threads, shift=rows.shift)
        valid_weight = np.ascontiguousarray(sample_weight[validation])
        valid_labels = np.empty(validation.shape[0], dtype=np.int32)
        best_inertia = best_centers = None
        for init_index in range(self._n_init):
            if self.verbose:
                print(f"Init {init_index + 1}/{self._n_init} with method {self.init}")
            centers = self._initial_centers(X, sample_weight, random_state, init_array, n_threads)
            with blas_single_thread():
                inertia = valid_rows.lloyd_step(valid_weight, rows.to_frame(centers), valid_labels, False, True)[3]
            if self.verbose:
                print(f"Inertia for init {init_index + 1}/{self._n_init}: {inertia}")
            if best_inertia is None or inertia < best_inertia:
                best_centers, best_inertia = centers, inertia

        centers = rows.to_frame(best_centers)
        counts = np.zeros(self.n_clusters, dtype=X.dtype)
        state = _new_state()
        n_steps = (self.max_iter * n_samples) // self._batch_size
        run_steps = self._sparse_steps if sp.issparse(X) else self._dense_steps
        with blas_single_thread():
            centers, steps_done = run_steps(rows, sample_weight, centers, counts, state, random_state, n_steps, n_threads)
            if self.compute_labels:
                labels = np.full(n_samples, -1, dtype=np.int32)
                inertia = rows.lloyd_step(sample_weight, centers, labels, False, True)[3]

        self.cluster_centers_ = rows.from_frame(centers)
        self._x_mean = rows.shift
        self._counts = counts
        self._ewa_inertia = _optional(state[_SLOT["ewa_inertia"]])
        self._ewa_inertia_min = _optional(state[_SLOT["ewa_inertia_min"]])
        self._no_improvement = int(state[_SLOT["no_improvement"]])
        self._n_since_last_reassign = int(state[_SLOT["since_last_reassign"]])
        self.n_steps_ = steps_done
        self.n_iter_ = int(np.ceil(steps_done * self._batch_size / n_samples))
        if self.compute_labels:
            self.labels_ = labels
            self.inertia_ = inertia
        else:
            # scikit-learn's smoothed batch inertia; after a single step there
            # is none yet (scikit-learn fails there), so that step's is used.
            ewa = self._ewa_inertia if self._ewa_inertia is not None else state[_SLOT["batch_inertia"]]
            with np.errstate(over="ignore"):  # inf only past the float64 maximum
                self.inertia_ = float(ewa * np.sum(sample_weight, dtype=np.float64))
        return self

    def _dense_steps(self, rows: _DenseRows, sample_weight, centers, counts, state, random_state, n_steps, n_threads):
        """The steps of a dense fit, many per kernel call. Returns the final
        centers (in the rows' frame) and the number of steps run."""
        X, batch_size = rows.X, self._batch_size
        n_samples, n_features = X.shape
        cdf = _sampling_cdf(sample_weight)
        previous = np.empty_like(centers)
        batch_rows = np.empty(batch_size, dtype=np.intp)
        chunk_rows = _batch_chunk_rows(batch_size, n_features, self.n_clusters, X.itemsize)
        step_threads = _step_threads(n_threads, batch_size, self.n_clusters, n_features)
        max_no_improvement = -1 if self.max_no_improvement is None else self.max_no_improvement
        longest = max(1, MAX_UNIFORMS // batch_size)
        run = 1 if self.verbose else min(8, longest)
        done = 0
        while done < n_steps:
            n_run = min(run, n_steps - done)
            saved = random_state.get_state() if n_run > 1 else None
            uniforms = random_state.random_sample((n_run, batch_size))
            n_ran, status = kernels.minibatch_steps(
                X, rows.shift, cdf, uniforms, centers, previous, counts, state, batch_rows, done, self._tol,
                max_no_improvement, self.reassignment_ratio, chunk_rows, step_threads,
            )
            done += n_ran
            if status == _STATUS["needs_reassignment"]:
                if n_ran < n_run:  # rewind the RandomState to the end of that step's draws
                    random_state.set_state(saved)
                    random_state.random_sample((n_ran, batch_size))
                self._reassign(centers, counts, batch_size, lambda picks: rows.to_frame(X[batch_rows[picks]]),
                               random_state)
                status = self._convergence(state, done - 1, n_samples, centers, previous, max_no_improvement)
                run = min(longest, 2 * n_ran)
            else:
                run = min(longest, 2 * run)
            if self.verbose:
                self._report(state, done, n_steps, status)
                run = 1  # one step per call, to print each
            if status != _STATUS["ran_all"]:
                break
        return centers, done

    def _sparse_steps(self, rows: CSRRows, sample_weight, centers, counts, state, random_state, n_steps, n_threads):
        """The steps of a CSR fit, one per Python iteration: the dense
        kernel's logic on CSR batches."""
        X, batch_size = rows.X, self._batch_size
        n_samples = X.shape[0]
        cdf = _sampling_cdf(sample_weight)
        unit_weight = np.ones(batch_size, dtype=X.dtype)
        batch_rows = np.empty(batch_size, dtype=np.intp)
        max_no_improvement = -1 if self.max_no_improvement is None else self.max_no_improvement
        since = _SLOT["since_last_reassign"]
        for step in range(n_steps):
            kernels.sample_rows(cdf, random_state.random_sample(batch_size), batch_rows)
            state[since] += batch_size
            due = bool((counts == 0).any()) or state[since] >= 10 * self.n_clusters
            if due:
                state[since] = 0
            batch = X[batch_rows]
            previous = centers
            centers, inertia = _csr_step(batch, rows.row_sq_norms[batch_rows], unit_weight, centers, counts,
                                         n_threads)
            if due and self.reassignment_ratio > 0:
                self._reassign(centers, counts, batch_size, lambda picks, batch=batch: batch[picks].toarray(),
                               random_state)
            state[_SLOT["batch_inertia"]] = inertia / batch_size
            status = self._convergence(state, step, n_samples, centers, previous, max_no_improvement)
            if self.verbose:
                self._report(state, step + 1, n_steps, status)
            if status != _STATUS["ran_all"]:
                break
        return centers, step + 1

    def _convergence(self, state, step, n_samples, centers, previous, max_no_improvement):
        """The kernel's early-stopping test for a step finished in Python
        (its batch inertia already in the state)."""
        diff = 0.0
        if self._tol > 0:
            diff = float(np.sum((centers.astype(np.float64) - previous) ** 2))
        return kernels.minibatch_convergence(
            state, step, n_samples, self._batch_size, diff, state[_SLOT["batch_inertia"]], self._tol,
            max_no_improvement,
        )

    def _reassign(self, centers, counts, batch_size, batch_rows_in_frame, random_state):
        """scikit-learn's random reassignment: centers whose count is below
        reassignment_ratio times the largest (at most half the batch size of
        them, the least counted) move to distinct random rows of the batch,
        and their counts become the least count of the others."""
        to_reassign = counts < self.reassignment_ratio * counts.max()
        if to_reassign.sum() > 0.5 * batch_size:
            keep = np.argsort(counts)[int(0.5 * batch_size):]
            to_reassign[keep] = False
        n_reassigns = int(to_reassign.sum())
        if n_reassigns:
            picks = random_state.choice(batch_size, replace=False, size=n_reassigns)
            if self.verbose:
                print(f"[MiniBatchKMeans] Reassigning {n_reassigns} cluster centers.")
            centers[to_reassign] = batch_rows_in_frame(picks)
        # (scikit-learn fails when every center is to be reassigned; lvmfast
        # then keeps the counts.)
        if n_reassigns < counts.shape[0]:
            counts[to_reassign] = np.min(counts[~to_reassign])

    @staticmethod
    def _report(state, step, n_steps, status):
        batch_inertia = state[_SLOT["batch_inertia"]]
        if step == 1:
            print(f"Minibatch step {step}/{n_steps}: mean batch inertia: {batch_inertia}")
        else:
            print(f"Minibatch step {step}/{n_steps}: mean batch inertia: {batch_inertia}, "
                  f"ewa inertia: {state[_SLOT['ewa_inertia']]}")
        if status == _STATUS["converged_centers"]:
            print(f"Converged (small centers change) at step {step}/{n_steps}")
        elif status == _STATUS["converged_inertia"]:
            print(f"Converged (lack of improvement in inertia) at step {step}/{n_steps}")

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the centers with one mini-batch step on X.

        The first call initializes the centers from X (as fit does, with one
        init and no validation set).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The batch. float32 stays float32; sparse input is used as CSR.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch's rows. Each center's running
            count sums the weights of its rows in X's dtype: weights that
            could take it past that dtype's maximum are refused.

        Returns
        -------
        self : MiniBatchKMeans
            The fitted estimator.
        """
        has_centers = hasattr(self, "cluster_centers_")
        X = validate_float_data(self, X, reset=not has_centers, accept_sparse="csr")
        random_state = getattr(self, "_random_state", None)
        if random_state is None:
            random_state = check_random_state(self.random_state)
        sample_weight = check_sample_weight(sample_weight, X, X.dtype)
        _check_counts_stay_finite(self._counts if has_centers else None, sample_weight, X.dtype)
        n_threads = effective_n_threads()
        if not has_centers:
            shift = self._check_params_vs_input(X)
            init_array = self._check_centers(self.init, X, "init") if self._init_is_array() else None
            rows = _rows(X, self.n_clusters, n_threads, shift=shift)
            cluster_centers = self._initial_centers(X, sample_weight, random_state, init_array, n_threads)
            counts = np.zeros(self.n_clusters, dtype=X.dtype)
            since = 0
        else:
            rows = _rows(X, self.n_clusters, n_threads, shift=self._x_mean)
            cluster_centers = self.cluster_centers_
            counts = self._counts.astype(X.dtype)  # a copy: a failed call changes nothing
            since = self._n_since_last_reassign
        centers = rows.to_frame(cluster_centers)
        since += self._batch_size
        due = bool((counts == 0).any()) or since >= 10 * self.n_clusters
        if due:
            since = 0
        n_rows = X.shape[0]
        with blas_single_thread():
            if sp.issparse(X):
                new, _ = _csr_step(X, rows.row_sq_norms, sample_weight, centers, counts, n_threads)
                batch_rows_in_frame = lambda picks: X[picks].toarray()
            else:
                new = np.empty_like(centers)
                kernels.minibatch_step(
                    X, rows.shift, sample_weight, None, centers, new, counts, np.empty(n_rows, dtype=np.int32),
                    np.empty(self.n_clusters), _batch_chunk_rows(n_rows, X.shape[1], self.n_clusters, X.itemsize),
                    _step_threads(n_threads, n_rows, self.n_clusters, X.shape[1]),
                )
                batch_rows_in_frame = lambda picks: rows.to_frame(X[picks])
            if due and self.reassignment_ratio > 0:
                self._reassign(new, counts, n_rows, batch_rows_in_frame, random_state)
            if self.compute_labels:
                labels = np.full(n_rows, -1, dtype=np.int32)
                inertia = rows.lloyd_step(sample_weight, new, labels, False, True)[3]

        self._random_state = random_state
        self.cluster_centers_ = rows.from_frame(new)
        self._x_mean = rows.shift
        self._counts = counts
        self._n_since_last_reassign = since
        self.n_steps_ = getattr(self, "n_steps_", 0) + 1
        if self.compute_labels:
            self.labels_ = labels
            self.inertia_ = inertia
        return self
