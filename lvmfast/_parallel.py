"""Threads, BLAS and the split of rows into blocks and chunks.

A kernel pass walks fixed blocks of rows; a block is a whole number of chunks,
and a chunk is what one thread holds in cache at a time. The split depends on
the data's shape only, never on the thread count, and each block writes its
own slot of the statistics buffers, which are reduced in block order: results
are bit-identical whatever the number of threads.
"""
import contextlib
import functools
from dataclasses import dataclass

from lvmfast._kernels._openmp import effective_n_threads, openmp_enabled, usable_cpus

__all__ = ["BlockPlan", "plan_blocks", "blas_single_thread", "effective_n_threads", "openmp_enabled", "usable_cpus"]

# A chunk's working set (its rows and their scores) targets this many bytes,
# well inside a core's L2.
CHUNK_BYTES = 256 * 1024
MIN_CHUNK_ROWS = 16
MAX_CHUNK_ROWS = 4096
# Enough blocks for dynamic scheduling to balance 16+ threads ...
MAX_BLOCKS = 128
# ... but their statistics buffers together stay within this.
BLOCK_STATS_BYTES = 64 * 1024 * 1024


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


@contextlib.contextmanager
def blas_single_thread():
    """Hold BLAS to one thread: the kernels call it from inside their own
    parallel regions, where a threaded BLAS would oversubscribe the cores."""
    with _threadpool_controller().limit(limits=1, user_api="blas"):
        yield
