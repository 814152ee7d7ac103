"""The responsibility-normalization kernel against scipy.special."""
import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from lvmfast._kernels._responsibilities import log_normalize

RTOL = {np.float64: 1e-14, np.float32: 2e-6}


def run(scores, chunk_rows=16, n_threads=2):
    work = np.array(scores, order="F", copy=True)
    lse = np.full(scores.shape[0], np.nan)
    log_normalize(work, lse, chunk_rows, n_threads)
    return work, lse


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_samples", [1, 15, 16, 17, 33, 500])
@pytest.mark.parametrize("n_components", [1, 2, 7, 40])
def test_matches_scipy(dtype, n_samples, n_components):
    rng = np.random.default_rng(n_samples * 100 + n_components)
    scores = (rng.standard_normal((n_samples, n_components)) * 30 - 200).astype(dtype)
    resp, lse = run(scores)
    ref = scores.astype(np.float64)
    np.testing.assert_allclose(lse, logsumexp(ref, axis=1), rtol=RTOL[dtype])
    # responsibilities below the dtype's smallest normal number flush to 0
    # (rounding of score - max moves that cut by a hair: hence the factor 2)
    np.testing.assert_allclose(resp, softmax(ref, axis=1), rtol=RTOL[dtype] * 10, atol=2 * np.finfo(dtype).tiny)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=RTOL[dtype] * n_components)
    assert resp.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_spreads_and_magnitudes(dtype):
    # Scores far below the row maximum underflow to exactly 0; huge negative
    # and positive log-densities stay finite after the shift.
    big = 1e30
    scores = np.array(
        [[0.0, -1000.0, -1e6], [-big, -big + 1, -big], [-5.0, -5.0, -5.0], [300.0, 299.0, -np.inf]] * 9,
        dtype=dtype,
    )
    resp, lse = run(scores, chunk_rows=8)
    ref = scores.astype(np.float64)
    np.testing.assert_allclose(lse, logsumexp(ref, axis=1), rtol=RTOL[dtype])
    np.testing.assert_allclose(resp, softmax(ref, axis=1), rtol=RTOL[dtype] * 10, atol=np.finfo(dtype).tiny)
    assert np.all(resp[0::4, 1:] == 0.0)


def test_vector_exp_accuracy_across_its_range():
    # Every lane of the vector exp, compared with libm over [-708, 0].
    x = -np.linspace(0.0, 708.0, 20001)
    scores = np.column_stack([np.zeros_like(x), x])  # resp[:, 1] = e^x / (1 + e^x)
    resp, lse = run(scores, chunk_rows=64)
    np.testing.assert_allclose(resp[:, 1], np.exp(x) / (1 + np.exp(x)), rtol=4e-16 * 8)
    np.testing.assert_allclose(lse, np.log1p(np.exp(x)), rtol=0, atol=2e-16)  # a log-likelihood needs absolute accuracy


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vector_log_accuracy_across_row_sums(dtype):
    # The lanes' log of the row sum, 1 .. 1024 (c equal scores sum to c),
    # compared with libm: within a few units in the last place of log c.
    counts = np.arange(1, 1025)
    scores = np.where(np.arange(1024)[None, :] < counts[:, None], 0.0, -1e4).astype(dtype)
    _, lse = run(scores, chunk_rows=64)
    ulp = 4 * np.finfo(dtype).eps * np.maximum(np.log(counts), 1.0)
    np.testing.assert_array_less(np.abs(lse - np.log(counts)), ulp)


def test_same_result_for_any_split():
    scores = np.random.default_rng(0).standard_normal((1000, 5)) * 10
    a, lse_a = run(scores, chunk_rows=16, n_threads=1)
    b, lse_b = run(scores, chunk_rows=16, n_threads=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lse_a, lse_b)
