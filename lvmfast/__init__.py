"""lvmfast: latent variable models (k-means, Gaussian mixtures, Gaussian
classifiers) with scikit-learn's interface, compiled kernels and OpenMP."""
from lvmfast._parallel import openmp_enabled
from lvmfast.decomposition import FactorAnalysis
from lvmfast.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus
from lvmfast.hmm import CategoricalHMM, GaussianHMM, GMMHMM
from lvmfast.mixture import BayesianGaussianMixture, GaussianMixture, GaussianMixtureIC, MixtureOfFactorAnalyzers
from lvmfast.naive_bayes import GaussianClassifier, GaussianNB
from lvmfast.neighbors import KernelDensity

__version__ = "0.1.0"
__all__ = [
    "BayesianGaussianMixture", "CategoricalHMM", "FactorAnalysis", "GaussianClassifier", "GaussianHMM", "GMMHMM",
    "GaussianMixture", "GaussianMixtureIC", "GaussianNB", "KernelDensity", "KMeans", "MiniBatchKMeans",
    "MixtureOfFactorAnalyzers", "kmeans_plusplus",
    "openmp_enabled", "__version__",
]
