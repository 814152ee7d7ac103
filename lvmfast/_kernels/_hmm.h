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
 * Returns log p(x), or -INFINITY when the sequence has probability 0
 * under the model (its posteriors are then NaN and xi is left as it was).
 *
 * lvm_hmm_viterbi_{d,s}: the most likely state path, in log space. Ties go
 * as hmmlearn breaks them: the first maximal last state, the last maximal
 * predecessor. back (T x K ints) is scratch.
 * Returns the path's log-probability.
 */
#ifndef LVM_HMM_H
#define LVM_HMM_H

#include <math.h>
#include <stddef.h>
#include <string.h>
#include <Python.h>

#define LVM_HMM_DEFINE(SUFFIX, TYPE)                                                        \
static double lvm_hmm_fb_##SUFFIX(TYPE *lp, Py_ssize_t T, Py_ssize_t K,                    \
                                  const double *start, const double *trans, double *alpha, \
                                  double *scale, double *beta, double *tmp, double *xi)    \
{                                                                                          \
    Py_ssize_t t, i, j;                                                                    \
    double log_prob = 0.0, c, m, a, s;                                                     \
    TYPE *row;                                                                             \
    double *cur, *prev;                                                                    \
    for (t = 0; t < T; t++) {                                                              \
        row = lp + t * K;                                                                  \
        cur = alpha + t * K;                                                               \
        m = -INFINITY;                                                                     \
        for (j = 0; j < K; j++) if ((double)row[j] > m) m = (double)row[j];                \
        if (!(m > -INFINITY)) goto impossible;                                             \
        for (j = 0; j < K; j++) row[j] = (TYPE)exp((double)row[j] - m);                    \
        if (t == 0) {                                                                      \
            for (j = 0; j < K; j++) cur[j] = start[j] * (double)row[j];                    \
        } else {                                                                           \
            prev = cur - K;                                                                \
            for (j = 0; j < K; j++) cur[j] = 0.0;                                          \
            for (i = 0; i < K; i++) {                                                      \
                a = prev[i];                                                               \
                if (a == 0.0) continue;                                                    \
                for (j = 0; j < K; j++) cur[j] += a * trans[i * K + j];                    \
            }                                                                              \
            for (j = 0; j < K; j++) cur[j] *= (double)row[j];                              \
        }                                                                                  \
        c = 0.0;                                                                           \
        for (j = 0; j < K; j++) c += cur[j];                                               \
        if (!(c > 0.0)) goto impossible;                                                   \
        for (j = 0; j < K; j++) cur[j] /= c;                                               \
        scale[t] = c;                                                                      \
        log_prob += log(c) + m;                                                            \
    }                                                                                      \
    for (j = 0; j < K; j++) beta[j] = 1.0;                                                 \
    for (t = T - 1; t >= 0; t--) {                                                         \
        row = lp + t * K;                                                                  \
        cur = alpha + t * K;                                                               \
        if (t > 0) {                                                                       \
            /* tmp = b_t * beta_t / c_t, read before row t is overwritten */               \
            for (j = 0; j < K; j++) tmp[j] = (double)row[j] * beta[j] / scale[t];          \
        }                                                                                  \
        s = 0.0;                                                                           \
        for (j = 0; j < K; j++) s += cur[j] * beta[j];                                     \
        for (j = 0; j < K; j++) row[j] = (TYPE)(cur[j] * beta[j] / s);                     \
        if (t == 0) break;                                                                 \
        prev = cur - K;                                                                    \
        for (i = 0; i < K; i++) {                                                          \
            a = prev[i];                                                                   \
            c = 0.0;                                                                       \
            for (j = 0; j < K; j++) {                                                      \
                xi[i * K + j] += a * tmp[j];                                               \
                c += trans[i * K + j] * tmp[j];                                            \
            }                                                                              \
            beta[i] = c;                                                                   \
        }                                                                                  \
    }                                                                                      \
    return log_prob;                                                                       \
impossible:                                                                                \
    for (t = 0; t < T * K; t++) lp[t] = (TYPE)NAN;                                         \
    return -INFINITY;                                                                      \
}                                                                                          \
                                                                                           \
static double lvm_hmm_viterbi_##SUFFIX(const TYPE *lp, Py_ssize_t T, Py_ssize_t K,         \
                                       const double *log_start, const double *log_trans,   \
                                       double *delta, double *next, int *back,             \
                                       Py_ssize_t *path)                                   \
{                                                                                          \
    Py_ssize_t t, i, j, best_i;                                                            \
    double v, best;                                                                        \
    double *swap;                                                                          \
    for (j = 0; j < K; j++) delta[j] = log_start[j] + (double)lp[j];                       \
    for (t = 1; t < T; t++) {                                                              \
        for (j = 0; j < K; j++) { next[j] = -INFINITY; back[t * K + j] = 0; }              \
        for (i = 0; i < K; i++) {                                                          \
            for (j = 0; j < K; j++) {                                                      \
                v = delta[i] + log_trans[i * K + j];                                       \
                if (v >= next[j]) { next[j] = v; back[t * K + j] = (int)i; }                \
            }                                                                              \
        }                                                                                  \
        for (j = 0; j < K; j++) next[j] += (double)lp[t * K + j];                          \
        swap = delta; delta = next; next = swap;                                           \
    }                                                                                      \
    best = -INFINITY; best_i = 0;                                                          \
    for (j = 0; j < K; j++) if (delta[j] > best) { best = delta[j]; best_i = j; }          \
    path[T - 1] = best_i;                                                                  \
    for (t = T - 1; t > 0; t--) path[t - 1] = back[t * K + path[t]];                       \
    return best;                                                                           \
}

LVM_HMM_DEFINE(d, double)
LVM_HMM_DEFINE(s, float)

#endif
