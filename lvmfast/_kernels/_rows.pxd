# Row helpers shared by the kernel modules.
from cython cimport floating


cdef extern from "_rows.h" nogil:
    void lvm_center_rows_d(const double *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t ldx,
                           const double *shift, int square, double *out)
    void lvm_center_rows_s(const float *x, Py_ssize_t n, Py_ssize_t d, Py_ssize_t ldx,
                           const float *shift, int square, float *out)


cdef inline void center_rows(const floating[:, ::1] X, Py_ssize_t start, Py_ssize_t n_rows,
                             const floating[::1] shift, bint square, floating *out) noexcept nogil:
    """out[i, :] = X[start + i, :] - shift, for i < n_rows: the per-thread
    centered chunk that the gemm kernels work on; with square, each row is
    followed by its elementwise square (rows 2 D wide)."""
    if n_rows <= 0:
        return
    if floating is double:
        lvm_center_rows_d(&X[start, 0], n_rows, X.shape[1], X.shape[1], &shift[0], square, out)
    else:
        lvm_center_rows_s(&X[start, 0], n_rows, X.shape[1], X.shape[1], &shift[0], square, out)


cdef inline void copy_centered(const floating[:, ::1] X, Py_ssize_t start, Py_ssize_t n_rows,
                               const floating[::1] shift, floating *out) noexcept nogil:
    """out[i, :] = X[start + i, :] - shift, for i < n_rows."""
    center_rows(X, start, n_rows, shift, False, out)


cdef extern from "_rows.h" nogil:
    # squared distances by direct differences (see _rows.h)
    void lvm_sq_distances_d(const double *x, const Py_ssize_t *rows, Py_ssize_t n,
                            Py_ssize_t n_features, const double *cols, Py_ssize_t n_cols,
                            double *dist, Py_ssize_t ld)
    void lvm_sq_distances_s(const float *x, const Py_ssize_t *rows, Py_ssize_t n,
                            Py_ssize_t n_features, const float *cols, Py_ssize_t n_cols,
                            double *dist, Py_ssize_t ld)
    void lvm_argmin_columns_d(const double *scores, const double *offset, Py_ssize_t n,
                              Py_ssize_t n_cols, double *best, double *lab)
    void lvm_argmin_columns_s(const float *scores, const float *offset, Py_ssize_t n,
                              Py_ssize_t n_cols, float *best, float *lab)


cdef inline void argmin_columns(const floating *scores, const floating *offset, Py_ssize_t n,
                                Py_ssize_t n_cols, floating *best, floating *lab) noexcept nogil:
    """best[i], lab[i]: the smallest scores[k * n + i] + offset[k] and its
    first k (see _rows.h), for float64 or float32 scores."""
    if floating is double:
        lvm_argmin_columns_d(scores, offset, n, n_cols, best, lab)
    else:
        lvm_argmin_columns_s(scores, offset, n, n_cols, best, lab)
