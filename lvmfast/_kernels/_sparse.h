/* The CSR k-means loops: a row's dot products with all centers (register
 * tiles over the transposed centers) and per-cluster sums of listed rows. */
#ifndef LVMFAST_SPARSE_H
#define LVMFAST_SPARSE_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "_core.h"

/* The tiles load 64-byte vectors (8 double or 16 float lanes) from 32-byte
 * aligned rows, and 32-byte half vectors for a tail. */

/* out[k] = sum over the row's nonzeros p of (TA) data[p] * ct[idx[p] * kp + k],
 * for k < kp. kp is a multiple of half the lanes VL (32 bytes); ct and out
 * are 32-byte aligned. A tile of NV full vectors and H half vectors keeps
 * its accumulators in registers across the nonzeros; the even and the
 * odd nonzeros go to separate accumulators (two dependency chains, so the
 * FMA latency hides), added at the end. Each lane sums its own k in that
 * fixed order, so neither the tiling nor the thread count changes any
 * result. The loop is bound by reading the K-vectors of centers_t, which
 * is why kp is padded to 32 bytes only. */
#define LVS_TILE(VT, HT, TA, VL, NV, H)                                       \
    {                                                                         \
        VT a0 = {0}, a1 = {0}, a2 = {0}, b0 = {0}, b1 = {0}, b2 = {0};        \
        HT ah = {0}, bh = {0};                                                \
        ptrdiff_t p = 0;                                                      \
        for (; p + 1 < nnz; p += 2) {                                         \
            const TA v = (TA) data[p], u = (TA) data[p + 1];                  \
            const TA *c = ct + (ptrdiff_t) idx[p] * kp + k0;                  \
            const TA *e = ct + (ptrdiff_t) idx[p + 1] * kp + k0;              \
            if (NV > 0) { a0 += v * *(const VT *) c; b0 += u * *(const VT *) e; } \
            if (NV > 1) { a1 += v * *(const VT *) (c + VL); b1 += u * *(const VT *) (e + VL); } \
            if (NV > 2) { a2 += v * *(const VT *) (c + 2 * VL); b2 += u * *(const VT *) (e + 2 * VL); } \
            if (H) { ah += v * *(const HT *) (c + NV * VL); bh += u * *(const HT *) (e + NV * VL); } \
        }                                                                     \
        if (p < nnz) {                                                        \
            const TA v = (TA) data[p];                                        \
            const TA *c = ct + (ptrdiff_t) idx[p] * kp + k0;                  \
            if (NV > 0) a0 += v * *(const VT *) c;                            \
            if (NV > 1) a1 += v * *(const VT *) (c + VL);                     \
            if (NV > 2) a2 += v * *(const VT *) (c + 2 * VL);                 \
            if (H) ah += v * *(const HT *) (c + NV * VL);                     \
        }                                                                     \
        TA *o = out + k0;                                                     \
        if (NV > 0) *(VT *) o = a0 + b0;                                      \
        if (NV > 1) *(VT *) (o + VL) = a1 + b1;                               \
        if (NV > 2) *(VT *) (o + 2 * VL) = a2 + b2;                           \
        if (H) *(HT *) (o + NV * VL) = ah + bh;                               \
        k0 += NV * VL + H * (VL / 2);                                         \
    }

#define LVS_DEFINE_DOTS(TD, TA, VT, HT, VL, I, NAME)                          \
LVM_BODY void NAME##_body(const TD *restrict data, const I *restrict idx,   \
                            ptrdiff_t nnz, const TA *restrict ct,             \
                            ptrdiff_t kp, TA *restrict out)                   \
{                                                                             \
    ptrdiff_t k0 = 0;                                                         \
    while (kp - k0 >= 3 * VL) LVS_TILE(VT, HT, TA, VL, 3, 0)                  \
    switch ((kp - k0) / (VL / 2)) {                                           \
        case 5: LVS_TILE(VT, HT, TA, VL, 2, 1) break;                         \
        case 4: LVS_TILE(VT, HT, TA, VL, 2, 0) break;                         \
        case 3: LVS_TILE(VT, HT, TA, VL, 1, 1) break;                         \
        case 2: LVS_TILE(VT, HT, TA, VL, 1, 0) break;                         \
        case 1: LVS_TILE(VT, HT, TA, VL, 0, 1) break;                         \
        default: break;                                                       \
    }                                                                         \
}                                                                               \
LVM_CLONED_VOID(NAME, (const TD *restrict data, const I *restrict idx, ptrdiff_t nnz, const TA *restrict ct, ptrdiff_t kp, TA *restrict out), (data, idx, nnz, ct, kp, out))

