"""
Regimes of a time series with a Gaussian HMM
============================================

A series switches between three regimes (calm, volatile and drifting down),
each a Gaussian, following a Markov chain. We draw it from a known
:class:`lvmfast.GaussianHMM`, fit a new one to the series alone, and compare:
the fitted transition matrix with the true one, and the Viterbi path with
the true regimes.
"""
from itertools import permutations

import matplotlib.pyplot as plt
import numpy as np

from lvmfast.hmm import GaussianHMM

# %%
# The true model: three regimes that persist for tens of steps.
true = GaussianHMM(n_components=3, covariance_type="diag", init_params="")
true.startprob_ = np.array([1.0, 0.0, 0.0])
true.transmat_ = np.array([[0.97, 0.02, 0.01], [0.03, 0.95, 0.02], [0.02, 0.03, 0.95]])
true.means_ = np.array([[0.2], [0.0], [-0.6]])
true.covars_ = np.array([[0.3], [1.5], [0.5]]) ** 2
X, states = true.sample(3000, random_state=1)

# %%
# Fit from k-means means and uniform transitions, then decode.
model = GaussianHMM(n_components=3, covariance_type="diag", n_iter=200, tol=1e-4, random_state=0,
                    init_params="mc")
model.startprob_ = np.full(3, 1 / 3)
model.transmat_ = np.full((3, 3), 1 / 3)
model.fit(X)
path = model.predict(X)

# The fitted states come in any order: name them by the true regime they match best.
order = max(permutations(range(3)), key=lambda p: np.mean(np.asarray(p)[path] == states))
decoded = np.asarray(order)[path]
inverse = np.argsort(order)
print("true transitions:\n", true.transmat_.round(3))
print("fitted transitions:\n", model.transmat_[np.ix_(inverse, inverse)].round(3))
print(f"Viterbi path: the true regime at {np.mean(decoded == states):.1%} of the steps "
      f"({model.monitor_.iter} EM iterations)")

# %%
# The series, coloured by the decoded regime, and the posterior of each regime.
posteriors = model.predict_proba(X)[:, inverse]
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
steps = np.arange(len(X))
for regime, colour in zip(range(3), ("tab:blue", "tab:orange", "tab:red")):
    mask = decoded == regime
    top.scatter(steps[mask], X[mask, 0], s=2, color=colour, label=f"regime {regime}")
    bottom.plot(steps, posteriors[:, regime], color=colour, lw=0.8)
top.set_ylabel("value")
top.legend(loc="upper right", markerscale=4)
bottom.set_ylabel("posterior")
bottom.set_xlabel("step")
fig.suptitle("GaussianHMM: decoded regimes and their posteriors")
fig.tight_layout()
