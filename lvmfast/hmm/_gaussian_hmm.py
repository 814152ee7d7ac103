"""GaussianHMM: a hidden Markov model with one Gaussian per state."""
import numpy as np
from scipy import linalg
from sklearn.utils.validation import check_array

from lvmfast import _gaussian
from lvmfast._kernels import _hmm as kernels
from lvmfast._parallel import blas_single_thread, plan_blocks, threads_for_work
from lvmfast.hmm._base import BaseHMM, _check_finite

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")
_MOMENTS = {"spherical": kernels.Moments.MOMENTS_SQUARES, "diag": kernels.Moments.MOMENTS_SQUARES,
            "full": kernels.Moments.MOMENTS_OUTER, "tied": kernels.Moments.MOMENTS_SCATTER}


def validate_covars(covars, covariance_type, n_components, name="covars_"):
    """covars in the form `covariance_type` keeps them (spherical (K,),
    diag (K, D), full (K, D, D), tied (D, D)), checked: finite, positive,
    symmetric positive definite."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")
    covars = np.array(covars, dtype=np.float64, copy=True)
    _check_finite(name, covars)
    if covariance_type == "spherical":
        if covars.size == 0 or len(covars) != n_components:
            raise ValueError(f"'spherical' {name} must have length n_components ({n_components}), got shape "
                             f"{covars.shape}")
        covars = covars.reshape(n_components, -1).mean(axis=1)
        if np.any(covars <= 0):
            raise ValueError(f"'spherical' {name} must be positive")
        return covars
    if covariance_type == "diag":
        if covars.ndim != 2 or covars.shape[0] != n_components:
            raise ValueError(f"'diag' {name} must have shape (n_components, n_features), got {covars.shape}")
        if np.any(covars <= 0):
            raise ValueError(f"'diag' {name} must be positive")
        return covars
    stack = covars[None] if covariance_type == "tied" else covars
    if stack.ndim != 3 or stack.shape[1] != stack.shape[2] or (
            covariance_type == "full" and stack.shape[0] != n_components):
        shape = "(n_features, n_features)" if covariance_type == "tied" else "(n_components, n_features, n_features)"
        raise ValueError(f"'{covariance_type}' {name} must have shape {shape}, got {covars.shape}")
    for k, cv in enumerate(stack):
        if not np.allclose(cv, cv.T) or np.any(linalg.eigvalsh(cv) <= 0):
            which = "" if covariance_type == "tied" else f"component {k} of "
            raise ValueError(f"{which}'{covariance_type}' {name} must be symmetric, positive-definite")
    return covars


def precisions_cholesky_of(covariances):
    """scikit-learn's precision Cholesky factors (the transposed inverse of
    each lower Cholesky factor) of a stack of D x D covariances. As hmmlearn,
    a covariance whose factorization fails gets 1e-7 on its diagonal; one
    that still fails is an error."""
    out = np.empty_like(covariances, dtype=np.float64)
    eye = np.eye(covariances.shape[-1])
    for k, cv in enumerate(covariances):
        try:
            lower = linalg.cholesky(cv, lower=True)
        except linalg.LinAlgError:
            try:
                lower = linalg.cholesky(cv + 1e-7 * eye, lower=True)
            except linalg.LinAlgError:
                raise ValueError("'covars' must be symmetric, positive-definite") from None
        inverse, info = linalg.lapack.dtrtri(lower, lower=1)  # far cheaper than solve_triangular at small D
        if info != 0:
            raise ValueError("'covars' must be symmetric, positive-definite")
        out[k] = inverse.T
    return out


def full_covariances(covars, covariance_type, n_components, n_features):
    """hmmlearn's covars_: every state's D x D covariance."""
    if covariance_type == "full":
        return covars
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covars])
    if covariance_type == "tied":
        return np.tile(covars, (n_components, 1, 1))
    return np.eye(n_features)[None] * np.ravel(covars)[:, None, None]


def posterior_moments(X, shift, posteriors, moments):
    """The rows' statistics weighted by the posteriors (n_samples, C), in the
    frame X - shift (shift in X's dtype), summed over fixed blocks of rows in
    block order: nk (C,), s1 (C, D) and s2 as `moments` (a
    kernels.Moments) says: (C, D) squares, (C, D, D) outer products, (D, D)
    scatter of all rows, or None."""
    n_samples, n_features = X.shape
    n_columns = posteriors.shape[1]
    s2_shape = {kernels.Moments.MOMENTS_SQUARES: (n_columns, n_features),
                kernels.Moments.MOMENTS_OUTER: (n_columns, n_features, n_features),
                kernels.Moments.MOMENTS_SCATTER: (n_features, n_features)}.get(moments)
    s2_size = int(np.prod(s2_shape)) if s2_shape else 0
    plan = plan_blocks(n_samples, row_bytes=(3 * n_features + n_columns) * X.itemsize,
                       stat_bytes=(n_columns * (n_features + 1) + s2_size) * 8)
    nk = np.empty((plan.n_blocks, n_columns))
    s1 = np.empty((plan.n_blocks, n_columns, n_features))
    s2 = np.empty((plan.n_blocks, max(s2_size, 1)))
    work = n_samples * n_columns * n_features * (n_features if moments == kernels.Moments.MOMENTS_OUTER else 2)
    with blas_single_thread():
        kernels.posterior_moments(X, shift, posteriors, moments, nk, s1, s2, plan.chunk_rows, plan.block_rows,
                                  threads_for_work(work))
    s2 = s2[:, :s2_size].sum(axis=0).reshape(s2_shape) if s2_shape else None
    return nk.sum(axis=0), s1.sum(axis=0), s2


class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions (hmmlearn's GaussianHMM).

    Forward-backward and Viterbi are compiled, parallel over sequences; the
    emission log-densities are lvmfast's Gaussian kernels (parallel over
    rows), and float32 data stays float32.

    Parameters
    ----------
    n_components : int
        Number of states.
    covariance_type : {"spherical", "diag", "full", "tied"}
        Form of the states' covariances.
    min_covar : float
        Added to the diagonal of the initial covariances.
    startprob_prior, transmat_prior : float or array
        Dirichlet priors of ``startprob_`` and of the rows of ``transmat_``.
    means_prior, means_weight : float or array
        Mean and precision (weight) of the Normal prior of ``means_``.
    covars_prior, covars_weight : float or array
        Inverse gamma (spherical, diag) or inverse Wishart (full, tied)
        prior of the covariances.
    algorithm : {"viterbi", "map"}
        Default decoder.
    random_state : int, RandomState or None
    n_iter : int
        Maximum number of EM iterations.
    tol : float
        EM stops when the log-likelihood gains less than tol.
    verbose : bool
        Report each iteration to stderr.
    params, init_params : str
        Any of 's' (startprob), 't' (transmat), 'm' (means), 'c' (covars):
        what EM updates / what is initialized before EM.
    implementation : {"log", "scaling"}
        Accepted for compatibility; the recursion is always scaled per step.

    Attributes
    ----------
    n_features : int
    monitor_ : ConvergenceMonitor
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    means_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray of shape (n_components, n_features, n_features)
        Every state's covariance (the stored form, `_covars_`, has
        hmmlearn's per-type shape).

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast.hmm import GaussianHMM
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(5, 1, (100, 2))]
    >>> model = GaussianHMM(n_components=2, random_state=0).fit(X)
    >>> model.predict(X).shape
    (200,)
    """

    _emission_names = ("means_", "_covars_")

    def __init__(self, n_components=1, covariance_type="diag", min_covar=1e-3, startprob_prior=1.0,
                 transmat_prior=1.0, means_prior=0, means_weight=0, covars_prior=1e-2, covars_weight=1,
                 algorithm="viterbi", random_state=None, n_iter=10, tol=1e-2, verbose=False, params="stmc",
                 init_params="stmc", implementation="log"):
        super().__init__(n_components, startprob_prior=startprob_prior, transmat_prior=transmat_prior,
                         algorithm=algorithm, random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params, implementation=implementation)
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    @property
    def covars_(self):
        """Every state's covariance matrix, (n_components, n_features, n_features)."""
        n_features = np.shape(self.means_)[1] if hasattr(self, "means_") else getattr(self, "n_features", 1)
        return full_covariances(self._covars_, self.covariance_type, self.n_components, n_features)

    @covars_.setter
    def covars_(self, covars):
        self._covars_ = validate_covars(covars, self.covariance_type, self.n_components)

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {self.covariance_type!r}")

    def _get_n_fit_scalars_per_param(self):
        nc, nf = self.n_components, self.n_features
        return {"s": nc - 1, "t": nc * (nc - 1), "m": nc * nf,
                "c": {"spherical": nc, "diag": nc * nf, "full": nc * nf * (nf + 1) // 2,
                      "tied": nf * (nf + 1) // 2}[self.covariance_type]}

    def _validate_X(self, X, reset):
        X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
        n_features = X.shape[1]
        expected = getattr(self, "n_features", None)
        if not reset and hasattr(self, "means_"):
            expected = np.shape(self.means_)[1]
        if expected is not None and expected != n_features:
            raise ValueError(f"X has {n_features} features, but the model expects {expected} (n_features)")
        if reset:
            self.n_features = n_features
        return X

    def _init_emissions(self, X, random_state):
        from lvmfast.cluster import KMeans

        if self._needs_init("m", "means_"):
            kmeans = KMeans(n_clusters=self.n_components, random_state=random_state, n_init=10)
            self.means_ = kmeans.fit(X).cluster_centers_.astype(np.float64)
        if self._needs_init("c", "covars_"):
            cv = np.atleast_2d(np.cov(X.T.astype(np.float64))) + self.min_covar * np.eye(X.shape[1])
            if self.covariance_type == "spherical":
                covars = np.full(self.n_components, cv.mean())
            elif self.covariance_type == "tied":
                covars = cv
            elif self.covariance_type == "diag":
                covars = np.tile(np.diag(cv), (self.n_components, 1))
            else:
                covars = np.tile(cv, (self.n_components, 1, 1))
            self._covars_ = covars.copy()

    def _needs_init(self, code, name):
        if name == "covars_":
            name = "_covars_"
        return super()._needs_init(code, name)

    def _check(self):
        super()._check()
        means = np.asarray(self.means_, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] != self.n_components:
            raise ValueError(f"means_ must have shape (n_components, n_features), got {means.shape}")
        _check_finite("means_", means)
        self.means_ = means
        self.n_features = means.shape[1]
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {self.covariance_type!r}")
        self._covars_ = validate_covars(self._covars_, self.covariance_type, self.n_components)
        dims = {"diag": np.shape(self._covars_)[-1], "full": np.shape(self._covars_)[-1],
                "tied": np.shape(self._covars_)[-1]}.get(self.covariance_type, self.n_features)
        if dims != self.n_features:
            raise ValueError(f"covars_ are for {dims} features but means_ for {self.n_features}")

    def _precisions_cholesky(self):
        """scikit-learn's precisions_cholesky_ of the covariances (as hmmlearn,
        a full covariance whose Cholesky factorization fails gets 1e-7 on its
        diagonal)."""
        covars = self._covars_
        if self.covariance_type in ("spherical", "diag"):
            return 1.0 / np.sqrt(np.maximum(covars, np.finfo(float).tiny))
        stack = covars[None] if self.covariance_type == "tied" else covars
        out = precisions_cholesky_of(stack)
        return out[0] if self.covariance_type == "tied" else out

    def _shift(self):
        return np.asarray(self.means_, dtype=np.float64).mean(axis=0)

    def _compute_log_likelihood(self, X):
        return self._log_emissions(X)

    def _log_emissions(self, X):
        return _gaussian.log_prob(X, self._shift().astype(X.dtype), self.means_, self._precisions_cholesky(),
                                  self.covariance_type)

    def _emission_statistics(self, X, posteriors, sequences, extra):
        if "m" not in self.params and "c" not in self.params:
            return {}
        moments = _MOMENTS[self.covariance_type] if "c" in self.params else kernels.Moments.MOMENTS_NONE
        shift = self._shift().astype(X.dtype)
        nk, s1, s2 = posterior_moments(X, shift, posteriors, moments)
        stats = {"shift": shift.astype(np.float64), "post": nk, "s1": s1}
        if s2 is not None:
            stats["s2"] = s2
        return stats

    def _emission_m_step(self, stats):
        if "post" not in stats:
            return
        shift, post, s1 = stats["shift"], stats["post"], stats["s1"]
        visited = post > 0  # a state no step visits keeps its parameters
        means_prior = np.asarray(self.means_prior, dtype=np.float64)
        means_weight = np.asarray(self.means_weight, dtype=np.float64)
        if means_weight.ndim == 1:
            means_weight = means_weight[:, None]
        centered = self.means_ - shift
        if "m" in self.params:
            with np.errstate(invalid="ignore", divide="ignore"):
                new = (means_weight * (means_prior - shift) + s1) / (means_weight + post[:, None])
            centered = np.where(visited[:, None] & np.isfinite(new), new, centered)
        means = centered + shift
        if "c" in self.params:
            covars_prior = np.asarray(self.covars_prior, dtype=np.float64)
            covars_weight = np.asarray(self.covars_weight, dtype=np.float64)
            meandiff = means - means_prior
            mw = means_weight.reshape(-1, 1) if means_weight.ndim else means_weight
            if self.covariance_type in ("spherical", "diag"):
                c_n = mw * meandiff**2 + stats["s2"] - 2 * centered * s1 + centered**2 * post[:, None]
                c_d = np.maximum(covars_weight - 1, 0) + post[:, None]
                covars = (covars_prior + c_n) / np.maximum(c_d, 1e-5)
                if self.covariance_type == "spherical":
                    covars = covars.mean(axis=1)
                    keep = self._covars_
                    covars = np.where(visited, covars, keep)
                else:
                    covars = np.where(visited[:, None], covars, self._covars_)
            else:
                mw3 = np.asarray(mw, dtype=np.float64).reshape(-1, 1, 1) if np.ndim(mw) else mw
                prior_term = mw3 * meandiff[:, :, None] * meandiff[:, None, :]
                cross = s1[:, :, None] * centered[:, None, :]
                around_means = (- cross - np.swapaxes(cross, 1, 2)
                                + post[:, None, None] * centered[:, :, None] * centered[:, None, :])
                cvweight = np.maximum(covars_weight - self.n_features, 0)
                if self.covariance_type == "tied":
                    c_n = prior_term.sum(axis=0) + stats["s2"] + around_means.sum(axis=0)
                    covars = (covars_prior + c_n) / (cvweight + post.sum())
                else:
                    c_n = prior_term + stats["s2"] + around_means
                    covars = (covars_prior + c_n) / (cvweight + post[:, None, None])
                    covars = np.where(visited[:, None, None], covars, self._covars_)
            self._covars_ = covars
        self.means_ = means

    def _generate_samples(self, states, random_state):
        covars = self.covars_
        X = np.empty((states.size, self.n_features))
        for k in range(self.n_components):
            rows = np.flatnonzero(states == k)
            if rows.size:
                X[rows] = random_state.multivariate_normal(self.means_[k], covars[k], size=rows.size)
        return X
