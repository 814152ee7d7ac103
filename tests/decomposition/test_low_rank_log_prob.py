"""The Woodbury low-rank-plus-diagonal log-density kernel against a plain
NumPy reference (dense covariance, slogdet and solve)."""
import numpy as np
import pytest

from lvmfast._factor import log_prob_low_rank


def reference_log_prob(X, means, components, noise_variance, log_weights=None):
    n_components, _, n_features = components.shape
    out = np.empty((len(X), n_components))
    for k in range(n_components):
        covariance = components[k].T @ components[k] + np.diag(noise_variance[k])
        _, log_det = np.linalg.slogdet(covariance)
        diff = X - means[k]
        quad = np.einsum("ij,ij->i", diff, np.linalg.solve(covariance, diff.T).T)
        out[:, k] = -0.5 * (n_features * np.log(2 * np.pi) + log_det + quad)
    if log_weights is not None:
        out += log_weights
    return out


def random_model(n_components, n_factors, n_features, seed):
    rng = np.random.RandomState(seed)
    means = rng.randn(n_components, n_features) * 3
    components = rng.randn(n_components, n_factors, n_features)
    noise_variance = rng.uniform(0.1, 2.0, size=(n_components, n_features))
    return means, components, noise_variance


@pytest.mark.parametrize("n_components, n_factors, n_features", [(1, 1, 3), (3, 2, 7), (4, 5, 20), (2, 0, 5)])
def test_matches_dense_reference(n_components, n_factors, n_features):
    means, components, noise_variance = random_model(n_components, n_factors, n_features, seed=n_features)
    X = np.random.RandomState(7).randn(3001, n_features) * 2  # several chunks, a partial last one
    log_weights = np.log(np.random.RandomState(1).dirichlet(np.ones(n_components)))
    got = log_prob_low_rank(X, means, components, noise_variance, log_weights)
    np.testing.assert_allclose(got, reference_log_prob(X, means, components, noise_variance, log_weights),
                               rtol=1e-10, atol=1e-9)
    resp, lse = log_prob_low_rank(X, means, components, noise_variance, log_weights, normalize=True)
    expected = reference_log_prob(X, means, components, noise_variance, log_weights)
    expected_lse = np.logaddexp.reduce(expected, axis=1)
    np.testing.assert_allclose(lse, expected_lse, rtol=1e-10)
    np.testing.assert_allclose(resp, np.exp(expected - expected_lse[:, None]), atol=1e-10)


def test_float32_is_kept():
    means, components, noise_variance = random_model(3, 2, 6, seed=0)
    X = np.random.RandomState(2).randn(500, 6)
    got = log_prob_low_rank(X.astype(np.float32), means, components, noise_variance)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference_log_prob(X, means, components, noise_variance), rtol=1e-4, atol=1e-3)


def test_same_bits_for_any_thread_count(monkeypatch):
    import lvmfast._factor as factor

    means, components, noise_variance = random_model(3, 3, 12, seed=3)
    X = np.random.RandomState(4).randn(20000, 12)
    results = []
    for n_threads in (1, 2, 4):
        monkeypatch.setattr(factor, "threads_for_work", lambda work, n=n_threads: n)
        results.append(factor.log_prob_low_rank(X, means, components, noise_variance))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_failed_allocation_is_memory_error_and_leaves_nothing_behind():
    from lvmfast._factor import LowRankTerms, em_statistics
    from lvmfast._kernels import _alloc

    means, components, noise_variance = random_model(3, 2, 5, seed=9)
    X = np.random.RandomState(3).randn(700, 5)
    w = np.ones(len(X))
    terms = LowRankTerms(means, components, noise_variance, X.mean(axis=0), X.dtype, np.log(np.ones(3) / 3))
    runs = [lambda: log_prob_low_rank(X, means, components, noise_variance),
            lambda: np.concatenate([np.ravel(s) for s in em_statistics(X, terms, w)])]
    for run in runs:
        expected = run()
        _alloc._fail_allocations_after(2**62)
        try:
            run()
            n_allocations = _alloc._allocations_counted()
        finally:
            _alloc._fail_allocations_after(None)
        assert n_allocations > 0
        for after in range(n_allocations):
            _alloc._fail_allocations_after(after)
            try:
                with pytest.raises(MemoryError, match="could not allocate"):
                    run()
            finally:
                _alloc._fail_allocations_after(None)
        np.testing.assert_array_equal(run(), expected)


def test_bad_shapes_are_refused_by_the_kernel():
    from lvmfast._kernels import _factor as kernels

    means, components, noise_variance = random_model(2, 2, 4, seed=1)
    X = np.random.RandomState(0).randn(10, 4)
    from lvmfast._factor import LowRankTerms

    terms = LowRankTerms(means, components, noise_variance, np.zeros(4), X.dtype)
    out = np.empty((10, 2))
    with pytest.raises(ValueError, match="factor log_prob: out must have shape \\(10, 2\\), got \\(9, 2\\)"):
        kernels.log_prob(X, terms.shift, terms.projections, terms.projected_means, terms.centered_means,
                         terms.inverse_noise, terms.constants, out[:9], None, 16, 1)
    with pytest.raises(ValueError, match="projections"):
        kernels.log_prob(X, terms.shift, terms.projections[:3], terms.projected_means, terms.centered_means,
                         terms.inverse_noise, terms.constants, out, None, 16, 1)
