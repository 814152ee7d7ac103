"""Clustering: k-means, its k-means++ seeding, and mini-batch k-means."""
from lvmfast.cluster._kmeans import KMeans, k_means, kmeans_plusplus
from lvmfast.cluster._minibatch import MiniBatchKMeans

__all__ = ["KMeans", "MiniBatchKMeans", "k_means", "kmeans_plusplus"]
