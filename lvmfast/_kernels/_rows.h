/* Row loops shared by the kernel families: the argmin over score columns,
 * squared distances by direct differences, and a chunk's centered rows. */
#ifndef LVMFAST_ROWS_H
#define LVMFAST_ROWS_H
#include "_core.h"

/* ---- argmin over columns -------------------------------------------------
 * best[i] = min_k scores[k * n + i] + offset[k] and lab[i] its first argmin.
 * A tile of rows keeps its running minimum and label in vector registers
 * across all k, so the compare-select is a blend, never a conditional store.
 * The label is kept in the score's float type so compare and selects share
 * lanes. */
#define LVM_TILE_VECTORS 4

#define LVM_ARGMIN_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                          \
    ptrdiff_t i0 = 0;                                                           \
    for (; i0 + (W) * LVM_TILE_VECTORS <= n; i0 += (W) * LVM_TILE_VECTORS) {    \
        VT b[LVM_TILE_VECTORS], l[LVM_TILE_VECTORS];                            \
        for (int v = 0; v < LVM_TILE_VECTORS; v++) {                            \
            b[v] = LOAD(scores + i0 + v * (W)) + offset[0];                     \
            l[v] = (VT) {0};                                                    \
        }                                                                       \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const T *col = scores + k * n + i0;                                 \
            const T ok = offset[k];                                             \
            const VT kk = (VT) {0} + (T) k;                                     \
            for (int v = 0; v < LVM_TILE_VECTORS; v++) {                        \
                const VT s = LOAD(col + v * (W)) + ok;                          \
                const VI lt = s < b[v];                                         \
                l[v] = (VT) ((lt & (VI) kk) | (~lt & (VI) l[v]));               \
                b[v] = (VT) ((lt & (VI) s) | (~lt & (VI) b[v]));                \
            }                                                                   \
        }                                                                       \
        for (int v = 0; v < LVM_TILE_VECTORS; v++) {                            \
            *(VTU *) (best + i0 + v * (W)) = b[v];                              \
            *(VTU *) (lab + i0 + v * (W)) = l[v];                               \
        }                                                                       \
    }                                                                           \
    for (ptrdiff_t i = i0; i < n; i++) {                                        \
        T bi = scores[i] + offset[0], li = 0;                                   \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const T s = scores[k * n + i] + offset[k];                          \
            if (s < bi) { bi = s; li = (T) k; }                                 \
        }                                                                       \
        best[i] = bi;                                                           \
        lab[i] = li;                                                            \
    }

#define LVM_ARGMIN_SIGNATURE(T, NAME)                                           \
    static void NAME(const T *restrict scores, const T *restrict offset,        \
                     ptrdiff_t n, ptrdiff_t n_cols, T *restrict best,           \
                     T *restrict lab)

LVM_INSTANTIATE_D(LVM_ARGMIN_SIGNATURE, LVM_ARGMIN_BODY, lvm_argmin_columns_d,
                  (scores, offset, n, n_cols, best, lab))
LVM_INSTANTIATE_F(LVM_ARGMIN_SIGNATURE, LVM_ARGMIN_BODY, lvm_argmin_columns_s,
                  (scores, offset, n, n_cols, best, lab))

/* ---- squared distances by direct differences ------------------------------
 * dist[t * ld + r] = ||x_r - c_t||^2 for n rows r (rows[0..n) when rows is
 * not NULL, else 0..n) and n_cols columns (both with row stride n_features):
 * W lanes, then a tree over the lanes. (An omp-simd reduction here spills the
 * lanes to the stack and adds them serially, once per row and column.) Sums
 * of squares cannot cancel, so float rows use float lanes. Columns go in
 * tiles of 4, each with its own accumulator: one load of the row serves the
 * tile, the independent chains hide the add latency, and the four lane sums
 * share their shuffles (lvm_hsum_*_x4). A short last tile repeats its last
 * column and drops the extra sums; a lone column takes the plain loop. Every
 * sum is formed in the same order either way, so a row's distance does not
 * depend on which other rows or columns share the call. The next rows are
 * prefetched: they stream from memory once. */
#define LVM_PREFETCH_ROWS 8
#define LVM_SQDIST_TAIL(s, row, col, j)                                         \
    for (ptrdiff_t jj_ = (j); jj_ < n_features; jj_++) {                        \
        const double d_ = (double) (row)[jj_] - (double) (col)[jj_];            \
        s += d_ * d_;                                                           \
    }
