"""The demo's density comparison: a kernel density estimate beside the
two-component mixture on Old Faithful, and its figure with --plot."""
import pytest

from lvmfast.cli import main


def test_demo_compares_kde_and_mixture_and_draws_them(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "faithful.png"
    assert main(["demo", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert "KernelDensity(bandwidth=" in out and "cross-validation" in out
    rows = {line.split()[0]: float(line.split()[-1]) for line in out.splitlines()
            if line.strip().startswith(("kernel density", "Gaussian mixture"))}
    # held-out mean log-likelihoods of the standardized 2-D data: both near -1.5
    assert set(rows) == {"kernel", "Gaussian"} and all(-2.0 < v < -1.0 for v in rows.values())
    density = tmp_path / "faithful-density.png"
    assert density.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and density.stat().st_size > 10_000
    assert f"figure written to {density}" in out
