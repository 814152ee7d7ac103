/* The k-means loops: the assignment with its runner-up, the fused Lloyd
 * assignment, transposes, group bounds, k-means++ potentials. */
#ifndef LVMFAST_KMEANS_H
#define LVMFAST_KMEANS_H
#include "_rows.h"

/* ---- argmin with the runner-up -------------------------------------------
 * As the argmin above, and second[i] = the second smallest score. The float64
 * Lloyd step runs its distance gemm in float32 and needs the gap between the
 * two to prove a label (see lloyd_step). */
#define LVM_ARGMIN2_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                         \
    const VT inf = (VT) {0} + (T) __builtin_inf();                              \
    ptrdiff_t i0 = 0;                                                           \
    for (; i0 + (W) * LVM_TILE_VECTORS <= n; i0 += (W) * LVM_TILE_VECTORS) {    \
        VT b[LVM_TILE_VECTORS], b2[LVM_TILE_VECTORS], l[LVM_TILE_VECTORS];      \
        for (int v = 0; v < LVM_TILE_VECTORS; v++) {                            \
            b[v] = LOAD(scores + i0 + v * (W)) + offset[0];                     \
            b2[v] = inf;                                                        \
            l[v] = (VT) {0};                                                    \
        }                                                                       \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const T *col = scores + k * n + i0;                                 \
            const T ok = offset[k];                                             \
            const VT kk = (VT) {0} + (T) k;                                     \
            for (int v = 0; v < LVM_TILE_VECTORS; v++) {                        \
                const VT s = LOAD(col + v * (W)) + ok;                          \
                const VI lt = s < b[v];                                         \
                const VI lt2 = s < b2[v];                                       \
                const VT runner = (VT) ((lt2 & (VI) s) | (~lt2 & (VI) b2[v]));  \
                b2[v] = (VT) ((lt & (VI) b[v]) | (~lt & (VI) runner));          \
                l[v] = (VT) ((lt & (VI) kk) | (~lt & (VI) l[v]));               \
                b[v] = (VT) ((lt & (VI) s) | (~lt & (VI) b[v]));                \
            }                                                                   \
        }                                                                       \
        for (int v = 0; v < LVM_TILE_VECTORS; v++) {                            \
            *(VTU *) (best + i0 + v * (W)) = b[v];                              \
            *(VTU *) (second + i0 + v * (W)) = b2[v];                           \
            *(VTU *) (lab + i0 + v * (W)) = l[v];                               \
        }                                                                       \
    }                                                                           \
    for (ptrdiff_t i = i0; i < n; i++) {                                        \
        T bi = scores[i] + offset[0], b2i = (T) __builtin_inf(), li = 0;        \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const T s = scores[k * n + i] + offset[k];                          \
            if (s < bi) { b2i = bi; bi = s; li = (T) k; }                       \
            else if (s < b2i) b2i = s;                                          \
        }                                                                       \
        best[i] = bi;                                                           \
        second[i] = b2i;                                                        \
        lab[i] = li;                                                            \
    }

#define LVM_ARGMIN2_SIGNATURE(T, NAME)                                          \
    static void NAME(const T *restrict scores, const T *restrict offset,        \
                     ptrdiff_t n, ptrdiff_t n_cols, T *restrict best,           \
                     T *restrict second, T *restrict lab)

LVM_INSTANTIATE_D(LVM_ARGMIN2_SIGNATURE, LVM_ARGMIN2_BODY, lvm_argmin2_columns_d,
                  (scores, offset, n, n_cols, best, second, lab))
LVM_INSTANTIATE_F(LVM_ARGMIN2_SIGNATURE, LVM_ARGMIN2_BODY, lvm_argmin2_columns_s,
                  (scores, offset, n, n_cols, best, second, lab))

/* ---- fused distance and argmin (the Lloyd step's assignment) -------------
 * For rows given transposed (rows_t[d * ldn + i], i < n, d < n_features;
 * the lanes beyond n up to a whole tile read as zeros) and centers row-major
 * (n_cols x n_features, n_cols a multiple of LVM_NEAREST_CENTERS, padding
 * centers with offset +inf), the scores offset[k] - 2 x_i.c_k: best[i] the
 * smallest, lab[i] its first k, second[i] the runner-up (both kept even
 * where equal). Lanes are rows, so a row's dot products are the same
 * sequential sum over d whatever tile it lands in (a row's scores and label
 * never depend on its neighbours), and the argmin is the lane-wise
 * compare-select of lvm_argmin2_columns: no n x K scores in memory, no gemm
 * packing. A tile is LVM_NEAREST_ROW_VECTORS(W) vectors of rows against
 * LVM_NEAREST_CENTERS centers held in registers; outputs are written for
 * whole tiles (room for n rounded up to 2 * W lanes). */
