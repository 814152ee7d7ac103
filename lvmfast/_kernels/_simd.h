/* Inner loops that must vectorize, written with GCC vector extensions (GCC
 * and Clang). On x86-64 each is built for 16-, 32- and 64-byte vectors
 * (baseline, AVX2, AVX-512) and the widest the CPU has is picked at run time,
 * so a release wheel runs on any x86-64 yet uses the wide units where they
 * exist; elsewhere the 16-byte build is used. The choice depends on the CPU
 * only, never on the thread count, so results stay deterministic. */
#ifndef LVMFAST_SIMD_H
#define LVMFAST_SIMD_H
#include <math.h>
#include <stddef.h>

#if !defined(__GNUC__)
#error "lvmfast's kernels need GCC or Clang (vector extensions)"
#endif

#if defined(__x86_64__) && !defined(__clang__) && defined(__linux__)
#define LVM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LVM_CLONES
#endif

/* ---- vector types and helpers --------------------------------------------- */

#define LVM_VEC(T, BYTES, NAME) typedef T NAME __attribute__((vector_size(BYTES)))
#define LVM_VECU(T, BYTES, NAME) \
    typedef T NAME __attribute__((vector_size(BYTES), aligned(sizeof(T))))
/* d: double lanes, f: float lanes, l and i: same-width integer masks, u: unaligned */
LVM_VEC(double, 16, lvm_d2); LVM_VECU(double, 16, lvm_d2u); LVM_VEC(long long, 16, lvm_l2);
LVM_VEC(double, 32, lvm_d4); LVM_VECU(double, 32, lvm_d4u); LVM_VEC(long long, 32, lvm_l4);
LVM_VEC(double, 64, lvm_d8); LVM_VECU(double, 64, lvm_d8u); LVM_VEC(long long, 64, lvm_l8);
LVM_VEC(float, 16, lvm_f4); LVM_VECU(float, 16, lvm_f4u); LVM_VEC(int, 16, lvm_i4);
LVM_VEC(float, 32, lvm_f8); LVM_VECU(float, 32, lvm_f8u); LVM_VEC(int, 32, lvm_i8);
LVM_VEC(float, 64, lvm_f16); LVM_VECU(float, 64, lvm_f16u); LVM_VEC(int, 64, lvm_i16);

#define LVM_LOAD_D2(p) (*(const lvm_d2u *) (p))
#define LVM_LOAD_D4(p) (*(const lvm_d4u *) (p))
#define LVM_LOAD_D8(p) (*(const lvm_d8u *) (p))
#define LVM_LOAD_F4(p) (*(const lvm_f4u *) (p))
#define LVM_LOAD_F8(p) (*(const lvm_f8u *) (p))
#define LVM_LOAD_F16(p) (*(const lvm_f16u *) (p))

/* Sums of vector lanes by halving; each width calls the next smaller. */
#define LVM_HALVES(v, ...) (__builtin_shufflevector(v, v, __VA_ARGS__))
static inline double lvm_hsum_d2(lvm_d2 v) { return v[0] + v[1]; }
static inline float lvm_hsum_f4(lvm_f4 v) { return (v[0] + v[2]) + (v[1] + v[3]); }
#if defined(__x86_64__)
#define LVM_TARGET(ISA) __attribute__((target(ISA)))
#else
#define LVM_TARGET(ISA)
#endif
LVM_TARGET("avx2") static inline double lvm_hsum_d4(lvm_d4 v)
{ return lvm_hsum_d2(LVM_HALVES(v, 0, 1) + LVM_HALVES(v, 2, 3)); }
LVM_TARGET("avx2") static inline float lvm_hsum_f8(lvm_f8 v)
{ return lvm_hsum_f4(LVM_HALVES(v, 0, 1, 2, 3) + LVM_HALVES(v, 4, 5, 6, 7)); }
LVM_TARGET("avx512f") static inline double lvm_hsum_d8(lvm_d8 v)
{ return lvm_hsum_d4(LVM_HALVES(v, 0, 1, 2, 3) + LVM_HALVES(v, 4, 5, 6, 7)); }
LVM_TARGET("avx512f") static inline float lvm_hsum_f16(lvm_f16 v)
{ return lvm_hsum_f8(LVM_HALVES(v, 0, 1, 2, 3, 4, 5, 6, 7) + LVM_HALVES(v, 8, 9, 10, 11, 12, 13, 14, 15)); }

