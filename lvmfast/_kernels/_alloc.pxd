# Scratch memory for every kernel, in one place.
#
# lvm_alloc returns 64-byte aligned memory or NULL (never aborts); lvm_free
# releases it (NULL is fine). A kernel checks every pointer it gets:
# - outside a parallel region: free what it holds and raise MemoryError;
# - inside one (per-thread scratch): each thread that got NULL calls
#   lvm_flag(&failed) and every thread skips the loop's work while
#   lvm_flagged(&failed); after the region, with everything freed, the kernel
#   raises MemoryError (raise_if_failed). Outputs are then undefined, never a
#   crash.
cdef void *lvm_alloc(size_t n_bytes) noexcept nogil
cdef void lvm_free(void *p) noexcept nogil
cdef void lvm_flag(int *failed) noexcept nogil
cdef bint lvm_flagged(const int *failed) noexcept nogil
cdef int raise_if_failed(int failed, str kernel) except -1
