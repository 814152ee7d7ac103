/* Kernel density loops: one query row against a block of training rows,
 * from the block's gemm (or direct differences), fused with the kernel and
 * its (log-)sum. Everything here is double: float32 rows are widened as
 * they are copied into a thread's chunk. */
#ifndef LVMFAST_KDE_H
#define LVMFAST_KDE_H
#include "_gaussian.h"

/* The second half of both log-sum-exps below: *top_out = top and
 * *total_out = sum_j exp(row[j] - top) (0 when top is -inf). */
#define LVM_KDE_EXP_SUM(T, VT, W, LOAD, HSUM)                                   \
    *top_out = top;                                                             \
    if (top == -(T) INFINITY) { *total_out = 0.0; return; }                    \
    VT acc0 = (VT) {0}, acc1 = (VT) {0};                                        \
    j = 0;                                                                      \
    for (; j + 2 * (W) <= n; j += 2 * (W)) {                                    \
        acc0 += lvm_exp_##VT(LOAD(row + j) - top);                              \
        acc1 += lvm_exp_##VT(LOAD(row + j + (W)) - top);                        \
    }                                                                           \
    for (; j + (W) <= n; j += (W)) acc0 += lvm_exp_##VT(LOAD(row + j) - top);   \
    double total = HSUM(acc0 + acc1);                                           \
    for (; j < n; j++) total += exp(row[j] - top);                              \
    *total_out = total;

/* The lanes' maximum, then the tail's */
#define LVM_KDE_TOP(T, W)                                                       \
    T top = -(T) INFINITY;                                                      \
    for (int r = 0; r < (W); r++) top = vtop[r] > top ? vtop[r] : top;

/* v[j] = c[j] + scale * row[j], written back to row; then LVM_KDE_EXP_SUM.
 * The lanes' order depends on the CPU's vector width only. */
#define LVM_KDE_LSE_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                        \
    ptrdiff_t j = 0;                                                            \
    VT vtop = (VT) {0} - (T) INFINITY;                                          \
    for (; j + (W) <= n; j += (W)) {                                            \
        const VT v = LOAD(c + j) + scale * LOAD(row + j);                       \
        *(VTU *) (row + j) = v;                                                 \
        const VI gt = v > vtop;                                                 \
        vtop = (VT) ((gt & (VI) v) | (~gt & (VI) vtop));                        \
    }                                                                           \
    LVM_KDE_TOP(T, W)                                                           \
    for (; j < n; j++) {                                                        \
        const T v = c[j] + scale * row[j];                                      \
        row[j] = v;                                                             \
        top = v > top ? v : top;                                                \
    }                                                                           \
    LVM_KDE_EXP_SUM(T, VT, W, LOAD, HSUM)

#define LVM_KDE_LSE_SIGNATURE(T, NAME)                                          \
    static void NAME(T *restrict row, const T *restrict c, T scale, ptrdiff_t n, \
                     T *restrict top_out, double *restrict total_out)

LVM_INSTANTIATE_D(LVM_KDE_LSE_SIGNATURE, LVM_KDE_LSE_BODY, lvm_kde_lse,
                  (row, c, scale, n, top_out, total_out))

/* As lvm_kde_lse with row[j] = q . t_j formed in the same pass, for few
 * features: the training rows held transposed (t_t[k * ld + j] = t_j[k]),
 * row is scratch of n. One pass over the block for the exponents and their
 * maximum, one for the exps. */
#define LVM_KDE_FEW_BODY(T, VT, VTU, VI, W, LOAD, HSUM)                        \
    ptrdiff_t j = 0;                                                            \
    VT vtop = (VT) {0} - (T) INFINITY;                                          \
    for (; j + (W) <= n; j += (W)) {                                            \
        VT dot = q[0] * LOAD(t_t + j);                                          \
        for (ptrdiff_t k = 1; k < d; k++) dot += q[k] * LOAD(t_t + k * ld + j); \
        const VT v = LOAD(c + j) + scale * dot;                                 \
        *(VTU *) (row + j) = v;                                                 \
        const VI gt = v > vtop;                                                 \
        vtop = (VT) ((gt & (VI) v) | (~gt & (VI) vtop));                        \
    }                                                                           \
    LVM_KDE_TOP(T, W)                                                           \
    for (; j < n; j++) {                                                        \
        T dot = q[0] * t_t[j];                                                  \
        for (ptrdiff_t k = 1; k < d; k++) dot += q[k] * t_t[k * ld + j];        \
        const T v = c[j] + scale * dot;                                         \
        row[j] = v;                                                             \
        top = v > top ? v : top;                                                \
    }                                                                           \
    LVM_KDE_EXP_SUM(T, VT, W, LOAD, HSUM)

