"""Clustering: k-means and its k-means++ seeding."""
from lvmfast.cluster._kmeans import KMeans, k_means, kmeans_plusplus

__all__ = ["KMeans", "k_means", "kmeans_plusplus"]
