"""GMMHMM: a hidden Markov model whose states emit from Gaussian mixtures."""
import numpy as np
from scipy import linalg
from scipy.special import logsumexp
from sklearn.utils.validation import check_array

from lvmfast import _gaussian
from lvmfast._kernels import _hmm as kernels
from lvmfast.hmm._base import BaseHMM, _check_finite, _check_sum_1
from lvmfast.hmm._gaussian_hmm import COVARIANCE_TYPES, posterior_moments, precisions_cholesky_of


def _outer(x):
    return x[..., :, None] * x[..., None, :]


class GMMHMM(BaseHMM):
    """Hidden Markov model with Gaussian mixture emissions (hmmlearn's GMMHMM).

    The K states' n_mix components are evaluated together as one family of
    K * n_mix Gaussians by lvmfast's log-density kernels; the
    forward-backward runs on their per-state log-sum-exp, and the
    components' statistics are summed by the compiled posterior moments.

    Parameters
    ----------
    n_components : int
        Number of states.
    n_mix : int
        Number of Gaussian components per state.
    min_covar : float
        Added to the diagonal of the initial covariances.
    startprob_prior, transmat_prior : float or array
        Dirichlet priors of ``startprob_`` and of the rows of ``transmat_``.
    weights_prior : float or array of shape (n_components, n_mix)
        Dirichlet prior of the mixture weights.
    means_prior, means_weight : float or array
        Normal prior of the means.
    covars_prior, covars_weight : float, array or None
        Prior of the covariances (None: hmmlearn's defaults per type).
    algorithm : {"viterbi", "map"}
    covariance_type : {"spherical", "diag", "full", "tied"}
        'tied': the components of each state share one covariance.
    random_state : int, RandomState or None
    n_iter : int
    tol : float
    verbose : bool
    params, init_params : str
        Any of 's', 't', 'm', 'c', 'w' (weights).
    implementation : {"log", "scaling"}
        Accepted for compatibility.

    Attributes
    ----------
    monitor_ : ConvergenceMonitor
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    weights_ : ndarray of shape (n_components, n_mix)
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covars_ : ndarray
        (n_components, n_mix) spherical, (n_components, n_mix, n_features)
        diag, (n_components, n_mix, n_features, n_features) full,
        (n_components, n_features, n_features) tied.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast.hmm import GMMHMM
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2))]
    >>> model = GMMHMM(n_components=2, n_mix=2, random_state=0).fit(X)
    >>> model.means_.shape
    (2, 2, 2)
    """

    _emission_names = ("weights_", "means_", "covars_")

    def __init__(self, n_components=1, n_mix=1, min_covar=1e-3, startprob_prior=1.0, transmat_prior=1.0,
                 weights_prior=1.0, means_prior=0.0, means_weight=0.0, covars_prior=None, covars_weight=None,
                 algorithm="viterbi", covariance_type="diag", random_state=None, n_iter=10, tol=1e-2,
                 verbose=False, params="stmcw", init_params="stmcw", implementation="log"):
        super().__init__(n_components, startprob_prior=startprob_prior, transmat_prior=transmat_prior,
                         algorithm=algorithm, random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params, implementation=implementation)
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.n_mix = n_mix
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {self.covariance_type!r}")
        if not isinstance(self.n_mix, (int, np.integer)) or self.n_mix < 1:
            raise ValueError(f"n_mix must be a positive integer, got {self.n_mix!r}")

    def _get_n_fit_scalars_per_param(self):
        nc, nf, nm = self.n_components, self.n_features, self.n_mix
        return {"s": nc - 1, "t": nc * (nc - 1), "m": nc * nm * nf,
                "c": {"spherical": nc * nm, "diag": nc * nm * nf, "full": nc * nm * nf * (nf + 1) // 2,
                      "tied": nc * nf * (nf + 1) // 2}[self.covariance_type],
                "w": nm - 1}

    def _priors(self):
        """The priors broadcast to their shapes (hmmlearn's defaults for None covars priors)."""
        nc, nf, nm = self.n_components, self.n_features, self.n_mix
        defaults = {"full": (0.0, -(1.0 + nf + 1.0)), "tied": (0.0, -(nm + nf + 1.0)), "diag": (-1.5, 0.0),
                    "spherical": (-(nm + 2.0) / 2.0, 0.0)}[self.covariance_type]
        covars_prior = defaults[0] if self.covars_prior is None else self.covars_prior
        covars_weight = defaults[1] if self.covars_weight is None else self.covars_weight
        shapes = {"full": ((nc, nm, nf, nf), (nc, nm)), "tied": ((nc, nf, nf), (nc,)),
                  "diag": ((nc, nm, nf), (nc, nm, nf)), "spherical": ((nc, nm), (nc, nm))}[self.covariance_type]
        return dict(weights_prior=np.broadcast_to(np.asarray(self.weights_prior, float), (nc, nm)),
                    means_prior=np.broadcast_to(np.asarray(self.means_prior, float), (nc, nm, nf)),
                    means_weight=np.broadcast_to(np.asarray(self.means_weight, float), (nc, nm)),
                    covars_prior=np.broadcast_to(np.asarray(covars_prior, float), shapes[0]),
                    covars_weight=np.broadcast_to(np.asarray(covars_weight, float), shapes[1]))

    def _validate_X(self, X, reset):
        X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
        expected = getattr(self, "n_features", None)
        if not reset and hasattr(self, "means_"):
            expected = np.shape(self.means_)[-1]
        if expected is not None and expected != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but the model expects {expected} (n_features)")
        if reset:
            self.n_features = X.shape[1]
        return X

    def _init_emissions(self, X, random_state):
        from lvmfast.cluster import KMeans

        nc, nf, nm = self.n_components, self.n_features, self.n_mix
        X64 = np.asarray(X, dtype=np.float64)

        def covariance():
            return np.atleast_2d(np.cov(X64.T)) + self.min_covar * np.eye(nf)

        cv = None
        if self._needs_init("m", "means_"):
            labels = KMeans(n_clusters=nc, random_state=random_state, n_init=10).fit_predict(X)
            centroid = X64.mean(axis=0)
            means = []
            for label in range(nc):
                rows = X64[labels == label]
                if rows.shape[0] >= nm:
                    means.append(KMeans(n_clusters=nm, random_state=random_state, n_init=10).fit(rows)
                                 .cluster_centers_.astype(np.float64))
                else:
                    cv = covariance() if cv is None else cv
                    means.append(random_state.multivariate_normal(centroid, cv, size=nm))
            self.means_ = np.stack(means)
        if self._needs_init("w", "weights_"):
            self.weights_ = np.full((nc, nm), 1.0 / nm)
        if self._needs_init("c", "covars_"):
            cv = covariance() if cv is None else cv
            if self.covariance_type == "tied":
                self.covars_ = np.tile(cv, (nc, 1, 1))
            elif self.covariance_type == "full":
                self.covars_ = np.tile(cv, (nc, nm, 1, 1))
            elif self.covariance_type == "diag":
                self.covars_ = np.tile(np.diag(cv), (nc, nm, 1))
            else:
                self.covars_ = np.full((nc, nm), cv.mean())

    def _check(self):
        super()._check()
        nc, nm = self.n_components, self.n_mix
        means = np.asarray(self.means_, dtype=np.float64)
        if not hasattr(self, "n_features") and means.ndim == 3:
            self.n_features = means.shape[2]
        nf = self.n_features
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {self.covariance_type!r}")
        weights = np.asarray(self.weights_, dtype=np.float64)
        if weights.shape != (nc, nm):
            raise ValueError(f"weights_ must have shape (n_components, n_mix), actual shape: {weights.shape}")
        _check_finite("weights_", weights)
        _check_sum_1("weights_", weights)
        if means.shape != (nc, nm, nf):
            raise ValueError(f"means_ must have shape (n_components, n_mix, n_features), actual shape: "
                             f"{means.shape}")
        _check_finite("means_", means)
        covars = np.asarray(self.covars_, dtype=np.float64)
        needed = {"spherical": (nc, nm), "tied": (nc, nf, nf), "diag": (nc, nm, nf),
                  "full": (nc, nm, nf, nf)}[self.covariance_type]
        if covars.shape != needed:
            raise ValueError(f"{self.covariance_type!r} mixture covars must have shape {needed}, actual shape: "
                             f"{covars.shape}")
        _check_finite("covars_", covars)
        if self.covariance_type in ("spherical", "diag"):
            if np.any(covars < 0):
                raise ValueError(f"{self.covariance_type!r} mixture covars must be non-negative")
        else:
            for index, covar in np.ndenumerate(np.empty(covars.shape[:-2])):
                matrix = covars[index]
                if not np.allclose(matrix, matrix.T):
                    raise ValueError(f"Covariance of state #{index[0]} is not symmetric")
                if linalg.eigvalsh(matrix).min() < 0:
                    raise ValueError(f"Covariance of state #{index[0]} is not positive definite")
        self.weights_, self.means_, self.covars_ = weights, means, covars

    def _component_log_densities(self, X):
        """log(w_km N(x | m_km, C_km)) for the K * n_mix components: (n_samples, K * n_mix)."""
        nc, nm, nf = self.n_components, self.n_mix, self.n_features
        means = self.means_.reshape(nc * nm, nf)
        covars = self.covars_
        if self.covariance_type in ("spherical", "diag"):
            kind = self.covariance_type
            chol = 1.0 / np.sqrt(np.maximum(covars.reshape(nc * nm, -1), np.finfo(float).tiny))
            chol = chol[:, 0] if kind == "spherical" else chol
        else:
            kind = "full"
            stack = np.repeat(covars, nm, axis=0) if self.covariance_type == "tied" else covars.reshape(-1, nf, nf)
            chol = precisions_cholesky_of(stack)
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights_).ravel()
        shift = means.mean(axis=0).astype(X.dtype)
        return _gaussian.log_prob(X, shift, means, chol, kind, log_weights=log_weights)

    def _state_log_densities(self, components):
        n_samples = components.shape[0]
        with np.errstate(under="ignore"):
            return np.ascontiguousarray(logsumexp(components.reshape(n_samples, self.n_components, self.n_mix),
                                                  axis=2))

    def _compute_log_likelihood(self, X):
        return self._log_emissions(X)

    def _log_emissions(self, X):
        return self._state_log_densities(self._component_log_densities(X))

    def _fit_emissions(self, X):
        components = self._component_log_densities(X)
        frame = self._state_log_densities(components)
        return frame, (components, frame.copy())

    def _emission_statistics(self, X, posteriors, sequences, extra):
        components, frame = extra
        n_samples = X.shape[0]
        nc, nm, nf = self.n_components, self.n_mix, self.n_features
        # the components' posteriors: p(state k | x) p(component m | state k, x)
        with np.errstate(under="ignore", invalid="ignore"):
            within = np.exp(components.reshape(n_samples, nc, nm) - frame[:, :, None])
        within = np.where(np.isfinite(within), within, 0.0)
        resp = np.ascontiguousarray((posteriors[:, :, None] * within).reshape(n_samples, nc * nm), dtype=X.dtype)
        shift = self.means_.reshape(-1, nf).mean(axis=0).astype(X.dtype)
        moments = kernels.Moments.MOMENTS_NONE
        if "c" in self.params:
            moments = (kernels.Moments.MOMENTS_SQUARES if self.covariance_type in ("spherical", "diag")
                       else kernels.Moments.MOMENTS_OUTER)
        nk, s1, s2 = posterior_moments(X, shift, resp, moments)
        shift = shift.astype(np.float64)
        stats = {"post_mix_sum": nk.reshape(nc, nm), "post_sum": posteriors.sum(axis=0, dtype=np.float64),
                 "sum_x": (s1 + nk[:, None] * shift).reshape(nc, nm, nf)}
        if s2 is not None:
            # moved from around the shift to around the current means (hmmlearn's c_n)
            offset = self.means_.reshape(-1, nf) - shift
            if moments == kernels.Moments.MOMENTS_SQUARES:
                around = s2 - 2 * s1 * offset + nk[:, None] * offset**2
                around = around.reshape(nc, nm, nf)
                stats["c_n"] = around.sum(axis=-1) if self.covariance_type == "spherical" else around
            else:
                cross = s1[:, :, None] * offset[:, None, :]
                around = s2 - cross - np.swapaxes(cross, 1, 2) + nk[:, None, None] * _outer(offset)
                around = around.reshape(nc, nm, nf, nf)
                stats["c_n"] = around.sum(axis=1) if self.covariance_type == "tied" else around
        return stats

    def _emission_m_step(self, stats):
        nf, nm = self.n_features, self.n_mix
        priors = self._priors()
        visited = stats["post_sum"] > 0  # a state no step visits keeps its parameters
        if "w" in self.params:
            alphas_minus_one = priors["weights_prior"] - 1
            w_n = stats["post_mix_sum"] + alphas_minus_one
            w_d = (stats["post_sum"] + alphas_minus_one.sum(axis=1))[:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                weights = w_n / w_d
            self.weights_ = np.where(visited[:, None], weights, self.weights_)
        if "m" in self.params:
            m_n = priors["means_weight"][:, :, None] * priors["means_prior"] + stats["sum_x"]
            m_d = stats["post_mix_sum"] + priors["means_weight"]
            m_d = np.where((self.weights_ == 0) & (m_n == 0).all(axis=-1), 1, m_d)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = m_n / m_d[:, :, None]
            self.means_ = np.where(np.isfinite(means), means, self.means_)
        if "c" in self.params:
            lambdas, mus = priors["means_weight"], priors["means_prior"]
            centered_means = self.means_ - mus
            alphas, betas = priors["covars_prior"], priors["covars_weight"]
            if self.covariance_type == "full":
                c_n = np.swapaxes(alphas, 2, 3) + lambdas[:, :, None, None] * _outer(centered_means) + stats["c_n"]
                c_d = (stats["post_mix_sum"] + 1 + betas + nf + 1)[:, :, None, None]
            elif self.covariance_type == "diag":
                c_n = lambdas[:, :, None] * centered_means**2 + 2 * betas + stats["c_n"]
                c_d = stats["post_mix_sum"][:, :, None] + 1 + 2 * (alphas + 1)
            elif self.covariance_type == "spherical":
                c_n = lambdas * np.einsum("...i,...i", centered_means, centered_means) + 2 * betas + stats["c_n"]
                c_d = nf * (stats["post_mix_sum"] + 1) + 2 * (alphas + 1)
            else:
                c_n = np.einsum("ij,ijkl->ikl", lambdas, _outer(centered_means)) + np.swapaxes(alphas, 1, 2)
                c_n = c_n + stats["c_n"]
                c_d = (stats["post_sum"] + nm + betas + nf + 1)[:, None, None]
            covars = c_n / c_d
            mask = visited.reshape((-1,) + (1,) * (covars.ndim - 1))
            self.covars_ = np.where(mask & np.isfinite(covars), covars, self.covars_)

    def _generate_samples(self, states, random_state):
        X = np.empty((states.size, self.n_features))
        for t, state in enumerate(states):
            mix = random_state.choice(self.n_mix, p=self.weights_[state])
            if self.covariance_type == "tied":
                cov = self.covars_[state]
            elif self.covariance_type == "full":
                cov = self.covars_[state, mix]
            elif self.covariance_type == "diag":
                cov = np.diag(self.covars_[state, mix])
            else:
                cov = self.covars_[state, mix] * np.eye(self.n_features)
            X[t] = random_state.multivariate_normal(self.means_[state, mix], cov)
        return X
