"""Per-row squared distances to the centers (transform, inertia, the
mini-batch and k-means|| helpers), by the gemm expansion on centered rows or
by direct differences."""
from cython cimport floating
from cython.parallel cimport parallel, prange
from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport check_labels, check_length, check_positive, check_shape
from lvmfast._kernels._rows cimport copy_centered
from lvmfast._kernels._assign cimport sq_distances


# ---------------------------------------------------------------------------
# Per-row distances


def assigned_sq_distances(const floating[:, ::1] X not None, const floating[::1] shift not None,
                          const floating[:, ::1] centers not None, const int[::1] labels not None,
                          double[::1] out not None, int n_threads):
    """out[i] = ||X[i] - shift - centers[labels[i]]||^2, by exact differences."""
    name = "assigned_sq_distances"
    cdef Py_ssize_t i, j, n_samples = X.shape[0], n_features = X.shape[1]
    cdef double s, d
    check_length(name, "shift", shift.shape[0], n_features)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], centers.shape[0], n_features)
    check_length(name, "labels", labels.shape[0], n_samples)
    check_length(name, "out", out.shape[0], n_samples)
    check_positive(name, "n_threads", n_threads)
    check_labels(name, "labels", labels, centers.shape[0])
    with nogil:
        for i in prange(n_samples, num_threads=n_threads, schedule="static"):
            s = 0.0
            for j in range(n_features):
                d = <double> X[i, j] - <double> shift[j] - <double> centers[labels[i], j]
                s = s + d * d
            out[i] = s


def pairwise_sq_distances(const floating[:, ::1] X not None, const floating[::1] shift not None,
                          const floating[:, ::1] centers not None, floating[:, ::1] out not None,
                          Py_ssize_t chunk_rows, int n_threads):
    """out[i, k] = ||X[i] - shift - centers[k]||^2 through gemm, clipped at 0."""
    name = "pairwise_sq_distances"
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = centers.shape[0]
    check_positive(name, "the number of centers (rows of centers)", n_clusters)
    check_shape(name, "centers", centers.shape[0], centers.shape[1], n_clusters, n_features)
    check_length(name, "shift", shift.shape[0], n_features)
    check_shape(name, "out", out.shape[0], out.shape[1], n_samples, n_clusters)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t c, start, n, i, j, k
    cdef floating *buf
    cdef floating *dst
    cdef double x_sq, d
    cdef double *center_sq = <double *> lvm_alloc(n_clusters * sizeof(double))
    if center_sq == NULL:
        raise MemoryError(f"{name}: could not allocate its scratch memory")
    cdef int failed = 0
    with nogil:
        for k in range(n_clusters):
            d = 0.0
            for j in range(n_features):
                d = d + <double> centers[k, j] * centers[k, j]
            center_sq[k] = d
        with parallel(num_threads=n_threads):
            buf = <floating *> lvm_alloc(chunk_rows * n_features * sizeof(floating))
            if buf == NULL:
                lvm_flag(&failed)
            for c in prange(n_chunks, schedule="static"):
                if lvm_flagged(&failed):
                    continue
                start = c * chunk_rows
                n = min(chunk_rows, n_samples - start)
                copy_centered(X, start, n, shift, buf)
                dst = &out[start, 0]
                # out rows (column-major K x n) = centers @ buf.T
                gemm(c'T', c'N', <int> n_clusters, <int> n, <int> n_features,
                     1.0, &centers[0, 0], <int> n_features, buf, <int> n_features,
                     0.0, dst, <int> n_clusters)
                for i in range(n):
                    x_sq = 0.0
                    for j in range(n_features):
                        x_sq = x_sq + <double> buf[i * n_features + j] * buf[i * n_features + j]
                    for k in range(n_clusters):
                        d = x_sq - 2.0 * dst[i * n_clusters + k] + center_sq[k]
                        dst[i * n_clusters + k] = <floating> (d if d > 0.0 else 0.0)
            lvm_free(buf)
        lvm_free(center_sq)
    raise_if_failed(failed, name)


def direct_pairwise_sq_distances(const floating[:, ::1] X not None,
                                 const floating[:, ::1] centers not None,
                                 floating[:, ::1] out not None, Py_ssize_t chunk_rows, int n_threads):
    """out[i, k] = ||X[i] - centers[k]||^2 by direct differences (centers in
    X's frame): exact near zero distance, where the float32 expansion loses
    its digits. Each thread holds a chunk's K x chunk_rows distances."""
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_clusters = centers.shape[0]
    cdef Py_ssize_t n_chunks, c, start, n, i, k
    cdef double *dist
    name = "direct_pairwise_sq_distances"
    check_shape(name, "centers", centers.shape[0], centers.shape[1], n_clusters, n_features)
    check_shape(name, "out", out.shape[0], out.shape[1], n_samples, n_clusters)
    check_positive(name, "chunk_rows", chunk_rows)
    check_positive(name, "n_threads", n_threads)
    if n_samples == 0 or n_clusters == 0:
        return
    n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        dist = <double *> lvm_alloc(n_clusters * chunk_rows * sizeof(double))
        if dist == NULL:
            lvm_flag(&failed)
        for c in prange(n_chunks, schedule="static"):
            if lvm_flagged(&failed):
                continue
            start = c * chunk_rows
            n = min(chunk_rows, n_samples - start)
            sq_distances(X, start, NULL, n, &centers[0, 0], n_clusters, dist, n)
            for i in range(n):
                for k in range(n_clusters):
                    out[start + i, k] = <floating> dist[k * n + i]
        lvm_free(dist)
    raise_if_failed(failed, name)