#define LVM_KDE_FEW_SIGNATURE(T, NAME)                                          \
    static void NAME(const T *restrict q, const T *restrict t_t, ptrdiff_t ld, ptrdiff_t d, \
                     const T *restrict c, T scale, ptrdiff_t n, T *restrict row, \
                     T *restrict top_out, double *restrict total_out)

LVM_INSTANTIATE_D(LVM_KDE_FEW_SIGNATURE, LVM_KDE_FEW_BODY, lvm_kde_few_lse,
                  (q, t_t, ld, d, c, scale, n, row, top_out, total_out))

/* row[j] = max(q_sq + t_sq[j] - 2 row[j], 0): squared distances from the
 * dot products row[j] = q . t_j by the norm expansion */
LVM_BODY void lvm_kde_expand_body(double *restrict row, double q_sq, const double *restrict t_sq, ptrdiff_t n)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        const double d2 = q_sq + t_sq[j] - 2.0 * row[j];
        row[j] = d2 > 0.0 ? d2 : 0.0;
    }
}
LVM_CLONED_VOID(lvm_kde_expand, (double *restrict row, double q_sq, const double *restrict t_sq, ptrdiff_t n),
                (row, q_sq, t_sq, n))

/* row[j] = ||q - t_j||^2 by direct differences (t: n rows of d, row-major) */
LVM_BODY void lvm_kde_direct_body(const double *restrict q, const double *restrict t, ptrdiff_t d, ptrdiff_t n,
                                  double *restrict row)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        double s = 0.0;
        for (ptrdiff_t k = 0; k < d; k++) {
            const double diff = q[k] - t[j * d + k];
            s += diff * diff;
        }
        row[j] = s;
    }
}
LVM_CLONED_VOID(lvm_kde_direct, (const double *restrict q, const double *restrict t, ptrdiff_t d, ptrdiff_t n,
                                 double *restrict row), (q, t, d, n, row))

/* row[j] = q . t_j for few features, the training rows held transposed
 * (t_t[k * ld + j] = t_j[k]): D multiply-adds per pair in the lanes, where a
 * gemm of inner dimension D <= 4 costs more than its arithmetic */
LVM_BODY void lvm_kde_dots_body(const double *restrict q, const double *restrict t_t, ptrdiff_t ld, ptrdiff_t d,
                                ptrdiff_t n, double *restrict row)
{
    const double q0 = q[0];
    for (ptrdiff_t j = 0; j < n; j++) row[j] = q0 * t_t[j];
    for (ptrdiff_t k = 1; k < d; k++) {
        const double qk = q[k];
        const double *restrict tk = t_t + k * ld;
        for (ptrdiff_t j = 0; j < n; j++) row[j] += qk * tk[j];
    }
}
LVM_CLONED_VOID(lvm_kde_dots, (const double *restrict q, const double *restrict t_t, ptrdiff_t ld, ptrdiff_t d,
                               ptrdiff_t n, double *restrict row), (q, t_t, ld, d, n, row))

/* row[j] = sqrt(row[j]) */
LVM_BODY void lvm_kde_sqrt_body(double *restrict row, ptrdiff_t n)
{
    for (ptrdiff_t j = 0; j < n; j++) row[j] = sqrt(row[j]);
}
LVM_CLONED_VOID(lvm_kde_sqrt, (double *restrict row, ptrdiff_t n), (row, n))

/* The kernels of bounded support, by their codes in lvmfast.neighbors
 * (1 tophat, 2 epanechnikov, 4 linear, 5 cosine): sum_j w[j] k(d_j / h)
 * over the squared distances row[j], k(u) being 1, 1 - u^2, 1 - u,
 * cos(pi u / 2) for u < 1 and 0 beyond. Four running sums. */
LVM_BODY double lvm_kde_bounded_sum_body(const double *restrict row, const double *restrict w, ptrdiff_t n,
                                         int kernel, double h)
{
    const double h2 = h * h, inv_h = 1.0 / h, inv_h2 = 1.0 / h2, half_pi = 1.5707963267948966;
    double s = 0.0;
    if (kernel == 1) {
        for (ptrdiff_t j = 0; j < n; j++) s += row[j] < h2 ? w[j] : 0.0;
    } else if (kernel == 2) {
        for (ptrdiff_t j = 0; j < n; j++) s += row[j] < h2 ? w[j] * (1.0 - row[j] * inv_h2) : 0.0;
    } else if (kernel == 4) {
        for (ptrdiff_t j = 0; j < n; j++) s += row[j] < h2 ? w[j] * (1.0 - sqrt(row[j]) * inv_h) : 0.0;
    } else {
        for (ptrdiff_t j = 0; j < n; j++)
            if (row[j] < h2) s += w[j] * cos(half_pi * sqrt(row[j]) * inv_h);
    }
    return s;
}
LVM_CLONED(double, lvm_kde_bounded_sum, (const double *restrict row, const double *restrict w, ptrdiff_t n,
                                         int kernel, double h), (row, w, n, kernel, h))

#endif
