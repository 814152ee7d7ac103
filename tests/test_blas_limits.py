"""Concurrent calls leave the BLAS thread counts as they were: the limit is
shared, nested, restored by the last call out and after an error."""
import threading

import numpy as np
import pytest
import threadpoolctl

from lvmfast import GaussianClassifier, GaussianMixture, GaussianNB, KMeans
from lvmfast._parallel import blas_single_thread
from two_class_data import two_blobs


# ---------------------------------------------------------------------------
# Concurrent calls leave the BLAS thread counts as they were


def _thread_counts():
    return sorted((i["internal_api"], i["prefix"], i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info())


def _run_in_threads(functions):
    results, errors = [None] * len(functions), []
    barrier = threading.Barrier(len(functions))

    def run(i):
        try:
            barrier.wait()
            results[i] = functions[i]()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(functions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


class _RecordingController:
    """Stands in for threadpoolctl's controller: records when the limit is
    set and restored (OpenBLAS itself may ignore a count set from a thread
    other than the main one, so the real libraries cannot show this)."""

    def __init__(self):
        self.log = []

    def limit(self, limits, user_api):
        self.log.append(("set", limits, user_api))
        controller = self

        class Limiter:
            def restore_original_limits(self):
                controller.log.append(("restore",))

        return Limiter()


def test_blas_limit_is_shared_and_restored_by_the_last_one_out(monkeypatch):
    import lvmfast._parallel as parallel

    controller = _RecordingController()
    monkeypatch.setattr(parallel, "_threadpool_controller", lambda: controller)
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    log_while_b_alone = []

    def first():
        with blas_single_thread():
            a_inside.set()
            assert b_inside.wait(10)
        a_left.set()

    def second():
        assert a_inside.wait(10)
        with blas_single_thread():
            b_inside.set()
            assert a_left.wait(10)
            log_while_b_alone.extend(controller.log)  # A has left; B still holds the limit

    _run_in_threads([first, second])
    assert log_while_b_alone == [("set", 1, "blas")]
    assert controller.log == [("set", 1, "blas"), ("restore",)]
    assert parallel._blas_holders == 0


def test_blas_limit_is_restored_after_an_error(monkeypatch):
    import lvmfast._parallel as parallel

    controller = _RecordingController()
    monkeypatch.setattr(parallel, "_threadpool_controller", lambda: controller)
    with pytest.raises(RuntimeError):
        with blas_single_thread():
            with blas_single_thread():
                raise RuntimeError
    assert controller.log == [("set", 1, "blas"), ("restore",)]
    assert parallel._blas_holders == 0


def test_blas_limit_nests():
    before = _thread_counts()
    with blas_single_thread():
        with blas_single_thread():
            pass
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    assert _thread_counts() == before


def test_concurrent_calls_match_serial_and_leave_thread_counts():
    X, y = two_blobs(n=4000, d=6)
    before = _thread_counts()
    fitted = {
        "kmeans": KMeans(3, random_state=0).fit(X),
        "gm": GaussianMixture(3, random_state=0).fit(X),
        "gnb": GaussianNB().fit(X, y),
        "gc": GaussianClassifier().fit(X, y),
    }
    calls = {  # shared fitted estimators
        "kmeans.predict": lambda: fitted["kmeans"].predict(X),
        "kmeans.transform": lambda: fitted["kmeans"].transform(X),
        "gm.predict": lambda: fitted["gm"].predict(X),
        "gm.predict_proba": lambda: fitted["gm"].predict_proba(X),
        "gm.score_samples": lambda: fitted["gm"].score_samples(X),
        "gnb.predict_proba": lambda: fitted["gnb"].predict_proba(X),
        "gc.predict_proba": lambda: fitted["gc"].predict_proba(X),
        "gc.predict": lambda: fitted["gc"].predict(X),
        # separate estimators, fitted concurrently
        "kmeans.fit": lambda: KMeans(3, random_state=1).fit(X).cluster_centers_,
        "kmeans.fit_2": lambda: KMeans(3, random_state=1).fit(X).cluster_centers_,
        "gm.fit": lambda: GaussianMixture(3, random_state=1).fit(X).means_,
        "gm.fit_tied": lambda: GaussianMixture(2, covariance_type="tied", random_state=1).fit(X).covariances_,
        "gnb.fit": lambda: GaussianNB().fit(X, y).var_,
        "gc.fit": lambda: GaussianClassifier().fit(X, y).covariances_,
    }
    serial = {name: call() for name, call in calls.items()}
    for _ in range(2):
        concurrent = dict(zip(calls, _run_in_threads(list(calls.values()))))
        for name in calls:
            np.testing.assert_array_equal(concurrent[name], serial[name], err_msg=name)
    assert _thread_counts() == before
