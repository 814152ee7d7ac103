"""The mixtures' loop and its rows backends: one contract (EMRows), one
entry to the loop (fit_rows), and rows that carry only what their class
declares."""
import numpy as np
import pytest

from lvmfast import GaussianMixture, GaussianMixtureIC
from lvmfast._iterate import EMRows
from lvmfast._gaussian import LocalEMRows
from lvmfast.mixture._base import BaseGaussianMixture, fit_rows


def test_local_rows_provide_the_contract():
    X = np.random.default_rng(0).normal(size=(50, 3))
    rows = LocalEMRows(X, np.ones(50), 1)
    assert isinstance(rows, EMRows)
    nk, s1, s2, log_likelihood = rows.em_statistics(np.zeros(1), X[:1], np.eye(3)[None], "full")
    assert nk.shape == (1,) and s1.shape == (1, 3) and np.isfinite(log_likelihood)


def test_dask_rows_provide_the_contract():
    dask = pytest.importorskip("dask")
    import dask.array as da

    from lvmfast.dask._core import DaskData
    from lvmfast.dask._mixture import DaskEMRows

    X = np.random.default_rng(0).normal(size=(50, 3))
    with dask.config.set(scheduler="threads"):
        rows = DaskEMRows(DaskData(da.from_array(X, chunks=20), None, weight_dtype=np.float64, persist=False))
        assert isinstance(rows, EMRows)
        local = LocalEMRows(X, np.ones(50), 1)
        args = (np.zeros(2), X[:2], np.stack([np.eye(3)] * 2), "full")
        for ours, theirs in zip(rows.em_statistics(*args), local.em_statistics(*args)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_the_loop_is_one_function():
    """No estimator keeps a private loop of its own that another calls."""
    assert not hasattr(BaseGaussianMixture, "_em")
    X = np.random.default_rng(1).normal(size=(80, 2))
    model = GaussianMixture(2, random_state=0)
    fit_rows(model, LocalEMRows(X, np.ones(80), 1))
    reference = GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_array_equal(model.means_, reference.means_)
    assert model.n_iter_ == reference.n_iter_


def test_selection_memo_is_declared_by_the_rows():
    """GaussianMixtureIC asks its rows for the memo of initial assignments;
    rows made without it have none, and nothing else is set on them."""
    X = np.random.default_rng(2).normal(size=(60, 2))
    assert LocalEMRows(X, np.ones(60), 1).initial_assignments is None
    made = []
    original = LocalEMRows.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append((self, set(vars(self))))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalEMRows, "__init__", recording_init)
        GaussianMixtureIC([1, 2], covariance_type=["full", "diag"], random_state=0).fit(X)
    assert made
    for rows, attributes in made:
        assert rows.initial_assignments is not None
        assert set(vars(rows)) - {"_tied_scatter"} == attributes - {"_tied_scatter"}
