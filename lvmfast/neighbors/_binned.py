"""The binned Gaussian KDE for one to three features: linear binning of the
weighted rows onto a regular grid, then one FFT convolution with the kernel
sampled on the grid (KDEpy's FFTKDE scheme); points are scored by
multilinear interpolation of the grid's density. The error bound is derived
in lvmfast.KernelDensity's Notes."""
import math

import numpy as np
from scipy.signal import fftconvolve

from lvmfast._kernels._kde import linear_binning

__all__ = ["BinnedDensity", "MAX_BINNED_FEATURES", "DEFAULT_GRID_SIZE"]

MAX_BINNED_FEATURES = 3
# Grid points per feature when grid_size is None, by the number of features.
DEFAULT_GRID_SIZE = {1: 4096, 2: 512, 3: 64}
# The kernel is cut where it falls below this fraction of its peak.
TRUNCATION = 1e-12


def cell_corners(x, low, spacing, shape):
    """For points x (n x D, inside the grid) the 2^D corners of each one's
    grid cell: pairs (flat index into the grid, multilinear weight), the
    weights of a point summing to 1 and their weighted mean being the point."""
    n_features = x.shape[1]
    position = (x - low) / spacing
    cell = np.clip(np.floor(position).astype(np.int64), 0, np.asarray(shape) - 2)
    frac = position - cell
    strides = np.cumprod((1,) + tuple(shape[:0:-1]))[::-1]  # C order
    for corner in range(2**n_features):
        index = np.zeros(x.shape[0], dtype=np.int64)
        weight = np.ones(x.shape[0])
        for d in range(n_features):
            upper = (corner >> d) & 1
            index += (cell[:, d] + upper) * strides[d]
            weight *= frac[:, d] if upper else 1.0 - frac[:, d]
        yield index, weight


class BinnedDensity:
    """The Gaussian KDE of the rows X - shift (weights None: equal; any
    positive total) with bandwidth h on a regular grid reaching the kernel's
    cut-off radius beyond the data, in the frame centered by shift."""

    def __init__(self, X, shift, weights, bandwidth, grid_size=None):
        n_features = X.shape[1]
        size = DEFAULT_GRID_SIZE[n_features] if grid_size is None else int(grid_size)
        h = float(bandwidth)
        radius = h * math.sqrt(2.0 * math.log(1.0 / TRUNCATION))
        self.low = X.min(axis=0) - shift - radius
        high = X.max(axis=0) - shift + radius
        self.shape = (size,) * n_features
        self.spacing = (high - self.low) / (size - 1)
        self.high = self.low + self.spacing * (size - 1)
        binned = np.zeros(size**n_features)
        total = len(X) if weights is None else float(weights.sum())
        linear_binning(X, shift, weights, total, self.low, self.spacing, size, binned)
        # the normalized kernel on the grid's offsets, out to the cut-off radius
        reach = [min(int(math.ceil(radius / s)), size - 1) for s in self.spacing]
        offsets = np.meshgrid(*[np.arange(-r, r + 1) * s for r, s in zip(reach, self.spacing)], indexing="ij")
        peak = (2 * math.pi) ** (-n_features / 2) * h**-n_features
        kernel = peak * np.exp(-sum(o**2 for o in offsets) / (2 * h * h))
        density = fftconvolve(binned.reshape(self.shape), kernel, mode="same")
        self.density = np.maximum(density, 0.0)  # the FFT's rounding can leave tiny negatives
        self.error_bound = peak * (float(np.sum(self.spacing**2)) / (4 * h * h) + TRUNCATION)

    def axes(self, shift):
        """The grid's coordinates per feature, in the data's frame."""
        return [self.low[d] + shift[d] + self.spacing[d] * np.arange(n) for d, n in enumerate(self.shape)]

    def log_density(self):
        with np.errstate(divide="ignore"):
            return np.log(self.density)

    def log_density_at(self, X, shift):
        """log density at the rows of X by multilinear interpolation; NaN for
        rows outside the grid (the caller scores those exactly)."""
        x = np.asarray(X, dtype=np.float64) - shift
        inside = np.all((x >= self.low) & (x <= self.high), axis=1)
        result = np.full(x.shape[0], np.nan)
        values = np.zeros(int(inside.sum()))
        flat = self.density.ravel()
        for index, weight in cell_corners(x[inside], self.low, self.spacing, self.shape):
            values += weight * flat[index]
        with np.errstate(divide="ignore"):
            result[inside] = np.log(values)
        return result
