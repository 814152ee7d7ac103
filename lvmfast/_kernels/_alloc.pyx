"""Scratch allocation shared by the kernels (see _alloc.pxd), and a test hook
that makes allocations fail on demand."""

cdef extern from *:
    """
    #include <stdlib.h>
    #include <stddef.h>
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    /* allocations made so far, and the count after which they fail (-1: never) */
    static long long lvm_alloc_count = 0;
    static long long lvm_alloc_limit = -1;

    static void *lvm_alloc_impl(size_t n_bytes)
    {
        void *p = NULL;
        long long limit = __atomic_load_n(&lvm_alloc_limit, __ATOMIC_RELAXED);
        if (limit >= 0 && __atomic_fetch_add(&lvm_alloc_count, 1, __ATOMIC_RELAXED) >= limit)
            return NULL;
        if (n_bytes == 0) n_bytes = 64;
        if (n_bytes > ((size_t) -1) - 63) return NULL;
        n_bytes = (n_bytes + 63) / 64 * 64;
        if (posix_memalign(&p, 64, n_bytes) != 0) return NULL;
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        /* large buffers ask for huge pages (random reads of centers_t like them) */
        if (n_bytes >= ((size_t) 4 << 20)) madvise(p, n_bytes, MADV_HUGEPAGE);
    #endif
        return p;
    }
    static void lvm_flag_impl(int *failed) { __atomic_store_n(failed, 1, __ATOMIC_RELAXED); }
    static int lvm_flagged_impl(const int *failed) { return __atomic_load_n(failed, __ATOMIC_RELAXED); }
    static void lvm_alloc_set_limit(long long limit)
    {
        __atomic_store_n(&lvm_alloc_count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&lvm_alloc_limit, limit, __ATOMIC_RELAXED);
    }
    static long long lvm_alloc_get_count(void) { return __atomic_load_n(&lvm_alloc_count, __ATOMIC_RELAXED); }
    """
    void *lvm_alloc_impl(size_t n_bytes) nogil
    void lvm_flag_impl(int *failed) nogil
    int lvm_flagged_impl(const int *failed) nogil
    void lvm_alloc_set_limit(long long limit) nogil
    long long lvm_alloc_get_count() nogil

from libc.stdlib cimport free


cdef void *lvm_alloc(size_t n_bytes) noexcept nogil:
    return lvm_alloc_impl(n_bytes)


cdef void lvm_free(void *p) noexcept nogil:
    free(p)


cdef void lvm_flag(int *failed) noexcept nogil:
    lvm_flag_impl(failed)


cdef bint lvm_flagged(const int *failed) noexcept nogil:
    return lvm_flagged_impl(failed) != 0


cdef int raise_if_failed(int failed, str kernel) except -1:
    if failed:
        raise MemoryError(f"{kernel}: could not allocate its scratch memory")
    return 0


def _fail_allocations_after(n):
    """Test hook: from now on, allocations after the first n fail (n None:
    none fail). Counts from this call; returns nothing."""
    lvm_alloc_set_limit(-1 if n is None else int(n))


def _allocations_counted():
    """Test hook: allocations made since the last _fail_allocations_after
    with a limit (counted only while a limit is set)."""
    return lvm_alloc_get_count()
