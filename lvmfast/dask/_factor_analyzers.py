"""MixtureOfFactorAnalyzers on dask arrays: the in-memory estimator's EM
loop (MixtureOfFactorAnalyzers._fit_rows) with the Dask pass of this
module: each iteration maps the fused compiled pass
(lvmfast._factor.em_statistics) over X's blocks on the workers, sums the
statistics in a fixed tree and does the M-step on the client."""
import numpy as np
from dask import delayed
from sklearn.base import _fit_context
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils._param_validation import StrOptions

from lvmfast._factor import em_statistics
from lvmfast._gaussian import class_statistics, moments_around
from lvmfast._validation import integers, unchanged_on_error
from lvmfast.cluster._kmeans import fit_lloyd_runs
from lvmfast.dask._core import DaskData, add_tuples, as_dask_rows, check_input_features, on_worker, run, tree_sum
from lvmfast.dask._estimator import DaskEstimatorMixin, DaskInformationCriteria
from lvmfast.dask._kmeans import DEFAULT_SAMPLE_SIZE, DaskLloydRows, KMeans, sample_kmeans_plusplus
from lvmfast.mixture import _factor_analyzers as local
from lvmfast.mixture._base import random_seed_rows

__all__ = ["MixtureOfFactorAnalyzers"]

# 'random' draws one label per row from one sequential stream on the client.
DASK_INIT_PARAMS = ("kmeans", "k-means++", "random_from_data")


@on_worker
def _factor_block(x, w, start, terms):
    """The fused E + M-statistics pass on one block, one kernel thread."""
    return em_statistics(x, terms, w, 1)


@on_worker
def _nearest_seed_block(x, w, start, seeds):
    return pairwise_distances_argmin(x, seeds)


@on_worker
def _class_moments_block(x, w, start, labels, shift, n_components):
    """(counts, s1 = sum w (x - shift), sum w (x - shift)(x - shift)^T) of
    each label on one block, float64."""
    counts, means, moments, around = class_statistics(
        x, shift.astype(x.dtype), w, np.asarray(labels, dtype=np.intp), n_components, "full")
    s1 = counts[:, None] * means
    origin = np.zeros_like(means)
    n_features = x.shape[1]
    scatter = moments_around(counts, s1, moments, around, origin, "full")
    return counts, s1, scatter.reshape(n_components, n_features, n_features)


class DaskFactorRows:
    """The Dask backend of the mixture of factor analyzers' pass: the
    attributes, initial_moments and factor_statistics of
    lvmfast._factor.LocalFactorRows, over a dask X's blocks."""

    def __init__(self, data):
        self.data, self.dtype = data, data.dtype
        self.shift = np.asarray(data.mean, dtype=np.float64).astype(data.dtype).astype(np.float64)
        self.total_weight = data.total_weight
        self.mean_variance = float(np.mean(data.variance))

    def initial_moments(self, labels, n_components):
        """(counts, means in the frame X - shift, scatter around the means)
        of per-block labels: each block's sums around the shift, summed in
        block order, then moved to the means."""
        parts = self.data.per_block(_class_moments_block, self.shift, n_components, state=labels)
        _, (total,) = run(compute=[tree_sum(parts, add_tuples)], progress=self.data.progress)
        counts, s1, scatter = total
        safe = np.where(counts > 0, counts, 1.0)
        means = s1 / safe[:, None]
        scatter = scatter - counts[:, None, None] * means[:, :, None] * means[:, None, :]
        return counts, means, scatter

    def factor_statistics(self, terms):
        parts = self.data.per_block(_factor_block, delayed(terms))
        _, (total,) = run(compute=[tree_sum(parts, add_tuples)], progress=self.data.progress)
        nk, s1, sxz, sz, szz, see, log_likelihood = total
        return nk, s1, sxz, sz, szz, see, float(log_likelihood)


