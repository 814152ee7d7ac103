"""The frame the dense k-means kernels work in: rows minus a per-feature shift.

The shift is the data mean rounded, per feature, to a multiple of a power of
two q near 2^-10 times the feature's standard deviation. That moves it by at
most q / 2 (far below the spread, so the distance expansion keeps its
precision), and makes centering exact for data on a grid of powers of two
(integers: pixels, counts; binary fixed point): when x and the shift are both
multiples of min(q, grid) and |x - shift| < 2^p min(q, grid) (p = 53 for
float64, 24 for float32), x - shift is exact. Distances between such rows and
such centers (initial centers drawn from the rows, or given on the grid) are
then computed in the centered frame exactly as in the original one wherever
the squared differences and their sums are exact (integers below 2^53, or
2^24 for float32), so an exact tie stays an exact tie and goes to the lowest
center index, as an exact argmin does. Off the grid (general float data)
nothing is exact in either frame and ties are decided by the proven scores
and direct differences of the centered rows.

Below the frame's reach: data whose squared spread underflows its dtype
(check_squared_spread), which every k-means entry point refuses.
"""
import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.sparsefuncs import min_max_axis

from lvmfast._validation import feature_mean_variance


def centering_shift(mean, variance, dtype):
    """The shift for features of the given mean and variance (float64
    arrays), in `dtype`: the mean where the variance is 0 or not finite, else
    the mean rounded to a multiple of 2^(floor(log2(std)) - 10)."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.sqrt(np.asarray(variance, dtype=np.float64))
    usable = np.isfinite(std) & (std > 0)
    exponent = np.floor(np.log2(np.where(usable, std, 1.0))) - 10
    # rounding to a multiple of a power of two is exact in float64 (a scaling)
    rounded = np.ldexp(np.round(np.ldexp(mean, -exponent.astype(int))), exponent.astype(int))
    return np.where(usable & np.isfinite(rounded), rounded, mean).astype(dtype)


def dense_centering_shift(X):
    """centering_shift for the features of a dense X."""
    mean, variance = feature_mean_variance(X)
    return centering_shift(mean, variance, X.dtype)


def squared_spread_underflows(variance, dtype, is_constant):
    """Whether squared distances of data with these per-feature variances
    underflow `dtype`: the variances sum below its smallest normal number
    (float32: spreads near 1e-19 and below; float64: near 1e-154) and the
    data is not constant. is_constant() says whether it is, called only
    when the variances sum to 0 (which a spread near 1e-160 gives too)."""
    total = float(np.sum(variance, dtype=np.float64))
    if total >= float(np.finfo(dtype).tiny):
        return False
    return total > 0.0 or not is_constant()


def check_squared_spread(variance, dtype, is_constant):
    """Refuse data whose squared distances underflow its dtype
    (squared_spread_underflows). k-means compares squared distances computed
    in X's dtype; subnormal or zero squares decide the labels by underflow,
    differently on each path (lloyd, elkan, the seedings). With
    scikit-learn's assume_finite configuration, nothing is checked (as in
    lvmfast._validation.check_scale)."""
    if get_config()["assume_finite"] or not squared_spread_underflows(variance, dtype, is_constant):
        return
    dtype = np.dtype(dtype)
    total = float(np.sum(variance, dtype=np.float64))
    hint = " or pass X as float64" if dtype == np.float32 else ""
    variances = f"sum to {total:.3g}" if total > 0 else "underflow to 0"
    raise ValueError(
        f"X's spread is too small for {dtype.name}: its per-feature variances {variances}, below the "
        f"smallest normal {dtype.name} number {float(np.finfo(dtype).tiny):.3g}, so the squared distances "
        f"k-means compares underflow (to 0 or a few bits) and the labels would be arbitrary. Scale the data "
        f"(for example standardize it){hint}."
    )


def is_constant(X):
    """Whether every row of a dense or CSR X is the same."""
    if X.shape[0] == 0:
        return True
    if sp.issparse(X):
        low, high = min_max_axis(X, axis=0)
    else:
        low, high = X.min(axis=0), X.max(axis=0)
    return bool(np.array_equal(low, high))

