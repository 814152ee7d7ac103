"""`lvmfast bench`: lvmfast beside scikit-learn on the same data, from the
same starting point, with equal thread counts. The cases live in
lvmfast.bench.cases and are shared with the pytest-benchmark suites."""
