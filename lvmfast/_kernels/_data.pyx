"""Statistics of the input itself, for its validation: one parallel pass.

sum_of_squares is what lvmfast._validation.check_scale reads: finite exactly
when the data hold no NaN or infinity and no square overflows double, and
small enough to prove that every squared distance and sum of squares the
models compute stays finite. It is a threshold test, so the order of the sum
(and so the thread count) does not matter.
"""
from cython cimport floating
from cython.parallel cimport prange

from lvmfast._kernels._checks cimport check_positive

cdef enum:
    CHUNK = 16384


def sum_of_squares(const floating[::1] values not None, int n_threads):
    """sum of values[i]^2, accumulated in double (NaN or inf propagate)."""
    check_positive("sum_of_squares", "n_threads", n_threads)
    cdef Py_ssize_t n = values.shape[0]
    cdef Py_ssize_t n_chunks = (n + CHUNK - 1) // CHUNK
    cdef Py_ssize_t c, i, start, stop
    cdef double total = 0.0, s0, s1, s2, s3, v0, v1, v2, v3
    with nogil:
        for c in prange(n_chunks, num_threads=n_threads, schedule="static"):
            start = c * CHUNK
            stop = min(start + CHUNK, n)
            # four independent sums: the loop is bound by memory, not by
            # the latency of one chain of additions
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            i = start
            while i + 4 <= stop:
                v0 = values[i]
                v1 = values[i + 1]
                v2 = values[i + 2]
                v3 = values[i + 3]
                s0 = s0 + v0 * v0
                s1 = s1 + v1 * v1
                s2 = s2 + v2 * v2
                s3 = s3 + v3 * v3
                i = i + 4
            while i < stop:
                v0 = values[i]
                s0 = s0 + v0 * v0
                i = i + 1
            total += (s0 + s1) + (s2 + s3)
    return total
