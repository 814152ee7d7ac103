"""Mixtures of factor analyzers (Ghahramani and Hinton, 1996) and of
probabilistic PCA (Tipping and Bishop, 1999), fit by EM.

Component k: x = W_k z + mu_k + noise, z ~ N(0, I_q), noise ~ N(0, Psi_k),
Psi_k diagonal ('diag') or sigma_k^2 I ('isotropic'). Each EM iteration is
one fused pass over the rows (lvmfast._factor.em_statistics): Woodbury
log-densities, responsibilities, the posterior factor means E and the
statistics N_k, sum r x, sum r x E^T, sum r E, sum r E E^T and the diagonal
second moments, a chunk per thread, O(N K D q), with no N x K array. The
M-step regresses x - m_k on [z; 1] (the mean and loadings together):

    [W_k, d_k] = C_k A_k^-1,   A_k = [[sum r E E^T + N_k M_k^-1, sum r E],
                                      [sum r E^T,                N_k    ]],
    C_k = [sum r (x - m_k) E^T, sum r (x - m_k)],
    Psi_k = diag(sum r (x - m_k)^2 - [W_k, d_k] C_k^T) / N_k (+ reg_covar),
    mu_k = m_k + d_k,

the exact maximizer of the expected complete log-likelihood for both noise
models (isotropic: the mean of Psi_k's diagonal), so the log-likelihood
never decreases.
"""
import time
import warnings
from numbers import Real

import numpy as np
from scipy import linalg
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, DensityMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from lvmfast._factor import LocalFactorRows, LowRankTerms, log_prob_low_rank, posterior_factor_means
from lvmfast._gaussian import explain_zero_variance
from lvmfast._iterate import iterate
from lvmfast._parallel import blas_single_thread, effective_n_threads
from lvmfast._validation import (
    check_sample_weight, integers, unchanged_on_error, unit_mean_weights, validate_float_data,
)
from lvmfast.cluster import KMeans, kmeans_plusplus
from lvmfast.mixture._base import NK_EPSILON, random_seed_rows

__all__ = ["MixtureOfFactorAnalyzers", "factor_m_step", "initial_labels", "ppca_from_covariance"]

NOISE_MODELS = ("diag", "isotropic")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def ppca_from_covariance(covariance, n_factors):
    """Tipping and Bishop's closed-form probabilistic PCA of a covariance:
    W = U (L - sigma^2 I)^1/2 from its n_factors leading eigenpairs (U, L),
    sigma^2 the mean of the other eigenvalues (0 when none). Returns
    (components (q, D) = W^T, sigma^2); each loading vector's largest
    entry (in absolute value) is positive, so the result does not depend on
    the eigensolver's signs."""
    n_features = covariance.shape[0]
    values, vectors = linalg.eigh(covariance)
    values = np.maximum(values[::-1], 0.0)
    vectors = vectors[:, ::-1]
    largest = np.abs(vectors).argmax(axis=0)
    vectors = vectors * np.sign(vectors[largest, np.arange(n_features)])
    sigma2 = float(values[n_factors:].mean()) if n_factors < n_features else 0.0
    loadings = vectors[:, :n_factors] * np.sqrt(np.maximum(values[:n_factors] - sigma2, 0.0))
    return loadings.T, sigma2


def factor_m_step(statistics, terms, shift, noise, reg_covar):
    """The M-step (module docstring) on em_statistics' sums, taken under
    `terms` (its centered means, in X's dtype, are the frame of `see`).
    Returns (weights, means, components (K, q, D), noise_variance (K, D)),
    float64, means in X's coordinates."""
    nk, s1, sxz, sz, szz, see, _ = statistics
    n_components, n_features, n_factors = sxz.shape
    around = terms.centered_means.astype(np.float64)
    nk_eps = nk + NK_EPSILON
    means = np.empty((n_components, n_features))
    components = np.empty((n_components, n_factors, n_features))
    noise_variance = np.empty((n_components, n_features))
    for k in range(n_components):
        posterior_covariance = terms.inverse_cholesky[k].T @ terms.inverse_cholesky[k]
        inner = np.empty((n_factors + 1, n_factors + 1))
        inner[:n_factors, :n_factors] = szz[k] + nk_eps[k] * posterior_covariance
        inner[:n_factors, n_factors] = inner[n_factors, :n_factors] = sz[k]
        inner[n_factors, n_factors] = nk_eps[k]
        cross = np.empty((n_features, n_factors + 1))
        cross[:, :n_factors] = sxz[k] - np.outer(around[k], sz[k])
        cross[:, n_factors] = s1[k] - nk[k] * around[k]
        regression = linalg.solve(inner, cross.T, assume_a="pos").T  # [W, d] (D x (q + 1))
        residual = np.maximum((see[k] - np.einsum("dj,dj->d", regression, cross)) / nk_eps[k], 0.0)
        if noise == "isotropic":
            residual = np.full(n_features, residual.mean())
        noise_variance[k] = residual + reg_covar
        components[k] = regression[:, :n_factors].T
        means[k] = shift + around[k] + regression[:, n_factors]
    return nk_eps / nk_eps.sum(), means, components, noise_variance


