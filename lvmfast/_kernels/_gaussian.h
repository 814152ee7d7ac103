/* The Gaussian loops: exp and log on lanes, the log-sum-exp normalization,
 * and the mixture and classifier per-row loops. */
#ifndef LVMFAST_GAUSSIAN_H
#define LVMFAST_GAUSSIAN_H
#include "_rows.h"

/* ---- exp on vector lanes ----------------------------------------------------
 * exp(x) = 2^n exp(r), n = round(x / ln 2), |r| <= ln 2 / 2, with ln 2 split
 * in two so r is exact enough; exp(r) by its Taylor series to r^12 (double,
 * error < 2e-16) or r^7 (float, < 6e-8); 2^n built in the exponent bits
 * (the round-to-nearest constant leaves n in the low mantissa bits). Inputs
 * whose result is below the smallest normal number (x < ln 2^-1022, or
 * ln 2^-126 for float) give 0; callers pass x <= 0. */
#define LVM_EXP_D(VT, VI)                                                       \
    static inline VT lvm_exp_##VT(VT x)                                         \
    {                                                                           \
        const VT magic = (VT) {0} + 0x1.8p52;                                   \
        const VI too_small = x < -708.39;                                      \
        const VT m = x * 1.4426950408889634 + magic;                            \
        const VT n = m - magic;                                                 \
        const VT r = (x - n * 0.693147180369123816490) - n * 1.90821492927058770002e-10; \
        VT p = (VT) {0} + 1.0 / 479001600.0;                                    \
        p = p * r + 1.0 / 39916800.0;                                           \
        p = p * r + 1.0 / 3628800.0;                                            \
        p = p * r + 1.0 / 362880.0;                                             \
        p = p * r + 1.0 / 40320.0;                                              \
        p = p * r + 1.0 / 5040.0;                                               \
        p = p * r + 1.0 / 720.0;                                                \
        p = p * r + 1.0 / 120.0;                                                \
        p = p * r + 1.0 / 24.0;                                                 \
        p = p * r + 1.0 / 6.0;                                                  \
        p = p * r + 0.5;                                                        \
        p = p * r + 1.0;                                                        \
        p = p * r + 1.0;                                                        \
        const VI bits = ((VI) m + 1023) << 52;                                  \
        return (VT) ((VI) (p * (VT) bits) & ~too_small);                        \
    }
#define LVM_EXP_F(VT, VI)                                                       \
    static inline VT lvm_exp_##VT(VT x)                                         \
    {                                                                           \
        const VT magic = (VT) {0} + 0x1.8p23f;                                  \
        const VI too_small = x < -87.33f;                                        \
        const VT m = x * 1.44269504f + magic;                                   \
        const VT n = m - magic;                                                 \
        const VT r = (x - n * 0.693145752f) - n * 1.42860677e-6f;               \
        VT p = (VT) {0} + 1.0f / 5040.0f;                                       \
        p = p * r + 1.0f / 720.0f;                                              \
        p = p * r + 1.0f / 120.0f;                                              \
        p = p * r + 1.0f / 24.0f;                                               \
        p = p * r + 1.0f / 6.0f;                                                \
        p = p * r + 0.5f;                                                       \
        p = p * r + 1.0f;                                                       \
        p = p * r + 1.0f;                                                       \
        const VI bits = ((VI) m + 127) << 23;                                   \
        return (VT) ((VI) (p * (VT) bits) & ~too_small);                        \
    }
/* ---- log on vector lanes, for x >= 1 (a log-sum-exp's sum) -----------------
 * x = 2^e m with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m - 1) /
 * (m + 1), |s| <= 0.172, by its series to s^23 (double, error < 1e-17) or
 * s^11 (float, < 3e-8); log x = e ln 2 + log m. */
