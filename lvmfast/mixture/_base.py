"""What the Gaussian mixtures share (GaussianMixture, BayesianGaussianMixture,
their Dask counterparts and GaussianMixtureIC): the M-step on the pass's
statistics, the initial responsibilities, the iteration loop (fit_rows, on
any lvmfast._iterate.EMRows backend) and the use of a fitted model.

The loop and the initializations follow scikit-learn's mixtures step for
step, so the same starting point gives the same iterations.
"""
import numbers
import time
from functools import partial
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

from lvmfast._iterate import EMRows, iterate
from lvmfast._gaussian import (
    COVARIANCE_TYPES, LocalEMRows, check_precisions_fit_dtype, class_statistics, covariances_from_moments,
    largest_precision, log_prob, log_prob_with_missing, moments_around, pooled_scatter,
)
from lvmfast._missing import missing_mask_rows, refuse_empty_rows
from lvmfast._parallel import blas_single_thread, effective_n_threads
from lvmfast._validation import check_sample_weight, integers, unchanged_on_error, unit_mean_weights, validate_float_data
from lvmfast.cluster import KMeans, kmeans_plusplus


INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
# scikit-learn adds this to every component's weight so that none is exactly 0.
NK_EPSILON = 10 * np.finfo(np.float64).eps
INIT_CHUNK_ROWS = 65536


# ---------------------------------------------------------------------------
# M-step on statistics


def parameters_from_statistics(nk, s1, s2, around, covariance_type, reg_covar, shift):
    """weights (unnormalized, as nk), means and covariances from the pass's
    statistics: nk = sum w r, s1 = sum w r x and s2 summed around the means
    `around` (see em_pass), all in the frame centered by `shift`."""
    nk_eps = nk + NK_EPSILON
    # scikit-learn's means, sum w r x / (nk + eps) in X's own coordinates,
    # in the centered frame: a component left without weight goes where
    # scikit-learn's goes (toward X's origin), and so do the next steps.
    # (The shift's share is scaled by eps / (nk + eps), not eps alone, so
    # that it is exactly -shift for an empty component even where eps *
    # shift would underflow: subnormal data.)
    means = s1 / nk_eps[:, None] - (NK_EPSILON / nk_eps)[:, None] * np.asarray(shift, dtype=np.float64)
    if covariance_type == "tied":
        moments = pooled_scatter(s2, nk_eps, means)
    else:  # sum w r (x - m)(x - m)^T from the moments around `around`
        moments = moments_around(nk, s1, s2, around, means, covariance_type)
    return nk_eps, means, covariances_from_moments(moments, nk_eps, covariance_type, reg_covar)


def random_seed_rows(n_samples, n_components, random_state, weights=None):
    """init_params='random_from_data': n_components distinct row indices.
    Rows of equal weight (no sample_weight, or constant weights): scikit-
    learn's uniform draw. Otherwise drawn with probability proportional to
    the weights, so that a row of weight 0 is never a seed. The in-memory
    and Dask mixtures both draw here: the same random_state and weights
    pick the same rows."""
    p = None if weights is None else np.asarray(weights, dtype=np.float64)
    if p is None or p.min() == p.max():
        return random_state.choice(n_samples, size=n_components, replace=False)
    positive = np.count_nonzero(p)
    if positive < n_components:
        raise ValueError(
            f"init_params='random_from_data' needs n_components={n_components} rows with positive weight; "
            f"sample_weight has only {positive}."
        )
    return random_state.choice(n_samples, size=n_components, replace=False, p=p / p.sum())


def second_moments(covariance_type, x, weighted_resp, means, weights):
    """s2 of em_pass for a block of centered rows and their w * r."""
    if covariance_type == "tied":
        return ((weights[:, None] * x).T @ x).ravel()
    if covariance_type == "full":
        return np.stack([(weighted_resp[:, k, None] * (x - m)).T @ (x - m) for k, m in enumerate(means)]).ravel()
    return np.stack([weighted_resp[:, k] @ (x - m) ** 2 for k, m in enumerate(means)]).ravel()