#define LVM_NEAREST_CENTERS 8
#define LVM_NEAREST_ROW_VECTORS(T, W) ((W) * sizeof(T) >= 64 ? 2 : 1)
#define LVM_NEAREST2_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                         \
    enum { RV = LVM_NEAREST_ROW_VECTORS(T, W), CT = LVM_NEAREST_CENTERS };      \
    const VT inf = (VT) {0} + (T) __builtin_inf();                              \
    const ptrdiff_t n_tiles = (n + RV * (W) - 1) / (RV * (W));                  \
    const ptrdiff_t n_center_tiles = n_cols / CT;                               \
    const ptrdiff_t ahead_lines = (ahead_bytes / 64 + n_tiles * n_center_tiles - 1) / (n_tiles * n_center_tiles); \
    ptrdiff_t ahead_at = 0;                                                     \
    for (ptrdiff_t i0 = 0; i0 < n; i0 += RV * (W)) {                            \
        VT b[RV], b2[RV], l[RV];                                                \
        for (int v = 0; v < RV; v++) { b[v] = inf; b2[v] = inf; l[v] = (VT) {0}; } \
        for (ptrdiff_t k0 = 0; k0 < n_cols; k0 += CT) {                         \
            for (ptrdiff_t line = 0; line < ahead_lines && ahead_at < ahead_bytes; line++, ahead_at += 64) \
                __builtin_prefetch(ahead + ahead_at, 0, 2);                     \
            const T *ck = centers + k0 * n_features;                            \
            VT acc[RV][CT];                                                     \
            for (int v = 0; v < RV; v++)                                        \
                for (int c = 0; c < CT; c++) acc[v][c] = (VT) {0};              \
            for (ptrdiff_t d = 0; d < n_features; d++) {                        \
                VT x[RV];                                                       \
                for (int v = 0; v < RV; v++) x[v] = LOAD(rows_t + d * ldn + i0 + v * (W)); \
                for (int c = 0; c < CT; c++) {                                  \
                    const T cd = ck[c * n_features + d];                        \
                    for (int v = 0; v < RV; v++) acc[v][c] += x[v] * cd;        \
                }                                                               \
            }                                                                   \
            for (int c = 0; c < CT; c++) {                                      \
                const VT off = (VT) {0} + offset[k0 + c];                       \
                const VT kk = (VT) {0} + (T) (k0 + c);                          \
                for (int v = 0; v < RV; v++) {                                  \
                    const VT s = off - (acc[v][c] + acc[v][c]);                 \
                    const VI lt = s < b[v];                                     \
                    const VI lt2 = s < b2[v];                                   \
                    const VT runner = (VT) ((lt2 & (VI) s) | (~lt2 & (VI) b2[v])); \
                    b2[v] = (VT) ((lt & (VI) b[v]) | (~lt & (VI) runner));      \
                    l[v] = (VT) ((lt & (VI) kk) | (~lt & (VI) l[v]));           \
                    b[v] = (VT) ((lt & (VI) s) | (~lt & (VI) b[v]));            \
                }                                                               \
            }                                                                   \
        }                                                                       \
        for (int v = 0; v < RV; v++) {                                          \
            *(VTU *) (best + i0 + v * (W)) = b[v];                              \
            *(VTU *) (second + i0 + v * (W)) = b2[v];                           \
            *(VTU *) (lab + i0 + v * (W)) = l[v];                               \
        }                                                                       \
    }

#define LVM_NEAREST2_SIGNATURE(T, NAME)                                          \
    static void NAME(const T *restrict rows_t, ptrdiff_t n, ptrdiff_t ldn,      \
                     ptrdiff_t n_features, const T *restrict centers,           \
                     const T *restrict offset, ptrdiff_t n_cols,                \
                     T *restrict best, T *restrict second, T *restrict lab,     \
                     const char *ahead, ptrdiff_t ahead_bytes)

LVM_INSTANTIATE_F(LVM_NEAREST2_SIGNATURE, LVM_NEAREST2_BODY, lvm_nearest2_s,
                  (rows_t, n, ldn, n_features, centers, offset, n_cols, best, second, lab,
                   ahead, ahead_bytes))

