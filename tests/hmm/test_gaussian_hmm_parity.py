"""GaussianHMM against hmmlearn's from the same initial parameters: the same
number of iterations, log-likelihood within 1e-8 relative, parameters within
1e-6, for every covariance type, with and without `params` fixing some
parameters; and the same scores, posteriors and decodings."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lvmfast.hmm import GaussianHMM

hmm = pytest.importorskip("hmmlearn.hmm")


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    """hmmlearn solves a small triangular system per state and sequence; a
    threaded BLAS spends milliseconds on each on a loaded machine."""
    with threadpool_limits(1, user_api="blas"):
        yield

K, D = 3, 2
LENGTHS = [100, 150, 50, 100]


def regime_data(seed=0):
    rng = np.random.RandomState(seed)
    X = np.r_[rng.normal(0, 1, (150, D)), rng.normal(4, 1.5, (150, D)), rng.normal(-3, 0.5, (100, D))]
    return X + 10.0


def state_variances(model, covariance_type):
    covars = model._covars_
    if covariance_type == "spherical":  # hmmlearn keeps (K, D) equal columns after its M-step
        return np.asarray(covars).reshape(K, -1)[:, 0]
    return covars


def fit_both(covariance_type, params, X, lengths, **kwargs):
    ref = hmm.GaussianHMM(K, covariance_type, n_iter=25, tol=1e-6, random_state=1, params=params, **kwargs)
    ref._init(X, lengths)
    init = dict(startprob_=ref.startprob_.copy(), transmat_=ref.transmat_.copy(), means_=ref.means_.copy(),
                covars_=state_variances(ref, covariance_type).copy())
    ref.init_params = ""
    ref.fit(X, lengths)
    ours = GaussianHMM(K, covariance_type, n_iter=25, tol=1e-6, params=params, init_params="", **kwargs)
    for name, value in init.items():
        setattr(ours, name, value)
    ours.fit(X, lengths)
    return ours, ref


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
@pytest.mark.parametrize("params", ["stmc", "st", "stm", "mc"])
def test_fit_matches_hmmlearn(covariance_type, params):
    X = regime_data()
    ours, ref = fit_both(covariance_type, params, X, LENGTHS)
    assert ours.monitor_.iter == ref.monitor_.iter
    np.testing.assert_allclose(list(ours.monitor_.history), list(ref.monitor_.history), rtol=1e-8)
    np.testing.assert_allclose(ours.startprob_, ref.startprob_, atol=1e-6)
    np.testing.assert_allclose(ours.transmat_, ref.transmat_, atol=1e-6)
    np.testing.assert_allclose(ours.means_, ref.means_, atol=1e-6)
    np.testing.assert_allclose(ours._covars_, state_variances(ref, covariance_type), atol=1e-6)
    np.testing.assert_allclose(ours.score(X, LENGTHS), ref.score(X, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X, LENGTHS), ref.predict_proba(X, LENGTHS), atol=1e-8)
    for algorithm in ("viterbi", "map"):
        log_prob, path = ours.decode(X, LENGTHS, algorithm=algorithm)
        ref_log_prob, ref_path = ref.decode(X, LENGTHS, algorithm=algorithm)
        np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-10)
        np.testing.assert_array_equal(path, ref_path)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_fit_with_priors_matches_hmmlearn(covariance_type):
    X = regime_data(1)
    rng = np.random.RandomState(3)
    priors = dict(startprob_prior=2.0 + rng.rand(K), transmat_prior=1.5 + rng.rand(K, K),
                  means_prior=np.full((K, D), 10.0), means_weight=0.5, covars_prior=0.3,
                  covars_weight=3.0 if covariance_type == "diag" else D + 2.0)
    ours, ref = fit_both(covariance_type, "stmc", X, LENGTHS, **priors)
    assert ours.monitor_.iter == ref.monitor_.iter
    np.testing.assert_allclose(ours.monitor_.history[-1], ref.monitor_.history[-1], rtol=1e-8)
    np.testing.assert_allclose(ours.transmat_, ref.transmat_, atol=1e-6)
    np.testing.assert_allclose(ours.means_, ref.means_, atol=1e-6)
    np.testing.assert_allclose(ours._covars_, ref._covars_, atol=1e-6)


def test_float32_stays_float32_and_agrees():
    X = regime_data()
    model = GaussianHMM(K, "full", n_iter=5, random_state=0).fit(X, LENGTHS)
    model32 = GaussianHMM(K, "full", n_iter=1, init_params="")
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        setattr(model32, name, getattr(model, name))
    X32 = X.astype(np.float32)
    posteriors = model32.predict_proba(X32, LENGTHS)
    assert posteriors.dtype == np.float32
    np.testing.assert_allclose(posteriors, model.predict_proba(X, LENGTHS), atol=1e-3)
    np.testing.assert_allclose(model32.score(X32, LENGTHS), model.score(X, LENGTHS), rtol=1e-5)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_fit_identical_for_one_and_two_threads(covariance_type):
    rng = np.random.RandomState(0)
    lengths = rng.randint(50, 400, size=40)
    X = rng.normal(size=(lengths.sum(), 3)) + np.repeat(rng.normal(scale=3, size=(lengths.size, 3)), lengths, 0)
    fitted = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            model = GaussianHMM(4, covariance_type, n_iter=5, random_state=0).fit(X, lengths)
            fitted.append((model.means_, model._covars_, model.transmat_, list(model.monitor_.history),
                           model.predict_proba(X, lengths), model.predict(X, lengths)))
    for a, b in zip(*fitted):
        np.testing.assert_array_equal(a, b)


def test_sample_shapes_and_currstate():
    model = GaussianHMM(2, "diag", init_params="")
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    model.means_ = np.array([[0.0, 0.0], [10.0, 10.0]])
    model.covars_ = np.ones((2, 2))
    X, states = model.sample(500, random_state=0)
    assert X.shape == (500, 2) and states.shape == (500,)
    assert states[0] == 0
    np.testing.assert_allclose(X[states == 1].mean(axis=0), [10, 10], atol=0.3)
    _, states = model.sample(5, random_state=0, currstate=1)
    assert states[0] == 1