def precision_cholesky_from_precisions(precisions, covariance_type):
    if covariance_type in ("full", "tied"):
        flip = lambda a: np.flipud(np.fliplr(a))  # noqa: E731 - upper Cholesky of a precision
        stack = precisions[None] if covariance_type == "tied" else precisions
        out = np.array([flip(linalg.cholesky(flip(p), lower=True)) for p in stack])
        return out[0] if covariance_type == "tied" else out
    return np.sqrt(precisions)


def covariances_from_precisions(precisions, covariance_type):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def precisions_from_cholesky(precisions_cholesky, covariance_type):
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", precisions_cholesky, precisions_cholesky)
    if covariance_type == "tied":
        return precisions_cholesky @ precisions_cholesky.T
    return precisions_cholesky**2


# ---------------------------------------------------------------------------
# Streams: stepwise EM and stochastic variational inference (partial_fit)


def initialization_rows(rows, n_components):
    """The rows an initial state is drawn on: rows with missing entries
    offer their complete (or filled-in) rows."""
    if hasattr(rows, "rows_for_initialization"):
        return rows.rows_for_initialization(n_components)
    return rows


def stream_batch_statistics(rows, log_weights, means, precisions_cholesky, covariance_type, frame):
    """One batch's E-step statistics per unit of weight, in the stream's
    frame X - frame: (nk, s1, s2, around, mean log-likelihood), nk summing
    to 1, s2 taken around `around` (K x D, frame coordinates; the tied s2 is
    sum w x x^T / W). The pass is the rows backend's own (em_statistics, in
    the batch's frame X - rows.shift); the sums are moved to `frame`
    exactly: s1 + nk d, and for 'tied' S + g d^T + d g^T + W d d^T, with d
    the batch's shift minus `frame` and g, W the batch's sums of w x and w."""
    frame = np.asarray(frame, dtype=np.float64)
    batch_shift = np.asarray(rows.shift).astype(rows.dtype).astype(np.float64)  # as the pass centers the rows
    absolute = np.asarray(means, dtype=np.float64) + frame
    nk, s1, s2, log_likelihood = rows.em_statistics(log_weights, absolute, precisions_cholesky, covariance_type)
    total = rows.total_weight
    d = batch_shift - frame
    if covariance_type == "tied":
        g = s1.sum(axis=0)
        weight = nk.sum()
        s2 = (s2.reshape(len(d), len(d)) + np.outer(g, d) + np.outer(d, g) + weight * np.outer(d, d)).ravel()
    # em_statistics sums s2 around the means centered by the batch's shift, rounded to X's dtype
    around = (absolute - batch_shift).astype(rows.dtype).astype(np.float64) + d
    s1 = s1 + nk[:, None] * d
    return nk / total, s1 / total, s2 / total, around, log_likelihood / total


def blend_statistics(running, batch, rho, covariance_type):
    """(1 - rho) running + rho batch, for (nk, s1, s2, around) statistics:
    the batch's second moments are first moved to the running ones' points
    (moments_around, exact). running None: the batch's own."""
    if running is None:
        return batch
    nk, s1, s2, around = running
    b_nk, b_s1, b_s2, b_around = batch
    b_s2 = np.ravel(moments_around(b_nk, b_s1, b_s2, b_around, around, covariance_type))
    return ((1 - rho) * nk + rho * b_nk, (1 - rho) * s1 + rho * b_s1, (1 - rho) * s2 + rho * b_s2, around)


def step_size(n_batches, learning_offset, learning_decay):
    """rho_t = (learning_offset + t) ** -learning_decay, t the batches
    already taken (the first batch, t = 0, sets the statistics: rho 1)."""
    return 1.0 if n_batches == 0 else float((learning_offset + n_batches) ** -learning_decay)


def moments_of_covariances(counts, covariances, means, covariance_type, reg_covar):
    """The statistics (s2, around the means; the tied s2 as sum w x x^T)
    whose M-step (covariances_from_moments) gives `covariances` back:
    counts (K,) times the covariances less reg_covar."""
    n_components, n_features = means.shape
    covariances = np.asarray(covariances, dtype=np.float64)
    eye = np.eye(n_features)
    if covariance_type == "full":
        return (counts[:, None, None] * (covariances - reg_covar * eye)).ravel()
    if covariance_type == "tied":
        pooled = counts.sum() * (covariances - reg_covar * eye)
        return (pooled + (counts[:, None] * means).T @ means).ravel()
    if covariance_type == "diag":
        return (counts[:, None] * (covariances - reg_covar)).ravel()
    return np.repeat((counts * (covariances - reg_covar))[:, None], n_features, axis=1).ravel()


