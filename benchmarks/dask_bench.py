"""lvmfast.dask on a local dask.distributed cluster (2 worker processes, 1
thread each), beside dask-ml and the in-memory lvmfast on the same 2 cores.

    python benchmarks/dask_bench.py             # N = 4M, D = 32, K = 64 (a few minutes)
    python benchmarks/dask_bench.py --quick     # small sizes, seconds
    python benchmarks/dask_bench.py --larger-than-memory [--quick]

Cases (each returns a dict of what it measured; benchmarks/test_bench_dask.py
asserts the targets of issue 14):

- lloyd: one Lloyd iteration of lvmfast.dask.KMeans and of dask_ml's KMeans
  from the same centers: (fit of b iterations - fit of a) / (b - a).
- em: one EM iteration ('diag') of lvmfast.dask.GaussianMixture and of the
  in-memory lvmfast.GaussianMixture on 2 OpenMP threads, likewise.
- kmeans-parallel: clusters found by lvmfast.dask's k-means|| seeding (and by
  dask-ml's), and the inertia after Lloyd to convergence against in-memory
  greedy k-means++'s.
- larger-than-memory: X in a zarr store on disk, 3x the workers' memory
  limit, spilling disabled; KMeans streams it every pass. Reports rows per
  second per core of a Lloyd iteration against the in-memory fit's, and
  checks that no worker was lost.
"""
import argparse
import contextlib
import json
import os
import shutil
import tempfile
import time

import numpy as np

FULL = {"n_samples": 4_000_000, "n_features": 32, "n_clusters": 64, "block_rows": 125_000}
QUICK = {"n_samples": 40_000, "n_features": 8, "n_clusters": 8, "block_rows": 5_000}
N_WORKERS = 2


def sizes(quick):
    return dict(QUICK if quick else FULL)


