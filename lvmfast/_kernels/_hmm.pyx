"""Hidden Markov model kernels: forward-backward and Viterbi over many
sequences, and the posterior-weighted moments of the rows.

Sequences are dealt to threads in fixed blocks (consecutive sequences,
planned by lvmfast.hmm._base from the lengths alone): each block writes its
own slot of the transition statistics and each sequence its own
log-probability, so results are bit-identical for any thread count. The
recursions themselves are the C routines of _hmm.h.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.string cimport memset

from lvmfast._kernels._alloc cimport lvm_alloc, lvm_flag, lvm_flagged, lvm_free, raise_if_failed
from lvmfast._kernels._blas cimport gemm
from lvmfast._kernels._checks cimport check_length, check_plan, check_positive, check_shape, expected_blocks
from lvmfast._kernels._rows cimport center_rows

cdef extern from "_hmm.h" nogil:
    double lvm_hmm_fb_d(double *lp, Py_ssize_t T, Py_ssize_t K, const double *start,
                        const double *trans, const double *trans_t, double *alpha, double *scale,
                        double *beta, double *tmp, double *xi)
    double lvm_hmm_fb_s(float *lp, Py_ssize_t T, Py_ssize_t K, const double *start,
                        const double *trans, const double *trans_t, double *alpha, double *scale,
                        double *beta, double *tmp, double *xi)
    double lvm_hmm_viterbi_d(const double *lp, Py_ssize_t T, Py_ssize_t K, const double *log_start,
                             const double *log_trans, double *delta, double *next, double *arg,
                             int *back, Py_ssize_t *path)
    double lvm_hmm_viterbi_s(const float *lp, Py_ssize_t T, Py_ssize_t K, const double *log_start,
                             const double *log_trans, double *delta, double *next, double *arg,
                             int *back, Py_ssize_t *path)

# What posterior_moments sums besides the counts and first moments.
cpdef enum Moments:
    MOMENTS_NONE = 0     # nothing more
    MOMENTS_SQUARES = 1  # per state, sum g (x - shift)^2              (K x D)
    MOMENTS_OUTER = 2    # per state, sum g (x - shift)(x - shift)^T   (K x D x D)
    MOMENTS_SCATTER = 3  # all rows, sum (x - shift)(x - shift)^T       (D x D)


cdef int check_sequences(str name, const Py_ssize_t[::1] seq_starts, const Py_ssize_t[::1] block_starts,
                         Py_ssize_t n_samples) except -1:
    cdef Py_ssize_t n_seq = seq_starts.shape[0] - 1, s
    if n_seq < 1 or seq_starts[0] != 0 or seq_starts[n_seq] != n_samples:
        raise ValueError(f"{name}: seq_starts must run from 0 to n_samples ({n_samples}) with at least "
                         f"one sequence")
    for s in range(n_seq):
        if seq_starts[s + 1] <= seq_starts[s]:
            raise ValueError(f"{name}: sequence {s} is empty or seq_starts decreases there")
    if block_starts.shape[0] < 2 or block_starts[0] != 0 or block_starts[block_starts.shape[0] - 1] != n_seq:
        raise ValueError(f"{name}: block_starts must run from 0 to the number of sequences ({n_seq})")
    for s in range(block_starts.shape[0] - 1):
        if block_starts[s + 1] <= block_starts[s]:
            raise ValueError(f"{name}: block {s} holds no sequence")
    return 0


cdef Py_ssize_t longest(const Py_ssize_t[::1] seq_starts, Py_ssize_t first, Py_ssize_t last) noexcept nogil:
    cdef Py_ssize_t s, best = 0
    for s in range(first, last):
        if seq_starts[s + 1] - seq_starts[s] > best:
            best = seq_starts[s + 1] - seq_starts[s]
    return best


def forward_backward(floating[:, ::1] frame not None, const Py_ssize_t[::1] seq_starts not None,
                     const Py_ssize_t[::1] block_starts not None, const double[::1] startprob not None,
                     const double[:, ::1] transmat not None, double[::1] seq_log_prob not None,
                     double[:, :, ::1] block_xi not None, int n_threads):
    """Scaled forward-backward of every sequence, in place.

    frame (n_samples x K): the emission log-probabilities in, the
    posteriors out. Sequence s is rows seq_starts[s]:seq_starts[s + 1];
    block b is sequences block_starts[b]:block_starts[b + 1]. Writes
    seq_log_prob[s] = log p(sequence s) (-inf, with NaN posteriors, where
    the model gives it probability 0) and block_xi[b] = the block's
    sum_t alpha_t(i) b_{t+1}(j) beta_{t+1}(j) / c_{t+1}, which times
    transmat[i, j] is its expected count of i -> j transitions."""
    name = "forward_backward"
    cdef Py_ssize_t n_samples = frame.shape[0], K = frame.shape[1]
    cdef Py_ssize_t n_seq = seq_starts.shape[0] - 1, n_blocks = block_starts.shape[0] - 1
    check_positive(name, "the number of states (columns of frame)", K)
    check_sequences(name, seq_starts, block_starts, n_samples)
    check_length(name, "startprob", startprob.shape[0], K)
    check_shape(name, "transmat", transmat.shape[0], transmat.shape[1], K, K)
    check_length(name, "seq_log_prob", seq_log_prob.shape[0], n_seq)
    if block_xi.shape[0] != n_blocks or block_xi.shape[1] != K or block_xi.shape[2] != K:
        raise ValueError(f"{name}: block_xi must have shape ({n_blocks}, {K}, {K})")
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t b, s, T, i, j
    cdef double *trans_t = <double *> lvm_alloc(K * K * sizeof(double))
    if trans_t == NULL:
        raise MemoryError(f"{name}: could not allocate the transposed transitions")
    for i in range(K):
        for j in range(K):
            trans_t[j * K + i] = transmat[i, j]
    cdef double *alpha
    cdef double *scale
    cdef double *small
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        small = <double *> lvm_alloc(2 * K * sizeof(double))
        if small == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            memset(&block_xi[b, 0, 0], 0, K * K * sizeof(double))
            T = longest(seq_starts, block_starts[b], block_starts[b + 1])
            alpha = <double *> lvm_alloc(T * K * sizeof(double))
            scale = <double *> lvm_alloc(T * sizeof(double))
            if alpha == NULL or scale == NULL:
                lvm_flag(&failed)
            else:
                for s in range(block_starts[b], block_starts[b + 1]):
                    T = seq_starts[s + 1] - seq_starts[s]
                    if floating is double:
                        seq_log_prob[s] = lvm_hmm_fb_d(&frame[seq_starts[s], 0], T, K, &startprob[0],
                                                       &transmat[0, 0], trans_t, alpha, scale, small, small + K,
                                                       &block_xi[b, 0, 0])
                    else:
                        seq_log_prob[s] = lvm_hmm_fb_s(&frame[seq_starts[s], 0], T, K, &startprob[0],
                                                       &transmat[0, 0], trans_t, alpha, scale, small, small + K,
                                                       &block_xi[b, 0, 0])
            lvm_free(alpha)
            lvm_free(scale)
        lvm_free(small)
    lvm_free(trans_t)
    raise_if_failed(failed, name)


def viterbi(const floating[:, ::1] frame not None, const Py_ssize_t[::1] seq_starts not None,
            const Py_ssize_t[::1] block_starts not None, const double[::1] log_startprob not None,
            const double[:, ::1] log_transmat not None, double[::1] seq_log_prob not None,
            Py_ssize_t[::1] path not None, int n_threads):
    """The most likely state path of every sequence (see forward_backward
    for the layout): path[i] is row i's state, seq_log_prob[s] the log
    probability of sequence s's path."""
    name = "viterbi"
    cdef Py_ssize_t n_samples = frame.shape[0], K = frame.shape[1]
    cdef Py_ssize_t n_seq = seq_starts.shape[0] - 1, n_blocks = block_starts.shape[0] - 1
    check_positive(name, "the number of states (columns of frame)", K)
    check_sequences(name, seq_starts, block_starts, n_samples)
    check_length(name, "log_startprob", log_startprob.shape[0], K)
    check_shape(name, "log_transmat", log_transmat.shape[0], log_transmat.shape[1], K, K)
    check_length(name, "seq_log_prob", seq_log_prob.shape[0], n_seq)
    check_length(name, "path", path.shape[0], n_samples)
    check_positive(name, "n_threads", n_threads)
    cdef Py_ssize_t b, s, T
    cdef int *back
    cdef double *small
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        small = <double *> lvm_alloc(3 * K * sizeof(double))
        if small == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            T = longest(seq_starts, block_starts[b], block_starts[b + 1])
            back = <int *> lvm_alloc(T * K * sizeof(int))
            if back == NULL:
                lvm_flag(&failed)
            else:
                for s in range(block_starts[b], block_starts[b + 1]):
                    T = seq_starts[s + 1] - seq_starts[s]
                    if floating is double:
                        seq_log_prob[s] = lvm_hmm_viterbi_d(&frame[seq_starts[s], 0], T, K, &log_startprob[0],
                                                            &log_transmat[0, 0], small, small + K, small + 2 * K, back,
                                                            &path[seq_starts[s]])
                    else:
                        seq_log_prob[s] = lvm_hmm_viterbi_s(&frame[seq_starts[s], 0], T, K, &log_startprob[0],
                                                            &log_transmat[0, 0], small, small + K, small + 2 * K, back,
                                                            &path[seq_starts[s]])
            lvm_free(back)
        lvm_free(small)
    raise_if_failed(failed, name)


