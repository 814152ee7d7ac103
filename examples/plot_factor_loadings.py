"""
=======================================
Factor loadings and mixtures of factors
=======================================

:class:`lvmfast.FactorAnalysis` explains the 13 chemical measurements of
scikit-learn's wine data (standardized) by three latent factors. Rotated by
varimax, each factor loads on a few measurements: the left panel shows the
loadings (one row per measurement) and the noise variance each measurement
keeps beyond the factors. The right panel fits
:class:`lvmfast.MixtureOfFactorAnalyzers` with three components (one per
cultivar, unlabelled) and q = 0 .. 4 factors per component, and plots the
Bayesian information criterion (lower is better) beside the held-out
log-likelihood: a component with a few factors fits better than one with
diagonal noise only (q = 0).
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

from lvmfast import FactorAnalysis, MixtureOfFactorAnalyzers

wine = load_wine()
X = (wine.data - wine.data.mean(axis=0)) / wine.data.std(axis=0)

fa = FactorAnalysis(n_components=3, rotation="varimax", svd_method="lapack").fit(X)
table = np.column_stack([fa.components_.T, fa.noise_variance_])

X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
factors = range(0, 5)
bic, held_out = [], []
for q in factors:
    mfa = MixtureOfFactorAnalyzers(3, n_factors=q, reg_covar=1e-3, n_init=3, random_state=0).fit(X_train)
    bic.append(mfa.bic(X_train))
    held_out.append(mfa.score(X_test))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [1.1, 1]})
image = left.imshow(table, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
left.set_yticks(range(len(wine.feature_names)), wine.feature_names, fontsize=8)
left.set_xticks(range(4), ["factor 1", "factor 2", "factor 3", "noise"])
left.set_title("FactorAnalysis(3, rotation='varimax'): loadings")
fig.colorbar(image, ax=left, shrink=0.8)

right.plot(list(factors), bic, "o-", color="tab:blue")
right.set_xlabel("factors per component (q)")
right.set_ylabel("BIC on the training rows", color="tab:blue")
twin = right.twinx()
twin.plot(list(factors), held_out, "s--", color="tab:red")
twin.set_ylabel("held-out mean log-likelihood", color="tab:red")
right.set_title("MixtureOfFactorAnalyzers(3 components)")
fig.tight_layout()
