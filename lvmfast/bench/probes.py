"""Timing, and the machine's rates that bound a step from below (GEMM,
exp, read bandwidth)."""
import time

import numpy as np


def median_seconds(func, repeats=3):
    """Median wall time of func() over `repeats` calls. A first call under a
    second is a warm-up and not counted (lazy imports, first-touch pages);
    a longer one is counted, since those costs are lost in it."""
    start = time.perf_counter()
    func()
    first = time.perf_counter() - start
    runs = [first] if first > 1.0 else []
    while len(runs) < repeats:
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return float(np.median(runs))


def read_bandwidth(n_bytes=256 * 2**20, repeats=5):
    """Bytes/s that BLAS matrix-vector products (threaded like the GEMM)
    read here from a matrix far larger than the caches."""
    a = np.ones((n_bytes // 8 // 4096, 4096))
    x = np.ones(4096)
    a @ x
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ x
        best = min(best, time.perf_counter() - start)
    return a.nbytes / best


def exp_rate(dtype, n_threads, size=1 << 22, repeats=5):
    """exp()s per second: numpy's vectorized exp on one thread, times the
    thread count (each kernel thread runs its own exps)."""
    a = np.random.default_rng(0).uniform(-20, 0, size).astype(dtype)
    out = np.empty_like(a)
    np.exp(a, out=out)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.exp(a, out=out)
        best = min(best, time.perf_counter() - start)
    return n_threads * size / best


def compute_floor(rates, dtype, flops, exps, n_bytes):
    """A step's floor from its arithmetic and its reads: flops at the gemm
    rate plus exps at the exp rate (both use the same vector units), or the
    bytes at the read bandwidth, whichever is longer."""
    arithmetic = flops / rates["gemm_flops"][dtype] + exps / rates["exp_rate"][dtype]
    return max(arithmetic, n_bytes / rates["read_bandwidth"])


def gemm_rate(dtype, size=2048, repeats=3):
    """FLOP/s that numpy's matmul reaches here for a large square product."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    a @ a
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
