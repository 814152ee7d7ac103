"""The kernels of kernel density estimation: their names, their codes in the
compiled kernel, and their normalization in D dimensions.

Each kernel is k(u) of u = ||x - t|| / h with k(0) = 1 (scikit-learn's
kernels), so the density of one training row is k(||x - t|| / h) / Z with
Z = h^D integral of k(||u||) over R^D = h^D S_{D-1} integral_0^inf r^(D-1) k(r) dr,
S_{D-1} = 2 pi^(D/2) / Gamma(D/2) the area of the unit sphere:

    gaussian      exp(-u^2 / 2)      Z = (2 pi)^(D/2) h^D
    tophat        1, u < 1           Z = V_D h^D          (V_D = S_{D-1} / D)
    epanechnikov  1 - u^2, u < 1     Z = V_D h^D 2 / (D + 2)
    exponential   exp(-u)            Z = S_{D-1} Gamma(D) h^D
    linear        1 - u, u < 1       Z = V_D h^D / (D + 1)
    cosine        cos(pi u / 2), u < 1   Z = S_{D-1} C_{D-1} h^D
with C_n = integral_0^1 r^n cos(pi r / 2) dr (see cosine_moment).
"""
import math

from scipy.special import gammaln

from lvmfast._kernels._kde import KERNEL_CODES

__all__ = ["KERNELS", "kernel_code", "log_kernel_norm", "cosine_moment"]

KERNELS = KERNEL_CODES


def kernel_code(kernel):
    """The compiled kernel's code of a kernel name."""
    return KERNEL_CODES.index(kernel)


def _log_sphere_area(n_features):
    """log S_{D-1}, the area of the unit sphere in R^D."""
    return math.log(2.0) + 0.5 * n_features * math.log(math.pi) - gammaln(0.5 * n_features)


def _log_ball_volume(n_features):
    """log V_D, the volume of the unit ball in R^D."""
    return 0.5 * n_features * math.log(math.pi) - gammaln(0.5 * n_features + 1)


def cosine_moment(n):
    """C_n = integral_0^1 r^n cos(a r) dr with a = pi / 2. By parts, with
    sin(a) = 1 and cos(a) = 0: C_0 = 1 / a, C_n = (1 - n S_{n-1}) / a, and
    S_m = integral_0^1 r^m sin(a r) dr = m C_{m-1} / a (m >= 1), S_0 = 1 / a."""
    a = 0.5 * math.pi
    c_prev, s_prev = 1.0 / a, 1.0 / a  # C_0, S_0
    for m in range(1, n + 1):
        c = (1.0 - m * s_prev) / a  # C_m, from S_{m-1}
        s_prev = m * c_prev / a  # S_m, from C_{m-1}
        c_prev = c
    return c_prev


def log_kernel_norm(bandwidth, n_features, kernel):
    """-log Z: what the log of a kernel's unit-peak sum gains to be a density."""
    d = n_features
    if kernel == "gaussian":
        log_z = 0.5 * d * math.log(2 * math.pi)
    elif kernel == "tophat":
        log_z = _log_ball_volume(d)
    elif kernel == "epanechnikov":
        log_z = _log_ball_volume(d) + math.log(2.0 / (d + 2))
    elif kernel == "exponential":
        log_z = _log_sphere_area(d) + gammaln(d)
    elif kernel == "linear":
        log_z = _log_ball_volume(d) - math.log(d + 1)
    elif kernel == "cosine":
        log_z = _log_sphere_area(d) + math.log(cosine_moment(d - 1))
    else:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    return -(log_z + d * math.log(bandwidth))
