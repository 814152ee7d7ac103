"""lvmfast.dask on a local dask.distributed cluster (2 worker processes, 1
thread each), beside dask-ml and the in-memory lvmfast on the same 2 cores.

    python benchmarks/dask_bench.py             # N = 4M, D = 32, K = 64 (a few minutes)
    python benchmarks/dask_bench.py --quick     # small sizes, seconds
    python benchmarks/dask_bench.py --larger-than-memory [--quick] [--store zarr]

Cases (each returns a dict of what it measured; benchmarks/test_bench_dask.py
asserts the targets of issue 14):

- lloyd: one Lloyd iteration of lvmfast.dask.KMeans and of dask_ml's KMeans
  from the same centers: (fit of b iterations - fit of a) / (b - a).
- em: one EM iteration ('diag') of lvmfast.dask.GaussianMixture and of the
  in-memory lvmfast.GaussianMixture on 2 OpenMP threads, likewise.
- kmeans-parallel: clusters found by lvmfast.dask's k-means|| seeding (and by
  dask-ml's), and the inertia after Lloyd to convergence against in-memory
  greedy k-means++'s.
- larger-than-memory: X on disk (a stack of .npy files read as memory
  maps, or with --store zarr an uncompressed zarr store), 3x the workers'
  memory limit, spilling disabled; KMeans and GaussianMixture stream it
  every pass. Reports rows per second per core of a Lloyd and of an EM
  iteration against the in-memory fits', and checks that no worker was
  lost.
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
        noise = rng.standard_normal((stop - start, n_features))
        X[start:stop] = centers[rng.integers(0, n_clusters, stop - start)] + noise
    return X


def _timed(function):
    start = time.perf_counter()
    out = function()
    return time.perf_counter() - start, out


def per_iteration(fit, a, b, warm_up=True, repeats=1):
    """(time of fit(b) - time of fit(a)) / (its iterations - fit(a)'s),
    after a warm-up fit (fits of seconds need none); with repeats, each
    time is the least of that many fits (the difference of two noisy
    totals is noisier still)."""
    if warm_up:
        fit(a)
    t_a = t_b = float("inf")
    for repeat in range(repeats):
        seconds, est_a = _timed(lambda: fit(a))
        t_a, n_iter_a = min(t_a, seconds), est_a.n_iter_
        del est_a  # its labels_ would take worker memory while fit(b) runs
        seconds, est_b = _timed(lambda: fit(b))
        t_b = min(t_b, seconds)
        if repeat < repeats - 1:
            del est_b
    return (t_b - t_a) / max(est_b.n_iter_ - n_iter_a, 1), est_b


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
        plan = (("normal", (("lloyd", lloyd), ("em", em))), ("blobs", (("kmeans-parallel", kmeans_parallel),)))
        for data, cases in plan:
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


def _worker_rss():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


@contextlib.contextmanager
def _peak_worker_memory(client, interval=2.0):
    """Sample the workers' resident memory while the block runs; the dict
    it yields holds each worker's peak (MiB) when the block ends."""
    import threading

    peak, stop = {}, threading.Event()

    def sample():
        while not stop.wait(interval):
            with contextlib.suppress(Exception):  # a worker going away is reported elsewhere
                for worker, mib in client.run(_worker_rss).items():
                    peak[worker] = round(max(peak.get(worker, 0.0), mib))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def write_rows(directory, store, n_samples, n_features, block_rows):
    """Standard normal rows (Lloyd and EM keep moving for every timed
    iteration) on disk in blocks of block_rows, and the dask array over
    them: store 'npy', a stack of .npy files (dask's to_npy_stack layout,
    read as memory maps), or 'zarr', an uncompressed zarr store."""
    import dask
    import dask.array as da

    rows = da.random.default_rng(0).standard_normal((n_samples, n_features), chunks=(block_rows, n_features))
    path = os.path.join(directory, f"X.{store}")
    if store == "npy":
        with dask.config.set(scheduler="threads"):  # written before the cluster starts
            da.to_npy_stack(path, rows, axis=0)
        return da.from_npy_stack(path, mmap_mode="r")
    import zarr

    z = zarr.create_array(path, shape=rows.shape, chunks=(block_rows, n_features), dtype="f8", compressors=None,
                          overwrite=True)
    da.store(rows, z, lock=False, scheduler="threads")
    return da.from_zarr(path)


def larger_than_memory(quick, directory=None, store="npy"):
    """Lloyd (K = 64) and EM ('diag', K = 16) iterations on X on disk, 3x
    the workers' memory limit (store: 'npy' files or a 'zarr' store, see
    write_rows), against the in-memory fits on the same cores (--quick: a
    small X, streamed because persist=False; a worker's own footprint,
    about 270 MiB once lvmfast, scikit-learn and zarr are imported, leaves
    no room for a small 3x case)."""
    from threadpoolctl import threadpool_limits

    import lvmfast
    import lvmfast.dask

    # per worker; a worker's own footprint is about 270 MiB of it
    memory_limit = 1024 * 2**20
    n_features, k, k_em = (8, 8, 4) if quick else (32, 64, 16)
    row_bytes = n_features * 8
    n_samples = 200_000 if quick else int(3.05 * N_WORKERS * memory_limit / row_bytes)
    # blocks of 64 MiB: a streamed pass's cost per task (scheduling, a
    # worker's bookkeeping) is a few ms on these shared cores
    block_rows = (1 if quick else 64) * 2**20 // row_bytes
    persist = False if quick else "auto"
    repeats = 1 if quick else 2
    own_directory = directory is None
    directory = directory or tempfile.mkdtemp(prefix="lvmfast-ltm-")
    try:
        X_dask = write_rows(directory, store, n_samples, n_features, block_rows)
        init = X_dask[:k].compute(scheduler="threads")
        # all three parameters given: 'random_from_data' (k rows) instead of
        # the default 'kmeans', a whole k-means fit whose result they replace
        em_kwargs = dict(covariance_type="diag", means_init=init[:k_em], weights_init=np.full(k_em, 1 / k_em),
                         precisions_init=np.ones((k_em, n_features)), tol=0, init_params="random_from_data",
                         random_state=0)
        models = {
            "kmeans": (lambda m: lvmfast.dask.KMeans(k, init=init, n_init=1, max_iter=m, tol=0, persist=persist),
                       lambda m: lvmfast.KMeans(k, init=init, n_init=1, max_iter=m, tol=0), (1, 5)),
            "gmm_diag": (lambda m: lvmfast.dask.GaussianMixture(k_em, max_iter=m, persist=persist, **em_kwargs),
                         lambda m: lvmfast.GaussianMixture(k_em, max_iter=m, **em_kwargs), (1, 4)),
        }
        result = {"store": store, "n_samples": n_samples, "n_features": n_features, "n_clusters": k,
                  "n_components_em": k_em, "block_rows": block_rows, "data_bytes": n_samples * row_bytes,
                  "memory_limit_per_worker": memory_limit, "workers": N_WORKERS, "threads_per_worker": 1}
        fitted = {}
        with local_cluster(memory_limit=memory_limit, spill=False) as client, _peak_worker_memory(client) as peak:
            before = set(client.scheduler_info(n_workers=-1)["workers"])
            for name, (make, _, (a, b)) in models.items():
                seconds, fitted[name] = per_iteration(lambda m: make(m).fit(X_dask), a, b, repeats=repeats)
                result[name] = {"dask_iteration_s": seconds, "persisted": fitted[name]._persisted}
            after = set(client.scheduler_info(n_workers=-1)["workers"])
            result["workers_lost"] = len(before - after)
        result["peak_worker_rss_mib"] = peak
        X = X_dask.compute(scheduler="threads")
        with threadpool_limits(N_WORKERS, user_api="openmp"):
            for name, (_, make, (a, b)) in models.items():
                seconds, local_est = per_iteration(lambda m: make(m).fit(X), a, b, repeats=repeats)
                case = result[name]
                case["in_memory_iteration_s"] = seconds
                case["dask_rows_per_s_per_core"] = n_samples / case["dask_iteration_s"] / N_WORKERS
                case["in_memory_rows_per_s_per_core"] = n_samples / seconds / N_WORKERS
                case["throughput_ratio"] = case["dask_rows_per_s_per_core"] / case["in_memory_rows_per_s_per_core"]
                score = "inertia_" if name == "kmeans" else "lower_bound_"
                case["result_rel_diff"] = float(getattr(fitted[name], score) / getattr(local_est, score) - 1)
        result["persisted"] = any(result[name]["persisted"] for name in models)
        return result
    finally:
        if own_directory:
            shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--larger-than-memory", action="store_true")
    parser.add_argument("--store", choices=("npy", "zarr"), default="npy",
                        help="--larger-than-memory: X as .npy files (memory maps) or an uncompressed zarr store")
    parser.add_argument("--cases", help="comma-separated: lloyd,em,kmeans-parallel (default: all)")
    args = parser.parse_args(argv)
    only = args.cases.split(",") if args.cases else None
    result = larger_than_memory(args.quick, store=args.store) if args.larger_than_memory else in_cluster_cases(args.quick, only)
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
