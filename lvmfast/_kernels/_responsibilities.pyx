"""Responsibility normalization: a row-wise, stable log-sum-exp over the
components that turns log-scores into responsibilities in place.

The chunk-level C routine (lvm_log_normalize_* in _gaussian.h) is what the fused
mixture and classifier passes call; `log_normalize` runs it over a whole
column-major array for methods whose result is n_samples x n_components
anyway (predict_proba) and for the tests.
"""
from cython cimport floating
from cython.parallel cimport prange

from lvmfast._kernels._checks cimport check_length, check_positive

cdef extern from "_gaussian.h" nogil:
    void lvm_log_normalize_d(double *scores, Py_ssize_t n, Py_ssize_t ld, Py_ssize_t n_cols,
                             const double *cols, double *lse)
    void lvm_log_normalize_s(float *scores, Py_ssize_t n, Py_ssize_t ld, Py_ssize_t n_cols,
                             const double *cols, double *lse)


def log_normalize(floating[::1, :] scores not None, double[::1] lse not None, Py_ssize_t chunk_rows,
                  int n_threads):
    """For each row i of the column-major (n_samples x n_components) scores:
    lse[i] = log sum_k exp(scores[i, k]), and scores[i] becomes
    exp(scores[i] - lse[i]). Rows are independent, so any split gives the same
    result."""
    name = "log_normalize"
    cdef Py_ssize_t n_samples = scores.shape[0], n_cols = scores.shape[1]
    check_positive(name, "the number of columns of scores", n_cols)
    check_length(name, "lse", lse.shape[0], n_samples)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, start
    if n_samples == 0:
        return
    with nogil:
        for c in prange(n_chunks, num_threads=n_threads, schedule="static"):
            start = c * chunk_rows
            if floating is double:
                lvm_log_normalize_d(&scores[start, 0], min(chunk_rows, n_samples - start),
                                    n_samples, n_cols, NULL, &lse[start])
            else:
                lvm_log_normalize_s(&scores[start, 0], min(chunk_rows, n_samples - start),
                                    n_samples, n_cols, NULL, &lse[start])
