"""The Dask backend of lvmfast's passes.

An estimator's loop (Lloyd, EM, the k-means|| rounds, GaussianNB's batch
combination) is written once, in the in-memory estimator; it asks a rows
object for the summed statistics of the current parameters. Here those rows
are the blocks of a dask array: each block's statistics come from the same
per-block function the local backend runs (lvmfast._gaussian.em_statistics,
lvmfast.cluster._kmeans._DenseRows.lloyd_step, ...), mapped over the blocks
on the workers with one kernel thread per task (dask runs one task per
worker thread), and the block results are summed in a fixed tree (block
order, FAN_IN at a time), so the same chunks give bit-identical results
whatever the scheduling. Per-row state that a loop keeps between passes
(k-means labels, k-means|| nearest candidates) stays on the workers,
persisted block by block; only K x D sized results reach the client.

Works with whichever dask scheduler is active: a dask.distributed Client
(the default one) or the local threaded scheduler.
"""
import contextlib
import functools
import operator

import cloudpickle
import dask
import dask.array as da
import numpy as np
from dask import delayed
from dask.base import tokenize
from sklearn.utils.validation import _check_feature_names, _check_n_features

try:
    from dask._task_spec import DataNode, GraphNode, convert_legacy_task
except ImportError:  # dask before 2024.11
    DataNode = GraphNode = convert_legacy_task = None

from lvmfast._parallel import _threadpool_controller
from lvmfast._validation import check_scale

FAN_IN = 8
# persist='auto' keeps X in the cluster's memory when it takes at most this
# share of it (the rest is for the blocks' work and the per-row state);
# otherwise every pass reads X from its source.
PERSIST_SHARE = 0.5
# A block whose own graph is at most this many tasks (a read from a store or
# a file, a few elementwise steps) and this many bytes pickled (not an
# in-memory array, which every block's task would carry) is read by the
# task that uses it.
MAX_INLINE_TASKS = 8
MAX_INLINE_BYTES = 64 * 1024


# ---------------------------------------------------------------------------
# Running graphs


def on_worker(function):
    """Run a per-block function with OpenMP held to one thread: dask already
    runs one task per worker thread, so a kernel's own threads would
    oversubscribe the worker's cores. (OpenMP's limit is per calling thread,
    so each dask thread sets its own.)"""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with _threadpool_controller().limit(limits=1, user_api="openmp"):
            return function(*args, **kwargs)

    return wrapper


