# Entry checks shared by every Python-callable kernel.
#
# A kernel reads and writes raw buffers inside `nogil` loops with bounds
# checking off, so a shape that does not match is an out-of-bounds access,
# not an error. Each `def` kernel therefore calls these before it touches any
# element: they compare shapes (and, where an array indexes another, its
# values) and raise a ValueError that names the kernel, the array, what was
# expected and what was received. They are inline and cost nothing next to a
# pass over the rows.
from libc.stdint cimport int32_t, int64_t

ctypedef fused csr_index:
    int32_t
    int64_t

ctypedef fused label_index:
    int
    Py_ssize_t


cdef inline Py_ssize_t expected_blocks(Py_ssize_t n_samples, Py_ssize_t block_rows) noexcept nogil:
    """Blocks of plan_blocks (lvmfast._parallel): at least one, even for no rows."""
    return max(1, (n_samples + block_rows - 1) // block_rows)


cdef inline int check_length(str kernel, str name, Py_ssize_t got, Py_ssize_t expected) except -1:
    if got != expected:
        raise ValueError(f"{kernel}: {name} must have length {expected}, got {got}")
    return 0


cdef inline int check_shape(str kernel, str name, Py_ssize_t rows, Py_ssize_t cols,
                            Py_ssize_t expected_rows, Py_ssize_t expected_cols) except -1:
    if rows != expected_rows or cols != expected_cols:
        raise ValueError(f"{kernel}: {name} must have shape ({expected_rows}, {expected_cols}), "
                         f"got ({rows}, {cols})")
    return 0


cdef inline int check_shape3(str kernel, str name, Py_ssize_t a, Py_ssize_t b, Py_ssize_t c,
                             Py_ssize_t expected_a, Py_ssize_t expected_b,
                             Py_ssize_t expected_c) except -1:
    if a != expected_a or b != expected_b or c != expected_c:
        raise ValueError(f"{kernel}: {name} must have shape ({expected_a}, {expected_b}, "
                         f"{expected_c}), got ({a}, {b}, {c})")
    return 0


cdef inline int check_positive(str kernel, str name, Py_ssize_t got) except -1:
    if got < 1:
        raise ValueError(f"{kernel}: {name} must be >= 1, got {got}")
    return 0


cdef inline int check_plan(str kernel, Py_ssize_t chunk_rows, Py_ssize_t block_rows) except -1:
    if chunk_rows < 1 or block_rows < 1 or block_rows % chunk_rows != 0:
        raise ValueError(f"{kernel}: need chunk_rows >= 1 and block_rows a positive multiple "
                         f"of it, got chunk_rows={chunk_rows}, block_rows={block_rows}")
    return 0


cdef inline int check_labels(str kernel, str name, const label_index[::1] labels,
                             Py_ssize_t n_clusters) except -1:
    """Every label indexes one of n_clusters rows: labels in [0, n_clusters)."""
    cdef Py_ssize_t i, bad = -1
    with nogil:
        for i in range(labels.shape[0]):
            if labels[i] < 0 or labels[i] >= n_clusters:
                bad = i
                break
    if bad >= 0:
        raise ValueError(f"{kernel}: {name} must lie in [0, {n_clusters}), got "
                         f"{name}[{bad}] = {labels[bad]}")
    return 0


cdef inline Py_ssize_t check_csr(str kernel, Py_ssize_t n_data, Py_ssize_t n_indices,
                                 const csr_index[::1] indptr, Py_ssize_t n_features) except -1:
    """Return n_samples after checking that the CSR arrays agree."""
    if indptr.shape[0] < 1:
        raise ValueError(f"{kernel}: indptr must hold n_samples + 1 >= 1 entries, got 0")
    if n_data != n_indices:
        raise ValueError(f"{kernel}: data and indices must have the same length, "
                         f"got {n_data} and {n_indices}")
    if n_features < 1:
        raise ValueError(f"{kernel}: n_features must be >= 1, got {n_features}")
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1
    if indptr[0] < 0 or indptr[n_samples] < indptr[0] or indptr[n_samples] > n_data:
        raise ValueError(f"{kernel}: indptr must run from 0 to at most len(data) = {n_data}, "
                         f"got indptr[0] = {indptr[0]} and indptr[{n_samples}] = "
                         f"{indptr[n_samples]}")
    return n_samples
