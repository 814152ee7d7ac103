"""GaussianMixture: one EM iteration, lvmfast beside scikit-learn from the
same parameters with equal thread counts, and the peak memory of a fit."""
import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cases import GMM_SIZES, gmm_fit, gmm_starting_point, make_blobs
from test_bench_kmeans import median_seconds

pytest.importorskip("sklearn", reason="the benchmarks compare with scikit-learn: pip install 'lvmfast[bench]'")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module", params=[np.float64, np.float32], ids=lambda t: np.dtype(t).name)
def gmm_data(request):
    size = GMM_SIZES["quick" if request.config.getoption("--quick") else "full"]
    return make_blobs(size["n_samples"], size["n_features"], size["n_components"], request.param), size


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("library", ["lvmfast", "sklearn"])
def test_em_iteration(benchmark, record, gmm_data, covariance_type, library, n_threads):
    """Time per EM iteration: the difference between fits of 6 and 1
    iterations from the same parameters, divided by 5."""
    X, size = gmm_data
    start = gmm_starting_point(X, size["n_components"], covariance_type)
    benchmark.group = f"em-{covariance_type}-{X.dtype.name}"
    with threadpool_limits(n_threads, user_api="openmp"), threadpool_limits(n_threads, user_api="blas"):
        short, long = gmm_fit(library, X, covariance_type, start, 1), gmm_fit(library, X, covariance_type, start, 6)
        assert long().n_iter_ == 6
        seconds = (median_seconds(long, repeats=2) - median_seconds(short, repeats=2)) / 5
        benchmark.pedantic(long, rounds=1, iterations=1)
    record(f"EM iteration {covariance_type} {X.dtype.name} (N={len(X)}, D={X.shape[1]}, K={size['n_components']})", library, seconds)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_peak_memory(record, covariance_type, request):
    """Peak memory of a fit above X at N = 2,000,000, D = 16, K = 16 (X is
    256 MB), each library in a fresh process; lvmfast must stay under
    64 MB + 10% of X."""
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("peak memory is measured through Linux's /proc")
    n_samples = 200_000 if request.config.getoption("--quick") else 2_000_000
    x_mb = n_samples * 16 * 8 / 2**20
    here = os.path.dirname(__file__)
    peaks = {}
    for library in ("lvmfast", "sklearn"):
        out = subprocess.run(
            [sys.executable, os.path.join(here, "peak_memory.py"), library, covariance_type, str(n_samples)],
            capture_output=True, text=True, check=True, cwd=here,
        )
        peaks[library] = float(out.stdout.strip().splitlines()[-1])
    case = f"fit peak memory above X, MB, {covariance_type} (N={n_samples}, X = {x_mb:.0f} MB)"
    record(case, "lvmfast", peaks["lvmfast"], note=f"{peaks['sklearn'] / peaks['lvmfast']:.0f}x less")
    record(case, "sklearn", peaks["sklearn"])
    assert peaks["lvmfast"] < 64 + 0.1 * x_mb