cdef void add_to(double *acc, const floating *values, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        acc[i] += values[i]


def posterior_moments(const floating[:, ::1] X not None, const floating[::1] shift not None,
                      const floating[:, ::1] posteriors not None, int moments,
                      double[:, ::1] block_nk not None, double[:, :, ::1] block_s1 not None,
                      double[:, ::1] block_s2 not None, Py_ssize_t chunk_rows, Py_ssize_t block_rows,
                      int n_threads):
    """The M-step's statistics of the rows weighted by their posteriors g,
    in the frame x - shift, per fixed block of rows: block_nk[b] (K) =
    sum g, block_s1[b] (K x D) = sum g x, and block_s2[b] as `moments`
    says (MOMENTS_*; flattened; unused for MOMENTS_NONE). Each chunk is one
    gemm (K for MOMENTS_OUTER) in X's dtype, added to the float64 block
    sums."""
    name = "posterior_moments"
    cdef Py_ssize_t n_samples = X.shape[0], D = X.shape[1], K = posteriors.shape[1]
    check_positive(name, "the number of states (columns of posteriors)", K)
    check_shape(name, "posteriors", posteriors.shape[0], K, n_samples, K)
    check_length(name, "shift", shift.shape[0], D)
    check_plan(name, chunk_rows, block_rows)
    check_positive(name, "n_threads", n_threads)
    if moments < MOMENTS_NONE or moments > MOMENTS_SCATTER:
        raise ValueError(f"{name}: moments must be 0 to 3 (MOMENTS_*), got {moments}")
    cdef Py_ssize_t n_blocks = expected_blocks(n_samples, block_rows)
    cdef Py_ssize_t s2_size = (K * D if moments == MOMENTS_SQUARES else K * D * D if moments == MOMENTS_OUTER
                               else D * D if moments == MOMENTS_SCATTER else 0)
    check_shape(name, "block_nk", block_nk.shape[0], block_nk.shape[1], n_blocks, K)
    if block_s1.shape[0] != n_blocks or block_s1.shape[1] != K or block_s1.shape[2] != D:
        raise ValueError(f"{name}: block_s1 must have shape ({n_blocks}, {K}, {D})")
    if block_s2.shape[0] != n_blocks or block_s2.shape[1] < s2_size:
        raise ValueError(f"{name}: block_s2 must have shape ({n_blocks}, >= {s2_size})")
    cdef bint square = moments == MOMENTS_SQUARES
    cdef Py_ssize_t width = 2 * D if square else D
    cdef Py_ssize_t stat_size = max(K * width, D * D)
    cdef Py_ssize_t b, start, stop, n, i, j, k
    cdef floating *buf
    cdef floating *work
    cdef floating *stat
    cdef const floating *g
    cdef int failed = 0
    with nogil, parallel(num_threads=n_threads):
        buf = <floating *> lvm_alloc(chunk_rows * width * sizeof(floating))
        work = <floating *> lvm_alloc(chunk_rows * D * sizeof(floating))
        stat = <floating *> lvm_alloc(stat_size * sizeof(floating))
        if buf == NULL or work == NULL or stat == NULL:
            lvm_flag(&failed)
        for b in prange(n_blocks, schedule="dynamic"):
            if lvm_flagged(&failed):
                continue
            memset(&block_nk[b, 0], 0, K * sizeof(double))
            memset(&block_s1[b, 0, 0], 0, K * D * sizeof(double))
            if s2_size:
                memset(&block_s2[b, 0], 0, s2_size * sizeof(double))
            start = b * block_rows
            stop = min(start + block_rows, n_samples)
            while start < stop:
                n = min(chunk_rows, stop - start)
                g = &posteriors[start, 0]
                center_rows(X, start, n, shift, square, buf)
                for i in range(n):
                    add_to(&block_nk[b, 0], g + i * K, K)
                # stat (K x width, row-major) = G^T [x (, x*x)]
                gemm(c'N', c'T', <int> width, <int> K, <int> n, 1.0, buf, <int> width, g, <int> K,
                     0.0, stat, <int> width)
                for k in range(K):
                    add_to(&block_s1[b, k, 0], stat + k * width, D)
                    if square:
                        add_to(&block_s2[b, k * D], stat + k * width + D, D)
                if moments == MOMENTS_OUTER:
                    for k in range(K):
                        for i in range(n):
                            for j in range(D):
                                work[i * D + j] = g[i * K + k] * buf[i * D + j]
                        gemm(c'N', c'T', <int> D, <int> D, <int> n, 1.0, work, <int> D, buf, <int> D,
                             0.0, stat, <int> D)
                        add_to(&block_s2[b, k * D * D], stat, D * D)
                elif moments == MOMENTS_SCATTER:
                    gemm(c'N', c'T', <int> D, <int> D, <int> n, 1.0, buf, <int> D, buf, <int> D,
                         0.0, stat, <int> D)
                    add_to(&block_s2[b, 0], stat, D * D)
                start = start + n
        lvm_free(buf)
        lvm_free(work)
        lvm_free(stat)
    raise_if_failed(failed, name)
