"""GaussianMixture and BayesianGaussianMixture on dask arrays: the
in-memory mixtures' loop (fit_rows) with the Dask pass of this module."""
import numpy as np
from dask import delayed
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from lvmfast._gaussian import LocalEMRows, em_statistics
from lvmfast._validation import integers, unchanged_on_error
from lvmfast.dask._core import (
    DaskData, add_tuples, as_dask_rows, as_dask_vector, check_input_features, on_worker, run, tree_sum,
)
from lvmfast.dask._estimator import DaskEstimatorMixin, DaskInformationCriteria
from lvmfast.cluster._kmeans import fit_lloyd_runs
from lvmfast.dask._kmeans import DEFAULT_SAMPLE_SIZE, DaskLloydRows, KMeans, sample_kmeans_plusplus
from lvmfast.mixture import _bayesian_mixture as local_bayesian
from lvmfast.mixture import _gaussian_mixture as local
from lvmfast.mixture._base import NK_EPSILON, fit_rows, random_seed_rows, second_moments

__all__ = ["BayesianGaussianMixture", "GaussianMixture"]

# What init_params each backend offers: 'random' draws N x K uniforms from
# one sequential random stream on the client, which does not scale.
DASK_INIT_PARAMS = ("kmeans", "k-means++", "random_from_data")


@on_worker
def _em_block(x, w, start, shift, params, covariance_type, allow_missing=False):
    """The fused E + M-statistics pass of the local backend, on one block
    (with missing entries: LocalEMRows' pass, in the frame of the shift)."""
    log_weights, means, precisions_cholesky = params
    if allow_missing:
        rows = LocalEMRows(x, w, 1, allow_missing=True, check_columns=False)
        if rows.incomplete is not None:
            rows.shift = np.asarray(shift, dtype=np.float64)
            return rows.em_statistics(log_weights, means, precisions_cholesky, covariance_type)
    return em_statistics(x, shift, w, log_weights, means, precisions_cholesky, covariance_type, 1)


# Rows of X the initial responsibilities of a fit with missing entries are
# drawn on (evenly spaced over X), on the client.
INITIAL_SAMPLE_ROWS = 100_000


@on_worker
def _one_hot_first_moments(x, w, start, labels, shift, n_components):
    """nk and s1 of one-hot responsibilities (a row's label) on one block."""
    w = w.astype(np.float64)
    nk = np.bincount(labels, weights=w, minlength=n_components)
    centered = x.astype(np.float64) - shift
    s1 = np.stack([np.bincount(labels, weights=w * centered[:, j], minlength=n_components)
                   for j in range(x.shape[1])], axis=1)
    return nk, s1


@on_worker
def _one_hot_second_moments(x, w, start, labels, shift, means, covariance_type):
    w = w.astype(np.float64)
    resp = np.zeros((x.shape[0], means.shape[0]))
    resp[np.arange(x.shape[0]), labels] = w
    return (second_moments(covariance_type, x.astype(np.float64) - shift, resp, means, w),)


@on_worker
def _tied_scatter_block(x, w, start, shift, covered):
    """The tied initial scatter's share of one block (it is a sum over rows)."""
    local_rows = covered[(covered >= start) & (covered < start + x.shape[0])] - start
    return (local.GaussianMixture._tied_initial_scatter(x, shift, w.astype(np.float64), local_rows),)


class DaskEMRows:
    """The Dask backend of the EM pass: the attributes and em_statistics of
    lvmfast._gaussian.LocalEMRows, over a dask X's blocks."""

    def __init__(self, data, allow_missing=False):
        self.data, self.dtype = data, data.dtype
        self.shift = data.mean
        self.total_weight = data.total_weight
        self.allow_missing = allow_missing
        self.observed_moments = (lambda: (data.mean, data.variance * data.n_samples / max(data.n_samples - 1, 1))) \
            if allow_missing else None

    def rows_for_initialization(self, n_components):
        """These rows, or with allow_missing, LocalEMRows on up to
        INITIAL_SAMPLE_ROWS evenly spaced rows of X (gathered to the client),
        in this pass's frame (its rows_for_initialization: their complete
        rows or their mean-filled copy)."""
        if not self.allow_missing:
            return self
        data = self.data
        indices = np.unique(np.linspace(0, data.n_samples - 1, min(data.n_samples, INITIAL_SAMPLE_ROWS)).astype(np.int64))
        sample = LocalEMRows(data.rows(indices), np.asarray(data.weights_of(indices), dtype=np.float64), None,
                             allow_missing=True, check_columns=False)
        sample.shift = self.shift
        return sample.rows_for_initialization(n_components)

    def em_statistics(self, log_weights, means, precisions_cholesky, covariance_type):
        params = delayed((log_weights, means, precisions_cholesky))
        parts = self.data.per_block(_em_block, self.shift.astype(self.dtype), params, covariance_type,
                                    self.allow_missing)
        _, (total,) = run(compute=[tree_sum(parts, add_tuples)], progress=self.data.progress)
        nk, s1, s2, log_likelihood = total
        return nk, s1, s2, float(log_likelihood)


