"""Benchmark cases shared by the pytest-benchmark suites: the data, the two
libraries' calls from the same starting point, and the machine's GEMM rate."""
import time

import numpy as np

SIZES = {
    "full": {"n_samples": 1_000_000, "n_features": 32, "n_clusters": 64},
    "quick": {"n_samples": 100_000, "n_features": 32, "n_clusters": 64},
}


def make_blobs(n_samples, n_features, n_centers, dtype, seed=0):
    """Gaussian blobs around n_centers random centers, without scikit-learn."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, (n_centers, n_features))
    X = rng.standard_normal((n_samples, n_features))
    X += centers[rng.integers(0, n_centers, n_samples)]
    return X.astype(dtype)


def gemm_rate(dtype, size=2048, repeats=3):
    """FLOP/s that numpy's matmul reaches here for a large square product."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    a @ a
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def lloyd_fit(library, X, init, max_iter):
    """A callable fitting k-means from `init` for exactly max_iter iterations
    (tol=0: random-ish blobs with 64 clusters do not converge that fast)."""
    if library == "lvmfast":
        from lvmfast import KMeans
    else:
        from sklearn.cluster import KMeans
    model = KMeans(init.shape[0], init=init, n_init=1, max_iter=max_iter, tol=0.0)
    return lambda: model.fit(X)


def kmeans_plusplus(library, X, n_clusters, seed):
    if library == "lvmfast":
        from lvmfast import kmeans_plusplus as seed_centers
    else:
        from sklearn.cluster import kmeans_plusplus as seed_centers
    return lambda: seed_centers(X, n_clusters, random_state=seed)


def potential(X, centers, chunk_rows=65536):
    """Sum over rows of the squared distance to the nearest center (float64)."""
    C = centers.astype(np.float64)
    c_sq = (C**2).sum(axis=1)
    total = 0.0
    for start in range(0, X.shape[0], chunk_rows):
        x = X[start:start + chunk_rows].astype(np.float64)
        d = (x**2).sum(axis=1)[:, None] - 2 * x @ C.T + c_sq
        total += np.maximum(d.min(axis=1), 0).sum()
    return total


GMM_SIZES = {
    "full": {"n_samples": 500_000, "n_features": 16, "n_components": 16},
    "quick": {"n_samples": 50_000, "n_features": 16, "n_components": 16},
}


def gmm_starting_point(X, n_components, covariance_type, seed=1):
    """Equal weights, random rows as means, and the data's per-feature
    variance as every component's covariance, in each type's precision form."""
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    means = X[rng.choice(len(X), n_components, replace=False)].astype(np.float64)
    variance = X[:10000].astype(np.float64).var(axis=0)
    precisions = {
        "full": np.repeat(np.diag(1 / variance)[None], n_components, axis=0),
        "tied": np.diag(1 / variance),
        "diag": np.repeat((1 / variance)[None], n_components, axis=0),
        "spherical": np.full(n_components, 1 / variance.mean()),
    }[covariance_type]
    return {"weights_init": np.full(n_components, 1 / n_components), "means_init": means, "precisions_init": precisions}


def gmm_fit(library, X, covariance_type, start, max_iter):
    """A callable fitting a Gaussian mixture from `start` for exactly max_iter
    EM iterations (tol=0); the initialization itself is the cheapest one."""
    if library == "lvmfast":
        from lvmfast import GaussianMixture
    else:
        from sklearn.mixture import GaussianMixture
    model = GaussianMixture(
        len(start["weights_init"]), covariance_type=covariance_type, max_iter=max_iter, tol=0.0,
        init_params="random_from_data", random_state=0, **start,
    )

    def fit():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X)

    return fit


CLASSIFIER_SIZES = {
    "full": {"n_samples": 1_000_000, "n_features": 50, "n_classes": 10},
    "quick": {"n_samples": 100_000, "n_features": 50, "n_classes": 10},
}


def labelled_blobs(n_samples, n_features, n_classes, dtype, seed=0):
    """Gaussian blobs and the blob of each row as its label."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-3, 3, (n_classes, n_features))
    y = rng.integers(0, n_classes, n_samples)
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.5, 2.0, n_features) + centers[y]
    return X.astype(dtype), y


def classifier(library, kind):
    """'nb': Gaussian naive Bayes; 'full': one full Gaussian per class
    (scikit-learn's QuadraticDiscriminantAnalysis)."""
    if kind == "nb":
        if library == "lvmfast":
            from lvmfast import GaussianNB
        else:
            from sklearn.naive_bayes import GaussianNB
        return GaussianNB()
    if library == "lvmfast":
        from lvmfast import GaussianClassifier

        return GaussianClassifier("full")
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

    return QuadraticDiscriminantAnalysis(store_covariance=True)
