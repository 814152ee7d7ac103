"""
A generative classifier from 1% of the labels
=============================================

Two classes, each a Gaussian with its own covariance, so the Bayes decision
boundary is a conic. :class:`lvmfast.GaussianClassifier` with
``covariance_type="full"`` fits one Gaussian per class (quadratic
discriminant analysis). Given all labels it finds the boundary from the class
statistics in one pass. Given 1% of them, with the rest marked ``-1`` and
``unlabeled=-1``, it runs EM over all rows, the labelled rows' classes
fixed: the unlabelled rows still shape the two Gaussians. A fit to the 1%
alone has only those few rows to go on.
"""

import matplotlib.pyplot as plt
import numpy as np

from lvmfast import GaussianClassifier

rng = np.random.default_rng(0)
n = 2000
X0 = rng.multivariate_normal([0, 0], [[2.0, 0.9], [0.9, 1.0]], size=n)
X1 = rng.multivariate_normal([2.5, -1.0], [[0.5, -0.3], [-0.3, 1.5]], size=n)
X = np.concatenate([X0, X1])
y = np.repeat([0, 1], n)

labelled = rng.random(len(y)) < 0.01
y_partial = np.where(labelled, y, -1)
print("labelled rows:", labelled.sum(), "of", len(y))

full = GaussianClassifier("full").fit(X, y)
few = GaussianClassifier("full").fit(X[labelled], y[labelled])
semi = GaussianClassifier("full", unlabeled=-1).fit(X, y_partial)
print("EM iterations:", semi.n_iter_)

# %%
# The three decision boundaries
# -----------------------------
# The labelled rows are the large markers; accuracy is on all rows.

xx, yy = np.meshgrid(np.linspace(-5, 6, 300), np.linspace(-5, 4.5, 300))
grid = np.column_stack([xx.ravel(), yy.ravel()])
fig, axes = plt.subplots(1, 3, figsize=(13, 4.3), sharey=True)
for ax, (title, clf) in zip(
    axes,
    [("all labels", full), ("the 1% labelled rows only", few), ("1% labels + unlabelled rows (EM)", semi)],
):
    proba = clf.predict_proba(grid)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=2)
    ax.scatter(X[:, 0], X[:, 1], s=2, c=np.where(y == 1, "tab:red", "tab:blue"), alpha=0.3)
    ax.scatter(X[labelled, 0], X[labelled, 1], s=50, c=np.where(y[labelled] == 1, "tab:red", "tab:blue"), edgecolor="k")
    ax.set_title(f"{title}\naccuracy {clf.score(X, y):.3f}", fontsize=10)
fig.tight_layout()

# %%
# EM's log-likelihood never falls
# -------------------------------

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(np.arange(1, len(semi.lower_bounds_) + 1), semi.lower_bounds_, "o-")
ax.set_xlabel("EM iteration")
ax.set_ylabel("log-likelihood per row")
fig.tight_layout()
