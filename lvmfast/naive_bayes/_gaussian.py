"""GaussianNB and GaussianClassifier.

Fitting is the mixture's statistics pass with one-hot responsibilities from
the labels (lvmfast._gaussian.class_statistics); predicting is the
log-density kernel plus the log-sum-exp normalization, as for
GaussianMixture.
"""
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from lvmfast._gaussian import (
    COVARIANCE_TYPES, check_precisions_fit_dtype, class_statistics, explain_zero_variance, largest_precision, log_prob,
    precision_cholesky,
)
from lvmfast._kernels._responsibilities import log_normalize
from lvmfast._parallel import effective_n_threads
from lvmfast._validation import (
    _names_any, check_sample_weight, naming_errors, unchanged_on_error, unit_mean_weights, validate_float_data,
)

__all__ = ["GaussianClassifier", "GaussianNB"]


def _check_priors(priors, n_classes):
    """The priors as float64, with scikit-learn's messages."""
    priors = np.asarray(priors, dtype=np.float64)
    if priors.shape != (n_classes,):
        raise ValueError(f"Number of priors must match number of classes: {n_classes} classes, priors of shape {priors.shape}.")
    if not np.isclose(priors.sum(), 1.0):
        raise ValueError(f"The sum of the priors should be 1; they sum to {priors.sum()!r}.")
    if (priors < 0).any():
        raise ValueError("Priors must be non-negative.")
    return priors


def _refuse_zero_variance(variances, classes, var_smoothing):
    """A zero variance has no density: (x - theta)^2 / 0 is NaN or inf."""
    zero = np.argwhere(np.asarray(variances) <= 0)
    if zero.size:
        k, j = zero[0]
        raise ValueError(
            f"Class {classes[k]!r} has zero variance in feature {j} of X (no spread there in the data fit "
            f"so far) and var_smoothing={var_smoothing!r} adds nothing: its density is undefined. Fit "
            "data with spread (partial_fit more batches) or use var_smoothing > 0."
        )


def _unweighted_mean_variance(X, chunk_rows=65536):
    """Row count, per-feature mean and (biased) variance of X in float64, a
    chunk of rows at a time (no float64 copy of a whole float32 X)."""
    n = X.shape[0]
    mean = X.mean(axis=0, dtype=np.float64)
    total = np.zeros(X.shape[1])
    for start in range(0, n, chunk_rows):
        diff = X[start:start + chunk_rows] - mean
        total += np.einsum("ij,ij->j", diff, diff, dtype=np.float64)
    return float(n), mean, total / n


def labels_of(classes, y):
    """Class indices of y in the sorted `classes`, with unseen labels refused."""
    index = np.searchsorted(classes, y)
    index = np.minimum(index, len(classes) - 1)
    unseen = classes[index] != y
    if unseen.any():
        raise ValueError(
            f"The target label(s) {np.unique(y[unseen])} in y do not exist in the initial "
            f"classes {classes}."
        )
    return index


def _batch_statistics(X, labels, weights, n_classes, n_threads=None, unit_weights=False):
    """What one batch of rows adds to GaussianNB, a function of its rows
    only (so Dask workers compute it block by block): the weighted class
    counts (float64), the largest weight, which classes it holds, their
    means and (biased) variances, and the unweighted row count, mean and
    variance (for epsilon_; with unit_weights, every weight 1, from the
    classes' own statistics instead of another pass over X). The moments
    are taken on unit-mean weights around the class means: no centering
    needed."""
    counts = np.bincount(labels, weights=weights, minlength=n_classes)
    shift = np.zeros(X.shape[1])
    unit_counts, means, s2, around = class_statistics(
        X, shift, unit_mean_weights(weights, X.dtype), labels, n_classes, "diag", n_threads
    )
    filled = unit_counts > 0
    batch_var = np.zeros_like(means)
    batch_var[filled] = s2.reshape(means.shape)[filled] / unit_counts[filled, None] - (means - around)[filled] ** 2
    batch_var = np.maximum(batch_var, 0.0)
    largest = float(weights.max()) if weights.size else 0.0
    batch_mean = means + shift
    if unit_weights:
        n_rows = float(unit_counts.sum())
        mean_all = unit_counts @ batch_mean / n_rows
        total = (n_rows, mean_all, unit_counts @ (batch_var + (batch_mean - mean_all) ** 2) / n_rows)
    else:
        total = _unweighted_mean_variance(X)
    return counts, largest, filled, batch_mean, batch_var, total


