"""GaussianMixtureIC: the grid's table against GaussianMixture fit one
after another, the pick on a known mixture, what is shared, bad grids."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lvmfast import GaussianMixture, GaussianMixtureIC
from lvmfast.bench.data import known_mixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def five():
    return known_mixture(3000, 4, 5, np.float64, seed=1)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_table_equals_fits_one_after_another(five, init_params):
    grid = [1, 3, 5]
    search = GaussianMixtureIC(grid, init_params=init_params, n_init=2, random_state=7).fit(five)
    row = 0
    for k in grid:
        for covariance_type in COVARIANCE_TYPES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                alone = GaussianMixture(k, covariance_type=covariance_type, init_params=init_params, n_init=2,
                                        random_state=7).fit(five)
            got = search.estimators_[row]
            assert (search.results_["n_components"][row], search.results_["covariance_type"][row]) == (k, covariance_type)
            assert search.results_["n_iter"][row] == alone.n_iter_
            np.testing.assert_array_equal(got.means_, alone.means_)
            np.testing.assert_array_equal(got.covariances_, alone.covariances_)
            assert search.results_["bic"][row] == pytest.approx(alone.bic(five), rel=1e-12)
            assert search.results_["aic"][row] == pytest.approx(alone.aic(five), rel=1e-12)
            assert search.results_["log_likelihood"][row] == pytest.approx(alone.score(five), rel=1e-12)
            row += 1


def test_bic_picks_the_known_number_of_components(five):
    search = GaussianMixtureIC(range(1, 9), random_state=0).fit(five)
    assert search.best_params_ == {"n_components": 5, "covariance_type": "full"}
    bic = search.results_["bic"]
    assert search.best_index_ == int(np.argmin(bic))
    assert search.best_estimator_ is search.estimators_[search.best_index_]
    np.testing.assert_array_equal(search.predict(five), search.best_estimator_.predict(five))
    np.testing.assert_allclose(search.score_samples(five), search.best_estimator_.score_samples(five))
    assert search.bic(five) == pytest.approx(bic[search.best_index_], rel=1e-12)


def test_aic_criterion_picks_the_lowest_aic(five):
    search = GaussianMixtureIC([2, 5, 7], covariance_type="diag", criterion="aic", random_state=0).fit(five)
    assert search.best_index_ == int(np.argmin(search.results_["aic"]))
    assert list(search.results_["covariance_type"]) == ["diag"] * 3


def test_each_number_of_components_runs_kmeans_once(five, monkeypatch):
    """The shared initialization: one k-means per n_components, not one per
    covariance type (and n_init draws stay distinct)."""
    from lvmfast.cluster import KMeans

    calls = []
    original = KMeans.fit

    def counting_fit(self, *args, **kwargs):
        calls.append(self.n_clusters)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KMeans, "fit", counting_fit)
    GaussianMixtureIC([2, 3], n_init=2, random_state=0).fit(five)
    assert sorted(calls) == [2, 2, 3, 3]


def test_a_random_state_instance_gives_one_seed_per_number_of_components(five):
    a = GaussianMixtureIC([2, 4], random_state=np.random.RandomState(3)).fit(five)
    b = GaussianMixtureIC([2, 4], random_state=np.random.RandomState(3)).fit(five)
    np.testing.assert_array_equal(a.results_["bic"], b.results_["bic"])
    seeds = {m.random_state for m in a.estimators_[:4]}
    assert len(seeds) == 1


def test_sample_weight_reaches_every_fit(five):
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(five))
    search = GaussianMixtureIC([3], covariance_type="full", random_state=0).fit(five, sample_weight=weights)
    alone = GaussianMixture(3, random_state=0).fit(five, sample_weight=weights)
    np.testing.assert_allclose(search.best_estimator_.means_, alone.means_, rtol=1e-12)
    assert search.results_["log_likelihood"][0] == pytest.approx(alone.score(five, sample_weight=weights), rel=1e-10)


def test_one_convergence_warning_for_the_grid(five):
    with pytest.warns(ConvergenceWarning, match=r"of 8 fits did not converge") as record:
        GaussianMixtureIC([3, 5], max_iter=1, random_state=0).fit(five)
    assert len([w for w in record if issubclass(w.category, ConvergenceWarning)]) == 1


@pytest.mark.parametrize("params, message", [
    (dict(n_components=[]), "at least one number of components"),
    (dict(n_components=[1, 0]), r"integers >= 1; got 0"),
    (dict(n_components=[1, 2.5]), r"integers >= 1; got 2.5"),
    (dict(n_components=[1, 5000]), "n_samples >= n_components but got n_components = 5000"),
    (dict(covariance_type=["full", "round"]), "covariance_type must hold values among"),
    (dict(covariance_type=[]), "at least one covariance type"),
    (dict(criterion="mdl"), "criterion"),
])
def test_bad_grids_are_refused_and_change_nothing(five, params, message):
    search = GaussianMixtureIC([1, 2], random_state=0).fit(five)
    before = pickle.dumps(vars(search))
    previous = {name: search.get_params()[name] for name in params}
    search.set_params(**params)
    with pytest.raises(ValueError, match=message):
        search.fit(five)
    search.set_params(**previous)
    assert pickle.dumps(vars(search)) == before


def test_unfitted_use_is_refused(five):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GaussianMixtureIC().predict(five)


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    # As scikit-learn expects of its KMeans: the k-means seeding of the
    # 2-component fits draws other rows for weighted than for repeated rows,
    # so the components come out in another order (the same partition).
    check_estimator(GaussianMixtureIC([1, 2]), expected_failed_checks={
        "check_sample_weight_equivalence_on_dense_data": "k-means seeds differ between weighted and repeated rows",
    })


def test_integer_weights_act_as_repeated_rows_in_the_criteria():
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(300, 2, centers=[[0, 0], [20, 0], [0, 20]], random_state=0)
    weights = np.random.default_rng(0).integers(1, 4, len(X))
    weighted = GaussianMixtureIC([1, 3], covariance_type="diag", random_state=0).fit(X, sample_weight=weights)
    repeated = GaussianMixtureIC([1, 3], covariance_type="diag", random_state=0).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.results_["bic"], repeated.results_["bic"], rtol=1e-9)
    np.testing.assert_allclose(weighted.results_["aic"], repeated.results_["aic"], rtol=1e-9)
