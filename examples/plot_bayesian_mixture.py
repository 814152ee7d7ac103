"""
The Bayesian mixture switches off components
============================================

A :class:`lvmfast.BayesianGaussianMixture` is given ten components for data
drawn from three. Its variational posterior over the mixing weights (here a
Dirichlet process prior, truncated at ten) leaves the components the data do
not need with weights near zero, while :class:`lvmfast.GaussianMixture` fit
by EM with ten components uses all ten. A smaller
``weight_concentration_prior`` switches off more of them.
"""

import matplotlib.pyplot as plt
import numpy as np

from lvmfast import BayesianGaussianMixture, GaussianMixture

rng = np.random.default_rng(0)
means = np.array([[0.0, 0.0], [5.0, 1.0], [2.0, 5.0]])
X = np.concatenate([rng.normal(m, [1.0, 0.6], size=(n, 2)) for m, n in zip(means, (600, 400, 200))])

em = GaussianMixture(n_components=10, random_state=0).fit(X)
fits = {
    "EM (GaussianMixture)": em.weights_,
}
for prior in (1.0, 0.01):
    bgm = BayesianGaussianMixture(
        n_components=10, weight_concentration_prior=prior, max_iter=500, random_state=0
    ).fit(X)
    fits[f"variational, weight_concentration_prior={prior}"] = bgm.weights_

# %%
# The weights of the ten components
# ---------------------------------

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
for ax, (title, weights) in zip(axes, fits.items()):
    ax.bar(np.arange(1, 11), weights, color=np.where(weights > 0.01, "tab:blue", "0.7"))
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("component")
    ax.set_xticks(np.arange(1, 11))
axes[0].set_ylabel("weight")
fig.tight_layout()

# %%
# Where the Bayesian mixture puts its active components
# -----------------------------------------------------
# Rows colored by ``predict``; the components with weight above 1% are
# marked.

fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(X[:, 0], X[:, 1], s=5, c=bgm.predict(X), cmap="tab10")
active = bgm.weights_ > 0.01
ax.scatter(bgm.means_[active, 0], bgm.means_[active, 1], c="k", marker="X", s=120)
ax.set_title(f"{active.sum()} components above 1% weight")
fig.tight_layout()
