"""Threads, BLAS and the split of rows into blocks and chunks.

A kernel pass walks fixed blocks of rows; a block is a whole number of chunks,
and a chunk is what one thread holds in cache at a time. The split depends on
the data's shape only, never on the thread count, and each block writes its
own slot of the statistics buffers, which are reduced in block order: results
are bit-identical whatever the number of threads.
"""
import contextlib
import functools
import os
import threading
from dataclasses import dataclass

from lvmfast._kernels._openmp import effective_n_threads, openmp_enabled, usable_cpus

__all__ = [
    "BlockPlan", "plan_blocks", "blas_single_thread", "effective_n_threads", "openmp_enabled", "threads_for_work",
    "usable_cpus",
]

# A chunk's working set (its rows and their scores) targets this many bytes,
# well inside a core's L2.
CHUNK_BYTES = 256 * 1024
MIN_CHUNK_ROWS = 16
MAX_CHUNK_ROWS = 4096
# Enough blocks for dynamic scheduling to balance 16+ threads ...
MAX_BLOCKS = 128
# ... but their statistics buffers together stay within this.
BLOCK_STATS_BYTES = 64 * 1024 * 1024


# A parallel region synchronizes its threads at least once (the join), and a
# thread that the OS has not scheduled (other processes on the cores) holds
# the others there for a time slice. So a region gets one thread per this
# much work (multiply-adds, or values read, of the region), and one thread
# below twice that.
WORK_PER_THREAD = 2**22


def threads_for_work(work, n_threads=None):
    """Threads for a parallel region doing `work` units (multiply-adds or
    values read): at most one per WORK_PER_THREAD, at least one, and at most
    n_threads (None: effective_n_threads()). Only the speed depends on it:
    the block plan, and so every result, does not."""
    n_threads = effective_n_threads() if n_threads is None else int(n_threads)
    return int(max(1, min(n_threads, int(work) // WORK_PER_THREAD)))


@dataclass(frozen=True)
class BlockPlan:
    """Rows per chunk and per block (a multiple of chunk_rows), and the block count."""

    chunk_rows: int
    block_rows: int
    n_blocks: int


def plan_blocks(n_samples, row_bytes, stat_bytes=0):
    """Split n_samples rows for a kernel whose chunk needs `row_bytes` of
    scratch per row and whose block keeps `stat_bytes` of statistics."""
    chunk_rows = CHUNK_BYTES // max(int(row_bytes), 1)
    chunk_rows = max(MIN_CHUNK_ROWS, min(MAX_CHUNK_ROWS, chunk_rows // MIN_CHUNK_ROWS * MIN_CHUNK_ROWS))
    max_blocks = MAX_BLOCKS
    if stat_bytes:
        max_blocks = max(1, min(MAX_BLOCKS, BLOCK_STATS_BYTES // int(stat_bytes)))
    n_chunks = max(1, -(-n_samples // chunk_rows))
    chunks_per_block = -(-n_chunks // max_blocks)
    block_rows = chunks_per_block * chunk_rows
    return BlockPlan(chunk_rows, block_rows, max(1, -(-n_samples // block_rows)))


@functools.lru_cache(maxsize=1)
def _threadpool_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


# BLAS thread counts are process-wide, and threadpoolctl's limit() is not
# re-entrant across Python threads: each limiter records the counts it found
# and puts them back on exit. Two overlapping calls interleave as A records N,
# B records 1 (A's limit), A restores N, B restores 1, and BLAS stays at one
# thread for good. So the limit is shared: under a lock, the first caller to
# enter sets it (recording the process's own counts) and the last one to
# leave restores them; callers in between, in any thread and nested in any
# order, only move the count. The limit is then held exactly while some
# lvmfast call needs it, and the process's settings afterwards are the ones
# before. (A change made by other code to the BLAS thread count while an
# lvmfast call holds the limit is undone when the last one leaves.)
_blas_lock = threading.Lock()
_blas_holders = 0
_blas_limiter = None


def _reset_blas_lock():  # a child forked while another thread held the lock
    global _blas_lock
    _blas_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_blas_lock)


@contextlib.contextmanager
def blas_single_thread():
    """Hold BLAS to one thread: the kernels call it from inside their own
    parallel regions, where a threaded BLAS would oversubscribe the cores.
    Safe to nest and to enter from several Python threads at once (see
    above)."""
    global _blas_holders, _blas_limiter
    with _blas_lock:
        if _blas_holders == 0:
            _blas_limiter = _threadpool_controller().limit(limits=1, user_api="blas")
        _blas_holders += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_holders -= 1
            if _blas_holders == 0:
                limiter, _blas_limiter = _blas_limiter, None
                limiter.restore_original_limits()
