"""Mixture models: Gaussian mixtures fit by EM and by variational inference."""
from lvmfast.mixture._bayesian_mixture import BayesianGaussianMixture
from lvmfast.mixture._gaussian_mixture import GaussianMixture

__all__ = ["BayesianGaussianMixture", "GaussianMixture"]
