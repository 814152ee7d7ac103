"""scikit-learn's own tests, run against lvmfast.

lvmfast claims scikit-learn's interface for KMeans, MiniBatchKMeans,
kmeans_plusplus, k_means, GaussianMixture, BayesianGaussianMixture, GaussianNB,
FactorAnalysis and KernelDensity. The strongest check
of that claim is scikit-learn's own test files, so this module runs them -- read from the
installed scikit-learn, never copied here -- with the imports of those public
names rewritten to lvmfast's:

    from sklearn.cluster import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus
    from sklearn.cluster import BisectingKMeans
becomes
    from lvmfast.cluster import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus
    from sklearn.cluster import BisectingKMeans
(a name lvmfast lacks becomes a placeholder that raises MissingInLvmfast).

Everything else (private helpers, datasets, testing utilities, the other
estimators) still comes from scikit-learn. The rewrite is done on the syntax
tree, so line numbers, and therefore tracebacks, match the installed file;
pytest's assertion rewriting is applied as for any test file.

How it is collected: each SklearnTestFile below is turned into a
pytest.Module child of this module by the pytest_pycollect_makeitem hook in
tests/conftest.py; its node ids read
    tests/sklearn_compat/test_sklearn_suite.py::test_k_means::test_kmeans_results[42-float64-lloyd]
The fixtures scikit-learn's conftest gives these files (global_random_seed,
global_dtype) are defined here with scikit-learn's defaults: seed 42 unless
SKLEARN_TESTS_GLOBAL_RANDOM_SEED says otherwise; float32 runs too unless
SKLEARN_RUN_FLOAT32_TESTS=0.

Expected outcomes, keyed by file then by test name -- the whole test
(``test_x``) or one parametrization (``test_x[42-float64-lloyd]``):

* SKIPPED: tests of scikit-learn's own code (its private helpers, and the
  estimators lvmfast does not have: BisectingKMeans, the discrete naive Bayes
  classes). A parametrization whose parameters include one of those
  estimators is skipped by rule, without an entry.
* XFAIL: what lvmfast does differently on purpose (with the reason):
  xfail(strict=True), so the day it passes the entry must go.
* KNOWN_BUGS: what should pass and does not yet, with its root cause:
  xfail(strict=False). Delete an entry when its bug is fixed.
"""
import ast
import importlib
import os
import re
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

import lvmfast

# The scikit-learn version the expectation tables below were written against.
SKLEARN_VERSION_TARGETED = "1.9.1"

# Public scikit-learn modules whose names lvmfast provides, and where.
LVMFAST_NAMES = {
    "sklearn.cluster": ("lvmfast.cluster", ("KMeans", "MiniBatchKMeans", "kmeans_plusplus", "k_means")),
    "sklearn.mixture": ("lvmfast.mixture", ("BayesianGaussianMixture", "GaussianMixture")),
    "sklearn.naive_bayes": ("lvmfast.naive_bayes", ("GaussianNB",)),
    "sklearn.decomposition": ("lvmfast.decomposition", ("FactorAnalysis",)),
    "sklearn.neighbors": ("lvmfast.neighbors", ("KernelDensity",)),
}

# Estimators of scikit-learn that lvmfast does not have: a parametrization
# over one of them tests scikit-learn, and is skipped.
FOREIGN_ESTIMATORS = {
    "sklearn.cluster": ("BisectingKMeans",),
    "sklearn.naive_bayes": ("MultinomialNB", "BernoulliNB", "CategoricalNB", "ComplementNB"),
}


# ---------------------------------------------------------------------------
# Expected outcomes

_DISCRETE_NB = "tests scikit-learn's discrete naive Bayes classes only; lvmfast has none"

