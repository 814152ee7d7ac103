"""lvmfast.dask.KernelDensity: a dask array of query points scored blockwise
equals the in-memory estimator's scores, bit for bit, whatever the chunks."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

import lvmfast  # noqa: E402
import lvmfast.dask as ld  # noqa: E402


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(800, 2)), rng.uniform(0.5, 2.0, 800), rng.normal(size=(3001, 2)) * 1.3


@pytest.mark.parametrize("chunks", [97, 1000, 3001])
@pytest.mark.parametrize("method", ["exact", "binned"])
def test_blockwise_scores_equal_in_memory(data, chunks, method):
    X, w, Y = data
    expected = lvmfast.KernelDensity(bandwidth=0.3, method=method).fit(X, sample_weight=w).score_samples(Y)
    kde = ld.KernelDensity(bandwidth=0.3, method=method).fit(da.from_array(X, chunks=300),
                                                             sample_weight=da.from_array(w, chunks=300))
    with dask.config.set(scheduler="threads"):
        scores = kde.score_samples(da.from_array(Y, chunks=(chunks, 2)))
        assert isinstance(scores, da.Array) and scores.chunks[0] == da.from_array(Y, chunks=(chunks, 2)).chunks[0]
        np.testing.assert_array_equal(scores.compute(), expected)
        assert kde.score(da.from_array(Y, chunks=(chunks, 2))) == pytest.approx(expected.sum(), rel=1e-12)


def test_on_a_distributed_cluster(data):
    X, w, Y = data
    expected = lvmfast.KernelDensity(bandwidth=0.4).fit(X).score_samples(Y.astype(np.float32))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c):
        kde = ld.KernelDensity(bandwidth=0.4).fit(X)
        scores = kde.score_samples(da.from_array(Y.astype(np.float32), chunks=(500, 2))).compute()
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(scores, expected)
    assert isinstance(kde.to_local(), lvmfast.KernelDensity)


def test_bad_input_named(data):
    X, _, _ = data
    kde = ld.KernelDensity().fit(X)
    with pytest.raises(ValueError, match="features"):
        kde.score_samples(da.zeros((10, 3), chunks=5))
    with pytest.raises(ValueError, match="bandwidth"):
        ld.KernelDensity(bandwidth=-1).fit(X)
