"""GaussianNB on dask arrays: each block's statistics (the local
estimator's _batch_statistics) on the workers, combined on the client in
block order by the local estimator's own partial_fit combination."""
import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from lvmfast._validation import unchanged_on_error
from lvmfast.dask._core import (
    DaskData, as_dask_rows, as_dask_vector, block_task, check_input_features, on_worker, run,
)
from lvmfast.dask._estimator import DaskEstimatorMixin
from lvmfast.naive_bayes import _gaussian as local
from lvmfast.naive_bayes._gaussian import _batch_statistics, labels_of

__all__ = ["GaussianNB"]


@on_worker
def _nb_block(x, y, w, start, classes):
    """One block's _batch_statistics; its labels checked against classes."""
    try:
        labels = labels_of(classes, y)
    except ValueError as exc:
        raise ValueError(f"{exc} (in the block of rows {start} to {start + x.shape[0] - 1})") from None
    return _batch_statistics(x, labels, w.astype(np.float64), len(classes), 1)


class GaussianNB(DaskEstimatorMixin, local.GaussianNB):
    """Gaussian naive Bayes on dask arrays.

    fit is partial_fit over X's blocks: each block's class counts, means and
    variances are computed on the workers (lvmfast.GaussianNB's per-batch
    statistics) and combined on the client in block order, as
    lvmfast.GaussianNB.partial_fit combines batches; predict,
    predict_proba, predict_log_proba and predict_joint_log_proba return
    dask arrays.

    Parameters
    ----------
    priors, var_smoothing
        As for :class:`lvmfast.GaussianNB`.
    persist : 'auto' or bool, default='auto'
        Accepted for the Dask estimators' common interface: a fit is one
        pass, so X is never kept in the workers' memory.
    progress : bool, default=False
        Show dask's progress bar on each pass.

    Attributes
    ----------
    classes_, class_count_, class_prior_, theta_, var_, epsilon_, n_features_in_
        As for :class:`lvmfast.GaussianNB` (NumPy arrays).

    See Also
    --------
    lvmfast.GaussianNB : The in-memory estimator (``to_local()``).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import lvmfast.dask
    >>> rng = np.random.default_rng(0)
    >>> X = da.from_array(np.concatenate([rng.normal(0, 1, (500, 2)), rng.normal(4, 1, (500, 2))]),
    ...                   chunks=(250, 2))
    >>> y = da.from_array(np.repeat([0, 1], 500), chunks=250)
    >>> nb = lvmfast.dask.GaussianNB().fit(X, y)
    >>> nb.predict(da.from_array(np.array([[0.0, 0.0], [4.0, 4.0]]))).compute()
    array([0, 1])
    >>> bool(nb.score(X, y) > 0.95)
    True
    """

    _parameter_constraints: dict = {**local.GaussianNB._parameter_constraints, **DaskEstimatorMixin._dask_constraints}
    _local_class = local.GaussianNB

    def __init__(self, *, priors=None, var_smoothing=1e-9, persist="auto", progress=False):
        super().__init__(priors=priors, var_smoothing=var_smoothing)
        self.persist = persist
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit on a dask X and y.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : dask array of shape (n_samples,)
            The class of each row; rechunked to X's row blocks.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Non-negative weights of the rows, rechunked to X's row blocks
            when its blocks differ.

        Returns
        -------
        self : GaussianNB
            The fitted classifier.
        """
        self._forget()
        X_dask, y_dask = self._validate_dask(X, y, reset=True)
        classes = self._classes(y_dask)
        self._start(classes, len(classes), X_dask.shape[1])
        return self._fit_blocks(X_dask, y_dask, sample_weight, final=True)

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with the blocks of one more dask batch.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : dask array of shape (n_samples,)
            The class of each row.
        classes : array-like of shape (n_classes,), default=None
            Every class; required on the first call.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Non-negative weights of the rows, rechunked to X's row blocks
            when its blocks differ.

        Returns
        -------
        self : GaussianNB
            The updated classifier.
        """
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} is not the same as on last call to partial_fit (the first), "
                f"was: {self.classes_!r}."
            )
        X_dask, y_dask = self._validate_dask(X, y, reset=first)
        if first:
            self._start(np.unique(np.asarray(classes)), len(self._classes(y_dask)), X_dask.shape[1])
        return self._fit_blocks(X_dask, y_dask, sample_weight, final=False)

    def _validate_dask(self, X, y, reset):
        X_dask = as_dask_rows(X)
        check_input_features(self, X, X_dask, reset=reset)
        y_dask = as_dask_vector(y, X_dask, "y", None)
        return X_dask, y_dask

    @staticmethod
    def _classes(y):
        classes = np.unique(y.compute())  # one pass over y: the labels
        target = type_of_target(classes)
        if target not in ("binary", "multiclass"):
            raise ValueError(f"y: Unknown label type: {target}. Expected discrete class labels.")
        return classes

    def _fit_blocks(self, X, y, sample_weight, final):
        # the first pass validates X and the weights, block by block
        data = DaskData(X, sample_weight, weight_dtype=X.dtype, persist=False, progress=self.progress)
        # the caller's weights in X's dtype, as the local estimator takes them
        weights = data.weights if sample_weight is None else as_dask_vector(sample_weight, X, "sample_weight", X.dtype)
        # the blocks that hold rows, C-contiguous as the kernel reads them
        parts = [
            block_task(_nb_block, x, yb, w, int(start), self.classes_)
            for x, yb, w, start in zip(data.x_blocks, data.row_blocks(y), data.row_blocks(weights), data.starts)
        ]
        _, batches = run(compute=parts, progress=self.progress)
        for i, batch in enumerate(batches):
            self._combine(batch, X.dtype, final and i == len(batches) - 1)
        return self

    # -- using a fitted model: dask arrays in, dask arrays out -------------

    def predict(self, X):
        """The most probable class of each row, as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        labels : dask array of shape (n_samples,)
            The class of each row.
        """
        check_is_fitted(self)
        return self._map_rows(X, "predict", dtype=self.classes_.dtype)

    def predict_proba(self, X):
        """p(class | x), as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        proba : dask array of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._map_rows(X, "predict_proba", len(self.classes_), as_dask_rows(X).dtype)

    def predict_log_proba(self, X):
        """log p(class | x), as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        log_proba : dask array of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._map_rows(X, "predict_log_proba", len(self.classes_), as_dask_rows(X).dtype)

    def predict_joint_log_proba(self, X):
        """log p(x, class), as a dask array.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).

        Returns
        -------
        joint_log_proba : dask array of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._map_rows(X, "predict_joint_log_proba", len(self.classes_), as_dask_rows(X).dtype)

    def score(self, X, y, sample_weight=None):
        """(Weighted) accuracy of ``predict(X)`` against y (computed: a float).

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features)
            The rows (a NumPy array or dask DataFrame of numbers is taken as
            a dask array).
        y : dask array of shape (n_samples,)
            The true classes.
        sample_weight : dask or NumPy array of shape (n_samples,), default=None
            Weights of the rows; None weighs each row 1.

        Returns
        -------
        score : float
            The share of rows predicted right (weighted).
        """
        X_dask = as_dask_rows(X)
        y_dask = as_dask_vector(y, X_dask, "y", None)
        correct = (self.predict(X_dask) == y_dask).astype(np.float64)
        if sample_weight is None:
            return float(correct.mean().compute())
        weights = as_dask_vector(sample_weight, X_dask, "sample_weight", np.float64)
        return float(((correct * weights).sum() / weights.sum()).compute())
