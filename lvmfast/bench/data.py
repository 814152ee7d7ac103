"""The benchmarks' data, made without scikit-learn from a seed: blobs,
TF-IDF-like documents, labelled blobs, known mixtures, and the mixtures'
common starting point."""
import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def make_blobs(n_samples, n_features, n_centers, dtype, seed=0):
    """Gaussian blobs around n_centers random centers, without scikit-learn.
    The last array is cached: the k-means cases share their data."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, (n_centers, n_features))
    X = rng.standard_normal((n_samples, n_features))
    X += centers[rng.integers(0, n_centers, n_samples)]
    return X.astype(dtype, copy=False)


def _zipf(n, exponent=1.0, shift=2.7):
    """Zipf-Mandelbrot probabilities of ranks 0..n-1."""
    weights = 1.0 / (np.arange(n) + shift) ** exponent
    return weights / weights.sum()


def _document_terms(rng, n_rows, n_features, n_topics, mean_tokens, topical_share):
    """(row, column) of every token of n_rows documents, and each row's topic."""
    vocabulary = rng.permutation(n_features)  # rank -> column: popularity unrelated to the column's index
    topic_size = max(1, n_features // n_topics)
    topic_terms = np.stack([rng.permutation(n_features)[:topic_size] for _ in range(n_topics)])
    topic = rng.integers(0, n_topics, n_rows)
    # Document lengths: lognormal around mean_tokens (sigma 0.6), at least one token.
    lengths = np.maximum(1, np.rint(mean_tokens * rng.lognormal(-0.18, 0.6, n_rows))).astype(np.int64)
    rows = np.repeat(np.arange(n_rows), lengths)
    columns = vocabulary[rng.choice(n_features, rows.size, p=_zipf(n_features))]
    topical = np.flatnonzero(rng.random(rows.size) < topical_share)
    columns[topical] = topic_terms[topic[rows[topical]], rng.choice(topic_size, topical.size, p=_zipf(topic_size))]
    return rows, columns, topic


def sparse_documents(n_samples, n_features, n_topics, nnz_per_row, dtype, seed=0, topical_share=0.3):
    """A TF-IDF-like CSR matrix of bag-of-words documents, without scikit-learn.

    Each row is a document of a lognormal number of tokens. A token is a
    term of the whole vocabulary with Zipf popularity (a few terms are in
    most documents, most terms are rare), or, with probability
    topical_share, a term of the row's topic: one of n_topics random subsets
    of n_features / n_topics terms, Zipf-ranked within it. So the rows have
    some cluster structure, but weak: 70% of their tokens are shared
    background, and k-means from K random rows recovers the topics only in
    part (adjusted Rand index about 0.55 at N=40,000 D=50,000; 0.84 at the
    quick size, where the topics' terms are denser). The values are tf-idf weights, (1 + log tf) * (log((1 + N) /
    (1 + df)) + 1) as scikit-learn's TfidfVectorizer(sublinear_tf=True), and
    each row is L2-normalized. The token count is calibrated on a pilot so
    that rows have nnz_per_row distinct terms on average. Canonical CSR
    (sorted, unique indices), int32 indices and indptr, no empty row.
    Returns (X, each row's topic)."""
    import scipy.sparse as sp

    # Pilot: the tokens per row that give nnz_per_row distinct terms.
    mean_tokens = float(nnz_per_row)
    for _ in range(2):
        rows, columns, _ = _document_terms(np.random.default_rng([seed, 1]), 4000, n_features, n_topics,
                                           mean_tokens, topical_share)
        distinct = np.unique(rows * n_features + columns).size
        mean_tokens *= nnz_per_row / (distinct / 4000)
    rng = np.random.default_rng(seed)
    rows, columns, topic = _document_terms(rng, n_samples, n_features, n_topics, mean_tokens, topical_share)
    keys, tf = np.unique(rows * n_features + columns, return_counts=True)  # sorted by row, then column
    del rows, columns
    rows, columns = np.divmod(keys, n_features)
    del keys
    df = np.bincount(columns, minlength=n_features)
    data = (1 + np.log(tf)) * (np.log((1 + n_samples) / (1 + df)) + 1)[columns]
    data /= np.sqrt(np.bincount(rows, weights=data**2, minlength=n_samples))[rows]
    indptr = np.zeros(n_samples + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_samples), out=indptr[1:])
    index = np.int32 if max(n_features, len(data)) < 2**31 else np.int64
    X = sp.csr_matrix((data.astype(dtype), columns.astype(index), indptr.astype(index)),
                      shape=(n_samples, n_features))
    X.has_sorted_indices = True
    return X, topic


def labelled_blobs(n_samples, n_features, n_classes, dtype, seed=0):
    """Gaussian blobs with unequal spreads per feature, and each row's blob as
    its label; they overlap enough that about 12% of rows are misclassified
    at D=50, so that the two libraries' predictions can disagree."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-0.75, 0.75, (n_classes, n_features))
    spreads = rng.uniform(0.5, 2.0, n_features)  # drawn before the rows: the same at every size
    y = rng.integers(0, n_classes, n_samples)
    X = rng.standard_normal((n_samples, n_features)) * spreads + centers[y]
    return X.astype(dtype, copy=False), y


def starting_point(X, n_components, covariance_type, seed=1):
    """Equal weights, random rows as means, and the data's per-feature
    variance as every component's covariance, in each type's precision form."""
    rng = np.random.default_rng(seed)
    means = X[rng.choice(len(X), n_components, replace=False)].astype(np.float64)
    variance = X[:10000].astype(np.float64).var(axis=0)
    precisions = {
        "full": np.repeat(np.diag(1 / variance)[None], n_components, axis=0),
        "tied": np.diag(1 / variance),
        "diag": np.repeat((1 / variance)[None], n_components, axis=0),
        "spherical": np.full(n_components, 1 / variance.mean()),
    }[covariance_type]
    return {"weights_init": np.full(n_components, 1 / n_components), "means_init": means, "precisions_init": precisions}



def known_mixture(n_samples, n_features, n_components, dtype, seed=0):
    """Rows of a known mixture: n_components Gaussians with their own
    random full covariances and unequal weights, far enough apart that the
    number of components can be told from the data."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    counts = rng.multinomial(n_samples, weights)
    means = rng.normal(0.0, 6.0, (n_components, n_features))
    parts = [m + rng.standard_normal((c, n_features)) @ (np.eye(n_features) + rng.normal(0.0, 0.3, (n_features, n_features)))
             for m, c in zip(means, counts)]
    return np.ascontiguousarray(rng.permutation(np.vstack(parts)), dtype=dtype)
