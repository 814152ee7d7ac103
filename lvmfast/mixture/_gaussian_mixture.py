"""Gaussian mixture models fit by EM.

Each EM iteration is one fused pass over the rows (lvmfast._gaussian.
em_statistics): log-densities, responsibilities and the weighted sufficient
statistics, a chunk per thread, with no n_samples x n_components array. The
M-step on those small statistics is NumPy here. The loop, the convergence test
and the initializations follow scikit-learn's GaussianMixture step for step,
so the same starting point gives the same iterations.
"""
import numbers
import time
from abc import ABCMeta, abstractmethod
import warnings
from numbers import Real

import numpy as np
from scipy import linalg
from sklearn import config_context
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from lvmfast._iterate import iterate
from lvmfast._gaussian import (
    COVARIANCE_TYPES, check_precisions_fit_dtype, class_statistics, em_statistics, largest_precision, log_prob, moments_around,
    precision_cholesky,
)
from lvmfast._parallel import blas_single_thread, effective_n_threads
from lvmfast._validation import check_sample_weight, integers, unchanged_on_error, unit_mean_weights, validate_float_data

__all__ = ["GaussianMixture"]

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
# scikit-learn adds this to every component's weight so that none is exactly 0.
NK_EPSILON = 10 * np.finfo(np.float64).eps
INIT_CHUNK_ROWS = 65536


# ---------------------------------------------------------------------------
# M-step on statistics


def _parameters_from_statistics(nk, s1, s2, around, covariance_type, reg_covar, shift):
    """weights (unnormalized, as nk), means and covariances from the pass's
    statistics: nk = sum w r, s1 = sum w r x and s2 summed around the means
    `around` (see em_pass), all in the frame centered by `shift`."""
    n_components, n_features = s1.shape
    nk_eps = nk + NK_EPSILON
    # scikit-learn's means, sum w r x / (nk + eps) in X's own coordinates,
    # in the centered frame: a component left without weight goes where
    # scikit-learn's goes (toward X's origin), and so do the next steps.
    # (The shift's share is scaled by eps / (nk + eps), not eps alone, so
    # that it is exactly -shift for an empty component even where eps *
    # shift would underflow: subnormal data.)
    means = s1 / nk_eps[:, None] - (NK_EPSILON / nk_eps)[:, None] * np.asarray(shift, dtype=np.float64)
    if covariance_type == "tied":
        scatter = s2.reshape(n_features, n_features) - (nk_eps[:, None] * means).T @ means
        covariances = scatter / nk_eps.sum()
        covariances.flat[:: n_features + 1] += reg_covar
        return nk_eps, means, covariances
    # sum w r (x - m)(x - m)^T from the moments around `around`
    moments = moments_around(nk, s1, s2, around, means, covariance_type)
    if covariance_type == "full":
        covariances = moments / nk_eps[:, None, None]
        for cov in covariances:
            cov.flat[:: n_features + 1] += reg_covar
        return nk_eps, means, covariances
    variances = moments / nk_eps[:, None]
    variances = np.maximum(variances, 0.0) + reg_covar
    if covariance_type == "spherical":
        variances = variances.mean(axis=1)
    return nk_eps, means, variances


def second_moments(covariance_type, x, weighted_resp, means, weights):
    """s2 of em_pass for a block of centered rows and their w * r."""
    if covariance_type == "tied":
        return ((weights[:, None] * x).T @ x).ravel()
    if covariance_type == "full":
        return np.stack([(weighted_resp[:, k, None] * (x - m)).T @ (x - m) for k, m in enumerate(means)]).ravel()
    return np.stack([weighted_resp[:, k] @ (x - m) ** 2 for k, m in enumerate(means)]).ravel()


def _precision_cholesky_from_precisions(precisions, covariance_type):
    if covariance_type in ("full", "tied"):
        flip = lambda a: np.flipud(np.fliplr(a))  # noqa: E731 - upper Cholesky of a precision
        stack = precisions[None] if covariance_type == "tied" else precisions
        out = np.array([flip(linalg.cholesky(flip(p), lower=True)) for p in stack])
        return out[0] if covariance_type == "tied" else out
    return np.sqrt(precisions)


def _covariances_from_precisions(precisions, covariance_type):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def _precisions(precisions_cholesky, covariance_type):
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", precisions_cholesky, precisions_cholesky)
    if covariance_type == "tied":
        return precisions_cholesky @ precisions_cholesky.T
    return precisions_cholesky**2


