"""KernelDensity with dask arrays of query points: the fitted in-memory model
(the training rows, which a kernel density estimate keeps whole) is shared
with the workers once, and each block of query rows is scored there by the
compiled exact (or binned) evaluation."""
import dask
import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted

from lvmfast._validation import unchanged_on_error
from lvmfast.dask._core import as_dask_rows, check_input_features
from lvmfast.dask._estimator import DaskEstimatorMixin, _local_method
from lvmfast.neighbors import _kde as local

__all__ = ["KernelDensity"]


def _in_memory(value):
    """A dask collection computed; anything else as it is."""
    return value.compute() if dask.is_dask_collection(value) else value


class KernelDensity(DaskEstimatorMixin, local.KernelDensity):
    """Kernel density estimation scoring dask arrays of query points.

    fit gathers the training rows (and weights) to the client, as the
    in-memory estimator keeps them all; score_samples maps the fitted
    model over the blocks of a dask array of query rows and returns a dask
    array, so millions of queries are scored on the workers, each block by
    lvmfast.KernelDensity's compiled evaluation (OpenMP held to the
    worker's thread).

    Parameters
    ----------
    bandwidth, algorithm, kernel, metric, atol, rtol, breadth_first, \
leaf_size, metric_params, method, grid_size : as lvmfast.KernelDensity
    persist : 'auto' or bool, default='auto'
        Accepted for the Dask estimators' common interface; the training
        rows are gathered to the client in any case.
    progress : bool, default=False
        Accepted for the Dask estimators' common interface.

    Attributes
    ----------
    bandwidth_, n_features_in_, feature_names_in_, density_error_bound_ : \
as lvmfast.KernelDensity

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from lvmfast.dask import KernelDensity
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> kde = KernelDensity(bandwidth=0.5).fit(X)
    >>> queries = da.zeros((1000, 2), chunks=(250, 2))
    >>> kde.score_samples(queries).compute().shape
    (1000,)
    """

    _parameter_constraints: dict = {
        **local.KernelDensity._parameter_constraints, **DaskEstimatorMixin._dask_constraints
    }
    _local_class = local.KernelDensity

    def __init__(self, *, bandwidth=1.0, algorithm="auto", kernel="gaussian", metric="euclidean", atol=0, rtol=0,
                 breadth_first=True, leaf_size=40, metric_params=None, method="exact", grid_size=None,
                 persist="auto", progress=False):
        super().__init__(
            bandwidth=bandwidth, algorithm=algorithm, kernel=kernel, metric=metric, atol=atol, rtol=rtol,
            breadth_first=breadth_first, leaf_size=leaf_size, metric_params=metric_params, method=method,
            grid_size=grid_size,
        )
        self.persist = persist
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Fit on the training rows X (a dask or NumPy array), gathered to the
        client.

        Parameters
        ----------
        X : dask array or array-like of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : dask array or array-like of shape (n_samples,), default=None

        Returns
        -------
        self : KernelDensity
        """
        return self._fit(_in_memory(X), _in_memory(sample_weight))

    def score_samples(self, X):
        """Log density at each row of X, as a dask array in X's row blocks.

        Parameters
        ----------
        X : dask array, dask DataFrame or NumPy array of shape (n_queries, n_features)

        Returns
        -------
        log_density : dask array of shape (n_queries,)
        """
        check_is_fitted(self)
        X_dask = as_dask_rows(X)
        check_input_features(self, X, X_dask, reset=False)
        model = self.to_local()
        model.__dict__.pop("feature_names_in_", None)  # the blocks are NumPy arrays
        # one copy of the model (it holds the training rows) in the graph
        shared = dask.delayed(model, pure=True, traverse=False)
        empty = np.empty(0, dtype=X_dask.dtype)
        return X_dask.map_blocks(
            _local_method, shared, "score_samples", empty, drop_axis=1, dtype=X_dask.dtype
        )

    def score(self, X, y=None):
        """Total log-likelihood of the rows of X (computed: a float).

        Parameters
        ----------
        X : dask array, dask DataFrame or NumPy array of shape (n_queries, n_features)
            The query rows.
        y : None
            Ignored.

        Returns
        -------
        log_likelihood : float
            The sum of the rows' log densities.
        """
        return float(self.score_samples(X).sum(dtype=np.float64).compute())
