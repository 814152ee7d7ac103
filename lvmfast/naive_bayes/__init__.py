"""Gaussian generative classifiers: a mixture whose latent class is observed."""
from lvmfast.naive_bayes._gaussian import GaussianClassifier, GaussianNB

__all__ = ["GaussianClassifier", "GaussianNB"]
