"""KernelDensity: scikit-learn's interface, evaluated exactly by the compiled
GEMM kernel (lvmfast._kernels._kde) or, for one to three features, on a
binned grid by FFT (lvmfast.neighbors._binned)."""
from numbers import Integral, Real

import numpy as np
from scipy.special import gammainc
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from lvmfast._kernels._kde import kde_log_sums
from lvmfast._parallel import blas_single_thread, threads_for_work
from lvmfast._validation import unchanged_on_error
from lvmfast.neighbors._binned import BinnedDensity, MAX_BINNED_FEATURES
from lvmfast.neighbors._kernels import KERNELS, kernel_code, log_kernel_norm

__all__ = ["KernelDensity"]

# Query rows per thread's chunk and training rows per block: the chunk's
# dot products with a block (CHUNK_ROWS x BLOCK_ROWS doubles, 512 KiB) stay
# in a core's L2 while the kernel and the sum read them.
CHUNK_ROWS = 128
BLOCK_ROWS = 512
# Up to this many features the dot products are formed in the kernel's own
# vector pass (as fast as the gemm at 8 features, faster below).
FUSED_FEATURES = 8
# The exact evaluation's guard: the norm expansion may move the Gaussian's
# exponent (or a kernel's argument) by at most this before a row is
# recomputed by direct differences (see lvmfast._kernels._kde).
EXPANSION_TOLERANCE = 1e-11
# 'minkowski' with p = 2 is the Euclidean distance.
EUCLIDEAN_METRICS = ("euclidean", "l2", "minkowski")


def _check_metric(metric, metric_params):
    """The Euclidean metric under any of its names; others refused."""
    params = dict(metric_params or {})
    if metric not in EUCLIDEAN_METRICS:
        raise ValueError(
            f"KernelDensity: invalid metric {metric!r}: lvmfast evaluates Euclidean distances only; use "
            f"metric='euclidean' (or 'minkowski' with p=2)."
        )
    p = params.pop("p", 2)
    if metric == "minkowski" and p != 2:
        raise ValueError(
            f"KernelDensity: invalid metric 'minkowski' with p={p!r}: lvmfast evaluates Euclidean distances "
            "only (p=2)."
        )
    if params:
        raise ValueError(
            f"KernelDensity: metric_params {sorted(params)} do not apply to the Euclidean metric; expected "
            f"None (or {{'p': 2}} with 'minkowski'), got {metric_params!r}."
        )


def _bandwidth_value(bandwidth, n_samples, n_features):
    """The bandwidth as a number: scikit-learn's rules of thumb for
    'scott' and 'silverman' (data assumed of unit variance)."""
    if bandwidth == "scott":
        return n_samples ** (-1.0 / (n_features + 4))
    if bandwidth == "silverman":
        return (n_samples * (n_features + 2) / 4.0) ** (-1.0 / (n_features + 4))
    return float(bandwidth)


def exact_log_sums(X, shift, train, weights, log_weights, bandwidth, kernel, n_threads=None):
    """log sum_j w_j k(||X_i - shift - train_j|| / h) for every row of X
    (train centered by shift), exactly: the compiled kernel, OpenMP over
    chunks of X's rows with BLAS held to one thread."""
    X = np.ascontiguousarray(X)
    out = np.empty(X.shape[0], dtype=np.float64)
    work = X.shape[0] * train.shape[0] * (X.shape[1] + 8)
    with blas_single_thread():
        kde_log_sums(
            X, shift, train, log_weights, weights, float(bandwidth), kernel_code(kernel), EXPANSION_TOLERANCE,
            out, CHUNK_ROWS, BLOCK_ROWS, threads_for_work(work, n_threads), FUSED_FEATURES,
        )
    return out


