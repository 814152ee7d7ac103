"""k-means on data whose squared distances underflow the dtype (issue 23,
item 4: elkan != lloyd on float32 data around 1e-35).

float32 k-means squares its differences in float32: around 1e-35 they are
about 1e-70, past float32's subnormals, so every path decided the labels
by underflow in its own way (lloyd's direct differences partly in float32,
elkan's bounds in double, the seedings' potentials 0). float64 fails the same
way below about 1e-154. Every k-means entry point now refuses such data with
the Gaussian estimators' message; data at ordinary scales, constant data,
and GaussianMixture's k-means initialization are unaffected.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs

import lvmfast
from lvmfast.cluster._kmeans import k_means

FLOAT32_MESSAGE = r"X's spread is too small for float32.*pass X as float64"
FLOAT64_MESSAGE = r"X's spread is too small for float64.*Scale the data"


def blobs(scale, dtype, seed=0):
    X, labels = make_blobs(500, 5, centers=6, random_state=seed)
    return (X * scale).astype(dtype), labels


def test_issue_reproducer_float32_around_1e35_is_refused():
    # (before: 8 of 16 seeds gave other labels and n_iter_ for elkan)
    X, _ = blobs(1e-35, np.float32)
    for algorithm in ("lloyd", "elkan"):
        with pytest.raises(ValueError, match=FLOAT32_MESSAGE):
            lvmfast.KMeans(6, init="k-means||", random_state=0, algorithm=algorithm).fit(X)
    # as the message says: in float64 the same data fits, and both paths agree
    X64 = X.astype(np.float64)
    lloyd = lvmfast.KMeans(6, init="k-means||", random_state=0).fit(X64)
    elkan = lvmfast.KMeans(6, init="k-means||", random_state=0, algorithm="elkan").fit(X64)
    np.testing.assert_array_equal(lloyd.labels_, elkan.labels_)
    assert lloyd.n_iter_ == elkan.n_iter_


def entry_points(X):
    """Each k-means entry point's fit on X (dense or CSR)."""
    yield lambda: lvmfast.KMeans(6, random_state=0).fit(X)
    yield lambda: lvmfast.KMeans(6, init="k-means||", random_state=0, algorithm="elkan").fit(X)
    yield lambda: lvmfast.KMeans(6, init="random", n_init=2, random_state=0).fit(X)
    yield lambda: lvmfast.KMeans(6, init=np.asarray(X[:6].toarray() if sp.issparse(X) else X[:6])).fit(X)
    yield lambda: k_means(X, 6, random_state=0)
    yield lambda: lvmfast.MiniBatchKMeans(6, random_state=0, n_init=1).fit(X)
    yield lambda: lvmfast.MiniBatchKMeans(6, random_state=0, n_init=1).partial_fit(X)
    yield lambda: lvmfast.kmeans_plusplus(X, 6, random_state=0)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype, scale, message", [
    (np.float32, 1e-25, FLOAT32_MESSAGE), (np.float32, 1e-40, FLOAT32_MESSAGE),
    (np.float64, 1e-170, FLOAT64_MESSAGE), (np.float64, 1e-300, FLOAT64_MESSAGE),
])
def test_every_entry_point_refuses_underflowing_squares(dtype, scale, message, sparse):
    X, _ = blobs(scale, dtype)
    X = sp.csr_matrix(X) if sparse else X
    for fit in entry_points(X):
        with pytest.raises(ValueError, match=message):
            fit()


def test_float64_message_does_not_suggest_float64():
    with pytest.raises(ValueError) as info:
        lvmfast.KMeans(6).fit(blobs(1e-300, np.float64)[0])
    assert "pass X as float64" not in str(info.value)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e-35), (np.float64, 1e-300)])
def test_dask_kmeans_refuses_underflowing_squares(dtype, scale):
    da = pytest.importorskip("dask.array")
    import lvmfast.dask

    X, _ = blobs(scale, dtype)
    message = FLOAT32_MESSAGE if dtype == np.float32 else FLOAT64_MESSAGE
    with pytest.raises(ValueError, match=message):
        lvmfast.dask.KMeans(6, random_state=0).fit(da.from_array(X, chunks=128))


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e-15), (np.float32, 1e-18), (np.float64, 1e-150)])
def test_small_but_representable_scales_fit_as_at_unit_scale(dtype, scale):
    """Above the threshold nothing changes: lloyd == elkan, and the labels
    are those of the same data at scale 1 (the power-of-two rescaling is
    exact)."""
    X, _ = blobs(1.0, np.float64)
    exponent = int(np.round(np.log2(scale)))
    small = np.ldexp(X, exponent).astype(dtype)
    reference = lvmfast.KMeans(6, init=small[:6].astype(np.float64) * 2.0**-exponent, n_init=1).fit(
        small.astype(np.float64) * 2.0**-exponent)
    for algorithm in ("lloyd", "elkan"):
        est = lvmfast.KMeans(6, init=small[:6], n_init=1, algorithm=algorithm).fit(small)
        np.testing.assert_array_equal(est.labels_, reference.labels_)
        assert est.n_iter_ == reference.n_iter_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [0.0, 1e-40, 5e-324, 3.0])
def test_constant_data_is_not_refused(dtype, value):
    X = np.full((20, 3), value).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = lvmfast.KMeans(2, random_state=0, n_init=1).fit(X)
    assert est.inertia_ == 0.0
    lvmfast.kmeans_plusplus(X, 2, random_state=0)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e-35), (np.float64, 1e-300)])
def test_gaussian_mixture_initialization_is_not_refused(init_params, dtype, scale):
    """GaussianMixture's k-means initialization (on X it validated) is not
    refused: the mixture's own reg_covar bounds it, as before."""
    X, _ = blobs(scale, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = lvmfast.GaussianMixture(3, init_params=init_params, random_state=0).fit(X)
    assert np.isfinite(gm.means_).all() and np.isfinite(gm.score_samples(X)).all()
