"""Gaussian mixtures fit by variational inference (the evidence lower bound).

The variational E-step is the Gaussian log-density under the expected
precision plus a per-component term (the expected log weight and the
Wishart's expected log-determinant), so it is GaussianMixture's fused pass
with other log weights: one pass over X per iteration, no n_samples x
n_components array. The conjugate updates (Dirichlet or Dirichlet-process
weights, Normal-Wishart components) work on the pass's statistics, and so
does the lower bound: the responsibilities' entropy, sum r log r, follows
from the log-likelihood the pass sums and the rows' log-likelihood within
their components, which the statistics give (`_entropy_of_responsibilities`). The
iterations, the priors' defaults and the lower bound follow scikit-learn's
BayesianGaussianMixture step for step.
"""
from numbers import Real

import numpy as np
from scipy.special import betaln, digamma, gammaln
from sklearn.utils._param_validation import Interval, StrOptions

from lvmfast._gaussian import log_det_cholesky, log_likelihood_from_statistics, precision_cholesky
from lvmfast.mixture._base import (
    BaseGaussianMixture, moments_of_covariances, parameters_from_statistics, precisions_from_cholesky,
)

__all__ = ["BayesianGaussianMixture"]

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


def _expected_log_weights(concentration, prior_type):
    """E[log pi_k] under the Dirichlet (a vector) or the stick-breaking
    process (a pair of Beta parameters per component)."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        digamma_sum = digamma(a + b)
        # stick k keeps its own share and breaks every earlier one
        return digamma(a) - digamma_sum + np.hstack((0.0, np.cumsum(digamma(b) - digamma_sum)[:-1]))
    return digamma(concentration) - digamma(np.sum(concentration))


def _weights_of(concentration, prior_type):
    """The expected weights, normalized."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        kept = b / (a + b)
        weights = a / (a + b) * np.hstack((1.0, np.cumprod(kept[:-1])))
        return weights / weights.sum()
    return concentration / concentration.sum()


def _log_wishart_norm(degrees_of_freedom, log_det_precision_cholesky, n_features):
    """log of the Wishart normalization, without its log(pi) term (as
    scikit-learn's lower bound drops it)."""
    dof = np.asarray(degrees_of_freedom, dtype=np.float64)
    return -(
        dof * log_det_precision_cholesky
        + dof * n_features * 0.5 * np.log(2.0)
        + gammaln(0.5 * (dof[..., None] - np.arange(n_features))).sum(axis=-1)
    )


def _entropy_of_responsibilities(statistics, log_weights, means, chol, covariance_type):
    """-sum_i w_i sum_k r_ik log r_ik, from the pass's statistics.

    The pass scored s_ik = log(weight_k N(x_i | k)) and summed w_i lse_i,
    lse_i = log sum_k exp(s_ik). Since log r_ik = s_ik - lse_i and
    sum_k r_ik = 1, sum_i w_i sum_k r_ik log r_ik = sum_ik w_i r_ik s_ik -
    sum_i w_i lse_i, and the first sum is the log-likelihood of the rows
    taken in their components with weights r, which the statistics give
    (nk, s1 and s2 around the means the pass used)."""
    nk, s1, s2, log_likelihood = statistics
    in_components = log_likelihood_from_statistics(nk, s1, s2, means, log_weights, means, chol, covariance_type)
    return log_likelihood - in_components


