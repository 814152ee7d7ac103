# Row helpers shared by the kernel modules.
from cython cimport floating


cdef inline void copy_centered(const floating[:, ::1] X, Py_ssize_t start, Py_ssize_t n_rows,
                               const floating[::1] shift, floating *out) noexcept nogil:
    """out[i, :] = X[start + i, :] - shift, for i < n_rows: the per-thread
    centered chunk that the gemm kernels work on."""
    cdef Py_ssize_t i, j, n_features = X.shape[1]
    cdef const floating *row
    for i in range(n_rows):
        row = &X[start + i, 0]
        for j in range(n_features):
            out[i * n_features + j] = row[j] - shift[j]
