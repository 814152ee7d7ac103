"""Which callable each library provides for a benchmarked model."""

# Which callable each library provides for a model: (module, name).
IMPLEMENTATIONS = {
    "KMeans": {"lvmfast": ("lvmfast", "KMeans"), "sklearn": ("sklearn.cluster", "KMeans")},
    "kmeans_plusplus": {"lvmfast": ("lvmfast", "kmeans_plusplus"), "sklearn": ("sklearn.cluster", "kmeans_plusplus")},
    "MiniBatchKMeans": {
        "lvmfast": ("lvmfast", "MiniBatchKMeans"), "sklearn": ("sklearn.cluster", "MiniBatchKMeans"),
    },
    # Seeding for large K: lvmfast's k-means|| against scikit-learn's greedy k-means++.
    "kmeans_seeding": {
        "lvmfast": ("lvmfast.cluster._kmeans_parallel", "kmeans_parallel"), "sklearn": ("sklearn.cluster", "kmeans_plusplus"),
    },
    "GaussianMixture": {
        "lvmfast": ("lvmfast", "GaussianMixture"), "sklearn": ("sklearn.mixture", "GaussianMixture"),
    },
    "BayesianGaussianMixture": {
        "lvmfast": ("lvmfast", "BayesianGaussianMixture"), "sklearn": ("sklearn.mixture", "BayesianGaussianMixture"),
    },
    # Choosing K by BIC: scikit-learn has no grid call; its side fits one after another.
    "GaussianMixtureIC": {"lvmfast": ("lvmfast", "GaussianMixtureIC")},
    # Missing values: scikit-learn has none; the peer is lvmfast on the complete X.
    "GaussianMixtureMissing": {
        "lvmfast": ("lvmfast", "GaussianMixture"), "sklearn": ("lvmfast", "GaussianMixture"),
    },
    "GaussianNB": {"lvmfast": ("lvmfast", "GaussianNB"), "sklearn": ("sklearn.naive_bayes", "GaussianNB")},
    "GaussianClassifier": {
        "lvmfast": ("lvmfast", "GaussianClassifier"),
        "sklearn": ("sklearn.discriminant_analysis", "QuadraticDiscriminantAnalysis"),
    },
    "FactorAnalysis": {
        "lvmfast": ("lvmfast", "FactorAnalysis"), "sklearn": ("sklearn.decomposition", "FactorAnalysis"),
    },
    # scikit-learn has none: the bench's mfa case sets it beside a full GaussianMixture.
    "MixtureOfFactorAnalyzers": {"lvmfast": ("lvmfast", "MixtureOfFactorAnalyzers")},
    "KernelDensity": {"lvmfast": ("lvmfast", "KernelDensity"), "sklearn": ("sklearn.neighbors", "KernelDensity")},
    # Hidden Markov models: the peer slot ("sklearn") holds hmmlearn's classes.
    "GaussianHMM": {"lvmfast": ("lvmfast.hmm", "GaussianHMM"), "sklearn": ("hmmlearn.hmm", "GaussianHMM")},
}
LIBRARIES = ("lvmfast", "sklearn")


def implementation(model, library):
    """The class or function `library` provides for `model`."""
    import importlib

    module, name = IMPLEMENTATIONS[model][library]
    return getattr(importlib.import_module(module), name)


def qualified_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"
