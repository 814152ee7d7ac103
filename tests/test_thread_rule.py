"""One rule gives every parallel region its threads (lvmfast._parallel.
threads_for_work): small work runs on one thread, so a busy machine cannot
stall it at a barrier, and the thread count never changes a result."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from threadpoolctl import threadpool_limits

import lvmfast._parallel as parallel
from lvmfast import GaussianMixture, GaussianNB, KMeans, MiniBatchKMeans, kmeans_plusplus
from lvmfast._parallel import WORK_PER_THREAD, threads_for_work


def test_small_work_gets_one_thread():
    assert threads_for_work(0, 16) == 1
    assert threads_for_work(2 * WORK_PER_THREAD - 1, 16) == 1
    assert threads_for_work(2 * WORK_PER_THREAD, 16) == 2
    assert threads_for_work(100 * WORK_PER_THREAD, 16) == 16
    assert threads_for_work(100 * WORK_PER_THREAD, 3) == 3
    # the cases: k-means++ of 1,536 x 2 at K=100 (7 columns per pass),
    # KMeans on iris at K=8
    assert threads_for_work(1536 * 2 * 7, 64) == 1
    assert threads_for_work(150 * 4 * 8, 64) == 1


MODULES = ["lvmfast.cluster._kmeans", "lvmfast.cluster._kmeans_parallel", "lvmfast.cluster._minibatch",
           "lvmfast._gaussian", "lvmfast._validation", "lvmfast.naive_bayes._gaussian"]


@pytest.fixture
def chosen(monkeypatch):
    """Pretend 16 CPUs, and record every thread count the rule gives."""
    import importlib

    counts = []

    def recording(work, n_threads=None):
        counts.append(threads_for_work(work, 16 if n_threads is None else n_threads))
        return counts[-1]

    monkeypatch.setattr(parallel, "effective_n_threads", lambda: 16)
    for name in MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "threads_for_work"):
            monkeypatch.setattr(module, "threads_for_work", recording)
        if hasattr(module, "effective_n_threads"):
            monkeypatch.setattr(module, "effective_n_threads", lambda: 16)
    return counts


def test_small_fits_run_on_one_thread(chosen):
    iris = load_iris().data
    X = np.random.default_rng(0).normal(size=(1536, 2))
    kmeans_plusplus(X, 100, random_state=0)
    KMeans(8, n_init=1, random_state=0).fit(iris).predict(iris)
    KMeans(8, n_init=1, random_state=0, algorithm="elkan").fit(iris)
    KMeans(8, n_init=1, random_state=0, init="k-means||").fit(iris)
    KMeans(8, n_init=1, random_state=0).fit(sp.csr_matrix(iris))
    GaussianMixture(3, random_state=0).fit(iris).predict_proba(iris)
    GaussianNB().fit(iris, np.arange(150) % 3).predict_proba(iris)
    MiniBatchKMeans(20, n_init=3, random_state=0).fit(X)
    assert len(chosen) > 10
    assert set(chosen) == {1}


KERNEL_MODULES = ["_lloyd", "_distances", "_kmeanspp", "_elkan", "_gaussian", "_minibatch", "_sparse", "_oversample", "_responsibilities", "_data"]


def test_every_kernel_call_of_a_small_fit_gets_one_thread(monkeypatch):
    """With 16 threads allowed, every kernel call of the small fits is given
    one: each parallel region, whoever calls it, is under the rule."""
    import importlib
    import inspect
    import sys

    kernels = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(f"lvmfast._kernels.{name}")
        for attr in dir(module):
            func = getattr(module, attr)
            if callable(func) and not attr.startswith("_"):
                try:
                    params = list(inspect.signature(func).parameters)
                except (TypeError, ValueError):
                    continue
                if "n_threads" in params:
                    kernels[id(func)] = (func, params)
    given = []

    def recorder(func, params):
        def call(*args, **kwargs):
            bound = dict(zip(params, args), **kwargs)
            given.append((func.__name__, bound["n_threads"], bound.get("search_threads", 0) or bound["n_threads"]))
            return func(*args, **kwargs)
        return call

    monkeypatch.setattr(parallel, "effective_n_threads", lambda: 16)
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("lvmfast.") or module_name.startswith("lvmfast._kernels"):
            continue
        for attr, value in list(vars(module).items()):
            if attr == "effective_n_threads":
                monkeypatch.setattr(module, attr, lambda: 16)
            elif id(value) in kernels:
                monkeypatch.setattr(module, attr, recorder(*kernels[id(value)]))
            elif getattr(value, "__name__", "").startswith("lvmfast._kernels.") and attr in KERNEL_MODULES + ["kernels"]:
                for kernel_attr in dir(value):
                    kernel = getattr(value, kernel_attr)
                    if id(kernel) in kernels:
                        monkeypatch.setattr(value, kernel_attr, recorder(*kernels[id(kernel)]))
    iris = load_iris().data
    X = np.random.default_rng(0).normal(size=(1536, 2))
    kmeans_plusplus(X, 100, random_state=0)
    KMeans(8, n_init=1, random_state=0).fit(iris).transform(iris)
    KMeans(8, n_init=1, random_state=0, algorithm="elkan").fit(iris)
    KMeans(8, n_init=1, random_state=0, init="k-means||").fit(iris)
    KMeans(8, n_init=1, random_state=0).fit(sp.csr_matrix(iris)).predict(sp.csr_matrix(iris))
    GaussianMixture(3, random_state=0).fit(iris).predict_proba(iris)
    GaussianNB().fit(iris, np.arange(150) % 3).predict_proba(iris)
    MiniBatchKMeans(20, n_init=3, random_state=0).fit(X)
    called = {name for name, _, _ in given}
    assert {"kmeans_plusplus", "lloyd_step", "bounded_step", "em_pass", "log_prob", "class_pass"} <= called, called
    assert [g for g in given if g[1:] != (1, 1)] == []


def test_large_work_gets_the_threads(chosen):
    X = np.zeros((200_000, 40))
    assert threads_for_work(X.size * 64) == 16
    from lvmfast.cluster._kmeans import _rows

    assert _rows(X, 64, 16).n_threads == 16
    assert _rows(X[:100], 64, 16).n_threads == 1


def _fits(X):
    out = []
    centers, indices = kmeans_plusplus(X, 30, random_state=0)
    out += [centers, indices]
    for algorithm in ("lloyd", "elkan"):
        km = KMeans(30, n_init=1, random_state=0, algorithm=algorithm).fit(X)
        out += [km.cluster_centers_, km.labels_, km.inertia_, km.transform(X[:500])]
    km = KMeans(30, n_init=1, random_state=0, init="k-means||").fit(X)
    out += [km.cluster_centers_, km.inertia_]
    km = KMeans(30, n_init=1, random_state=0).fit(sp.csr_matrix(X))
    out += [km.cluster_centers_, km.inertia_]
    mb = MiniBatchKMeans(30, n_init=1, random_state=0, batch_size=2048, max_iter=3).fit(X)
    out += [mb.cluster_centers_]
    gm = GaussianMixture(4, covariance_type="full", max_iter=5, random_state=0).fit(X)
    out += [gm.means_, gm.covariances_, gm.lower_bound_, gm.score_samples(X[:500])]
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bit_identical_for_any_thread_count(dtype, monkeypatch):
    # every region takes every thread it is allowed (the rule set to its
    # minimum), so the runs on 1 and 2 threads really differ in scheduling
    monkeypatch.setattr(parallel, "WORK_PER_THREAD", 1)
    X = np.random.default_rng(3).normal(size=(6000, 6)).astype(dtype)
    with threadpool_limits(limits=1, user_api="openmp"):
        one = _fits(X)
    with threadpool_limits(limits=2, user_api="openmp"):
        assert parallel.effective_n_threads() == min(2, parallel.usable_cpus())
        two = _fits(X)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