/* The lane sums of four vectors at once, each added in exactly the order its
 * lvm_hsum_* above adds it (so results match bit for bit), but the halving
 * steps are shared: two-source shuffles put the four vectors' halves side by
 * side, so 4 sums cost about as much as 1.5 separate ones. */
#define LVM_SWAP_PAIRS(v, ...) (v + __builtin_shufflevector(v, v, __VA_ARGS__))
static inline void lvm_hsum_d2_x4(lvm_d2 a0, lvm_d2 a1, lvm_d2 a2, lvm_d2 a3, double *out)
{ out[0] = lvm_hsum_d2(a0); out[1] = lvm_hsum_d2(a1); out[2] = lvm_hsum_d2(a2); out[3] = lvm_hsum_d2(a3); }
static inline void lvm_hsum_f4_x4(lvm_f4 a0, lvm_f4 a1, lvm_f4 a2, lvm_f4 a3, double *out)
{
    /* (v0 + v2) + (v1 + v3) for each */
    const lvm_f4 s01 = __builtin_shufflevector(a0, a1, 0, 1, 4, 5) + __builtin_shufflevector(a0, a1, 2, 3, 6, 7);
    const lvm_f4 s23 = __builtin_shufflevector(a2, a3, 0, 1, 4, 5) + __builtin_shufflevector(a2, a3, 2, 3, 6, 7);
    const lvm_f4 f01 = LVM_SWAP_PAIRS(s01, 1, 0, 3, 2), f23 = LVM_SWAP_PAIRS(s23, 1, 0, 3, 2);
    out[0] = f01[0]; out[1] = f01[2]; out[2] = f23[0]; out[3] = f23[2];
}
LVM_TARGET("avx2") static inline void lvm_hsum_d4_x4(lvm_d4 a0, lvm_d4 a1, lvm_d4 a2, lvm_d4 a3, double *out)
{
    const lvm_d4 s01 = __builtin_shufflevector(a0, a1, 0, 1, 4, 5) + __builtin_shufflevector(a0, a1, 2, 3, 6, 7);
    const lvm_d4 s23 = __builtin_shufflevector(a2, a3, 0, 1, 4, 5) + __builtin_shufflevector(a2, a3, 2, 3, 6, 7);
    const lvm_d4 f01 = LVM_SWAP_PAIRS(s01, 1, 0, 3, 2), f23 = LVM_SWAP_PAIRS(s23, 1, 0, 3, 2);
    out[0] = f01[0]; out[1] = f01[2]; out[2] = f23[0]; out[3] = f23[2];
}
LVM_TARGET("avx2") static inline void lvm_hsum_f8_x4(lvm_f8 a0, lvm_f8 a1, lvm_f8 a2, lvm_f8 a3, double *out)
{
    const lvm_f8 s01 = __builtin_shufflevector(a0, a1, 0, 1, 2, 3, 8, 9, 10, 11)
                     + __builtin_shufflevector(a0, a1, 4, 5, 6, 7, 12, 13, 14, 15);
    const lvm_f8 s23 = __builtin_shufflevector(a2, a3, 0, 1, 2, 3, 8, 9, 10, 11)
                     + __builtin_shufflevector(a2, a3, 4, 5, 6, 7, 12, 13, 14, 15);
    const lvm_f8 q = __builtin_shufflevector(s01, s23, 0, 1, 4, 5, 8, 9, 12, 13)
                   + __builtin_shufflevector(s01, s23, 2, 3, 6, 7, 10, 11, 14, 15);
    const lvm_f8 f = LVM_SWAP_PAIRS(q, 1, 0, 3, 2, 5, 4, 7, 6);
    out[0] = f[0]; out[1] = f[2]; out[2] = f[4]; out[3] = f[6];
}
LVM_TARGET("avx512f") static inline void lvm_hsum_d8_x4(lvm_d8 a0, lvm_d8 a1, lvm_d8 a2, lvm_d8 a3, double *out)
{
    const lvm_d8 s01 = __builtin_shufflevector(a0, a1, 0, 1, 2, 3, 8, 9, 10, 11)
                     + __builtin_shufflevector(a0, a1, 4, 5, 6, 7, 12, 13, 14, 15);
    const lvm_d8 s23 = __builtin_shufflevector(a2, a3, 0, 1, 2, 3, 8, 9, 10, 11)
                     + __builtin_shufflevector(a2, a3, 4, 5, 6, 7, 12, 13, 14, 15);
    const lvm_d8 q = __builtin_shufflevector(s01, s23, 0, 1, 4, 5, 8, 9, 12, 13)
                   + __builtin_shufflevector(s01, s23, 2, 3, 6, 7, 10, 11, 14, 15);
    const lvm_d8 f = LVM_SWAP_PAIRS(q, 1, 0, 3, 2, 5, 4, 7, 6);
    out[0] = f[0]; out[1] = f[2]; out[2] = f[4]; out[3] = f[6];
}
LVM_TARGET("avx512f") static inline void lvm_hsum_f16_x4(lvm_f16 a0, lvm_f16 a1, lvm_f16 a2, lvm_f16 a3, double *out)
{
    const lvm_f16 s01 = __builtin_shufflevector(a0, a1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
                      + __builtin_shufflevector(a0, a1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    const lvm_f16 s23 = __builtin_shufflevector(a2, a3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
                      + __builtin_shufflevector(a2, a3, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    const lvm_f16 q = __builtin_shufflevector(s01, s23, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
                    + __builtin_shufflevector(s01, s23, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    const lvm_f16 r = LVM_SWAP_PAIRS(q, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    const lvm_f16 f = LVM_SWAP_PAIRS(r, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    out[0] = f[0]; out[1] = f[4]; out[2] = f[8]; out[3] = f[12];
}

/* ---- one body, three widths ----------------------------------------------
 * A kernel is a BODY(T, VT, VTU, VI, W, LOAD, HSUM) macro (element type,
 * vector type, its unaligned form, the mask type, lanes, load, lane sum) and
 * a SIG(T, NAME) signature macro. LVM_INSTANTIATE_D / _F stamp NAME out for
 * double / float data, ARGS being the call's parenthesized arguments. */
#if defined(__x86_64__)
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
#define LVM_DISPATCH(NAME, ARGS)                                                \
    switch (lvm_cpu_level()) {                                                  \
    case 2: NAME##_avx512 ARGS; break;                                          \
    case 1: NAME##_avx2 ARGS; break;                                            \
    default: NAME##_base ARGS;                                                  \
    }
#define LVM_INSTANTIATE_D(SIG, BODY, NAME, ARGS)                                \
    SIG(double, NAME##_base) { BODY(double, lvm_d2, lvm_d2u, lvm_l2, 2, LVM_LOAD_D2, lvm_hsum_d2) } \
    LVM_TARGET("avx2")                                                          \
    SIG(double, NAME##_avx2) { BODY(double, lvm_d4, lvm_d4u, lvm_l4, 4, LVM_LOAD_D4, lvm_hsum_d4) } \
    LVM_TARGET("avx512f")                                                       \
    SIG(double, NAME##_avx512) { BODY(double, lvm_d8, lvm_d8u, lvm_l8, 8, LVM_LOAD_D8, lvm_hsum_d8) } \
    SIG(double, NAME) { LVM_DISPATCH(NAME, ARGS) }
#define LVM_INSTANTIATE_F(SIG, BODY, NAME, ARGS)                                \
    SIG(float, NAME##_base) { BODY(float, lvm_f4, lvm_f4u, lvm_i4, 4, LVM_LOAD_F4, lvm_hsum_f4) } \
    LVM_TARGET("avx2")                                                          \
    SIG(float, NAME##_avx2) { BODY(float, lvm_f8, lvm_f8u, lvm_i8, 8, LVM_LOAD_F8, lvm_hsum_f8) } \
    LVM_TARGET("avx512f")                                                       \
    SIG(float, NAME##_avx512) { BODY(float, lvm_f16, lvm_f16u, lvm_i16, 16, LVM_LOAD_F16, lvm_hsum_f16) } \
    SIG(float, NAME) { LVM_DISPATCH(NAME, ARGS) }
#else
#define LVM_INSTANTIATE_D(SIG, BODY, NAME, ARGS)                                \
    SIG(double, NAME) { BODY(double, lvm_d2, lvm_d2u, lvm_l2, 2, LVM_LOAD_D2, lvm_hsum_d2) }
#define LVM_INSTANTIATE_F(SIG, BODY, NAME, ARGS)                                \
    SIG(float, NAME) { BODY(float, lvm_f4, lvm_f4u, lvm_i4, 4, LVM_LOAD_F4, lvm_hsum_f4) }
#endif

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
#define LVM_NEAREST_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                         \
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

#define LVM_NEAREST_SIGNATURE(T, NAME)                                          \
    static void NAME(const T *restrict rows_t, ptrdiff_t n, ptrdiff_t ldn,      \
                     ptrdiff_t n_features, const T *restrict centers,           \
                     const T *restrict offset, ptrdiff_t n_cols,                \
                     T *restrict best, T *restrict second, T *restrict lab,     \
                     const char *ahead, ptrdiff_t ahead_bytes)

LVM_INSTANTIATE_F(LVM_NEAREST_SIGNATURE, LVM_NEAREST_BODY, lvm_nearest2_s,
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

#define LVM_TRANSPOSE_ROWS_SIGNATURE(NAME)                                      \
    static void NAME(const float *restrict x, ptrdiff_t n, ptrdiff_t n_features, \
                     ptrdiff_t ldn, float *restrict rows_t, double *restrict row_sq)
LVM_TRANSPOSE_ROWS_SIGNATURE(lvm_transpose_rows_s_base) { LVM_TRANSPOSE_ROWS_BODY(lvm_f4, lvm_f4u, 4) }
#if defined(__x86_64__)
LVM_TARGET("avx2")
LVM_TRANSPOSE_ROWS_SIGNATURE(lvm_transpose_rows_s_avx2) { LVM_TRANSPOSE_ROWS_BODY(lvm_f8, lvm_f8u, 8) }
LVM_TARGET("avx512f")
LVM_TRANSPOSE_ROWS_SIGNATURE(lvm_transpose_rows_s_avx512) { LVM_TRANSPOSE_ROWS_BODY(lvm_f16, lvm_f16u, 16) }
LVM_TRANSPOSE_ROWS_SIGNATURE(lvm_transpose_rows_s)
{ LVM_DISPATCH(lvm_transpose_rows_s, (x, n, n_features, ldn, rows_t, row_sq)) }
#else
LVM_TRANSPOSE_ROWS_SIGNATURE(lvm_transpose_rows_s) { lvm_transpose_rows_s_base(x, n, n_features, ldn, rows_t, row_sq); }
#endif

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

/* ---- k-means++ potentials --------------------------------------------------
 * dist is column-major (n rows x n_cols) and closest the squared distance to
 * the nearest chosen center. These loops need no explicit lanes: GCC
 * vectorizes them itself (the reduction through omp simd), per ISA clone. */
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

LVM_DEFINE_PP(double, d)
LVM_DEFINE_PP(float, s)

/* closest = min(closest, dist) elementwise; label = new_label where dist is
 * strictly nearer (ties keep the earlier center, as the argmin would) */
LVM_CLONES static void lvm_pp_absorb(const double *restrict dist, ptrdiff_t n,
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

/* The rows i (in order) with closest[i] > reach[label[i]], written to rows;
 * returns how many. The others cannot move this pass (see _kmeans.pyx). */
LVM_CLONES static ptrdiff_t lvm_pp_select(const double *restrict closest,
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

/* ---- a chunk's rows -----------------------------------------------------------
 * out[i d + j] = x[i ldx + j] - shift[j]: the per-thread centered chunk that
 * the gemm kernels work on, while the next chunk's rows are prefetched; with
 * square, [x - shift, (x - shift)^2] (2 d
 * wide, the rows of 'diag' by expansion). packed_outer: out[i P + t] =
 * x[i d + a] x[i d + b] over a <= b in row order (P = d (d + 1) / 2). */
#define LVM_DEFINE_ROWS(T, SUFFIX)                                              \
LVM_CLONES static void lvm_center_rows_##SUFFIX(                               \
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
LVM_CLONES static void lvm_packed_outer_##SUFFIX(                              \
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
}
LVM_DEFINE_ROWS(double, d)
LVM_DEFINE_ROWS(float, s)

/* ---- Gaussian mixture loops --------------------------------------------------
 * GCC vectorizes these itself, per ISA clone (the reduction through omp simd). */
#define LVM_DEFINE_GAUSSIAN(T, SUFFIX)                                          \
/* r[i] *= w[i]; returns the sum of the products in double, four running    \
 * sums (one chain of n additions would wait on each one's latency) */         \
LVM_CLONES static double lvm_weigh_sum_##SUFFIX(T *restrict r, const T *restrict w, ptrdiff_t n) \
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
/* out[i d + j] = sqrt(r[i]) (x[i d + j] - m[j]) */                             \
LVM_CLONES static void lvm_scaled_dev_##SUFFIX(                                \
        const T *restrict x, ptrdiff_t n, ptrdiff_t d, const T *restrict r,    \
        const T *restrict m, T *restrict out)                                  \
{                                                                               \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        const T root = (T) sqrt((double) r[i]);                                 \
        for (ptrdiff_t j = 0; j < d; j++)                                       \
            out[i * d + j] = root * (x[i * d + j] - m[j]);                      \
    }                                                                           \
}                                                                               \
/* out[k ld + i] = -||y[i, k d : (k + 1) d] - pm[k]||^2 / 2, y being column-  \
 * major n x K d: rows in the lanes, no horizontal sums */                      \
LVM_CLONES static void lvm_full_log_prob_##SUFFIX(                             \
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
}

LVM_DEFINE_GAUSSIAN(double, d)
LVM_DEFINE_GAUSSIAN(float, s)

/* out[j] += sum_i r[i] (x[i ldx + j] - m[j])^2 (j < d). double: four rows
 * per addition to out (a chain of n additions to the same out[j] would wait
 * on each one's latency). float: a sum of positive terms cannot cancel, so
 * each block of features sums the chunk's rows in float lanes, twice as
 * wide, and adds that to out once. */
LVM_CLONES static void lvm_weighted_sq_dev_d(
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
#define LVM_SQ_DEV_BLOCK 256
LVM_CLONES static void lvm_weighted_sq_dev_s(
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

/* out[k ld + i] = -sum_j p[k d + j] (x[i d + j] - m[k d + j])^2 / 2,
 * by direct differences (the accurate diagonal form, where tiny variances
 * make the gemm expansion lose digits). Lanes hold rows: the chunk is first
 * transposed into xt (xt[j n + i] = x[i d + j]), then each component's
 * column of out accumulates four features per sweep, so there is no
 * horizontal sum per row and component. A sum of positive terms cannot
 * cancel, so float data accumulates in float lanes, twice as wide. */
#define LVM_DEFINE_DIAG_DIRECT(T, SUFFIX)                                       \
LVM_CLONES static void lvm_diag_log_prob_##SUFFIX(                             \
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
}
LVM_DEFINE_DIAG_DIRECT(double, d)
LVM_DEFINE_DIAG_DIRECT(float, s)

/* For labelled rows: nk[c] += w, s1[c] += w x and, when s2 is not NULL,
 * s2[c] += w (x - m[c])^2 elementwise, c being each row's label: the one-hot
 * statistics in O(n d), where the mixture's form costs O(n d K). */
#define LVM_DEFINE_CLASS_MOMENTS(T, SUFFIX)                                     \
LVM_CLONES static void lvm_class_moments_##SUFFIX(                             \
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
}
LVM_DEFINE_CLASS_MOMENTS(double, d)
LVM_DEFINE_CLASS_MOMENTS(float, s)

/* The group lower bounds of one row after the centers moved (k-means with
 * bounds): lower[g] = (lower[g] - drop[g]) (1 - 2^-22), or 0 below FLT_MIN;
 * returns the smallest. drop is rounded up by the caller; a float
 * subtraction errs by at most 2^-24 of its result, so the factor keeps the
 * result below the exact difference, and subnormal results (whose error is
 * not relative) become 0: still a lower bound. */
LVM_CLONES static float lvm_drop_bounds(float *restrict lower, const float *restrict drop, ptrdiff_t n)
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

/* out = (float) x, elementwise */
LVM_CLONES static void lvm_narrow(const double *restrict x, ptrdiff_t n, float *restrict out)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = (float) x[i];
}

#endif