class _DaskMixture(DaskEstimatorMixin):
    """The Dask side of both mixtures: fit through the in-memory loop with
    the Dask pass (DaskEMRows), the initial responsibilities summed on the
    workers, and predictions mapped over X's blocks. Mixed in before the
    in-memory class."""

    _verbose_seconds = True

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters on a dask X.

        Parameters
        ----------
        X : dask array or dask DataFrame of shape (n_samples, n_features)
            Numeric columns; float32 stays float32, other numbers become
            float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Non-negative weights of the rows, rechunked to X's row blocks
            when its blocks differ.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most likely component of each row.

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
            The component of each row.
        """
        return self._fit(X, sample_weight).predict(X)

    # A stream's batches fit in memory, so streaming is the in-memory
    # estimators' partial_fit; hasattr(dask_mixture, "partial_fit") is False.
    @available_if(lambda estimator: False)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Not offered on Dask: stream batches through the in-memory
        estimator's partial_fit (``to_local()``)."""

    def _fit(self, X, sample_weight):
        warm = self.warm_start and hasattr(self, "converged_")
        X_dask = as_dask_rows(X)
        check_input_features(self, X, X_dask, reset=not warm)
        n_samples, n_features = X_dask.shape
        if n_samples < max(self.n_components, 2):
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        self._check_initial_parameters(n_features)
        data = DaskData(X_dask, sample_weight, weight_dtype=np.float64, persist=self.persist, progress=self.progress,
                        allow_nan=self.allow_missing)
        fit_rows(self, DaskEMRows(data, self.allow_missing and data.has_missing), warm)
        self._persisted = data.persisted
        return self

    def _initial_statistics(self, rows, random_state):
        """nk, s1, s2 (around the resulting means) of the initial one-hot
        responsibilities, summed on the workers."""
        if isinstance(rows, LocalEMRows):  # missing entries: drawn on a sample of rows (rows_for_initialization)
            return super()._initial_statistics(rows, random_state)
        data, shift, k = rows.data, rows.shift, self.n_components
        if self.init_params == "kmeans":
            kmeans = KMeans(k, n_init=1, random_state=random_state, persist=False, progress=self.progress)
            kmeans_rows = DaskLloydRows(data)
            tol = kmeans.tol * float(np.mean(data.variance))
            fit_lloyd_runs(kmeans, data.X, kmeans_rows, data.weights, data.weights, 1.0, tol, None)
            labels = [p[0][0] for p in kmeans.labels_.parts]
            return self._labelled_statistics(data, shift, labels)
        if self.init_params == "k-means++":
            indices = sample_kmeans_plusplus(data, k, random_state, self.sample_size)
        else:  # random_from_data: the local estimator's draw
            weights = data.gather(data.weights) if data.given_weights else None
            indices = random_seed_rows(data.n_samples, k, random_state, weights)
        x, w = data.rows(indices), data.weights_of(indices)
        if self.covariance_type != "tied":
            return self._one_hot_statistics(x, shift, w, np.arange(k), np.arange(k))
        nk = w.astype(np.float64)
        s1 = nk[:, None] * (x.astype(np.float64) - shift)
        parts = data.per_block(_tied_scatter_block, shift, np.sort(np.asarray(indices, dtype=np.int64)))
        _, (s2,) = run(compute=[tree_sum(parts, add_tuples)])
        return nk, s1, s2[0], s1 / (nk + NK_EPSILON)[:, None]

    def _labelled_statistics(self, data, shift, labels):
        """Two passes: nk and s1 of the labels, then s2 around their means."""
        k = self.n_components
        first = data.per_block(_one_hot_first_moments, shift, k, state=labels)
        _, (total,) = run(compute=[tree_sum(first, add_tuples)])
        nk, s1 = total
        means = s1 / (nk + NK_EPSILON)[:, None]
        second = data.per_block(_one_hot_second_moments, shift, means, self.covariance_type, state=labels)
        _, (s2,) = run(compute=[tree_sum(second, add_tuples)])
        return nk, s1, s2[0], means

    # -- using a fitted model: dask arrays in, dask arrays out -------------

    def predict(self, X):
        """The most likely component of each row, as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        labels : dask array of shape (n_samples,)
            The component of each row, in X's row blocks.
        """
        return self._map_rows(X, "predict", dtype=np.intp)

    def predict_proba(self, X):
        """Responsibilities, as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        resp : dask array of shape (n_samples, n_components)
            The posterior probability of each component.
        """
        return self._map_rows(X, "predict_proba", self.n_components, as_dask_rows(X).dtype)

    def score_samples(self, X):
        """Log-likelihood of each row, as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        log_likelihood : dask array of shape (n_samples,)
            The log-likelihood of each row.
        """
        return self._map_rows(X, "score_samples", dtype=as_dask_rows(X).dtype)

    def score(self, X, y=None, sample_weight=None):
        """Mean (weighted) log-likelihood of X (computed: a float).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows; None weighs each row 1.

        Returns
        -------
        log_likelihood : float
            The (weighted) mean log-likelihood per row.
        """
        scores = self.score_samples(X).astype(np.float64)
        if sample_weight is None:
            return float(scores.mean().compute())
        weights = as_dask_vector(sample_weight, as_dask_rows(X), "sample_weight", np.float64)
        return float(((scores * weights).sum() / weights.sum()).compute())