#define LVM_SQDIST_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                          \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const ptrdiff_t out = rows ? rows[i] : i;                               \
        const T *row = x + out * n_features;                                    \
        if (i + LVM_PREFETCH_ROWS < n) {                                        \
            const T *ahead = x + (rows ? rows[i + LVM_PREFETCH_ROWS] : i + LVM_PREFETCH_ROWS) * n_features; \
            for (ptrdiff_t j = 0; j < n_features; j += 64 / (ptrdiff_t) sizeof(T)) \
                __builtin_prefetch(ahead + j);                                  \
        }                                                                       \
        ptrdiff_t t = 0;                                                        \
        for (; n_cols - t >= 2; t += 4) {                                       \
            const T *col[4];                                                    \
            for (int u = 0; u < 4; u++)                                         \
                col[u] = cols + (t + u < n_cols ? t + u : n_cols - 1) * n_features; \
            VT a0 = (VT) {0}, a1 = (VT) {0}, a2 = (VT) {0}, a3 = (VT) {0};      \
            ptrdiff_t j = 0;                                                    \
            for (; j + (W) <= n_features; j += (W)) {                           \
                const VT r = LOAD(row + j);                                     \
                const VT d0 = r - LOAD(col[0] + j), d1 = r - LOAD(col[1] + j);  \
                const VT d2 = r - LOAD(col[2] + j), d3 = r - LOAD(col[3] + j);  \
                a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3;     \
            }                                                                   \
            double s[4];                                                        \
            HSUM##_x4(a0, a1, a2, a3, s);                                       \
            for (int u = 0; u < 4 && t + u < n_cols; u++) {                     \
                if (j < n_features) { LVM_SQDIST_TAIL(s[u], row, col[u], j) }   \
                dist[(t + u) * ld + out] = s[u];                                \
            }                                                                   \
        }                                                                       \
        for (; t < n_cols; t++) {                                               \
            const T *col = cols + t * n_features;                               \
            VT acc = (VT) {0};                                                  \
            ptrdiff_t j = 0;                                                    \
            for (; j + (W) <= n_features; j += (W)) {                           \
                const VT d = LOAD(row + j) - LOAD(col + j);                     \
                acc += d * d;                                                   \
            }                                                                   \
            double s = (double) HSUM(acc);                                      \
            LVM_SQDIST_TAIL(s, row, col, j)                                     \
            dist[t * ld + out] = s;                                             \
        }                                                                       \
    }

#define LVM_SQDIST_SIGNATURE(T, NAME)                                           \
    static void NAME(const T *restrict x, const ptrdiff_t *restrict rows,       \
                     ptrdiff_t n, ptrdiff_t n_features,                         \
                     const T *restrict cols, ptrdiff_t n_cols,                  \
                     double *restrict dist, ptrdiff_t ld)

LVM_INSTANTIATE_D(LVM_SQDIST_SIGNATURE, LVM_SQDIST_BODY, lvm_sq_distances_d,
                  (x, rows, n, n_features, cols, n_cols, dist, ld))
LVM_INSTANTIATE_F(LVM_SQDIST_SIGNATURE, LVM_SQDIST_BODY, lvm_sq_distances_s,
                  (x, rows, n, n_features, cols, n_cols, dist, ld))

/* ---- a chunk's rows -----------------------------------------------------------
 * out[i d + j] = x[i ldx + j] - shift[j]: the per-thread centered chunk that
 * the gemm kernels work on, while the next chunk's rows are prefetched; with
 * square, [x - shift, (x - shift)^2] (2 d
 * wide, the rows of 'diag' by expansion). packed_outer: out[i P + t] =
 * x[i d + a] x[i d + b] over a <= b in row order (P = d (d + 1) / 2). */
#define LVM_DEFINE_ROWS(T, SUFFIX)                                              \
LVM_BODY void lvm_center_rows_##SUFFIX##_body(                               \
        const T *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t ldx,           \
        const T *restrict shift, int square, T *restrict out)                  \
{                                                                               \
    const ptrdiff_t width = square ? 2 * d : d;                                 \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const T *restrict row = x + i * ldx;                                    \
        T *restrict o = out + i * width;                                        \
        /* the same row of the next chunk, fetched while this one is worked     \
         * on (a prefetch past the end of X is harmless) */                     \
        for (ptrdiff_t b = 0; b < d * (ptrdiff_t) sizeof(T); b += 64)           \
            __builtin_prefetch((const char *) (row + n * ldx) + b);             \
        _Pragma("omp simd")                                                     \
        for (ptrdiff_t j = 0; j < d; j++) o[j] = row[j] - shift[j];             \
        if (square) {                                                           \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t j = 0; j < d; j++) o[d + j] = o[j] * o[j];           \
        }                                                                       \
    }                                                                           \
}                                                                               \
LVM_CLONED_VOID(lvm_center_rows_##SUFFIX, (const T *restrict x, ptrdiff_t n, ptrdiff_t d, ptrdiff_t ldx, const T *restrict shift, int square, T *restrict out), (x, n, d, ldx, shift, square, out)) \
LVM_BODY void lvm_packed_outer_##SUFFIX##_body(                              \
        const T *restrict x, ptrdiff_t n, ptrdiff_t d, T *restrict out)        \
{                                                                               \
    const ptrdiff_t packed = d * (d + 1) / 2;                                   \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const T *restrict row = x + i * d;                                      \
        T *restrict o = out + i * packed;                                       \
        for (ptrdiff_t a = 0; a < d; a++) {                                     \
            const T xa = row[a];                                                \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t b = a; b < d; b++) o[b - a] = xa * row[b];           \
            o += d - a;                                                         \
        }                                                                       \
    }                                                                           \
}                                                                               \
LVM_CLONED_VOID(lvm_packed_outer_##SUFFIX, (const T *restrict x, ptrdiff_t n, ptrdiff_t d, T *restrict out), (x, n, d, out))
LVM_DEFINE_ROWS(double, d)
LVM_DEFINE_ROWS(float, s)

#endif