@contextlib.contextmanager
def local_cluster(memory_limit="auto", spill=True):
    """The benchmarks' cluster: 2 worker processes, 1 thread each."""
    import dask
    import distributed

    config = {} if spill else {
        # no spilling to disk at all: a worker over its limit pauses, then is killed
        "distributed.worker.memory.target": False, "distributed.worker.memory.spill": False,
    }
    with dask.config.set(config), distributed.LocalCluster(
        n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
        memory_limit=memory_limit,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def blobs(n_samples, n_features, n_clusters, seed=0, dtype=np.float64):
    """n_clusters separated Gaussian blobs (unit variance, centers in a cube
    of side 20): a dataset where every cluster can be found."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, (n_clusters, n_features))
    X = np.empty((n_samples, n_features), dtype=dtype)
    step = 1_000_000
    for start in range(0, n_samples, step):
        stop = min(start + step, n_samples)
        X[start:stop] = centers[rng.integers(0, n_clusters, stop - start)] + rng.standard_normal((stop - start, n_features))
    return X


def _timed(function):
    start = time.perf_counter()
    out = function()
    return time.perf_counter() - start, out


def per_iteration(fit, a, b, warm_up=True):
    """(time of fit(b) - time of fit(a)) / (its iterations - fit(a)'s),
    after a warm-up fit (fits of seconds need none)."""
    if warm_up:
        fit(a)
    t_a, est_a = _timed(lambda: fit(a))
    t_b, est_b = _timed(lambda: fit(b))
    return (t_b - t_a) / max(est_b.n_iter_ - est_a.n_iter_, 1), est_b


def lloyd(X_dask, X, size):
    import dask_ml.cluster

    import lvmfast.dask

    k = size["n_clusters"]
    init = X[np.random.default_rng(1).choice(X.shape[0], k, replace=False)]
    ours, ours_est = per_iteration(
        lambda m: lvmfast.dask.KMeans(k, init=init, n_init=1, max_iter=m, tol=0).fit(X_dask), 2, 7,
    )
    theirs, theirs_est = per_iteration(
        lambda m: dask_ml.cluster.KMeans(n_clusters=k, init=init, max_iter=m, tol=0).fit(X_dask), 2, 7,
    )
    from threadpoolctl import threadpool_limits

    import lvmfast

    with threadpool_limits(N_WORKERS, user_api="openmp"):
        in_memory, _ = per_iteration(lambda m: lvmfast.KMeans(k, init=init, n_init=1, max_iter=m, tol=0).fit(X), 2, 7)
    return {
        "lvmfast_dask_s": ours, "dask_ml_s": theirs, "speedup": theirs / ours, "in_memory_s": in_memory,
        # dask-ml's inertia_ is not the inertia of its centers; the centers are comparable
        "centers_max_abs_diff": float(np.abs(ours_est.cluster_centers_ - theirs_est.cluster_centers_).max()),
        "n_iter": [ours_est.n_iter_, theirs_est.n_iter_],
    }


def em(X_dask, X, size):
    from threadpoolctl import threadpool_limits

    import lvmfast
    import lvmfast.dask

    k = min(size["n_clusters"], 16) if size is QUICK else size["n_clusters"]
    rng = np.random.default_rng(2)
    means = X[rng.choice(X.shape[0], k, replace=False)].astype(np.float64)
    kwargs = dict(covariance_type="diag", means_init=means, weights_init=np.full(k, 1 / k),
                  precisions_init=np.ones((k, X.shape[1])), tol=0)
    warm_up = size is QUICK
    dask_s, dask_est = per_iteration(
        lambda m: lvmfast.dask.GaussianMixture(k, max_iter=m, **kwargs).fit(X_dask), 1, 3, warm_up
    )
    with threadpool_limits(N_WORKERS, user_api="openmp"):
        local_s, local_est = per_iteration(
            lambda m: lvmfast.GaussianMixture(k, max_iter=m, **kwargs).fit(X), 1, 3, warm_up
        )
    return {
        "lvmfast_dask_s": dask_s, "in_memory_s": local_s, "ratio": dask_s / local_s,
        "lower_bound_rel_diff": float(dask_est.lower_bound_ / local_est.lower_bound_ - 1),
    }


def kmeans_parallel(X_dask, X, size):
    import dask_ml.cluster
    from threadpoolctl import threadpool_limits

    import lvmfast
    import lvmfast.dask

    k = size["n_clusters"]
    seeded = lvmfast.dask.KMeans(k, random_state=0, max_iter=1).fit(X_dask)
    found = len(np.unique(seeded.labels_.compute()))
    theirs = dask_ml.cluster.KMeans(n_clusters=k, random_state=0, max_iter=1).fit(X_dask)
    found_dask_ml = len(np.unique(np.asarray(theirs.labels_)))
    t_dask, fitted = _timed(lambda: lvmfast.dask.KMeans(k, random_state=0).fit(X_dask))
    with threadpool_limits(N_WORKERS, user_api="openmp"):
        t_local, greedy = _timed(lambda: lvmfast.KMeans(k, init="k-means++", random_state=0).fit(X))
    return {
        "clusters_found": found, "n_clusters": k, "clusters_found_dask_ml": found_dask_ml,
        "inertia_ratio": float(fitted.inertia_ / greedy.inertia_),
        "n_iter": fitted.n_iter_, "n_iter_greedy": greedy.n_iter_, "fit_s": t_dask, "fit_greedy_s": t_local,
    }


def in_cluster_cases(quick, only=None):
    """lloyd and em on standard normal X (Lloyd and EM keep moving for many
    iterations there), kmeans-parallel on blobs, on one cluster, X persisted."""
    import dask.array as da
    import distributed

    size = QUICK if quick else FULL
    results = {"size": dict(size), "workers": N_WORKERS, "threads_per_worker": 1}
    with local_cluster():
        for data, cases in (("normal", (("lloyd", lloyd), ("em", em))), ("blobs", (("kmeans-parallel", kmeans_parallel),))):
            if data == "normal":
                X = np.random.default_rng(0).standard_normal((size["n_samples"], size["n_features"]))
            else:
                X = blobs(size["n_samples"], size["n_features"], size["n_clusters"])
            X_dask = da.from_array(X, chunks=(size["block_rows"], size["n_features"])).persist()
            distributed.wait(X_dask)
            for name, case in cases:
                if only is None or name in only:
                    results[name] = case(X_dask, X, size)
            del X_dask, X
    return results


def larger_than_memory(quick, directory=None):
    """KMeans Lloyd iterations on a zarr store 3x the workers' memory limit
    (--quick: a small store, streamed because persist=False; the workers'
    own footprint, about 160 MiB each, leaves no room for a 3x case that
    is small)."""
    import dask.array as da
    import zarr
    from threadpoolctl import threadpool_limits

    import lvmfast
    import lvmfast.dask

    memory_limit = 512 * 2**20  # per worker
    n_features, k = (8, 8) if quick else (32, 64)
    row_bytes = n_features * 8
    n_samples = 200_000 if quick else int(3.05 * N_WORKERS * memory_limit / row_bytes)
    block_rows = (1 if quick else 16) * 2**20 // row_bytes
    persist = False if quick else "auto"
    own_directory = directory is None
    directory = directory or tempfile.mkdtemp(prefix="lvmfast-zarr-")
    try:
        store = os.path.join(directory, "X.zarr")
        z = zarr.create_array(store, shape=(n_samples, n_features), chunks=(block_rows, n_features), dtype="f8",
                              compressors=None, overwrite=True)
        for start in range(0, n_samples, 1_000_000):
            stop = min(start + 1_000_000, n_samples)
            # standard normal rows: Lloyd keeps moving for every timed iteration
            z[start:stop] = np.random.default_rng(start).standard_normal((stop - start, n_features))
        init = np.asarray(z[:k])
        result = {"n_samples": n_samples, "n_features": n_features, "n_clusters": k, "block_rows": block_rows,
                  "data_bytes": n_samples * row_bytes, "memory_limit_per_worker": memory_limit,
                  "workers": N_WORKERS, "threads_per_worker": 1}
        with local_cluster(memory_limit=memory_limit, spill=False) as client:
            before = set(client.scheduler_info(n_workers=-1)["workers"])
            X_dask = da.from_zarr(store)
            fit = lambda m: lvmfast.dask.KMeans(  # noqa: E731
                k, init=init, n_init=1, max_iter=m, tol=0, persist=persist).fit(X_dask)
            result["dask_iteration_s"], est = per_iteration(fit, 1, 6, warm_up=True)
            after = set(client.scheduler_info(n_workers=-1)["workers"])
            result["persisted"] = est._persisted
            result["workers_lost"] = len(before - after)
        X = np.asarray(z[:])
        with threadpool_limits(N_WORKERS, user_api="openmp"):
            result["in_memory_iteration_s"], local_est = per_iteration(
                lambda m: lvmfast.KMeans(k, init=init, n_init=1, max_iter=m, tol=0).fit(X), 1, 6
            )
        cores = N_WORKERS
        result["dask_rows_per_s_per_core"] = n_samples / result["dask_iteration_s"] / cores
        result["in_memory_rows_per_s_per_core"] = n_samples / result["in_memory_iteration_s"] / cores
        result["throughput_ratio"] = result["dask_rows_per_s_per_core"] / result["in_memory_rows_per_s_per_core"]
        result["inertia_rel_diff"] = float(est.inertia_ / local_est.inertia_ - 1)
        return result
    finally:
        if own_directory:
            shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--larger-than-memory", action="store_true")
    parser.add_argument("--cases", help="comma-separated: lloyd,em,kmeans-parallel (default: all)")
    args = parser.parse_args(argv)
    only = args.cases.split(",") if args.cases else None
    result = larger_than_memory(args.quick) if args.larger_than_memory else in_cluster_cases(args.quick, only)
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