class GaussianMixture(DaskInformationCriteria, _DaskMixture, local.GaussianMixture):
    """Gaussian mixture of a dask array, fit by EM on the Dask workers.

    lvmfast.GaussianMixture's EM loop with the Dask pass: each iteration
    maps the fused E + M-statistics kernel over X's blocks on the workers,
    sums the statistics in a fixed tree and does the M-step on the client.
    From the same initial parameters it gives lvmfast.GaussianMixture's
    ``n_iter_`` and (to rounding) its parameters and lower bound, whatever the
    chunks; the same chunks give bit-identical results.

    Parameters
    ----------
    n_components, covariance_type, tol, reg_covar, max_iter, n_init, weights_init, means_init, precisions_init, random_state, warm_start, verbose_interval
        As for :class:`lvmfast.GaussianMixture`.
    verbose : int, default=0
        Print one line per iteration, with its time.
    allow_missing : bool, default=False
        As for :class:`lvmfast.GaussianMixture`: with True, NaN entries are
        missing values, each block's rows scored by their observed features
        on the workers. When X holds NaN, the initial parameters are drawn
        on at most 100000 evenly spaced rows gathered to the client.
    init_params : {'kmeans', 'k-means++', 'random_from_data'}, default='kmeans'
        'kmeans': labels of lvmfast.dask.KMeans (k-means|| seeding), one
        statistics pass. 'k-means++': greedy k-means++ seeds from a sample
        of `sample_size` rows (all rows when X has fewer: the local
        seeding). 'random_from_data': random rows as seeds, the local
        estimator's draw. ('random', N x K uniforms from one sequential
        stream, is not offered.)
    sample_size : int, default=100000
        init_params='k-means++': rows in the sample it seeds from.
    persist : 'auto' or bool, default='auto'
        Keep X in the workers' memory between passes ('auto': when it takes
        at most half of it), or read it from its source every pass.
    progress : bool, default=False
        Show dask's progress bar on each pass.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_, converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_
        As for :class:`lvmfast.GaussianMixture` (NumPy arrays).

    See Also
    --------
    lvmfast.GaussianMixture : The in-memory estimator (``to_local()``).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import lvmfast.dask
    >>> rng = np.random.default_rng(0)
    >>> X = da.from_array(np.concatenate([rng.normal(0, 1, (500, 2)), rng.normal(8, 1, (500, 2))]),
    ...                   chunks=(250, 2))
    >>> gm = lvmfast.dask.GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.sort(gm.means_[:, 0]).round(0) + 0.0
    array([0., 8.])
    >>> gm.predict(X)   # a dask array, block by block  # doctest: +ELLIPSIS
    dask.array<..., shape=(1000,), dtype=int64, chunksize=(250,), chunktype=numpy.ndarray>
    """

    _parameter_constraints: dict = {
        **local.GaussianMixture._parameter_constraints,
        "init_params": [StrOptions(set(DASK_INIT_PARAMS))],
        "sample_size": [integers(1)],
        **DaskEstimatorMixin._dask_constraints,
    }
    _local_class = local.GaussianMixture

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        allow_missing=False,
        sample_size=DEFAULT_SAMPLE_SIZE,
        persist="auto",
        progress=False,
    ):
        super().__init__(
            n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar, max_iter=max_iter,
            n_init=n_init, init_params=init_params, weights_init=weights_init, means_init=means_init,
            precisions_init=precisions_init, random_state=random_state, warm_start=warm_start, verbose=verbose,
            verbose_interval=verbose_interval, allow_missing=allow_missing,
        )
        self.sample_size = sample_size
        self.persist = persist
        self.progress = progress