# ---------------------------------------------------------------------------
# The estimator


class _LocalRows:
    """The local backend of the EM pass: the compiled kernels over the fixed
    blocks of an in-memory X (lvmfast._gaussian.em_statistics). The Dask
    backend (lvmfast.dask) has the same attributes and em_statistics."""

    def __init__(self, X, sample_weight, n_threads, weight_scale=1.0):
        self.X, self.sample_weight, self.n_threads = X, sample_weight, n_threads
        # sample_weight has mean 1; the caller's weights were weight_scale
        # times it (what the variational posterior, unlike EM, depends on)
        self.weight_scale = weight_scale
        self.dtype = X.dtype
        self.shift = X.mean(axis=0, dtype=np.float64)  # the frame of the pass
        self.total_weight = sample_weight.sum(dtype=np.float64)
        # sum w x x^T, the tied s2 of every pass, summed once per component
        # count (whose block plan fixes its rounding)
        self._tied_scatter = {}

    def em_statistics(self, log_weights, means, precisions_cholesky, covariance_type):
        n_components = len(means)
        statistics = em_statistics(
            self.X, self.shift.astype(self.dtype), self.sample_weight, log_weights, means, precisions_cholesky,
            covariance_type, self.n_threads, tied_scatter=self._tied_scatter.get(n_components),
        )
        if covariance_type == "tied":
            self._tied_scatter[n_components] = statistics[2]
        return statistics



