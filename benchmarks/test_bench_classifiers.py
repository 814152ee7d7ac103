"""Gaussian classifiers: GaussianNB, and the full Gaussian classifier beside
QuadraticDiscriminantAnalysis, fit and predict_proba on the same data with
equal thread counts."""
import pytest

from lvmfast.bench.cases import GROUPS


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", GROUPS["classifiers"])
def test_classifier(run_case, key, dtype):
    row = run_case(key, dtype)
    assert row["agreement"]["agrees"], row["agreement"]["text"]
