"""The lvmfast command, the shipped data, and the build's OpenMP."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import lvmfast
from lvmfast.cli import main
from lvmfast.datasets import load_faithful


def test_faithful_is_shipped():
    X, names = load_faithful()
    assert X.shape == (272, 2) and names == ["eruptions", "waiting"]
    assert X[0].tolist() == [3.6, 79.0]


def test_demo_prints_the_clusters(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Old Faithful: 272 eruptions" in out
    assert "KMeans(n_clusters=2)" in out
    # the two clusters are the short and the long eruptions
    kmeans_part, gmm_part = out.split("GaussianMixture(n_components=2)")
    gmm_part = gmm_part.split("BayesianGaussianMixture")[0]
    rows = [line.split() for line in kmeans_part.splitlines() if line.strip()[:1].isdigit()]
    sizes = sorted(int(r[1]) for r in rows)
    assert sum(sizes) == 272 and len(sizes) == 2 and min(sizes) > 80
    # the mixture: two components, weights summing to 1, short and long eruptions
    rows = [line.split() for line in gmm_part.splitlines() if line.strip()[:1].isdigit()]
    weights = [float(r[1]) for r in rows]
    assert len(rows) == 2 and abs(sum(weights) - 1) < 2e-3
    assert float(rows[0][2]) < 3 < float(rows[1][2])
    # the two-class example: both models, near the true parameters
    assert "GaussianClassifier('full')" in out and "GaussianClassifier('diag')" in out
    assert out.count("(true 0.6)") == 2 and out.count("(true 0.4)") == 2
    # the Bayesian mixture keeps the two clusters of its six components
    assert "BayesianGaussianMixture(n_components=6" in out and "2 components kept" in out
    # the BIC curve over K has its lowest point at 2
    curve = [line.split() for line in out.splitlines() if line.strip().startswith("K=")]
    assert [row[0] for row in curve] == [f"K={k}" for k in range(1, 7)]
    assert [row[0] for row in curve if "lowest" in " ".join(row)] == ["K=2"]
    # the two classes from 1% of the labels: EM near the supervised fit, the labelled rows alone farther
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("1% labelled")]
    em, alone = rows
    assert em[2:4] == ["+", "EM"] and alone[2] == "only"
    assert float(em[-2]) < 0.02 and float(em[-1].rstrip("%")) < 2.0
    assert float(alone[-2]) > float(em[-2]) and float(alone[-1].rstrip("%")) > float(em[-1].rstrip("%"))


def test_demo_plot_writes_a_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "faithful.png"
    assert main(["demo", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert f"figure written to {path}" in capsys.readouterr().out


def test_python_dash_m_and_console_script(tmp_path):
    # From a neutral directory, so that -m finds the installed package.
    out = subprocess.run(
        [sys.executable, "-m", "lvmfast", "demo", "--clusters", "3"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout
    assert "KMeans(n_clusters=3)" in out
    script = shutil.which("lvmfast")
    if script is None:
        pytest.skip("the lvmfast console script is not installed in this environment")
    demo = subprocess.run([script, "demo"], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert "KMeans(n_clusters=2)" in demo.stdout


def test_bad_command_exits_with_usage():
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


@pytest.mark.skipif(os.environ.get("LVMFAST_REQUIRE_OPENMP") != "1", reason="only where the build had to use OpenMP")
def test_openmp_is_enabled_when_required():
    assert lvmfast.openmp_enabled()


def test_thread_count_follows_threadpoolctl():
    from threadpoolctl import threadpool_limits

    from lvmfast._parallel import effective_n_threads

    if not lvmfast.openmp_enabled():
        assert effective_n_threads() == 1
        return
    with threadpool_limits(1, user_api="openmp"):
        assert effective_n_threads() == 1
    assert effective_n_threads() >= 1
    assert effective_n_threads() <= (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


def test_public_names():
    assert {"KMeans", "kmeans_plusplus"} <= set(lvmfast.__all__)
    assert isinstance(lvmfast.__version__, str)
    np.testing.assert_array_equal(lvmfast.kmeans_plusplus(np.eye(3), 3, random_state=0)[0].sum(axis=0), np.ones(3))


def usage_error(argv, capsys):
    """The exit code and stderr of `lvmfast argv`, which must stop before
    any work (nothing on stdout)."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    return info.value.code, captured.err


@pytest.mark.parametrize("argv, message", [
    (["demo", "--clusters", "0"], "--clusters: expected a positive integer, got '0'"),
    (["demo", "--clusters", "273"], "--clusters: expected at most 272 (the Old Faithful eruptions), got 273"),
    (["demo", "--seed", "-1"], "--seed: expected an integer from 0 to 4294967295, got '-1'"),
    (["demo", "--seed", str(2**32)], "--seed: expected an integer from 0 to 4294967295"),
    (["bench", "--n-classes", "1"], "--n-classes: expected an integer >= 2, got '1'"),
    (["bench", "--dtypes", ","], "--dtypes: expected comma-separated names, got ','"),
    (["bench", "--dtypes", "float16"], "--dtypes: expected float64 and/or float32, not float16"),
    (["bench", "--models", ","], "--models: expected comma-separated names, got ','"),
    (["bench", "--models", "lloyd,nothing"], "--models: unknown model 'nothing'"),
    (["bench", "--quick", "--models", "lloyd", "--n-samples", "5", "--n-components", "10"],
     "lloyd needs n_samples >= n_components; got n_samples=5, n_components=10"),
    (["bench", "--quick", "--models", "gaussian-nb", "--n-samples", "5", "--n-classes", "10"],
     "gaussian-nb needs n_samples >= n_classes; got n_samples=5, n_classes=10"),
    (["bench", "--quick", "--models", "gmm-select", "--n-samples", "6"],
     "gmm-select needs n_samples >= 8"),
])
def test_bad_arguments_are_usage_errors_before_any_work(argv, message, capsys):
    code, err = usage_error(argv, capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize("command", [["demo"], ["bench", "--quick", "--models", "lloyd"]])
@pytest.mark.parametrize("option", ["--plot", "--json"])
def test_unwritable_output_paths_are_usage_errors_before_any_work(command, option, tmp_path, capsys):
    if command == ["demo"] and option == "--json":
        pytest.skip("demo has no --json")
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for path in (tmp_path / "missing" / "out.png", a_file / "out.png", tmp_path):
        code, err = usage_error([*command, option, str(path)], capsys)
        assert code == 2
        assert f"{option}: cannot write {str(path)!r}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # nothing created


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions: needs a non-root POSIX user")
def test_read_only_folder_is_a_usage_error(tmp_path, capsys):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, err = usage_error(["bench", "--json", str(folder / "out.json")], capsys)
    finally:
        folder.chmod(0o700)
    assert code == 2 and "--json: cannot write" in err


def test_writable_output_path_is_left_alone(tmp_path):
    from lvmfast.cli import _output_path

    path = tmp_path / "out.json"
    assert _output_path(str(path)) == str(path)
    assert not path.exists()
    path.write_text("kept")
    assert _output_path(str(path)) == str(path)
    assert path.read_text() == "kept"
