/* The nearest of a batch of candidates for a chunk of rows: a register-blocked
 * product fused with the argmin, so no rows x candidates score matrix is
 * written (with D = 32 a gemm spends much of its time storing and rereading
 * scores). Built like _simd.h's loops: for 16-, 32- and 64-byte vectors
 * (baseline, AVX2+FMA, AVX-512), the widest the CPU has picked at run time;
 * the choice depends on the CPU only, never on the thread count.
 *
 * Layout. xt holds the chunk transposed: feature j of row i at xt[j * ld + i],
 * ld a multiple of LVM_NEAREST_ROWS (padding rows are computed and ignored).
 * The candidates come in groups of 4, feature-major within a group:
 * groups[(g * n_features + j) * 4 + u] is -2 times feature j of candidate
 * 4 g + u (exact); a short last group repeats its last candidate.
 * offset[4 g + u] is that candidate's squared norm.
 *
 * Result: for each of the ld rows, best[i] = min over candidates t of
 * offset[t] - 2 x_i . c_t (the sum starts at offset[t]), and lab[i] = the
 * first t reaching it (in T, exact below 2^24 candidates). Each tile of 2
 * vectors of rows keeps 8 sums (2 row vectors x 4 candidates) and its
 * running minimum in registers: per feature, 2 loads, 4 broadcasts and 8
 * fused multiply-adds. */
#ifndef LVMFAST_NEAREST_H
#define LVMFAST_NEAREST_H
#include "_core.h"

/* Rows per tile for the widest vectors (2 x 16 floats): ld must be a multiple. */
#define LVM_NEAREST_ROWS 32

#define LVM_NEAREST_BODY(T, VT, VTU, VI, W, LOAD)                               \
    const VT inf = LVM_NEAREST_SPLAT(VT, (T) __builtin_inf());                  \
    for (ptrdiff_t i0 = 0; i0 < ld; i0 += 2 * (W)) {                            \
        VT b0 = inf, b1 = inf, l0 = (VT) {0}, l1 = (VT) {0};                    \
        for (ptrdiff_t g = 0; g < n_groups; g++) {                              \
            const T *o = offset + g * 4;                                        \
            VT a00 = LVM_NEAREST_SPLAT(VT, o[0]), a10 = a00;                    \
            VT a01 = LVM_NEAREST_SPLAT(VT, o[1]), a11 = a01;                    \
            VT a02 = LVM_NEAREST_SPLAT(VT, o[2]), a12 = a02;                    \
            VT a03 = LVM_NEAREST_SPLAT(VT, o[3]), a13 = a03;                    \
            const T *c = groups + g * n_features * 4;                           \
            const T *x = xt + i0;                                               \
            for (ptrdiff_t j = 0; j < n_features; j++, c += 4, x += ld) {       \
                const VT x0 = LOAD(x), x1 = LOAD(x + (W));                      \
                const VT c0 = LVM_NEAREST_SPLAT(VT, c[0]);                      \
                const VT c1 = LVM_NEAREST_SPLAT(VT, c[1]);                      \
                const VT c2 = LVM_NEAREST_SPLAT(VT, c[2]);                      \
                const VT c3 = LVM_NEAREST_SPLAT(VT, c[3]);                      \
                a00 += x0 * c0; a10 += x1 * c0;                                 \
                a01 += x0 * c1; a11 += x1 * c1;                                 \
                a02 += x0 * c2; a12 += x1 * c2;                                 \
                a03 += x0 * c3; a13 += x1 * c3;                                 \
            }                                                                   \
            LVM_NEAREST_FOLD(T, VT, VI, 0, a00, a10)                            \
            LVM_NEAREST_FOLD(T, VT, VI, 1, a01, a11)                            \
            LVM_NEAREST_FOLD(T, VT, VI, 2, a02, a12)                            \
            LVM_NEAREST_FOLD(T, VT, VI, 3, a03, a13)                            \
        }                                                                       \
        *(VTU *) (best + i0) = b0; *(VTU *) (best + i0 + (W)) = b1;             \
        *(VTU *) (lab + i0) = l0; *(VTU *) (lab + i0 + (W)) = l1;               \
    }

