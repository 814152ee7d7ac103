"""`lvmfast demo`'s factor-analysis part: loadings of the wine data."""
from lvmfast.cli import _factor_loadings_example


def test_demo_prints_wine_loadings(capsys):
    _factor_loadings_example()
    out = capsys.readouterr().out
    assert "FactorAnalysis(n_components=3, rotation='varimax')" in out
    rows = [line for line in out.splitlines() if line.strip().startswith(("flavanoids", "proline"))]
    assert len(rows) == 2
    flavanoids = [float(v) for v in rows[0].split()[1:]]
    # flavanoids load almost wholly on one factor: |loading| > 0.9, noise < 0.2
    assert max(abs(v) for v in flavanoids[:3]) > 0.9 and flavanoids[3] < 0.2
