"""The compiled forward-backward, Viterbi and posterior moments against
plain NumPy references (log-space recursions), float64 and float32, and
bit-identical for 1 and 2 threads."""
import numpy as np
import pytest
from scipy.special import logsumexp

from lvmfast._kernels import _hmm as kernels
from lvmfast.hmm._base import Sequences


def reference_forward_backward(log_frame, startprob, transmat):
    """log-space forward-backward of one sequence: (log p(x), posteriors, expected transition counts)."""
    T, K = log_frame.shape
    log_a = np.log(transmat)
    fwd = np.empty((T, K))
    bwd = np.zeros((T, K))
    fwd[0] = np.log(startprob) + log_frame[0]
    for t in range(1, T):
        fwd[t] = logsumexp(fwd[t - 1][:, None] + log_a, axis=0) + log_frame[t]
    for t in range(T - 2, -1, -1):
        bwd[t] = logsumexp(log_a + log_frame[t + 1] + bwd[t + 1], axis=1)
    log_prob = logsumexp(fwd[-1])
    posteriors = np.exp(fwd + bwd - log_prob)
    xi = np.zeros((K, K))
    for t in range(T - 1):
        xi += np.exp(fwd[t][:, None] + log_a + log_frame[t + 1] + bwd[t + 1] - log_prob)
    return log_prob, posteriors, xi


def reference_viterbi(log_frame, startprob, transmat):
    T, K = log_frame.shape
    log_a = np.log(transmat)
    delta = np.log(startprob) + log_frame[0]
    back = np.zeros((T, K), dtype=int)
    for t in range(1, T):
        scores = delta[:, None] + log_a
        back[t] = K - 1 - scores[::-1].argmax(axis=0)  # the last maximal predecessor (hmmlearn's tie rule)
        delta = scores.max(axis=0) + log_frame[t]
    path = np.empty(T, dtype=int)
    path[-1] = delta.argmax()
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return delta.max(), path


