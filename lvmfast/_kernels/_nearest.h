/* The nearest of a batch of candidates for a chunk of rows: a register-blocked
 * product fused with the argmin, so no rows x candidates score matrix is
 * written (with D = 32 a gemm spends much of its time storing and rereading
 * scores). Built by _core.h's dispatch scheme: for 16-, 32- and 64-byte vectors
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

#define LVM_NEAREST_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                             \
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

/* best and lab are written as whole vectors: they must hold ld entries. The
 * wide builds fuse multiply-adds ("avx2,fma", "avx512f,fma"). */
#define LVM_NEAREST_ARGS (xt, ld, n_features, groups, offset, n_groups, best, lab)
LVM_INSTANTIATE_D_ISA(LVM_NEAREST_SIGNATURE, LVM_NEAREST_BODY, lvm_nearest_d, LVM_NEAREST_ARGS,
                      "avx2,fma", "avx512f,fma")
LVM_INSTANTIATE_F_ISA(LVM_NEAREST_SIGNATURE, LVM_NEAREST_BODY, lvm_nearest_s, LVM_NEAREST_ARGS,
                      "avx2,fma", "avx512f,fma")

#endif