class KernelDensity(BaseEstimator):
    """Kernel density estimation, exact at GEMM speed.

    The density at x is sum_j w_j K_h(x - t_j) over the training rows t_j
    (weights w_j summing to 1), for a radially symmetric kernel K_h of
    bandwidth h: scikit-learn's KernelDensity, with its parameters, kernels
    and normalization. lvmfast evaluates it exactly by default: query and
    training rows in blocks, squared distances by the norm expansion
    ||x||^2 + ||t||^2 - 2 x.t (one gemm per block), recomputed by direct
    differences for the rows where the expansion could lose digits, the
    kernel and the log-sum-exp fused with a running maximum, OpenMP over the
    query blocks. No query x training array is formed, float32 input stays
    float32, and the result does not depend on the number of threads.

    For one to three features, ``method='binned'`` evaluates on a grid
    instead: the weighted rows are spread onto a regular grid by linear
    binning and convolved with the kernel by FFT (as KDEpy's FFTKDE does),
    and points are scored by multilinear interpolation of the grid's
    density. Its absolute error in the density is at most
    ``density_error_bound_`` (see Notes).

    Parameters
    ----------
    bandwidth : float or {"scott", "silverman"}, default=1.0
        The kernel's bandwidth h (> 0), or the rule of thumb that sets it
        from the number of rows and features (scikit-learn's: the data are
        taken to have unit variance).
    algorithm : {"kd_tree", "ball_tree", "auto"}, default="auto"
        Accepted for compatibility with scikit-learn; the exact evaluation
        uses no tree, and the result does not depend on it.
    kernel : {"gaussian", "tophat", "epanechnikov", "exponential", "linear", \
"cosine"}, default="gaussian"
        The kernel.
    metric : str, default="euclidean"
        Only the Euclidean distance ('euclidean', 'l2', or 'minkowski' with
        p=2); any other metric is refused with a ValueError.
    atol, rtol : float, default=0
        The tolerance scikit-learn's tree search may use. The exact
        evaluation always meets it (it errs by rounding only); the binned
        one has its own bound (``density_error_bound_``).
    breadth_first : bool, default=True
        Accepted for compatibility; no effect.
    leaf_size : int, default=40
        Accepted for compatibility; no effect.
    metric_params : dict or None, default=None
        None, or ``{'p': 2}`` with metric='minkowski'.
    method : {"exact", "binned"}, default="exact"
        "exact": every training row against every query row, exact to
        rounding. "binned": linear binning onto a grid and an FFT
        convolution, Gaussian kernel and one to three features only.
    grid_size : int or None, default=None
        Grid points per feature for method='binned' (None: 4096 for one
        feature, 512 for two, 64 for three). More points lower the error
        bound as 1 / grid_size^2.

    Attributes
    ----------
    bandwidth_ : float
        The bandwidth used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when X has string column names.
    density_error_bound_ : float
        For method='binned': the bound on the absolute error of the density
        (not its log) that score_samples returns at points inside the grid,
        :math:`K_h(0) (\\sum_d \\delta_d^2 / (4 h^2) + 10^{-12})` with
        :math:`K_h(0) = (2 \\pi)^{-D/2} h^{-D}` the kernel's peak and
        :math:`\\delta_d` the grid spacing along feature d.
        0.0 for method='exact'.

    Notes
    -----
    The binned estimator's bound. Linear binning gives each row's weight to
    the corners of its grid cell so that the weight and its mean are kept;
    the density at a grid node is then off by the multilinear
    interpolation error of the kernel across the cell, at most
    :math:`\\sum_d (\\delta_d^2 / 8) \\sup |\\partial^2 K_h / \\partial x_d^2|
    = K_h(0) \\sum_d \\delta_d^2 / (8 h^2)` per unit weight (for the Gaussian,
    :math:`|\\partial^2 K_h / \\partial x_d^2|` peaks at u = 0 at
    :math:`K_h(0) / h^2`). Interpolating the grid's density at a point adds
    the interpolation error of the true density, bounded the same way, so a
    scored point errs by at most :math:`K_h(0) \\sum_d \\delta_d^2 / (4 h^2)`.
    The kernel is cut at the radius where it falls below :math:`10^{-12}` of
    its peak (the grid reaches that far beyond the data), which adds at most
    :math:`10^{-12} K_h(0)`.
    Points outside the grid are scored exactly.

    scikit-learn's normalization of the cosine kernel is wrong in an even
    number of dimensions (NaN in 4); lvmfast's is the exact one, and equals
    scikit-learn's in odd dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import KernelDensity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> kde = KernelDensity(bandwidth=0.5).fit(X)
    >>> kde.score_samples(np.zeros((1, 2))).round(2)
    array([-2.02])
    """

    _parameter_constraints: dict = {
        "bandwidth": [Interval(Real, 0, None, closed="neither"), StrOptions({"scott", "silverman"})],
        "algorithm": [StrOptions({"kd_tree", "ball_tree", "auto"})],
        "kernel": [StrOptions(set(KERNELS))],
        "metric": [str],
        "atol": [Interval(Real, 0, None, closed="left")],
        "rtol": [Interval(Real, 0, None, closed="left")],
        "breadth_first": ["boolean"],
        "leaf_size": [Interval(Integral, 1, None, closed="left")],
        "metric_params": [None, dict],
        "method": [StrOptions({"exact", "binned"})],
        "grid_size": [None, Interval(Integral, 4, None, closed="left")],
    }

    def __init__(
        self,
        *,
        bandwidth=1.0,
        algorithm="auto",
        kernel="gaussian",
        metric="euclidean",
        atol=0,
        rtol=0,
        breadth_first=True,
        leaf_size=40,
        metric_params=None,
        method="exact",
        grid_size=None,
    ):
        self.bandwidth = bandwidth
        self.algorithm = algorithm
        self.kernel = kernel
        self.metric = metric
        self.atol = atol
        self.rtol = rtol
        self.breadth_first = breadth_first
        self.leaf_size = leaf_size
        self.metric_params = metric_params
        self.method = method
        self.grid_size = grid_size

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Fit the kernel density model on the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, not all zero (None: equal).

        Returns
        -------
        self : KernelDensity
        """
        return self._fit(X, sample_weight)

    def _fit(self, X, sample_weight):
        _check_metric(self.metric, self.metric_params)
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        n_samples, n_features = X.shape
        if self.method == "binned":
            if n_features > MAX_BINNED_FEATURES:
                raise ValueError(
                    f"KernelDensity: method='binned' takes 1 to {MAX_BINNED_FEATURES} features, got {n_features}; "
                    "use method='exact'."
                )
            if self.kernel != "gaussian":
                raise ValueError(
                    f"KernelDensity: method='binned' takes kernel='gaussian' (the kernel its error bound holds "
                    f"for), got kernel={self.kernel!r}; use method='exact'."
                )
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True, allow_all_zero_weights=True
            )
            total = weights.sum()
            if not total > 0:
                raise ValueError("sample_weight: expected weights that sum to more than 0, got all zeros.")
            if not np.isfinite(total):
                raise ValueError(f"sample_weight: expected finite weights whose sum is finite, got sum {total}.")
        bandwidth = _bandwidth_value(self.bandwidth, n_samples, n_features)
        shift = X.mean(axis=0, dtype=np.float64)
        train = np.subtract(X, shift, dtype=np.float64)
        if weights is None:
            normalized = np.full(n_samples, 1.0 / n_samples)
            log_weights = np.full(n_samples, -np.log(n_samples))
        else:
            normalized = weights / total
            with np.errstate(divide="ignore"):
                log_weights = np.log(normalized)
        grid = None
        if self.method == "binned":
            grid = BinnedDensity(X, shift, weights, bandwidth, self.grid_size)
        # all checks passed: the fitted state, assigned together
        self.bandwidth_ = bandwidth
        self._shift = shift
        self._train = train
        self._weights = normalized
        self._log_weights = log_weights
        self._sample_weight = weights
        self._grid = grid
        self._log_norm = log_kernel_norm(bandwidth, n_features, self.kernel)
        self.density_error_bound_ = 0.0 if grid is None else grid.error_bound
        return self

    def score_samples(self, X):
        """Log of the density at each row of X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Points to score.

        Returns
        -------
        log_density : ndarray of shape (n_queries,)
            log p(x) for each row, in X's dtype (float32 stays float32);
            -inf where the density is 0 (outside a bounded kernel's reach).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)
        if self._grid is not None:
            log_density = self._grid.log_density_at(X, self._shift)
            outside = np.isnan(log_density)  # beyond the grid: scored exactly
            if outside.any():
                log_density[outside] = self._exact_log_density(X[outside])
        else:
            log_density = self._exact_log_density(X)
        return log_density.astype(X.dtype, copy=False)

    def _exact_log_density(self, X):
        """log p at the rows of X by the exact evaluation."""
        return exact_log_sums(
            X, self._shift, self._train, self._weights, self._log_weights, self.bandwidth_, self.kernel
        ) + self._log_norm

    def score(self, X, y=None):
        """Total log-likelihood of the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Points to score.
        y : None
            Ignored.

        Returns
        -------
        logprob : float
            sum of score_samples(X) (-inf where a point has density 0).
        """
        return float(np.sum(self.score_samples(X), dtype=np.float64))

    def score_grid(self):
        """The log density on the binned estimator's grid.

        Returns
        -------
        axes : list of ndarray
            The grid's coordinates along each feature.
        log_density : ndarray of shape (len(axes[0]), ..., len(axes[-1]))
            log p at every grid point (-inf where the FFT's rounding left no
            positive density).
        """
        check_is_fitted(self)
        if self._grid is None:
            raise ValueError("score_grid: the grid exists for method='binned' only; fit with method='binned'.")
        return self._grid.axes(self._shift), self._grid.log_density()

    def sample(self, n_samples=1, random_state=None):
        """Draw points from the model (Gaussian and tophat kernels).

        Parameters
        ----------
        n_samples : int, default=1
            Number of points.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        if self.kernel not in ("gaussian", "tophat"):
            raise NotImplementedError(
                f"sample: drawing is implemented for the 'gaussian' and 'tophat' kernels, not {self.kernel!r}."
            )
        rng = check_random_state(random_state)
        data = self._train + self._shift
        # a training row per draw, by its weight: u in [0, 1) against the
        # cumulative weights (equal weights: row floor(u n))
        u = rng.uniform(0, 1, size=n_samples)
        if self._sample_weight is None:
            rows = (u * data.shape[0]).astype(np.int64)
        else:
            cumulative = np.cumsum(self._sample_weight)
            rows = np.searchsorted(cumulative, u * cumulative[-1])
        if self.kernel == "gaussian":
            return np.atleast_2d(rng.normal(data[rows], self.bandwidth_))
        # tophat: a point uniform in the ball of radius h around the row. z
        # is Gaussian, so |z|^2 is chi-square with D degrees of freedom and
        # gammainc(D / 2, |z|^2 / 2) is uniform on [0, 1]; its D-th root is
        # the radius of a uniform point of the unit ball, z / |z| its direction.
        dim = data.shape[1]
        z = rng.normal(size=(n_samples, dim))
        sq = np.einsum("ij,ij->i", z, z)
        scale = gammainc(0.5 * dim, 0.5 * sq) ** (1.0 / dim) * self.bandwidth_ / np.sqrt(sq)
        return data[rows] + z * scale[:, None]