#define LVM_LOG_D(VT, VI)                                                       \
    static inline VT lvm_log_##VT(VT x)                                         \
    {                                                                           \
        const VI bits = (VI) x;                                                 \
        VI e = (bits >> 52) - 1023;                                             \
        VT m = (VT) ((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);     \
        const VI big = m > 1.4142135623730951;                                  \
        m = (VT) ((big & (VI) (m * 0.5)) | (~big & (VI) m));                    \
        e -= big; /* big is -1 where true */                                    \
        const VT s = (m - 1.0) / (m + 1.0), s2 = s * s;                         \
        VT p = (VT) {0} + 1.0 / 23;                                             \
        p = p * s2 + 1.0 / 21; p = p * s2 + 1.0 / 19; p = p * s2 + 1.0 / 17;    \
        p = p * s2 + 1.0 / 15; p = p * s2 + 1.0 / 13; p = p * s2 + 1.0 / 11;    \
        p = p * s2 + 1.0 / 9; p = p * s2 + 1.0 / 7; p = p * s2 + 1.0 / 5;       \
        p = p * s2 + 1.0 / 3; p = p * s2 + 1.0;                                 \
        return __builtin_convertvector(e, VT) * 0.6931471805599453 + 2.0 * s * p; \
    }
#define LVM_LOG_F(VT, VI)                                                       \
    static inline VT lvm_log_##VT(VT x)                                         \
    {                                                                           \
        const VI bits = (VI) x;                                                 \
        VI e = (bits >> 23) - 127;                                              \
        VT m = (VT) ((bits & 0x007fffff) | 0x3f800000);                         \
        const VI big = m > 1.41421356f;                                         \
        m = (VT) ((big & (VI) (m * 0.5f)) | (~big & (VI) m));                   \
        e -= big;                                                               \
        const VT s = (m - 1.0f) / (m + 1.0f), s2 = s * s;                       \
        VT p = (VT) {0} + 1.0f / 11;                                            \
        p = p * s2 + 1.0f / 9; p = p * s2 + 1.0f / 7; p = p * s2 + 1.0f / 5;    \
        p = p * s2 + 1.0f / 3; p = p * s2 + 1.0f;                               \
        return __builtin_convertvector(e, VT) * 0.693147181f + 2.0f * s * p;    \
    }
LVM_LOG_D(lvm_d2, lvm_l2)
LVM_LOG_F(lvm_f4, lvm_i4)
LVM_TARGET("avx2") LVM_LOG_D(lvm_d4, lvm_l4)
LVM_TARGET("avx2") LVM_LOG_F(lvm_f8, lvm_i8)
LVM_TARGET("avx512f") LVM_LOG_D(lvm_d8, lvm_l8)
LVM_TARGET("avx512f") LVM_LOG_F(lvm_f16, lvm_i16)
LVM_EXP_D(lvm_d2, lvm_l2)
LVM_EXP_F(lvm_f4, lvm_i4)
LVM_TARGET("avx2") LVM_EXP_D(lvm_d4, lvm_l4)
LVM_TARGET("avx2") LVM_EXP_F(lvm_f8, lvm_i8)
LVM_TARGET("avx512f") LVM_EXP_D(lvm_d8, lvm_l8)
LVM_TARGET("avx512f") LVM_EXP_F(lvm_f16, lvm_i16)

/* ---- log-sum-exp normalization ----------------------------------------------
 * scores is column-major (n rows x n_cols, leading dimension ld), each
 * column k offset by cols[k] (cols NULL: by nothing): per row, with
 * s_k = scores[k * ld + i] + cols[k], lse[i] = log sum_k exp(s_k), taken
 * stably around the row's maximum, and the scores become exp(s_k - lse):
 * responsibilities, summing to 1 over k. A vector of rows runs in the
 * lanes, like the argmin. A row needs one finite score; callers guarantee
 * that. */
#define LVM_LOG_NORMALIZE_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                  \
    ptrdiff_t i0 = 0;                                                           \
    for (; i0 + (W) <= n; i0 += (W)) {                                          \
        VT top = LOAD(scores + i0) + (T) (cols ? cols[0] : 0.0);                \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const VT s = LOAD(scores + k * ld + i0) + (T) (cols ? cols[k] : 0.0); \
            const VI gt = s > top;                                              \
            top = (VT) ((gt & (VI) s) | (~gt & (VI) top));                      \
        }                                                                       \
        VT total = (VT) {0};                                                    \
        for (ptrdiff_t k = 0; k < n_cols; k++) {                                \
            const VT s = LOAD(scores + k * ld + i0) + (T) (cols ? cols[k] : 0.0); \
            const VT e = lvm_exp_##VT(s - top);                                 \
            *(VTU *) (scores + k * ld + i0) = e;                                 \
            total += e;                                                         \
        }                                                                       \
        const VT inv = 1 / total;                                               \
        for (ptrdiff_t k = 0; k < n_cols; k++)                                  \
            *(VTU *) (scores + k * ld + i0) = LOAD(scores + k * ld + i0) * inv;   \
        const VT log_total = lvm_log_##VT(total);                               \
        for (int r = 0; r < (W); r++) lse[i0 + r] = (double) top[r] + (double) log_total[r]; \
    }                                                                           \
    for (ptrdiff_t i = i0; i < n; i++) {                                        \
        T top = scores[i] + (T) (cols ? cols[0] : 0.0);                         \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const T s = scores[k * ld + i] + (T) (cols ? cols[k] : 0.0);          \
            if (s > top) top = s;                                               \
        }                                                                       \
        double total = 0.0;                                                     \
        for (ptrdiff_t k = 0; k < n_cols; k++) {                                \
            const T s = scores[k * ld + i] + (T) (cols ? cols[k] : 0.0);          \
            const T e = (T) exp((double) (s - top));                            \
            scores[k * ld + i] = e;                                              \
            total += (double) e;                                                \
        }                                                                       \
        for (ptrdiff_t k = 0; k < n_cols; k++)                                  \
            scores[k * ld + i] = (T) ((double) scores[k * ld + i] / total);       \
        lse[i] = (double) top + log(total);                                     \
    }

