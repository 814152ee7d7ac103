"""GaussianNB and GaussianClassifier.

Fitting is the mixture's statistics pass with one-hot responsibilities from
the labels (lvmfast._gaussian.class_statistics); predicting is the
log-density kernel plus the log-sum-exp normalization, as for
GaussianMixture.
"""
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from lvmfast._gaussian import (
    COVARIANCE_TYPES, LocalEMRows, check_precisions_fit_dtype, class_statistics, covariances_from_moments,
    explain_zero_variance, largest_precision, log_likelihood_from_statistics, log_prob, log_prob_with_missing,
    merge_moments, moments_around, pooled_scatter, precision_cholesky,
)
from lvmfast._kernels._responsibilities import log_normalize
from lvmfast.naive_bayes._missing import check_missing_rows, diagonal_fit, full_fit_em, observed_mean
from lvmfast._missing import observed_moments
from lvmfast._iterate import EMRows, iterate
from lvmfast._parallel import blas_single_thread, effective_n_threads, threads_for_work
from lvmfast._validation import (
    _NoBoolInterval, _names_any, check_sample_weight, integers, naming_errors, unchanged_on_error, unit_mean_weights,
    validate_float_data, feature_mean_variance,
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


def _refuse_zero_priors(priors, classes):
    """Semi-supervised EM maximizes the likelihood of the labeled rows: a
    class they hold that the priors make impossible leaves it -inf."""
    if priors is not None and (priors <= 0).any():
        raise ValueError(
            f"priors gives class {classes[np.argmax(priors <= 0)].item()!r} probability 0, yet labeled rows of y "
            "have it: their likelihood is 0, and semi-supervised EM has nothing to maximize. Give every class a "
            "positive prior."
        )


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


def _batch_class_moments(X, labels, weights, n_classes, covariance_type, n_threads=None):
    """One batch's statistics per class, a function of its rows only (what
    merge_moments combines across batches): the weighted counts (float64,
    in the caller's units), the counts under the weights scaled to mean 1,
    which classes it holds, their means and their biased covariances, shaped
    as merge_moments takes them (0 for a class the batch lacks; 'tied': the
    pooled scatter over the total count). The moments are summed on
    unit-mean weights around the class means ('tied': its scatter around
    the batch's mean)."""
    counts = np.bincount(labels, weights=weights, minlength=n_classes)
    tied = covariance_type == "tied"
    shift = X.mean(axis=0, dtype=np.float64) if tied else np.zeros(X.shape[1])
    kind = "diag" if covariance_type == "spherical" else covariance_type
    unit_counts, means, s2, around = class_statistics(
        X, shift, unit_mean_weights(weights, X.dtype), labels, n_classes, kind, n_threads
    )
    filled = unit_counts > 0
    if tied:
        covariances = _class_covariances(unit_counts[filled], means[filled], s2, around[filled], "tied", 0.0)
    else:
        n_features = X.shape[1]
        shape = (n_classes, n_features, n_features) if kind == "full" else (n_classes, n_features)
        covariances = np.zeros(shape[:1] if covariance_type == "spherical" else shape)
        covariances[filled] = _class_covariances(
            unit_counts[filled], means[filled], s2.reshape(shape)[filled], around[filled], covariance_type, 0.0
        )
    return counts, unit_counts, filled, means + shift, covariances


def _batch_statistics(X, labels, weights, n_classes, n_threads=None, unit_weights=False):
    """What one batch of rows adds to GaussianNB, a function of its rows
    only (so Dask workers compute it block by block): the weighted class
    counts (float64), the largest weight, which classes it holds, their
    means and (biased) variances, and the unweighted row count, mean and
    variance (for epsilon_; with unit_weights, every weight 1, from the
    classes' own statistics instead of another pass over X). The moments
    are taken on unit-mean weights around the class means: no centering
    needed."""
    counts, unit_counts, filled, batch_mean, batch_var = _batch_class_moments(
        X, labels, weights, n_classes, "diag", n_threads
    )
    largest = float(weights.max()) if weights.size else 0.0
    if unit_weights:
        n_rows = float(unit_counts.sum())
        mean_all = unit_counts @ batch_mean / n_rows
        total = (n_rows, mean_all, unit_counts @ (batch_var + (batch_mean - mean_all) ** 2) / n_rows)
    else:
        total = (float(X.shape[0]), *feature_mean_variance(X))
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


# The parameters of semi-supervised fitting, shared by the classifiers.
_SEMI_SUPERVISED_CONSTRAINTS = {
    "unlabeled": [None, str, _NoBoolInterval(Integral, None, None, closed="neither")],
    "max_iter": [integers(0)],
    "tol": [Interval(Real, 0.0, None, closed="left")],
}
_SEMI_SUPERVISED_ATTRIBUTES = ("n_iter_", "converged_", "lower_bound_", "lower_bounds_")


def _refuse_missing_with_unlabeled(estimator_name):
    raise ValueError(
        f"{estimator_name}: X has missing entries (NaN) and y has rows marked unlabeled; fitting both at once "
        "is not supported. Fit the labeled rows with missing entries, or the unlabeled rows on complete X."
    )


def _unlabeled_rows(y, marker):
    """The rows of y marked unlabeled by `marker` (a boolean mask), or None
    when there are none (or no marker). The marker must be of y's kind of
    label: an int for numbers, a string for strings; otherwise a label such
    as '-1' among strings would silently stay a class (or -1 a marker that
    marks nothing)."""
    if marker is None:
        return None
    if y.dtype.kind == "O":
        strings = np.frompyfunc(lambda v: isinstance(v, str), 1, 1)(y).astype(bool).any()
    else:
        strings = y.dtype.kind in "US"
    if strings != isinstance(marker, str):
        held, wanted = ("string", "a string") if strings else ("numeric", "an integer")
        hint = ""
        if strings and (y == str(marker)).any():
            hint = f" ({str(marker)!r} is among them: pass unlabeled={str(marker)!r} if it marks unlabeled rows)"
        raise ValueError(
            f"unlabeled={marker!r} cannot mark rows of y, which holds {held} labels{hint}; pass unlabeled as "
            f"{wanted} of the kind y holds, or None when every row is labeled."
        )
    unlabeled = np.asarray(y == marker, dtype=bool)
    if unlabeled.all():
        raise ValueError(
            f"Every row of y is unlabeled (marked unlabeled={marker!r}): there is no class to learn. Label "
            "some rows of every class, or fit lvmfast.GaussianMixture to model unlabeled data alone."
        )
    return unlabeled if unlabeled.any() else None


def _add_reg_covar(covariances, covariance_type, reg_covar):
    """covariances (shaped as covariance_type says) with reg_covar added to
    their diagonals (a negative reg_covar takes it away)."""
    covariances = np.array(covariances, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        n_features = covariances.shape[-1]
        diagonal = covariances.reshape(-1, n_features * n_features)[:, :: n_features + 1]
        covariances.reshape(-1, n_features * n_features)[:, :: n_features + 1] = diagonal + reg_covar
        return covariances
    return covariances + reg_covar


def _class_covariances(counts, means, s2, around, covariance_type, reg_covar):
    """Each class's (biased, weighted) covariance, shaped as covariance_type
    says, from em_pass's statistics: counts, means and s2 around `around`
    (the tied s2 is sum w x x^T), all in one frame."""
    if covariance_type == "tied":
        moments = pooled_scatter(s2, counts, means)
    else:
        moments = moments_around(counts, counts[:, None] * means, s2, around, means, covariance_type)
    return covariances_from_moments(moments, counts, covariance_type, reg_covar)


class _GaussianGenerativeClassifier(ClassifierMixin, BaseEstimator):
    """Prediction shared by the Gaussian classifiers: subclasses set
    classes_, class_prior_, means (_means) and precisions_cholesky in the
    covariance type _covariance_type. allow_missing (a parameter of both)
    lets NaN in X be missing entries: predictions use each row's marginal
    density over its observed features."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = bool(self.allow_missing)
        return tags

    def _validate_xy(self, X, y, reset):
        """X as the kernels need it, y as discrete labels (a column y is
        raveled with scikit-learn's DataConversionWarning), y encoded (its
        sorted classes, from the labeled rows only, and each row's class
        index, 0 on unlabeled rows) and the mask of the rows marked
        unlabeled (None when there are none)."""
        X, y = validate_float_data(self, X, y, reset=reset, allow_nan=self.allow_missing)
        with naming_errors("y"):
            # the marker first: an int marker among string labels would
            # otherwise meet scikit-learn's vaguer 'Unknown label type'
            unlabeled = _unlabeled_rows(y, self.unlabeled)
            labeled = y if unlabeled is None else y[~unlabeled]
            if labeled.dtype.kind in "biuf":
                # numeric labels: the target type of the distinct labels is
                # that of y (binary or multiclass by their count, continuous
                # by a non-integral value, NaN and infinity refused alike),
                # without scikit-learn's two hash passes over all of y
                encoded = _encode(labeled)
                check_classification_targets(encoded[0])
            else:
                check_classification_targets(labeled)
                try:
                    encoded = _encode(labeled)
                except TypeError as exc:  # labels of types that do not sort together
                    raise TypeError(
                        f"y has labels of types that cannot be compared, such as 1 and 'a': {exc}"
                    ) from None
        if unlabeled is not None:
            labels = np.zeros(len(y), dtype=np.intp)  # any class: these rows weigh 0 in class_statistics
            labels[~unlabeled] = encoded[1]
            encoded = (encoded[0], labels)
        return X, y, encoded, unlabeled

    def _refuse_missing_in_partial_fit(self, X):
        """The running statistics of partial_fit count rows per class, not
        observed entries per class and feature: batches with NaN are refused."""
        if self.allow_missing and check_missing_rows(X) is not None:
            raise ValueError(
                f"{type(self).__name__}.partial_fit: X has missing entries (NaN); partial_fit takes complete "
                "rows only. fit(X, y) with allow_missing=True fits rows with missing entries."
            )

    def _semi_supervised_em(self, X, weights, labels, unlabeled, n_classes, covariance_type, m_step):
        """EM over the classes of the unlabeled rows, the labeled rows' fixed.

        It maximizes sum_labeled w log p(x, y) + sum_unlabeled w log p(x).
        The labeled rows' statistics never change, so they are summed once
        (class_statistics); each iteration is one fused pass (em_statistics)
        over all of X with the labeled rows' weights set to 0, so that only
        the unlabeled rows add to it (no copy of X), plus the labeled
        statistics moved to the current means. Their log p(x, y) comes from
        those statistics too.

        m_step(nk, means, s2, around) is the classifier's own M-step on
        statistics (s2 around `around`, in the frame X - shift): it returns
        (log_prior, means, precisions_cholesky, state), state what the
        classifier keeps. Starts from m_step on the labeled rows alone.
        Returns (the last state, the frame's shift, the weighted counts)."""
        shift = X.mean(axis=0, dtype=np.float64).astype(X.dtype)  # the frame of both passes
        shift64 = shift.astype(np.float64)
        zero = weights.dtype.type(0)
        labeled_weights = np.where(unlabeled, zero, weights)
        unlabeled_weights = np.where(unlabeled, weights, zero)
        counts, means, s2, around = class_statistics(X, shift64, labeled_weights, labels, n_classes, covariance_type)
        if (counts <= 0).any():
            raise ValueError(
                "Every class needs a positive total weight among the labeled rows; class "
                f"{self.classes_[np.argmax(counts <= 0)].item()!r} has none."
            )
        labeled = (counts, counts[:, None] * means, s2, around)
        total_weight = float(weights.sum(dtype=np.float64))

        unlabeled_rows: EMRows = LocalEMRows(X, unlabeled_weights, effective_n_threads())

        def e_step(log_prior, means, chol):
            """All rows' statistics (the labeled ones' moved to `around`, the
            means em_statistics sums s2 around, rounded to X's dtype) and
            their weighted log-likelihood."""
            nk, s1, s2, log_likelihood = unlabeled_rows.em_statistics(log_prior, means + shift64, chol, covariance_type)
            log_likelihood += log_likelihood_from_statistics(*labeled, log_prior, means, chol, covariance_type)
            around = ((means + shift64) - shift64).astype(X.dtype).astype(np.float64)
            s2 = s2 + moments_around(*labeled, around, covariance_type).ravel()
            return nk + labeled[0], s1 + labeled[1], s2, around, log_likelihood

        def statistics_of(model):
            return e_step(*model[:3])

        def step(statistics, model):
            nk, s1, s2, around, log_likelihood = statistics
            return (*m_step(nk, s1 / nk[:, None], s2, around), nk), log_likelihood / total_weight

        model = (*m_step(counts, means, s2, around), counts)  # the labeled rows' model
        # The M-step between passes is tiny; a threaded BLAS there would wake
        # worker threads that then spin against the kernels' OpenMP threads.
        with blas_single_thread():
            model, lower_bound, lower_bounds, converged, n_iter = iterate(
                statistics_of, step, model, -np.inf, self.max_iter, self.tol
            )
            if n_iter == 0:  # max_iter=0: the labeled rows' model, and the likelihood of all rows under it
                lower_bound = statistics_of(model)[-1] / total_weight
        if n_iter and not converged:
            change = lower_bounds[-1] - lower_bounds[-2] if n_iter > 1 else np.inf
            warnings.warn(
                f"Semi-supervised EM did not converge in max_iter={self.max_iter} iterations (the mean "
                f"log-likelihood still changed by {abs(change):.3g} >= tol={self.tol!r}). "
                "Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        *_, state, nk = model
        self._set_em_attributes(lower_bound, n_iter, converged, lower_bounds)
        return state, shift64, nk

    def _set_em_attributes(self, lower_bound, n_iter=1, converged=True, lower_bounds=None):
        """The EM summary; by default that of a fit with every row labeled:
        one step, the maximum-likelihood estimate itself."""
        self.n_iter_, self.converged_ = n_iter, converged
        self.lower_bound_ = float(lower_bound)
        self.lower_bounds_ = [self.lower_bound_] if lower_bounds is None else lower_bounds

    def _labels_of(self, y):
        """Class indices of y in classes_, with unseen labels refused."""
        return labels_of(self.classes_, y)

    def _fitted_input(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False, allow_nan=self.allow_missing)

    def _joint(self, X, normalize=False):
        """Row-major (n_samples x n_classes) log p(x, class), on rows centered
        by the training data's mean; normalize=True: (p(class | x), log p(x))
        instead, from the same pass."""
        shift = self._shift
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_.astype(np.float64))
        evaluate = log_prob_with_missing if self.allow_missing else log_prob
        return evaluate(
            X, shift, self._means(), self._precisions_cholesky(), self._covariance_type, log_prior, direct=True,
            normalize=normalize,
        )

    def predict_joint_log_proba(self, X):
        """log p(x, class) for every row and class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.

        Returns
        -------
        joint_log_proba : ndarray of shape (n_samples, n_classes)
            :math:`\\log p(x, c)`, columns in the order of ``classes_``.
        """
        return self._joint(self._fitted_input(X))

    def predict_log_proba(self, X):
        """log p(class | x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            :math:`\\log p(c \\mid x)`, columns in the order of ``classes_``.
        """
        joint = self._joint(self._fitted_input(X))
        lse = np.empty(joint.shape[0])
        log_normalize(np.asfortranarray(joint), lse, 4096, threads_for_work(joint.size))  # (normalizes a copy)
        return joint - lse[:, None].astype(joint.dtype)

    def predict_proba(self, X):
        """p(class | x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            :math:`p(c \\mid x)`, columns in the order of ``classes_``.
        """
        return self._joint(self._fitted_input(X), normalize=True)[0]

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The class with the largest posterior probability.
        """
        X = self._fitted_input(X)
        return self.classes_[self._joint(X).argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """(Weighted) accuracy of ``predict(X)`` against y, as ClassifierMixin's.

        scikit-learn's metric errors about the labels ('Mix of label input
        types', ...) are said to be about y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.
        y : array-like of shape (n_samples,)
            The true classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows; None weighs each row 1.

        Returns
        -------
        score : float
            The share of rows predicted right (weighted).
        """
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
        Fraction of the largest feature variance (of all rows of X, labeled
        or not) added to every variance.
    unlabeled : int, str or None, default=None
        The label that marks a row of y as unlabeled: its class is latent,
        and fit runs EM from the labeled rows' model, their classes fixed,
        until the log-likelihood of all rows converges (sum over labeled
        rows of w log p(x, y), over unlabeled rows of w log p(x)). Use -1
        for scikit-learn's semi-supervised convention with integer labels,
        a string (such as ``"unlabeled"``) with string labels; the marker
        must be of y's kind (an int marker with string labels, '-1' among
        them, is an error, not a silent class). The marker never becomes a
        class: ``classes_`` are the labeled rows' labels. None (the default):
        every label is a class, so labels such as -1/+1 work as always.
        y with every row unlabeled is an error (fit GaussianMixture).
    max_iter : int, default=100
        EM iterations at most (0: the labeled rows' model, unchanged).
    tol : float, default=1e-3
        EM stops when the mean log-likelihood per unit of weight gains less
        than this.
    allow_missing : bool, default=False
        False: NaN in X is refused, as scikit-learn refuses it. True: NaN
        entries are missing at random; each class's mean and variance of a
        feature are those of its observed entries (the exact maximum
        likelihood: the missing features drop out) and predictions use each row's marginal density
        over its observed features. A row (or, in fit, a feature) with every
        entry missing is refused: it has nothing to evaluate or learn from.
        See the user guide's missing values page.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    class_count_ : ndarray of shape (n_classes,)
        The (weighted) count per class (with unlabeled rows, their expected
        counts included).
    class_prior_ : ndarray of shape (n_classes,)
        The prior probability of each class.
    theta_ : ndarray of shape (n_classes, n_features)
        The per-class means.
    var_ : ndarray of shape (n_classes, n_features)
        The per-class variances, ``epsilon_`` included.
    epsilon_ : float
        The absolute amount added to the variances.
    n_features_in_ : int
        Number of features seen in fit.
    n_iter_ : int
        EM iterations run (0 with max_iter=0). With no row unlabeled, 1: the
        fit is the supervised one, exactly, the maximum-likelihood estimate
        reached in one step.
    converged_ : bool
        Whether EM met tol before max_iter.
    lower_bound_ : float
        Mean (weighted) log-likelihood of all rows, as GaussianMixture's: at
        the start of the last EM iteration; with no row unlabeled, or
        max_iter=0, that of the fitted model.
    lower_bounds_ : list of float
        ``lower_bound_`` after every EM iteration; it never decreases (up to
        rounding, and the smoothing the M-step adds to the variances).

    See Also
    --------
    lvmfast.GaussianClassifier : Full, tied and spherical covariances.
    lvmfast.dask.GaussianNB : The same on a Dask array.

    Examples
    --------
    The two-class model of lvmfast's demo (p(y=+1) = 0.6, the classes'
    means (2, 0) and (-2, 0), covariances [[1, .8], [.8, 2]] and
    [[2, .6], [.6, 1]]), with 1% of the rows labeled, -1/+1 labels and 0
    marking the rest:

    >>> import numpy as np
    >>> from lvmfast import GaussianNB
    >>> rng = np.random.default_rng(0)
    >>> y = np.where(rng.random(10000) < 0.6, 1, -1)
    >>> X = np.where((y == 1)[:, None], rng.multivariate_normal([2, 0], [[1, .8], [.8, 2]], 10000),
    ...              rng.multivariate_normal([-2, 0], [[2, .6], [.6, 1]], 10000))
    >>> partial = np.where(rng.random(10000) < 0.01, y, 0)
    >>> nb = GaussianNB(unlabeled=0).fit(X, partial)
    >>> nb.classes_.tolist(), nb.n_iter_ > 0
    ([-1, 1], True)
    """

    _covariance_type = "diag"
    _parameter_constraints: dict = {
        "priors": ["array-like", None],
        "var_smoothing": [Interval(Real, 0, None, closed="left")],
        **_SEMI_SUPERVISED_CONSTRAINTS,
        "allow_missing": ["boolean"],
    }

    def __init__(self, *, priors=None, var_smoothing=1e-9, unlabeled=None, max_iter=100, tol=1e-3,
                 allow_missing=False):
        self.priors = priors
        self.var_smoothing = var_smoothing
        self.unlabeled = unlabeled
        self.max_iter = max_iter
        self.tol = tol
        self.allow_missing = allow_missing

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit the per-class Gaussians on X and y.

        Rows of y marked ``unlabeled`` are fit by EM (see ``unlabeled``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.
        y : array-like of shape (n_samples,)
            The class of each row (any sortable labels: ints, strings); rows
            marked with the ``unlabeled`` marker have latent classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows; None weighs each row 1.

        Returns
        -------
        self : GaussianNB
            The fitted classifier.
        """
        self._forget()
        X, y, (classes, labels), unlabeled = self._validate_xy(X, y, reset=True)
        n_missing = check_missing_rows(X) if self.allow_missing else None
        if n_missing is not None:
            if unlabeled is not None:
                _refuse_missing_with_unlabeled("GaussianNB")
            return self._fit_missing(X, classes, labels, sample_weight)
        if unlabeled is not None:
            return self._semi_supervised_fit(X, classes, labels, unlabeled, sample_weight)
        self._partial_fit(X, y, classes, sample_weight, labels, final=True)
        self._set_em_attributes(self._mean_log_likelihood())
        return self

    def _mean_log_likelihood(self):
        """Mean (weighted) log p(x, y) of the rows fit, from the running
        statistics: each class's rows lie around theta_ with their biased
        variance var_ - epsilon_."""
        counts = self._class_count
        theta = self.theta_.astype(np.float64)
        variances = self.var_.astype(np.float64)
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_.astype(np.float64))
        second = counts[:, None] * np.maximum(variances - self.epsilon_, 0.0)
        total = log_likelihood_from_statistics(
            counts, counts[:, None] * theta, second, theta, log_prior, theta, 1.0 / np.sqrt(variances), "diag"
        )
        return total / counts.sum()

    def _fit_missing(self, X, classes, labels, sample_weight):
        """fit on X with missing entries: each class's weighted mean and
        variance of each feature over its observed entries; epsilon_ from the
        largest unweighted variance of a feature's observed entries."""
        if len(classes) < 2:
            raise ValueError(f"GaussianNB needs at least 2 classes; y has 1 class: {classes}.")
        priors = None if self.priors is None else _check_priors(self.priors, len(classes))
        weights = check_sample_weight(sample_weight, X, X.dtype).astype(np.float64)
        # unweighted and biased, as scikit-learn's epsilon_ takes the variance
        mean_all, var_all = observed_moments(X, np.ones(X.shape[0]), ddof=0)
        epsilon = float(self.var_smoothing * var_all.max())
        counts, means, variances, _ = diagonal_fit(
            X, labels, unit_mean_weights(weights, np.float64), len(classes), "diag", 0.0, mean_all
        )
        variances = variances + epsilon
        self._start(classes, len(classes), X.shape[1])
        if (variances <= 0).any():
            _refuse_zero_variance(variances, classes, self.var_smoothing)
        with np.errstate(over="ignore"):
            check_precisions_fit_dtype(float((1.0 / variances).max()), X.dtype)
        total = np.bincount(labels, weights=weights, minlength=len(classes))
        self._class_count, self._total, self.epsilon_, self._shift = total, (float(X.shape[0]), mean_all, var_all), \
            epsilon, mean_all
        self.theta_ = (means + mean_all).astype(X.dtype)
        self.var_ = variances.astype(X.dtype)
        self.class_count_ = total.astype(X.dtype)
        prior = total / total.sum() if priors is None else priors
        self.class_prior_ = prior.astype(X.dtype)
        joint = self._joint(X).astype(np.float64)
        self._set_em_attributes(float(weights @ joint[np.arange(X.shape[0]), labels] / weights.sum()))
        return self

    def _semi_supervised_fit(self, X, classes, labels, unlabeled, sample_weight):
        """fit with unlabeled rows: semi-supervised EM whose M-step is naive
        Bayes' own (epsilon_ added to the variances, given priors kept)."""
        if len(classes) < 2:
            raise ValueError(
                f"GaussianNB needs at least 2 classes; y has 1 class among its labeled rows (the rest marked "
                f"unlabeled={self.unlabeled!r}): {classes}."
            )
        self._start(classes, len(classes), X.shape[1])
        priors = None if self.priors is None else _check_priors(self.priors, len(classes))
        _refuse_zero_priors(priors, classes)
        weights, scale = unit_mean_weights(check_sample_weight(sample_weight, X, np.float64), X.dtype, with_scale=True)
        total = (float(X.shape[0]), *feature_mean_variance(X))  # epsilon_ is scikit-learn's: from every row's variance, unweighted
        epsilon = float(self.var_smoothing * total[2].max())

        def m_step(nk, means, s2, around):
            variances = _class_covariances(nk, means, s2, around, "diag", 0.0) + epsilon
            if (variances <= 0).any():
                if total[2].max() == 0:
                    explain_zero_variance(X)
                _refuse_zero_variance(variances, classes, self.var_smoothing)
            prior = nk / nk.sum() if priors is None else priors
            with np.errstate(over="ignore"):
                check_precisions_fit_dtype(float((1.0 / variances).max()), X.dtype)
            return np.log(prior), means, 1.0 / np.sqrt(variances), (means, variances, prior)

        (means, variances, prior), shift, nk = self._semi_supervised_em(
            X, weights, labels, unlabeled, len(classes), "diag", m_step
        )
        counts = nk * scale  # in the caller's units of weight, as scikit-learn's class_count_
        self._class_count, self._total, self.epsilon_, self._shift = counts, total, epsilon, total[1]
        self.theta_ = (means + shift).astype(X.dtype)
        self.var_ = variances.astype(X.dtype)
        self.class_count_ = counts.astype(X.dtype)
        self.class_prior_ = prior.astype(X.dtype)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one more batch of labeled rows.

        Fitting in batches gives the model of one fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.
        y : array-like of shape (n_samples,)
            The class of each row; no row may be marked unlabeled.
        classes : array-like of shape (n_classes,), default=None
            Every class; required on the first call, and then the same or
            None.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows; None weighs each row 1.

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
        if first and self.unlabeled is not None and np.isin(np.asarray(classes), [self.unlabeled]).any():
            raise ValueError(
                f"classes={classes!r} holds the unlabeled marker {self.unlabeled!r}, which is never a class."
            )
        X, y, _, unlabeled = self._validate_xy(X, y, reset=first)
        self._refuse_missing_in_partial_fit(X)
        if unlabeled is not None:
            # EM revisits every row each iteration; a batch's rows are gone
            # once partial_fit returns.
            raise ValueError(
                f"partial_fit takes labeled rows only, but {int(unlabeled.sum())} row(s) of y are marked "
                f"unlabeled={self.unlabeled!r}; fit(X, y) fits unlabeled rows by EM over all of X."
            )
        for name in _SEMI_SUPERVISED_ATTRIBUTES:  # they describe a fit, which this batch changes
            self.__dict__.pop(name, None)
        return self._partial_fit(X, y, None if not first else np.unique(np.asarray(classes)), sample_weight)

    def _partial_fit(self, X, y, classes, sample_weight, labels=None, final=False):
        """One batch into the running statistics. final (fit): a zero
        variance is refused here, as no later batch can give it spread; a
        partial_fit batch may (predictions refuse until one does)."""
        if classes is not None:  # the first batch
            # fit's labels come from y's own classes; partial_fit's classes are the caller's
            self._start(classes, len(classes) if labels is not None else len(np.unique(y)), X.shape[1])
        if labels is None:
            labels = self._labels_of(y)
        # Weights in X's dtype, as scikit-learn takes them (and keeps
        # class_count_); the counts summed in float64.
        weights = check_sample_weight(sample_weight, X, X.dtype).astype(np.float64)
        batch = _batch_statistics(X, labels, weights, len(self.classes_), unit_weights=sample_weight is None)
        return self._combine(batch, X.dtype, final, X)

    def _forget(self):
        """Drop the running statistics: fit starts anew (partial_fit would go on)."""
        for name in ("classes_", "theta_", "var_", "class_count_", "_class_count", "class_prior_", "epsilon_", "_total",
                     *_SEMI_SUPERVISED_ATTRIBUTES):
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
        total, new_theta, new_var = merge_moments(
            self._class_count, theta, var, np.where(filled, counts, 0.0), batch_mean, batch_var, "diag"
        )
        # scikit-learn's epsilon_ uses the unweighted variance of the rows
        # fitted, whatever sample_weight is: count them unweighted.
        n_all, mean_all, var_all = self._total
        n_new, mean_new, var_new = (a[0] for a in merge_moments(
            np.array([n_all]), mean_all[None], var_all[None], np.array([batch_count]), batch_mean_all[None],
            batch_var_all[None], "diag",
        ))
        n_new = float(n_new)
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
    unlabeled : int, str or None, default=None
        The label that marks a row of y as unlabeled: its class is latent,
        and fit runs EM from the labeled rows' model, their classes fixed,
        until the log-likelihood of all rows converges (sum over labeled
        rows of w log p(x, y), over unlabeled rows of w log p(x)). Use -1
        for scikit-learn's semi-supervised convention with integer labels,
        a string (such as ``"unlabeled"``) with string labels; the marker
        must be of y's kind (an int marker with string labels, '-1' among
        them, is an error, not a silent class). The marker never becomes a
        class: ``classes_`` are the labeled rows' labels. None (the default):
        every label is a class, so labels such as -1/+1 work as always.
        y with every row unlabeled is an error (fit GaussianMixture).
    max_iter : int, default=100
        EM iterations at most (0: the labeled rows' model, unchanged).
    tol : float, default=1e-3
        EM stops when the mean log-likelihood per unit of weight gains less
        than this.
    allow_missing : bool, default=False
        False: NaN in X is refused, as scikit-learn refuses it. True: NaN
        entries are missing at random; fit maximizes the likelihood of the
        observed entries: 'diag' and 'spherical' in closed form (the
        missing features drop out), 'full' and 'tied' by EM over the
        missing entries with the classes known (max_iter and tol apply) and predictions use each row's marginal density
        over its observed features. A row (or, in fit, a feature) with every
        entry missing is refused: it has nothing to evaluate or learn from.
        See the user guide's missing values page.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    class_prior_ : ndarray of shape (n_classes,)
        The prior probability of each class.
    means_ : ndarray of shape (n_classes, n_features)
        The per-class means.
    covariances_ : ndarray
        The biased (1/N_k) covariance estimates, shaped by covariance_type
        as :class:`lvmfast.GaussianMixture`'s.
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions, as
        :class:`lvmfast.GaussianMixture`'s.
    n_features_in_ : int
        Number of features seen in fit.
    n_iter_ : int
        EM iterations run (0 with max_iter=0). With no row unlabeled, 1: the
        fit is the supervised one, exactly, the maximum-likelihood estimate
        reached in one step.
    converged_ : bool
        Whether EM met tol before max_iter.
    lower_bound_ : float
        Mean (weighted) log-likelihood of all rows, as GaussianMixture's: at
        the start of the last EM iteration; with no row unlabeled, or
        max_iter=0, that of the fitted model.
    lower_bounds_ : list of float
        ``lower_bound_`` after every EM iteration; it never decreases (up to
        rounding, and the smoothing the M-step adds to the variances).

    See Also
    --------
    lvmfast.GaussianNB : scikit-learn's naive Bayes, with variance smoothing.
    lvmfast.GaussianMixture : The same model with every class latent.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import GaussianClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(4, 0.5, (200, 2))])
    >>> y = np.repeat([0, 1], 200)
    >>> clf = GaussianClassifier("full").fit(X, y)
    >>> clf.predict([[0.0, 0.0], [4.0, 4.0]])
    array([0, 1])
    >>> partial = np.where(rng.random(400) < 0.05, y, -1)   # 5% of the labels
    >>> semi = GaussianClassifier("full", unlabeled=-1).fit(X, partial)
    >>> bool(semi.score(X, y) > 0.95)
    True
    """

    _parameter_constraints: dict = {
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "priors": ["array-like", None],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        **_SEMI_SUPERVISED_CONSTRAINTS,
        "allow_missing": ["boolean"],
    }

    def __init__(self, covariance_type="full", *, priors=None, reg_covar=0.0, unlabeled=None, max_iter=100, tol=1e-3,
                 allow_missing=False):
        self.covariance_type = covariance_type
        self.priors = priors
        self.reg_covar = reg_covar
        self.unlabeled = unlabeled
        self.max_iter = max_iter
        self.tol = tol
        self.allow_missing = allow_missing

    @property
    def _covariance_type(self):
        return self.covariance_type

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit one Gaussian per class of y.

        Rows of y marked ``unlabeled`` are fit by EM (see ``unlabeled``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32.
        y : array-like of shape (n_samples,)
            The class of each row (any sortable labels: ints, strings); rows
            marked with the ``unlabeled`` marker have latent classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows; None weighs each row 1.

        Returns
        -------
        self : GaussianClassifier
            The fitted classifier.
        """
        X, y, (classes, labels), unlabeled = self._validate_xy(X, y, reset=True)
        if len(classes) < 2:
            among = "" if unlabeled is None else f" among its labeled rows (the rest marked unlabeled={self.unlabeled!r})"
            raise ValueError(f"GaussianClassifier needs at least 2 classes; y has 1 class{among}: {classes}.")
        priors = None if self.priors is None else _check_priors(self.priors, len(classes))
        self.classes_ = classes
        weights, scale = unit_mean_weights(check_sample_weight(sample_weight, X, np.float64), X.dtype, with_scale=True)

        def m_step(counts, means, s2, around):
            return self._m_step(X, priors, counts, means, s2, around)

        n_missing = check_missing_rows(X) if self.allow_missing else None
        if n_missing is not None:
            if unlabeled is not None:
                _refuse_missing_with_unlabeled("GaussianClassifier")
            (prior, means, cov, chol), shift, counts = self._fit_missing(X, n_missing, labels, weights, priors)
        elif unlabeled is not None:
            _refuse_zero_priors(priors, classes)
            (prior, means, cov, chol), shift, counts = self._semi_supervised_em(
                X, weights, labels, unlabeled, len(classes), self.covariance_type, m_step
            )
        else:
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
            log_prior, means, chol, (prior, means, cov, chol) = m_step(counts, means, s2, around)
            log_likelihood = log_likelihood_from_statistics(
                counts, counts[:, None] * means, s2, around, log_prior, means, chol, self.covariance_type
            )
            self._set_em_attributes(log_likelihood / counts.sum())
        self.class_prior_ = prior
        self._shift = shift + counts @ means / counts.sum()  # centers predictions
        self.means_ = (means + shift).astype(X.dtype)
        self.covariances_ = cov.astype(X.dtype)
        self.precisions_cholesky_ = chol.astype(X.dtype)
        # what partial_fit goes on from: the classes' statistics in the caller's units of weight
        self._class_moments = (counts * scale, means + shift, _add_reg_covar(cov, self.covariance_type, -self.reg_covar))
        self.__dict__.pop("_not_ready", None)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one more batch of labeled rows.

        Exact, as GaussianNB's: each class's weighted count, mean and
        (biased) covariance are combined with the batch's by the pairwise
        update (lvmfast._gaussian.merge_moments), so fitting in batches
        gives fit's model on all the rows (to rounding), for every
        covariance_type. After fit, it goes on from fit's statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, each among `classes`; no unlabeled marker here.
        classes : array-like of shape (n_classes,), default=None
            Every class, on the first call (ignored as GaussianNB's when
            equal on later calls).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self

        Notes
        -----
        Until every class has rows, and a covariance that reg_covar makes
        positive definite, the model cannot predict: the statistics are
        kept, and predictions raise a ValueError saying why.
        """
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} is not the same as on last call to partial_fit (the first), "
                f"was: {self.classes_!r}."
            )
        X, y, _, unlabeled = self._validate_xy(X, y, reset=first)
        self._refuse_missing_in_partial_fit(X)
        if unlabeled is not None:
            raise ValueError(
                f"partial_fit takes labeled rows only, but {int(unlabeled.sum())} row(s) of y are marked "
                f"unlabeled={self.unlabeled!r}; fit(X, y) fits unlabeled rows by EM over all of X."
            )
        if first:
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(f"GaussianClassifier needs at least 2 classes; classes holds {len(classes)}: {classes}.")
            if self.priors is not None:
                _check_priors(self.priors, len(classes))
            self.classes_ = classes
        weights = check_sample_weight(sample_weight, X, np.float64)
        counts, _, _, means, covariances = _batch_class_moments(
            X, labels_of(self.classes_, y), weights, len(self.classes_), self.covariance_type
        )
        if not first:
            counts, means, covariances = merge_moments(*self._class_moments, counts, means, covariances,
                                                       self.covariance_type)
        with np.errstate(over="ignore"):
            if not np.isfinite(counts.astype(X.dtype)).all():
                raise ValueError(
                    f"sample_weight: the weighted class counts overflow {X.dtype.name}; scale the weights down "
                    "(only their ratios matter)."
                )
        self._class_moments = (counts, means, covariances)
        for name in _SEMI_SUPERVISED_ATTRIBUTES:  # set again below once the model is complete
            self.__dict__.pop(name, None)
        self._set_class_model(X.dtype)
        return self

    def _set_class_model(self, dtype):
        """The fitted attributes from the running statistics (_class_moments),
        as fit sets them; or, while a class has no rows or a collapsed
        covariance, the reason predictions give (_not_ready)."""
        counts, means, covariances = self._class_moments
        priors = None if self.priors is None else _check_priors(self.priors, len(self.classes_))
        self.class_prior_ = counts / counts.sum() if priors is None else priors
        self.means_ = means.astype(dtype)
        covariances = _add_reg_covar(covariances, self.covariance_type, self.reg_covar)
        self.covariances_ = covariances.astype(dtype)
        shift = counts @ means / counts.sum()
        self._shift = shift  # centers predictions
        self.__dict__.pop("_not_ready", None)
        self.__dict__.pop("precisions_cholesky_", None)
        if (counts <= 0).any():
            self._not_ready = (
                f"Class {self.classes_[np.argmax(counts <= 0)].item()!r} has no rows (or no weight) in the "
                "batches given to partial_fit so far: its Gaussian is undefined. partial_fit rows of every class first."
            )
            return
        try:
            chol = precision_cholesky(covariances, self.covariance_type, self.reg_covar, names=self.classes_.tolist())
        except ValueError as exc:
            self._not_ready = f"{exc} (from the batches given to partial_fit so far)"
            return
        check_precisions_fit_dtype(largest_precision(chol), dtype)
        self.precisions_cholesky_ = chol.astype(dtype)
        # fit's lower_bound_: the mean log p(x, y) of the rows, from their statistics
        centered = means - shift
        moments = _add_reg_covar(covariances, self.covariance_type, -self.reg_covar)
        if self.covariance_type == "tied":  # em_pass's tied s2: sum w x x^T
            s2 = counts.sum() * moments + (counts[:, None] * centered).T @ centered
        elif self.covariance_type == "spherical":
            s2 = np.repeat((counts * moments)[:, None], means.shape[1], axis=1)
        else:
            s2 = counts.reshape((-1,) + (1,) * (moments.ndim - 1)) * moments
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        log_likelihood = log_likelihood_from_statistics(
            counts, counts[:, None] * centered, s2.ravel(), centered, log_prior, centered, chol, self.covariance_type
        )
        self._set_em_attributes(log_likelihood / counts.sum())

    def _fit_missing(self, X, n_missing, labels, weights, priors):
        """fit on X with missing entries (see allow_missing): ((prior, means,
        cov, chol), shift, counts), means in the frame X - shift."""
        shift = observed_mean(X, n_missing)
        n_classes = len(self.classes_)
        if self.covariance_type in ("diag", "spherical"):
            counts, means, cov, _ = diagonal_fit(X, labels, weights.astype(np.float64), n_classes, self.covariance_type,
                                                 self.reg_covar, shift)
            _, means, chol, state = self._model(X, priors, counts, means, cov)
            joint = log_prob_with_missing(X, shift, means + shift, chol, self.covariance_type, np.log(state[0]),
                                          normalize=False).astype(np.float64)
            self._set_em_attributes(float(weights @ joint[np.arange(X.shape[0]), labels] / weights.sum()))
            return state, shift, counts
        state, counts, lower_bound, lower_bounds, converged, n_iter = full_fit_em(
            X, n_missing, labels, weights.astype(np.float64), n_classes, self.covariance_type, self.reg_covar, shift,
            lambda counts, means, cov: self._model(X, priors, counts, means, cov),
            lambda counts, means, s2, around: self._m_step(X, priors, counts, means, s2, around),
            self.max_iter, self.tol,
        )
        if n_iter and not converged:
            warnings.warn(
                f"EM over the missing entries did not converge in max_iter={self.max_iter} iterations. "
                "Increase max_iter or tol.", ConvergenceWarning, stacklevel=3,
            )
        self._set_em_attributes(lower_bound, n_iter, converged, lower_bounds)
        return state, shift, counts

    def _m_step(self, X, priors, counts, means, s2, around):
        """The maximum-likelihood classes from their statistics (see
        _semi_supervised_em's m_step), reg_covar added, given priors kept."""
        cov = _class_covariances(counts, means, s2, around, self.covariance_type, self.reg_covar)
        return self._model(X, priors, counts, means, cov)

    def _model(self, X, priors, counts, means, cov):
        """(log prior, means, precision factors, (prior, means, cov, chol))
        of classes with these counts, means and covariances."""
        try:
            chol = precision_cholesky(cov, self.covariance_type, self.reg_covar, names=self.classes_.tolist())
        except ValueError:
            explain_zero_variance(X)
            raise
        check_precisions_fit_dtype(largest_precision(chol), X.dtype)
        prior = counts / counts.sum() if priors is None else priors
        with np.errstate(divide="ignore"):
            log_prior = np.log(prior)
        return log_prior, means, chol, (prior, means, cov, chol)

    def _means(self):
        return self.means_

    def _precisions_cholesky(self):
        reason = getattr(self, "_not_ready", None)
        if reason is not None:
            raise ValueError(reason)
        return self.precisions_cholesky_
