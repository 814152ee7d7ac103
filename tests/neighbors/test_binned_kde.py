"""KernelDensity(method='binned'): within its documented bound of the exact
evaluation, on the grid and at scored points, for one to three features."""
import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from lvmfast import KernelDensity
from lvmfast.neighbors._binned import cell_corners


@pytest.mark.parametrize("n_features, grid_size", [(1, 256), (1, None), (2, 64), (2, None), (3, 32)])
def test_scores_within_the_bound(n_features, grid_size):
    rng = np.random.default_rng(n_features)
    X = np.vstack([rng.normal(size=(300, n_features)), rng.normal(size=(200, n_features)) * 0.5 + 2])
    weights = rng.uniform(0.2, 1.0, size=len(X))
    Y = np.vstack([rng.normal(size=(200, n_features)) * 1.5, X[:20]])
    binned = KernelDensity(bandwidth=0.3, method="binned", grid_size=grid_size).fit(X, sample_weight=weights)
    exact = KernelDensity(bandwidth=0.3).fit(X, sample_weight=weights)
    error = np.abs(np.exp(binned.score_samples(Y)) - np.exp(exact.score_samples(Y)))
    bound = binned.density_error_bound_
    assert 0 < bound and np.all(error <= bound)
    # the bound is the worst case; the error itself is far below it
    assert error.max() < bound / 4


def test_grid_density_within_the_bound_and_bound_shrinks():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 2))
    bounds = []
    for size in (32, 64, 128):
        kde = KernelDensity(bandwidth=0.4, method="binned", grid_size=size).fit(X)
        axes, log_density = kde.score_grid()
        assert [len(a) for a in axes] == [size, size] and log_density.shape == (size, size)
        mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        exact = np.exp(KernelDensity(bandwidth=0.4).fit(X).score_samples(mesh))
        # at the grid's nodes only the binning's half of the bound applies
        assert np.all(np.abs(np.exp(log_density.ravel()) - exact) <= kde.density_error_bound_ / 2)
        bounds.append(kde.density_error_bound_)
    assert bounds[0] > 3.5 * bounds[1] > 3.5 * 3.5 * bounds[2]


def test_grid_integrates_to_one_and_far_points_exact():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(1000, 1))
    kde = KernelDensity(bandwidth=0.2, method="binned", grid_size=512).fit(X)
    (axis,), log_density = kde.score_grid()
    assert np.trapezoid(np.exp(log_density), axis) == pytest.approx(1.0, abs=1e-6)
    far = np.array([[axis[-1] + 1.0], [axis[0] - 3.0]])
    np.testing.assert_array_equal(kde.score_samples(far), KernelDensity(bandwidth=0.2).fit(X).score_samples(far))


def test_cell_corners_keep_weight_and_mean():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 9, size=(50, 3))
    low, spacing, shape = np.zeros(3), np.ones(3), (10, 10, 10)
    total = np.zeros(50)
    mean = np.zeros((50, 3))
    grid = np.stack(np.meshgrid(*[np.arange(10.0)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    for index, weight in cell_corners(x, low, spacing, shape):
        total += weight
        mean += weight[:, None] * grid[index]
    np.testing.assert_allclose(total, 1.0, rtol=1e-14)
    np.testing.assert_allclose(mean, x, rtol=1e-13)


@pytest.mark.parametrize(
    "params, n_features, match",
    [({}, 4, "1 to 3 features"), ({"kernel": "tophat"}, 1, "kernel='gaussian'"), ({"grid_size": 2}, 1, "grid_size")],
)
def test_binned_refusals(params, n_features, match):
    X = np.random.default_rng(8).normal(size=(20, n_features))
    with pytest.raises(ValueError, match=match):
        KernelDensity(method="binned", **params).fit(X)


def test_score_grid_needs_binned():
    kde = KernelDensity().fit(np.zeros((3, 1)) + np.arange(3)[:, None])
    with pytest.raises(ValueError, match="method='binned'"):
        kde.score_grid()


# check_estimator's data have up to 30 features; the binned estimator
# refuses more than 3 on purpose.
_FEATURE_LIMIT = "method='binned' refuses more than 3 features"
BINNED_EXPECTED_FAILURES = {
    name: _FEATURE_LIMIT
    for name in (
        "check_n_features_in_after_fitting", "check_positive_only_tag_during_fit", "check_estimators_dtypes",
        "check_all_zero_sample_weights_error", "check_sample_weight_equivalence_on_dense_data",
        "check_dtype_object", "check_fit2d_1sample",
    )
}


def test_check_estimator_binned():
    check_estimator(KernelDensity(method="binned"), expected_failed_checks=BINNED_EXPECTED_FAILURES)
