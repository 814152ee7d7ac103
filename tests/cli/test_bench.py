"""The `lvmfast bench` harness: its cases run both libraries, its agreement
column comes from their results, its JSON has every field, and it says what
to install when scikit-learn or matplotlib is missing."""
import io
import json
import sys

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import lvmfast
from lvmfast.bench import cases, data, memory, report, runner
from lvmfast.cli import main

pytest.importorskip("sklearn")

# Small enough for a unit test, large enough to cross several chunks.
TINY = {"n_samples": 3000, "n_features": 5, "n_components": 6, "n_classes": 3}
# Sparse rows need columns to spread over: 40 nonzeros per row in 400.
TINY_BY_CASE = {"kmeans-sparse": {"n_features": 400}}


def tiny_case(key, dtype="float64"):
    return runner.build_case(key, dtype, "quick", {**TINY, **TINY_BY_CASE.get(key, {})})


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", list(cases.CASES))
def test_each_case_runs_both_libraries_and_they_agree(key, dtype):
    case = tiny_case(key, dtype)
    row = runner.compare(case, n_threads=2, repeats=1)
    assert row["lvmfast"]["implementation"].startswith("lvmfast.")
    # the missing-values cases' peer is lvmfast itself on the complete data; the HMMs' is hmmlearn
    peer = "lvmfast." if key.startswith("gmm-missing") else ("sklearn.", "hmmlearn.")
    assert row["sklearn"]["implementation"].startswith(peer)
    for library in ("lvmfast", "sklearn"):
        assert row[library]["fit_seconds"] > 0
        if case.step is not None:
            assert row[library]["step_seconds"] is not None
    assert row["fit_speedup"] == pytest.approx(row["sklearn"]["fit_seconds"] / row["lvmfast"]["fit_seconds"])
    assert row["agreement"]["agrees"], row["agreement"]["text"]
    assert row["size"]["n_samples"] == 3000


def wrong_implementations(model, library):
    """lvmfast's estimators, made to give a wrong answer."""
    right = ORIGINAL_IMPLEMENTATION(model, library)
    if library == "sklearn":
        return right
    if model in ("KMeans", "MiniBatchKMeans"):
        class MovedRow(right):  # fits data with one row moved far away
            def fit(self, X, y=None, sample_weight=None):
                moved = X.copy()
                if scipy.sparse.issparse(moved):
                    moved.data[moved.indptr[0]:moved.indptr[1]] *= 100
                else:
                    moved[0] += 100
                return super().fit(moved)

        return MovedRow
    if model == "kmeans_plusplus":
        return lambda X, k, random_state: right(X, k, random_state=random_state + 1)  # another seed
    if model == "kmeans_seeding":  # k-means||: its inertia comes from the KMeans fit, made wrong above
        return right
    if model == "GaussianMixtureIC":
        class WorstPick(right):  # keeps the model of the highest criterion
            def fit(self, X, y=None, sample_weight=None):
                super().fit(X)
                worst = int(np.argmax(self.results_[self.criterion]))
                self.best_params_ = {"n_components": int(self.results_["n_components"][worst]),
                                     "covariance_type": str(self.results_["covariance_type"][worst])}
                return self

        return WorstPick
    if model == "FactorAnalysis":
        class DroppedRow(right):  # fits all rows but the first
            def fit(self, X, y=None):
                return super().fit(X[1:])

        return DroppedRow
    if model == "MixtureOfFactorAnalyzers":
        class OverRegularizedFactors(right):
            def fit(self, X, y=None):
                self.reg_covar = 50.0
                return super().fit(X)

        return OverRegularizedFactors
    if model == "GaussianHMM":
        class LoweredState(right):  # state 0's emission log-densities lowered by 1 nat
            def _log_emissions(self, X):
                frame = super()._log_emissions(X)
                frame[:, 0] -= 1.0
                return frame

        return LoweredState
    if model in ("GaussianMixture", "BayesianGaussianMixture"):
        class OverRegularized(right):
            def fit(self, X, y=None):
                self.reg_covar = 0.5
                return super().fit(X)

        return OverRegularized
    if model == "KernelDensity":
        class WiderKernel(right):  # a bandwidth 10% too wide
            def fit(self, X, y=None, sample_weight=None):
                self.bandwidth = 1.1 * self.bandwidth
                return super().fit(X, sample_weight=sample_weight)

        return WiderKernel
    class Mislabelling(right):  # the classifiers: one row in 50 gets class 0
        def predict(self, X):
            labels = super().predict(X)
            labels[::50] = self.classes_[0]
            return labels

    return Mislabelling