/* scores in the data's dtype (the Lloyd assignment, as scikit-learn) */
LVS_DEFINE_DOTS(double, double, lvm_d8a32, lvm_d4, 8, int32_t, lvs_dots_d_d_i32)
LVS_DEFINE_DOTS(double, double, lvm_d8a32, lvm_d4, 8, int64_t, lvs_dots_d_d_i64)
LVS_DEFINE_DOTS(float, float, lvm_f16a32, lvm_f8, 16, int32_t, lvs_dots_f_f_i32)
LVS_DEFINE_DOTS(float, float, lvm_f16a32, lvm_f8, 16, int64_t, lvs_dots_f_f_i64)
/* float32 rows against float64 centers, summed in double (distances) */
LVS_DEFINE_DOTS(float, double, lvm_d8a32, lvm_d4, 8, int32_t, lvs_dots_f_d_i32)
LVS_DEFINE_DOTS(float, double, lvm_d8a32, lvm_d4, 8, int64_t, lvs_dots_f_d_i64)

/* For the rows listed in rows (in row order): sums[k, j] += w * x_j and
 * weights[k] += w, k being the row's label, in double. The rows of a group
 * of clusters come spread through X, so the next ones are prefetched. */
#define LVS_AHEAD 8
#define LVS_DEFINE_GROUP_SUM(TD, I, NAME)                                     \
static void NAME(const TD *restrict data, const I *restrict idx,              \
                 const I *restrict indptr, const ptrdiff_t *restrict rows,    \
                 ptrdiff_t n_rows, const TD *restrict weight,                 \
                 const int *restrict labels, ptrdiff_t n_features,            \
                 double *restrict sums, double *restrict weights)             \
{                                                                             \
    for (ptrdiff_t r = 0; r < n_rows; r++) {                                  \
        if (r + 2 * LVS_AHEAD < n_rows)                                       \
            __builtin_prefetch(indptr + rows[r + 2 * LVS_AHEAD]);             \
        if (r + LVS_AHEAD < n_rows) {                                         \
            const ptrdiff_t f = rows[r + LVS_AHEAD];                          \
            const char *d0 = (const char *) (data + indptr[f]);               \
            const char *d1 = (const char *) (data + indptr[f + 1]);           \
            const char *i0 = (const char *) (idx + indptr[f]);                \
            const char *i1 = (const char *) (idx + indptr[f + 1]);            \
            for (; d0 < d1; d0 += 64) __builtin_prefetch(d0);                 \
            for (; i0 < i1; i0 += 64) __builtin_prefetch(i0);                 \
        }                                                                     \
        const ptrdiff_t i = rows[r];                                          \
        const double w = (double) weight[i];                                  \
        const ptrdiff_t k = labels[i];                                        \
        double *restrict out = sums + k * n_features;                         \
        weights[k] += w;                                                      \
        for (ptrdiff_t p = indptr[i]; p < indptr[i + 1]; p++)                 \
            out[idx[p]] += w * (double) data[p];                              \
    }                                                                         \
}
LVS_DEFINE_GROUP_SUM(double, int32_t, lvs_group_sum_d_i32)
LVS_DEFINE_GROUP_SUM(double, int64_t, lvs_group_sum_d_i64)
LVS_DEFINE_GROUP_SUM(float, int32_t, lvs_group_sum_f_i32)
LVS_DEFINE_GROUP_SUM(float, int64_t, lvs_group_sum_f_i64)

#endif
