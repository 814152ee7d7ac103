"""Greedy k-means++ seeding, on dense and CSR rows.

Draws from the RandomState as scikit-learn's kmeans_plusplus does: the
first center with probability proportional to the weights, then per further
center n_local_trials candidates with probability proportional to
w * (squared distance to the nearest center so far), keeping the one that
leaves the least potential. The passes are compiled (dense:
lvmfast._kernels._kmeanspp.kmeans_plusplus; CSR: lvmfast._kernels._sparse).
The k-means|| seeding (lvmfast.cluster._kmeans_parallel) runs this one on
its candidates.
"""
import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_params
from sklearn.utils.validation import check_array

from lvmfast._kernels import _kmeanspp as kernels
from lvmfast._kernels import _sparse
from lvmfast._parallel import effective_n_threads, plan_blocks, threads_for_work
from lvmfast._validation import (
    FLOAT_DTYPES, check_float_array, check_sample_weight, draw_probabilities, integers, weights_with_finite_sum,
)
from lvmfast._validation import feature_mean_variance
from lvmfast.cluster._centering import check_squared_spread, is_constant
from lvmfast.cluster._rows import plan_csr_blocks

__all__ = ["csr_kmeans_plusplus_indices", "kmeans_plusplus"]


def _kmeans_plusplus_indices(X, sample_weight, n_clusters, random_state, n_local_trials, n_threads):
    """Row indices of greedy k-means++ seeds. Draws from random_state exactly
    as scikit-learn does: one choice for the first center, then n_local_trials
    uniforms per further center."""
    # each center's passes: every row against the candidates and the last center
    n_trials = 2 + int(np.log(n_clusters)) if n_local_trials is None else n_local_trials
    n_threads = threads_for_work((X.nnz if sp.issparse(X) else X.size) * (n_trials + 1), n_threads)
    if sp.issparse(X):
        return csr_kmeans_plusplus_indices(X, sample_weight, n_clusters, random_state, n_local_trials, n_threads)
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    # weights whose float64 sum (and so the potentials, sums of w * closest)
    # would overflow, rescaled by a power of two: the same draws
    sample_weight = weights_with_finite_sum(sample_weight)
    first = random_state.choice(n_samples, p=draw_probabilities(sample_weight))
    uniforms = random_state.uniform(size=(n_clusters - 1, n_local_trials))
    plan = plan_blocks(n_samples, row_bytes=(n_local_trials + 1) * 8, stat_bytes=(n_local_trials + 1) * 8)
    indices = np.empty(n_clusters, dtype=np.intp)
    closest = np.empty(n_samples)
    labels = np.empty(n_samples, dtype=np.intc)
    pots = np.empty((plan.n_blocks, n_local_trials + 1))
    kernels.kmeans_plusplus(
        X, sample_weight, int(first), np.ascontiguousarray(uniforms), indices, closest, labels, pots,
        plan.chunk_rows, plan.block_rows, n_threads,
        threads_for_work(plan.block_rows * X.shape[1] * n_local_trials, n_threads),  # a block rescanned per draw
    )
    return indices


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "n_clusters": [integers(1)],
        "sample_weight": ["array-like", None],
        "x_squared_norms": ["array-like", None],
        "random_state": ["random_state"],
        "n_local_trials": [integers(1), None],
    },
    prefer_skip_nested_validation=True,
)
def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None, random_state=None,
                    n_local_trials=None):
    """Choose initial cluster centers by greedy k-means++.

    Each further center is the best of `n_local_trials` candidates drawn with
    probability proportional to weight times squared distance to the nearest
    center chosen so far.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data to pick seeds from (sparse input is used as CSR).
    n_clusters : int
        Number of centers to choose.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs them equally.
    x_squared_norms : array-like of shape (n_samples,), default=None
        Accepted for scikit-learn compatibility and checked for its length;
        lvmfast computes distances by direct differences and does not use it.
    random_state : int, RandomState instance or None, default=None
        Seed of the candidate draws, used as scikit-learn uses it: for
        float64 data the same seed picks the same rows as scikit-learn's
        ``kmeans_plusplus``. (For float32 data scikit-learn sums its
        sampling weights in float32, so on large data the picks differ.)
    n_local_trials : int, default=None
        Candidates per center; None means ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The chosen rows of X, in X's dtype (float32 or float64).
    indices : ndarray of shape (n_clusters,)
        Their row indices in X.

    See Also
    --------
    lvmfast.KMeans : Uses these seeds with ``init='k-means++'``.

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast import kmeans_plusplus
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0],
    ...               [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> centers, indices = kmeans_plusplus(X, n_clusters=2, random_state=0)
    >>> centers.shape, indices.shape
    ((2, 2), (2,))
    >>> bool((centers == X[indices]).all())
    True
    """
    X = check_float_array(X, accept_sparse="csr")
    sample_weight = check_sample_weight(sample_weight, X, X.dtype)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    check_squared_spread(feature_mean_variance(X)[1], X.dtype, lambda: is_constant(X))
    if x_squared_norms is not None:
        x_squared_norms = check_array(x_squared_norms, dtype=FLOAT_DTYPES, ensure_2d=False, input_name="x_squared_norms")
        if x_squared_norms.ndim != 1 or x_squared_norms.shape[0] != X.shape[0]:
            raise ValueError(
                f"The length of x_squared_norms {x_squared_norms.shape} should "
                f"be equal to the length of n_samples {X.shape[0]}."
            )
    random_state = check_random_state(random_state)
    indices = _kmeans_plusplus_indices(
        X, sample_weight, n_clusters, random_state, n_local_trials, effective_n_threads()
    )
    centers = X[indices]
    return (centers.toarray() if sp.issparse(centers) else centers), indices


