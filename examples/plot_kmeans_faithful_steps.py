"""
K-means on Old Faithful, step by step
=====================================

The sequence of Bishop's *Pattern Recognition and Machine Learning*, Figure
9.1: the Old Faithful eruptions (duration, waiting time), each variable
standardized, and K = 2 centers started far from the data's clusters. Each
Lloyd iteration is two steps: assign every row to its nearest center (the
E step), then move each center to the mean of its rows (the M step).

Every step drawn here is lvmfast's: a :class:`lvmfast.KMeans` started from
the previous centers and run for one iteration gives the next centers and
the rows' labels.
"""

import matplotlib.pyplot as plt
import numpy as np

from lvmfast import KMeans
from lvmfast.datasets import load_faithful

X, feature_names = load_faithful()
X = (X - X.mean(axis=0)) / X.std(axis=0)

# %%
# One Lloyd iteration at a time
# -----------------------------
# ``init`` takes the centers to start from; ``max_iter=1`` runs one
# assignment and one update. The first assignment, to the initial centers,
# is what ``predict`` gives for a model whose centers are those.

centers = np.array([[-1.5, 1.5], [1.5, -1.5]])
# A model fit to the two centers themselves keeps them: its predict gives
# the rows' nearest initial center.
labels = KMeans(n_clusters=2, init=centers, n_init=1, max_iter=1).fit(centers).predict(X)

steps = [(centers, None, "(a) initial centers")]  # (centers, labels, title)
letters = iter("bcdefghi")
for _ in range(4):
    steps.append((centers, labels, f"({next(letters)}) E step: nearest center"))
    km = KMeans(n_clusters=2, init=centers, n_init=1, max_iter=1).fit(X)
    centers = km.cluster_centers_
    steps.append((centers, labels, f"({next(letters)}) M step: centers to the means"))
    labels = km.predict(X)

colors = np.array(["tab:red", "tab:blue"])
fig, axes = plt.subplots(3, 3, figsize=(9, 9), sharex=True, sharey=True)
for ax, (c, lab, title) in zip(axes.ravel(), steps):
    ax.scatter(X[:, 0], X[:, 1], s=8, c="tab:green" if lab is None else colors[lab], alpha=0.7)
    ax.scatter(c[:, 0], c[:, 1], s=160, c=colors, marker="X", edgecolor="k")
    if "E step" in title:
        # the boundary between the two centers: their perpendicular bisector
        mid, d = c.mean(axis=0), c[1] - c[0]
        t = np.linspace(-3, 3, 2)
        ax.plot(mid[0] - d[1] * t, mid[1] + d[0] * t, "m-", lw=1.5)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(-2.5, 2.5)
    ax.set_ylim(-2.5, 2.5)
    ax.set_aspect("equal")
fig.suptitle("K-means on Old Faithful (standardized), as in Bishop's Figure 9.1")
fig.tight_layout()

# %%
# The cost falls at every step
# ----------------------------
# The distortion :math:`J = \sum_n \lVert x_n - \mu_{z_n} \rVert^2` is
# ``inertia_``; fitting from the same start for more iterations traces it.

start = np.array([[-1.5, 1.5], [1.5, -1.5]])
costs = [KMeans(n_clusters=2, init=start, n_init=1, max_iter=i).fit(X).inertia_ for i in range(1, 6)]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, 6), costs, "o-")
ax.set_xlabel("iterations")
ax.set_ylabel("J (inertia_)")
ax.set_title("Distortion after each Lloyd iteration")
fig.tight_layout()
