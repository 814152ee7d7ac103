"""lvmfast.dask.MixtureOfFactorAnalyzers: the in-memory estimator's EM with
the Dask pass, against the in-memory estimator from the same seed rows,
whatever the chunks; bit-identical from the same chunks."""
import warnings

import numpy as np
import pytest

pytest.importorskip("dask.array")

import dask  # noqa: E402
import dask.array as da  # noqa: E402

import lvmfast  # noqa: E402
import lvmfast.dask as ld  # noqa: E402


@pytest.fixture(autouse=True)
def threads():
    with dask.config.set(scheduler="threads"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of tol=0
        yield


def factor_clusters(seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(700, 6) @ rng.randn(6, 6), 8 + rng.randn(500, 6) * rng.uniform(0.5, 2, 6)])
    return X.astype(dtype), rng.uniform(0.5, 2.0, len(X))


KWARGS = {"n_factors": 2, "random_state": 0, "max_iter": 15, "tol": 0}


@pytest.mark.parametrize("noise", ["diag", "isotropic"])
@pytest.mark.parametrize("init_params", ["random_from_data", "k-means++"])
@pytest.mark.parametrize("chunks", [97, (500, 123, 577)])
def test_matches_in_memory_fit(noise, init_params, chunks):
    X, w = factor_clusters()
    kwargs = {**KWARGS, "noise": noise, "init_params": init_params}
    ours = ld.MixtureOfFactorAnalyzers(2, **kwargs).fit(da.from_array(X, chunks=(chunks, 6)), sample_weight=w)
    reference = lvmfast.MixtureOfFactorAnalyzers(2, **kwargs).fit(X, sample_weight=w)
    assert ours.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(ours.lower_bounds_, reference.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(ours.means_, reference.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.noise_variance_, reference.noise_variance_, rtol=1e-8)


def test_same_chunks_give_the_same_bits_and_methods_map_over_blocks():
    X, _ = factor_clusters(1, np.float32)
    dX = da.from_array(X, chunks=(300, 6))
    first = ld.MixtureOfFactorAnalyzers(2, init_params="kmeans", **KWARGS).fit(dX)
    second = ld.MixtureOfFactorAnalyzers(2, init_params="kmeans", **KWARGS).fit(dX)
    np.testing.assert_array_equal(first.components_, second.components_)
    assert first.components_.dtype == np.float32
    local = first.to_local()
    assert type(local) is lvmfast.MixtureOfFactorAnalyzers
    np.testing.assert_array_equal(first.predict(dX).compute(), local.predict(X))
    np.testing.assert_allclose(first.transform(dX).compute(), local.transform(X), rtol=1e-6)
    assert first.score(dX) == pytest.approx(local.score(X), rel=1e-6)


def test_bad_input_is_refused():
    X, _ = factor_clusters()
    model = ld.MixtureOfFactorAnalyzers(2, n_factors=7)
    with pytest.raises(ValueError, match="n_factors must be at most n_features = 6"):
        model.fit(da.from_array(X, chunks=300))
    assert not hasattr(model, "components_")
    with pytest.raises(ValueError, match="init_params"):
        ld.MixtureOfFactorAnalyzers(2, init_params="random").fit(da.from_array(X, chunks=300))
