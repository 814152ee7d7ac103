"""Gaussian classifiers: GaussianNB fit and predict_proba, and the full
Gaussian classifier's predict beside QuadraticDiscriminantAnalysis, on the
same data with equal thread counts."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cases import CLASSIFIER_SIZES, classifier, labelled_blobs
from test_bench_kmeans import median_seconds

pytest.importorskip("sklearn", reason="the benchmarks compare with scikit-learn: pip install 'lvmfast[bench]'")


@pytest.fixture(scope="module", params=[np.float64, np.float32], ids=lambda t: np.dtype(t).name)
def labelled(request):
    size = CLASSIFIER_SIZES["quick" if request.config.getoption("--quick") else "full"]
    return labelled_blobs(size["n_samples"], size["n_features"], size["n_classes"], request.param)


@pytest.mark.parametrize("kind", ["nb", "full"])
@pytest.mark.parametrize("library", ["lvmfast", "sklearn"])
def test_classifier(benchmark, record, labelled, kind, library, n_threads):
    X, y = labelled
    model = classifier(library, kind)
    what = "GaussianNB" if kind == "nb" else "GaussianClassifier('full') vs QDA"
    size = f"N={X.shape[0]}, D={X.shape[1]}, {len(np.unique(y))} classes, {X.dtype.name}"
    benchmark.group = f"{kind}-{X.dtype.name}"
    with threadpool_limits(n_threads, user_api="openmp"), threadpool_limits(n_threads, user_api="blas"):
        fit = median_seconds(lambda: model.fit(X, y))
        proba = median_seconds(lambda: model.predict_proba(X))
        predict = median_seconds(lambda: model.predict(X))
        benchmark.pedantic(lambda: model.predict(X), rounds=1, iterations=1)
    accuracy = float((model.predict(X) == y).mean())
    record(f"{what} fit ({size})", library, fit)
    record(f"{what} predict_proba ({size})", library, proba)
    record(f"{what} predict ({size})", library, predict)
    record(f"{what} training accuracy ({size})", library, accuracy, note=f"{accuracy:.4f}" if library == "lvmfast" else "")
