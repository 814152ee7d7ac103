"""The OpenMP wrapper: whether the build has OpenMP, and how many threads to use."""
import os

cdef extern from "_openmp_shim.h":
    int LVMFAST_OPENMP
    int omp_get_max_threads() nogil


def openmp_enabled():
    """Whether the kernels were compiled with OpenMP.

    Without OpenMP (a compiler that lacks it) the build runs every kernel on
    one thread; ``LVMFAST_REQUIRE_OPENMP=1`` at build time makes that an
    error instead.

    Returns
    -------
    enabled : bool
        True when the kernels run on OpenMP threads.

    Examples
    --------
    >>> import lvmfast
    >>> isinstance(lvmfast.openmp_enabled(), bool)
    True
    """
    return bool(LVMFAST_OPENMP)


def usable_cpus():
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def effective_n_threads():
    """Threads a kernel should use: OpenMP's current maximum, which follows
    OMP_NUM_THREADS and threadpoolctl limits, capped by the usable CPUs."""
    if not LVMFAST_OPENMP:
        return 1
    return max(1, min(omp_get_max_threads(), usable_cpus()))