def _encode(y):
    """np.unique(y, return_inverse=True): the sorted distinct labels and each
    row's index among them. Integer labels of a range not much wider than y
    is long are counted (O(n)) rather than sorted (O(n log n), the larger
    share of a naive Bayes fit's time)."""
    if y.dtype.kind in "iu" and y.size:
        low, high = int(y.min()), int(y.max())
        if high - low < 4 * y.size:
            offsets = y.astype(np.int64) - low
            present = np.bincount(offsets, minlength=high - low + 1) > 0
            classes = (np.flatnonzero(present) + low).astype(y.dtype)
            return classes, (np.cumsum(present) - 1)[offsets]
    return np.unique(y, return_inverse=True)


class _GaussianGenerativeClassifier(ClassifierMixin, BaseEstimator):
    """Prediction shared by the Gaussian classifiers: subclasses set
    classes_, class_prior_, means (_means) and precisions_cholesky in the
    covariance type _covariance_type."""

    def _validate_xy(self, X, y, reset):
        """X as the kernels need it, y as discrete labels (a column y is
        raveled with scikit-learn's DataConversionWarning), and y encoded:
        its sorted classes and each row's class index."""
        X, y = validate_float_data(self, X, y, reset=reset)
        with naming_errors("y"):
            check_classification_targets(y)
            try:
                encoded = _encode(y)
            except TypeError as exc:  # labels of types that do not sort together
                raise TypeError(f"y has labels of types that cannot be compared, such as 1 and 'a': {exc}") from None
        return X, y, encoded

    def _labels_of(self, y):
        """Class indices of y in classes_, with unseen labels refused."""
        return labels_of(self.classes_, y)

    def _fitted_input(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False)

    def _joint(self, X):
        """Column-major (n_samples x n_classes) log p(x, class), on rows
        centered by the training data's mean."""
        shift = self._shift
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_.astype(np.float64))
        return log_prob(
            X, shift, self._means(), self._precisions_cholesky(), self._covariance_type, log_prior, direct=True
        )

    def predict_joint_log_proba(self, X):
        """log p(x, class) for every row and class."""
        return np.ascontiguousarray(self._joint(self._fitted_input(X)))

    def _normalized(self, scores):
        """scores (column-major joint log-likelihoods) become p(class | x) in
        place; returns each row's log p(x)."""
        lse = np.empty(scores.shape[0])
        log_normalize(scores, lse, 4096, effective_n_threads())
        return lse

    def predict_log_proba(self, X):
        """log p(class | x)."""
        joint = self._joint(self._fitted_input(X))
        lse = self._normalized(joint.copy(order="F"))
        return np.ascontiguousarray(joint - lse[:, None].astype(joint.dtype))

    def predict_proba(self, X):
        """p(class | x)."""
        scores = self._joint(self._fitted_input(X))
        self._normalized(scores)
        return np.ascontiguousarray(scores)

    def predict(self, X):
        """The most probable class of each row."""
        X = self._fitted_input(X)
        return self.classes_[self._joint(X).argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """(Weighted) accuracy of predict(X) against y, as ClassifierMixin's;
        scikit-learn's metric errors about the labels ('Mix of label input
        types', ...) are said to be about y."""
        X = self._fitted_input(X)
        try:
            return super().score(X, y, sample_weight=sample_weight)
        except ValueError as exc:
            if _names_any(str(exc), ("X", "y", "sample_weight")):
                raise
            raise ValueError(f"y: {exc}") from exc


class GaussianNB(_GaussianGenerativeClassifier):
    """Gaussian naive Bayes: one diagonal Gaussian per class.

    A drop-in for ``sklearn.naive_bayes.GaussianNB``: the same parameters and
    attributes, with fit, partial_fit and the predictions running on lvmfast's
    kernels (one statistics pass per fit, no per-class copies of X).

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Class prior probabilities; None estimates them from the data.
    var_smoothing : float, default=1e-9
        Fraction of the largest feature variance added to every variance.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_count_ : ndarray of shape (n_classes,), the (weighted) count per class
    class_prior_ : ndarray of shape (n_classes,)
    theta_ : ndarray of shape (n_classes, n_features), per-class means
    var_ : ndarray of shape (n_classes, n_features), per-class variances
    epsilon_ : float, the absolute amount added to the variances
    n_features_in_ : int
    """

    _covariance_type = "diag"
    _parameter_constraints: dict = {
        "priors": ["array-like", None],
        "var_smoothing": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, priors=None, var_smoothing=1e-9):
        self.priors = priors
        self.var_smoothing = var_smoothing

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit on X and y (any hashable labels); sample_weight weighs the rows."""
        self._forget()
        X, y, (classes, labels) = self._validate_xy(X, y, reset=True)
        return self._partial_fit(X, y, classes, sample_weight, labels, final=True)

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one more batch. The first call needs every
        class in `classes`; fitting in batches gives the model of one fit."""
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} is not the same as on last call to partial_fit (the first), "
                f"was: {self.classes_!r}."
            )
        X, y, _ = self._validate_xy(X, y, reset=first)
        return self._partial_fit(X, y, None if not first else np.unique(np.asarray(classes)), sample_weight)

    def _partial_fit(self, X, y, classes, sample_weight, labels=None, final=False):
        """One batch into the running statistics. final (fit): a zero
        variance is refused here, as no later batch can give it spread; a
        partial_fit batch may (predictions refuse until one does)."""
        if classes is not None:  # the first batch
            self._start(classes, len(np.unique(y)), X.shape[1])
        if labels is None:
            labels = self._labels_of(y)
        # Weights in X's dtype, as scikit-learn takes them (and keeps
        # class_count_); the counts summed in float64.
        weights = check_sample_weight(sample_weight, X, X.dtype).astype(np.float64)
        batch = _batch_statistics(X, labels, weights, len(self.classes_), unit_weights=sample_weight is None)
        return self._combine(batch, X.dtype, final, X)

    def _forget(self):
        """Drop the running statistics: fit starts anew (partial_fit would go on)."""
        for name in ("classes_", "theta_", "var_", "class_count_", "_class_count", "class_prior_", "epsilon_", "_total"):
            self.__dict__.pop(name, None)

    def _start(self, classes, n_labels_seen, n_features):
        """Empty running statistics for `classes` (the first batch)."""
        if len(classes) < 2 and n_labels_seen < 2:
            raise ValueError(f"GaussianNB needs at least 2 classes; y has 1 class: {classes}.")
        n_classes = len(classes)
        if self.priors is not None:
            _check_priors(self.priors, n_classes)
        self.classes_ = classes
        self.theta_ = np.zeros((n_classes, n_features))
        self.var_ = np.zeros((n_classes, n_features))
        self._class_count = np.zeros(n_classes)
        self._total = (0.0, np.zeros(n_features), np.zeros(n_features))  # count, mean, variance
        self.epsilon_ = 0.0

    def _combine(self, batch, dtype, final, X=None):
        """One batch's statistics (_batch_statistics: computed where its rows
        are, here or on a Dask worker) into the running ones, on the client.
        X, when given, explains a zero variance."""
        counts, largest_weight, filled, batch_mean, batch_var, (batch_count, batch_mean_all, batch_var_all) = batch
        with np.errstate(over="ignore"):
            overflow = not np.isfinite((self._class_count + counts).astype(dtype)).all()
        if overflow:
            raise ValueError(
                f"sample_weight: the weighted class counts overflow {np.dtype(dtype).name} (the largest weight is "
                f"{largest_weight:.3g}); scale the weights down (only their ratios matter)."
            )
        # Combine with what earlier batches gave (Chan et al.), class by class
        # and for the data as a whole (for epsilon_).
        theta, var = self.theta_.astype(np.float64), self.var_.astype(np.float64) - self.epsilon_
        n_past = self._class_count
        total = n_past + counts
        safe = np.where(total > 0, total, 1)[:, None]
        # As fractions of the new total, so that huge weights (1e300) do not
        # overflow in n_past * counts.
        past, batch = n_past[:, None] / safe, counts[:, None] / safe
        new_theta = np.where(filled[:, None], past * theta + batch * batch_mean, theta)
        new_var = np.where(
            filled[:, None], past * var + batch * batch_var + past * batch * (theta - batch_mean) ** 2, var,
        )
        # scikit-learn's epsilon_ uses the unweighted variance of the rows
        # fitted, whatever sample_weight is: count them unweighted.
        n_all, mean_all, var_all = self._total
        n_new = n_all + batch_count
        mean_new = (n_all * mean_all + batch_count * batch_mean_all) / n_new
        var_new = (n_all * var_all + batch_count * batch_var_all + n_all * batch_count / n_new * (mean_all - batch_mean_all) ** 2) / n_new
        self._total = (n_new, mean_new, var_new)
        # over all batches so far
        self.epsilon_ = float(self.var_smoothing * var_new.max())
        variances = new_var + self.epsilon_
        if final and (variances <= 0).any():
            if var_new.max() == 0 and X is not None:  # no spread in any batch so far
                explain_zero_variance(X)
            _refuse_zero_variance(variances, self.classes_, self.var_smoothing)
        with np.errstate(over="ignore", divide="ignore"):
            check_precisions_fit_dtype(float((1.0 / variances[variances > 0]).max(initial=0.0)), dtype)
        self._shift = mean_new
        self.theta_ = new_theta.astype(dtype)
        self.var_ = (new_var + self.epsilon_).astype(dtype)
        # Counts and priors in X's dtype, as scikit-learn keeps them; the
        # float64 running counts stay private for the next batch.
        self._class_count = total
        self.class_count_ = total.astype(dtype)
        if self.priors is None:
            self.class_prior_ = (total / total.sum()).astype(dtype)
        else:
            self.class_prior_ = _check_priors(self.priors, len(self.classes_)).astype(dtype)
        return self

    def _means(self):
        return self.theta_

    def _precisions_cholesky(self):
        _refuse_zero_variance(self.var_, self.classes_, self.var_smoothing)
        return 1.0 / np.sqrt(self.var_.astype(np.float64))