#define LVM_LOG_NORMALIZE_SIGNATURE(T, NAME)                                    \
    static void NAME(T *restrict scores, ptrdiff_t n, ptrdiff_t ld,             \
                     ptrdiff_t n_cols, const double *restrict cols, double *restrict lse)

LVM_INSTANTIATE_D(LVM_LOG_NORMALIZE_SIGNATURE, LVM_LOG_NORMALIZE_BODY, lvm_log_normalize_d,
                  (scores, n, ld, n_cols, cols, lse))
LVM_INSTANTIATE_F(LVM_LOG_NORMALIZE_SIGNATURE, LVM_LOG_NORMALIZE_BODY, lvm_log_normalize_s,
                  (scores, n, ld, n_cols, cols, lse))


/* ---- Gaussian mixture loops --------------------------------------------------
 * GCC vectorizes these itself, per ISA clone (the reduction through omp simd). */
#define LVM_DEFINE_GAUSSIAN(T, SUFFIX)                                          \
/* r[i] *= w[i]; returns the sum of the products in double, four running    \
 * sums (one chain of n additions would wait on each one's latency) */         \
LVM_BODY double lvm_weigh_sum_##SUFFIX##_body(T *restrict r, const T *restrict w, ptrdiff_t n) \
{                                                                               \
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;                              \
    ptrdiff_t i = 0;                                                            \
    for (; i + 4 <= n; i += 4) {                                                \
        r[i] *= w[i]; r[i + 1] *= w[i + 1]; r[i + 2] *= w[i + 2]; r[i + 3] *= w[i + 3]; \
        s0 += r[i]; s1 += r[i + 1]; s2 += r[i + 2]; s3 += r[i + 3];             \
    }                                                                           \
    for (; i < n; i++) { r[i] *= w[i]; s0 += r[i]; }                            \
    return (s0 + s1) + (s2 + s3);                                               \
}                                                                               \
LVM_CLONED(double, lvm_weigh_sum_##SUFFIX, (T *restrict r, const T *restrict w, ptrdiff_t n), (r, w, n)) \
/* out[i d + j] = sqrt(r[i]) (x[i d + j] - m[j]) */                             \
LVM_BODY void lvm_scaled_dev_##SUFFIX##_body(                                \
        const T *restrict x, ptrdiff_t n, ptrdiff_t d, const T *restrict r,    \
        const T *restrict m, T *restrict out)                                  \
{                                                                               \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const T root = (T) sqrt((double) r[i]);                                 \
        for (ptrdiff_t j = 0; j < d; j++)                                       \
            out[i * d + j] = root * (x[i * d + j] - m[j]);                      \
    }                                                                           \
}                                                                               \
LVM_CLONED_VOID(lvm_scaled_dev_##SUFFIX, (const T *restrict x, ptrdiff_t n, ptrdiff_t d, const T *restrict r, const T *restrict m, T *restrict out), (x, n, d, r, m, out)) \
/* out[k ld + i] = -||y[i, k d : (k + 1) d] - pm[k]||^2 / 2, y being column-  \
 * major n x K d: rows in the lanes, no horizontal sums */                      \
LVM_BODY void lvm_full_log_prob_##SUFFIX##_body(                             \
        const T *restrict y, ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_components, \
        const T *restrict pm, T *restrict out, ptrdiff_t ld)                    \
{                                                                               \
    for (ptrdiff_t k = 0; k < n_components; k++) {                             \
        T *restrict q = out + k * ld;                                           \
        const T *restrict pk = pm + k * d;                                      \
        const T *restrict yk = y + k * d * n;                                   \
        for (ptrdiff_t i = 0; i < n; i++) q[i] = 0;                             \
        ptrdiff_t j = 0;                                                        \
        for (; j + 4 <= d; j += 4) {                                            \
            const T p0 = pk[j], p1 = pk[j + 1], p2 = pk[j + 2], p3 = pk[j + 3]; \
            const T *restrict y0 = yk + j * n, *restrict y1 = y0 + n;           \
            const T *restrict y2 = y1 + n, *restrict y3 = y2 + n;               \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t i = 0; i < n; i++) {                                 \
                const T a0 = y0[i] - p0, a1 = y1[i] - p1, a2 = y2[i] - p2, a3 = y3[i] - p3; \
                q[i] += (a0 * a0 + a1 * a1) + (a2 * a2 + a3 * a3);              \
            }                                                                   \
        }                                                                       \
        for (; j < d; j++) {                                                    \
            const T pj = pk[j];                                                 \
            const T *restrict yj = yk + j * n;                                  \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t i = 0; i < n; i++) {                                 \
                const T a = yj[i] - pj;                                         \
                q[i] += a * a;                                                  \
            }                                                                   \
        }                                                                       \
        for (ptrdiff_t i = 0; i < n; i++) q[i] *= (T) -0.5;                     \
    }                                                                           \
}                                                                               \
LVM_CLONED_VOID(lvm_full_log_prob_##SUFFIX, (const T *restrict y, ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_components, const T *restrict pm, T *restrict out, ptrdiff_t ld), (y, n, d, n_components, pm, out, ld))

LVM_DEFINE_GAUSSIAN(double, d)
LVM_DEFINE_GAUSSIAN(float, s)

/* out[j] += sum_i r[i] (x[i ldx + j] - m[j])^2 (j < d). double: four rows
 * per addition to out (a chain of n additions to the same out[j] would wait
 * on each one's latency). float: a sum of positive terms cannot cancel, so
 * each block of features sums the chunk's rows in float lanes, twice as
 * wide, and adds that to out once. */
LVM_BODY void lvm_weighted_sq_dev_d_body(
        const double *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t ldx,
        const double *restrict r, const double *restrict m, double *restrict out)
{
    ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double r0 = r[i], r1 = r[i + 1], r2 = r[i + 2], r3 = r[i + 3];
        const double *restrict row = x + i * ldx;
        for (ptrdiff_t j = 0; j < d; j++) {
            const double mj = m[j];
            const double a0 = row[j] - mj, a1 = row[ldx + j] - mj;
            const double a2 = row[2 * ldx + j] - mj, a3 = row[3 * ldx + j] - mj;
            out[j] += (r0 * a0 * a0 + r1 * a1 * a1) + (r2 * a2 * a2 + r3 * a3 * a3);
        }
    }
    for (; i < n; i++) {
        const double ri = r[i];
        const double *restrict row = x + i * ldx;
        for (ptrdiff_t j = 0; j < d; j++) {
            const double diff = row[j] - m[j];
            out[j] += ri * diff * diff;
        }
    }
}
LVM_CLONED_VOID(lvm_weighted_sq_dev_d, (const double *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t ldx, const double *restrict r, const double *restrict m, double *restrict out), (x, n, d, ldx, r, m, out))
#define LVM_SQ_DEV_BLOCK 256
LVM_BODY void lvm_weighted_sq_dev_s_body(
        const float *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t ldx,
        const float *restrict r, const float *restrict m, double *restrict out)
{
    float acc[LVM_SQ_DEV_BLOCK];
    for (ptrdiff_t j0 = 0; j0 < d; j0 += LVM_SQ_DEV_BLOCK) {
        const ptrdiff_t width = d - j0 < LVM_SQ_DEV_BLOCK ? d - j0 : LVM_SQ_DEV_BLOCK;
        const float *restrict mb = m + j0;
        for (ptrdiff_t j = 0; j < width; j++) acc[j] = 0.0f;
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            const float r0 = r[i], r1 = r[i + 1], r2 = r[i + 2], r3 = r[i + 3];
            const float *restrict row = x + i * ldx + j0;
            _Pragma("omp simd")
            for (ptrdiff_t j = 0; j < width; j++) {
                const float mj = mb[j];
                const float a0 = row[j] - mj, a1 = row[ldx + j] - mj;
                const float a2 = row[2 * ldx + j] - mj, a3 = row[3 * ldx + j] - mj;
                acc[j] += (r0 * a0 * a0 + r1 * a1 * a1) + (r2 * a2 * a2 + r3 * a3 * a3);
            }
        }
        for (; i < n; i++) {
            const float ri = r[i];
            const float *restrict row = x + i * ldx + j0;
            _Pragma("omp simd")
            for (ptrdiff_t j = 0; j < width; j++) {
                const float diff = row[j] - mb[j];
                acc[j] += ri * diff * diff;
            }
        }
        for (ptrdiff_t j = 0; j < width; j++) out[j0 + j] += (double) acc[j];
    }
}
LVM_CLONED_VOID(lvm_weighted_sq_dev_s, (const float *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t ldx, const float *restrict r, const float *restrict m, double *restrict out), (x, n, d, ldx, r, m, out))

