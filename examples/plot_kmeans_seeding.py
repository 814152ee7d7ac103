"""
Seeding k-means: k-means++ and k-means||
========================================

Lloyd's iterations only move centers downhill, so where they start decides
where they end. Greedy k-means++ (Arthur and Vassilvitskii, 2007) draws the
seeds one at a time, each with probability proportional to the squared
distance to the nearest seed so far: K passes over the data. k-means||
(Bahmani et al., 2012) draws about ``oversampling_factor * n_clusters``
candidates in each of a few passes (``init_max_iter``), then runs weighted
k-means++ on the candidates alone: a handful of passes whatever K is.

Here both seed :class:`lvmfast.KMeans` on 25 well separated blobs; the
figure shows the seeds, and below it the inertia after Lloyd from each
seeding over a few random states.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from lvmfast import KMeans, kmeans_plusplus

grid = np.array([(i, j) for i in range(5) for j in range(5)], dtype=float) * 4.0
X, _ = make_blobs(n_samples=20_000, centers=grid, cluster_std=0.6, random_state=0)

# %%
# The seeds
# ---------
# :func:`lvmfast.kmeans_plusplus` returns greedy k-means++ seeds; a
# ``KMeans`` with ``init="k-means||"`` and ``max_iter=1`` shows the
# k-means|| seeds after one Lloyd step.

seeds_pp, _ = kmeans_plusplus(X, n_clusters=25, random_state=3)
km_par = KMeans(n_clusters=25, init="k-means||", n_init=1, random_state=3).fit(X)

fig, axes = plt.subplots(1, 2, figsize=(10, 5), sharey=True)
for ax, seeds, title in [
    (axes[0], seeds_pp, "greedy k-means++ seeds"),
    (axes[1], km_par.cluster_centers_, "k-means|| then Lloyd: final centers"),
]:
    ax.scatter(X[:, 0], X[:, 1], s=1, c="0.7")
    ax.scatter(seeds[:, 0], seeds[:, 1], s=60, c="tab:red", marker="X", edgecolor="k")
    ax.set_title(title)
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# Inertia after Lloyd
# -------------------
# The same data fit from ten random states with each seeding. Both usually
# find all 25 blobs; the bars show how often and at what cost.

inertia = {"k-means++": [], "k-means||": []}
for seed in range(10):
    for init in inertia:
        km = KMeans(n_clusters=25, init=init, n_init=1, random_state=seed).fit(X)
        inertia[init].append(km.inertia_ / len(X))

fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.4
for i, (init, values) in enumerate(inertia.items()):
    ax.bar(np.arange(10) + (i - 0.5) * width, values, width, label=init)
ax.set_xlabel("random_state")
ax.set_ylabel("inertia per row")
ax.set_title("Inertia after Lloyd, by seeding")
ax.legend()
fig.tight_layout()
