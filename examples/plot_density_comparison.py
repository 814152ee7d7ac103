"""
Histogram, kernel density and Gaussian mixture on Old Faithful
==============================================================

Three density estimates of the Old Faithful eruptions: a histogram, a kernel
density estimate (:class:`lvmfast.KernelDensity`, its bandwidth chosen by
cross-validated log-likelihood) and a two-component
:class:`lvmfast.GaussianMixture`. On the left the eruption durations alone;
on the right both features, with the binned estimator's density on a grid
(``method='binned'``) and the mixture's contours.
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import multivariate_normal, norm
from sklearn.model_selection import GridSearchCV

from lvmfast import GaussianMixture, KernelDensity
from lvmfast.datasets import load_faithful

X, names = load_faithful()
scale = X.std(axis=0)
Z = X / scale  # standardized, so one bandwidth suits both features

# %%
# The bandwidth that maximizes the held-out log-likelihood
search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0, 16)}, cv=5).fit(Z)
bandwidth = search.best_params_["bandwidth"]
kde_2d = KernelDensity(bandwidth=bandwidth, method="binned", grid_size=256).fit(Z)
search_1d = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0, 16)}, cv=5).fit(Z[:, :1])
kde_1d = search_1d.best_estimator_
mixture = GaussianMixture(n_components=2, random_state=0).fit(X)
print(f"bandwidth (standardized): 2-D {bandwidth:.3f}, 1-D {kde_1d.bandwidth_:.3f}")
print(f"binned density's error bound: {kde_2d.density_error_bound_:.1e}")

# %%
# The three estimates
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
grid = np.linspace(1.0, 5.8, 400)
left.hist(X[:, 0], bins=20, density=True, color="0.85", edgecolor="0.6", label="histogram")
left.plot(grid, np.exp(kde_1d.score_samples(grid[:, None] / scale[0])) / scale[0], lw=2, label="kernel density")
marginal = sum(w * norm.pdf(grid, m[0], np.sqrt(c[0, 0]))
               for w, m, c in zip(mixture.weights_, mixture.means_, mixture.covariances_))
left.plot(grid, marginal, lw=2, ls="--", label="Gaussian mixture (2)")
left.set_xlabel(names[0])
left.set_ylabel("density")
left.legend(frameon=False)

axes, log_density = kde_2d.score_grid()
xx, yy = np.meshgrid(axes[0] * scale[0], axes[1] * scale[1], indexing="ij")
right.scatter(X[:, 0], X[:, 1], s=8, color="0.5")
kde_density = np.exp(log_density) / np.prod(scale)
# levels above 0: the FFT leaves rounding noise (~1e-17) where the density is 0
right.contour(xx, yy, kde_density, levels=np.linspace(0.1, 0.9, 6) * kde_density.max(), colors="C0")
points = np.column_stack([xx.ravel(), yy.ravel()])
mixture_density = sum(w * multivariate_normal(m, c).pdf(points)
                      for w, m, c in zip(mixture.weights_, mixture.means_, mixture.covariances_))
right.contour(xx, yy, mixture_density.reshape(xx.shape), levels=np.linspace(0.1, 0.9, 6) * mixture_density.max(),
              colors="C1", linestyles="dashed")
right.set_xlim(1.2, 5.6)
right.set_ylim(38, 100)
right.set_xlabel(names[0])
right.set_ylabel(names[1])
right.set_title("binned kernel density (solid), Gaussian mixture (dashed)")
fig.tight_layout()
