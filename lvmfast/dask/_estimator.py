"""What the Dask estimators share: their extra parameters, to_local(), and
predictions mapped over a dask X's blocks with the fitted in-memory model."""
import numpy as np
from dask.base import is_dask_collection
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from lvmfast.dask._core import as_dask_rows, check_input_features, on_worker


@on_worker
def _local_method(block, model, method, empty, *args):
    """model.method on one block; `empty` (its result's shape for 0 rows)
    for a block of 0 rows, which scikit-learn's validation refuses."""
    if block.shape[0] == 0:
        return empty
    return getattr(model, method)(np.ascontiguousarray(block), *args)


class DaskEstimatorMixin:
    """Mixed in before the in-memory class (`_local_class`) it extends."""

    _dask_constraints = {"persist": [StrOptions({"auto"}), "boolean"], "progress": ["boolean"]}
    _local_class = None

    def to_local(self):
        """The fitted in-memory lvmfast estimator: the same parameters (those
        the in-memory class has) and fitted attributes, for fast local
        predictions. Attributes that are dask arrays (KMeans' ``labels_``) are
        left out.

        Returns
        -------
        estimator : object
            An instance of the in-memory class (``lvmfast.KMeans`` for
            ``lvmfast.dask.KMeans``, and so on), fitted.
        """
        check_is_fitted(self)
        names = self._local_class._get_param_names()
        local = self._local_class(**{name: getattr(self, name) for name in names})
        own = set(type(self)._get_param_names())
        for key, value in self.__dict__.items():
            if key not in own and not is_dask_collection(value):
                local.__dict__[key] = value
        return local

    def _map_rows(self, X, method, n_columns=None, dtype=None, args=()):
        """The in-memory model's `method` on each block of X, as a dask array
        (n_columns None: one value per row)."""
        check_is_fitted(self)
        X_dask = as_dask_rows(X)
        check_input_features(self, X, X_dask, reset=False)
        model = self.to_local()
        model.__dict__.pop("feature_names_in_", None)  # the blocks are NumPy arrays
        if n_columns is None:
            empty = np.empty(0, dtype=dtype)
            return X_dask.map_blocks(_local_method, model, method, empty, *args, drop_axis=1, dtype=dtype)
        empty = np.empty((0, n_columns), dtype=dtype)
        return X_dask.map_blocks(
            _local_method, model, method, empty, *args, chunks=(X_dask.chunks[0], (n_columns,)), dtype=dtype,
        )


class DaskInformationCriteria:
    """bic and aic of a fitted Dask mixture on a dask X: its mean
    log-likelihood (``score``, mapped over X's blocks) and its
    ``_n_parameters()``."""

    def bic(self, X):
        """Bayesian information criterion of the model on X.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        bic : float
            Lower is better.
        """
        n = as_dask_rows(X).shape[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion of the model on X.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        aic : float
            Lower is better.
        """
        return -2 * self.score(X) * as_dask_rows(X).shape[0] + 2 * self._n_parameters()
