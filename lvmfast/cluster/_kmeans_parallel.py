"""k-means|| seeding: scalable k-means++ (Bahmani et al., 2012).

Greedy k-means++ reads X once per center. k-means|| reads it once per round:

1. one row drawn with probability proportional to its weight is the first
   candidate; a pass gives each row its squared distance to it (closest);
2. each of `n_rounds` rounds draws every row independently with probability
   min(1, l * w * closest / phi), l = oversampling_factor * n_clusters and
   phi = sum of w * closest (about l new candidates per round), then one pass
   folds the new candidates into closest and into each row's label, the
   index of its nearest candidate;
3. each candidate weighs the summed weight of the rows nearest to it (from
   the labels: no pass over X);
4. weighted greedy k-means++ on the candidates (lvmfast's own, with
   sample_weight) picks the n_clusters initial centers.

The per-block parts (the distance update, the draws, the candidate weights)
are functions of a block of rows (update_nearest, draw_rows,
candidate_weights below), so the Dask estimators can map them over a dask
array's blocks. The draws come from a counter-based generator keyed by
(seed, round, global row index): they do not depend on the block split, the
thread count or the dask chunks. Per-block sums are reduced in block order:
the same random_state gives bit-identical centers with any thread count.

If the rounds leave fewer than n_clusters candidates (a small
oversampling_factor or few rounds), the missing ones are drawn without
replacement with probability proportional to w * closest (then among the
remaining rows, when fewer rows than that have a positive distance: data
with fewer distinct rows than n_clusters), and one more pass labels the
rows. Python decides, Cython (lvmfast._kernels._oversample) computes.
"""
import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_params

from lvmfast._kernels import _oversample as kernels
from lvmfast._parallel import effective_n_threads, plan_blocks, threads_for_work
from lvmfast._validation import (
    check_float_array,
    check_sample_weight,
    integers,
    positive_reals,
    unit_mean_weights,
)
from lvmfast.cluster._centering import dense_centering_shift
from lvmfast.cluster._lloyd import _mean_variance, lloyd
from lvmfast.cluster._protocols import SeedingRows
from lvmfast.cluster._rows import CSRRows, _rows
from lvmfast.cluster._seeding import _kmeans_plusplus_indices

__all__ = ["candidate_weights", "draw_rows", "kmeans_parallel", "kmeans_parallel_centers", "update_nearest"]


# ---------------------------------------------------------------------------
# Per-block parts: functions of a block of rows


def _update_plan(n_samples, n_features):
    # Per chunk row: the centered, transposed row (in the scoring type, at
    # most double) and its running best, label and distance.
    return plan_blocks(n_samples, row_bytes=(n_features + 4) * 8)


def update_nearest(X, shift, candidates, sample_weight, closest, labels, label_offset, n_threads=None,
                   single=False):
    """Fold `candidates` into each row's nearest candidate; return the
    weighted potential sum(w * closest) of the block after the update.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32 or float64, C order
        A block of rows, or a CSR matrix of them.
    shift : ndarray of shape (n_features,), X's dtype
        Dense X: rows and candidates are scored centered by shift (the data
        mean keeps float32 scores accurate); ignored for CSR.
    candidates : ndarray of shape (n_new, n_features), X's dtype
        The new candidates: rows of X, dense (CSR X: dense or CSR).
    sample_weight : ndarray of shape (n_rows,), X's dtype
    closest : ndarray of shape (n_rows,), float64
        Squared distance of each row to its nearest candidate so far
        (inf before the first); updated in place.
    labels : ndarray of shape (n_rows,), int32
        Index of that candidate; rows nearer a new candidate get
        label_offset + its index (ties keep the earlier candidate).
    label_offset : int
        The number of candidates before these.
    n_threads : int, default=None
        OpenMP threads; None means effective_n_threads().
    single : bool, default=False
        float64 X: score the candidates in float32 (twice as fast). The
        scores only choose each row's candidate; its distance is computed in
        double. Only for data whose scale float32 holds.
    """
    n_threads = threads_for_work((X.nnz if sp.issparse(X) else X.size) * candidates.shape[0], n_threads)
    if sp.issparse(X):
        return _csr_update_nearest(X, candidates, sample_weight, closest, labels, label_offset, n_threads)
    plan = _update_plan(X.shape[0], X.shape[1])
    block_potential = np.empty(plan.n_blocks)
    kernels.nearest_update(
        X, shift, candidates, sample_weight, closest, labels, int(label_offset), block_potential,
        plan.chunk_rows, plan.block_rows, n_threads, bool(single),
    )
    return _block_order_sum(block_potential)


