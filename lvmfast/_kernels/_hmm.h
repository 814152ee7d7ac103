/* Hidden Markov model recursions on one sequence, vectorized over the K
 * states (the inner loops run over a row of K contiguous values).
 *
 * lvm_hmm_fb_{d,s}: scaled forward-backward. Reads the T x K row-major
 * emission log-probabilities `lp` (in the data's dtype) and writes the
 * posteriors gamma_t(k) = p(z_t = k | x) over them, row by row, as the
 * backward pass produces them. The forward messages (T x K doubles, `alpha`)
 * are the only per-step scratch; the backward message is one K vector.
 * Each step's emissions are scaled by their row maximum, so exp never
 * overflows, and each forward message is normalized to sum 1 (its sum
 * c_t is the scaling factor): log p(x) = sum_t (log c_t + max_t).
 * xi (K x K, accumulated, not cleared) gets
 * sum_t alpha_t(i) b_{t+1}(j) beta_{t+1}(j) / c_{t+1}; the expected
 * transition counts are xi(i, j) * A(i, j), applied once by the caller,
 * so no T x K x K array exists.
 * trans_t is trans transposed (the backward message is A tmp, by columns).
 * Each routine is built for baseline x86-64 and for AVX2, picked by the CPU.
 * Returns log p(x), or -INFINITY when the sequence has probability 0
 * under the model (its posteriors are then NaN and xi is left as it was).
 *
 * lvm_hmm_viterbi_{d,s}: the most likely state path, in log space. Ties go
 * as hmmlearn breaks them: the first maximal last state, the last maximal
 * predecessor. back (T x K ints) and arg (K) are scratch.
 * Returns the path's log-probability.
 */
#ifndef LVM_HMM_H
#define LVM_HMM_H

#include <math.h>
#include <stddef.h>
#include <string.h>
#include <Python.h>
#include "_gaussian.h" /* lvm_exp_* on vector lanes, _core.h's dispatch */

/* x[i] = exp(x[i]) for i < n (x[i] <= 0), on vector lanes: 2 doubles (4
 * floats) in the baseline build, 4 (8) with AVX2. */
#define LVM_HMM_EXP_LANES(SUFFIX, T, VT, VTU, W, ISA)                                     \
ISA static void lvm_hmm_exp_##SUFFIX(T *x, Py_ssize_t n)                                  \
{                                                                                          \
    Py_ssize_t i = 0;                                                                      \
    for (; i + (W) <= n; i += (W)) *(VTU *)(x + i) = lvm_exp_##VT(*(VTU *)(x + i));        \
    for (; i < n; i++) x[i] = (T)exp((double)x[i]);                                        \
}
LVM_HMM_EXP_LANES(d_base, double, lvm_d2, lvm_d2u, 2, )
LVM_HMM_EXP_LANES(s_base, float, lvm_f4, lvm_f4u, 4, )
#if defined(__x86_64__)
LVM_HMM_EXP_LANES(d_avx2, double, lvm_d4, lvm_d4u, 4, LVM_TARGET("avx2"))
LVM_HMM_EXP_LANES(s_avx2, float, lvm_f8, lvm_f8u, 8, LVM_TARGET("avx2"))
#endif

