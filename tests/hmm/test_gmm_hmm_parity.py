"""GMMHMM against hmmlearn's from the same initial parameters, every
covariance type, with and without `params` fixing some parameters."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lvmfast.hmm import GMMHMM

hmm = pytest.importorskip("hmmlearn.hmm")


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    """hmmlearn solves a small triangular system per state and sequence; a
    threaded BLAS spends milliseconds on each on a loaded machine."""
    with threadpool_limits(1, user_api="blas"):
        yield

K, M, D = 2, 2, 2
LENGTHS = [80, 120, 100]


def data(seed=0):
    rng = np.random.RandomState(seed)
    X = np.r_[rng.normal(0, 1, (100, D)), rng.normal(5, 1, (100, D)) * [1, 2], rng.normal(-3, 0.7, (100, D))]
    return X + 3.0


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
@pytest.mark.parametrize("params", ["stmcw", "stw", "mc"])
def test_fit_matches_hmmlearn(covariance_type, params):
    X = data()
    ref = hmm.GMMHMM(K, M, covariance_type=covariance_type, n_iter=8, tol=1e-6, random_state=3, params=params)
    ref._init(X, LENGTHS)
    ref._check()
    init = {name: getattr(ref, name).copy() for name in ("startprob_", "transmat_", "weights_", "means_", "covars_")}
    ref.init_params = ""
    ref.fit(X, LENGTHS)
    ours = GMMHMM(K, M, covariance_type=covariance_type, n_iter=8, tol=1e-6, params=params, init_params="")
    for name, value in init.items():
        setattr(ours, name, value)
    ours.fit(X, LENGTHS)
    assert ours.monitor_.iter == ref.monitor_.iter
    np.testing.assert_allclose(list(ours.monitor_.history), list(ref.monitor_.history), rtol=1e-8)
    for name in init:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ours.score(X, LENGTHS), ref.score(X, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X, LENGTHS), ref.predict_proba(X, LENGTHS), atol=1e-8)


def test_fit_from_its_own_init_and_sample():
    X = data(1)
    model = GMMHMM(K, M, covariance_type="diag", n_iter=5, random_state=0).fit(X, LENGTHS)
    assert model.monitor_.iter >= 1 and np.all(np.isfinite(model.covars_))
    np.testing.assert_allclose(model.weights_.sum(axis=1), 1.0)
    sample, states = model.sample(20, random_state=0)
    assert sample.shape == (20, D) and states.shape == (20,)