class _BaseGaussianMixture(DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """What GaussianMixture and BayesianGaussianMixture share: validation,
    the initial responsibilities, the iteration loop and the use of a fitted
    model. A subclass says what its parameters are (a dict, its `state`),
    which log weights the E-step adds to each component's log-density, and
    how the M-step turns the pass's statistics into the next state and the
    lower bound (its hooks are listed at the end of this class)."""

    _parameter_constraints: dict = {
        "n_components": [integers(1)],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [integers(0)],
        "n_init": [integers(1)],
        "init_params": [StrOptions(set(INIT_PARAMS))],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [integers(1)],
    }

    # -- initialization -------------------------------------------------------

    def _initial_statistics(self, rows, random_state):
        """nk, s1, s2 (around the resulting means) of the initial
        responsibilities, drawn from random_state as scikit-learn draws them,
        without an n_samples x n_components array."""
        X, shift, sample_weight = rows.X, rows.shift, rows.sample_weight
        n_samples, n_features = X.shape
        k = self.n_components
        if self.init_params != "random":
            rows, columns = self._one_hot_assignment(rows, random_state)
            return self._one_hot_statistics(X, shift, sample_weight, rows, columns)
        # 'random': uniform responsibilities, drawn twice from the same state
        # (once for the means, once for the second moments around them).
        state = random_state.get_state()
        means = None
        for _ in range(2):
            random_state.set_state(state)
            nk, s1, s2 = np.zeros(k), np.zeros((k, n_features)), 0.0
            for start in range(0, n_samples, INIT_CHUNK_ROWS):
                stop = min(start + INIT_CHUNK_ROWS, n_samples)
                resp = random_state.uniform(size=(stop - start, k))
                resp /= resp.sum(axis=1, keepdims=True)
                resp *= sample_weight[start:stop, None]
                x = X[start:stop].astype(np.float64) - shift
                nk += resp.sum(axis=0)
                s1 += resp.T @ x
                if means is not None:
                    s2 = s2 + self._second_moments(x, resp, means, sample_weight[start:stop])
            if means is None:
                means = s1 / (nk + NK_EPSILON)[:, None]
        return nk, s1, s2, means

    def _one_hot_assignment(self, rows, random_state):
        """The rows and columns where the initial responsibilities are 1
        ('kmeans': every row, at its label; 'k-means++', 'random_from_data':
        the seeds, one per component). They depend on X, n_components,
        init_params and the random state, not on the covariance type: rows
        that carry a memo (`initial_assignments`, GaussianMixtureIC's) draw
        them once for all covariance types, and leave random_state where
        the draw would have."""
        memo = getattr(rows, "initial_assignments", None)
        if memo is not None:
            _, keys, position, *rest = random_state.get_state()
            key = (self.n_components, self.init_params, keys.tobytes(), position, tuple(rest))
            if key in memo:
                assignment, state_after = memo[key]
                random_state.set_state(state_after)
                return assignment
        X, sample_weight = rows.X, rows.sample_weight
        k = self.n_components
        if self.init_params == "kmeans":
            from lvmfast.cluster import KMeans

            # X is validated; assume_finite also lets KMeans take X whose
            # squared spread underflows (which it refuses from a user)
            with config_context(assume_finite=True):
                labels = KMeans(k, n_init=1, random_state=random_state).fit(X, sample_weight=sample_weight).labels_
            assignment = np.arange(X.shape[0]), labels
        else:
            if self.init_params == "k-means++":
                from lvmfast.cluster import kmeans_plusplus

                with config_context(assume_finite=True):
                    indices = kmeans_plusplus(X, k, random_state=random_state)[1]
            else:
                indices = random_state.choice(X.shape[0], size=k, replace=False)
            assignment = indices, np.arange(k)
        if memo is not None:
            memo[key] = assignment, random_state.get_state()
        return assignment

    def _one_hot_statistics(self, X, shift, sample_weight, rows, columns):
        """Statistics of responsibilities that are 1 at (rows[i], columns[i])
        (rows may be all of X, in order): the classifiers' class pass, with
        the columns as classes. s2 comes around the pass's reference points
        (returned last), which the M-step takes as they are."""
        covered_all = len(rows) == X.shape[0]
        x, w = (X, sample_weight) if covered_all else (X[rows], sample_weight[rows])
        tied = self.covariance_type == "tied"
        counts, means, s2, around = class_statistics(
            x, shift, w, np.asarray(columns, dtype=np.intp), self.n_components, "diag" if tied else self.covariance_type
        )
        if tied:  # scikit-learn's sum over all rows, covered or not
            s2 = self._tied_initial_scatter(X, shift, sample_weight, rows)
        return counts, counts[:, None] * means, s2, around

    @staticmethod
    def _tied_initial_scatter(X, shift, sample_weight, rows):
        """The tied s2 that makes the M-step give scikit-learn's initial tied
        covariance, which sums x x^T over all rows, in raw coordinates, even
        when the one-hot responsibilities cover only some rows (k-means++,
        random_from_data): S + g s^T + s g^T + m s s^T, with S the sum of
        w x x^T over all rows (centered), g and m the sums of w x and of w
        over the rows that no responsibility covers, and s the shift.

        g and m are summed over those rows themselves, not taken as totals
        minus the covered part: when every row is covered (init 'kmeans')
        they are exactly 0, and s2 is S, as in EM. (A difference of totals
        leaves rounding, and the component epsilon, that s s^T multiplies:
        far from the origin it swamped the covariance.)"""
        uncovered = np.ones(X.shape[0], dtype=bool)
        uncovered[rows] = False
        scatter = np.zeros((X.shape[1], X.shape[1]))
        gap = np.zeros(X.shape[1])
        missing = 0.0
        for start in range(0, X.shape[0], INIT_CHUNK_ROWS):
            x = X[start:start + INIT_CHUNK_ROWS].astype(np.float64) - shift
            w = sample_weight[start:start + INIT_CHUNK_ROWS].astype(np.float64)
            scatter += (w[:, None] * x).T @ x
            w_out = np.where(uncovered[start:start + INIT_CHUNK_ROWS], w, 0.0)
            gap += w_out @ x
            missing += w_out.sum()
        return (scatter + np.outer(gap, shift) + np.outer(shift, gap) + missing * np.outer(shift, shift)).ravel()

    def _second_moments(self, x, weighted_resp, means, weights):
        return second_moments(self.covariance_type, x, weighted_resp, means, weights)


    # -- fitting --------------------------------------------------------------

    _verbose_seconds = False

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (scikit-learn has none here);
            integer weights act as repeated rows.

        Returns
        -------
        self
        """
        self._fit(X, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most likely component of each row (as
        fit(X).predict(X))."""
        return self._labels(self._fit(X, sample_weight))

    def _fit(self, X, sample_weight):
        """EM; returns the validated X."""
        warm = self.warm_start and hasattr(self, "converged_")
        X = validate_float_data(self, X, reset=not warm, ensure_min_samples=2)
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        self._check_initial_parameters(n_features)
        sample_weight, scale = unit_mean_weights(check_sample_weight(sample_weight, X, np.float64), X.dtype, with_scale=True)
        self._em(_LocalRows(X, sample_weight, effective_n_threads(), scale), warm)
        return X

    def _em(self, rows, warm):
        """The iteration loop, on either backend's rows: `rows.em_statistics`
        is the pass (local kernels here, the Dask workers in lvmfast.dask);
        the subclass's hooks make it EM or variational inference."""
        random_state = check_random_state(self.random_state)
        shift, dtype = rows.shift, rows.dtype
        self._prepare(rows)

        def statistics_of(state):
            return rows.em_statistics(self._log_weights(state), state["means"] + shift, state["chol"], self.covariance_type)

        def m_step(statistics, state):
            state, lower_bound = self._m_step(statistics, state, rows)
            check_precisions_fit_dtype(largest_precision(state["chol"]), dtype)
            return state, lower_bound

        started = time.perf_counter()

        def report(n_iter, change):
            nonlocal started
            if self.verbose and self._verbose_seconds:
                # the Dask estimators: one line per iteration, with its time
                print(f"  Iteration {n_iter}\t time {time.perf_counter() - started:.3f}s\t ll change {change:.5f}")
                started = time.perf_counter()
            elif self.verbose and n_iter % self.verbose_interval == 0:
                if self.verbose >= 2:
                    print(f"  Iteration {n_iter}\t time lapse {time.perf_counter() - started:.5f}s\t ll change {change:.5f}")
                else:
                    print(f"  Iteration {n_iter}")
                started = time.perf_counter()

        best = None
        # The M-step between passes is tiny; a threaded BLAS there would wake
        # worker threads that then spin against the kernels' OpenMP threads.
        with blas_single_thread():
            for init in range(1 if warm else self.n_init):
                if self.verbose:
                    print(f"Initialization {init}")
                if warm:
                    state, lower_bound = self._fitted_state(shift), self.lower_bound_
                else:
                    state, lower_bound = self._initial_state(rows, random_state), -np.inf
                check_precisions_fit_dtype(largest_precision(state["chol"]), dtype)
                started = time.perf_counter()
                state, lower_bound, lower_bounds, converged, n_iter = iterate(
                    statistics_of, m_step, state, lower_bound, self.max_iter, self.tol, report
                )
                if self.verbose:
                    print(f"Initialization {'converged' if converged else 'did not converge'}. lower bound {lower_bound:.5f}")
                if best is None or lower_bound > best["lower_bound"]:
                    best = dict(
                        state=state, n_iter=n_iter, lower_bound=lower_bound, lower_bounds=lower_bounds,
                        converged=converged,
                    )
        if not best["converged"] and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_fitted(best["state"], best["n_iter"], shift, dtype)
        self.converged_ = best["converged"]
        self.n_iter_ = best["n_iter"]
        self.lower_bound_ = best["lower_bound"]
        self.lower_bounds_ = best["lower_bounds"]
        self._shift = shift  # predictions center their chunks by the training mean

    # -- the subclass's hooks -------------------------------------------------

    def _check_initial_parameters(self, n_features):
        """Check the user's initial or prior parameters against X's width
        (before any pass over X)."""

    def _prepare(self, rows):
        """Whatever the fit derives from the data before initializing (the
        Bayesian priors)."""

    @abstractmethod
    def _initial_state(self, rows, random_state):
        """The state (a dict with at least 'means' in the centered frame and
        'chol') to start the iterations from."""

    @abstractmethod
    def _fitted_state(self, shift):
        """The state of the fitted attributes (warm_start)."""

    @abstractmethod
    def _log_weights(self, state):
        """(K,) float64: what the E-step adds to each component's log-density."""

    @abstractmethod
    def _m_step(self, statistics, state, rows):
        """The next state and the lower bound, from the pass's statistics
        (nk, s1, s2, log-likelihood) taken under `state` (whose E-step added
        _log_weights(state))."""

    @abstractmethod
    def _set_fitted(self, state, n_iter, shift, dtype):
        """Assign the fitted attributes (in X's dtype) from the best state."""

    @abstractmethod
    def _scoring_log_weights(self):
        """_log_weights of the fitted model, for predict and score_samples."""

    # -- using a fitted model -------------------------------------------------

    def _evaluate(self, X, chunk_rows=None):
        """Yield (rows, responsibilities, log-likelihoods) a chunk of rows at
        a time, so that only predict_proba holds n_samples x n_components.
        Rows are centered by the training data's mean."""
        chunk_rows = chunk_rows or X.shape[0]
        shift = self._shift
        log_weights = self._scoring_log_weights()
        for start in range(0, X.shape[0], chunk_rows):
            rows = slice(start, min(start + chunk_rows, X.shape[0]))
            yield (rows, *log_prob(X[rows], shift, self.means_, self.precisions_cholesky_, self.covariance_type,
                                   log_weights, normalize=True))

    def _labels(self, X):
        labels = np.empty(X.shape[0], dtype=np.intp)
        for rows, resp, _ in self._evaluate(X, INIT_CHUNK_ROWS):
            labels[rows] = resp.argmax(axis=1)
        return labels

    def _fitted_input(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False)

    def _log_likelihoods(self, X):
        out = np.empty(X.shape[0])
        for rows, _, lse in self._evaluate(X, INIT_CHUNK_ROWS):
            out[rows] = lse
        return out

    def score_samples(self, X):
        """Log-likelihood of each row under the model, in X's dtype."""
        X = self._fitted_input(X)
        return self._log_likelihoods(X).astype(X.dtype, copy=False)

    def score(self, X, y=None, sample_weight=None):
        """Mean (weighted) log-likelihood of X: the mean of score_samples(X),
        in X's dtype as scikit-learn computes it."""
        X = self._fitted_input(X)
        log_likelihoods = self._log_likelihoods(X).astype(X.dtype, copy=False)
        if sample_weight is None:
            return float(log_likelihoods.mean())
        weights = check_sample_weight(sample_weight, X, np.float64)
        return float(weights @ log_likelihoods / weights.sum())

    def predict_proba(self, X):
        """Responsibilities: the posterior probability of each component."""
        return next(self._evaluate(self._fitted_input(X)))[1]

    def predict(self, X):
        """The most likely component of each row."""
        return self._labels(self._fitted_input(X))


    def sample(self, n_samples=1):
        """Draw n_samples rows from the fitted model.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,), the component of each row
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
            raise TypeError(f"n_samples must be an int; got {n_samples!r} of type {type(n_samples).__name__}.")
        if n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least one sample."
            )
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_.astype(np.float64) / self.weights_.sum(dtype=np.float64))
        covariances = np.linalg.inv(self.precisions_.astype(np.float64)) if self.covariance_type in ("full", "tied") else 1 / self.precisions_.astype(np.float64)
        parts = []
        for k, (mean, count) in enumerate(zip(self.means_.astype(np.float64), counts)):
            if self.covariance_type == "full":
                parts.append(rng.multivariate_normal(mean, covariances[k], int(count)))
            elif self.covariance_type == "tied":
                parts.append(rng.multivariate_normal(mean, covariances, int(count)))
            else:
                parts.append(mean + rng.standard_normal((int(count), mean.shape[0])) * np.sqrt(covariances[k]))
        y = np.repeat(np.arange(len(counts)), counts)
        return np.vstack(parts), y


class GaussianMixture(_BaseGaussianMixture):
    """Gaussian mixture model fit by expectation-maximization.

    A drop-in for ``sklearn.mixture.GaussianMixture``: the same parameters,
    attributes and iterations from the same starting point, with an EM
    iteration that is one fused pass over the rows and never holds an
    n_samples x n_components array. ``fit`` also takes ``sample_weight``.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Each component's own full covariance, one shared full covariance,
        diagonal covariances, or one variance per component.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood gains less than this.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
        EM iterations per initialization.
    n_init : int, default=1
        Initializations; the one with the highest final lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How responsibilities are first set: lvmfast's KMeans labels, k-means++
        seeds, random responsibilities, or random rows as seeds.
    weights_init, means_init, precisions_init : array-like, default=None
        Initial weights (K,), means (K, D) and precisions (shape by
        covariance_type); they replace what init_params gives.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start fit from the last fit's parameters (with n_init=1).
    verbose : int, default=0
    verbose_interval : int, default=10
        Iterations between verbose lines.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        The fitted parameters (in X's dtype).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean (weighted) log-likelihood of the best run at its last iteration.
    lower_bounds_ : list of float
        The lower bound after every iteration of the best run.
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        **_BaseGaussianMixture._parameter_constraints,
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
    }

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
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # -- parameters ---------------------------------------------------------


    def _check_initial_parameters(self, n_features):
        """weights_init, means_init and precisions_init against the data's
        width, with scikit-learn's messages."""
        k, d = self.n_components, n_features
        if self.weights_init is not None:
            w = self._init_array(self.weights_init, "weights", (k,))
            if w.min() < 0 or w.max() > 1:
                raise ValueError(
                    "The parameter 'weights' should be in the range [0, 1], but got "
                    f"max value {w.max():.5f}, min value {w.min():.5f}"
                )
            if not np.allclose(w.sum(), 1.0, rtol=1e-6, atol=0.0):
                raise ValueError(f"The parameter 'weights' should be normalized, but got sum(weights) = {w.sum():.5f}")
        if self.means_init is not None:
            self._init_array(self.means_init, "means", (k, d))
        if self.precisions_init is not None:
            shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[self.covariance_type]
            p = self._init_array(self.precisions_init, f"{self.covariance_type} precision", shape)
            if self.covariance_type in ("full", "tied"):
                for m in p.reshape(-1, d, d):
                    if not np.allclose(m, m.T) or np.linalg.eigvalsh(m).min() <= 0:
                        raise ValueError(f"'{self.covariance_type} precision' should be symmetric, positive-definite")
            elif p.min() <= 0:
                raise ValueError(f"'{self.covariance_type} precision' should be positive")

    @staticmethod
    def _init_array(value, name, shape):
        a = np.asarray(value, dtype=np.float64)
        if a.shape != shape:
            raise ValueError(f"The parameter '{name}' should have the shape of {shape}, but got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"The parameter '{name}' contains NaN or infinity.")
        return a

    # -- initialization -------------------------------------------------------


    def _initial_state(self, rows, random_state):
        """weights, means (centered frame), covariances and precisions_cholesky
        to start EM, and the means as given (means_init) if any."""
        shift = rows.shift
        nk, s1, s2, around = self._initial_statistics(rows, random_state)
        nk_eps, means, covariances = _parameters_from_statistics(
            nk, s1, s2, around, self.covariance_type, self.reg_covar, shift
        )
        weights = nk_eps / rows.total_weight
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64) - shift
        if self.precisions_init is None:
            chol = precision_cholesky(covariances, self.covariance_type, self.reg_covar)
        else:
            precisions = np.asarray(self.precisions_init, dtype=np.float64)
            chol = _precision_cholesky_from_precisions(precisions, self.covariance_type)
            # The covariances that go with the given precisions (what fit
            # reports when max_iter=0), never those of the responsibilities.
            covariances = _covariances_from_precisions(precisions, self.covariance_type)
        given = None if self.means_init is None else np.asarray(self.means_init, dtype=np.float64)
        return dict(weights=weights, means=means, covariances=covariances, chol=chol, given_means=given)

    # -- fitting --------------------------------------------------------------


    def _fitted_state(self, shift):
        return dict(
            weights=self.weights_.astype(np.float64), means=self.means_.astype(np.float64) - shift,
            covariances=self.covariances_, chol=self.precisions_cholesky_.astype(np.float64),
            given_means=self.means_,
        )

    def _log_weights(self, state):
        return np.log(state["weights"])

    def _m_step(self, statistics, state, rows):
        nk, s1, s2, log_likelihood = statistics
        nk_eps, means, covariances = _parameters_from_statistics(
            nk, s1, s2, state["means"], self.covariance_type, self.reg_covar, rows.shift
        )
        chol = precision_cholesky(covariances, self.covariance_type, self.reg_covar)
        state = dict(weights=nk_eps / nk_eps.sum(), means=means, covariances=covariances, chol=chol, given_means=None)
        # EM's lower bound: the mean log-likelihood under the parameters of the E-step
        return state, log_likelihood / rows.total_weight

    def _set_fitted(self, state, n_iter, shift, dtype):
        # With no iteration the means are the starting ones as given, not
        # their round trip through the centered frame (which drops digits
        # of coordinates far smaller than the data mean).
        given = state["given_means"]
        means = np.asarray(given, dtype=np.float64) if given is not None and n_iter == 0 else state["means"] + shift
        self.weights_ = state["weights"].astype(dtype)
        self.means_ = means.astype(dtype)
        self.covariances_ = np.asarray(state["covariances"]).astype(dtype)
        self.precisions_cholesky_ = np.asarray(state["chol"]).astype(dtype)
        self.precisions_ = _precisions(np.asarray(state["chol"]), self.covariance_type).astype(dtype)

    def _scoring_log_weights(self):
        return np.log(self.weights_.astype(np.float64))

    def _n_parameters(self):
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": k * d, "spherical": k}[self.covariance_type]
        return int(cov + k * d + k - 1)

    def bic(self, X):
        """Bayesian information criterion of the model on X (lower is better)."""
        X = self._fitted_input(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion of the model on X (lower is better)."""
        X = self._fitted_input(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()