def _csr_update_nearest(X, candidates, sample_weight, closest, labels, label_offset, n_threads):
    """update_nearest for CSR rows, on the sparse Lloyd kernels: assign each
    row to its nearest new candidate, take its distance, keep the nearer.
    The candidates are made dense CSR_DENSE_VALUES values at a time (wide
    sparse data: 2K candidates x 50,000 columns would be 800 MB), one pass
    over X per batch; ties keep the earlier candidate."""
    n_new = candidates.shape[0]
    batch = max(1, min(n_new, CSR_DENSE_VALUES // max(X.shape[1], 1)))
    rows = CSRRows(X, batch, n_threads)
    new_labels = np.zeros(X.shape[0], dtype=np.int32)
    for start in range(0, n_new, batch):
        part = candidates[start:start + batch]
        part = np.ascontiguousarray(part.toarray() if sp.issparse(part) else part, dtype=X.dtype)
        rows.lloyd_step(sample_weight, part, new_labels, False, False)
        distances = rows.assigned_sq_distances(part, new_labels)
        nearer = distances < closest
        closest[nearer] = distances[nearer]
        labels[nearer] = new_labels[nearer] + np.int32(label_offset + start)
    return float(np.sum(sample_weight.astype(np.float64) * closest))


def draw_rows(closest, sample_weight, factor, key, row_offset=0, n_threads=None):
    """The rows of a block that one round draws, in order: row i with
    probability min(1, factor * w_i * closest_i), from the uniform
    u(key, row_offset + i) (see lvmfast._kernels._oversample), so the draws
    depend on the global row index only.

    Returns
    -------
    rows : ndarray of int64
        Indices into the block.
    """
    n_threads = effective_n_threads() if n_threads is None else n_threads
    selected = np.empty(closest.shape[0], dtype=np.uint8)
    kernels.oversample(closest, sample_weight, float(factor), int(key), int(row_offset), selected, n_threads)
    return np.flatnonzero(selected)


def candidate_weights(labels, sample_weight, n_candidates, n_threads=None):
    """The summed weight of the rows nearest each candidate (from the rows'
    labels), in float64, reduced over fixed blocks in block order."""
    n_threads = effective_n_threads() if n_threads is None else n_threads
    plan = plan_blocks(labels.shape[0], row_bytes=1, stat_bytes=n_candidates * 8)
    block_weights = np.empty((plan.n_blocks, n_candidates))
    kernels.candidate_weights(labels, sample_weight, block_weights, plan.block_rows, n_threads)
    return block_weights.sum(axis=0)


def _block_order_sum(values):
    total = 0.0
    for v in values:
        total += float(v)
    return total


# ---------------------------------------------------------------------------
# The local driver

# CSR X: new candidates are made dense this many values at a time.
CSR_DENSE_VALUES = 8 * 2**20
# float64 data scores candidates in float32 where its scale allows (see
# update_nearest): twice the speed, and the distances stay float64.
SINGLE_PRECISION_SCORES = True
# Greedy k-means++ on the candidates runs two short parallel regions per
# center, and Lloyd on them a few per iteration: threads only past this many
# values (candidates x features): below it, the regions' synchronization
# costs more than a second thread saves, most of all on a busy machine. Its local
# trials matter: with one trial per center (plain k-means++, as Bahmani et
# al. recluster) k-means|| reached the best inertia on 64 separated blobs in
# 0 of 20 seeds, against 16 of 20 with greedy's 2 + log(K).
CANDIDATE_VALUES_PER_THREAD = 4 * 2**20
# Weighted Lloyd iterations on the candidates after their greedy k-means++
# (KMeans' default tol).
# Measured (N=50,000, D=32, 5 seeds): the final inertia after Lloyd on X is
# the same with or without them (within 0.05% of greedy k-means++ on normal
# data and blobs), but on normal data at K=256 Lloyd on X then needs 113
# iterations on average (3 or 10 of them) instead of 166 (greedy k-means++
# seeds: 113). Each costs about one Lloyd iteration on 10 K rows.
CANDIDATE_LLOYD_ITER = 5
CANDIDATE_LLOYD_TOL = 1e-4


def _candidate_rows(X, rows):
    """X[rows]: dense and C-contiguous, or CSR for CSR X (never densified
    whole: wide sparse data)."""
    if sp.issparse(X):
        return check_float_array(X[rows], input_name="candidates", accept_sparse="csr")
    return np.ascontiguousarray(X[rows])


def _single_precision_scores(X, closest, first, shift):
    """Whether float64 X may score candidates in float32: its rows, centered
    by shift, lie well inside float32's normal range (closest holds the
    exact squared distances to the first candidate)."""
    if not SINGLE_PRECISION_SCORES or sp.issparse(X) or X.dtype != np.float64:
        return False
    return single_precision_scores(float(closest.max()), float(closest.mean()), X[first], shift)


def single_precision_scores(largest_closest, mean_closest, first_row, shift):
    """_single_precision_scores from the largest and mean squared distance
    to the first candidate and that candidate's row (float64 X)."""
    first_sq = float(np.sum((first_row.astype(np.float64) - shift) ** 2))
    largest = 2.0 * (largest_closest + first_sq)
    return bool(SINGLE_PRECISION_SCORES and 1e-20 < mean_closest and largest < 1e30)


def _top_up(closest, sample_weight, candidates, n_missing, random_state):
    """n_missing more rows, without replacement, with probability
    proportional to w * closest; when fewer rows than that have a positive
    one, all of those and then rows drawn uniformly among the others that are
    not candidates yet."""
    p = sample_weight.astype(np.float64) * closest
    p[candidates] = 0.0
    positive = np.flatnonzero(p > 0)
    if positive.shape[0] >= n_missing:
        return random_state.choice(p.shape[0], size=n_missing, replace=False, p=p / p.sum())
    others = np.setdiff1d(np.flatnonzero(p == 0), candidates)
    extra = random_state.choice(others, size=n_missing - positive.shape[0], replace=False)
    return np.concatenate([positive, np.sort(extra)])


def _recluster(candidates, weights, n_clusters, random_state, n_threads):
    """Weighted greedy k-means++ on the candidates, then a few weighted Lloyd
    iterations on them (KMeans' fit from those seeds, with its tol). Duplicate
    candidates (data with fewer distinct rows than clusters) may leave
    clusters empty: the seeds stand."""
    threads = n_threads if candidates.size > CANDIDATE_VALUES_PER_THREAD else 1
    picked = _kmeans_plusplus_indices(candidates, weights, n_clusters, random_state, None, threads)
    centers = candidates[picked].toarray() if sp.issparse(candidates) else candidates[picked]
    if CANDIDATE_LLOYD_ITER:
        rows = _rows(candidates, n_clusters, threads, fitting=True)
        lloyd_weight = unit_mean_weights(weights.astype(np.float64), candidates.dtype)
        tol = CANDIDATE_LLOYD_TOL * _mean_variance(candidates)
        _, _, centers, _ = lloyd(rows, lloyd_weight, rows.to_frame(centers), max_iter=CANDIDATE_LLOYD_ITER, tol=tol)
    return np.ascontiguousarray(centers, dtype=candidates.dtype)


def kmeans_parallel_centers(X, sample_weight, n_clusters, random_state, *, oversampling_factor=2.0, n_rounds=5,
                            shift=None, n_threads=None):
    """Initial centers by k-means|| (scalable k-means++).

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Validated data, float32 or float64 (dense: C-contiguous).
    sample_weight : ndarray of shape (n_samples,)
        Non-negative, not all zero, in X's dtype.
    n_clusters : int
        Centers to choose, at most n_samples.
    random_state : RandomState
        Draws the first candidate, the key of the rounds' counter-based
        draws, any top-up and the greedy k-means++ on the candidates.
    oversampling_factor : float, default=2.0
        Expected candidates per round, in units of n_clusters.
    n_rounds : int, default=5
        Oversampling rounds (passes over X after the first).
    shift : ndarray of shape (n_features,), default=None
        Dense X: the frame distances are computed in (the data mean keeps
        float32 scores accurate); None computes the mean.
    n_threads : int, default=None
        OpenMP threads; None means effective_n_threads().

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        Dense, in X's dtype.
    info : dict
        'n_candidates' (drawn by the rounds, before any top-up), 'n_rounds'
        (rounds run; fewer when every row sits on a candidate).
    """
    n_samples, n_features = X.shape
    if not 1 <= n_clusters <= n_samples:
        raise ValueError(f"n_clusters must lie in [1, n_samples={n_samples}], got {n_clusters}")
    n_threads = effective_n_threads() if n_threads is None else n_threads
    if sp.issparse(X):
        shift = np.zeros(n_features, dtype=X.dtype)
    elif shift is None:
        shift = dense_centering_shift(X)
    shift = np.ascontiguousarray(shift, dtype=X.dtype)
    rows = _LocalSeedingRows(X, sample_weight, shift, n_threads)
    return seed_centers(rows, n_clusters, random_state, oversampling_factor, n_rounds, n_threads)


class _LocalSeedingRows:
    """The in-memory SeedingRows: the per-block functions above over one X
    (dense or CSR), with each row's nearest candidate (closest, labels) in
    arrays. lvmfast.dask has the same methods over a dask array's blocks,
    where these arrays live on the workers.

    sample_weight: the caller's (checked, in X's dtype); greedy k-means++
    draws with them as scikit-learn does. The k-means|| passes use them
    divided by their mean: the draws do not depend on the weights' scale,
    and weights of mean 1 keep phi = sum(w * closest) finite and normal
    (1e300 or 1e-310 weights)."""

    def __init__(self, X, sample_weight, shift, n_threads):
        self.X, self.shift, self.n_threads = X, shift, n_threads
        self.given_weight = sample_weight
        self.sample_weight = unit_mean_weights(np.asarray(sample_weight, dtype=np.float64), X.dtype)
        self.n_samples, self.dtype = X.shape[0], X.dtype
        self.light_threads = threads_for_work(2 * self.n_samples, n_threads)  # draws read two values a row
        self.closest = np.full(self.n_samples, np.inf)
        self.labels = np.zeros(self.n_samples, dtype=np.int32)

    def probabilities(self):
        """The first candidate's draw probabilities, w / sum(w)."""
        return self.sample_weight / self.sample_weight.sum(dtype=np.float64)

    def greedy_seeds(self, n_clusters, random_state):
        return _kmeans_plusplus_indices(self.X, self.given_weight, n_clusters, random_state, None, self.n_threads)

    def fold(self, indices, label_offset, single=False):
        """update_nearest with the rows `indices` as new candidates; returns the potential."""
        return update_nearest(self.X, self.shift, self.candidates(indices), self.sample_weight, self.closest,
                              self.labels, label_offset, self.n_threads, single)

    def single_precision(self, first):
        return _single_precision_scores(self.X, self.closest, first, self.shift)

    def draw(self, factor, key):
        return draw_rows(self.closest, self.sample_weight, factor, key, 0, self.light_threads)

    def top_up(self, chosen, n_missing, random_state):
        return _top_up(self.closest, self.sample_weight, chosen, n_missing, random_state)

    def candidate_weights(self, n_candidates):
        return candidate_weights(self.labels, self.sample_weight, n_candidates, self.light_threads)

    def candidates(self, indices):
        return _candidate_rows(self.X, indices)


def seed_centers(rows: SeedingRows, n_clusters, random_state, oversampling_factor, n_rounds, n_threads):
    """The k-means|| rounds on either backend's rows (see _LocalSeedingRows),
    then the reclustering of the candidates on the client."""
    oversampling = float(oversampling_factor) * n_clusters
    first = int(random_state.choice(rows.n_samples, p=rows.probabilities()))
    seed = int(random_state.randint(np.iinfo(np.int64).max, dtype=np.int64))
    chosen = [np.array([first], dtype=np.intp)]
    n_candidates = 1
    potential = rows.fold(chosen[0], 0)
    single = rows.single_precision(first)
    rounds_run = 0
    for round_index in range(n_rounds):
        if not potential > 0:
            break  # every row sits on a candidate
        rounds_run += 1
        new = rows.draw(oversampling / potential, kernels.round_key(seed, round_index))
        if new.shape[0] == 0:
            continue
        potential = rows.fold(new, n_candidates, single)
        chosen.append(new)
        n_candidates += new.shape[0]
    info = {"n_candidates": n_candidates, "n_rounds": rounds_run}
    if n_candidates < n_clusters:
        extra = rows.top_up(np.concatenate(chosen), n_clusters - n_candidates, random_state)
        rows.fold(extra, n_candidates, single)
        chosen.append(extra)
        n_candidates += extra.shape[0]

    weights = rows.candidate_weights(n_candidates).astype(rows.dtype)
    candidates = rows.candidates(np.concatenate(chosen))
    return _recluster(candidates, weights, n_clusters, random_state, n_threads), info


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "n_clusters": [integers(1)],
        "sample_weight": ["array-like", None],
        "random_state": ["random_state"],
        "oversampling_factor": [positive_reals()],
        "init_max_iter": [integers(1)],
    },
    prefer_skip_nested_validation=True,
)
def kmeans_parallel(X, n_clusters, *, sample_weight=None, random_state=None, oversampling_factor=2, init_max_iter=5):
    """Choose initial cluster centers by k-means|| (scalable k-means++).

    The seeding of ``KMeans(init='k-means||')``: the same centers for the
    same arguments and random_state.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data (sparse input is used as CSR).
    n_clusters : int
        Number of centers to choose.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs them equally.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws; the same seed gives bit-identical centers with
        any thread count.
    oversampling_factor : float, default=2
        Each round draws about ``oversampling_factor * n_clusters`` rows.
    init_max_iter : int, default=5
        Oversampling rounds (one pass over X each).

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        In X's dtype (float32 or float64).
    """
    X = check_float_array(X, accept_sparse="csr")
    sample_weight = check_sample_weight(sample_weight, X, X.dtype)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    centers, _ = kmeans_parallel_centers(
        X, sample_weight, n_clusters, check_random_state(random_state), oversampling_factor=oversampling_factor,
        n_rounds=init_max_iter,
    )
    return centers
