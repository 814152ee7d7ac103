"""Bad input to the HMMs: a clear error naming the argument, and the
estimator left as it was; states no sequence visits keep finite, valid
parameters."""
import numpy as np
import pytest

from lvmfast.hmm import CategoricalHMM, GaussianHMM, GMMHMM


def fitted_gaussian():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(5, 1, (60, 2))]
    return GaussianHMM(2, "diag", n_iter=3, random_state=0).fit(X), X


def snapshot(model):
    names = ("startprob_", "transmat_", "means_", "_covars_", "emissionprob_", "weights_", "covars_")
    return {name: np.array(getattr(model, name), copy=True) for name in names if hasattr(model, name)} | {
        "history": list(model.monitor_.history), "iter": model.monitor_.iter}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


@pytest.mark.parametrize("lengths, match", [
    ([50, 50], "lengths must sum to the number of samples in X \\(120\\)"),
    ([60, 0, 60], "lengths must be positive: sequence 1 has length 0"),
    ([], "lengths must hold at least one"),
])
@pytest.mark.parametrize("method", ["fit", "score", "predict", "predict_proba"])
def test_bad_lengths(lengths, match, method):
    model, X = fitted_gaussian()
    before = snapshot(model)
    with pytest.raises(ValueError, match=match):
        getattr(model, method)(X, lengths)
    assert_unchanged(model, before)


def test_lengths_of_wrong_type():
    model, X = fitted_gaussian()
    with pytest.raises(TypeError, match="lengths must be a 1-D array of integers"):
        model.score(X, ["a", "b"])


def test_transmat_rows_not_summing_to_one():
    model, X = fitted_gaussian()
    model.transmat_ = np.array([[0.5, 0.4], [0.5, 0.5]])
    with pytest.raises(ValueError, match="transmat_ rows must sum to 1.*row 0"):
        model.score(X)
    model.init_params = ""
    before = snapshot(model)
    with pytest.raises(ValueError, match="transmat_ rows must sum to 1"):
        model.fit(X)
    assert_unchanged(model, before)


@pytest.mark.parametrize("name", ["startprob_", "transmat_", "means_"])
def test_nan_in_parameters(name):
    model, X = fitted_gaussian()
    value = np.array(getattr(model, name), copy=True)
    value.flat[0] = np.nan
    setattr(model, name, value)
    model.init_params = ""
    before = snapshot(model)
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        model.fit(X)
    assert_unchanged(model, before)
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        model.predict(X)


def test_nan_covariance_is_refused():
    model, _ = fitted_gaussian()
    with pytest.raises(ValueError, match="covars_ must be finite"):
        model.covars_ = np.array([[1.0, np.nan], [1.0, 1.0]])


@pytest.mark.parametrize("method", ["fit", "score", "decode"])
def test_nan_in_data(method):
    model, X = fitted_gaussian()
    X = X.copy()
    X[3, 1] = np.nan
    before = snapshot(model)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        getattr(model, method)(X)
    assert_unchanged(model, before)


def test_wrong_number_of_features():
    model, X = fitted_gaussian()
    with pytest.raises(ValueError, match="X has 3 features, but the model expects 2"):
        model.score(np.ones((5, 3)))


def test_symbol_outside_fitted_range():
    X = np.array([[0], [1], [2], [1], [0], [2]])
    model = CategoricalHMM(2, n_iter=2, random_state=0).fit(X)
    before = snapshot(model)
    with pytest.raises(ValueError, match="X holds a symbol outside the fitted range \\(n_features=3\\)"):
        model.predict(np.array([[0], [3]]))
    with pytest.raises(ValueError, match="Symbols should be nonnegative"):
        model.score(np.array([[0], [-1]]))
    with pytest.raises(ValueError, match="Symbols should be integers"):
        model.score(np.array([[0.0], [1.5]]))
    with pytest.raises(ValueError, match="X must have shape \\(n_samples, 1\\)"):
        model.score(np.array([[0, 1]]))
    assert_unchanged(model, before)
    assert model.n_features == 3


def test_bad_decoder_and_covariance_type():
    model, X = fitted_gaussian()
    with pytest.raises(ValueError, match="Unknown decoder 'forward'"):
        model.decode(X, algorithm="forward")
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        GaussianHMM(2, covariance_type="banded").fit(X)


def unvisited_state_model(model):
    """State 2 can neither start nor be entered: no sequence visits it."""
    model.startprob_ = np.array([0.5, 0.5, 0.0])
    model.transmat_ = np.array([[0.8, 0.2, 0.0], [0.2, 0.8, 0.0], [0.3, 0.3, 0.4]])
    return model


def test_unvisited_state_keeps_finite_valid_parameters():
    rng = np.random.RandomState(1)
    X = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(4, 1, (50, 2))]
    for covariance_type in ("spherical", "diag", "full", "tied"):
        model = unvisited_state_model(GaussianHMM(3, covariance_type, n_iter=5, init_params="mc", random_state=0))
        model.fit(X, [50, 50])
        for name in ("startprob_", "transmat_", "means_", "covars_"):
            assert np.all(np.isfinite(getattr(model, name))), (covariance_type, name)
        np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
        np.testing.assert_array_equal(model.transmat_[2], [0.3, 0.3, 0.4])  # never left: kept
        assert np.isfinite(model.score(X))
    symbols = rng.randint(0, 3, size=(80, 1))
    model = unvisited_state_model(CategoricalHMM(3, n_iter=5, init_params="e", random_state=0)).fit(symbols)
    assert np.all(np.isfinite(model.emissionprob_))
    np.testing.assert_allclose(model.emissionprob_.sum(axis=1), 1.0)
    model = unvisited_state_model(GMMHMM(3, 2, n_iter=3, init_params="mcw", random_state=0)).fit(X)
    for name in ("weights_", "means_", "covars_"):
        assert np.all(np.isfinite(getattr(model, name))), name


def test_failed_fit_leaves_unfitted_estimator_unfitted():
    model = GaussianHMM(2)
    with pytest.raises(ValueError):
        model.fit(np.ones((10, 2)), lengths=[3, 3])
    assert not hasattr(model, "means_") and not hasattr(model, "startprob_")
