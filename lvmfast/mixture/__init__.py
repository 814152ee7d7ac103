"""Mixture models: Gaussian mixtures fit by EM and by variational
inference, mixtures of factor analyzers, and the choice of a mixture's size by BIC or AIC."""
from lvmfast.mixture._bayesian_mixture import BayesianGaussianMixture
from lvmfast.mixture._factor_analyzers import MixtureOfFactorAnalyzers
from lvmfast.mixture._gaussian_mixture import GaussianMixture
from lvmfast.mixture._selection import GaussianMixtureIC

__all__ = ["BayesianGaussianMixture", "GaussianMixture", "GaussianMixtureIC", "MixtureOfFactorAnalyzers"]