class MixtureOfFactorAnalyzers(DaskInformationCriteria, DaskEstimatorMixin, local.MixtureOfFactorAnalyzers):
    """Mixture of factor analyzers of a dask array, fit by EM on the Dask
    workers.

    lvmfast.MixtureOfFactorAnalyzers' EM loop with the Dask pass: each
    iteration maps the fused compiled pass over X's blocks, sums the
    statistics in a fixed tree and does the M-step on the client. From the
    same initial labels it gives the in-memory estimator's iterations (to
    rounding); the same chunks give bit-identical results.

    Parameters
    ----------
    n_components, n_factors, noise, tol, reg_covar, max_iter, n_init, random_state, warm_start, verbose, allow_missing
        As for :class:`lvmfast.MixtureOfFactorAnalyzers`.
    init_params : {'kmeans', 'k-means++', 'random_from_data'}, default='kmeans'
        'kmeans': labels of lvmfast.dask.KMeans; 'k-means++': the nearest of
        greedy k-means++ seeds from a sample of `sample_size` rows;
        'random_from_data': the nearest of random rows (the in-memory
        estimator's draw). ('random' is not offered.)
    sample_size : int, default=100000
        init_params='k-means++': rows in the sample it seeds from.
    persist : 'auto' or bool, default='auto'
        Keep X in the workers' memory between passes.
    progress : bool, default=False
        Show dask's progress bar on each pass.

    Attributes
    ----------
    weights_, means_, components_, noise_variance_, converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_
        As for :class:`lvmfast.MixtureOfFactorAnalyzers` (NumPy arrays).

    See Also
    --------
    lvmfast.MixtureOfFactorAnalyzers : The in-memory estimator (``to_local()``).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import lvmfast.dask as ld
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(200, 5) @ rng.randn(5, 5), 8 + rng.randn(200, 5)])
    >>> mfa = ld.MixtureOfFactorAnalyzers(2, n_factors=2, random_state=0).fit(da.from_array(X, chunks=100))
    >>> mfa.to_local().predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **local.MixtureOfFactorAnalyzers._parameter_constraints,
        "init_params": [StrOptions(set(DASK_INIT_PARAMS))],
        "sample_size": [integers(1)],
        **DaskEstimatorMixin._dask_constraints,
    }
    _local_class = local.MixtureOfFactorAnalyzers

    def __init__(
        self,
        n_components=1,
        *,
        n_factors=2,
        noise="diag",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        allow_missing=False,
        sample_size=DEFAULT_SAMPLE_SIZE,
        persist="auto",
        progress=False,
    ):
        super().__init__(
            n_components, n_factors=n_factors, noise=noise, tol=tol, reg_covar=reg_covar, max_iter=max_iter,
            n_init=n_init, init_params=init_params, random_state=random_state, warm_start=warm_start,
            verbose=verbose, allow_missing=allow_missing,
        )
        self.sample_size = sample_size
        self.persist = persist
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters on a dask X (dask array or dask
        DataFrame of numeric columns).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
        y : Ignored
        sample_weight : dask or NumPy array of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        warm = self.warm_start and hasattr(self, "converged_")
        X_dask = as_dask_rows(X)
        check_input_features(self, X, X_dask, reset=not warm)
        data = DaskData(X_dask, sample_weight, weight_dtype=np.float64, persist=self.persist,
                        progress=self.progress)
        n_samples, n_features = X_dask.shape
        self._check_shapes(n_samples, n_features)
        if not np.any(data.variance > 0):
            raise ValueError("X is constant (every feature takes a single value), so every variance is 0 and "
                             "the factor model is undefined. Pass X with some spread.")
        if self.reg_covar == 0 and np.any(data.variance == 0):
            raise ValueError(
                f"X has constant features (columns {np.flatnonzero(data.variance == 0).tolist()[:10]}): with "
                "reg_covar=0 their noise variance goes to 0 and the likelihood is unbounded. Pass reg_covar > 0 "
                "or drop those features."
            )
        self._fit_rows(DaskFactorRows(data), warm)
        self._persisted = data.persisted
        return self

    def _initial_labels(self, rows, random_state):
        """Per-block labels (delayed): lvmfast.dask.KMeans', or each row's
        nearest seed."""
        data, k = rows.data, self.n_components
        if self.init_params == "kmeans":
            kmeans = KMeans(k, n_init=1, random_state=random_state, persist=False, progress=self.progress)
            tol = kmeans.tol * float(np.mean(data.variance))
            fit_lloyd_runs(kmeans, data.X, DaskLloydRows(data), data.weights, data.weights, 1.0, tol, None)
            return [p[0][0] for p in kmeans.labels_.parts]
        if self.init_params == "k-means++":
            indices = sample_kmeans_plusplus(data, k, random_state, self.sample_size)
        else:
            weights = data.gather(data.weights) if data.given_weights else None
            indices = random_seed_rows(data.n_samples, k, random_state, weights)
        return data.per_block(_nearest_seed_block, data.rows(indices))

    # -- using a fitted model: dask arrays in, dask arrays out -------------

    def predict(self, X):
        """The most probable component of each row, as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        labels : dask array of shape (n_samples,)
            The component of each row, computed block by block.
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
            The posterior probability of each component for each row.
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
        log_prob : dask array of shape (n_samples,)
            The log-density of each row under the mixture.
        """
        return self._map_rows(X, "score_samples", dtype=np.float64)

    def transform(self, X):
        """Posterior mean factors under each row's most probable component, as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        factors : dask array of shape (n_samples, n_factors)
            The posterior mean of each row's factors.
        """
        return self._map_rows(X, "transform", self.n_factors, as_dask_rows(X).dtype)

    def score(self, X, y=None):
        """Mean log-likelihood of X (computed: a float).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : Ignored
            Not used, present for scikit-learn's API.

        Returns
        -------
        log_likelihood : float
            The mean of the rows' log-densities.
        """
        return float(self.score_samples(X).mean().compute())