class BayesianGaussianMixture(_DaskMixture, local_bayesian.BayesianGaussianMixture):
    """Gaussian mixture of a dask array, fit by variational inference on the
    Dask workers.

    lvmfast.BayesianGaussianMixture's loop with the Dask pass, as
    GaussianMixture here is GaussianMixture's: each iteration is one pass
    over X's blocks on the workers; the default priors take one more pass.
    From the same initial responsibilities it gives the in-memory
    estimator's ``n_iter_`` and (to rounding) its parameters and lower bound.

    Parameters
    ----------
    n_components, covariance_type, tol, reg_covar, max_iter, n_init, weight_concentration_prior_type, weight_concentration_prior, mean_precision_prior, mean_prior, degrees_of_freedom_prior, covariance_prior, random_state, warm_start, verbose_interval
        As for :class:`lvmfast.BayesianGaussianMixture`.
    verbose : int, default=0
        Print one line per iteration, with its time.
    allow_missing, init_params, sample_size, persist, progress
        As for :class:`lvmfast.dask.GaussianMixture`.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_, weight_concentration_, mean_precision_, degrees_of_freedom_, converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_
        As for :class:`lvmfast.BayesianGaussianMixture` (NumPy arrays).

    See Also
    --------
    lvmfast.BayesianGaussianMixture : The in-memory estimator (``to_local()``).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import lvmfast.dask
    >>> rng = np.random.default_rng(0)
    >>> X = da.from_array(np.concatenate([rng.normal(0, 1, (500, 2)), rng.normal(8, 1, (500, 2))]),
    ...                   chunks=(250, 2))
    >>> bgm = lvmfast.dask.BayesianGaussianMixture(n_components=5, weight_concentration_prior=0.01,
    ...                                            random_state=0).fit(X)
    >>> int((bgm.weights_ > 0.05).sum())
    2
    """

    _parameter_constraints: dict = {
        **local_bayesian.BayesianGaussianMixture._parameter_constraints,
        "init_params": [StrOptions(set(DASK_INIT_PARAMS))],
        "sample_size": [integers(1)],
        **DaskEstimatorMixin._dask_constraints,
    }
    _local_class = local_bayesian.BayesianGaussianMixture

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        allow_missing=False,
        sample_size=DEFAULT_SAMPLE_SIZE,
        persist="auto",
        progress=False,
    ):
        super().__init__(
            n_components=n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
            max_iter=max_iter, n_init=n_init, init_params=init_params,
            weight_concentration_prior_type=weight_concentration_prior_type,
            weight_concentration_prior=weight_concentration_prior, mean_precision_prior=mean_precision_prior,
            mean_prior=mean_prior, degrees_of_freedom_prior=degrees_of_freedom_prior,
            covariance_prior=covariance_prior, random_state=random_state, warm_start=warm_start, verbose=verbose,
            verbose_interval=verbose_interval, allow_missing=allow_missing,
        )
        self.sample_size = sample_size
        self.persist = persist
        self.progress = progress