SKIPPED = {
    "test_kde": {},
    "test_k_means": {
        "test_relocate_empty_clusters": "tests scikit-learn's private _relocate_empty_clusters_dense/_sparse",
        "test_minibatch_update_consistency": "tests scikit-learn's private _mini_batch_step and _labels_inertia",
        "test_minibatch_reassign": (
            "tests scikit-learn's private _mini_batch_step (lvmfast's step is tested in test_minibatch_kmeans.py)"
        ),
        "test_euclidean_distance": "tests scikit-learn's private _euclidean_dense_dense_wrapper/_sparse_dense_wrapper",
        "test_inertia": "tests scikit-learn's private _inertia_dense/_inertia_sparse",
        "test_is_same_clustering": "tests scikit-learn's private _is_same_clustering",
        "test_sample_weight_init": "calls scikit-learn's private _BaseKMeans._init_centroids(X, x_squared_norms, ...)",
        "test_sample_weight_zero": "calls scikit-learn's private _BaseKMeans._init_centroids(X, x_squared_norms, ...)",
    },
    "test_gaussian_mixture": {
        "test_suffstat_sk_full": "tests scikit-learn's private _estimate_gaussian_covariances_full",
        "test_suffstat_sk_tied": "tests scikit-learn's private _estimate_gaussian_covariances_tied",
        "test_suffstat_sk_diag": "tests scikit-learn's private _estimate_gaussian_covariances_diag",
        "test_gaussian_suffstat_sk_spherical": "tests scikit-learn's private _estimate_gaussian_covariances_spherical",
        "test_compute_log_det_cholesky": "tests scikit-learn's private _compute_log_det_cholesky",
        "test_gaussian_mixture_log_probabilities": "tests scikit-learn's private _estimate_log_gaussian_prob",
        "test_gaussian_mixture_precisions_init": "calls scikit-learn's private BaseMixture._set_parameters and _initialize(X, resp)",
        "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
            "counts calls of scikit-learn's private _estimate_gaussian_parameters, which lvmfast never calls"
        ),
    },
    "test_bayesian_mixture": {
        "test_log_dirichlet_norm": "tests scikit-learn's private _log_dirichlet_norm",
        "test_log_wishart_norm": "tests scikit-learn's private _log_wishart_norm",
        "test_compare_covar_type": "calls scikit-learn's private BaseMixture._check_parameters and _initialize_parameters",
    },
    "test_factor_analysis": {},
    "test_naive_bayes": {
        "test_gnb_check_update_with_no_data": "tests scikit-learn's private GaussianNB._update_mean_variance",
        "test_discretenb_prior": _DISCRETE_NB,
        "test_discretenb_partial_fit": _DISCRETE_NB,
        "test_discretenb_predict_proba": _DISCRETE_NB,
        "test_discretenb_uniform_prior": _DISCRETE_NB,
        "test_discretenb_provide_prior": _DISCRETE_NB,
        "test_discretenb_provide_prior_with_partial_fit": _DISCRETE_NB,
        "test_discretenb_sample_weight_multiclass": _DISCRETE_NB,
        "test_discretenb_degenerate_one_class_case": _DISCRETE_NB,
        "test_mnnb": _DISCRETE_NB,
        "test_mnb_prior_unobserved_targets": _DISCRETE_NB,
        "test_bnb": _DISCRETE_NB,
        "test_bnb_feature_log_prob": _DISCRETE_NB,
        "test_cnb": _DISCRETE_NB,
        "test_categoricalnb": _DISCRETE_NB,
        "test_categoricalnb_with_min_categories": _DISCRETE_NB,
        "test_categoricalnb_min_categories_errors": _DISCRETE_NB,
        "test_alpha": _DISCRETE_NB,
        "test_alpha_vector": _DISCRETE_NB,
        "test_check_alpha": _DISCRETE_NB,
    },
}

_EUCLIDEAN_ONLY = "lvmfast's KernelDensity evaluates Euclidean distances only and refuses other metrics"

XFAIL = {
    "test_kde": {
        "test_kde_algorithm_metric_choice[manhattan-auto]": _EUCLIDEAN_ONLY,
        "test_kde_algorithm_metric_choice[manhattan-ball_tree]": _EUCLIDEAN_ONLY,
        "test_kde_algorithm_metric_choice[manhattan-kd_tree]": _EUCLIDEAN_ONLY,
        "test_kde_algorithm_metric_choice[chebyshev-auto]": _EUCLIDEAN_ONLY,
        "test_kde_algorithm_metric_choice[chebyshev-ball_tree]": _EUCLIDEAN_ONLY,
        "test_kde_algorithm_metric_choice[chebyshev-kd_tree]": _EUCLIDEAN_ONLY,
        "test_kde_algorithm_metric_choice[haversine-auto]": _EUCLIDEAN_ONLY,
        "test_kde_algorithm_metric_choice[haversine-ball_tree]": _EUCLIDEAN_ONLY,
        "test_kde_sample_weights": _EUCLIDEAN_ONLY + " (the test loops over 'manhattan' and 'chebyshev' too)",
    },
    "test_k_means": {},
    "test_bayesian_mixture": {},
    "test_gaussian_mixture": {
        "test_check_weights": (
            "scikit-learn's range message swaps its numbers ('max value' shows the minimum, 'min value' the"
            " maximum) and the test expects the swap; lvmfast's message gives them the right way round"
        ),
    },
    "test_naive_bayes": {},
    "test_factor_analysis": {},
}

# Should pass and do not yet. Delete an entry when its bug is fixed.

KNOWN_BUGS = {
    "test_kde": {},
    "test_k_means": {},
    "test_bayesian_mixture": {},
    "test_gaussian_mixture": {},
    "test_naive_bayes": {},
    "test_factor_analysis": {},
}