class GaussianClassifier(_GaussianGenerativeClassifier):
    """One Gaussian per class, fit by maximum likelihood, and the Bayes rule.

    Parameters
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': a covariance per class (quadratic boundaries); 'tied': one
        pooled covariance (linear boundaries); 'diag': naive Bayes without
        smoothing; 'spherical': one variance per class.
    priors : array-like of shape (n_classes,), default=None
        Class prior probabilities; None uses the class fractions.
    reg_covar : float, default=0.0
        Added to the diagonal of every covariance.

    Attributes
    ----------
    classes_, class_prior_
    means_ : ndarray of shape (n_classes, n_features)
    covariances_ : per covariance_type, the biased (1/N_k) estimates
    precisions_cholesky_ : as scikit-learn's GaussianMixture
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "priors": ["array-like", None],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, covariance_type="full", *, priors=None, reg_covar=0.0):
        self.covariance_type = covariance_type
        self.priors = priors
        self.reg_covar = reg_covar

    @property
    def _covariance_type(self):
        return self.covariance_type

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit one Gaussian per class of y (any hashable labels)."""
        X, y, (classes, labels) = self._validate_xy(X, y, reset=True)
        if len(classes) < 2:
            raise ValueError(f"GaussianClassifier needs at least 2 classes; y has 1 class: {classes}.")
        if self.priors is not None:
            _check_priors(self.priors, len(classes))
        self.classes_ = classes
        weights = unit_mean_weights(check_sample_weight(sample_weight, X, np.float64), X.dtype)
        # Second moments are taken around the class means, except the tied
        # scatter, which is summed around the data mean.
        if self.covariance_type == "tied":
            shift = X.mean(axis=0, dtype=np.float64)
        else:
            shift = np.zeros(X.shape[1])
        counts, means, s2, around = class_statistics(X, shift, weights, labels, len(classes), self.covariance_type)
        if (counts <= 0).any():
            raise ValueError(
                f"Every class needs a positive total weight; class {classes[np.argmax(counts <= 0)].item()!r} has none."
            )
        k, d = means.shape
        delta = means - around
        if self.covariance_type == "full":
            cov = s2.reshape(k, d, d) / counts[:, None, None] - delta[:, :, None] * delta[:, None, :]
            cov += self.reg_covar * np.eye(d)
        elif self.covariance_type == "tied":
            cov = (s2.reshape(d, d) - (counts[:, None] * means).T @ means) / counts.sum() + self.reg_covar * np.eye(d)
        else:
            cov = np.maximum(s2.reshape(k, d) / counts[:, None] - delta**2, 0.0) + self.reg_covar
            if self.covariance_type == "spherical":
                cov = cov.mean(axis=1)
        try:
            chol = precision_cholesky(cov, self.covariance_type, self.reg_covar, names=classes.tolist())
        except ValueError:
            explain_zero_variance(X)
            raise
        check_precisions_fit_dtype(largest_precision(chol), X.dtype)
        self.class_prior_ = counts / counts.sum() if self.priors is None else _check_priors(self.priors, k)
        self._shift = shift + counts @ means / counts.sum()  # centers predictions
        self.means_ = (means + shift).astype(X.dtype)
        self.covariances_ = cov.astype(X.dtype)
        self.precisions_cholesky_ = chol.astype(X.dtype)
        return self

    def _means(self):
        return self.means_

    def _precisions_cholesky(self):
        return self.precisions_cholesky_