/* out[k ld + i] = -sum_j p[k d + j] (x[i d + j] - m[k d + j])^2 / 2,
 * by direct differences (the accurate diagonal form, where tiny variances
 * make the gemm expansion lose digits). Lanes hold rows: the chunk is first
 * transposed into xt (xt[j n + i] = x[i d + j]), then each component's
 * column of out accumulates four features per sweep, so there is no
 * horizontal sum per row and component. A sum of positive terms cannot
 * cancel, so float data accumulates in float lanes, twice as wide. */
#define LVM_DEFINE_DIAG_DIRECT(T, SUFFIX)                                       \
LVM_BODY void lvm_diag_log_prob_##SUFFIX##_body(                             \
        const T *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_components, \
        const T *restrict m, const T *restrict p, T *restrict out, ptrdiff_t ld, \
        T *restrict xt)                                                         \
{                                                                               \
    for (ptrdiff_t i0 = 0; i0 < n; i0 += 16) {                                  \
        const ptrdiff_t i1 = i0 + 16 < n ? i0 + 16 : n;                         \
        for (ptrdiff_t j = 0; j < d; j++)                                       \
            for (ptrdiff_t i = i0; i < i1; i++) xt[j * n + i] = x[i * d + j];   \
    }                                                                           \
    for (ptrdiff_t k = 0; k < n_components; k++) {                             \
        T *restrict q = out + k * ld;                                           \
        const T *restrict mk = m + k * d, *restrict pk = p + k * d;            \
        for (ptrdiff_t i = 0; i < n; i++) q[i] = 0;                             \
        ptrdiff_t j = 0;                                                        \
        for (; j + 4 <= d; j += 4) {                                            \
            const T m0 = mk[j], m1 = mk[j + 1], m2 = mk[j + 2], m3 = mk[j + 3]; \
            const T p0 = pk[j], p1 = pk[j + 1], p2 = pk[j + 2], p3 = pk[j + 3]; \
            const T *restrict x0 = xt + j * n, *restrict x1 = x0 + n;           \
            const T *restrict x2 = x1 + n, *restrict x3 = x2 + n;               \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t i = 0; i < n; i++) {                                 \
                const T a0 = x0[i] - m0, a1 = x1[i] - m1, a2 = x2[i] - m2, a3 = x3[i] - m3; \
                q[i] += (p0 * a0 * a0 + p1 * a1 * a1) + (p2 * a2 * a2 + p3 * a3 * a3); \
            }                                                                   \
        }                                                                       \
        for (; j < d; j++) {                                                    \
            const T mj = mk[j], pj = pk[j];                                     \
            const T *restrict xj = xt + j * n;                                  \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t i = 0; i < n; i++) {                                 \
                const T a = xj[i] - mj;                                         \
                q[i] += pj * a * a;                                             \
            }                                                                   \
        }                                                                       \
        for (ptrdiff_t i = 0; i < n; i++) q[i] *= (T) -0.5;                     \
    }                                                                           \
}                                                                               \
LVM_CLONED_VOID(lvm_diag_log_prob_##SUFFIX, (const T *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_components, const T *restrict m, const T *restrict p, T *restrict out, ptrdiff_t ld, T *restrict xt), (x, n, d, n_components, m, p, out, ld, xt))
LVM_DEFINE_DIAG_DIRECT(double, d)
LVM_DEFINE_DIAG_DIRECT(float, s)

/* For labelled rows: nk[c] += w, s1[c] += w x and, when s2 is not NULL,
 * s2[c] += w (x - m[c])^2 elementwise, c being each row's label: the one-hot
 * statistics in O(n d), where the mixture's form costs O(n d K). */
#define LVM_DEFINE_CLASS_MOMENTS(T, SUFFIX)                                     \
LVM_BODY void lvm_class_moments_##SUFFIX##_body(                             \
        const T *restrict x, ptrdiff_t n, ptrdiff_t d,                          \
        const ptrdiff_t *restrict labels, const T *restrict weight,             \
        const T *restrict m, double *restrict nk, double *restrict s1,          \
        double *restrict s2)                                                    \
{                                                                               \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const ptrdiff_t c = labels[i];                                          \
        const double w = (double) weight[i];                                    \
        const T *restrict row = x + i * d;                                      \
        double *restrict first = s1 + c * d;                                    \
        nk[c] += w;                                                             \
        for (ptrdiff_t j = 0; j < d; j++) first[j] += w * (double) row[j];      \
        if (s2 != NULL) {                                                       \
            double *restrict second = s2 + c * d;                               \
            const T *restrict mean = m + c * d;                                 \
            for (ptrdiff_t j = 0; j < d; j++) {                                 \
                const double diff = (double) row[j] - (double) mean[j];         \
                second[j] += w * diff * diff;                                   \
            }                                                                   \
        }                                                                       \
    }                                                                           \
}                                                                               \
LVM_CLONED_VOID(lvm_class_moments_##SUFFIX, (const T *restrict x, ptrdiff_t n, ptrdiff_t d, const ptrdiff_t *restrict labels, const T *restrict weight, const T *restrict m, double *restrict nk, double *restrict s1, double *restrict s2), (x, n, d, labels, weight, m, nk, s1, s2))
LVM_DEFINE_CLASS_MOMENTS(double, d)
LVM_DEFINE_CLASS_MOMENTS(float, s)

#endif
