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
