import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_pycollect_makeitem(collector, name, obj):
    """Let a test module hand pytest a collector of its own: a module-level
    object whose type defines ``pytest_make_collector(parent, name)`` is
    collected as what that returns. tests/test_sklearn_suite.py uses this to
    collect scikit-learn's test files from rewritten source."""
    if getattr(type(obj), "pytest_make_collector", None) is not None:
        return obj.pytest_make_collector(collector, name)
    return None
