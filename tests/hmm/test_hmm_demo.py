"""`lvmfast demo`'s sequence example: the fitted transition matrix is
printed beside the true one and the Viterbi path finds the true regimes."""
import re

from lvmfast.cli import _sequence_example


def test_sequence_example_recovers_the_regimes(capsys):
    _sequence_example(seed=0, n_samples=5000)
    out = capsys.readouterr().out
    assert "true transitions" in out and "fitted transitions" in out
    accuracy = float(re.search(r"the true regime at ([0-9.]+)% of the steps", out).group(1))
    assert accuracy > 95.0
    rows = [line.split()[1:] for line in out.splitlines() if re.match(r"\s+[0-2]\s+0\.", line)]
    assert len(rows) == 3
    for row in rows:
        true, fitted = map(float, row[:3]), map(float, row[3:])
        assert max(abs(a - b) for a, b in zip(true, fitted)) < 0.03
