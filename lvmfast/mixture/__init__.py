"""Mixture models: Gaussian mixtures fit by EM."""
from lvmfast.mixture._gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixture"]