# ---------------------------------------------------------------------------
# The estimator


class BaseGaussianMixture(DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """What GaussianMixture and BayesianGaussianMixture share: validation,
    the initial responsibilities and the use of a fitted model; fit_rows
    runs the iteration loop on the hooks. A subclass says what its parameters are (a dict, its `state`),
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
        "allow_missing": ["boolean"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = bool(self.allow_missing)
        return tags

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
        that keep a memo (LocalEMRows' `initial_assignments`, for
        GaussianMixtureIC) draw them once for all covariance types, and
        leave random_state where the draw would have."""
        memo = rows.initial_assignments
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
            # X is validated; assume_finite also lets KMeans take X whose
            # squared spread underflows (which it refuses from a user)
            with config_context(assume_finite=True):
                labels = KMeans(k, n_init=1, random_state=random_state).fit(X, sample_weight=sample_weight).labels_
            assignment = np.arange(X.shape[0]), labels
        else:
            if self.init_params == "k-means++":
                with config_context(assume_finite=True):
                    indices = kmeans_plusplus(X, k, sample_weight=sample_weight, random_state=random_state)[1]
            else:
                indices = random_seed_rows(X.shape[0], k, random_state, sample_weight)
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
            Training rows; float32 stays float32, other numbers become
            float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (scikit-learn has none here).
            GaussianMixture: integer weights act as repeated rows.
            BayesianGaussianMixture: only their ratios matter (see its
            docstring).

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

        The same as ``fit(X).predict(X)``, with one pass less.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32, other numbers become float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, as for ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The component of each row.
        """
        return self._labels(self._fit(X, sample_weight))

    def _fit(self, X, sample_weight):
        """EM; returns the validated X."""
        warm = self.warm_start and hasattr(self, "converged_")
        X = validate_float_data(self, X, reset=not warm, ensure_min_samples=2, allow_nan=self.allow_missing)
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        self._check_initial_parameters(n_features)
        sample_weight = unit_mean_weights(check_sample_weight(sample_weight, X, np.float64), X.dtype)
        fit_rows(self, LocalEMRows(X, sample_weight, effective_n_threads(), allow_missing=self.allow_missing), warm)
        return X

    # -- streams --------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch of rows (a stream).

        GaussianMixture: stepwise (online) EM; BayesianGaussianMixture:
        stochastic variational inference. The batch's E-step statistics per
        unit of weight move the running ones by
        rho_t = (learning_offset + t) ** -learning_decay (t: the batches
        taken before this one), and the M-step (or the conjugate update)
        follows. The first call initializes from its batch as fit does
        (init_params, means_init and friends; the Bayesian priors' defaults
        from the batch) and sets the statistics (rho = 1). After fit, the
        fitted model's statistics count as the first batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch; the first needs max(2, n_components) rows, later
            ones may hold a single row. Every batch has the first's width.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch's rows; only their ratios
            within the batch matter (each batch weighs rho_t).

        Returns
        -------
        self
        """
        fitted = hasattr(self, "converged_")
        X = validate_float_data(self, X, reset=not fitted, allow_nan=self.allow_missing)
        n_samples, n_features = X.shape
        if not fitted and n_samples < max(2, self.n_components):
            raise ValueError(
                f"The first batch of partial_fit initializes the model from its rows: expected n_samples >= "
                f"max(2, n_components) = {max(2, self.n_components)}, got n_samples = {n_samples}."
            )
        weights = check_sample_weight(sample_weight, X, np.float64)
        rows = LocalEMRows(X, unit_mean_weights(weights, X.dtype), effective_n_threads(),
                           allow_missing=self.allow_missing)
        stream = getattr(self, "_stream", None)
        with blas_single_thread():
            if not fitted:
                self._check_initial_parameters(n_features)
                self._prepare(rows)
                frame, n_batches, running, previous = rows.shift, 0, None, None
                state = self._initial_state(initialization_rows(rows, self.n_components),
                                            check_random_state(self.random_state))
            elif stream is not None and stream["means_"] is self.means_:  # our own last batch
                frame, n_batches, running, state = stream["frame"], stream["n_batches"], stream["running"], stream["state"]
                previous = self.lower_bound_
            else:  # a fit's model (or warm state): its statistics, as the first batch
                frame, n_batches, previous = self._shift, 1, self.lower_bound_
                state = self._fitted_state(frame)
                running = self._statistics_of_state(state)
            check_precisions_fit_dtype(largest_precision(state["chol"]), X.dtype)
            *batch, log_likelihood = stream_batch_statistics(
                rows, self._log_weights(state), state["means"], state["chol"], self.covariance_type, frame
            )
            rho = step_size(n_batches, self.learning_offset, self.learning_decay)
            running = blend_statistics(running, batch, rho, self.covariance_type)
            state = self._stream_m_step(running, frame)
            check_precisions_fit_dtype(largest_precision(state["chol"]), X.dtype)
        # the running statistics, moved to the new means (their points for the next batch)
        nk, s1, s2, around = running
        running = (nk, s1, np.ravel(moments_around(nk, s1, s2, around, state["means"], self.covariance_type)),
                   state["means"])
        # lower_bound_: the batches' mean log-likelihood, averaged with the same steps
        lower_bound = log_likelihood if previous is None else (1 - rho) * previous + rho * log_likelihood
        self._set_fitted(state, n_batches + 1, frame, X.dtype)
        self._shift = frame
        self.n_batch_iter_ = self.n_iter_ = n_batches + 1
        self.lower_bound_ = float(lower_bound)
        self.lower_bounds_ = [self.lower_bound_]  # this call's (one batch); no history, which a stream would grow without end
        self.converged_ = previous is not None and abs(lower_bound - previous) < self.tol
        self._stream = dict(frame=frame, n_batches=n_batches + 1, running=running, state=state, means_=self.means_)
        return self

    # -- the subclass's hooks -------------------------------------------------

    @abstractmethod
    def _statistics_of_state(self, state):
        """Statistics per unit of weight (nk, s1, s2, around) whose
        _stream_m_step gives `state` back (partial_fit after fit)."""

    @abstractmethod
    def _stream_m_step(self, statistics, frame):
        """The state from running statistics per unit of weight (partial_fit)."""

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
        if self.allow_missing:  # each row's marginal density over its observed features
            refuse_empty_rows(missing_mask_rows(X), X.shape[1])
        for start in range(0, X.shape[0], chunk_rows):
            rows = slice(start, min(start + chunk_rows, X.shape[0]))
            evaluate = log_prob_with_missing if self.allow_missing else partial(log_prob, normalize=True)
            yield (rows, *evaluate(X[rows], shift, self.means_, self.precisions_cholesky_, self.covariance_type,
                                   log_weights))

    def _labels(self, X):
        labels = np.empty(X.shape[0], dtype=np.intp)
        for rows, resp, _ in self._evaluate(X, INIT_CHUNK_ROWS):
            labels[rows] = resp.argmax(axis=1)
        return labels

    def _fitted_input(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False, allow_nan=self.allow_missing)

    def _log_likelihoods(self, X):
        out = np.empty(X.shape[0])
        for rows, _, lse in self._evaluate(X, INIT_CHUNK_ROWS):
            out[rows] = lse
        return out

    def score_samples(self, X):
        """Log-likelihood of each row under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32, other numbers become float64.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            :math:`\\log p(x_n)` of each row, in X's dtype.
        """
        X = self._fitted_input(X)
        return self._log_likelihoods(X).astype(X.dtype, copy=False)

    def score(self, X, y=None, sample_weight=None):
        """Mean (weighted) log-likelihood of X.

        The mean of ``score_samples(X)``, in X's dtype as scikit-learn
        computes it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32, other numbers become float64.
        y : Ignored
            Not used, present for scikit-learn's API.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows; None weighs each row 1.

        Returns
        -------
        log_likelihood : float
            The (weighted) mean log-likelihood per row.
        """
        X = self._fitted_input(X)
        log_likelihoods = self._log_likelihoods(X).astype(X.dtype, copy=False)
        if sample_weight is None:
            return float(log_likelihoods.mean())
        weights = check_sample_weight(sample_weight, X, np.float64)
        return float(weights @ log_likelihoods / weights.sum())

    def predict_proba(self, X):
        """Responsibilities: the posterior probability of each component.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32, other numbers become float64.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            :math:`p(z_n = k \\mid x_n)`; each row sums to 1.
        """
        return next(self._evaluate(self._fitted_input(X)))[1]

    def predict(self, X):
        """The most likely component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows; float32 stays float32, other numbers become float64.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The component with the largest responsibility.
        """
        return self._labels(self._fitted_input(X))


    def sample(self, n_samples=1):
        """Draw n_samples rows from the fitted model.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The rows, grouped by component.
        y : ndarray of shape (n_samples,)
            The component of each row.
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


def fit_rows(model: "BaseGaussianMixture", rows: EMRows, warm: bool = False) -> None:
    """Fit `model` (a mixture, unfitted or warm) by its iteration loop on
    either backend's rows: `rows.em_statistics` is the pass (the local
    kernels, or the Dask workers in lvmfast.dask); the model's hooks make it
    EM or variational inference. The package's one entry to the loop:
    the mixtures' fit, their Dask counterparts and GaussianMixtureIC's grid
    call it."""
    random_state = check_random_state(model.random_state)
    shift, dtype = rows.shift, rows.dtype
    model._prepare(rows)

    def statistics_of(state):
        return rows.em_statistics(model._log_weights(state), state["means"] + shift, state["chol"], model.covariance_type)

    def m_step(statistics, state):
        state, lower_bound = model._m_step(statistics, state, rows)
        check_precisions_fit_dtype(largest_precision(state["chol"]), dtype)
        return state, lower_bound

    started = time.perf_counter()

    def report(n_iter, change):
        nonlocal started
        if model.verbose and model._verbose_seconds:
            # the Dask estimators: one line per iteration, with its time
            print(f"  Iteration {n_iter}\t time {time.perf_counter() - started:.3f}s\t ll change {change:.5f}")
            started = time.perf_counter()
        elif model.verbose and n_iter % model.verbose_interval == 0:
            if model.verbose >= 2:
                print(f"  Iteration {n_iter}\t time lapse {time.perf_counter() - started:.5f}s\t ll change {change:.5f}")
            else:
                print(f"  Iteration {n_iter}")
            started = time.perf_counter()

    best = None
    # The M-step between passes is tiny; a threaded BLAS there would wake
    # worker threads that then spin against the kernels' OpenMP threads.
    with blas_single_thread():
        for init in range(1 if warm else model.n_init):
            if model.verbose:
                print(f"Initialization {init}")
            if warm:
                state, lower_bound = model._fitted_state(shift), model.lower_bound_
            else:
                state, lower_bound = model._initial_state(initialization_rows(rows, model.n_components),
                                                          random_state), -np.inf
            check_precisions_fit_dtype(largest_precision(state["chol"]), dtype)
            started = time.perf_counter()
            state, lower_bound, lower_bounds, converged, n_iter = iterate(
                statistics_of, m_step, state, lower_bound, model.max_iter, model.tol, report
            )
            if model.verbose:
                print(f"Initialization {'converged' if converged else 'did not converge'}. lower bound {lower_bound:.5f}")
            if best is None or lower_bound > best["lower_bound"]:
                best = dict(
                    state=state, n_iter=n_iter, lower_bound=lower_bound, lower_bounds=lower_bounds,
                    converged=converged,
                )
    if not best["converged"] and model.max_iter > 0:
        warnings.warn(
            "Best performing initialization did not converge. Try different init parameters, "
            "or increase max_iter, tol, or check for degenerate data.",
            ConvergenceWarning,
            stacklevel=2,
        )
    model._set_fitted(best["state"], best["n_iter"], shift, dtype)
    model.converged_ = best["converged"]
    model.n_iter_ = best["n_iter"]
    model.lower_bound_ = best["lower_bound"]
    model.lower_bounds_ = best["lower_bounds"]
    model._shift = shift  # predictions center their chunks by the training mean
