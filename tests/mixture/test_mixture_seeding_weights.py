"""The mixtures' seeded initializations ('k-means++', 'random_from_data')
draw with the sample weights: a row of weight 0 is never a seed, and the
in-memory and Dask estimators pick the same rows from the same random_state."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lvmfast import BayesianGaussianMixture, GaussianMixture, GaussianMixtureIC

SEEDED_INITS = ["k-means++", "random_from_data"]


def weighted_rows():
    """Two clusters with weight 1, and as many far rows with weight 0."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(150, 3)), rng.normal(size=(150, 3)) + 5,
                   rng.normal(size=(300, 3)) * 30 + 200])
    w = np.ones(len(X))
    w[300:] = 0.0
    return X, w


def initial_model(model_class, init_params, X, w, random_state, **kwargs):
    """The model at its seeds (max_iter=0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model_class(n_components=3, init_params=init_params, max_iter=0, random_state=random_state,
                           **kwargs).fit(X, sample_weight=w)


def seed_weights(model):
    """Each seed's weight: sum w r of its one-hot responsibilities (a seed
    of weight 0 gives a component without weight, its mean at the origin)."""
    if isinstance(model, BayesianGaussianMixture):
        return model.degrees_of_freedom_ - model.degrees_of_freedom_prior_
    return model.weights_


@pytest.mark.parametrize("model_class", [GaussianMixture, BayesianGaussianMixture])
@pytest.mark.parametrize("init_params", SEEDED_INITS)
def test_no_seed_has_zero_weight(model_class, init_params):
    X, w = weighted_rows()
    for random_state in range(10):
        model = initial_model(model_class, init_params, X, w, random_state)
        assert seed_weights(model).min() > 1e-6, random_state


@pytest.mark.parametrize("init_params", SEEDED_INITS)
def test_selection_seeds_have_positive_weight(init_params):
    X, w = weighted_rows()
    for random_state in range(5):
        model = GaussianMixtureIC([3], covariance_type=["full", "diag"], init_params=init_params, max_iter=0,
                                  random_state=random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, sample_weight=w)
        for estimator in model.estimators_:
            assert seed_weights(estimator).min() > 1e-6


@pytest.mark.parametrize("init_params", SEEDED_INITS)
def test_scaled_or_constant_weights_draw_the_same_seeds(init_params):
    """Weights that only rescale draw the same rows; constant weights draw
    the rows that no weights draw (scikit-learn's draw)."""
    X, w = weighted_rows()
    w[:300] = np.random.default_rng(1).uniform(0.5, 2.0, 300)
    seeds = initial_model(GaussianMixture, init_params, X, w, 4).means_
    np.testing.assert_allclose(initial_model(GaussianMixture, init_params, X, 1e3 * w, 4).means_, seeds,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(initial_model(GaussianMixture, init_params, X, None, 4).means_,
                                  initial_model(GaussianMixture, init_params, X, np.full(len(X), 2.5), 4).means_)


def test_too_few_positive_weights_is_named():
    X, w = weighted_rows()
    w[2:300] = 0.0
    with pytest.raises(ValueError, match="sample_weight has only 2"):
        GaussianMixture(3, init_params="random_from_data", random_state=0).fit(X, sample_weight=w)


@pytest.mark.parametrize("model_name", ["GaussianMixture", "BayesianGaussianMixture"])
@pytest.mark.parametrize("init_params", SEEDED_INITS)
def test_in_memory_and_dask_agree_with_weights(model_name, init_params):
    dask = pytest.importorskip("dask")
    import dask.array as da

    import lvmfast
    import lvmfast.dask

    X, w = weighted_rows()
    kwargs = dict(n_components=3, init_params=init_params, random_state=3, tol=1e-6, max_iter=200)
    with warnings.catch_warnings(), dask.config.set(scheduler="threads"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(lvmfast, model_name)(**kwargs).fit(X, sample_weight=w)
        theirs = getattr(lvmfast.dask, model_name)(**kwargs).fit(
            da.from_array(X, chunks=100), sample_weight=da.from_array(w, chunks=100)
        )
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-7, atol=1e-7)
