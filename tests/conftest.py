import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_pycollect_makeitem(collector, name, obj):
    """Let a test module hand pytest a collector of its own: a module-level
    object whose type defines ``pytest_make_collector(parent, name)`` is
    collected as what that returns. tests/sklearn_compat/test_sklearn_suite.py uses this to
    collect scikit-learn's test files from rewritten source."""
    if getattr(type(obj), "pytest_make_collector", None) is not None:
        return obj.pytest_make_collector(collector, name)
    return None


# Hypothesis profiles for the property tests (tests/properties/).
# "ci" (the default) is small and derandomized: each test draws its examples
# from a seed made from its own source, so the suite is quick and gives the
# same examples in any order. "thorough" searches far longer, from one seed
# for the session: --hypothesis-seed=N, or a random one that the header
# prints (rerun with it to see the same examples). Every test draws from
# Random(seed) itself, whatever ran before it, and no example database is
# kept between runs: a run depends only on its profile and seed. Select a
# profile with --hypothesis-profile=NAME or the LVMFAST_HYPOTHESIS_PROFILE
# environment variable (the option wins).
try:
    import os
    import random

    from hypothesis import HealthCheck, Phase, settings
except ImportError:  # hypothesis is only needed by the property tests
    pass
else:
    _relaxed = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    # ci does not shrink: failures are reported as found, without spending
    # the run minimizing them.
    settings.register_profile(
        "ci", max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=_relaxed,
        print_blob=True, phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    settings.register_profile(
        "thorough", max_examples=1000, deadline=None, database=None, suppress_health_check=_relaxed,
        print_blob=True,
    )
    settings.load_profile(os.environ.get("LVMFAST_HYPOTHESIS_PROFILE", "ci"))

    def _profile(config):
        return config.getoption("hypothesis_profile", None) or os.environ.get("LVMFAST_HYPOTHESIS_PROFILE", "ci")

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(config):
        """Before hypothesis's plugin reads --hypothesis-seed: a random
        session seed for the thorough profile where none was given (without
        one, hypothesis seeds each test from a stream shared by all tests,
        so a test's examples would depend on the tests run before it)."""
        if _profile(config) == "thorough" and config.getoption("hypothesis_seed", None) is None:
            config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))

    def _seed_line(config):
        seed = config.getoption("hypothesis_seed", None)
        if _profile(config) == "thorough" and seed is not None:
            return f"lvmfast thorough property profile, --hypothesis-seed={seed}"
        return None

    def pytest_report_header(config):
        return _seed_line(config)

    def pytest_terminal_summary(terminalreporter, exitstatus, config):
        """The seed again at the end (-q hides the header)."""
        line = _seed_line(config)
        if line:
            terminalreporter.write_line(line)
