"""GaussianMixture and BayesianGaussianMixture: EM and variational
iterations beside scikit-learn from the same parameters with equal thread
counts, and the peak memory of a large fit."""
import pytest

from lvmfast.bench.cases import GROUPS
from lvmfast.bench.memory import supported
from lvmfast.bench.runner import build_case


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", GROUPS["gmm"] + GROUPS["gmm-normal"] + GROUPS["bgm"])
def test_gaussian_mixture(run_case, key, dtype):
    row = run_case(key, dtype)
    assert row["agreement"]["agrees"], row["agreement"]["text"]


@pytest.mark.parametrize("key", GROUPS["gmm"] + GROUPS["bgm"])
def test_peak_memory_bound(key, size_name, n_threads, memory_probe):
    """A fit at N = 2,000,000, D = 16, K = 16 (X is 244 MiB) stays under
    64 MiB + 10% of X above X (scikit-learn's takes about 1.5 GiB)."""
    if not supported():
        pytest.skip("peak memory is measured through Linux's /proc")
    case = build_case(key, "float64", size_name, {"n_samples": 2_000_000 if size_name == "full" else 200_000})
    x_mib = case.size["n_samples"] * case.size["n_features"] * 8 / 2**20
    peak = memory_probe.peak_mb(case, "lvmfast", n_threads)
    print(f"\n{case.title} fit peak above X: {peak:.1f} MiB (X = {x_mib:.0f} MiB)")
    assert peak < 64 + 0.1 * x_mib


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_choosing_k_by_bic(run_case, dtype):
    """GaussianMixtureIC picks scikit-learn's (n_components, covariance_type)
    on a known 5-component mixture; its time beside the fits one after
    another is in the row."""
    row = run_case("gmm-select", dtype)
    assert row["agreement"]["agrees"], row["agreement"]["text"]