class BayesianGaussianMixture(BaseGaussianMixture):
    """Gaussian mixture fit by variational inference.

    A drop-in for ``sklearn.mixture.BayesianGaussianMixture``: the same
    parameters, attributes and iterations from the same starting point, with
    each iteration one fused pass over the rows (GaussianMixture's, with the
    variational per-component terms) and no n_samples x n_components array.
    ``fit`` also takes ``sample_weight``: relative weights of the rows. The
    posterior is that of the n_samples rows with the weights normalized to
    mean 1, so multiplying every weight by a constant changes nothing (and
    integer weights are not repeated rows here, unlike GaussianMixture's:
    repeating rows adds data, which moves the posterior away from the
    prior). The default priors are the weighted mean and covariance.

    Parameters
    ----------
    n_components : int, default=1
        The largest number of components; the prior switches off those the
        data does not need (their weights go to about 0).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        Iterations stop when the lower bound (a sum over rows) gains less
        than this.
    reg_covar : float, default=1e-6
        Added to the diagonal of each component's empirical covariance.
    max_iter : int, default=100
    n_init : int, default=1
        Initializations; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        The initial responsibilities, as for GaussianMixture.
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, default='dirichlet_process'
        Stick-breaking (Dirichlet process) or Dirichlet prior on the weights.
    weight_concentration_prior : float > 0, default=None
        The weights' concentration (gamma, or alpha); None: 1 / n_components.
        Small values favour few active components.
    mean_precision_prior : float > 0, default=None
        How strongly the means are pulled to mean_prior; None: 1.
    mean_prior : array-like of shape (n_features,), default=None
        The means' prior mean; None: the (weighted) mean of X.
    degrees_of_freedom_prior : float > n_features - 1, default=None
        The Wishart's degrees of freedom; None: n_features.
    covariance_prior : float or array-like, default=None
        The Wishart's covariance prior: (n_features, n_features) for 'full'
        and 'tied', (n_features,) for 'diag', a float for 'spherical'. None:
        the covariance of X under its weights normalized to mean 1,
        sum_i w_i (x_i - m)(x_i - m)^T / (n_samples - 1) with m the weighted
        mean (scikit-learn's np.cov(X.T) when unweighted); its diagonal for
        'diag', their mean for 'spherical'.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization; the same seed gives scikit-learn's
        starting point, and bit-identical results whatever the thread count.
    warm_start : bool, default=False
        Start fit from the last fit's posterior (with n_init=1).
    verbose : int, default=0
        Progress lines, as for :class:`lvmfast.GaussianMixture`.
    verbose_interval : int, default=10
        Iterations between verbose lines.
    learning_decay : float in [0, 1], default=0.7
        partial_fit (stochastic variational inference): the natural
        parameters move toward each batch's by
        rho_t = (learning_offset + t) ** -learning_decay, t the batches taken
        before; (0.5, 1] guarantees convergence. As scikit-learn's online
        LatentDirichletAllocation.
    learning_offset : float >= 1, default=10.0
        partial_fit: the offset tau_0 of rho_t.
    total_samples : float > 0, default=1e6
        partial_fit: the number of rows the stream stands for; each batch's
        statistics are scaled by total_samples / its total weight.
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
        user guide's missing values page. The
        default priors then come from each feature's observed entries (a
        diagonal covariance_prior).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The expected mixing weights, in X's dtype.
    means_ : ndarray of shape (n_components, n_features)
        The posterior means of the components' means.
    covariances_ : ndarray
        The Wishart scale divided by its degrees of freedom, as
        scikit-learn's; shaped by covariance_type as for
        :class:`lvmfast.GaussianMixture`.
    precisions_ : ndarray
        The expected precisions, shaped as ``covariances_``.
    precisions_cholesky_ : ndarray
        Their Cholesky factors, shaped as ``covariances_``.
    weight_concentration_prior_ : float
        The weights' concentration prior used.
    weight_concentration_ : ndarray of shape (n_components,) or tuple of two
        The posterior's concentration: an array for
        'dirichlet_distribution', the two Beta parameters' arrays for
        'dirichlet_process'.
    mean_precision_prior_ : float
        The means' precision prior used.
    mean_precision_ : ndarray of shape (n_components,)
        The posterior's precision of each mean.
    mean_prior_ : ndarray of shape (n_features,)
        The means' prior mean used.
    degrees_of_freedom_prior_ : float
        The Wishart's degrees of freedom prior used.
    degrees_of_freedom_ : ndarray of shape (n_components,)
        The posterior's degrees of freedom of each component.
    covariance_prior_ : float or ndarray
        The Wishart's covariance prior used.
    converged_ : bool
        Whether the best run met tol before max_iter.
    n_iter_ : int
        Iterations of the best run.
    lower_bound_ : float
        The evidence lower bound (up to constants, as scikit-learn's) at the
        best run's last iteration.
    lower_bounds_ : list of float
        The lower bound after every iteration of the best run.
    n_features_in_ : int
        Number of features seen in fit.
    n_batch_iter_ : int
        After partial_fit: the batches taken (a fit before counts as one);
        ``n_iter_`` is the same. ``lower_bound_`` is then the batches' mean
        log-normalizer of the variational E-step (the data term of the bound
        per row), averaged with the steps rho_t.

    See Also
    --------
    lvmfast.GaussianMixture : The mixture fit by EM.
    lvmfast.dask.BayesianGaussianMixture : The same on a Dask array.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import BayesianGaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(8, 1, (300, 2))])
    >>> bgm = BayesianGaussianMixture(n_components=6, weight_concentration_prior=0.01,
    ...                               random_state=0).fit(X)
    >>> int((bgm.weights_ > 0.05).sum())   # the data need two of the six
    2
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=0, total_samples=20000)
    >>> for _ in range(20):  # stochastic variational inference over a stream of batches
    ...     bgm = bgm.partial_fit(np.concatenate([rng.normal(-3, 1, (500, 2)), rng.normal(3, 1, (500, 2))]))
    >>> np.sort(bgm.means_[:, 0]).round(0).tolist(), bgm.weights_.round(1).tolist()
    ([-3.0, 3.0], [0.5, 0.5])
    """

    _parameter_constraints: dict = {
        **BaseGaussianMixture._parameter_constraints,
        "weight_concentration_prior_type": [StrOptions(set(PRIOR_TYPES))],
        "weight_concentration_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "covariance_prior": [None, "array-like", Interval(Real, 0.0, None, closed="neither")],
        "learning_decay": [Interval(Real, 0, 1, closed="both")],
        "learning_offset": [Interval(Real, 1.0, None, closed="left")],
        "total_samples": [Interval(Real, 0.0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        learning_decay=0.7,
        learning_offset=10.0,
        total_samples=1e6,
        allow_missing=False,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.total_samples = total_samples
        self.allow_missing = allow_missing

    # -- priors -----------------------------------------------------------------

    def _check_initial_parameters(self, n_features):
        """The priors given against X's width; returns them as float64 (None
        where not given)."""
        d = n_features
        if self.degrees_of_freedom_prior is not None and not self.degrees_of_freedom_prior > d - 1.0:
            raise ValueError(
                f"The parameter 'degrees_of_freedom_prior' should be greater than {d - 1}, but got "
                f"{self.degrees_of_freedom_prior:.3f}."
            )
        mean_prior = covariance_prior = None
        if self.mean_prior is not None:
            mean_prior = self._prior_array(self.mean_prior, "mean_prior", (d,))
        if self.covariance_prior is not None:
            shape = {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[self.covariance_type]
            covariance_prior = self._prior_array(self.covariance_prior, f"{self.covariance_type} covariance_prior", shape)
            if self.covariance_type in ("full", "tied"):
                if not np.allclose(covariance_prior, covariance_prior.T) or np.linalg.eigvalsh(covariance_prior).min() <= 0:
                    raise ValueError(
                        f"The parameter '{self.covariance_type} covariance_prior' should be symmetric, "
                        "positive-definite."
                    )
            elif covariance_prior.min() <= 0:
                raise ValueError(
                    f"The parameter '{self.covariance_type} covariance_prior' should be positive; got minimum "
                    f"{covariance_prior.min()!r}."
                )
        return mean_prior, covariance_prior

    @staticmethod
    def _prior_array(value, name, shape):
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"The parameter '{name}' should be numeric; got {value!r}: {exc}") from None
        if a.shape != shape and not (shape == () and a.size == 1):
            raise ValueError(f"The parameter '{name}' should have the shape of {shape}, but got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"The parameter '{name}' contains NaN or infinity.")
        return a.reshape(shape)

    def _prepare(self, rows):
        """The priors of this fit, from the parameters and (for the defaults
        of mean_prior and covariance_prior) one pass over X."""
        n_features = rows.shift.shape[0]
        mean_prior, covariance_prior = self._check_initial_parameters(n_features)
        if mean_prior is None or covariance_prior is None:
            data_mean, data_covariance = self._data_moments(rows)
        if mean_prior is None:
            mean_prior = data_mean
        if covariance_prior is None:
            covariance_prior = {
                "full": data_covariance, "tied": data_covariance, "diag": np.diag(data_covariance).copy(),
                "spherical": np.diag(data_covariance).mean(),
            }[self.covariance_type]
        wcp = self.weight_concentration_prior
        self.weight_concentration_prior_ = 1.0 / self.n_components if wcp is None else wcp
        self.mean_precision_prior_ = 1.0 if self.mean_precision_prior is None else self.mean_precision_prior
        dof = self.degrees_of_freedom_prior
        self.degrees_of_freedom_prior_ = n_features if dof is None else dof
        self.mean_prior_ = mean_prior.astype(rows.dtype)
        self.covariance_prior_ = np.asarray(covariance_prior).astype(rows.dtype)
        # in float64, the prior mean in the pass's centered frame
        self._priors = dict(mean=mean_prior - rows.shift, covariance=np.asarray(covariance_prior, dtype=np.float64))

    def _data_moments(self, rows):
        """The weighted mean and covariance of X in one pass (the pass's
        statistics under a single component, 'tied', so that s2 is
        sum w x x^T around the shift). The pass's weights have mean 1, so
        their total is n_samples (up to rounding) and the covariance is
        scatter / (n_samples - 1) whatever the scale of the caller's weights."""
        n_features = rows.shift.shape[0]
        if getattr(rows, "observed_moments", None) is not None:
            # X with missing entries: each feature's mean and variance over
            # its observed entries, a diagonal covariance (the pairs observed
            # together differ from feature to feature)
            mean, variance = rows.observed_moments()
            return mean, np.diag(variance)
        nk, s1, s2, _ = rows.em_statistics(np.zeros(1), rows.shift[None, :], np.eye(n_features), "tied")
        total = nk[0]
        offset = s1[0] / total
        scatter = s2.reshape(n_features, n_features) - total * np.outer(offset, offset)
        return rows.shift + offset, scatter / (total - 1.0)

    # -- the variational iteration ---------------------------------------------

    def _initial_state(self, rows, random_state):
        nk, s1, s2, around = self._initial_statistics(rows, random_state)
        return self._posterior(*parameters_from_statistics(
            nk, s1, s2, around, self.covariance_type, self.reg_covar, rows.shift
        ))

    def _posterior(self, nk, xk, sk):
        """The conjugate update from the responsibilities' (nk + eps, means
        xk in the centered frame, covariances sk with reg_covar): the
        weights' concentration, the means' Normal and the precisions'
        Wishart (its scale over its degrees of freedom as covariances)."""
        prior = self._priors
        n_components = nk.shape[0]
        wcp = self.weight_concentration_prior_
        if self.weight_concentration_prior_type == "dirichlet_process":
            # a_k = 1 + N_k; b_k = gamma + the weight of the components after k
            concentration = (1.0 + nk, wcp + np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0)))
        else:
            concentration = wcp + nk
        beta0, nu0, m0, w0 = self.mean_precision_prior_, self.degrees_of_freedom_prior_, prior["mean"], prior["covariance"]
        mean_precision = beta0 + nk
        means = (beta0 * m0 + nk[:, None] * xk) / mean_precision[:, None]
        diff = xk - m0
        shrink = nk * beta0 / mean_precision  # how far the prior pulls each mean
        if self.covariance_type == "full":
            dof = nu0 + nk
            covariances = w0 + nk[:, None, None] * sk + shrink[:, None, None] * diff[:, :, None] * diff[:, None, :]
            covariances /= dof[:, None, None]
        elif self.covariance_type == "tied":
            dof = nu0 + nk.sum() / n_components
            covariances = (w0 + sk * nk.sum() / n_components + (shrink * diff.T) @ diff / n_components) / dof
        elif self.covariance_type == "diag":
            dof = nu0 + nk
            covariances = (w0 + nk[:, None] * sk + shrink[:, None] * diff**2) / dof[:, None]
        else:
            dof = nu0 + nk
            covariances = (w0 + nk * sk + shrink * np.mean(diff**2, axis=1)) / dof
        chol = precision_cholesky(covariances, self.covariance_type, self.reg_covar)
        return dict(
            concentration=concentration, mean_precision=mean_precision, means=means, dof=dof,
            covariances=covariances, chol=chol,
        )

    def _log_weights(self, state):
        """The variational E-step's per-component term: E[log pi_k] plus
        half the Wishart's E[log det Lambda_k] beyond the expected precision's
        own log-determinant, minus D / (2 beta_k) for the means' spread."""
        n_features = state["means"].shape[1]
        dof = np.asarray(state["dof"], dtype=np.float64)
        log_lambda = n_features * np.log(2.0) + digamma(0.5 * (dof[..., None] - np.arange(n_features))).sum(axis=-1)
        terms = -0.5 * n_features * np.log(dof) + 0.5 * (log_lambda - n_features / state["mean_precision"])
        return terms + _expected_log_weights(state["concentration"], self.weight_concentration_prior_type)

    def _m_step(self, statistics, state, rows):
        nk, s1, s2, _ = statistics
        entropy = _entropy_of_responsibilities(
            statistics, self._log_weights(state), state["means"], state["chol"], self.covariance_type
        )
        new = self._posterior(*parameters_from_statistics(
            nk, s1, s2, state["means"], self.covariance_type, self.reg_covar, rows.shift
        ))
        return new, entropy + self._prior_terms(new)

    def _prior_terms(self, state):
        """The lower bound's terms beyond the responsibilities' entropy (the
        constants scikit-learn drops are dropped here too)."""
        n_components, n_features = state["means"].shape
        log_det = log_det_cholesky(state["chol"], self.covariance_type, n_features) - 0.5 * n_features * np.log(state["dof"])
        log_wishart = np.sum(_log_wishart_norm(state["dof"], log_det, n_features))
        if self.covariance_type == "tied":
            log_wishart *= n_components
        if self.weight_concentration_prior_type == "dirichlet_process":
            log_norm_weight = -np.sum(betaln(*state["concentration"]))
        else:
            concentration = state["concentration"]
            log_norm_weight = gammaln(concentration.sum()) - gammaln(concentration).sum()
        return float(-log_wishart - log_norm_weight - 0.5 * n_features * np.sum(np.log(state["mean_precision"])))

    def _stream_m_step(self, statistics, frame):
        """Stochastic variational inference: the conjugate update from the
        running statistics per unit of weight scaled to total_samples rows.
        The posterior's natural parameters are the prior's plus these
        statistics (linear in them), so moving the statistics by rho_t moves
        the natural parameters by rho_t toward the batch's
        (prior + total_samples / batch weight * the batch's statistics)."""
        nk, s1, s2, around = (self.total_samples * np.asarray(a) if i < 3 else a for i, a in enumerate(statistics))
        return self._posterior(*parameters_from_statistics(
            nk, s1, s2, around, self.covariance_type, self.reg_covar, frame
        ))

    def _statistics_of_state(self, state):
        """The statistics per unit of weight whose conjugate update gives
        `state`: _posterior solved for the counts (mean_precision - beta0),
        the means xk and the covariances sk (less reg_covar)."""
        prior = self._priors
        beta0, nu0, m0, w0 = self.mean_precision_prior_, self.degrees_of_freedom_prior_, prior["mean"], prior["covariance"]
        n_components = state["means"].shape[0]
        nk = np.maximum(state["mean_precision"] - beta0, np.finfo(np.float64).tiny)
        xk = (state["mean_precision"][:, None] * state["means"] - beta0 * m0) / nk[:, None]
        diff = xk - m0
        shrink = nk * beta0 / state["mean_precision"]
        scaled = np.asarray(state["covariances"], dtype=np.float64) * (
            state["dof"] if self.covariance_type == "tied" else np.reshape(state["dof"], (-1,) + (1,) * (np.ndim(state["covariances"]) - 1))
        )
        if self.covariance_type == "full":
            sk = (scaled - w0 - shrink[:, None, None] * diff[:, :, None] * diff[:, None, :]) / nk[:, None, None]
        elif self.covariance_type == "tied":
            sk = (n_components * (scaled - w0) - (shrink * diff.T) @ diff) / nk.sum()
        elif self.covariance_type == "diag":
            sk = (scaled - w0 - shrink[:, None] * diff**2) / nk[:, None]
        else:
            sk = (scaled - w0 - shrink * np.mean(diff**2, axis=1)) / nk
        total = nk.sum()
        counts = nk / total
        s2 = moments_of_covariances(counts, sk, xk, self.covariance_type, self.reg_covar)
        return counts, counts[:, None] * xk, s2, xk

    def _fitted_state(self, shift):
        concentration = self.weight_concentration_
        if self.weight_concentration_prior_type == "dirichlet_process":
            concentration = tuple(np.asarray(c, dtype=np.float64) for c in concentration)
        else:
            concentration = np.asarray(concentration, dtype=np.float64)
        return dict(
            concentration=concentration, mean_precision=self.mean_precision_.astype(np.float64),
            means=self.means_.astype(np.float64) - shift, dof=np.asarray(self.degrees_of_freedom_, dtype=np.float64),
            covariances=self.covariances_.astype(np.float64), chol=self.precisions_cholesky_.astype(np.float64),
        )

    def _set_fitted(self, state, n_iter, shift, dtype):
        concentration = state["concentration"]
        self.weights_ = _weights_of(concentration, self.weight_concentration_prior_type).astype(dtype)
        if self.weight_concentration_prior_type == "dirichlet_process":
            self.weight_concentration_ = tuple(c.astype(dtype) for c in concentration)
        else:
            self.weight_concentration_ = concentration.astype(dtype)
        self.mean_precision_ = state["mean_precision"].astype(dtype)
        dof = np.asarray(state["dof"], dtype=np.float64)
        self.degrees_of_freedom_ = dof.astype(dtype) if dof.ndim else dtype.type(dof)  # a number for 'tied'
        self.means_ = (state["means"] + shift).astype(dtype)
        self.covariances_ = np.asarray(state["covariances"]).astype(dtype)
        self.precisions_cholesky_ = np.asarray(state["chol"]).astype(dtype)
        self.precisions_ = precisions_from_cholesky(np.asarray(state["chol"]), self.covariance_type).astype(dtype)

    def _scoring_log_weights(self):
        return self._log_weights(self._fitted_state(self._shift))
