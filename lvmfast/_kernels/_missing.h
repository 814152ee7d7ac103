/* Gaussian densities and EM statistics of rows with missing entries (NaN),
 * one row at a time, in double. See _missing.pyx for the pass around them.
 *
 * With the precision Lambda = P P^T (P upper triangular, scikit-learn's
 * precisions_cholesky_) and a row whose features split into observed o and
 * missing m, d0 = x - mu with zeros at m, u = P^T d0 and b = Lambda_mo d_o =
 * (P u)_m:
 *   - the observed marginal's quadratic form is
 *       d_o^T Sigma_oo^-1 d_o = ||u||^2 - b^T A^-1 b,   A = Lambda_mm,
 *   - its log-determinant is log det Sigma_oo = log det Sigma + log det A,
 *   - the missing entries' conditional mean is mu_m - A^-1 b and their
 *     conditional covariance A^-1.
 * A's Cholesky factor (and its inverse) depends on the missingness pattern
 * and the component only: it is kept while consecutive rows share a pattern
 * (the pass orders rows by pattern), so a pattern's rows cost
 * O(D^2 + m D) per component on top of one O(m^3) factorization per run.
 * 'diag' components need no factor: the missing features drop out of the
 * density, their conditional mean is mu_m and their variance 1 / p_m^2. */
#ifndef LVMFAST_MISSING_H
#define LVMFAST_MISSING_H
#include <math.h>
#include <stddef.h>

#define LVM_MISSING_FULL 0
#define LVM_MISSING_TIED 1
#define LVM_MISSING_DIAG 2
#define LVM_LOG_2PI 1.8378770664093454836

typedef struct {
    int kind;                   /* LVM_MISSING_FULL, _TIED or _DIAG */
    ptrdiff_t n_features, n_components;
    const double *chol;         /* full: K x D x D, tied: D x D (upper P), diag: K x D (1 / sigma) */
    const double *means;        /* K x D, in the pass's centered frame */
    const double *constants;    /* K: log weight + log det P_k (no 2 pi term) */
    const double *log_chol;     /* diag: K x D, log p (else unused) */
    const double *variances;    /* diag: K x D, 1 / p^2 (else unused) */
} lvm_missing_model;

typedef struct {                /* one thread's scratch, sized for D features and K components */
    ptrdiff_t *observed, *missing, *cached_missing;
    ptrdiff_t n_observed, n_missing, n_cached;   /* n_cached < 0: nothing cached */
    double *delta, *u, *y;      /* D each */
    double *filled, *observed_mask;  /* D each: the row with 0 at missing entries; 1 where observed, else 0 */
    double *dev;                /* K x D: the completed row minus each component's mean */
    double *log_dens;           /* K */
    double *factor;             /* K x D x D (m x m used): lower Cholesky factor of A_k */
    double *cond_cov;           /* K x D x D (m x m used): A_k^-1, or NULL when not wanted */
    double *log_det_factor;     /* K: sum log diag of the factor */
} lvm_missing_scratch;

/* The row's observed and missing features (NaN marks missing); returns
 * whether its pattern is the cached one. */
static int lvm_missing_split(const double *x, lvm_missing_scratch *s, ptrdiff_t n_features)
{
    ptrdiff_t d, n_obs = 0, n_mis = 0;
    for (d = 0; d < n_features; d++) {
        int absent = isnan(x[d]);
        if (absent) s->missing[n_mis++] = d;
        else s->observed[n_obs++] = d;
        s->filled[d] = absent ? 0.0 : x[d];
        s->observed_mask[d] = absent ? 0.0 : 1.0;
    }
    s->n_observed = n_obs;
    s->n_missing = n_mis;
    if (s->n_cached != n_mis) return 0;
    for (d = 0; d < n_mis; d++)
        if (s->cached_missing[d] != s->missing[d]) return 0;
    return 1;
}

/* Factor A = P_m: P_m:^T (lower Cholesky, in place in `f`, m x m) and,
 * when `inv` is not NULL, A^-1 into it. Returns 0, or -1 when A is not
 * positive definite (cannot happen for a positive definite precision,
 * short of rounding). */
