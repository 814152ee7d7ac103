/* Inner loops that must vectorize. GCC builds each for AVX-512, AVX2 and
 * baseline x86-64 and picks one at load time, so a release wheel runs on any
 * x86-64 yet uses the wide units where they exist. The choice depends on the
 * CPU only, never on the thread count, so results stay deterministic. */
#ifndef LVMFAST_SIMD_H
#define LVMFAST_SIMD_H
#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define LVM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LVM_CLONES
#endif

/* ---- argmin over columns -------------------------------------------------
 * best[i] = min_k scores[k * n + i] + offset[k] and lab[i] its first argmin.
 * A tile of rows keeps its running minimum and label in vector registers
 * across all k, so the compare-select is a blend, never a conditional store.
 * The label is kept in the score's float type so compare and selects share
 * lanes. GCC vector extensions give one body at three widths; the widest the
 * CPU supports is picked once at run time. */
#define LVM_TILE_VECTORS 4

#define LVM_ARGMIN_BODY(T, VT, VTU, VI, W)                                      \
    ptrdiff_t i0 = 0;                                                           \
    for (; i0 + (W) * LVM_TILE_VECTORS <= n; i0 += (W) * LVM_TILE_VECTORS) {    \
        VT b[LVM_TILE_VECTORS], l[LVM_TILE_VECTORS];                            \
        for (int v = 0; v < LVM_TILE_VECTORS; v++) {                            \
            b[v] = *(const VTU *) (scores + i0 + v * (W)) + offset[0];          \
            l[v] = (VT) {0};                                                    \
        }                                                                       \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const T *col = scores + k * n + i0;                                 \
            const T ok = offset[k];                                             \
            const VT kk = (VT) {0} + (T) k;                                     \
            for (int v = 0; v < LVM_TILE_VECTORS; v++) {                        \
                const VT s = *(const VTU *) (col + v * (W)) + ok;               \
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

#if defined(__GNUC__) && defined(__x86_64__)
#define LVM_VEC(T, BYTES, NAME) typedef T NAME __attribute__((vector_size(BYTES)))
#define LVM_VECU(T, BYTES, NAME) \
    typedef T NAME __attribute__((vector_size(BYTES), aligned(sizeof(T))))
LVM_VEC(double, 16, lvm_d2); LVM_VECU(double, 16, lvm_d2u); LVM_VEC(long long, 16, lvm_l2);
LVM_VEC(double, 32, lvm_d4); LVM_VECU(double, 32, lvm_d4u); LVM_VEC(long long, 32, lvm_l4);
LVM_VEC(double, 64, lvm_d8); LVM_VECU(double, 64, lvm_d8u); LVM_VEC(long long, 64, lvm_l8);
LVM_VEC(float, 16, lvm_f4); LVM_VECU(float, 16, lvm_f4u); LVM_VEC(int, 16, lvm_i4);
LVM_VEC(float, 32, lvm_f8); LVM_VECU(float, 32, lvm_f8u); LVM_VEC(int, 32, lvm_i8);
LVM_VEC(float, 64, lvm_f16); LVM_VECU(float, 64, lvm_f16u); LVM_VEC(int, 64, lvm_i16);

LVM_ARGMIN_SIGNATURE(double, lvm_argmin_d_sse2) { LVM_ARGMIN_BODY(double, lvm_d2, lvm_d2u, lvm_l2, 2) }
__attribute__((target("avx2")))
LVM_ARGMIN_SIGNATURE(double, lvm_argmin_d_avx2) { LVM_ARGMIN_BODY(double, lvm_d4, lvm_d4u, lvm_l4, 4) }
__attribute__((target("avx512f")))
LVM_ARGMIN_SIGNATURE(double, lvm_argmin_d_avx512) { LVM_ARGMIN_BODY(double, lvm_d8, lvm_d8u, lvm_l8, 8) }
LVM_ARGMIN_SIGNATURE(float, lvm_argmin_s_sse2) { LVM_ARGMIN_BODY(float, lvm_f4, lvm_f4u, lvm_i4, 4) }
__attribute__((target("avx2")))
LVM_ARGMIN_SIGNATURE(float, lvm_argmin_s_avx2) { LVM_ARGMIN_BODY(float, lvm_f8, lvm_f8u, lvm_i8, 8) }
__attribute__((target("avx512f")))
LVM_ARGMIN_SIGNATURE(float, lvm_argmin_s_avx512) { LVM_ARGMIN_BODY(float, lvm_f16, lvm_f16u, lvm_i16, 16) }

/* 2: AVX-512F, 1: AVX2, 0: baseline. Read once; the answer never changes. */
static int lvm_cpu_level(void)
{
    static int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return level;
}

LVM_ARGMIN_SIGNATURE(double, lvm_argmin_columns_d)
{
    switch (lvm_cpu_level()) {
    case 2: lvm_argmin_d_avx512(scores, offset, n, n_cols, best, lab); break;
    case 1: lvm_argmin_d_avx2(scores, offset, n, n_cols, best, lab); break;
    default: lvm_argmin_d_sse2(scores, offset, n, n_cols, best, lab);
    }
}
LVM_ARGMIN_SIGNATURE(float, lvm_argmin_columns_s)
{
    switch (lvm_cpu_level()) {
    case 2: lvm_argmin_s_avx512(scores, offset, n, n_cols, best, lab); break;
    case 1: lvm_argmin_s_avx2(scores, offset, n, n_cols, best, lab); break;
    default: lvm_argmin_s_sse2(scores, offset, n, n_cols, best, lab);
    }
}

/* ---- argmin with the runner-up ---------------------------------------------
 * As lvm_argmin_columns_s, and second[i] = the second smallest score. The
 * float64 Lloyd step runs its distance gemm in float32 and needs the gap
 * between the two to prove a label (see lloyd_step). */
#define LVM_ARGMIN2_BODY(VT, VTU, VI, W)                                        \
    const VT inf = (VT) {0} + __builtin_inff();                                 \
    ptrdiff_t i0 = 0;                                                           \
    for (; i0 + (W) * LVM_TILE_VECTORS <= n; i0 += (W) * LVM_TILE_VECTORS) {    \
        VT b[LVM_TILE_VECTORS], b2[LVM_TILE_VECTORS], l[LVM_TILE_VECTORS];      \
        for (int v = 0; v < LVM_TILE_VECTORS; v++) {                            \
            b[v] = *(const VTU *) (scores + i0 + v * (W)) + offset[0];          \
            b2[v] = inf;                                                        \
            l[v] = (VT) {0};                                                    \
        }                                                                       \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const float *col = scores + k * n + i0;                             \
            const float ok = offset[k];                                         \
            const VT kk = (VT) {0} + (float) k;                                 \
            for (int v = 0; v < LVM_TILE_VECTORS; v++) {                        \
                const VT s = *(const VTU *) (col + v * (W)) + ok;               \
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
        float bi = scores[i] + offset[0], b2i = __builtin_inff(), li = 0;       \
        for (ptrdiff_t k = 1; k < n_cols; k++) {                                \
            const float s = scores[k * n + i] + offset[k];                      \
            if (s < bi) { b2i = bi; bi = s; li = (float) k; }                   \
            else if (s < b2i) b2i = s;                                          \
        }                                                                       \
        best[i] = bi;                                                           \
        second[i] = b2i;                                                        \
        lab[i] = li;                                                            \
    }

#define LVM_ARGMIN2_SIGNATURE(NAME)                                             \
    static void NAME(const float *restrict scores, const float *restrict offset,\
                     ptrdiff_t n, ptrdiff_t n_cols, float *restrict best,       \
                     float *restrict second, float *restrict lab)
#define LVM_ARGMIN2_ARGS scores, offset, n, n_cols, best, second, lab

LVM_ARGMIN2_SIGNATURE(lvm_argmin2_s_sse2) { LVM_ARGMIN2_BODY(lvm_f4, lvm_f4u, lvm_i4, 4) }
__attribute__((target("avx2")))
LVM_ARGMIN2_SIGNATURE(lvm_argmin2_s_avx2) { LVM_ARGMIN2_BODY(lvm_f8, lvm_f8u, lvm_i8, 8) }
__attribute__((target("avx512f")))
LVM_ARGMIN2_SIGNATURE(lvm_argmin2_s_avx512) { LVM_ARGMIN2_BODY(lvm_f16, lvm_f16u, lvm_i16, 16) }

LVM_ARGMIN2_SIGNATURE(lvm_argmin2_columns_s)
{
    switch (lvm_cpu_level()) {
    case 2: lvm_argmin2_s_avx512(LVM_ARGMIN2_ARGS); break;
    case 1: lvm_argmin2_s_avx2(LVM_ARGMIN2_ARGS); break;
    default: lvm_argmin2_s_sse2(LVM_ARGMIN2_ARGS);
    }
}

/* ---- squared distances by direct differences --------------------------------
 * dist[t * n + i] = ||x_i - c_t||^2 (a sum of squares, which cannot cancel,
 * so float rows accumulate in float lanes): W lanes, then a tree over them. (An omp-simd reduction here spills the lanes to the
 * stack and adds them serially, once per row and column.) */
#define LVM_PREFETCH_ROWS 8
#define LVM_SQDIST_BODY(T, VT, W, LOAD, HSUM)                                         \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const T *row = x + i * n_features;                                      \
        /* rows stream from memory once; ask for a later one early */          \
        if (i + LVM_PREFETCH_ROWS < n)                                          \
            for (ptrdiff_t j = 0; j < n_features; j += 64 / (ptrdiff_t) sizeof(T)) \
                __builtin_prefetch(row + LVM_PREFETCH_ROWS * n_features + j);   \
        for (ptrdiff_t t = 0; t < n_cols; t++) {                                \
            const T *col = cols + t * n_features;                               \
            VT acc = (VT) {0};                                                  \
            ptrdiff_t j = 0;                                                    \
            for (; j + (W) <= n_features; j += (W)) {                           \
                const VT d = LOAD(row + j) - LOAD(col + j);                     \
                acc += d * d;                                                   \
            }                                                                   \
            double s = (double) HSUM(acc);                                      \
            for (; j < n_features; j++) {                                       \
                const double d = (double) row[j] - (double) col[j];             \
                s += d * d;                                                     \
            }                                                                   \
            dist[t * n + i] = s;                                                \
        }                                                                       \
    }

#define LVM_SQDIST_SIGNATURE(T, NAME)                                           \
    static void NAME(const T *restrict x, ptrdiff_t n, ptrdiff_t n_features,    \
                     const T *restrict cols, ptrdiff_t n_cols,                  \
                     double *restrict dist)

/* Sums of vector lanes by halving; each width calls the next smaller. */
#define LVM_HALVES(v, ...) (__builtin_shufflevector(v, v, __VA_ARGS__))
static inline double lvm_hsum_d2(lvm_d2 v) { return v[0] + v[1]; }
static inline float lvm_hsum_f4(lvm_f4 v) { return (v[0] + v[2]) + (v[1] + v[3]); }
__attribute__((target("avx2"))) static inline double lvm_hsum_d4(lvm_d4 v)
{ return lvm_hsum_d2(LVM_HALVES(v, 0, 1) + LVM_HALVES(v, 2, 3)); }
__attribute__((target("avx2"))) static inline float lvm_hsum_f8(lvm_f8 v)
{ return lvm_hsum_f4(LVM_HALVES(v, 0, 1, 2, 3) + LVM_HALVES(v, 4, 5, 6, 7)); }
__attribute__((target("avx512f"))) static inline double lvm_hsum_d8(lvm_d8 v)
{ return lvm_hsum_d4(LVM_HALVES(v, 0, 1, 2, 3) + LVM_HALVES(v, 4, 5, 6, 7)); }
__attribute__((target("avx512f"))) static inline float lvm_hsum_f16(lvm_f16 v)
{ return lvm_hsum_f8(LVM_HALVES(v, 0, 1, 2, 3, 4, 5, 6, 7) + LVM_HALVES(v, 8, 9, 10, 11, 12, 13, 14, 15)); }

#define LVM_LOAD_D2(p) (*(const lvm_d2u *) (p))
#define LVM_LOAD_D4(p) (*(const lvm_d4u *) (p))
#define LVM_LOAD_D8(p) (*(const lvm_d8u *) (p))
#define LVM_LOAD_S4(p) (*(const lvm_f4u *) (p))
#define LVM_LOAD_S8(p) (*(const lvm_f8u *) (p))
#define LVM_LOAD_S16(p) (*(const lvm_f16u *) (p))

LVM_SQDIST_SIGNATURE(double, lvm_sq_distances_d_sse2) { LVM_SQDIST_BODY(double, lvm_d2, 2, LVM_LOAD_D2, lvm_hsum_d2) }
__attribute__((target("avx2")))
LVM_SQDIST_SIGNATURE(double, lvm_sq_distances_d_avx2) { LVM_SQDIST_BODY(double, lvm_d4, 4, LVM_LOAD_D4, lvm_hsum_d4) }
__attribute__((target("avx512f")))
LVM_SQDIST_SIGNATURE(double, lvm_sq_distances_d_avx512) { LVM_SQDIST_BODY(double, lvm_d8, 8, LVM_LOAD_D8, lvm_hsum_d8) }
LVM_SQDIST_SIGNATURE(float, lvm_sq_distances_s_sse2) { LVM_SQDIST_BODY(float, lvm_f4, 4, LVM_LOAD_S4, lvm_hsum_f4) }
__attribute__((target("avx2")))
LVM_SQDIST_SIGNATURE(float, lvm_sq_distances_s_avx2) { LVM_SQDIST_BODY(float, lvm_f8, 8, LVM_LOAD_S8, lvm_hsum_f8) }
__attribute__((target("avx512f")))
LVM_SQDIST_SIGNATURE(float, lvm_sq_distances_s_avx512) { LVM_SQDIST_BODY(float, lvm_f16, 16, LVM_LOAD_S16, lvm_hsum_f16) }

LVM_SQDIST_SIGNATURE(double, lvm_sq_distances_d)
{
    switch (lvm_cpu_level()) {
    case 2: lvm_sq_distances_d_avx512(x, n, n_features, cols, n_cols, dist); break;
    case 1: lvm_sq_distances_d_avx2(x, n, n_features, cols, n_cols, dist); break;
    default: lvm_sq_distances_d_sse2(x, n, n_features, cols, n_cols, dist);
    }
}
LVM_SQDIST_SIGNATURE(float, lvm_sq_distances_s)
{
    switch (lvm_cpu_level()) {
    case 2: lvm_sq_distances_s_avx512(x, n, n_features, cols, n_cols, dist); break;
    case 1: lvm_sq_distances_s_avx2(x, n, n_features, cols, n_cols, dist); break;
    default: lvm_sq_distances_s_sse2(x, n, n_features, cols, n_cols, dist);
    }
}

/* ---- Lloyd rows ------------------------------------------------------------
 * For n rows of the chunk buf with their argmin lab (float-coded): write
 * labels (counting changes), when with_inertia add w ||x - c_label||^2 to
 * *inertia by direct differences, and when sums is not NULL add w x to
 * sums[label] and w to weights[label] (both double). */
#define LVM_LLOYD_ROWS_BODY(T, VT, W, LOAD, HSUM)                               \
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
    static void NAME(const T *restrict buf, ptrdiff_t n, ptrdiff_t n_features, \
                     const T *restrict lab, const T *restrict centers,          \
                     const T *restrict weight, int *restrict labels,            \
                     double *restrict sums, double *restrict weights,           \
                     int with_inertia, double *inertia, ptrdiff_t *n_changed)
#define LVM_LLOYD_ROWS_ARGS buf, n, n_features, lab, centers, weight, labels, sums, weights, with_inertia, inertia, n_changed

LVM_LLOYD_ROWS_SIGNATURE(double, lvm_lloyd_rows_d_sse2) { LVM_LLOYD_ROWS_BODY(double, lvm_d2, 2, LVM_LOAD_D2, lvm_hsum_d2) }
__attribute__((target("avx2")))
LVM_LLOYD_ROWS_SIGNATURE(double, lvm_lloyd_rows_d_avx2) { LVM_LLOYD_ROWS_BODY(double, lvm_d4, 4, LVM_LOAD_D4, lvm_hsum_d4) }
__attribute__((target("avx512f")))
LVM_LLOYD_ROWS_SIGNATURE(double, lvm_lloyd_rows_d_avx512) { LVM_LLOYD_ROWS_BODY(double, lvm_d8, 8, LVM_LOAD_D8, lvm_hsum_d8) }
LVM_LLOYD_ROWS_SIGNATURE(float, lvm_lloyd_rows_s_sse2) { LVM_LLOYD_ROWS_BODY(float, lvm_f4, 4, LVM_LOAD_S4, lvm_hsum_f4) }
__attribute__((target("avx2")))
LVM_LLOYD_ROWS_SIGNATURE(float, lvm_lloyd_rows_s_avx2) { LVM_LLOYD_ROWS_BODY(float, lvm_f8, 8, LVM_LOAD_S8, lvm_hsum_f8) }
__attribute__((target("avx512f")))
LVM_LLOYD_ROWS_SIGNATURE(float, lvm_lloyd_rows_s_avx512) { LVM_LLOYD_ROWS_BODY(float, lvm_f16, 16, LVM_LOAD_S16, lvm_hsum_f16) }

LVM_LLOYD_ROWS_SIGNATURE(double, lvm_lloyd_rows_d)
{
    switch (lvm_cpu_level()) {
    case 2: lvm_lloyd_rows_d_avx512(LVM_LLOYD_ROWS_ARGS); break;
    case 1: lvm_lloyd_rows_d_avx2(LVM_LLOYD_ROWS_ARGS); break;
    default: lvm_lloyd_rows_d_sse2(LVM_LLOYD_ROWS_ARGS);
    }
}
LVM_LLOYD_ROWS_SIGNATURE(float, lvm_lloyd_rows_s)
{
    switch (lvm_cpu_level()) {
    case 2: lvm_lloyd_rows_s_avx512(LVM_LLOYD_ROWS_ARGS); break;
    case 1: lvm_lloyd_rows_s_avx2(LVM_LLOYD_ROWS_ARGS); break;
    default: lvm_lloyd_rows_s_sse2(LVM_LLOYD_ROWS_ARGS);
    }
}
#else  /* other compilers and CPUs: the scalar tail loop does all rows */
static void lvm_argmin2_columns_s(const float *restrict scores, const float *restrict offset, ptrdiff_t n, ptrdiff_t n_cols, float *restrict best, float *restrict second, float *restrict lab) { for (ptrdiff_t i = 0; i < n; i++) { float bi = scores[i] + offset[0], b2i = __builtin_inff(), li = 0; for (ptrdiff_t k = 1; k < n_cols; k++) { const float s = scores[k * n + i] + offset[k]; if (s < bi) { b2i = bi; bi = s; li = (float) k; } else if (s < b2i) b2i = s; } best[i] = bi; second[i] = b2i; lab[i] = li; } }
LVM_ARGMIN_SIGNATURE(double, lvm_argmin_columns_d) { const ptrdiff_t i0 = 0; for (ptrdiff_t i = i0; i < n; i++) { double bi = scores[i] + offset[0], li = 0; for (ptrdiff_t k = 1; k < n_cols; k++) { const double s = scores[k * n + i] + offset[k]; if (s < bi) { bi = s; li = (double) k; } } best[i] = bi; lab[i] = li; } }
LVM_ARGMIN_SIGNATURE(float, lvm_argmin_columns_s) { const ptrdiff_t i0 = 0; for (ptrdiff_t i = i0; i < n; i++) { float bi = scores[i] + offset[0], li = 0; for (ptrdiff_t k = 1; k < n_cols; k++) { const float s = scores[k * n + i] + offset[k]; if (s < bi) { bi = s; li = (float) k; } } best[i] = bi; lab[i] = li; } }
#define LVM_SQDIST_SCALAR(T, NAME) static void NAME(const T *restrict x, ptrdiff_t n, ptrdiff_t n_features, const T *restrict cols, ptrdiff_t n_cols, double *restrict dist) { for (ptrdiff_t i = 0; i < n; i++) for (ptrdiff_t t = 0; t < n_cols; t++) { double s = 0.0; for (ptrdiff_t j = 0; j < n_features; j++) { const double d = (double) x[i * n_features + j] - (double) cols[t * n_features + j]; s += d * d; } dist[t * n + i] = s; } }
LVM_SQDIST_SCALAR(double, lvm_sq_distances_d)
LVM_SQDIST_SCALAR(float, lvm_sq_distances_s)
#define LVM_LLOYD_ROWS_SCALAR(T, NAME) static void NAME(const T *restrict buf, ptrdiff_t n, ptrdiff_t n_features, const T *restrict lab, const T *restrict centers, const T *restrict weight, int *restrict labels, double *restrict sums, double *restrict weights, int with_inertia, double *inertia, ptrdiff_t *n_changed) { ptrdiff_t changed = 0; double total = 0.0; for (ptrdiff_t i = 0; i < n; i++) { const int l = (int) lab[i]; const T *row = buf + i * n_features; const T *c = centers + l * n_features; double s = 0.0; for (ptrdiff_t j = 0; with_inertia && j < n_features; j++) { const double d = (double) row[j] - (double) c[j]; s += d * d; } const double w = (double) weight[i]; total += w * s; if (labels[i] != l) { changed++; labels[i] = l; } if (sums != NULL) { for (ptrdiff_t k = 0; k < n_features; k++) sums[l * n_features + k] += w * (double) row[k]; weights[l] += w; } } *inertia += total; *n_changed += changed; }
LVM_LLOYD_ROWS_SCALAR(double, lvm_lloyd_rows_d)
LVM_LLOYD_ROWS_SCALAR(float, lvm_lloyd_rows_s)
#endif

/* ---- k-means++ ------------------------------------------------------------
 * dist is column-major (n rows x n_cols): dist[t * n + i] = ||x_i - c_t||^2,
 * by direct differences in double (exact enough to need no centering).
 * closest is the squared distance to the nearest chosen center. */
#define LVM_DEFINE_PP(T, SUFFIX)                                                \
/* pots[t] += sum_i w_i min(closest_i, dist[t * n + i]) */                      \
LVM_CLONES static void lvm_pp_potentials_##SUFFIX(                             \
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

/* closest = min(closest, dist), elementwise */
LVM_CLONES static void lvm_pp_absorb(const double *restrict dist, ptrdiff_t n,
                                     double *restrict closest)
{
    _Pragma("omp simd")
    for (ptrdiff_t i = 0; i < n; i++) closest[i] = dist[i] < closest[i] ? dist[i] : closest[i];
}

LVM_DEFINE_PP(double, d)
LVM_DEFINE_PP(float, s)

/* out = (float) x, elementwise */
LVM_CLONES static void lvm_narrow(const double *restrict x, ptrdiff_t n, float *restrict out)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = (float) x[i];
}

#endif
