"""Factor analysis, fit from the D x D scatter of the rows.

scikit-learn's FactorAnalysis takes an SVD of the whole scaled N x D data at
every iteration. Every quantity that iteration uses is a function of the
covariance C = X_c^T W X_c / sum(w) alone: with Psi the current noise
variances and s = sqrt(Psi) (+ 1e-12, as scikit-learn),

    the squared singular values of X_c / (s sqrt(N))  = the eigenvalues of
                                                        diag(1/s) C diag(1/s)
    its right singular vectors                        = their eigenvectors
    the variance it leaves out                        = trace - the q largest

so one compiled pass over the rows (lvmfast._gaussian.class_statistics, in
float64 sums) gives C, and each iteration is an eigendecomposition of a
D x D matrix, whatever N is. The iterates, the log-likelihood and the
stopping rule are scikit-learn's svd_method='lapack' ones.
"""
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import randomized_svd
from sklearn.utils.validation import check_is_fitted, validate_data

from lvmfast._factor import log_prob_low_rank, posterior_factor_means
from lvmfast._gaussian import class_statistics, explain_zero_variance, moments_around
from lvmfast._validation import (
    FLOAT_DTYPES, check_sample_weight, check_scale, integers, naming_errors, unchanged_on_error, unit_mean_weights,
    validate_float_data,
)
from lvmfast.decomposition._factor_missing import missing_m_step, missing_pass

__all__ = ["FactorAnalysis", "orthogonal_rotation", "weighted_covariance"]

# scikit-learn's floor on the noise variances and on their square roots' offset
SMALL = 1e-12


def weighted_covariance(X, sample_weight):
    """(mean, covariance, total weight) of the rows of X under the (mean 1)
    weights: mean and the biased covariance sum w (x - m)(x - m)^T / sum w,
    float64, from one compiled pass (lvmfast._gaussian.class_statistics
    with one class; a second pass only where its pivot row lies far from
    the mean)."""
    shift = X.mean(axis=0, dtype=np.float64)
    labels = np.zeros(X.shape[0], dtype=np.intp)
    counts, means, moments, around = class_statistics(X, shift.astype(X.dtype), sample_weight, labels, 1, "full")
    n_features = X.shape[1]
    scatter = moments_around(counts, counts[:, None] * means, moments, around, means, "full")
    scatter = scatter.reshape(n_features, n_features)
    scatter = (scatter + scatter.T) / 2  # exactly symmetric
    total = float(counts[0])
    return shift.astype(X.dtype).astype(np.float64) + means[0], scatter / total, total


def orthogonal_rotation(loadings, method="varimax", tol=1e-6, max_iter=100):
    """Rotate `loadings` (n_features x n_factors) by the orthogonal matrix
    that maximizes the varimax (gamma = 1) or quartimax (gamma = 0)
    criterion, by the usual SVD iteration: R = U V^T from the SVD of
    L^T (Lr^3 - gamma Lr diag(sum Lr^2) / p), with Lr = L R, until the
    criterion's gain is below tol (relative). Returns L R."""
    n_rows, n_cols = loadings.shape
    gamma = 1.0 if method == "varimax" else 0.0
    rotation = np.eye(n_cols)
    criterion = 0.0
    for _ in range(max_iter):
        rotated = loadings @ rotation
        target = rotated**3 - gamma * rotated * ((rotated**2).sum(axis=0) / n_rows)
        u, s, vt = np.linalg.svd(loadings.T @ target)
        rotation = u @ vt
        new_criterion = s.sum()
        if criterion != 0 and new_criterion < criterion * (1 + tol):
            break
        criterion = new_criterion
    return loadings @ rotation


