import os, tempfile, time, numpy as np, dask, dask.array as da, distributed, zarr, psutil, sys, threading
import lvmfast.dask
def rss(): return round(psutil.Process().memory_info().rss / 2**20)
if __name__ == "__main__":
    d = tempfile.mkdtemp(prefix="lvmfast-zarr-")
    n, D = int(sys.argv[1]), 32
    z = zarr.create_array(os.path.join(d, "X.zarr"), shape=(n, D), chunks=(65536, D), dtype="f8", compressors=None)
    for s in range(0, n, 1_000_000):
        z[s:s+1_000_000] = np.random.default_rng(s).standard_normal((min(1_000_000, n - s), D))
    cfg = {"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False}
    with dask.config.set(cfg), distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GiB", dashboard_address=None) as c, distributed.Client(c) as client:
        X = da.from_zarr(os.path.join(d, "X.zarr"))
        stop = threading.Event()
        def watch():
            while not stop.wait(2):
                print("  rss", list(client.run(rss).values()), flush=True)
        threading.Thread(target=watch, daemon=True).start()
        print("kmeans start", flush=True)
        km = lvmfast.dask.KMeans(64, init=np.asarray(z[:64]), n_init=1, max_iter=1, tol=0, verbose=1).fit(X)
        print("kmeans done", km._persisted, flush=True)
        del km
        print("gc", flush=True)
        stop.set()
    import shutil; shutil.rmtree(d)
