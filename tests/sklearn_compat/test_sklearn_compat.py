"""The scikit-learn estimator protocol: check_estimator, clone, Pipeline,
GridSearchCV and pickling."""
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from lvmfast import (
    GaussianClassifier,
    GaussianMixture,
    GaussianNB,
    KMeans,
    MiniBatchKMeans,
)

# scikit-learn expects these of its own KMeans to fail too (the same check on
# dense and on sparse data): seeding samples
# rows at random, so weighting a row and repeating it draw different seeds.
KMEANS_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": "k-means++ draws differ between weighted and repeated rows",
    "check_sample_weight_equivalence_on_sparse_data": "k-means++ draws differ between weighted and repeated rows",
}


def test_check_estimator_kmeans():
    check_estimator(KMeans(), expected_failed_checks=KMEANS_EXPECTED_FAILURES)


# scikit-learn expects the same two of its MiniBatchKMeans: batches are drawn
# at random too.
MINIBATCH_KMEANS_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": "batches and seeds are drawn differently for weighted rows",
    "check_sample_weight_equivalence_on_sparse_data": "batches and seeds are drawn differently for weighted rows",
}


def test_check_estimator_minibatch_kmeans():
    check_estimator(MiniBatchKMeans(), expected_failed_checks=MINIBATCH_KMEANS_EXPECTED_FAILURES)


@pytest.fixture
def blobs():
    return make_blobs(400, 4, centers=3, random_state=0)


def test_clone_keeps_parameters():
    km = KMeans(5, init="random", n_init=3, tol=1e-3, random_state=4)
    copy = clone(km)
    assert copy is not km and copy.get_params() == km.get_params()
    assert repr(copy) == "KMeans(init='random', n_clusters=5, n_init=3, random_state=4, tol=0.001)"


def test_set_params_rejects_unknown_names():
    with pytest.raises(ValueError, match="Invalid parameter 'k' for estimator KMeans"):
        KMeans().set_params(k=3)


def test_pipeline_and_grid_search(blobs):
    X, _ = blobs
    pipe = make_pipeline(StandardScaler(), KMeans(random_state=0))
    labels = pipe.fit_predict(X)
    assert labels.shape == (400,)
    assert pipe.transform(X).shape == (400, 8)
    search = GridSearchCV(KMeans(random_state=0), {"n_clusters": [2, 3, 4]}, cv=3).fit(X)
    # score is minus the inertia, which only falls with more clusters
    assert search.best_params_ == {"n_clusters": 4}


def test_pickle_round_trip(blobs):
    X, _ = blobs
    km = KMeans(3, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(restored.predict(X), km.labels_)
    np.testing.assert_array_equal(restored.cluster_centers_, km.cluster_centers_)
    assert restored.score(X) == km.score(X)


def test_metadata_routing_passes_sample_weight(blobs):
    from sklearn import config_context

    X, _ = blobs
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    with config_context(enable_metadata_routing=True):
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipe = make_pipeline(scaler, KMeans(3, random_state=0).set_fit_request(sample_weight=True))
        pipe.fit(X, sample_weight=weights)
    direct = KMeans(3, random_state=0).fit(StandardScaler().fit_transform(X), sample_weight=weights)
    assert pipe[-1].inertia_ == pytest.approx(direct.inertia_, rel=1e-12)


def test_set_output_and_feature_names(blobs):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    km = KMeans(3, random_state=0).set_output(transform="pandas").fit(frame)
    out = km.transform(frame)
    assert list(out.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    assert list(km.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="feature names should match"):
        km.predict(frame.rename(columns={"a": "z"}))


def test_html_repr_names_the_changed_parameters():
    html = KMeans(5, tol=1e-3)._repr_html_()
    assert "KMeans" in html and "n_clusters" in html


@pytest.mark.parametrize(
    "estimator",
    [GaussianMixture(2), GaussianNB(), GaussianClassifier()],
    ids=lambda e: type(e).__name__,
)
def test_sparse_input_is_refused_by_the_gaussian_models(blobs, estimator):
    import scipy.sparse as sp

    X, y = blobs
    fitted = clone(estimator).fit(X, y)
    before = pickle.dumps(vars(fitted))
    with pytest.raises(TypeError, match="Sparse data was passed for X, but dense data is required"):
        fitted.fit(sp.csr_matrix(X), y)
    assert pickle.dumps(vars(fitted)) == before  # the failed fit changed nothing
    with pytest.raises(TypeError, match="dense data is required"):
        fitted.predict(sp.csr_matrix(X))