def initial_labels(X, sample_weight, n_components, init_params, random_state):
    """The hard assignment that starts a mixture of factor analyzers:
    lvmfast's KMeans labels ('kmeans'), the nearest k-means++ seed, a
    uniformly random component ('random'), or the nearest of n_components
    rows drawn by weight ('random_from_data')."""
    with config_context(assume_finite=True):  # X is validated
        if init_params == "kmeans":
            return KMeans(n_components, n_init=1, random_state=random_state).fit(
                X, sample_weight=sample_weight).labels_
        if init_params == "random":
            return random_state.randint(n_components, size=X.shape[0])
        if init_params == "k-means++":
            seeds = kmeans_plusplus(X, n_components, sample_weight=sample_weight, random_state=random_state)[0]
        else:
            seeds = X[random_seed_rows(X.shape[0], n_components, random_state, sample_weight)]
        return pairwise_distances_argmin(X, seeds)


class MixtureOfFactorAnalyzers(ClassNamePrefixFeaturesOutMixin, TransformerMixin, DensityMixin, BaseEstimator):
    """Mixture of factor analyzers ('diag' noise) or of probabilistic PCA
    ('isotropic' noise), fit by EM.

    Each component is a Gaussian with covariance W_k W_k^T + Psi_k, W_k of
    rank n_factors: D q + D parameters where a full covariance has
    D (D + 1) / 2, and unlike a diagonal one it keeps the correlations.
    An EM iteration is one fused compiled pass over the rows (Woodbury
    log-densities, O(D q) per row and component), with no
    n_samples x n_components array; ``fit`` takes ``sample_weight``.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    n_factors : int, default=2
        Latent dimension q of every component (at most n_features).
    noise : {'diag', 'isotropic'}, default='diag'
        Diagonal noise (factor analyzers) or one variance per component
        (probabilistic PCA).
    tol : float, default=1e-3
        EM stops when the mean log-likelihood gains less than this.
    reg_covar : float, default=1e-6
        Added to every noise variance. With 0, a constant feature makes the
        likelihood unbounded and is refused.
    max_iter : int, default=100
        EM iterations per initialization.
    n_init : int, default=1
        Initializations; the one with the highest final log-likelihood is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        The rows' first hard assignment: lvmfast's KMeans labels, the
        nearest k-means++ seed, a uniformly random component, or the nearest
        of randomly drawn rows (weighted by sample_weight). Each component
        then starts at the closed-form probabilistic PCA of its rows.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start fit from the last fit's parameters (with n_init=1).
    verbose : int, default=0
        1 prints each initialization's result, 2 every iteration.
    allow_missing : bool, default=False
        Missing values are not handled by this estimator yet: X with NaN
        is refused with scikit-learn's error whichever the value.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    components_ : ndarray of shape (n_components, n_factors, n_features)
        W_k^T of every component.
    noise_variance_ : ndarray of shape (n_components, n_features)
        The diagonal of Psi_k (constant along features for 'isotropic').
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean (weighted) log-likelihood of the best run at its last iteration.
    lower_bounds_ : list of float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import MixtureOfFactorAnalyzers
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(200, 6) @ rng.randn(6, 6), 10 + rng.randn(200, 6)])
    >>> mfa = MixtureOfFactorAnalyzers(2, n_factors=2, random_state=0).fit(X)
    >>> mfa.predict(X[:3]).shape, mfa.transform(X[:3]).shape
    ((3,), (3, 2))
    """

    _parameter_constraints: dict = {
        "n_components": [integers(1)],
        "n_factors": [integers(0)],
        "noise": [StrOptions(set(NOISE_MODELS))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [integers(0)],
        "n_init": [integers(1)],
        "init_params": [StrOptions(set(INIT_PARAMS))],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "allow_missing": ["boolean"],
    }

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
    ):
        self.n_components = n_components
        self.n_factors = n_factors
        self.noise = noise
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.allow_missing = allow_missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; integer weights act as repeated rows.

        Returns
        -------
        self : MixtureOfFactorAnalyzers
        """
        self._fit(X, sample_weight)
        return self

    def _check_shapes(self, n_samples, n_features):
        if self.n_factors > n_features:
            raise ValueError(
                f"n_factors must be at most n_features = {n_features} (a component's latent space cannot have "
                f"more dimensions than the data), got n_factors={self.n_factors}"
            )
        if n_samples < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )

    def _fit(self, X, sample_weight):
        warm = self.warm_start and hasattr(self, "converged_")
        X = validate_float_data(self, X, reset=not warm, ensure_min_samples=2)
        self._check_shapes(*X.shape)
        weights = check_sample_weight(sample_weight, X, np.float64)
        unit = unit_mean_weights(weights, X.dtype)
        spread = X.max(axis=0) - X.min(axis=0)
        if not np.any(spread > 0):
            explain_zero_variance(X)
        if self.reg_covar == 0 and np.any(spread == 0):
            raise ValueError(
                f"X has constant features (columns {np.flatnonzero(spread == 0).tolist()[:10]}): with "
                "reg_covar=0 their noise variance goes to 0 and the likelihood is unbounded. Pass reg_covar > 0 "
                "or drop those features."
            )
        self._fit_rows(LocalFactorRows(X, unit, effective_n_threads()), warm)
        return X

    def _fit_rows(self, rows, warm):
        """EM from n_init starts (or the fitted state, warm) on a rows
        backend (lvmfast._factor.LocalFactorRows, or the Dask one), then the
        fitted attributes, in rows.dtype, assigned together."""
        random_state = check_random_state(self.random_state)
        n_init = 1 if warm else self.n_init
        best = None
        for init in range(n_init):
            start = time.time()
            if warm:
                state = (self.weights_.astype(np.float64), self.means_.astype(np.float64),
                         self.components_.astype(np.float64), self.noise_variance_.astype(np.float64))
            else:
                state = self._initial_state(rows, random_state)
            result = self._run_em(rows, state)
            if self.verbose:
                print(f"Initialization {init}: lower bound {result[1]:.6f}, {result[4]} iterations, "
                      f"converged {result[3]}, {time.time() - start:.2f} s")
            if best is None or result[1] > best[1]:
                best = result
        state, lower_bound, lower_bounds, converged, n_iter = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, or increase "
                "max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        weights_, means, components, noise_variance = state
        dtype = rows.dtype
        self.weights_ = weights_.astype(dtype)
        self.means_ = means.astype(dtype)
        self.components_ = components.astype(dtype)
        self.noise_variance_ = noise_variance.astype(dtype)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = lower_bounds

    def _terms(self, state, shift, dtype):
        weights, means, components, noise_variance = state
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        try:
            return LowRankTerms(means, components, noise_variance, shift, dtype, log_weights)
        except (linalg.LinAlgError, FloatingPointError, ZeroDivisionError):
            raise self._collapsed() from None

    def _collapsed(self):
        return ValueError(
            "Fitting the mixture of factor analyzers failed: a component's noise variance reached 0 (a "
            "component on a lower-dimensional set of rows). Decrease n_components or n_factors, increase "
            f"reg_covar (now {self.reg_covar!r}), or scale the input data."
        )

    def _run_em(self, rows, state):
        shift = rows.shift

        def statistics_of(current):
            with blas_single_thread():  # small (q x q, D x q) LAPACK calls: threads only cost
                terms = self._terms(current, shift, rows.dtype)
            return terms, rows.factor_statistics(terms)

        def m_step(pass_result, current):
            terms, statistics = pass_result
            with blas_single_thread():
                new_state = factor_m_step(statistics, terms, shift, self.noise, self.reg_covar)
            if not np.all(new_state[3] > 0) or not np.all(np.isfinite(new_state[3])):
                raise self._collapsed()
            return new_state, statistics[-1] / rows.total_weight

        def report(n_iter, change):
            if self.verbose >= 2:
                print(f"  Iteration {n_iter}: change {change:.6g}")

        if self.max_iter == 0:
            return state, -np.inf, [], False, 0
        return iterate(statistics_of, m_step, state, -np.inf, self.max_iter, self.tol, report)

    def _initial_state(self, rows, random_state):
        """Hard labels from init_params (rows.initial_moments), then each
        component at the closed-form probabilistic PCA of its rows'
        covariance (noise at least 1e-3 x the data's mean variance, so a
        component whose rows span few directions starts well defined)."""
        counts, means, scatter = rows.initial_moments(self._initial_labels(rows, random_state), self.n_components)
        k, n_features = means.shape
        counts_eps = counts + NK_EPSILON
        floor = 1e-3 * rows.mean_variance if rows.mean_variance > 0 else 1.0
        components = np.empty((k, self.n_factors, n_features))
        noise_variance = np.empty((k, n_features))
        with blas_single_thread():
            for j in range(k):
                covariance = scatter[j] / counts_eps[j]
                components[j], sigma2 = ppca_from_covariance((covariance + covariance.T) / 2, self.n_factors)
                noise_variance[j] = max(sigma2, floor) + self.reg_covar
        return counts_eps / counts_eps.sum(), rows.shift + means, components, noise_variance

    def _initial_labels(self, rows, random_state):
        """The initial hard labels of the rows, in the form the rows'
        initial_moments takes (in memory: one array)."""
        return initial_labels(rows.X, rows.sample_weight, self.n_components, self.init_params, random_state)

    # -- using the fitted model ---------------------------------------------

    def _check_input(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False)

    def _log_prob(self, X, normalize=False):
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights_.astype(np.float64))
        return log_prob_low_rank(X, self.means_, self.components_, self.noise_variance_, log_weights,
                                 normalize=normalize)

    def score_samples(self, X):
        """Log-likelihood of each row under the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        X = self._check_input(X)
        return self._log_prob(X, normalize=True)[1]

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        log_likelihood : float
        """
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """Each row's posterior probability of each component.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        X = self._check_input(X)
        return self._log_prob(X, normalize=True)[0]

    def predict(self, X):
        """Each row's most probable component.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._check_input(X)
        return self._log_prob(X).argmax(axis=1)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most probable component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def transform(self, X):
        """Each row's posterior mean factors under its most probable component.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        factors : ndarray of shape (n_samples, n_factors)
            In X's dtype.
        """
        X = self._check_input(X)
        labels = self._log_prob(X).argmax(axis=1)
        out = np.empty((X.shape[0], self.n_factors), dtype=X.dtype)
        for k in np.unique(labels):
            rows = np.flatnonzero(labels == k)
            out[rows] = posterior_factor_means(X[rows], self.means_[k], self.components_[k], self.noise_variance_[k])
        return out

    def sample(self, n_samples=1):
        """Draw rows from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component of each row.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at least one sample.")
        rng = check_random_state(self.random_state)
        weights = self.weights_.astype(np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        parts, labels = [], []
        for k, count in enumerate(counts):
            z = rng.standard_normal((count, self.n_factors))
            noise = rng.standard_normal((count, self.means_.shape[1])) * np.sqrt(self.noise_variance_[k])
            parts.append(self.means_[k] + z @ self.components_[k] + noise)
            labels.append(np.full(count, k))
        return np.vstack(parts).astype(self.means_.dtype), np.concatenate(labels)

    def _n_parameters(self):
        n_features = self.means_.shape[1]
        q = self.n_factors
        loadings = n_features * q - q * (q - 1) // 2  # W up to a rotation of the factors
        noise = n_features if self.noise == "diag" else 1
        return self.n_components * (loadings + n_features + noise) + self.n_components - 1

    def bic(self, X):
        """Bayesian information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        X = self._check_input(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        X = self._check_input(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

    @property
    def _n_features_out(self):
        return self.n_factors
