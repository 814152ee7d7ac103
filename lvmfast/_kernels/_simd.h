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
#else  /* other compilers and CPUs: the scalar tail loop does all rows */
LVM_ARGMIN_SIGNATURE(double, lvm_argmin_columns_d) { const ptrdiff_t i0 = 0; for (ptrdiff_t i = i0; i < n; i++) { double bi = scores[i] + offset[0], li = 0; for (ptrdiff_t k = 1; k < n_cols; k++) { const double s = scores[k * n + i] + offset[k]; if (s < bi) { bi = s; li = (double) k; } } best[i] = bi; lab[i] = li; } }
LVM_ARGMIN_SIGNATURE(float, lvm_argmin_columns_s) { const ptrdiff_t i0 = 0; for (ptrdiff_t i = i0; i < n; i++) { float bi = scores[i] + offset[0], li = 0; for (ptrdiff_t k = 1; k < n_cols; k++) { const float s = scores[k * n + i] + offset[k]; if (s < bi) { bi = s; li = (float) k; } } best[i] = bi; lab[i] = li; } }
#endif

/* y += w * x, with x converted to double. */
#define LVM_DEFINE_AXPY(T, SUFFIX)                                              \
LVM_CLONES static void lvm_axpy_##SUFFIX(double w, const T *restrict x,        \
                                         double *restrict y, ptrdiff_t n)       \
{                                                                               \
    _Pragma("omp simd")                                                         \
    for (ptrdiff_t j = 0; j < n; j++) y[j] += w * (double) x[j];               \
}

/* Squared Euclidean distance between two rows, accumulated in double. */
#define LVM_DEFINE_SQDIST(T, SUFFIX)                                            \
LVM_CLONES static double lvm_sq_distance_##SUFFIX(                             \
        const T *restrict a, const T *restrict b, ptrdiff_t n)                  \
{                                                                               \
    double s = 0.0;                                                             \
    _Pragma("omp simd reduction(+:s)")                                          \
    for (ptrdiff_t j = 0; j < n; j++) {                                         \
        const double d = (double) a[j] - (double) b[j];                         \
        s += d * d;                                                             \
    }                                                                           \
    return s;                                                                   \
}

LVM_DEFINE_SQDIST(double, d)
LVM_DEFINE_SQDIST(float, s)
LVM_DEFINE_AXPY(double, d)
LVM_DEFINE_AXPY(float, s)

#endif