/* A scalar in every lane. Subtracting +0 is exact for every value, so the
 * compiler drops it and broadcasts (adding +0 is not: -0 + 0 = +0). */
#define LVM_NEAREST_SPLAT(VT, x) ((x) - (VT) {0})

/* Candidate 4 g + U against the tile's running minimum: strictly smaller
 * scores win, so ties keep the earlier candidate. */
#define LVM_NEAREST_FOLD(T, VT, VI, U, S0, S1)                                  \
    {                                                                           \
        const VT kk = LVM_NEAREST_SPLAT(VT, (T) (g * 4 + (U)));                 \
        const VI lt0 = S0 < b0, lt1 = S1 < b1;                                  \
        l0 = (VT) ((lt0 & (VI) kk) | (~lt0 & (VI) l0));                         \
        b0 = (VT) ((lt0 & (VI) S0) | (~lt0 & (VI) b0));                         \
        l1 = (VT) ((lt1 & (VI) kk) | (~lt1 & (VI) l1));                         \
        b1 = (VT) ((lt1 & (VI) S1) | (~lt1 & (VI) b1));                         \
    }

#define LVM_NEAREST_SIGNATURE(T, NAME)                                          \
    static void NAME(const T *restrict xt, ptrdiff_t ld, ptrdiff_t n_features,  \
                     const T *restrict groups, const T *restrict offset,        \
                     ptrdiff_t n_groups, T *restrict best, T *restrict lab)

/* best and lab are written as whole vectors: they must hold ld entries. */
#if defined(__x86_64__)
#define LVM_NEAREST_INSTANTIATE(T, NAME, V16, V32, V64, U16, U32, U64, I16, I32, I64, W16, W32, W64, L16, L32, L64) \
    LVM_NEAREST_SIGNATURE(T, NAME##_base) { LVM_NEAREST_BODY(T, V16, U16, I16, W16, L16) } \
    __attribute__((target("avx2,fma")))                                         \
    LVM_NEAREST_SIGNATURE(T, NAME##_avx2) { LVM_NEAREST_BODY(T, V32, U32, I32, W32, L32) } \
    __attribute__((target("avx512f,fma")))                                      \
    LVM_NEAREST_SIGNATURE(T, NAME##_avx512) { LVM_NEAREST_BODY(T, V64, U64, I64, W64, L64) } \
    LVM_NEAREST_SIGNATURE(T, NAME) {                                            \
        switch (lvm_cpu_level()) {                                              \
        case 2: NAME##_avx512(xt, ld, n_features, groups, offset, n_groups, best, lab); break; \
        case 1: NAME##_avx2(xt, ld, n_features, groups, offset, n_groups, best, lab); break; \
        default: NAME##_base(xt, ld, n_features, groups, offset, n_groups, best, lab); \
        }                                                                       \
    }
#else
#define LVM_NEAREST_INSTANTIATE(T, NAME, V16, V32, V64, U16, U32, U64, I16, I32, I64, W16, W32, W64, L16, L32, L64) \
    LVM_NEAREST_SIGNATURE(T, NAME) { LVM_NEAREST_BODY(T, V16, U16, I16, W16, L16) }
#endif

LVM_NEAREST_INSTANTIATE(double, lvm_nearest_d, lvm_d2, lvm_d4, lvm_d8, lvm_d2u, lvm_d4u, lvm_d8u,
                        lvm_l2, lvm_l4, lvm_l8, 2, 4, 8, LVM_LOAD_D2, LVM_LOAD_D4, LVM_LOAD_D8)
LVM_NEAREST_INSTANTIATE(float, lvm_nearest_s, lvm_f4, lvm_f8, lvm_f16, lvm_f4u, lvm_f8u, lvm_f16u,
                        lvm_i4, lvm_i8, lvm_i16, 4, 8, 16, LVM_LOAD_F4, LVM_LOAD_F8, LVM_LOAD_F16)

#endif