class FactorAnalysis(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Factor analysis: x = W z + mean + noise, z ~ N(0, I), noise ~ N(0, Psi)
    with Psi diagonal, fit by maximum likelihood.

    A drop-in for ``sklearn.decomposition.FactorAnalysis``: the same
    parameters, attributes and, for ``svd_method='lapack'``, the same
    iterates from the same start. The rows are read once: one compiled pass
    gives their D x D covariance (in float64 sums), and every iteration then
    works on D x D matrices only (an eigendecomposition where scikit-learn
    takes an SVD of the N x D data). ``score_samples`` evaluates the
    low-rank-plus-diagonal Gaussian through the Woodbury identity in a
    compiled pass, O(D q) per row.

    Parameters
    ----------
    n_components : int or None, default=None
        Dimension of the latent space (q); None means n_features. Must not
        exceed n_features.
    tol : float, default=1e-2
        Stop when the log-likelihood gains less than this.
    copy : bool, default=True
        Kept for scikit-learn's interface: X is never modified.
    max_iter : int, default=1000
        Maximum number of iterations.
    noise_variance_init : array-like of shape (n_features,), default=None
        Initial noise variances (default: ones).
    svd_method : {'lapack', 'randomized'}, default='randomized'
        How the q leading eigenpairs of the scaled covariance are found: a
        full symmetric eigendecomposition (LAPACK) or scikit-learn's
        randomized_svd of that D x D matrix.
    iterated_power : int, default=3
        Power iterations of the randomized method.
    rotation : {'varimax', 'quartimax'} or None, default=None
        Orthogonal rotation of the fitted components.
    random_state : int, RandomState instance or None, default=0
        Seeds the randomized method.
    allow_missing : bool, default=False
        Accept NaN as missing values (missing at random). A fit on X with
        NaN runs EM on the factor model (the observed values' likelihood,
        the missing ones' conditional expectations), started from the fit
        of the mean-imputed covariance; ``score_samples`` is then the
        likelihood of each row's observed values and ``transform`` the
        factors given them. Without NaN the fit is the usual one. False
        refuses NaN with scikit-learn's error.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The factor loadings W^T (in X's dtype).
    loglike_ : list of float
        The log-likelihood (summed over the weighted rows) at every
        iteration.
    noise_variance_ : ndarray of shape (n_features,)
        The noise variances Psi.
    mean_ : ndarray of shape (n_features,)
        The (weighted) mean of the training rows.
    n_iter_ : int
        Iterations run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when X has feature names that are all strings.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from lvmfast import FactorAnalysis
    >>> X, _ = load_digits(return_X_y=True)
    >>> fa = FactorAnalysis(n_components=7, random_state=0).fit(X)
    >>> fa.transform(X).shape
    (1797, 7)
    """

    _parameter_constraints: dict = {
        "n_components": [integers(0), None],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "copy": ["boolean"],
        "max_iter": [integers(1)],
        "noise_variance_init": ["array-like", None],
        "svd_method": [StrOptions({"randomized", "lapack"})],
        "iterated_power": [Interval(Integral, 0, None, closed="left")],
        "rotation": [StrOptions({"varimax", "quartimax"}), None],
        "random_state": ["random_state"],
        "allow_missing": ["boolean"],
    }

    def __init__(
        self,
        n_components=None,
        *,
        tol=1e-2,
        copy=True,
        max_iter=1000,
        noise_variance_init=None,
        svd_method="randomized",
        iterated_power=3,
        rotation=None,
        random_state=0,
        allow_missing=False,
    ):
        self.n_components = n_components
        self.tol = tol
        self.copy = copy
        self.max_iter = max_iter
        self.noise_variance_init = noise_variance_init
        self.svd_method = svd_method
        self.iterated_power = iterated_power
        self.rotation = rotation
        self.random_state = random_state
        self.allow_missing = allow_missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = self.allow_missing
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Fit the factor model to X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; integer weights act as repeated rows.

        Returns
        -------
        self : FactorAnalysis
        """
        X, observed = self._validate(X, reset=True)
        n_samples, n_features = X.shape
        n_components = n_features if self.n_components is None else self.n_components
        if n_components > n_features:
            raise ValueError(
                f"n_components must be at most n_features = {n_features} (the latent space cannot have more "
                f"dimensions than the data), got n_components={n_components}"
            )
        psi = self._initial_noise_variance(n_features)
        weights = check_sample_weight(sample_weight, X, np.float64)
        unit, weight_scale = unit_mean_weights(weights, X.dtype, with_scale=True)
        if observed is not None:
            return self._fit_missing(X, observed, unit.astype(np.float64), weight_scale, psi, n_components)
        mean, covariance, unit_total = weighted_covariance(X, unit)
        if not np.any(np.diag(covariance) > 0):
            explain_zero_variance(X)
        # the likelihood is in the caller's weight units (integer weights:
        # repeated rows); the fit itself depends on the weights' ratios only
        total_weight = unit_total * weight_scale
        state = self._iterate(covariance, psi, n_components, total_weight)
        components, psi, loglike, n_iter = state
        if self.rotation is not None and len(components):
            components = orthogonal_rotation(components.T, self.rotation).T
        dtype = X.dtype
        self.mean_ = mean.astype(dtype)
        self.components_ = np.ascontiguousarray(components, dtype=dtype)
        self.noise_variance_ = psi.astype(dtype)
        self.loglike_ = loglike
        self.n_iter_ = n_iter
        return self

    def _validate(self, X, reset):
        """X validated (C-contiguous float32/float64) and, where
        allow_missing and X holds NaN, its mask of observed values (else
        None). Infinity is refused either way."""
        if not self.allow_missing:
            return validate_float_data(self, X, reset=reset, ensure_min_samples=2 if reset else 1), None
        with naming_errors("X"):
            X = validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES, order="C",
                              ensure_min_samples=2 if reset else 1, ensure_all_finite="allow-nan")
        missing = np.isnan(X)
        if not missing.any():
            check_scale(X, estimator_name=type(self).__name__)
            return X, None
        if np.isinf(X).any():
            raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
        check_scale(np.where(missing, 0, X), estimator_name=type(self).__name__)
        return X, ~missing

    def _fit_missing(self, X, observed, unit, weight_scale, psi, n_components):
        """EM on the factor model for X with NaN (lvmfast.decomposition.
        _factor_missing), started from the complete-data fit of the
        mean-imputed covariance."""
        empty = np.flatnonzero(~observed.any(axis=0))
        if empty.size:
            raise ValueError(f"X: feature(s) {empty.tolist()[:10]} have no observed value; drop them")
        weighted = unit[:, None] * observed
        center = np.nansum(weighted * X, axis=0) / weighted.sum(axis=0)
        centered = X.astype(np.float64) - center
        imputed = np.where(observed, centered, 0.0)
        total = float(unit.sum())
        covariance = (unit[:, None] * imputed).T @ imputed / total
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            components, psi, _, _ = self._iterate(covariance, psi, n_components, total * weight_scale)
        mean, loadings = np.zeros(X.shape[1]), components.T
        loglike, previous = [], -np.inf
        for n_iter in range(1, self.max_iter + 1):
            rows_ll, statistics = missing_pass(centered, observed, unit, mean, loadings, psi)
            ll = float(weight_scale * (unit @ rows_ll))
            loglike.append(ll)
            if ll - previous < self.tol:
                break
            previous = ll
            mean, loadings, psi = missing_m_step(statistics)
        else:
            warnings.warn(
                "FactorAnalysis did not converge. You might want to increase the number of iterations.",
                ConvergenceWarning,
            )
        components = loadings.T
        if self.rotation is not None and len(components):
            components = orthogonal_rotation(components.T, self.rotation).T
        dtype = X.dtype
        self.mean_ = (center + mean).astype(dtype)
        self.components_ = np.ascontiguousarray(components, dtype=dtype)
        self.noise_variance_ = psi.astype(dtype)
        self.loglike_ = loglike
        self.n_iter_ = n_iter
        return self

    def _initial_noise_variance(self, n_features):
        if self.noise_variance_init is None:
            return np.ones(n_features)
        psi = np.asarray(self.noise_variance_init, dtype=np.float64).ravel()
        if len(psi) != n_features:
            raise ValueError(
                "noise_variance_init dimension does not with number of features : "
                f"{len(psi)} != {n_features}"
            )
        if not np.all(np.isfinite(psi)) or np.any(psi <= 0):
            raise ValueError("noise_variance_init must hold positive finite variances, got "
                             f"min {psi.min()!r}")
        return psi

    def _leading_eigenpairs(self, scaled, n_kept, random_state):
        """The n_kept largest eigenvalues of the symmetric PSD matrix
        `scaled` (descending) and their eigenvectors (columns)."""
        n_features = scaled.shape[0]
        if n_kept == 0:
            return np.zeros(0), np.zeros((n_features, 0))
        if self.svd_method == "lapack":
            values, vectors = linalg.eigh(scaled, subset_by_index=[n_features - n_kept, n_features - 1],
                                          check_finite=False)
            return values[::-1], vectors[:, ::-1]
        _, values, vt = randomized_svd(scaled, n_kept, n_iter=self.iterated_power, random_state=random_state)
        return values, vt.T

    def _iterate(self, covariance, psi, n_components, total_weight):
        """scikit-learn's iteration on the covariance (see the module
        docstring). Returns (components (n_components x D), psi, loglike,
        n_iter). Unlike scikit-learn's SVD of X, which has min(N, D) singular
        values, the covariance always gives n_components eigenvalues: with
        fewer rows than factors the extra ones are ~0 (their loadings 0),
        and weighted rows act exactly as repeated ones."""
        random_state = check_random_state(self.random_state)
        variances = np.diag(covariance).copy()
        n_features = len(variances)
        constant = n_features * np.log(2.0 * np.pi) + n_components
        loglike, previous = [], -np.inf
        for n_iter in range(1, self.max_iter + 1):
            scale = np.sqrt(psi) + SMALL
            scaled = covariance / np.outer(scale, scale)
            eigenvalues, eigenvectors = self._leading_eigenpairs(scaled, n_components, random_state)
            left_out = max(float(np.trace(scaled) - eigenvalues.sum()), 0.0)
            components = np.sqrt(np.maximum(eigenvalues - 1.0, 0.0))[:, None] * eigenvectors.T * scale
            # eigenvalues past the data's rank are 0 up to rounding
            eigenvalues = np.maximum(eigenvalues, np.finfo(np.float64).tiny)
            ll = -total_weight / 2.0 * (constant + np.sum(np.log(eigenvalues)) + left_out + np.sum(np.log(psi)))
            loglike.append(float(ll))
            if ll - previous < self.tol:
                break
            previous = ll
            psi = np.maximum(variances - np.sum(components**2, axis=0), SMALL)
        else:
            warnings.warn(
                "FactorAnalysis did not converge. You might want to increase the number of iterations.",
                ConvergenceWarning,
            )
        return components, psi, loglike, n_iter

    def _check_input(self, X):
        check_is_fitted(self)
        return self._validate(X, reset=False)

    def _missing_pass(self, X, observed, posterior):
        return missing_pass(
            X.astype(np.float64) - self.mean_, observed, np.ones(X.shape[0]), np.zeros(X.shape[1]),
            self.components_.T.astype(np.float64), self.noise_variance_.astype(np.float64),
            statistics=False, posterior=posterior,
        )

    def transform(self, X):
        """The posterior mean of the factors of each row:
        (I + W^T Psi^-1 W)^-1 W^T Psi^-1 (x - mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            In X's dtype.
        """
        X, observed = self._check_input(X)
        if observed is not None:  # each row's factors given its observed values
            return self._missing_pass(X, observed, posterior=True)[1].astype(X.dtype)
        return posterior_factor_means(X, self.mean_, self.components_, self.noise_variance_)

    def get_covariance(self):
        """The model's covariance W W^T + Psi.

        Returns
        -------
        cov : ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        components = self.components_.astype(np.float64)
        covariance = components.T @ components
        covariance.flat[:: len(covariance) + 1] += self.noise_variance_
        return covariance

    def get_precision(self):
        """The model's precision (W W^T + Psi)^-1, by the Woodbury identity
        Psi^-1 - Psi^-1 W (I + W^T Psi^-1 W)^-1 W^T Psi^-1.

        Returns
        -------
        precision : ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        components = self.components_.astype(np.float64)
        inverse_noise = 1.0 / self.noise_variance_.astype(np.float64)
        n_factors, n_features = components.shape
        if n_factors == n_features:  # no low-rank saving: invert directly
            return linalg.inv(self.get_covariance())
        scaled = components * inverse_noise  # W^T Psi^-1
        inner = np.eye(n_factors) + scaled @ components.T
        precision = -scaled.T @ linalg.solve(inner, scaled, assume_a="pos")
        precision.flat[:: n_features + 1] += inverse_noise
        return precision

    def score_samples(self, X):
        """Log-likelihood of each row under the fitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ll : ndarray of shape (n_samples,)
            float64.
        """
        X, observed = self._check_input(X)
        if observed is not None:  # the marginal likelihood of each row's observed values
            return self._missing_pass(X, observed, posterior=False)
        log_prob = log_prob_low_rank(
            X, self.mean_[None], self.components_[None], self.noise_variance_[None]
        )
        return log_prob[:, 0].astype(np.float64)

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        ll : float
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self.components_.shape[0]
