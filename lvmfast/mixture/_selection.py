"""Choosing a Gaussian mixture's number of components (and covariance type)
by an information criterion, in one call: GaussianMixtureIC, named after
scikit-learn's LassoLarsIC.

The grid's fits are GaussianMixture's own, from the same random_state, so
each gives what GaussianMixture(k, covariance_type=t).fit(X) gives. What they
share is what does not depend on the covariance type: X is validated and
centered once, each k's initial responsibilities (its k-means labels, or
seeds) are drawn once for all covariance types, and each model's final
log-likelihood comes from one statistics pass rather than from the separate
bic(X) and aic(X) scoring passes.
"""
import numbers
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from lvmfast._gaussian import COVARIANCE_TYPES
from lvmfast._parallel import effective_n_threads
from lvmfast._validation import check_sample_weight, integers, unchanged_on_error, unit_mean_weights, validate_float_data
from lvmfast._gaussian import LocalEMRows
from lvmfast.mixture._base import INIT_PARAMS, fit_rows
from lvmfast.mixture._gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixtureIC"]

CRITERIA = ("bic", "aic")


class GaussianMixtureIC(DensityMixin, BaseEstimator):
    """Gaussian mixtures over a grid of n_components and covariance types,
    the best kept by BIC or AIC.

    One call fits GaussianMixture for every (n_components, covariance_type)
    of the grid, tabulates BIC, AIC and the log-likelihood of each, and keeps
    the model with the lowest criterion. Each fit is GaussianMixture's with
    the same parameters and random_state, so the table matches fitting the
    models one after another and calling bic(X) and aic(X); the call is
    faster because the models of one n_components share their initial
    responsibilities (one k-means per n_components, not one per covariance
    type) and each model's criteria come from a single pass over X.

    Parameters
    ----------
    n_components : int or array-like of int, default=(1, ..., 10)
        The numbers of components to try (an int: that one alone).
    covariance_type : str or array-like of str, default=('full', 'tied', 'diag', 'spherical')
        The covariance types to try.
    criterion : {'bic', 'aic'}, default='bic'
        What picks the best model (lower is better).
    tol, reg_covar, max_iter, n_init, init_params
        As for GaussianMixture, for every fit of the grid.
    random_state : int, RandomState instance or None, default=None
        An int is every fit's random_state (each fit is then exactly
        GaussianMixture(..., random_state=that int)). Otherwise one seed is
        drawn per n_components, shared by its covariance types.

    Attributes
    ----------
    results_ : dict of ndarrays
        One entry per fit (``pandas.DataFrame(results_)`` shows the table):
        'n_components', 'covariance_type', 'bic', 'aic', 'log_likelihood'
        (mean per row, as score(X)), 'n_parameters', 'n_iter', 'converged',
        'fit_seconds'.
    best_index_ : int
        The row of ``results_`` with the lowest criterion.
    best_params_ : dict
        Its n_components and covariance_type.
    best_estimator_ : GaussianMixture
        Its fitted model; predict, predict_proba, score_samples, score and
        sample use it.
    estimators_ : list of GaussianMixture
        Every fitted model, in the order of ``results_``.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    lvmfast.GaussianMixture : The model each fit makes.
    lvmfast.BayesianGaussianMixture : Another way to choose the size.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import GaussianMixtureIC
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(10, 1, (200, 2))])
    >>> search = GaussianMixtureIC(n_components=range(1, 5), covariance_type=["full", "diag"],
    ...                            random_state=0).fit(X)
    >>> search.best_params_["n_components"]
    2
    >>> len(search.results_["bic"])   # 4 sizes x 2 covariance types
    8
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES)), "array-like"],
        "criterion": [StrOptions(set(CRITERIA))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [integers(0)],
        "n_init": [integers(1)],
        "init_params": [StrOptions(set(INIT_PARAMS))],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=tuple(range(1, 11)),
        *,
        covariance_type=COVARIANCE_TYPES,
        criterion="bic",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.criterion = criterion
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def _grid(self, n_samples):
        """The grid's n_components and covariance types, checked."""
        counts = list(np.ravel(np.asarray(self.n_components, dtype=object)))
        if not counts:
            raise ValueError("n_components must list at least one number of components; got an empty list.")
        for k in counts:
            if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
                raise ValueError(f"n_components must hold integers >= 1; got {k!r} in {self.n_components!r}.")
        if max(counts) > n_samples:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {max(counts)} (the largest of the "
                f"grid), n_samples = {n_samples}"
            )
        types = [self.covariance_type] if isinstance(self.covariance_type, str) else list(self.covariance_type)
        if not types:
            raise ValueError("covariance_type must list at least one covariance type; got an empty list.")
        for t in types:
            if t not in COVARIANCE_TYPES:
                raise ValueError(f"covariance_type must hold values among {list(COVARIANCE_TYPES)}; got {t!r}.")
        return [int(k) for k in counts], types

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Fit every model of the grid and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for every fit; integer weights act as repeated rows,
            in the fits and in the criteria (whose row count is then the
            total weight).

        Returns
        -------
        self : GaussianMixtureIC
            The fitted search.
        """
        X = validate_float_data(self, X, reset=True, ensure_min_samples=2)
        n_samples, n_features = X.shape
        counts, types = self._grid(n_samples)
        weights, scale = unit_mean_weights(check_sample_weight(sample_weight, X, np.float64), X.dtype, with_scale=True)
        # each k's initial responsibilities are drawn once for all covariance types
        rows = LocalEMRows(X, weights, effective_n_threads(), share_initial_assignments=True)
        n_rows = rows.total_weight * scale  # the caller's total weight: n_samples when unweighted
        if isinstance(self.random_state, numbers.Integral):
            seeds = [self.random_state] * len(counts)
        else:
            random_state = check_random_state(self.random_state)
            seeds = [int(s) for s in random_state.randint(np.iinfo(np.int32).max, size=len(counts))]

        table = {key: [] for key in ("n_components", "covariance_type", "bic", "aic", "log_likelihood",
                                     "n_parameters", "n_iter", "converged", "fit_seconds")}
        estimators = []
        for k, seed in zip(counts, seeds):
            for covariance_type in types:
                started = time.perf_counter()
                model = GaussianMixture(
                    k, covariance_type=covariance_type, tol=self.tol, reg_covar=self.reg_covar,
                    max_iter=self.max_iter, n_init=self.n_init, init_params=self.init_params, random_state=seed,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # one summary below
                    fit_rows(model, rows)
                model.n_features_in_ = n_features
                if hasattr(self, "feature_names_in_"):
                    model.feature_names_in_ = self.feature_names_in_
                # the log-likelihood under the fitted parameters (lower_bound_
                # is the one before the last M-step): one pass for both criteria
                total = scale * rows.em_statistics(
                    np.log(model.weights_.astype(np.float64)), model.means_, model.precisions_cholesky_,
                    covariance_type,
                )[3]
                n_parameters = model._n_parameters()
                table["n_components"].append(k)
                table["covariance_type"].append(covariance_type)
                table["bic"].append(-2 * total + n_parameters * np.log(n_rows))
                table["aic"].append(-2 * total + 2 * n_parameters)
                table["log_likelihood"].append(total / n_rows)
                table["n_parameters"].append(n_parameters)
                table["n_iter"].append(model.n_iter_)
                table["converged"].append(model.converged_)
                table["fit_seconds"].append(time.perf_counter() - started)
                estimators.append(model)
        results = {key: np.asarray(values, dtype=object if key == "covariance_type" else None)
                   for key, values in table.items()}
        unconverged = [f"({k}, {t!r})" for k, t, c in zip(results["n_components"], results["covariance_type"],
                                                          results["converged"]) if not c]
        if unconverged and self.max_iter > 0:
            warnings.warn(
                f"{len(unconverged)} of {len(estimators)} fits did not converge: (n_components, covariance_type) "
                f"= {', '.join(unconverged)}. Increase max_iter or tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        best = int(np.argmin(results[self.criterion]))
        self.results_ = results
        self.estimators_ = estimators
        self.best_index_ = best
        self.best_params_ = {"n_components": int(results["n_components"][best]),
                             "covariance_type": str(results["covariance_type"][best])}
        self.best_estimator_ = estimators[best]
        return self

    # -- the best model -------------------------------------------------------

    def _best(self):
        check_is_fitted(self)
        return self.best_estimator_

    def predict(self, X):
        """The best model's most likely component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The component of each row.
        """
        return self._best().predict(X)

    def predict_proba(self, X):
        """The best model's responsibilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            The posterior probability of each component.
        """
        return self._best().predict_proba(X)

    def score_samples(self, X):
        """The best model's log-likelihood of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            The log-likelihood of each row.
        """
        return self._best().score_samples(X)

    def score(self, X, y=None, sample_weight=None):
        """The best model's mean (weighted) log-likelihood of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows; None weighs each row 1.

        Returns
        -------
        log_likelihood : float
            The (weighted) mean log-likelihood per row.
        """
        return self._best().score(X, sample_weight=sample_weight)

    def bic(self, X):
        """The best model's BIC on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        bic : float
            Lower is better.
        """
        return self._best().bic(X)

    def aic(self, X):
        """The best model's AIC on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        aic : float
            Lower is better.
        """
        return self._best().aic(X)

    def sample(self, n_samples=1):
        """Rows drawn from the best model (see ``GaussianMixture.sample``).

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The rows.
        y : ndarray of shape (n_samples,)
            The component of each row.
        """
        return self._best().sample(n_samples)
