"""
Gaussian mixture with missing values
=====================================

A three-component mixture in two dimensions, with 40% of the entries
missing completely at random. ``GaussianMixture(allow_missing=True)`` fits
it by EM for incomplete data: each row counts through its observed
features, and the missing entries enter the M-step through their
conditional expectations. Beside it, the usual work-around: fill every
missing entry with its feature's mean, then fit. The filled-in rows lie on
two lines through the data's center, and the mixture fitted to them bends
toward those lines; the held-out log-likelihood (on complete rows) says by
how much.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.impute import SimpleImputer

from lvmfast import GaussianMixture

rng = np.random.default_rng(0)
means = np.array([[-4.0, 0.0], [0.0, 4.0], [4.0, -1.0]])
covariances = np.array([[[1.0, 0.8], [0.8, 1.5]], [[1.5, -0.6], [-0.6, 0.8]], [[0.6, 0.0], [0.0, 2.0]]])


def draw(n):
    labels = rng.integers(0, 3, n)
    return np.array([rng.multivariate_normal(means[k], covariances[k]) for k in labels])


X, X_test = draw(1500), draw(3000)
X_missing = X.copy()
mask = rng.random(X.shape) < 0.4
mask[mask.all(axis=1), 0] = False  # every row keeps one observed feature
X_missing[mask] = np.nan

em = GaussianMixture(3, allow_missing=True, tol=1e-5, random_state=0).fit(X_missing)
filled = SimpleImputer().fit_transform(X_missing)
imputed = GaussianMixture(3, random_state=0).fit(filled)

grid_x, grid_y = np.meshgrid(np.linspace(-8, 8, 200), np.linspace(-5, 9, 200))
grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), sharex=True, sharey=True)
complete = ~np.isnan(X_missing).any(axis=1)
for ax, model, rows, name in [(axes[0], em, X_missing[complete], "EM with missing values"),
                              (axes[1], imputed, filled, "mean imputation, then EM")]:
    density = np.exp(model.score_samples(grid)).reshape(grid_x.shape)
    ax.contour(grid_x, grid_y, density, levels=8, cmap="viridis")
    ax.scatter(rows[:, 0], rows[:, 1], s=3, c="0.4", alpha=0.5)
    ax.scatter(model.means_[:, 0], model.means_[:, 1], marker="x", c="red", s=60, label="fitted means")
    ax.scatter(means[:, 0], means[:, 1], marker="+", c="black", s=80, label="true means")
    ax.set_title(f"{name}\nheld-out log-likelihood {model.score(X_test):.3f}")
axes[0].legend(loc="lower left")
axes[0].set_xlabel("x1 (complete rows shown)")
axes[1].set_xlabel("x1 (rows as filled in)")
axes[0].set_ylabel("x2")
fig.tight_layout()