def _client():
    """The dask.distributed Client that dask's compute uses now, or None
    (local schedulers)."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        client = get_client()
    except ValueError:
        return None
    return client if dask.base.get_scheduler() == client.get else None


def run(keep=None, compute=None, progress=False):
    """Persist `keep` (per-block state the next pass reads) and compute
    `compute` (small totals) from one graph, so the shared block tasks run
    once. Returns (the persisted keep, the computed values). progress: show
    dask's progress bar while it runs.

    Both lists are emptied once the graph is submitted: their tasks hold the
    previous pass's state, and without the client's references the cluster
    frees each block's old state as soon as its successor is computed
    (callers drop their own reference to it first) instead of holding two
    generations of the per-row state until the pass ends."""
    keep, compute = ([] if keep is None else keep), ([] if compute is None else compute)
    n_keep = len(keep)
    client = _client()
    bar = contextlib.nullcontext()
    if progress and client is None:
        from dask.diagnostics import ProgressBar

        bar = ProgressBar()
    with bar:
        done = dask.persist(*keep, *compute)
        keep.clear()
        compute.clear()
        if progress and client is not None:
            from distributed import progress as distributed_progress

            distributed_progress(*done)
        values = dask.compute(*done[n_keep:])
    return list(done[:n_keep]), list(values)


def tree_sum(parts, add, leaf=None):
    """One delayed total of delayed per-block results: `add` of FAN_IN
    consecutive ones at a time, level by level, always in block order.
    leaf: what the first level applies instead, to parts that hold more
    than the statistics (a stateful pass's (state, statistics) outputs):
    reading them there costs no task of its own."""
    level = list(parts)
    first = leaf or add
    while len(level) > 1 or first is not add:
        level = [delayed(first, pure=True)(*level[i:i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
        first = add
    return level[0]


def add_statistics(*outputs):
    """add_tuples of the statistics of stateful passes' (state, statistics) outputs."""
    return add_tuples(*(output[1] for output in outputs))


def add_tuples(*parts):
    """Element-wise sum of tuples of arrays and numbers (None stays None), in order."""
    total = parts[0]
    for part in parts[1:]:
        total = tuple(None if a is None else a + b for a, b in zip(total, part))
    return total


# ---------------------------------------------------------------------------
# Input


def _dask_dataframe_to_array(X, name):
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    non_numeric = [str(c) for c, t in X.dtypes.items() if not (is_numeric_dtype(t) or is_bool_dtype(t))]
    if non_numeric:
        raise TypeError(
            f"{name}: expected a dask DataFrame of numeric columns; column(s) {', '.join(non_numeric)} are not "
            "numeric. Select or encode them first."
        )
    return X.to_dask_array(lengths=True)


def as_dask_rows(X, name="X"):
    """X as a 2-D float32/float64 dask array with known row blocks and one
    column block (float32 is kept, other numbers become float64). Accepts
    dask arrays, dask DataFrames of numeric columns and NumPy arrays."""
    if hasattr(X, "to_dask_array") and hasattr(X, "dtypes"):
        X = _dask_dataframe_to_array(X, name)
    elif isinstance(X, np.ndarray):
        X = da.from_array(X)
    if not isinstance(X, da.Array):
        raise TypeError(
            f"{name}: expected a dask array, a dask DataFrame of numeric columns or a NumPy array; "
            f"got {type(X).__name__}."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array (n_samples, n_features); got {X.ndim} dimension(s), shape {X.shape}."
        )
    if any(np.isnan(c) for chunks in X.chunks for c in chunks):
        raise ValueError(
            f"{name} has unknown chunk sizes ({name}.chunks holds NaN, as after boolean indexing or a "
            "DataFrame's to_dask_array() without lengths): lvmfast needs each block's row count. Call "
            f"{name}.compute_chunk_sizes() (or to_dask_array(lengths=True)) first."
        )
    if X.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or np.issubdtype(X.dtype, np.complexfloating):
            raise TypeError(f"{name}: expected real numbers; got dtype {X.dtype}.")
        X = X.astype(np.float64)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: found an array of shape {X.shape}; at least one row and one feature are required.")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})  # the kernels take whole rows
    return X


def as_dask_vector(v, X, name, dtype):
    """A 1-D value per row of X as a dask array in X's row blocks (a vector
    with other blocks is rechunked to them)."""
    if hasattr(v, "to_dask_array"):
        v = v.to_dask_array(lengths=True)
    if not isinstance(v, da.Array):
        v = np.asarray(v)
        if v.ndim == 0:
            v = np.full(X.shape[0], v)
        v = da.from_array(v, chunks=(X.chunks[0],) + v.shape[1:])
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of one value per row; got shape {v.shape}.")
    if any(np.isnan(c) for c in v.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes ({name}.chunks holds NaN); call {name}.compute_chunk_sizes() first."
        )
    if v.shape[0] != X.shape[0]:
        raise ValueError(f"{name}: expected {X.shape[0]} values (one per row of X); got {v.shape[0]}.")
    if dtype is not None:
        v = v.astype(dtype)
    if v.chunks[0] != X.chunks[0]:
        v = v.rechunk((X.chunks[0],))  # each block of X with its own values
    return v


def check_input_features(estimator, X_original, X, reset):
    """scikit-learn's feature-name and feature-count checks (n_features_in_,
    feature_names_in_), on the dask input without computing it."""
    # a dask DataFrame's _meta is the empty pandas frame scikit-learn reads names from
    meta = getattr(X_original, "_meta", None)
    _check_feature_names(estimator, meta if hasattr(meta, "columns") else X_original, reset=reset)
    _check_n_features(estimator, X, reset=reset)


def blocks(array):
    """The delayed blocks of a row-chunked dask array, in order."""
    return list(array.to_delayed().ravel())


class BlockSource:
    """One block of a dask array that the task using it reads itself: the
    block's own small graph (a read from a store or a file, a few
    elementwise steps) and its key. So a streamed block is never a task
    result held in a worker's memory until its consumer runs, and a block's
    task has no second input (its weights) that must first reach the same
    worker: with X and its weights as separate tasks, distributed loaded
    blocks of X ahead of their weights on the other worker until both
    workers paused at 80% of their memory."""

    __slots__ = ("graph", "key")

    def __init__(self, graph, key):
        self.graph, self.key = graph, key

    def __dask_tokenize__(self):
        return type(self).__name__, self.key

    def read(self):
        return dask.get(self.graph, self.key)  # the synchronous scheduler, in the task's own thread


def block_inputs(array):
    """The blocks of a row-chunked dask array, in order, as the tasks that
    use them take them: a BlockSource where the block's graph is a few tasks
    of its own (_own_graphs), else the delayed block (persisted blocks, or
    ones computed with other blocks' work, which must not be repeated in
    every task)."""
    parts = blocks(array)
    return [part if graph is None else BlockSource(graph, part.key) for part, graph in zip(parts, _own_graphs(parts))]


def _own_graphs(parts):
    """For each delayed block, its graph when the task that uses the block
    can read it alone, else None. A graph qualifies when it holds every key
    its tasks need (none persisted on a cluster or held elsewhere), it has
    at most MAX_INLINE_TASKS nodes, none of its tasks is reached from
    another block's key (shared data nodes, such as a store's handle, are
    fine; each walk stops after MAX_INLINE_TASKS + 1 nodes, so a larger
    graph can still repeat a small block's work once), and it pickles to at
    most MAX_INLINE_BYTES."""
    if GraphNode is None:  # a dask without task specs lists no dependency it does not hold: read nothing inline
        return [None] * len(parts)
    shared_graph = parts[0].dask if parts else None
    materialized = dict(shared_graph) if parts else {}
    walks = []
    for part in parts:
        graph = materialized if part.dask is shared_graph else dict(part.dask)
        walks.append(_subgraph(graph, part.key))
    reached_from = {}
    for i, (nodes, _) in enumerate(walks):
        for key, node in nodes.items():
            if not isinstance(node, DataNode):
                reached_from.setdefault(key, set()).add(i)
    return [
        nodes if own and all(len(reached_from.get(key, ())) <= 1 for key in nodes) and _pickles_small(nodes)
        else None
        for nodes, own in walks
    ]


def _subgraph(graph, key):
    """(The nodes, as task specs, that computing `key` runs; whether that
    is all of them). Not all: one of them needs a key that `graph` does not
    hold, or there are more than MAX_INLINE_TASKS."""
    nodes, work = {}, [key]
    while work:
        k = work.pop()
        if k in nodes:
            continue
        if k not in graph or len(nodes) == MAX_INLINE_TASKS:
            return nodes, False
        node = graph[k]
        if not isinstance(node, GraphNode):
            node = convert_legacy_task(k, node, graph)
            if not isinstance(node, GraphNode):  # a literal value
                node = DataNode(k, node)
        nodes[k] = node
        if k in node.dependencies:  # a reference to itself: a future, data held on a cluster
            return nodes, False
        work.extend(node.dependencies)
    return nodes, True


def _pickles_small(graph):
    try:
        return len(cloudpickle.dumps(graph)) <= MAX_INLINE_BYTES
    except Exception:  # noqa: BLE001 - whatever cannot be pickled stays a task of its own
        return False


def _read_and_apply(function, *args):
    return function(*(a.read() if isinstance(a, BlockSource) else a for a in args))


def block_task(function, *args):
    """delayed function(*args) for one block, where args may hold BlockSources
    (read in the task itself); the key is named after function."""
    key = f"{function.__name__}-{tokenize(function, *args)}"
    return delayed(_read_and_apply, pure=True)(function, *args, dask_key_name=key)


# ---------------------------------------------------------------------------
# The first pass: validation and moments


@on_worker
def _block_summary(x, w, start, allow_nan=False):
    """Refuse NaN, infinity and overflowing scale in this block (check_scale,
    as the local estimators do for all of X), and bad weights; then its row
    count, per-feature mean and sum of squared deviations (float64), and its
    weights' sum and maximum."""
    where = f" (found in the block of X's rows {start} to {start + x.shape[0] - 1})"
    try:
        check_scale(x, input_name="X", allow_nan=allow_nan)
    except ValueError as exc:
        raise ValueError(f"{exc}{where}") from None
    if allow_nan:  # missing entries: per-feature counts of the observed ones
        from lvmfast._missing import missing_mask_rows, refuse_empty_rows

        n_missing = missing_mask_rows(x)
        if n_missing.any():
            try:
                refuse_empty_rows(n_missing, x.shape[1])
            except ValueError as exc:
                raise ValueError(f"{exc} (the index within the block of X's rows from {start})") from None
            counts = (~np.isnan(x)).sum(axis=0).astype(np.float64)
            mean = np.nansum(x, axis=0, dtype=np.float64) / np.maximum(counts, 1)
            deviations = np.nansum((x - mean) ** 2, axis=0, dtype=np.float64)
            if not np.isfinite(w).all():
                raise ValueError(f"Input sample_weight contains NaN or infinity{where}.")
            return counts, mean, deviations, float(w.sum(dtype=np.float64)), float(w.max(initial=0.0))
    if not np.isfinite(w).all():
        raise ValueError(f"Input sample_weight contains NaN or infinity{where}.")
    if (w < 0).any():
        raise ValueError(f"Negative values in data passed to sample_weight{where}: weights must be non-negative.")
    mean = x.mean(axis=0, dtype=np.float64)
    centered = x - mean
    deviations = np.einsum("ij,ij->j", centered, centered, dtype=np.float64)
    return x.shape[0], mean, deviations, float(w.sum(dtype=np.float64)), float(w.max(initial=0.0))


def _combine_summaries(summaries):
    """Chan et al.'s combination of the blocks' counts, means and squared
    deviations, in block order."""
    n, mean, m2 = 0, None, None
    for count, block_mean, block_m2, _, _ in summaries:
        if mean is None:
            n, mean, m2 = count, block_mean, block_m2
            continue
        # per feature where the counts are (missing entries), else per row
        total = n + count
        safe = np.where(np.asarray(total) > 0, total, 1)
        delta = block_mean - mean
        mean = mean + delta * (count / safe)
        m2 = m2 + block_m2 + delta**2 * (n * count / safe)
        n = total
    if np.any(np.asarray(n) == 0):
        columns = np.flatnonzero(np.asarray(n) == 0)
        raise ValueError(
            f"X has {columns.size} feature(s) with every entry missing (NaN), column(s) {columns[:10].tolist()}: "
            "their distribution cannot be learned. Drop these columns."
        )
    return mean, m2 / n


def _cluster_memory():
    """Bytes the workers may hold in all (distributed: their memory_limit),
    or half the machine's available memory (local schedulers)."""
    client = _client()
    if client is not None:
        workers = client.scheduler_info(n_workers=-1)["workers"].values() if _takes_n_workers(client) else (
            client.scheduler_info()["workers"].values())
        limits = [w.get("memory_limit") or 0 for w in workers]
        if all(limits):
            return float(sum(limits))
    import psutil

    return psutil.virtual_memory().available / 2


def _takes_n_workers(client):
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


class DaskData:
    """A validated dask X and its weights: the blocks every pass maps over,
    each block's first row, the weights divided by their mean (as
    lvmfast._validation.unit_mean_weights does in memory), and the moments
    of the first pass (mean, per-feature variance). One pass over X; X is
    persisted when it fits in the cluster's memory (persist='auto';
    cluster_memory: the bytes the workers may hold)."""

    def __init__(self, X, sample_weight, *, weight_dtype, persist="auto", progress=False, allow_nan=False):
        # the kernels read C-contiguous blocks (a DataFrame's are Fortran-ordered)
        X = X.map_blocks(np.ascontiguousarray, dtype=X.dtype)
        self.X, self.dtype, self.progress = X, X.dtype, progress
        self.n_samples, self.n_features = X.shape
        # Every pass maps over the blocks that hold rows: a block of 0 rows
        # (X[mask] where the mask drops a whole block) takes no part.
        sizes = np.asarray(X.chunks[0], dtype=np.int64)
        self.nonempty = np.flatnonzero(sizes)
        self.starts = (np.cumsum(sizes) - sizes)[self.nonempty]
        self.given_weights = sample_weight is not None
        if sample_weight is None:
            weights = da.ones(X.shape[0], chunks=(X.chunks[0],), dtype=X.dtype)
        else:
            # cast as the local estimator casts them (KMeans: to X's dtype first)
            weights = as_dask_vector(sample_weight, X, "sample_weight", weight_dtype).astype(np.float64)
        self.cluster_memory = _cluster_memory()
        if persist == "auto":
            persist = X.nbytes + weights.nbytes <= PERSIST_SHARE * self.cluster_memory
        self.persisted = bool(persist)
        if self.persisted:
            X, weights = dask.persist(X, weights)
            self.X = X
        summaries = [
            block_task(_block_summary, x, w, int(s), allow_nan)
            for x, w, s in zip(self.row_blocks(X), self.row_blocks(weights), self.starts)
        ]
        _, summaries = run(compute=summaries, progress=progress)
        self.mean, self.variance = _combine_summaries(summaries)
        # a block with missing entries summarizes them per feature
        self.has_missing = any(np.ndim(summary[0]) > 0 for summary in summaries)
        total = 0.0
        for summary in summaries:
            total += summary[3]
        if not total > 0:
            raise ValueError("sample_weight: the weights sum to 0; at least one row needs a positive weight.")
        if not np.isfinite(total):
            raise ValueError(
                f"sample_weight: the weights' sum overflows float64 (the largest is "
                f"{max(s[4] for s in summaries):.3g}); scale them down (only their ratios matter)."
            )
        self.weight_mean = total / self.n_samples
        self.total_weight = total / self.weight_mean
        # Weights of mean 1 in X's dtype; unit weights stay exactly 1.
        unit = (weights / self.weight_mean).astype(X.dtype)
        if self.persisted:
            unit = unit.persist()
        self.weights = unit
        self.x_blocks, self.w_blocks = self.row_blocks(self.X), self.row_blocks(self.weights)

    def row_blocks(self, array):
        """block_inputs of an array in X's row blocks, for the blocks that hold rows."""
        inputs = block_inputs(array)
        return [inputs[i] for i in self.nonempty]

    def block_args(self):
        """(block of X, its weights, its first row's index), in block order."""
        return zip(self.x_blocks, self.w_blocks, (int(s) for s in self.starts))

    def rows(self, indices):
        """The rows `indices` (global, in that order), computed, C-contiguous."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size == 0:
            return np.empty((0, self.n_features), dtype=self.dtype)
        order = np.argsort(indices, kind="stable")
        taken = self.X[indices[order]].compute()
        out = np.empty_like(taken)
        out[order] = taken
        return np.ascontiguousarray(out)

    def weights_of(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        order = np.argsort(indices, kind="stable")
        taken = self.weights[indices[order]].compute()
        out = np.empty_like(taken)
        out[order] = taken
        return out

    def gather(self, array):
        """A per-row dask array brought to the client (rare paths only)."""
        return np.asarray(array.compute())

    def per_block(self, function, *args, state=None, rows=True):
        """delayed function(x, w, start, [state of the block,] *args) for
        every block; rows=False passes None for x, so a pass over the state
        alone (labels, distances) does not read X."""
        out = []
        for i, (x, w, start) in enumerate(self.block_args()):
            extra = () if state is None else (state[i],)
            out.append(block_task(function, x if rows else None, w, start, *extra, *args))
        return out


def as_block_array(parts, sizes, dtype, index=None, trailing=()):
    """A dask array in row blocks of these sizes from per-block delayed
    results (or their item `index`): one part per block that holds rows
    (DaskData.per_block's), in order; a block of 0 rows is empty."""
    sizes = tuple(int(size) for size in sizes)
    arrays = []
    for part, size in zip(parts, (size for size in sizes if size)):
        if index is not None:
            part = delayed(operator.getitem, pure=True)(part, index)
        arrays.append(da.from_delayed(part, shape=(size,) + tuple(trailing), dtype=dtype))
    array = da.concatenate(arrays, axis=0)
    return array if array.chunks[0] == sizes else array.rechunk({0: sizes})  # concatenate drops empty blocks