def random_model(rng, K):
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K), size=K)
    return startprob, transmat


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_backward_matches_reference(rng, dtype):
    K, lengths = 4, [1, 7, 30, 2]
    startprob, transmat = random_model(rng, K)
    log_frame = rng.normal(scale=20.0, size=(sum(lengths), K))  # wide range: scaling must hold
    sequences = Sequences(lengths, sum(lengths))
    frame = np.array(log_frame, dtype=dtype)  # a copy: the kernel writes over it
    seq_log_prob = np.empty(len(lengths))
    block_xi = np.empty((sequences.blocks.size - 1, K, K))
    kernels.forward_backward(frame, sequences.starts, sequences.blocks, startprob, transmat, seq_log_prob,
                             block_xi, 1)
    assert frame.dtype == dtype
    xi = block_xi.sum(axis=0) * transmat
    tol = 1e-10 if dtype == np.float64 else 1e-4
    xi_ref = np.zeros((K, K))
    for s, (a, b) in enumerate(zip(sequences.starts[:-1], sequences.starts[1:])):
        log_prob, posteriors, xi_s = reference_forward_backward(log_frame[a:b].astype(dtype).astype(float),
                                                                startprob, transmat)
        np.testing.assert_allclose(seq_log_prob[s], log_prob, rtol=tol)
        np.testing.assert_allclose(frame[a:b], posteriors, atol=tol)
        xi_ref += xi_s
    np.testing.assert_allclose(xi, xi_ref, atol=tol * 10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_viterbi_matches_reference(rng, dtype):
    K, lengths = 5, [3, 40, 1, 12]
    startprob, transmat = random_model(rng, K)
    transmat[0, 1] = 0.0  # a forbidden transition (log 0 = -inf)
    transmat /= transmat.sum(axis=1, keepdims=True)
    log_frame = np.ascontiguousarray(rng.normal(scale=3.0, size=(sum(lengths), K)), dtype=dtype)
    sequences = Sequences(lengths, sum(lengths))
    seq_log_prob = np.empty(len(lengths))
    path = np.empty(sum(lengths), dtype=np.intp)
    with np.errstate(divide="ignore"):
        kernels.viterbi(log_frame, sequences.starts, sequences.blocks, np.log(startprob), np.log(transmat),
                        seq_log_prob, path, 1)
    for s, (a, b) in enumerate(zip(sequences.starts[:-1], sequences.starts[1:])):
        with np.errstate(divide="ignore"):
            log_prob, ref_path = reference_viterbi(log_frame[a:b].astype(float), startprob, transmat)
        np.testing.assert_allclose(seq_log_prob[s], log_prob, rtol=1e-12)
        np.testing.assert_array_equal(path[a:b], ref_path)


@pytest.mark.parametrize("moments", [0, 1, 2, 3])
def test_posterior_moments_match_reference(rng, moments):
    n, D, K = 300, 3, 4
    X = rng.normal(size=(n, D)) + 5
    g = rng.dirichlet(np.ones(K), size=n)
    shift = X.mean(axis=0)
    nk, s1, s2 = np.empty((2, K)), np.empty((2, K, D)), np.empty((2, K * D * D))
    kernels.posterior_moments(X, shift, g, moments, nk, s1, s2, 64, 192, 2)
    Y = X - shift
    np.testing.assert_allclose(nk.sum(0), g.sum(0), rtol=1e-12)
    np.testing.assert_allclose(s1.sum(0), g.T @ Y, rtol=1e-12)
    expected = {1: (g.T @ Y**2).ravel(), 2: np.einsum("tk,ti,tj->kij", g, Y, Y).ravel(), 3: (Y.T @ Y).ravel()}
    if moments:
        got = s2.sum(0)[: expected[moments].size]
        np.testing.assert_allclose(got, expected[moments], rtol=1e-10)


def test_kernels_bit_identical_for_any_thread_count(rng):
    K = 3
    lengths = rng.integers(1, 3000, size=60)
    n = int(lengths.sum())
    startprob, transmat = random_model(rng, K)
    log_frame = rng.normal(size=(n, K))
    sequences = Sequences(lengths, n)
    assert sequences.blocks.size > 3  # several blocks, so threads share the work
    results = []
    for n_threads in (1, 2):
        frame = log_frame.copy()
        seq_log_prob = np.empty(lengths.size)
        block_xi = np.empty((sequences.blocks.size - 1, K, K))
        kernels.forward_backward(frame, sequences.starts, sequences.blocks, startprob, transmat, seq_log_prob,
                                 block_xi, n_threads)
        path = np.empty(n, dtype=np.intp)
        vit = np.empty(lengths.size)
        kernels.viterbi(log_frame, sequences.starts, sequences.blocks, np.log(startprob), np.log(transmat), vit,
                        path, n_threads)
        results.append((frame, seq_log_prob, block_xi.sum(0), path, vit))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_impossible_sequence_gives_minus_inf(rng):
    startprob = np.array([1.0, 0.0])
    transmat = np.array([[1.0, 0.0], [0.0, 1.0]])
    frame = np.array([[-np.inf, 0.0], [0.0, 0.0]])  # state 0 cannot emit x_0, state 1 cannot start
    seq_log_prob, block_xi = np.empty(1), np.empty((1, 2, 2))
    kernels.forward_backward(frame, np.array([0, 2], dtype=np.intp), np.array([0, 1], dtype=np.intp), startprob,
                             transmat, seq_log_prob, block_xi, 1)
    assert seq_log_prob[0] == -np.inf
    assert np.isnan(frame).all()


def test_kernel_checks_layout():
    frame = np.zeros((4, 2))
    with pytest.raises(ValueError, match="seq_starts"):
        kernels.forward_backward(frame, np.array([0, 3], dtype=np.intp), np.array([0, 1], dtype=np.intp),
                                 np.full(2, 0.5), np.full((2, 2), 0.5), np.empty(1), np.empty((1, 2, 2)), 1)
