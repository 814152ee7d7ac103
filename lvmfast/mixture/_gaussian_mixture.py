"""Gaussian mixture models fit by EM.

Each EM iteration is one fused pass over the rows (lvmfast._gaussian.
em_statistics): log-densities, responsibilities and the weighted sufficient
statistics, a chunk per thread, with no n_samples x n_components array. The
M-step on those small statistics is NumPy here. The loop, the convergence test
and the initializations follow scikit-learn's GaussianMixture step for step,
so the same starting point gives the same iterations.
"""
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from lvmfast._gaussian import precision_cholesky
from lvmfast.mixture._base import (
    BaseGaussianMixture, covariances_from_precisions, moments_of_covariances, parameters_from_statistics,
    precision_cholesky_from_precisions, precisions_from_cholesky,
)

__all__ = ["GaussianMixture"]


class GaussianMixture(BaseGaussianMixture):
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
    weights_init : array-like of shape (n_components,), default=None
        Initial weights; they replace what init_params gives.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means; they replace what init_params gives.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped as
        ``precisions_`` for the covariance_type; they replace what
        init_params gives.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization (and of ``sample``); the same seed gives
        scikit-learn's starting point, and bit-identical results whatever
        the thread count.
    warm_start : bool, default=False
        Start fit from the last fit's parameters (with n_init=1).
    verbose : int, default=0
        1 prints each initialization and every verbose_interval-th
        iteration, 2 also its time and lower bound change, as scikit-learn
        does.
    verbose_interval : int, default=10
        Iterations between verbose lines.
    learning_decay : float in [0, 1], default=0.7
        partial_fit (stepwise EM): the running statistics move toward each
        batch's by rho_t = (learning_offset + t) ** -learning_decay, t the
        batches taken before; (0.5, 1] guarantees convergence (Robbins-Monro).
        As scikit-learn's online LatentDirichletAllocation.
    learning_offset : float >= 1, default=10.0
        partial_fit: the offset tau_0 of rho_t, which slows the early steps.
    allow_missing : bool, default=False
        False: NaN in X is refused, as scikit-learn refuses it. True: NaN
        entries are missing at random and fit by EM for incomplete data:
        each row is scored by its marginal density over its observed
        features (in fit, partial_fit, predict, predict_proba, score_samples and score),
        and the M-step takes the missing entries' conditional means and
        covariances given the observed ones. Rows with every feature
        missing are refused (they have nothing to evaluate or learn from),
        as are, in fit, features with every entry missing. Without NaN in
        X the fit is that of allow_missing=False, bit for bit. EM converges
        more slowly on incomplete data: consider a smaller tol. See the
        user guide's missing values page.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The mixing weights, in X's dtype.
    means_ : ndarray of shape (n_components, n_features)
        The components' means.
    covariances_ : ndarray
        The covariances: (n_components, n_features, n_features) for 'full',
        (n_features, n_features) for 'tied', (n_components, n_features) for
        'diag', (n_components,) for 'spherical'.
    precisions_ : ndarray
        Their inverses, shaped as ``covariances_``.
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions, shaped as ``covariances_``.
    converged_ : bool
        Whether the best run met tol before max_iter.
    n_iter_ : int
        EM iterations of the best run.
    lower_bound_ : float
        Mean (weighted) log-likelihood of the best run at its last iteration.
    lower_bounds_ : list of float
        The lower bound after every iteration of the best run.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.
    n_batch_iter_ : int
        After partial_fit: the batches taken (a fit before counts as one);
        ``n_iter_`` is the same, ``lower_bound_`` the batches' mean log-likelihoods
        averaged with the steps rho_t (``lower_bounds_`` holds only it: a
        stream keeps no history), ``converged_`` whether that average moved
        less than tol on the last batch.

    See Also
    --------
    lvmfast.BayesianGaussianMixture : The variational mixture.
    lvmfast.GaussianMixtureIC : Choose n_components by BIC or AIC.
    lvmfast.KMeans : Hard clusters, the mixture's zero-variance limit.
    lvmfast.dask.GaussianMixture : The same on a Dask array.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import GaussianMixture
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0],
    ...               [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> gm.means_[np.argsort(gm.means_[:, 0])]
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> gm.predict([[0.0, 0.0], [12.0, 3.0]]).tolist() == gm.predict([[1.0, 2.0], [10.0, 2.0]]).tolist()
    True
    >>> gm.predict_proba([[1.0, 2.0]]).round(3).max()
    np.float64(1.0)
    >>> rng = np.random.default_rng(0)
    >>> gm = GaussianMixture(2, random_state=0)
    >>> for _ in range(20):  # a stream of batches
    ...     batch = np.concatenate([rng.normal(-3, 1, (500, 2)), rng.normal(3, 1, (500, 2))])
    ...     gm = gm.partial_fit(batch)
    >>> np.sort(gm.means_[:, 0]).round(0).tolist(), gm.n_batch_iter_
    ([-3.0, 3.0], 20)
    """

    _parameter_constraints: dict = {
        **BaseGaussianMixture._parameter_constraints,
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "learning_decay": [Interval(Real, 0, 1, closed="both")],
        "learning_offset": [Interval(Real, 1.0, None, closed="left")],
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
        learning_decay=0.7,
        learning_offset=10.0,
        allow_missing=False,
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
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.allow_missing = allow_missing

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
        nk_eps, means, covariances = parameters_from_statistics(
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
            chol = precision_cholesky_from_precisions(precisions, self.covariance_type)
            # The covariances that go with the given precisions (what fit
            # reports when max_iter=0), never those of the responsibilities.
            covariances = covariances_from_precisions(precisions, self.covariance_type)
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
        nk_eps, means, covariances = parameters_from_statistics(
            nk, s1, s2, state["means"], self.covariance_type, self.reg_covar, rows.shift
        )
        chol = precision_cholesky(covariances, self.covariance_type, self.reg_covar)
        state = dict(weights=nk_eps / nk_eps.sum(), means=means, covariances=covariances, chol=chol, given_means=None)
        # EM's lower bound: the mean log-likelihood under the parameters of the E-step
        return state, log_likelihood / rows.total_weight

    def _stream_m_step(self, statistics, frame):
        """Stepwise EM's M-step: fit's, on the running statistics per unit of weight."""
        nk, s1, s2, around = statistics
        nk_eps, means, covariances = parameters_from_statistics(
            nk, s1, s2, around, self.covariance_type, self.reg_covar, frame
        )
        chol = precision_cholesky(covariances, self.covariance_type, self.reg_covar)
        return dict(weights=nk_eps / nk_eps.sum(), means=means, covariances=covariances, chol=chol, given_means=None)

    def _statistics_of_state(self, state):
        weights, means = state["weights"], state["means"]
        s2 = moments_of_covariances(weights, state["covariances"], means, self.covariance_type, self.reg_covar)
        return weights, weights[:, None] * means, s2, means

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
        self.precisions_ = precisions_from_cholesky(np.asarray(state["chol"]), self.covariance_type).astype(dtype)

    def _scoring_log_weights(self):
        return np.log(self.weights_.astype(np.float64))

    def _n_parameters(self):
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": k * d, "spherical": k}[self.covariance_type]
        return int(cov + k * d + k - 1)

    def bic(self, X):
        """Bayesian information criterion of the model on X (lower is better).

        :math:`-2 \\log L + p \\log N`, with :math:`L` the likelihood of X and
        :math:`p` the number of free parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        bic : float
            The criterion; lower is better.
        """
        X = self._fitted_input(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion of the model on X (lower is better).

        :math:`-2 \\log L + 2 p`, with :math:`L` the likelihood of X and
        :math:`p` the number of free parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        aic : float
            The criterion; lower is better.
        """
        X = self._fitted_input(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()