# ---------------------------------------------------------------------------
# scikit-learn's conftest fixtures, with its defaults


def _random_seeds():
    value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if value is None:
        return [42]
    if value == "all":
        return list(range(100))
    if "-" in value:
        start, stop = value.split("-")
        seeds = list(range(int(start), int(stop) + 1))
    else:
        seeds = [int(value)]
    if min(seeds) < 0 or max(seeds) > 99:
        raise ValueError(f"SKLEARN_TESTS_GLOBAL_RANDOM_SEED must be in [0, 99] or 'all', got {value!r}")
    return seeds


@pytest.fixture(params=_random_seeds())
def global_random_seed(request):
    return request.param


# lvmfast keeps float32 data in float32, so its float32 tests run by default
# here (scikit-learn skips them unless asked).
_RUN_FLOAT32 = os.environ.get("SKLEARN_RUN_FLOAT32_TESTS", "1") != "0"


@pytest.fixture(
    params=[
        pytest.param(
            np.float32,
            marks=pytest.mark.skipif(not _RUN_FLOAT32, reason="Set SKLEARN_RUN_FLOAT32_TESTS=1 to run float32 dtype tests"),
        ),
        np.float64,
    ]
)
def global_dtype(request):
    return request.param


# ---------------------------------------------------------------------------
# Rewriting and building the modules


class MissingInLvmfast(Exception):
    """Raised on use of a name scikit-learn's tests import that lvmfast lacks."""


class _Missing:
    """Stands for a public name lvmfast does not provide yet, so that the file
    still imports and only the tests that use the name fail."""

    def __init__(self, module, name):
        self.__module__, self.__name__ = module, name

    def __call__(self, *args, **kwargs):
        raise MissingInLvmfast(f"{self.__module__}.{self.__name__} does not exist")

    def __repr__(self):
        return f"<missing {self.__module__}.{self.__name__}>"


class _ImportRewriter(ast.NodeTransformer):
    def __init__(self):
        self.moved = []  # (lvmfast module, name, bound name, present)
        self.missing = {}  # bound name -> _Missing

    def visit_ImportFrom(self, node):
        if node.level or node.module not in LVMFAST_NAMES:
            return node
        target, provided = LVMFAST_NAMES[node.module]
        moved = [alias for alias in node.names if alias.name in provided]
        if not moved:
            return node
        target_module = importlib.import_module(target)
        present = [alias for alias in moved if hasattr(target_module, alias.name)]
        kept = [alias for alias in node.names if alias.name not in provided]
        statements = []
        if kept:
            statements.append(ast.ImportFrom(module=node.module, names=kept, level=0))
        if present:
            statements.append(ast.ImportFrom(module=target, names=present, level=0))
        for alias in moved:
            bound = alias.asname or alias.name
            is_present = alias in present
            self.moved.append((target, alias.name, bound, is_present))
            if not is_present:
                # Bound before the module runs; the import no longer names it.
                self.missing[bound] = _Missing(target, alias.name)
        if not statements:
            statements.append(ast.Pass())
        return [ast.copy_location(statement, node) for statement in statements]


def build_module(module_name, path, config=None):
    """Execute the scikit-learn test file at `path`, imports rewritten, as a
    new module registered under `module_name`."""
    source = path.read_bytes()
    tree = ast.parse(source, filename=str(path))
    rewriter = _ImportRewriter()
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    try:
        from _pytest.assertion.rewrite import rewrite_asserts
    except ImportError:  # pragma: no cover - plain asserts still work
        pass
    else:
        rewrite_asserts(tree, source, str(path), config)
    code = compile(tree, str(path), "exec", dont_inherit=True)
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    module.__lvmfast_rewritten__ = rewriter.moved
    module.__dict__.update(rewriter.missing)
    sys.modules[module_name] = module  # pickle finds the file's own classes
    with warnings.catch_warnings():
        # scikit-learn registers marks such as thread_unsafe in its conftest
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        exec(code, module.__dict__)
    return module


def _foreign_estimator(value):
    for module_name, names in FOREIGN_ESTIMATORS.items():
        module = importlib.import_module(module_name)
        for name in names:
            cls = getattr(module, name, None)
            if cls is None:
                continue
            if value is cls or isinstance(value, cls):
                return name
    return None


def _lookup(table, item):
    """The reason `table` gives for `item`: its key is the test's name, or its
    name with parameters where '*' stands for any characters."""
    originalname = getattr(item, "originalname", item.name)
    if item.name in table:
        return table[item.name]
    if originalname in table:
        return table[originalname]
    for key, reason in table.items():
        if "*" in key and key.partition("[")[0] == originalname:
            pattern = ".*".join(re.escape(part) for part in key.split("*"))
            if re.fullmatch(pattern, item.name):
                return reason
    return None


