"""
Fitting a Gaussian mixture to a stream
======================================

:meth:`lvmfast.GaussianMixture.partial_fit` fits a mixture by stepwise EM:
each batch's statistics move the running ones by a step
``(learning_offset + t) ** -learning_decay``, then the M-step follows. Here a
stream of 5,000-row batches is drawn from a known 4-component mixture, batch
by batch, and the streamed model's held-out log-likelihood is followed over
the batches, beside that of a batch EM fit on 100,000 rows held in memory
and that of the true model.
"""
import matplotlib.pyplot as plt
import numpy as np

from lvmfast import GaussianMixture

rng = np.random.default_rng(0)
n_components, n_features = 4, 5
weights = np.array([0.4, 0.3, 0.2, 0.1])
means = rng.normal(scale=3.0, size=(n_components, n_features))
factors = [np.linalg.cholesky(a @ a.T / n_features + 0.5 * np.eye(n_features))
           for a in rng.normal(size=(n_components, n_features, n_features))]


def draw(n_rows):
    """n_rows from the known mixture."""
    labels = rng.choice(n_components, size=n_rows, p=weights)
    z = rng.standard_normal((n_rows, n_features))
    return means[labels] + np.einsum("nij,nj->ni", np.asarray(factors)[labels], z)


held_out = draw(20000)

# The stream: 60 batches, each drawn, taken and dropped.
streamed = GaussianMixture(n_components, random_state=0)
rows_seen, scores = [], []
for batch in range(60):
    streamed.partial_fit(draw(5000))
    rows_seen.append((batch + 1) * 5000)
    scores.append(streamed.score(held_out))

batch_fit = GaussianMixture(n_components, random_state=0).fit(draw(100000))
truth = GaussianMixture(
    n_components, weights_init=weights, means_init=means, max_iter=0,
    precisions_init=np.stack([np.linalg.inv(f @ f.T) for f in factors]),
).fit(held_out[:100])  # max_iter=0: the true parameters, as given

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(rows_seen, scores, marker=".", label="partial_fit, after each batch")
ax.axhline(batch_fit.score(held_out), color="C1", linestyle="--", label="fit on 100,000 rows")
ax.axhline(truth.score(held_out), color="C2", linestyle=":", label="true model")
ax.set_xlabel("rows streamed")
ax.set_ylabel("held-out mean log-likelihood")
low = min(min(scores), batch_fit.score(held_out))
ax.set_ylim(low - 0.002, truth.score(held_out) + 0.002)
ax.set_xscale("log")
ax.set_title("Stepwise EM over a stream of 5,000-row batches")
ax.legend(loc="lower right")
fig.tight_layout()

print(f"streamed: {scores[-1]:.4f}  batch fit: {batch_fit.score(held_out):.4f}  "
      f"true model: {truth.score(held_out):.4f}")
