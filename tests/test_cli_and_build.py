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
