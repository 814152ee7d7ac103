"""The contracts of k-means' backends: what the loops ask of a rows object.

A loop is written once (Lloyd in lvmfast.cluster._lloyd, the k-means||
rounds in lvmfast.cluster._kmeans_parallel, the choice of initial centers in
lvmfast.cluster._kmeans.KMeans) and runs on any object that has these
methods. The implementations:

- LloydRows: the in-memory dense and CSR rows (lvmfast.cluster._rows:
  _DenseRows, CSRRows), and the blocks of a dask array
  (lvmfast.dask._kmeans.DaskLloydRows);
- InMemoryRows: the dense and CSR rows only (what a fitted model's methods,
  the bounded steps and mini-batch k-means read besides);
- SeedingRows: the k-means|| passes over one in-memory X
  (lvmfast.cluster._kmeans_parallel._LocalSeedingRows) or over a dask
  array's blocks (lvmfast.dask._kmeans.DaskSeedingRows).

A new backend (or a new model family on these loops) implements the protocol
its loop takes; tests/cluster/test_kmeans_backends.py
checks that each implementation has every method with the protocol's
parameters.

Centers passed to a rows object live in its *frame*: dense rows are centered
by `shift` (the training mean) chunk by chunk, so their centers are
``centers - shift``; CSR rows are not centered (shift is zero).
"""
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["InMemoryRows", "LloydRows", "SeedingRows"]


@runtime_checkable
class LloydRows(Protocol):
    """The rows as the Lloyd loop (lvmfast.cluster._lloyd.lloyd) and
    fit_lloyd_runs see them."""

    shift: np.ndarray
    """The frame's origin, shape (n_features,), in X's dtype."""

    def to_frame(self, centers: np.ndarray) -> np.ndarray:
        """Centers in X's frame -> C-contiguous centers in the rows' frame, X's dtype."""

    def from_frame(self, centers: np.ndarray) -> np.ndarray:
        """Centers in the rows' frame -> centers in X's frame."""

    def new_labels(self) -> Any:
        """A fresh label holder for lloyd_step (every row unlabelled)."""

    def lloyd_step(
        self, sample_weight: Any, centers: np.ndarray, labels: Any, update_centers: bool, with_inertia: bool
    ) -> tuple:
        """Label every row with its nearest center (labels in place).

        Returns (n_changed, sums, weights, inertia): the number of labels
        that changed, the per-cluster sums of w x (K x D, float64) and of w
        (K, float64) -- both None unless update_centers -- and the weighted
        inertia (nan unless with_inertia). Exact ties go to the lowest
        center index.
        """

    def farthest_rows(self, sample_weight: Any, centers: np.ndarray, labels: Any, n_rows: int) -> list:
        """The n_rows rows farthest from their center, farthest first, as
        (row in the frame as float64, its weight, its label); [] when every
        row sits on its center."""

    def n_distinct(self, labels: Any) -> int:
        """The number of distinct labels."""

    def same_clustering(self, labels1: Any, labels2: Any, n_clusters: int) -> bool:
        """Whether each cluster of labels1 is a single cluster of labels2."""


@runtime_checkable
class InMemoryRows(LloydRows, Protocol):
    """LloydRows over one in-memory X (dense or CSR), whose labels are an
    int32 array, with the per-row passes a fitted model needs."""

    X: Any
    """The validated data: C-contiguous ndarray or canonical CSR, float32 or float64."""
    n_threads: int
    plan: Any
    """The block plan of X's passes (lvmfast._parallel.plan_blocks)."""

    def assigned_sq_distances(self, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Each row's squared distance to its labelled center, float64."""

    def row(self, index: int) -> np.ndarray:
        """One row in the frame, dense, float64."""

    def sq_distances(self, centers: np.ndarray, cluster_centers: np.ndarray) -> np.ndarray:
        """n_samples x n_clusters squared distances in X's dtype (centers in
        the frame, cluster_centers the same in X's frame)."""


@runtime_checkable
class SeedingRows(Protocol):
    """The rows as KMeans' initializations see them: the draws of 'random'
    and greedy 'k-means++', and the passes of the k-means|| rounds
    (lvmfast.cluster._kmeans_parallel.seed_centers). A k-means|| backend
    keeps, per row, the squared distance to its nearest candidate so far
    and that candidate's index."""

    n_samples: int
    dtype: np.dtype
    n_threads: int
    """Threads for the work on the client (k-means++ and Lloyd on the candidates)."""

    def probabilities(self) -> np.ndarray:
        """Each row's draw probability, proportional to its weight (float64, sums to 1)."""

    def greedy_seeds(self, n_clusters: int, random_state: np.random.RandomState) -> np.ndarray:
        """Row indices of greedy k-means++ seeds."""

    def candidates(self, indices: np.ndarray) -> Any:
        """The rows `indices`, in that order: dense (or CSR for CSR X), X's frame and dtype."""

    def fold(self, indices: np.ndarray, label_offset: int, single: bool = False) -> float:
        """Fold the rows `indices` in as new candidates (numbered from
        label_offset); returns the weighted potential sum(w * closest)."""

    def single_precision(self, first: int) -> bool:
        """Whether float64 rows may score candidates in float32 (after the
        first fold, from the first candidate's row index)."""

    def draw(self, factor: float, key: int) -> np.ndarray:
        """The rows one round draws (global indices, ascending)."""

    def top_up(self, chosen: np.ndarray, n_missing: int, random_state: np.random.RandomState) -> np.ndarray:
        """n_missing more rows, not among `chosen`."""

    def candidate_weights(self, n_candidates: int) -> np.ndarray:
        """The summed weight of the rows nearest each candidate, float64."""