#define LVM_HMM_DEFINE(SUFFIX, TYPE, EXP, ISA)                                              \
ISA static double lvm_hmm_fb_##SUFFIX(TYPE *restrict lp, Py_ssize_t T, Py_ssize_t K,       \
                                  const double *restrict start, const double *restrict trans, \
                                  const double *restrict trans_t, double *restrict alpha,  \
                                  double *restrict scale, double *restrict beta,           \
                                  double *restrict tmp, double *restrict xi)               \
{                                                                                          \
    Py_ssize_t t, i, j;                                                                    \
    double log_prob = 0.0, c, m, a, s;                                                     \
    TYPE *row;                                                                             \
    double *cur, *prev;                                                                    \
    /* each step's emissions relative to their maximum, exponentiated on lanes */          \
    for (t = 0; t < T; t++) {                                                              \
        row = lp + t * K;                                                                  \
        m = -INFINITY;                                                                     \
        for (j = 0; j < K; j++) if ((double)row[j] > m) m = (double)row[j];                \
        if (!(m > -INFINITY)) goto impossible;                                             \
        for (j = 0; j < K; j++) row[j] = (TYPE)((double)row[j] - m);                       \
        log_prob += m;                                                                     \
    }                                                                                      \
    EXP(lp, T * K);                                                                        \
    for (t = 0; t < T; t++) {                                                              \
        row = lp + t * K;                                                                  \
        cur = alpha + t * K;                                                               \
        if (t == 0) {                                                                      \
            for (j = 0; j < K; j++) cur[j] = start[j] * (double)row[j];                    \
        } else {                                                                           \
            prev = cur - K;                                                                \
            for (j = 0; j < K; j++) cur[j] = 0.0;                                          \
            /* two predecessors per pass: half the dependent adds per state */             \
            for (i = 0; i + 1 < K; i += 2) {                                               \
                a = prev[i];                                                               \
                s = prev[i + 1];                                                           \
                for (j = 0; j < K; j++)                                                    \
                    cur[j] += a * trans[i * K + j] + s * trans[(i + 1) * K + j];           \
            }                                                                              \
            if (K & 1) {                                                                   \
                a = prev[K - 1];                                                           \
                for (j = 0; j < K; j++) cur[j] += a * trans[(K - 1) * K + j];              \
            }                                                                              \
            for (j = 0; j < K; j++) cur[j] *= (double)row[j];                              \
        }                                                                                  \
        c = 0.0;                                                                           \
        for (j = 0; j < K; j++) c += cur[j];                                               \
        if (!(c > 0.0)) goto impossible;                                                   \
        a = 1.0 / c;                                                                       \
        for (j = 0; j < K; j++) cur[j] *= a;                                               \
        scale[t] = a; /* 1 / c_t */                                                        \
        log_prob += log(c);                                                                \
    }                                                                                      \
    for (j = 0; j < K; j++) beta[j] = 1.0;                                                 \
    for (t = T - 1; t >= 0; t--) {                                                         \
        row = lp + t * K;                                                                  \
        cur = alpha + t * K;                                                               \
        if (t > 0) {                                                                       \
            /* tmp = b_t * beta_t / c_t, read before row t is overwritten */               \
            for (j = 0; j < K; j++) tmp[j] = (double)row[j] * beta[j] * scale[t];          \
        }                                                                                  \
        s = 0.0;                                                                           \
        for (j = 0; j < K; j++) s += cur[j] * beta[j];                                     \
        s = 1.0 / s;                                                                       \
        for (j = 0; j < K; j++) row[j] = (TYPE)(cur[j] * beta[j] * s);                     \
        if (t == 0) break;                                                                 \
        prev = cur - K;                                                                    \
        for (i = 0; i < K; i++) {                                                          \
            a = prev[i];                                                                   \
            for (j = 0; j < K; j++) xi[i * K + j] += a * tmp[j];                           \
        }                                                                                  \
        /* beta = A tmp, as axpys over A's columns (rows of trans_t) */                    \
        for (i = 0; i < K; i++) beta[i] = 0.0;                                             \
        for (j = 0; j + 1 < K; j += 2) {                                                   \
            a = tmp[j];                                                                    \
            s = tmp[j + 1];                                                                \
            for (i = 0; i < K; i++)                                                        \
                beta[i] += a * trans_t[j * K + i] + s * trans_t[(j + 1) * K + i];          \
        }                                                                                  \
        if (K & 1) {                                                                       \
            a = tmp[K - 1];                                                                \
            for (i = 0; i < K; i++) beta[i] += a * trans_t[(K - 1) * K + i];               \
        }                                                                                  \
    }                                                                                      \
    return log_prob;                                                                       \
impossible:                                                                                \
    for (t = 0; t < T * K; t++) lp[t] = (TYPE)NAN;                                         \
    return -INFINITY;                                                                      \
}                                                                                          \
                                                                                           \
