"""
Choosing K: the BIC curve
=========================

The Bayesian information criterion,
:math:`\\mathrm{BIC} = -2 \\log L + p \\log N` with :math:`p` the number of
free parameters, trades the log-likelihood of a fit against its size.
:class:`lvmfast.GaussianMixtureIC` fits a grid of ``n_components`` and
covariance types in one call and keeps the model with the lowest criterion;
``results_`` holds the whole table, so the curves below need no second fit.
The data are drawn from four full-covariance components.
"""

import matplotlib.pyplot as plt
import numpy as np

from lvmfast import GaussianMixtureIC

rng = np.random.default_rng(1)
means = np.array([[0, 0], [6, 0], [0, 6], [6, 6]], dtype=float)
covs = [np.array([[2.0, 1.2], [1.2, 1.0]]), np.array([[1.0, -0.6], [-0.6, 1.0]]), np.eye(2) * 0.5, np.array([[0.5, 0], [0, 2.0]])]
X = np.concatenate([rng.multivariate_normal(m, c, size=500) for m, c in zip(means, covs)])

search = GaussianMixtureIC(n_components=range(1, 9), random_state=0).fit(X)
print("best:", search.best_params_)

# %%
# BIC by number of components and covariance type
# ------------------------------------------------

results = search.results_
fig, ax = plt.subplots(figsize=(6, 4))
for covariance_type in ("full", "tied", "diag", "spherical"):
    rows = [i for i, t in enumerate(results["covariance_type"]) if t == covariance_type]
    ks = np.asarray(results["n_components"])[rows]
    ax.plot(ks, np.asarray(results["bic"])[rows], "o-", label=covariance_type)
best = search.best_params_
ax.axvline(best["n_components"], color="k", ls=":", lw=1)
ax.set_xlabel("n_components")
ax.set_ylabel("BIC (lower is better)")
ax.set_title(f"best: {best['n_components']} components, '{best['covariance_type']}'")
ax.legend()
fig.tight_layout()