static int lvm_missing_factor(const double *P, const ptrdiff_t *mis, ptrdiff_t m, ptrdiff_t D,
                              double *f, double *inv, double *log_det)
{
    ptrdiff_t i, j, l;
    double acc;
    for (i = 0; i < m; i++)
        for (j = 0; j <= i; j++) {
            const double *pi = P + mis[i] * D, *pj = P + mis[j] * D;
            acc = 0.0;
            for (l = mis[i] > mis[j] ? mis[i] : mis[j]; l < D; l++) acc += pi[l] * pj[l];
            f[i * m + j] = acc;
        }
    *log_det = 0.0;
    for (j = 0; j < m; j++) {
        acc = f[j * m + j];
        for (l = 0; l < j; l++) acc -= f[j * m + l] * f[j * m + l];
        if (!(acc > 0.0)) return -1;
        acc = sqrt(acc);
        f[j * m + j] = acc;
        *log_det += log(acc);
        for (i = j + 1; i < m; i++) {
            double v = f[i * m + j];
            for (l = 0; l < j; l++) v -= f[i * m + l] * f[j * m + l];
            f[i * m + j] = v / acc;
        }
    }
    if (inv != NULL) {
        /* A^-1 = R^-T R^-1: column c of R^-1 by forward substitution, then back */
        for (j = 0; j < m; j++) {
            double *col = inv + j * m;     /* row j of A^-1 (symmetric) */
            for (i = 0; i < m; i++) {
                double v = (i == j) ? 1.0 : 0.0;
                for (l = 0; l < i; l++) v -= f[i * m + l] * col[l];
                col[i] = v / f[i * m + i];
            }
            for (i = m - 1; i >= 0; i--) {
                double v = col[i];
                for (l = i + 1; l < m; l++) v -= f[l * m + i] * col[l];
                col[i] = v / f[i * m + i];
            }
        }
    }
    return 0;
}

/* Make the scratch's factors those of the row's pattern (after
 * lvm_missing_split); `same` from the split skips the work. */
static int lvm_missing_prepare(const lvm_missing_model *model, lvm_missing_scratch *s, int same)
{
    ptrdiff_t k, D = model->n_features, m = s->n_missing, n_factors;
    if (same || model->kind == LVM_MISSING_DIAG) {
        s->n_cached = m;
        for (k = 0; k < m; k++) s->cached_missing[k] = s->missing[k];
        return 0;
    }
    n_factors = model->kind == LVM_MISSING_TIED ? 1 : model->n_components;
    for (k = 0; k < n_factors; k++) {
        if (lvm_missing_factor(model->chol + k * D * D, s->missing, m, D, s->factor + k * D * D,
                               s->cond_cov ? s->cond_cov + k * D * D : NULL, s->log_det_factor + k) < 0) {
            s->n_cached = -1;
            return -1;
        }
    }
    s->n_cached = m;
    for (k = 0; k < m; k++) s->cached_missing[k] = s->missing[k];
    return 0;
}

/* log N(x_o | mu_k,o, Sigma_k,oo) + constants_k - log det P_k + log det P_k
 * for every component into s->log_dens, and each component's completed
 * deviation into s->dev. x: the centered row (NaN where missing). */
