"""Clustering: k-means, its k-means++ seeding, and mini-batch k-means."""
from lvmfast.cluster._kmeans import KMeans, k_means
from lvmfast.cluster._minibatch import MiniBatchKMeans
from lvmfast.cluster._seeding import kmeans_plusplus

__all__ = ["KMeans", "MiniBatchKMeans", "k_means", "kmeans_plusplus"]
