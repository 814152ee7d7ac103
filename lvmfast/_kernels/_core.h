/* Inner loops that must vectorize, written with GCC vector extensions (GCC
 * and Clang). On x86-64 each is built for 16-, 32- and 64-byte vectors
 * (baseline, AVX2, AVX-512) and the widest the CPU has is picked at run time,
 * so a release wheel runs on any x86-64 yet uses the wide units where they
 * exist; elsewhere the 16-byte build is used. The choice depends on the CPU
 * only, never on the thread count, so results stay deterministic. */
#ifndef LVMFAST_CORE_H
#define LVMFAST_CORE_H
#include <math.h>
#include <stddef.h>

#if !defined(__GNUC__)
#error "lvmfast's kernels need GCC or Clang (vector extensions)"
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

/* 64-byte vectors read from 32-byte aligned rows (the CSR dots' padded centers) */
typedef double lvm_d8a32 __attribute__((vector_size(64), aligned(32)));
typedef float lvm_f16a32 __attribute__((vector_size(64), aligned(32)));

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

/* ---- the dispatch scheme ---------------------------------------------------
 * Every kernel exists as NAME_base (baseline x86-64), NAME_avx2 and
 * NAME_avx512 (built under target attributes), and NAME, which calls the one
 * lvm_cpu_level() picks; elsewhere NAME is the baseline build alone. Two
 * front ends write the three builds from one body:
 * - explicit lanes: a BODY(T, VT, VTU, VI, W, LOAD, HSUM) macro (element type,
 *   vector type, its unaligned form, the mask type, lanes, load, lane sum)
 *   and a SIG(T, NAME) signature macro; LVM_INSTANTIATE_D / _F stamp them
 *   for double / float with 16-, 32- and 64-byte vectors under the targets
 *   "avx2" and "avx512f", ARGS being the call's parenthesized arguments.
 *   LVM_INSTANTIATE_D_ISA / _F_ISA name the two targets instead (a kernel
 *   whose rounding is fused multiply-adds names "avx2,fma").
 * - loops the compiler vectorizes: the body is an LVM_BODY function
 *   NAME_body, and LVM_CLONED(RET, NAME, PARAMS, ARGS) (LVM_CLONED_VOID for
 *   void) stamps three wrappers under "avx2" / "avx512f" that inline it.
 * The choice depends on the CPU only, never on the thread count. */
#define LVM_BODY static inline __attribute__((always_inline))
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
/* RETURN is `return` for a function with a result, empty for void. */
#define LVM_PICK(RETURN, NAME, ARGS)                                            \
    switch (lvm_cpu_level()) {                                                  \
    case 2: RETURN NAME##_avx512 ARGS; break;                                   \
    case 1: RETURN NAME##_avx2 ARGS; break;                                     \
    default: RETURN NAME##_base ARGS;                                           \
    }
#define LVM_STAMP(T, SIG, NAME, ARGS, ISA_AVX2, ISA_AVX512, BASE, AVX2, AVX512) \
    SIG(T, NAME##_base) { BASE }                                                \
    LVM_TARGET(ISA_AVX2)                                                        \
    SIG(T, NAME##_avx2) { AVX2 }                                                \
    LVM_TARGET(ISA_AVX512)                                                      \
    SIG(T, NAME##_avx512) { AVX512 }                                            \
    SIG(T, NAME) { LVM_PICK(, NAME, ARGS) }
#define LVM_STAMP_BODY(RET, NAME, PARAMS, ARGS, RETURN)                        \
    static RET NAME##_base PARAMS { RETURN NAME##_body ARGS; }                  \
    LVM_TARGET("avx2")                                                          \
    static RET NAME##_avx2 PARAMS { RETURN NAME##_body ARGS; }                  \
    LVM_TARGET("avx512f")                                                       \
    static RET NAME##_avx512 PARAMS { RETURN NAME##_body ARGS; }                \
    static RET NAME PARAMS { LVM_PICK(RETURN, NAME, ARGS) }
#else
#define LVM_STAMP(T, SIG, NAME, ARGS, ISA_AVX2, ISA_AVX512, BASE, AVX2, AVX512) \
    SIG(T, NAME) { BASE }
#define LVM_STAMP_BODY(RET, NAME, PARAMS, ARGS, RETURN)                        \
    static RET NAME PARAMS { RETURN NAME##_body ARGS; }
#endif
#define LVM_INSTANTIATE_D_ISA(SIG, BODY, NAME, ARGS, ISA_AVX2, ISA_AVX512)     \
    LVM_STAMP(double, SIG, NAME, ARGS, ISA_AVX2, ISA_AVX512,                    \
              BODY(double, lvm_d2, lvm_d2u, lvm_l2, 2, LVM_LOAD_D2, lvm_hsum_d2), \
              BODY(double, lvm_d4, lvm_d4u, lvm_l4, 4, LVM_LOAD_D4, lvm_hsum_d4), \
              BODY(double, lvm_d8, lvm_d8u, lvm_l8, 8, LVM_LOAD_D8, lvm_hsum_d8))
#define LVM_INSTANTIATE_F_ISA(SIG, BODY, NAME, ARGS, ISA_AVX2, ISA_AVX512)     \
    LVM_STAMP(float, SIG, NAME, ARGS, ISA_AVX2, ISA_AVX512,                     \
              BODY(float, lvm_f4, lvm_f4u, lvm_i4, 4, LVM_LOAD_F4, lvm_hsum_f4), \
              BODY(float, lvm_f8, lvm_f8u, lvm_i8, 8, LVM_LOAD_F8, lvm_hsum_f8), \
              BODY(float, lvm_f16, lvm_f16u, lvm_i16, 16, LVM_LOAD_F16, lvm_hsum_f16))
#define LVM_INSTANTIATE_D(SIG, BODY, NAME, ARGS)                                \
    LVM_INSTANTIATE_D_ISA(SIG, BODY, NAME, ARGS, "avx2", "avx512f")
#define LVM_INSTANTIATE_F(SIG, BODY, NAME, ARGS)                                \
    LVM_INSTANTIATE_F_ISA(SIG, BODY, NAME, ARGS, "avx2", "avx512f")
#define LVM_CLONED(RET, NAME, PARAMS, ARGS) LVM_STAMP_BODY(RET, NAME, PARAMS, ARGS, return)
#define LVM_CLONED_VOID(NAME, PARAMS, ARGS) LVM_STAMP_BODY(void, NAME, PARAMS, ARGS, )

/* A hint to load the cache line at p ahead of its use (GCC and Clang). */
static inline void lvm_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
