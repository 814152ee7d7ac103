"""CategoricalHMM against hmmlearn's from the same initial parameters."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lvmfast.hmm import CategoricalHMM

hmm = pytest.importorskip("hmmlearn.hmm")


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    """hmmlearn solves a small triangular system per state and sequence; a
    threaded BLAS spends milliseconds on each on a loaded machine."""
    with threadpool_limits(1, user_api="blas"):
        yield

LENGTHS = [60, 90, 1, 49]


def path_log_prob(model, X, lengths, path):
    """log p(x, path) under the model: equal-probability paths are ties that
    either library may break its own way at the last bit."""
    log_emission = np.log(model.emissionprob_)[path, X[:, 0]]
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    with np.errstate(divide="ignore"):
        total = np.log(model.startprob_)[path[starts]].sum() + log_emission.sum()
        inside = np.ones(len(X), dtype=bool)
        inside[starts] = False
        steps = np.flatnonzero(inside)
        return total + np.log(model.transmat_)[path[steps - 1], path[steps]].sum()


def symbols(seed=0):
    model = hmm.CategoricalHMM(3, random_state=seed)
    model.startprob_ = np.array([0.5, 0.3, 0.2])
    model.transmat_ = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    model.emissionprob_ = np.array([[0.7, 0.2, 0.05, 0.05], [0.1, 0.1, 0.7, 0.1], [0.25, 0.25, 0.25, 0.25]])
    return model.sample(sum(LENGTHS), random_state=seed)[0]


@pytest.mark.parametrize("params", ["ste", "st", "e", "se"])
@pytest.mark.parametrize("prior", [1.0, 1.5])
def test_fit_matches_hmmlearn(params, prior):
    X = symbols()
    ref = hmm.CategoricalHMM(3, n_iter=30, tol=1e-7, random_state=2, params=params, emissionprob_prior=prior,
                             transmat_prior=prior)
    ref._init(X, LENGTHS)
    init = dict(startprob_=ref.startprob_.copy(), transmat_=ref.transmat_.copy(),
                emissionprob_=ref.emissionprob_.copy())
    ref.init_params = ""
    ref.fit(X, LENGTHS)
    ours = CategoricalHMM(3, n_iter=30, tol=1e-7, params=params, init_params="", emissionprob_prior=prior,
                          transmat_prior=prior)
    for name, value in init.items():
        setattr(ours, name, value)
    ours.fit(X, LENGTHS)
    assert ours.monitor_.iter == ref.monitor_.iter
    np.testing.assert_allclose(list(ours.monitor_.history), list(ref.monitor_.history), rtol=1e-8)
    for name in init:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), atol=1e-6)
    np.testing.assert_allclose(ours.score(X, LENGTHS), ref.score(X, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X, LENGTHS), ref.predict_proba(X, LENGTHS), atol=1e-8)
    path, ref_path = ours.predict(X, LENGTHS), ref.predict(X, LENGTHS)
    assert np.mean(path == ref_path) > 0.95
    np.testing.assert_allclose(path_log_prob(ref, X, LENGTHS, path), path_log_prob(ref, X, LENGTHS, ref_path),
                               rtol=1e-12)
    np.testing.assert_allclose(ours.decode(X, LENGTHS)[0], ref.decode(X, LENGTHS)[0], rtol=1e-10)


def test_sample_emits_every_symbol():
    model = CategoricalHMM(2, init_params="")
    model.startprob_ = np.array([0.6, 0.4])
    model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
    model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
    X, states = model.sample(1000, random_state=0)
    assert X.shape == (1000, 1) and set(np.unique(X)) == {0, 1, 2}
    assert model.n_features == 3