ORIGINAL_IMPLEMENTATION = cases.implementation


@pytest.fixture(scope="module")
def machine_info():
    return runner.machine(1)


# The missing-values cases set lvmfast beside itself on complete data, with a
# loose sanity tolerance; their exactness is tests/mixture/test_missing_values.py's
# (a NumPy reference EM to 1e-8).
@pytest.mark.parametrize("key", [key for key in cases.CASES if not key.startswith("gmm-missing")])
def test_agreement_shows_a_wrong_result(key, monkeypatch, machine_info):
    monkeypatch.setattr(cases, "implementation", wrong_implementations)
    row = runner.compare(tiny_case(key), n_threads=1, repeats=1)
    agreement = row["agreement"]
    assert not agreement["agrees"]
    assert abs(agreement["value"]) > agreement["tolerance"]
    table = report.markdown({"machine": machine_info, "cases": [row], "scaling": []})
    assert "**differs**" in table


def test_the_command_fails_when_the_results_differ(monkeypatch, capsys):
    monkeypatch.setattr(cases, "implementation", wrong_implementations)
    code = main(["bench", "--quick", "--models", "lloyd", "--dtypes", "float64", "--threads", "1",
                 "--n-samples", "3000", "--n-features", "5", "--n-components", "6", "--repeats", "1", "--no-memory"])
    assert code == 1
    assert "disagree beyond tolerance on: KMeans (Lloyd) float64" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One small `lvmfast bench` run with JSON (and a plot where matplotlib is)."""
    out = tmp_path_factory.mktemp("bench")
    args = ["bench", "--quick", "--models", "lloyd,kmeans++,gmm-diag,gaussian-nb", "--dtypes", "float64,float32",
            "--threads", "1,2", "--n-samples", "3000", "--n-features", "5", "--n-components", "6",
            "--n-classes", "3", "--repeats", "1", "--json", str(out / "bench.json")]
    if report.plot_available():
        args += ["--plot", str(out / "bench.png")]
    assert main(args) == 0
    with open(out / "bench.json") as f:
        return out, json.load(f)


def test_json_has_every_field(small_run):
    _, results = small_run
    assert set(results) == {"machine", "cases", "scaling"}
    assert set(report.MACHINE_FIELDS) <= set(results["machine"])
    assert results["machine"]["lvmfast"] == lvmfast.__version__
    assert set(results["machine"]["gemm_flops"]) == {"float64", "float32"}
    assert [(r["case"], r["dtype"]) for r in results["cases"]] == [
        (key, dtype) for dtype in ("float64", "float32") for key in ("lloyd", "kmeans++", "gmm-diag", "gaussian-nb")
    ]
    for row in results["cases"]:
        assert set(report.ROW_FIELDS) <= set(row)
        assert set(report.AGREEMENT_FIELDS) <= set(row["agreement"])
        for library in ("lvmfast", "sklearn"):
            assert set(report.MEASUREMENT_FIELDS) <= set(row[library])
            assert not any(k.startswith("_") for k in row[library]["summary"])
            if memory.supported():
                assert row[library]["peak_mb"] >= 0
        assert row["threads"] == 2
    assert results["machine"]["read_bandwidth"] > 0
    floors = {r["case"]: (r["floor"], r["floor_seconds"]) for r in results["cases"]}
    assert floors["lloyd"][0] == "GEMM" and floors["lloyd"][1] > 0
    assert floors["gmm-diag"][0] == "GEMM+exp" and floors["gmm-diag"][1] > 0
    assert floors["gaussian-nb"][0] == "GEMM+exp" and floors["gaussian-nb"][1] > 0
    assert set(results["machine"]["exp_rate"]) == {"float64", "float32"}
    assert [s["case"] for s in results["scaling"]] == ["lloyd", "kmeans++", "gaussian-nb"]
    for s in results["scaling"]:
        assert set(report.SCALING_FIELDS) <= set(s)
        assert s["threads"] == [1, 2] and s["speedup"][0] == 1.0 and len(s["seconds"]) == 2


def test_the_table_shows_every_case(small_run, capsys):
    _, results = small_run
    table = report.markdown(results)
    comparison, scaling = table.split("Thread scaling")
    lines = comparison.splitlines()
    assert sum(line.startswith("| KMeans (Lloyd) |") for line in lines) == 2
    assert sum(line.startswith("| ") for line in lines) == 2 + len(results["cases"])
    assert "| 1 thread | 2 threads |" in scaling
    header = next(line for line in lines if line.startswith("| case |"))
    row = next(line for line in lines if line.startswith("| KMeans (Lloyd) | float64"))
    assert header.count("|") == row.count("|")


def test_plot_is_a_png(small_run):
    pytest.importorskip("matplotlib")
    out, _ = small_run
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_names_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["bench", "--quick", "--plot", str(tmp_path / "p.png")]) == 2
    assert "pip install 'lvmfast[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("args,message", [
    (["--models", "lloyd,svm"], "unknown model 'svm'"),
    (["--dtypes", "float16"], "not float16"),
])
def test_bad_options_are_named(args, message, capsys):
    with pytest.raises(SystemExit) as info:  # a usage error, before any work
        main(["bench", "--quick", *args])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--threads", "0"], ["--threads", "two"], ["--n-samples", "-5"], ["--repeats", "0"]])
def test_bad_numbers_are_usage_errors(args):
    with pytest.raises(SystemExit) as info:
        main(["bench", *args])
    assert info.value.code == 2


def test_groups_and_thread_counts():
    # a group expands in its order, a case named twice runs once
    assert runner.select_cases(["kmeans", "lloyd", "gaussian-nb"]) == [*cases.GROUPS["kmeans"], "gaussian-nb"]
    assert runner.select_cases(["gaussian-nb", "lloyd", "gmm"]) == ["gaussian-nb", "lloyd", *cases.GROUPS["gmm"]]
    assert runner.select_cases(None) == list(cases.CASES)
    assert runner.default_thread_counts(1) == [1]
    assert runner.default_thread_counts(6) == [1, 2, 4, 6]
    assert runner.default_thread_counts(16) == [1, 2, 4, 8, 16]


def test_progress_line():
    log = io.StringIO()
    progress = runner.Progress(2, log)
    progress.step("first")
    progress.step("second")
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("[1/2") and lines[0].endswith("first") and lines[1].startswith("[2/2")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    progress = runner.Progress(2, screen)
    progress.step("a longer first step")
    progress.step("second")
    progress.close()
    assert "\n" not in screen.getvalue() and screen.getvalue().count("\r") >= 3


@pytest.mark.skipif(not memory.supported(), reason="peak memory is measured through Linux's /proc")
def test_peak_memory_sees_an_allocation(monkeypatch):
    """measure_here reports what the memory run allocates above the data."""

    class Allocates(cases.GaussianNBCase):
        key, sizes = "allocates", {"full": {"n_samples": 1}}

        def _make_data(self):
            return np.ones(10 * 2**20 // 8)  # 10 MiB of data: not counted

        def memory_run(self, library):
            block = np.ones(self.size["n_samples"] * 2**20 // 8)  # n_samples MiB, touched
            return block.sum()

    monkeypatch.setattr(cases, "make_case", lambda key, dtype, size: Allocates(dtype, **size))
    peak = memory.measure_here("allocates", "float64", {"n_samples": 40}, "lvmfast", 1)
    assert 39 < peak < 46


@pytest.mark.skipif(not memory.supported(), reason="peak memory is measured through Linux's /proc")
def test_memory_probe_runs_each_library_in_a_fresh_process():
    case = tiny_case("gmm-full")
    with memory.MemoryProbe() as probe:
        peaks = [probe.peak_mb(case, library, 1) for library in ("lvmfast", "sklearn")]
    assert all(p >= 0 for p in peaks)


@pytest.mark.skipif(not memory.supported(), reason="peak memory is measured through Linux's /proc")
def test_memory_server_imports_this_lvmfast_whatever_the_working_folder(tmp_path, monkeypatch):
    """A source tree in the working folder (as in CI, where lvmfast is the
    installed build) must not shadow the lvmfast the server measures."""
    shadow = tmp_path / "lvmfast"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('the shadowing source tree was imported')\n")
    monkeypatch.chdir(tmp_path)
    with memory.MemoryProbe() as probe:
        assert probe.peak_mb(tiny_case("gmm-diag"), "lvmfast", 1) >= 0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sparse_kmeans_agrees_at_the_quick_size(dtype):
    """The sparse case at --quick size: both libraries fit the CSR matrix
    itself, reach the same inertia, and label every row alike."""
    case = runner.build_case("kmeans-sparse", dtype, "quick", {})
    assert case.size == {"n_samples": 20_000, "n_features": 5_000, "n_components": 20, "nnz_per_row": 50}
    row = runner.compare(case, n_threads=2, repeats=1,
                         rates={"gemm_flops": {dtype: 1e10}, "read_bandwidth": 1e10})
    assert row["agreement"]["agrees"], row["agreement"]["text"]
    assert row["agreement"]["share_labelled_differently"] == 0, row["agreement"]["text"]
    assert "labelled differently" in row["agreement"]["text"]
    assert row["lvmfast"]["summary"]["n_iter"] == row["sklearn"]["summary"]["n_iter"] > 2
    for library in ("lvmfast", "sklearn"):
        assert row[library]["step_seconds"] > 0
    X, _ = case.data()
    assert row["floor"] == "read X"
    assert row["floor_seconds"] == pytest.approx((X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 1e10)
    assert row["size_text"] == "N=20000 D=5000 K=20 nnz/row=50 (1% dense)"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_documents_are_tf_idf_like(dtype):
    X, topic = data.sparse_documents(5000, 2000, 10, 50, dtype)
    assert isinstance(X, scipy.sparse.csr_matrix) and X.shape == (5000, 2000) and X.dtype == dtype
    assert X.has_canonical_format
    assert X.indices.dtype == X.indptr.dtype == np.int32  # as lvmfast takes them, without a copy
    assert np.all(np.diff(X.indptr) > 0) and X.data.min() > 0
    np.testing.assert_allclose(scipy.sparse.linalg.norm(X, axis=1), 1, rtol=1e-5)
    assert 45 < X.nnz / X.shape[0] < 55
    df = np.sort(np.bincount(X.indices, minlength=X.shape[1]))[::-1]
    assert df[:20].sum() > 0.15 * X.nnz and df[0] > 0.3 * X.shape[0]  # 1% of the terms: common
    assert np.median(df) < 0.02 * X.shape[0]  # most terms: rare
    # Topics: a row shares more terms with rows of its topic than with others.
    same, other = (topic[:, None] == topic[None, :200])[:200], (topic[:, None] != topic[None, :200])[:200]
    overlap = (X[:200] @ X[:200].T).toarray()
    assert overlap[same & ~np.eye(200, dtype=bool)].mean() > 1.5 * overlap[other].mean()
    again, _ = data.sparse_documents(5000, 2000, 10, 50, dtype)
    assert (X != again).nnz == 0


def test_sparse_case_caps_its_density_at_small_d():
    case = runner.build_case("kmeans-sparse", "float64", "quick", {"n_samples": 500, "n_features": 30})
    X, init = case.data()
    assert case.size["nnz_per_row"] == 3 and init.shape == (20, 30)
    assert np.all(np.diff(X.indptr) >= 1)


def test_gaussian_floors_count_products_exps_and_reads():
    """The mixture and classifier floors from made-up rates: arithmetic
    (flops at the gemm rate plus exps at the exp rate) or the reads,
    whichever is longer."""
    rates = {"gemm_flops": {"float64": 1e11}, "exp_rate": {"float64": 1e9}, "read_bandwidth": 1e10}
    n, d, k = 1000, 4, 3
    diag = cases.make_case("gmm-diag", "float64", {"n_samples": n, "n_features": d, "n_components": k})
    assert diag.floor_seconds(rates) == pytest.approx(8 * n * k * d / 1e11 + n * k / 1e9)
    full = cases.make_case("gmm-full", "float64", {"n_samples": n, "n_features": d, "n_components": k})
    assert full.floor_seconds(rates) == pytest.approx(4 * n * k * d * d / 1e11 + n * k / 1e9)
    # a slow memory makes the read of X the floor
    slow = {**rates, "read_bandwidth": 1e3}
    assert diag.floor_seconds(slow) == pytest.approx(n * d * 8 / 1e3)
    nb = cases.make_case("gaussian-nb", "float64", {"n_samples": n, "n_features": d, "n_classes": k})
    # predict_proba reads X and writes N x K probabilities: here the reads
    io = (n * d + n * k) * 8 / 1e10
    assert nb.floor_seconds(rates) == pytest.approx(max(4 * n * k * d / 1e11 + n * k / 1e9, io)) == io
    qda = cases.make_case("gaussian-classifier", "float64", {"n_samples": n, "n_features": d, "n_classes": k})
    assert qda.floor_seconds(rates) == pytest.approx(max(2 * n * k * d * d / 1e11 + n * k / 1e9, io))