/* A W x W block of float32 transposed in registers by log2(W) rounds of
 * two-source shuffles (rows j and j + b exchange b-element runs), the way a
 * blocked transpose is done without gathers; generated for W = 4, 8, 16.
 * in: W rows at stride ld_in; out: W rows at stride ld_out; *sq += the
 * squares of each input row (lane i: row i). */
static inline void lvm_transpose_block_4(const float *restrict in, ptrdiff_t ld_in,
                                                float *restrict out, ptrdiff_t ld_out, lvm_f4 *sq)
{
    lvm_f4 r[4], t[4];
    for (int j = 0; j < 4; j++) r[j] = *(const lvm_f4u *) (in + j * ld_in);
    for (int j = 0; j < 4; j += 2) for (int h = 0; h < 1; h++) {
        t[j + h] = __builtin_shufflevector(r[j + h], r[j + h + 1], 0, 4, 2, 6);
        t[j + h + 1] = __builtin_shufflevector(r[j + h], r[j + h + 1], 1, 5, 3, 7); }
    for (int j = 0; j < 4; j += 4) for (int h = 0; h < 2; h++) {
        r[j + h] = __builtin_shufflevector(t[j + h], t[j + h + 2], 0, 1, 4, 5);
        r[j + h + 2] = __builtin_shufflevector(t[j + h], t[j + h + 2], 2, 3, 6, 7); }
    for (int j = 0; j < 4; j++) {
        *(lvm_f4u *) (out + j * ld_out) = r[j];
        *sq += r[j] * r[j];
    }
}
LVM_TARGET("avx2") static inline void lvm_transpose_block_8(const float *restrict in, ptrdiff_t ld_in,
                                                float *restrict out, ptrdiff_t ld_out, lvm_f8 *sq)
{
    lvm_f8 r[8], t[8];
    for (int j = 0; j < 8; j++) r[j] = *(const lvm_f8u *) (in + j * ld_in);
    for (int j = 0; j < 8; j += 2) for (int h = 0; h < 1; h++) {
        t[j + h] = __builtin_shufflevector(r[j + h], r[j + h + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[j + h + 1] = __builtin_shufflevector(r[j + h], r[j + h + 1], 1, 9, 3, 11, 5, 13, 7, 15); }
    for (int j = 0; j < 8; j += 4) for (int h = 0; h < 2; h++) {
        r[j + h] = __builtin_shufflevector(t[j + h], t[j + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        r[j + h + 2] = __builtin_shufflevector(t[j + h], t[j + h + 2], 2, 3, 10, 11, 6, 7, 14, 15); }
    for (int j = 0; j < 8; j += 8) for (int h = 0; h < 4; h++) {
        t[j + h] = __builtin_shufflevector(r[j + h], r[j + h + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        t[j + h + 4] = __builtin_shufflevector(r[j + h], r[j + h + 4], 4, 5, 6, 7, 12, 13, 14, 15); }
    for (int j = 0; j < 8; j++) {
        *(lvm_f8u *) (out + j * ld_out) = t[j];
        *sq += t[j] * t[j];
    }
}
LVM_TARGET("avx512f") static inline void lvm_transpose_block_16(const float *restrict in, ptrdiff_t ld_in,
                                                float *restrict out, ptrdiff_t ld_out, lvm_f16 *sq)
{
    lvm_f16 r[16], t[16];
    for (int j = 0; j < 16; j++) r[j] = *(const lvm_f16u *) (in + j * ld_in);
    for (int j = 0; j < 16; j += 2) for (int h = 0; h < 1; h++) {
        t[j + h] = __builtin_shufflevector(r[j + h], r[j + h + 1], 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
        t[j + h + 1] = __builtin_shufflevector(r[j + h], r[j + h + 1], 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31); }
    for (int j = 0; j < 16; j += 4) for (int h = 0; h < 2; h++) {
        r[j + h] = __builtin_shufflevector(t[j + h], t[j + h + 2], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        r[j + h + 2] = __builtin_shufflevector(t[j + h], t[j + h + 2], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31); }
    for (int j = 0; j < 16; j += 8) for (int h = 0; h < 4; h++) {
        t[j + h] = __builtin_shufflevector(r[j + h], r[j + h + 4], 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        t[j + h + 4] = __builtin_shufflevector(r[j + h], r[j + h + 4], 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31); }
    for (int j = 0; j < 16; j += 16) for (int h = 0; h < 8; h++) {
        r[j + h] = __builtin_shufflevector(t[j + h], t[j + h + 8], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        r[j + h + 8] = __builtin_shufflevector(t[j + h], t[j + h + 8], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); }
    for (int j = 0; j < 16; j++) {
        *(lvm_f16u *) (out + j * ld_out) = r[j];
        *sq += r[j] * r[j];
    }
}

/* rows_t[d * ldn + i] = x[i * n_features + d] for i < n, and 0 for
 * n <= i < ldn (the tile padding of lvm_nearest2_s); row_sq[i] = ||x_i||^2
 * (summed in float32, in any order: it only scales a bound that has 1% to
 * spare). Whole W x W blocks go through the register transpose above; the
 * ragged edges are copied one element at a time. */
#define LVM_TRANSPOSE_ROWS_BODY(VT, VTU, W)                                     \
    ptrdiff_t i0 = 0;                                                           \
    for (; i0 + (W) <= n; i0 += (W)) {                                          \
        VT sq = (VT) {0};                                                       \
        ptrdiff_t d0 = 0;                                                       \
        for (; d0 + (W) <= n_features; d0 += (W))                               \
            lvm_transpose_block_##W(x + i0 * n_features + d0, n_features,      \
                                    rows_t + d0 * ldn + i0, ldn, &sq);          \
        for (int i = 0; i < (W); i++) {                                         \
            float acc = sq[i];                                                  \
            for (ptrdiff_t d = d0; d < n_features; d++) {                       \
                const float v = x[(i0 + i) * n_features + d];                   \
                rows_t[d * ldn + i0 + i] = v;                                   \
                acc += v * v;                                                   \
            }                                                                   \
            row_sq[i0 + i] = acc;                                               \
        }                                                                       \
    }                                                                           \
    for (ptrdiff_t i = i0; i < n; i++) {                                        \
        float acc = 0.0f;                                                       \
        for (ptrdiff_t d = 0; d < n_features; d++) {                            \
            const float v = x[i * n_features + d];                              \
            rows_t[d * ldn + i] = v;                                            \
            acc += v * v;                                                       \
        }                                                                       \
        row_sq[i] = acc;                                                        \
    }                                                                           \
    for (ptrdiff_t d = 0; d < n_features; d++)                                  \
        for (ptrdiff_t i = n; i < ldn; i++) rows_t[d * ldn + i] = 0.0f;

#define LVM_TRANSPOSE_ROWS_SIGNATURE(T, NAME)                                     \
    static void NAME(const float *restrict x, ptrdiff_t n, ptrdiff_t n_features, \
                     ptrdiff_t ldn, float *restrict rows_t, double *restrict row_sq)
LVM_STAMP(float, LVM_TRANSPOSE_ROWS_SIGNATURE, lvm_transpose_rows_s,
          (x, n, n_features, ldn, rows_t, row_sq), "avx2", "avx512f",
          LVM_TRANSPOSE_ROWS_BODY(lvm_f4, lvm_f4u, 4), LVM_TRANSPOSE_ROWS_BODY(lvm_f8, lvm_f8u, 8),
          LVM_TRANSPOSE_ROWS_BODY(lvm_f16, lvm_f16u, 16))

/* ---- per-group two smallest scores ---------------------------------------
 * For column-major scores (n rows x n_cols) plus offset[k], and group[k] of
 * each column: min1[g * n + i] and min2[g * n + i] become the smallest and
 * second smallest score of row i over the columns of group g (min1, min2
 * start at +inf). Column by column, so each inner loop is contiguous and
 * vectorizes; the scores are formed as (double) score + (double) offset, the
 * way a caller compares against them. */
#define LVM_GROUP_MIN2_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                      \
    for (ptrdiff_t k = 0; k < n_cols; k++) {                                    \
        const T *restrict col = scores + k * n;                                 \
        double *restrict lo = min1 + (ptrdiff_t) group[k] * n;                  \
        double *restrict hi = min2 + (ptrdiff_t) group[k] * n;                  \
        const double o = (double) offset[k];                                    \
        _Pragma("omp simd")                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                     \
            const double v = (double) col[i] + o;                               \
            const double a = lo[i], b = hi[i];                                  \
            hi[i] = v < a ? a : (v < b ? v : b);                                \
            lo[i] = v < a ? v : a;                                              \
        }                                                                       \
    }

#define LVM_GROUP_MIN2_SIGNATURE(T, NAME)                                       \
    static void NAME(const T *restrict scores, const T *restrict offset,        \
                     const int *restrict group, ptrdiff_t n, ptrdiff_t n_cols,  \
                     double *min1, double *min2)

LVM_INSTANTIATE_D(LVM_GROUP_MIN2_SIGNATURE, LVM_GROUP_MIN2_BODY, lvm_group_min2_d,
                  (scores, offset, group, n, n_cols, min1, min2))
LVM_INSTANTIATE_F(LVM_GROUP_MIN2_SIGNATURE, LVM_GROUP_MIN2_BODY, lvm_group_min2_s,
                  (scores, offset, group, n, n_cols, min1, min2))

/* ---- Lloyd rows ------------------------------------------------------------
 * For n rows of the chunk buf with their argmin lab (float-coded): write
 * labels (counting changes), when with_inertia add w ||x - c_label||^2 to
 * *inertia by direct differences, and when sums is not NULL add w x to
 * sums[label] and w to weights[label] (both double). */
#define LVM_LLOYD_ROWS_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                      \
    ptrdiff_t changed = 0;                                                      \
    double total = 0.0;                                                         \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const int l = (int) lab[i];                                             \
        const T *row = buf + i * n_features;                                    \
        const double w = (double) weight[i];                                    \
        if (with_inertia) {                                                     \
            const T *c = centers + l * n_features;                              \
            VT acc = (VT) {0};                                                  \
            ptrdiff_t j = 0;                                                    \
            for (; j + (W) <= n_features; j += (W)) {                           \
                const VT d = LOAD(row + j) - LOAD(c + j);                       \
                acc += d * d;                                                   \
            }                                                                   \
            double s = (double) HSUM(acc);                                      \
            for (; j < n_features; j++) {                                       \
                const double d = (double) row[j] - (double) c[j];               \
                s += d * d;                                                     \
            }                                                                   \
            total += w * s;                                                     \
        }                                                                       \
        if (labels[i] != l) { changed++; labels[i] = l; }                       \
        if (sums != NULL) {                                                     \
            double *restrict srow = sums + l * n_features;                      \
            for (ptrdiff_t k = 0; k < n_features; k++) srow[k] += w * (double) row[k]; \
            weights[l] += w;                                                    \
        }                                                                       \
    }                                                                           \
    *inertia += total;                                                          \
    *n_changed += changed;

#define LVM_LLOYD_ROWS_SIGNATURE(T, NAME)                                       \
    static void NAME(const T *restrict buf, ptrdiff_t n, ptrdiff_t n_features,  \
                     const T *restrict lab, const T *restrict centers,          \
                     const T *restrict weight, int *restrict labels,            \
                     double *restrict sums, double *restrict weights,           \
                     int with_inertia, double *inertia, ptrdiff_t *n_changed)
#define LVM_LLOYD_ROWS_ARGS \
    (buf, n, n_features, lab, centers, weight, labels, sums, weights, with_inertia, inertia, n_changed)

LVM_INSTANTIATE_D(LVM_LLOYD_ROWS_SIGNATURE, LVM_LLOYD_ROWS_BODY, lvm_lloyd_rows_d, LVM_LLOYD_ROWS_ARGS)
LVM_INSTANTIATE_F(LVM_LLOYD_ROWS_SIGNATURE, LVM_LLOYD_ROWS_BODY, lvm_lloyd_rows_s, LVM_LLOYD_ROWS_ARGS)

/* ---- k-means++ potentials --------------------------------------------------
 * dist is column-major (n rows x n_cols) and closest the squared distance to
 * the nearest chosen center. These loops need no explicit lanes: GCC
 * vectorizes them itself (the reduction through omp simd), per ISA clone. */
#define LVM_DEFINE_PP(T, SUFFIX)                                                \
/* pots[t] += sum_i w_i min(closest_i, dist[t * n + i]) */                      \
LVM_BODY void lvm_pp_potentials_##SUFFIX##_body(                             \
        const double *restrict dist, ptrdiff_t n, ptrdiff_t n_cols,             \
        const T *restrict weight, const double *restrict closest,               \
        double *restrict pots)                                                  \
{                                                                               \
    for (ptrdiff_t t = 0; t < n_cols; t++) {                                    \
        const double *restrict col = dist + t * n;                              \
        double s = 0.0;                                                         \
        _Pragma("omp simd reduction(+:s)")                                      \
        for (ptrdiff_t i = 0; i < n; i++)                                       \
            s += (double) weight[i] * (col[i] < closest[i] ? col[i] : closest[i]); \
        pots[t] += s;                                                           \
    }                                                                           \
}                                                                               \
LVM_CLONED_VOID(lvm_pp_potentials_##SUFFIX, (const double *restrict dist, ptrdiff_t n, ptrdiff_t n_cols, const T *restrict weight, const double *restrict closest, double *restrict pots), (dist, n, n_cols, weight, closest, pots)) \
/* Walk the rows in order adding w_i min(closest_i, dist_i) to *partial; return \
 * the first row where *partial reaches target, or -1 (then *last_positive is  \
 * the last row with a positive term, if any). */                               \
static ptrdiff_t lvm_pp_search_##SUFFIX(                                        \
        const double *restrict dist, ptrdiff_t n, const T *restrict weight,     \
        const double *restrict closest, double *partial, double target,         \
        ptrdiff_t *last_positive)                                               \
{                                                                               \
    double s = *partial;                                                        \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const double term = (double) weight[i] * (dist[i] < closest[i] ? dist[i] : closest[i]); \
        s += term;                                                              \
        if (term > 0.0) *last_positive = i;                                     \
        if (s >= target) { *partial = s; return i; }                            \
    }                                                                           \
    *partial = s;                                                               \
    return -1;                                                                  \
}

LVM_DEFINE_PP(double, d)
LVM_DEFINE_PP(float, s)

/* closest = min(closest, dist) elementwise; label = new_label where dist is
 * strictly nearer (ties keep the earlier center, as the argmin would) */
LVM_BODY void lvm_pp_absorb_body(const double *restrict dist, ptrdiff_t n,
                                     double *restrict closest, int *restrict label,
                                     int new_label)
{
    _Pragma("omp simd")
    for (ptrdiff_t i = 0; i < n; i++) {
        const int nearer = dist[i] < closest[i];
        closest[i] = nearer ? dist[i] : closest[i];
        label[i] = nearer ? new_label : label[i];
    }
}
LVM_CLONED_VOID(lvm_pp_absorb, (const double *restrict dist, ptrdiff_t n, double *restrict closest, int *restrict label, int new_label), (dist, n, closest, label, new_label))

/* The rows i (in order) with closest[i] > reach[label[i]], written to rows;
 * returns how many. The others cannot move this pass (see _kmeanspp.pyx). */
LVM_BODY ptrdiff_t lvm_pp_select_body(const double *restrict closest,
                                          const int *restrict label,
                                          const double *restrict reach, ptrdiff_t n,
                                          ptrdiff_t *restrict rows)
{
    ptrdiff_t m = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        rows[m] = i;
        m += closest[i] > reach[label[i]];
    }
    return m;
}
LVM_CLONED(ptrdiff_t, lvm_pp_select, (const double *restrict closest, const int *restrict label, const double *restrict reach, ptrdiff_t n, ptrdiff_t *restrict rows), (closest, label, reach, n, rows))



/* The group lower bounds of one row after the centers moved (k-means with
 * bounds): lower[g] = (lower[g] - drop[g]) (1 - 2^-22), or 0 below FLT_MIN;
 * returns the smallest. drop is rounded up by the caller; a float
 * subtraction errs by at most 2^-24 of its result, so the factor keeps the
 * result below the exact difference, and subnormal results (whose error is
 * not relative) become 0: still a lower bound. */
LVM_BODY float lvm_drop_bounds_body(float *restrict lower, const float *restrict drop, ptrdiff_t n)
{
    float least = __builtin_inff();
#pragma omp simd reduction(min : least)
    for (ptrdiff_t g = 0; g < n; g++) {
        float v = (lower[g] - drop[g]) * (1.0f - 0x1p-22f);
        v = v < 0x1p-126f ? 0.0f : v;
        lower[g] = v;
        least = v < least ? v : least;
    }
    return least;
}
LVM_CLONED(float, lvm_drop_bounds, (float *restrict lower, const float *restrict drop, ptrdiff_t n), (lower, drop, n))

/* out = (float) x, elementwise */
LVM_BODY void lvm_narrow_body(const double *restrict x, ptrdiff_t n, float *restrict out)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = (float) x[i];
}
LVM_CLONED_VOID(lvm_narrow, (const double *restrict x, ptrdiff_t n, float *restrict out), (x, n, out))

#endif
