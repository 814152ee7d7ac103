"""Clustering: k-means and its k-means++ seeding."""
from lvmfast.cluster._kmeans import KMeans, kmeans_plusplus

__all__ = ["KMeans", "kmeans_plusplus"]
