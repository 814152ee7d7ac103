"""Mixture models: Gaussian mixtures fit by EM and by variational
inference, and the choice of a mixture's size by BIC or AIC."""
from lvmfast.mixture._bayesian_mixture import BayesianGaussianMixture
from lvmfast.mixture._gaussian_mixture import GaussianMixture
from lvmfast.mixture._selection import GaussianMixtureIC

__all__ = ["BayesianGaussianMixture", "GaussianMixture", "GaussianMixtureIC"]
