"""lvmfast: latent variable models (k-means, Gaussian mixtures, Gaussian
classifiers) with scikit-learn's interface, compiled kernels and OpenMP."""
from lvmfast._parallel import openmp_enabled
from lvmfast.cluster import KMeans, kmeans_plusplus
from lvmfast.mixture import GaussianMixture

__version__ = "0.1.0"
__all__ = ["GaussianMixture", "KMeans", "kmeans_plusplus", "openmp_enabled", "__version__"]