ISA static double lvm_hmm_viterbi_##SUFFIX(const TYPE *restrict lp, Py_ssize_t T, Py_ssize_t K, \
                                       const double *restrict log_start,                   \
                                       const double *restrict log_trans, double *delta,    \
                                       double *next, double *restrict arg, int *restrict back, \
                                       Py_ssize_t *restrict path)                          \
{                                                                                          \
    Py_ssize_t t, i, j, best_i;                                                            \
    double v, best, d, di;                                                                 \
    double *swap;                                                                          \
    for (j = 0; j < K; j++) delta[j] = log_start[j] + (double)lp[j];                       \
    for (t = 1; t < T; t++) {                                                              \
        for (j = 0; j < K; j++) { next[j] = -INFINITY; arg[j] = 0.0; }                     \
        /* branch-free max and argmax (the predecessor as a double), on lanes */           \
        for (i = 0; i < K; i++) {                                                          \
            d = delta[i];                                                                  \
            di = (double)i;                                                                \
            for (j = 0; j < K; j++) {                                                      \
                v = d + log_trans[i * K + j];                                              \
                arg[j] = v >= next[j] ? di : arg[j];                                       \
                next[j] = v >= next[j] ? v : next[j];                                      \
            }                                                                              \
        }                                                                                  \
        for (j = 0; j < K; j++) {                                                          \
            back[t * K + j] = (int)arg[j];                                                 \
            next[j] += (double)lp[t * K + j];                                              \
        }                                                                                  \
        swap = delta; delta = next; next = swap;                                           \
    }                                                                                      \
    best = -INFINITY; best_i = 0;                                                          \
    for (j = 0; j < K; j++) if (delta[j] > best) { best = delta[j]; best_i = j; }          \
    path[T - 1] = best_i;                                                                  \
    for (t = T - 1; t > 0; t--) path[t - 1] = back[t * K + path[t]];                       \
    return best;                                                                           \
}

LVM_HMM_DEFINE(d_base, double, lvm_hmm_exp_d_base, )
LVM_HMM_DEFINE(s_base, float, lvm_hmm_exp_s_base, )
#if defined(__x86_64__)
LVM_HMM_DEFINE(d_avx2, double, lvm_hmm_exp_d_avx2, LVM_TARGET("avx2"))
LVM_HMM_DEFINE(s_avx2, float, lvm_hmm_exp_s_avx2, LVM_TARGET("avx2"))
#define LVM_HMM_PICK(NAME, ARGS) return lvm_cpu_level() >= 1 ? NAME##_avx2 ARGS : NAME##_base ARGS
#else
#define LVM_HMM_PICK(NAME, ARGS) return NAME##_base ARGS
#endif

#define LVM_HMM_DISPATCH(SUFFIX, TYPE)                                                      \
static double lvm_hmm_fb_##SUFFIX(TYPE *lp, Py_ssize_t T, Py_ssize_t K, const double *start,  \
                                  const double *trans, const double *trans_t, double *alpha, \
                                  double *scale, double *beta, double *tmp, double *xi)    \
{ LVM_HMM_PICK(lvm_hmm_fb_##SUFFIX, (lp, T, K, start, trans, trans_t, alpha, scale, beta, tmp, xi)); } \
static double lvm_hmm_viterbi_##SUFFIX(const TYPE *lp, Py_ssize_t T, Py_ssize_t K,         \
                                       const double *log_start, const double *log_trans,   \
                                       double *delta, double *next, double *arg, int *back,  \
                                       Py_ssize_t *path)                                   \
{ LVM_HMM_PICK(lvm_hmm_viterbi_##SUFFIX, (lp, T, K, log_start, log_trans, delta, next, arg, back, path)); }
LVM_HMM_DISPATCH(d, double)
LVM_HMM_DISPATCH(s, float)

#endif