def expectation(file_key, item):
    """The mark for one collected test of `file_key`, or None."""
    reason = _lookup(SKIPPED[file_key], item)
    if reason is not None:
        return pytest.mark.skip(reason=reason)
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for value in callspec.params.values():
            foreign = _foreign_estimator(value)
            if foreign is not None:
                return pytest.mark.skip(reason=f"tests scikit-learn's {foreign}; lvmfast has none")
    reason = _lookup(XFAIL[file_key], item)
    if reason is not None:
        return pytest.mark.xfail(reason=reason, strict=True)
    reason = _lookup(KNOWN_BUGS[file_key], item)
    if reason is not None:
        return pytest.mark.xfail(reason=reason, strict=False)
    return None


class SklearnTestModule(pytest.Module):
    """A scikit-learn test file, collected from its rewritten source."""

    def _getobj(self):
        spec = self.sklearn_test_file
        path = spec.path()
        if path is None:
            pytest.skip(f"{spec.dotted} is not installed with this scikit-learn", allow_module_level=True)
        return build_module(f"lvmfast_sklearn_suite_{spec.key}", path, self.config)

    def collect(self):
        for node in super().collect():
            mark = expectation(self.sklearn_test_file.key, node)
            if mark is not None:
                node.add_marker(mark)
            yield node


class SklearnTestFile:
    """One scikit-learn test file; tests/conftest.py collects it as a
    SklearnTestModule (see the module docstring)."""

    def __init__(self, dotted):
        self.dotted = dotted
        self.key = dotted.rpartition(".")[2]

    def path(self):
        import sklearn

        parts = self.dotted.split(".")[1:]
        path = Path(sklearn.__file__).parent.joinpath(*parts[:-1], parts[-1] + ".py")
        return path if path.is_file() else None

    def pytest_make_collector(self, parent, name):
        module = SklearnTestModule.from_parent(
            parent, path=parent.path, name=self.key, nodeid=f"{parent.nodeid}::{self.key}"
        )
        module.sklearn_test_file = self
        return module


sklearn_test_k_means = SklearnTestFile("sklearn.cluster.tests.test_k_means")
sklearn_test_gaussian_mixture = SklearnTestFile("sklearn.mixture.tests.test_gaussian_mixture")
sklearn_test_bayesian_mixture = SklearnTestFile("sklearn.mixture.tests.test_bayesian_mixture")
sklearn_test_naive_bayes = SklearnTestFile("sklearn.tests.test_naive_bayes")
sklearn_test_factor_analysis = SklearnTestFile("sklearn.decomposition.tests.test_factor_analysis")
sklearn_test_kde = SklearnTestFile("sklearn.neighbors.tests.test_kde")


# ---------------------------------------------------------------------------
# The harness itself


def test_imports_are_rewritten_to_lvmfast():
    path = sklearn_test_k_means.path()
    if path is None:
        pytest.skip("scikit-learn's tests are not installed")
    module = build_module("lvmfast_sklearn_suite_check", path)
    try:
        import sklearn.cluster

        assert module.KMeans is lvmfast.KMeans
        assert module.kmeans_plusplus is lvmfast.kmeans_plusplus
        assert module.MiniBatchKMeans is lvmfast.MiniBatchKMeans
        assert module.MiniBatchKMeans is not sklearn.cluster.MiniBatchKMeans
        expected_k_means = getattr(lvmfast.cluster, "k_means", None)
        if expected_k_means is None:
            assert isinstance(module.k_means, _Missing)
            with pytest.raises(MissingInLvmfast):
                module.k_means(np.zeros((3, 1)), 1)
        else:
            assert module.k_means is expected_k_means
    finally:
        del sys.modules["lvmfast_sklearn_suite_check"]


def test_expectation_tables_name_existing_tests():
    """Every entry names a test of its file (of the scikit-learn version the
    tables were written against): a renamed test must not leave a stale entry."""
    import sklearn

    if sklearn.__version__ != SKLEARN_VERSION_TARGETED:
        pytest.skip(f"tables written for scikit-learn {SKLEARN_VERSION_TARGETED}, found {sklearn.__version__}")
    for test_file in (sklearn_test_k_means, sklearn_test_gaussian_mixture, sklearn_test_naive_bayes,
                      sklearn_test_factor_analysis, sklearn_test_kde):
        path = test_file.path()
        if path is None:
            continue
        tests = {node.name for node in ast.parse(path.read_bytes()).body if isinstance(node, ast.FunctionDef)}
        for table in (SKIPPED, XFAIL, KNOWN_BUGS):
            for key in table[test_file.key]:
                assert key.partition("[")[0] in tests, f"{test_file.key}: no test {key!r}"
