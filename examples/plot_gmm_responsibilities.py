"""
A Gaussian mixture's responsibilities and ellipses
==================================================

A two-component :class:`lvmfast.GaussianMixture` fit by EM to the
standardized Old Faithful data. Each row's responsibilities
:math:`\\gamma_{nk} = p(z_n = k \\mid x_n)` come from ``predict_proba``:
the rows are colored by them (a mix of red and blue where a row could belong
to either), and each component is drawn as the ellipses of its covariance at
one and two standard deviations.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from lvmfast import GaussianMixture
from lvmfast.datasets import load_faithful

X, feature_names = load_faithful()
X = (X - X.mean(axis=0)) / X.std(axis=0)

# Started, as in Bishop's Figure 9.8, from means far from the clusters.
gm = GaussianMixture(n_components=2, means_init=[[-1.5, 1.5], [1.5, -1.5]], random_state=0).fit(X)
resp = gm.predict_proba(X)
print("weights:", gm.weights_.round(3), " iterations:", gm.n_iter_, " lower bound:", round(gm.lower_bound_, 4))

# %%
# Responsibilities as colors, covariances as ellipses
# ---------------------------------------------------

red, blue = np.array([0.85, 0.1, 0.1]), np.array([0.1, 0.2, 0.85])
colors = resp[:, [0]] * red + resp[:, [1]] * blue

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
axes[0].scatter(X[:, 0], X[:, 1], s=12, c=colors)
axes[0].set_title("responsibilities (predict_proba)")
for k, (mean, cov) in enumerate(zip(gm.means_, gm.covariances_)):
    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    for n_std in (1, 2):
        w, h = 2 * n_std * np.sqrt(values[1]), 2 * n_std * np.sqrt(values[0])
        axes[1].add_patch(
            Ellipse(mean, w, h, angle=angle, fill=False, lw=2, color=red if k == 0 else blue, alpha=1.2 - 0.4 * n_std)
        )
axes[1].scatter(X[:, 0], X[:, 1], s=6, c="0.5")
axes[1].scatter(gm.means_[:, 0], gm.means_[:, 1], c="k", marker="+", s=100)
axes[1].set_title("components: 1 and 2 standard deviations")
for ax in axes:
    ax.set_xlabel(f"{feature_names[0]} (standardized)")
    ax.set_aspect("equal")
axes[0].set_ylabel(f"{feature_names[1]} (standardized)")
fig.tight_layout()

# %%
# The log-likelihood over EM iterations
# -------------------------------------
# ``lower_bounds_`` holds the per-row log-likelihood after each iteration;
# EM never lets it fall.

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(np.arange(1, len(gm.lower_bounds_) + 1), gm.lower_bounds_, "o-")
ax.set_xlabel("EM iteration")
ax.set_ylabel("log-likelihood per row")
fig.tight_layout()