static void lvm_missing_log_dens(const lvm_missing_model *model, lvm_missing_scratch *s, const double *x)
{
    const ptrdiff_t D = model->n_features, K = model->n_components, m = s->n_missing, n_obs = s->n_observed;
    const ptrdiff_t *mis = s->missing;
    ptrdiff_t k, i, j;
    for (k = 0; k < K; k++) {
        const double *mu = model->means + k * D;
        double *dev = s->dev + k * D, quad = 0.0, log_det;
        if (model->kind == LVM_MISSING_DIAG) {
            /* branch-free, so that the loop vectorizes: the missing entries
               have deviation 0 and add log p to log_det */
            const double *p = model->chol + k * D, *lp = model->log_chol + k * D;
            const double *xf = s->filled, *seen = s->observed_mask;
            log_det = 0.0;
#pragma omp simd reduction(+:quad, log_det)
            for (j = 0; j < D; j++) {
                double v = seen[j] * (xf[j] - mu[j]);
                double q = v * p[j];
                dev[j] = v;
                quad += q * q;
                log_det += (1.0 - seen[j]) * lp[j];
            }
        } else {
            const ptrdiff_t f = model->kind == LVM_MISSING_TIED ? 0 : k;
            const double *P = model->chol + f * D * D, *R = s->factor + f * D * D;
            double *u = s->u, *y = s->y;
            for (j = 0; j < D; j++) {
                double v = x[j] - mu[j];
                s->delta[j] = isnan(v) ? 0.0 : v;
            }
            for (j = 0; j < D; j++) u[j] = 0.0;
            for (i = 0; i < D; i++) {  /* u = P^T d0 = sum_i d0_i P[i, :], P upper: rows as axpys */
                const double *row = P + i * D;
                const double a = s->delta[i];
                if (a == 0.0) continue;
#pragma omp simd
                for (j = i; j < D; j++) u[j] += a * row[j];
            }
#pragma omp simd reduction(+:quad)
            for (j = 0; j < D; j++) quad += u[j] * u[j];
            for (i = 0; i < m; i++) {  /* y = R^-1 b, b = (P u)_m */
                const double *row = P + mis[i] * D;
                double v = 0.0;
#pragma omp simd reduction(+:v)
                for (j = mis[i]; j < D; j++) v += row[j] * u[j];
                for (j = 0; j < i; j++) v -= R[i * m + j] * y[j];
                y[i] = v / R[i * m + i];
                quad -= y[i] * y[i];
            }
            for (i = m - 1; i >= 0; i--) {  /* z = R^-T y; the conditional mean is mu_m - z */
                double v = y[i];
                for (j = i + 1; j < m; j++) v -= R[j * m + i] * y[j];
                y[i] = v / R[i * m + i];
            }
            for (j = 0; j < D; j++) dev[j] = s->delta[j];
            for (i = 0; i < m; i++) dev[mis[i]] = -y[i];
            log_det = s->log_det_factor[f];
        }
        s->log_dens[k] = model->constants[k] - log_det - 0.5 * (double) n_obs * LVM_LOG_2PI - 0.5 * quad;
    }
}

/* Add one row's statistics with weights wr[k] (= w r_k): nk, s1 (the
 * completed row, centered frame), and s2: 'full' sum wr (dev dev^T + C_k)
 * (upper triangle), 'tied' sum wr (xhat xhat^T + C) (upper), 'diag'
 * sum wr (dev^2 + 1 / p^2 at m). */
static void lvm_missing_accumulate(const lvm_missing_model *model, const lvm_missing_scratch *s,
                                   const double *wr, double *nk, double *s1, double *s2)
{
    const ptrdiff_t D = model->n_features, K = model->n_components, m = s->n_missing;
    const ptrdiff_t *mis = s->missing;
    ptrdiff_t k, i, j;
    double total = 0.0;
    for (k = 0; k < K; k++) {
        const double *mu = model->means + k * D, *dev = s->dev + k * D;
        double *s1k = s1 + k * D, w = wr[k];
        if (w == 0.0) continue;
        nk[k] += w;
        total += w;
#pragma omp simd
        for (j = 0; j < D; j++) s1k[j] += w * (mu[j] + dev[j]);
        if (model->kind == LVM_MISSING_DIAG) {
            const double *var = model->variances + k * D, *seen = s->observed_mask;
            double *s2k = s2 + k * D;
#pragma omp simd
            for (j = 0; j < D; j++) s2k[j] += w * (dev[j] * dev[j] + (1.0 - seen[j]) * var[j]);
        } else if (model->kind == LVM_MISSING_FULL) {
            double *s2k = s2 + k * D * D;
            const double *C = s->cond_cov + k * D * D;
            for (i = 0; i < D; i++) {
                double a = w * dev[i];
#pragma omp simd
                for (j = i; j < D; j++) s2k[i * D + j] += a * dev[j];
            }
            for (i = 0; i < m; i++)
                for (j = i; j < m; j++) s2k[mis[i] * D + mis[j]] += w * C[i * m + j];
        } else {
            for (i = 0; i < D; i++) {
                double a = w * (mu[i] + dev[i]);
#pragma omp simd
                for (j = i; j < D; j++) s2[i * D + j] += a * (mu[j] + dev[j]);
            }
        }
    }
    if (model->kind == LVM_MISSING_TIED && total != 0.0)
        for (i = 0; i < m; i++)
            for (j = i; j < m; j++) s2[mis[i] * D + mis[j]] += total * s->cond_cov[i * m + j];
}

#endif