def csr_kmeans_plusplus_indices(X, sample_weight, n_clusters, random_state, n_local_trials=None,
                                n_threads=None):
    """Greedy k-means++ seeding on a CSR matrix; returns the chosen rows.

    Draws its random numbers exactly as scikit-learn's ``_kmeans_plusplus``:
    the first center with probability proportional to the weights, then per
    further center ``n_local_trials`` candidates with probability proportional
    to ``sample_weight * closest`` (``closest`` being the squared distance to
    the nearest chosen center), keeping the candidate that leaves the least
    potential. On float64 data it picks the rows scikit-learn's
    ``kmeans_plusplus`` picks for the same ``random_state``, up to rounding
    ties. No N x n_local_trials array is stored.

    Parameters
    ----------
    X : scipy.sparse CSR matrix of shape (n_samples, n_features)
        Canonical CSR, float32 or float64.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights, not all zero; cast to X's dtype as scikit-learn
        does.
    n_clusters : int
        Number of centers to pick, at most n_samples.
    random_state : int, RandomState instance or None
        As in scikit-learn.
    n_local_trials : int, default=None
        Candidates per center after the first; None means
        ``2 + int(np.log(n_clusters))``.
    n_threads : int, default=None
        OpenMP threads; None means ``effective_n_threads()``.

    Returns
    -------
    indices : ndarray of shape (n_clusters,), dtype intp
        The rows of X chosen as centers, in order.
    """
    n_samples, n_features = X.shape
    if not 1 <= n_clusters <= n_samples:
        raise ValueError(f"n_clusters must lie in [1, n_samples={n_samples}], got {n_clusters}")
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    if n_local_trials < 1:
        raise ValueError(f"n_local_trials must be >= 1, got {n_local_trials}")
    if n_threads is None:
        n_threads = effective_n_threads()
    random_state = check_random_state(random_state)
    dtype = X.data.dtype
    data, indices, indptr = X.data, X.indices, X.indptr
    sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
    if sample_weight.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {sample_weight.shape}")
    # as in _kmeans_plusplus_indices: the same draws, finite potentials
    sample_weight = weights_with_finite_sum(sample_weight)

    row_sq_norms = np.empty(n_samples, dtype=np.float64)
    _sparse.csr_row_sq_norms(data, indptr, row_sq_norms, n_threads)
    plan = plan_csr_blocks(X, n_local_trials)
    pots = np.empty((plan.n_blocks, n_local_trials), dtype=np.float64)

    def dense_rows(rows):
        return np.ascontiguousarray(X[rows].toarray(), dtype=dtype)

    chosen = np.full(n_clusters, -1, dtype=np.intp)
    # The first center, drawn as scikit-learn draws it (the weights
    # normalized in float64, where scikit-learn uses X's dtype).
    center_id = random_state.choice(n_samples, p=draw_probabilities(sample_weight))
    chosen[0] = center_id
    closest = np.full(n_samples, np.inf, dtype=np.float64)
    _sparse.csr_pp_fold_center(data, indices, indptr, n_features, row_sq_norms,
                               dense_rows([center_id])[0], float(row_sq_norms[center_id]),
                               closest, n_threads)
    current_pot = closest @ sample_weight

    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidate_ids = np.searchsorted(
            np.cumsum(sample_weight * closest, dtype=np.float64), rand_vals
        )
        np.clip(candidate_ids, None, n_samples - 1, out=candidate_ids)
        candidates = dense_rows(candidate_ids)
        _sparse.csr_pp_potentials(data, indices, indptr, n_features, row_sq_norms, sample_weight,
                                  closest, candidates, row_sq_norms[candidate_ids], pots,
                                  plan.chunk_rows, plan.block_rows, n_threads)
        # Sum the block potentials in block order (deterministic).
        candidates_pot = np.zeros(n_local_trials)
        for block_pots in pots:
            candidates_pot += block_pots
        best = int(np.argmin(candidates_pot))
        current_pot = candidates_pot[best]
        chosen[c] = candidate_ids[best]
        _sparse.csr_pp_fold_center(data, indices, indptr, n_features, row_sq_norms,
                                   candidates[best], float(row_sq_norms[candidate_ids[best]]),
                                   closest, n_threads)
    return chosen
