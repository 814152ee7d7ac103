"""KMeans and k_means: the estimator on top of the rows backends, the
seedings and the Lloyd loop.

Imports run one way: lvmfast.cluster._protocols (the backends' contracts)
and lvmfast.cluster._rows (the in-memory backends), then _lloyd (the loop)
and _seeding / _kmeans_parallel (the initializations), then the estimators
(this module, _minibatch) and lvmfast.dask._kmeans, which runs this KMeans
with its own rows.
"""
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
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from lvmfast._parallel import effective_n_threads
from lvmfast._validation import (
    check_sample_weight, integers, positive_reals, unchanged_on_error, unit_mean_weights, validate_float_data, feature_mean_variance,
)
from lvmfast.cluster._kmeans_parallel import _LocalSeedingRows, seed_centers
from lvmfast.cluster._centering import check_squared_spread, centering_shift, is_constant
from lvmfast.cluster._lloyd import lloyd
from lvmfast.cluster._protocols import LloydRows, SeedingRows
from lvmfast.cluster._rows import _DenseRows, _rows
from lvmfast.cluster._seeding import kmeans_plusplus

__all__ = ["KMeans", "k_means", "kmeans_plusplus"]


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

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows, dense or CSR, float32 or float64.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
            The cluster of each row.
        """
        rows, centers = self._fitted_rows(X)
        labels = np.full(rows.X.shape[0], -1, dtype=np.int32)
        rows.lloyd_step(np.ones(rows.X.shape[0], dtype=rows.X.dtype), centers, labels, False, False)
        return labels

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows, dense or CSR, float32 or float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
            The cluster of each training row.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of X to the centers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows, dense or CSR, float32 or float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Euclidean distance of each row to each center, in X's dtype.
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X under the fitted centers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows, dense or CSR, float32 or float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows; None weighs each row 1.

        Returns
        -------
        score : float
            Minus the sum of the rows' weighted squared distances to their
            nearest center.
        """
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
    init : {'k-means++', 'k-means||', 'random'}, callable or array-like of shape (n_clusters, n_features), default='k-means++'
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
        'lloyd''s labels, centers, inertia and ``n_iter_`` (bit for bit in
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
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.

    See Also
    --------
    lvmfast.MiniBatchKMeans : Mini-batch k-means.
    lvmfast.GaussianMixture : Soft clusters of different shapes.
    lvmfast.dask.KMeans : The same on a Dask array.

    Notes
    -----
    The thread count follows OMP_NUM_THREADS and threadpoolctl limits and
    defaults to all usable cores.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import KMeans
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0],
    ...               [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> km.cluster_centers_[np.argsort(km.cluster_centers_[:, 0])]
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> km.predict([[0.0, 0.0], [12.0, 3.0]]).tolist() == km.predict([[1.0, 2.0], [10.0, 2.0]]).tolist()
    True
    >>> float(km.inertia_)
    16.0
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

    def _seeding_rows(self, X, rows: LloydRows, sample_weight) -> SeedingRows:
        """The seeding backend beside `rows` (lvmfast.dask's KMeans gives its own)."""
        return _LocalSeedingRows(X, sample_weight, rows.shift, rows.n_threads)

    def _initial_centers(self, X, rows: LloydRows, sample_weight, random_state, init_array):
        """Initial centers in the rows' frame, on either backend: the string
        inits draw through self._seeding_rows, a callable gets X as given
        to fit."""
        init = self.init
        if isinstance(init, str):
            seeding = self._seeding_rows(X, rows, sample_weight)
            if init == "k-means||":
                centers, _ = seed_centers(
                    seeding, self.n_clusters, random_state, self.oversampling_factor, self.init_max_iter,
                    seeding.n_threads,
                )
            elif init == "k-means++":
                centers = seeding.candidates(seeding.greedy_seeds(self.n_clusters, random_state))
            else:  # "random"
                p = seeding.probabilities()
                if np.count_nonzero(p) < self.n_clusters:
                    raise ValueError(
                        f"init='random' needs n_clusters={self.n_clusters} rows with positive weight; "
                        f"sample_weight has only {np.count_nonzero(p)}."
                    )
                seeds = random_state.choice(seeding.n_samples, size=self.n_clusters, replace=False, p=p)
                centers = seeding.candidates(seeds)
        elif callable(init):
            centers = self._check_centers(
                init(X, self.n_clusters, random_state=random_state), X, "the centers returned by init"
            )
        else:
            centers = init_array
        if sp.issparse(centers):
            centers = centers.toarray()
        return rows.to_frame(np.asarray(centers))

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
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (not all zero). Not used by a
            callable or array init.

        Returns
        -------
        self : KMeans
            The fitted estimator.
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
        # one pass gives the spread check, tol's scale and the dense rows' shift
        mean, variance = feature_mean_variance(X)
        check_squared_spread(variance, X.dtype, lambda: is_constant(X))
        shift = None if sp.issparse(X) else centering_shift(mean, variance, X.dtype)
        rows = _rows(X, self.n_clusters, effective_n_threads(), fitting=True, shift=shift)
        tol = self.tol * float(np.mean(variance)) if self.tol else 0.0
        # Lloyd runs on unit-mean weights: the centers are weighted means,
        # which the weights' scale does not change, but sums of w x with
        # weights of 1e300 (or 1e-310) would overflow (or underflow). The
        # inertia is scaled back to the caller's weights.
        lloyd_weight, weight_scale = unit_mean_weights(sample_weight.astype(np.float64), X.dtype, with_scale=True)
        fit_lloyd_runs(self, X, rows, sample_weight, lloyd_weight, weight_scale, tol, init_array)
        return self

    # The Dask estimators add each iteration's time to the verbose lines.
    _verbose_seconds = False

    def _bounded(self, rows):
        """Whether this fit runs the bounded steps ('elkan' on dense rows)."""
        return self.algorithm == "elkan" and isinstance(rows, _DenseRows) and self.n_clusters > 1

    # -- using a fitted model -----------------------------------------------

    def transform(self, X):
        """Euclidean distances of each row of X to every cluster center.

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
    """Perform k-means clustering: the function form of :class:`lvmfast.KMeans`.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The rows to cluster, dense or CSR; float32 stays float32.
    n_clusters : int
        Number of clusters.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows.
    init : {'k-means++', 'k-means||', 'random'}, callable or array-like, default='k-means++'
        As for :class:`lvmfast.KMeans`.
    n_init : 'auto' or int, default='auto'
        Number of runs from different seeds; the best is kept.
    max_iter : int, default=300
        Maximum Lloyd iterations per run.
    verbose : bool, default=False
        Print one line per iteration.
    tol : float, default=1e-4
        Convergence threshold on the squared shift of the centers, relative
        to the mean per-feature variance of X.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization.
    copy_x : bool, default=True
        Accepted for scikit-learn compatibility; X is never modified.
    algorithm : {'lloyd', 'elkan'}, default='lloyd'
        As for :class:`lvmfast.KMeans`.
    return_n_iter : bool, default=False
        Whether to return the number of iterations too.
    oversampling_factor : float, default=2
        init='k-means||' only: candidates per round, per cluster.
    init_max_iter : int, default=5
        init='k-means||' only: the number of oversampling rounds.

    Returns
    -------
    centroid : ndarray of shape (n_clusters, n_features)
        The cluster centers.
    label : ndarray of shape (n_samples,)
        The cluster of each row.
    inertia : float
        Sum of weighted squared distances of the rows to their center.
    best_n_iter : int
        Iterations of the kept run; only when return_n_iter is True.

    See Also
    --------
    lvmfast.KMeans : The estimator form.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast.cluster import k_means
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])
    >>> centers, labels, inertia = k_means(X, n_clusters=2, random_state=0)
    >>> bool(labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2])
    True
    >>> float(inertia)
    1.0
    """
    est = KMeans(
        n_clusters=n_clusters, init=init, n_init=n_init, max_iter=max_iter, verbose=verbose, tol=tol,
        random_state=random_state, copy_x=copy_x, algorithm=algorithm,
        oversampling_factor=oversampling_factor, init_max_iter=init_max_iter,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_


def fit_lloyd_runs(kmeans, X, rows: LloydRows, sample_weight, lloyd_weight, weight_scale, tol, init_array):
    """The runs of Lloyd from each initialization, on either backend's
    rows (local, or lvmfast.dask's), and kmeans' fitted attributes: what
    KMeans.fit, lvmfast.dask.KMeans.fit and the Dask mixtures' k-means
    initialization share."""
    random_state = check_random_state(kmeans.random_state)
    # scikit-learn records the resolved count as _n_init; its tests read it.
    kmeans._n_init = n_init = kmeans._resolved_n_init()

    best = None
    for _ in range(n_init):
        centers = kmeans._initial_centers(X, rows, sample_weight, random_state, init_array)
        if kmeans.verbose:
            print("Initialization complete")
        run = lloyd(
            rows, lloyd_weight, centers, max_iter=kmeans.max_iter, tol=tol, bounded=kmeans._bounded(rows),
            verbose=kmeans.verbose, weight_scale=weight_scale, verbose_seconds=kmeans._verbose_seconds,
        )
        labels, inertia = run[0], run[1]
        if best is None or (inertia < best[1] and not rows.same_clustering(labels, best[0], kmeans.n_clusters)):
            best = run

    labels, inertia, centers, n_iter = best
    distinct = rows.n_distinct(labels)
    if distinct < kmeans.n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
            f"({kmeans.n_clusters}). Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=3,
        )
    kmeans.cluster_centers_ = centers
    kmeans._x_mean = rows.shift
    kmeans.labels_ = labels
    with np.errstate(over="ignore"):
        kmeans.inertia_ = inertia * weight_scale
    kmeans.n_iter_ = n_iter
