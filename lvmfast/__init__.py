"""lvmfast: latent variable models (k-means, Gaussian mixtures, Gaussian
classifiers) with scikit-learn's interface, compiled kernels and OpenMP."""
from lvmfast._parallel import openmp_enabled
from lvmfast.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus
from lvmfast.hmm import CategoricalHMM, GaussianHMM, GMMHMM
from lvmfast.mixture import BayesianGaussianMixture, GaussianMixture, GaussianMixtureIC
from lvmfast.naive_bayes import GaussianClassifier, GaussianNB

__version__ = "0.1.0"
__all__ = [
    "BayesianGaussianMixture", "CategoricalHMM", "GaussianClassifier", "GaussianHMM", "GMMHMM", "GaussianMixture", "GaussianMixtureIC", "GaussianNB", "KMeans", "MiniBatchKMeans", "kmeans_plusplus",
    "openmp_enabled", "__version__",
]
