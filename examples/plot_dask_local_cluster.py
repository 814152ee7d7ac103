"""
A fit on a Dask cluster
=======================

:mod:`lvmfast.dask` fits the same models on a Dask array: each pass maps
lvmfast's compiled per-block functions over the array's blocks on the
workers and sums their statistics in a fixed order; the small M-step runs on
the client. This example starts a small ``LocalCluster`` (two workers, one
thread each, in this process), fits :class:`lvmfast.dask.GaussianMixture`
to a chunked array, compares it with the in-memory
:class:`lvmfast.GaussianMixture` from the same initial parameters, and
closes the cluster. On a real cluster only the ``Client`` changes; X can be
any dask array (``da.from_zarr``, ``da.from_npy_stack``, ...), larger than
the client's memory.
"""

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster

import lvmfast
import lvmfast.dask

rng = np.random.default_rng(0)
centers = rng.normal(scale=4.0, size=(4, 2))
X_np = np.concatenate([rng.normal(c, 1.0, size=(5000, 2)) for c in centers])
X = da.from_array(X_np, chunks=(4000, 2))  # 5 blocks

# the same initial parameters for both fits
start = dict(
    weights_init=np.full(4, 0.25),
    means_init=X_np[rng.choice(len(X_np), 4, replace=False)],
    precisions_init=np.repeat(np.eye(2)[None], 4, axis=0),
)

with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(
    cluster
) as client:
    gm_dask = lvmfast.dask.GaussianMixture(n_components=4, **start).fit(X)
    labels = gm_dask.predict(X).compute()  # predict returns a dask array
    print("workers:", len(client.scheduler_info()["workers"]), " blocks:", X.numblocks[0])

gm_local = lvmfast.GaussianMixture(n_components=4, **start).fit(X_np)
print("iterations: dask", gm_dask.n_iter_, " in memory", gm_local.n_iter_)
print("largest difference of the means:", np.abs(gm_dask.means_ - gm_local.means_).max())

# %%
# The fit, and the blocks it came from
# ------------------------------------
# Left: rows colored by the Dask model's ``predict``. Right: the per-row
# log-likelihood after each EM iteration, on the cluster and in memory.

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].scatter(X_np[:, 0], X_np[:, 1], s=2, c=labels, cmap="tab10")
axes[0].scatter(gm_dask.means_[:, 0], gm_dask.means_[:, 1], c="k", marker="X", s=100)
axes[0].set_title("lvmfast.dask.GaussianMixture on 5 blocks")
axes[1].plot(gm_dask.lower_bounds_, "o-", label="Dask (2 workers)")
axes[1].plot(gm_local.lower_bounds_, "x--", label="in memory")
axes[1].set_xlabel("EM iteration")
axes[1].set_ylabel("log-likelihood per row")
axes[1].legend()
fig.tight_layout()
