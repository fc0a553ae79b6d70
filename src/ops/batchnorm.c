/*
 * Batch normalisation drivers over `count` rows (N*H*W) of `c` channels:
 * train-mode forward (batch statistics, running-statistics update), eval-mode
 * forward, and the train-mode backward, each optionally fused with a ReLU.
 *
 * Channels are handled in groups of RN_BN_GROUP. For each group, the rows are
 * split into RN_BN_CHUNKS fixed chunks (a constant, never the thread count);
 * each chunk's per-channel sums are taken in row order in double, and the
 * chunk sums are added in chunk order, so the statistics are bit-identical for
 * any number of threads. The partial sums live in a small fixed array on the
 * caller's stack: these drivers take no workspace.
 */
#include "ops.h"
#include "../kernels/kernels.h"

/* 64 channels: every ResNet-20 layer (16/32/64 channels) is one group, so a
 * pass reads whole rows; 16 chunks feed up to 16 threads and keep the
 * partial sums (bn_job) at 16 KiB of stack. The group width only decides
 * which channels share a pass: the sums of a channel are the same for any. */
#define RN_BN_GROUP 64
#define RN_BN_CHUNKS 16

typedef struct bn_job {
    const struct rn_kernels *kt;
    size_t count, c, c0, nb;            /* rows, channels, this group's first channel and width */
    const float *x, *dy, *relu_y, *res; /* res: the residual added before the ReLU, or NULL */
    const float *mask_ab;               /* backward without relu_y: the forward's a and b (2 x c) */
    float *y, *dx;
    int32_t relu;
    double shift[RN_BN_GROUP];                            /* train: the sums are taken around it */
    float a[RN_BN_GROUP], b[RN_BN_GROUP], k[RN_BN_GROUP]; /* per-channel coefficients */
    float m[RN_BN_GROUP];                                 /* backward: the saved mean */
    double s1[RN_BN_CHUNKS][RN_BN_GROUP], s2[RN_BN_CHUNKS][RN_BN_GROUP]; /* partial sums */
} bn_job;

static void chunk_rows(size_t count, size_t t, size_t *lo, size_t *hi) {
    *lo = count * t / RN_BN_CHUNKS;
    *hi = count * (t + 1) / RN_BN_CHUNKS;
}

/* Sums of (x - shift) and (x - shift)^2 over one chunk of rows. */
static void stats_task(void *arg, size_t t) {
    bn_job *j = (bn_job *)arg;
    size_t lo, hi;
    chunk_rows(j->count, t, &lo, &hi);
    for (size_t i = 0; i < j->nb; i++) j->s1[t][i] = 0.0, j->s2[t][i] = 0.0;
    j->kt->bn_stats(hi - lo, j->nb, j->x + lo * j->c + j->c0, j->c, j->shift, j->s1[t], j->s2[t]);
}

/* y = x * a + b (then ReLU) over one chunk of rows. */
static void affine_task(void *arg, size_t t) {
    const bn_job *j = (const bn_job *)arg;
    size_t lo, hi;
    chunk_rows(j->count, t, &lo, &hi);
    const size_t off = lo * j->c + j->c0;
    j->kt->bn_apply(hi - lo, j->nb, j->x + off, j->c, j->a, j->b, j->res ? j->res + off : NULL,
                    j->y + off, j->relu ? 1u : 0u);
}

/* The group's apply coefficients into save_ab (a in [0, c), b in [c, 2c)),
 * when asked: the backward pass recomputes the ReLU's mask from them. */
static void save_coefficients(const bn_job *j, float *save_ab) {
    if (!save_ab) return;
    for (size_t i = 0; i < j->nb; i++) {
        save_ab[j->c0 + i] = j->a[i];
        save_ab[j->c + j->c0 + i] = j->b[i];
    }
}

static size_t group_width(size_t c, size_t c0) {
    return c - c0 < RN_BN_GROUP ? c - c0 : RN_BN_GROUP;
}

/* The two sums of the group of channels from c0, taken around center[c0 + i]:
 * stats_task's around the first row (center x: shifting by it keeps
 * E[v^2] - E[v]^2 free of cancellation when |mean| >> std), grad_sums_task's
 * around the saved mean. Each chunk's partial sums, then those added in chunk
 * order; the totals replace s1[0] and s2[0]. */
static void group_sums(const rn_ctx *ctx, bn_job *j, size_t c0, const float *center,
                       void (*task)(void *, size_t)) {
    j->c0 = c0, j->nb = group_width(j->c, c0);
    for (size_t i = 0; i < j->nb; i++) {
        if (task == stats_task)
            j->shift[i] = center[c0 + i];
        else
            j->m[i] = center[c0 + i];
    }
    rn__parallel_for(ctx, RN_BN_CHUNKS, task, j);
    for (size_t i = 0; i < j->nb; i++) {
        double a = 0.0, b = 0.0;
        for (size_t t = 0; t < RN_BN_CHUNKS; t++) a += j->s1[t][i], b += j->s2[t][i];
        j->s1[0][i] = a, j->s2[0][i] = b;
    }
}

void rn__bn_forward_train(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, float momentum, float eps, const float *res, float *y,
                          float *save_mean, float *save_invstd, float *save_ab, int32_t relu) {
    bn_job j;
    j.kt = rn__ctx_kernels(ctx), j.count = count, j.c = c, j.x = x, j.y = y, j.relu = relu;
    j.res = res;
    double mom = (double)momentum, m = (double)count;
    for (size_t c0 = 0; c0 < c; c0 += RN_BN_GROUP) {
        group_sums(ctx, &j, c0, x, stats_task);
        for (size_t i = 0; i < j.nb; i++) {
            size_t ch = c0 + i;
            double s = j.s1[0][i], ss = j.s2[0][i];
            double dm = s / m, var = ss / m - dm * dm;
            if (var < 0.0) var = 0.0;
            double mean = j.shift[i] + dm, invstd = 1.0 / rn_sqrt(var + (double)eps);
            if (save_mean) save_mean[ch] = (float)mean;
            if (save_invstd) save_invstd[ch] = (float)invstd;
            /* PyTorch: normalise with the biased variance, but the running
             * estimate takes the unbiased one */
            if (running_mean)
                running_mean[ch] = (float)((1.0 - mom) * running_mean[ch] + mom * mean);
            if (running_var && count > 1)
                running_var[ch] =
                    (float)((1.0 - mom) * running_var[ch] + mom * var * m / (m - 1.0));
            double sc = (double)gamma[ch] * invstd;
            j.a[i] = (float)sc;
            j.b[i] = (float)((double)beta[ch] - mean * sc);
        }
        save_coefficients(&j, save_ab);
        rn__parallel_for(ctx, RN_BN_CHUNKS, affine_task, &j);
    }
}

void rn__bn_forward_eval(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                         const float *gamma, const float *beta, const float *running_mean,
                         const float *running_var, float eps, const float *res, float *y,
                         int32_t relu) {
    bn_job j;
    j.kt = rn__ctx_kernels(ctx), j.count = count, j.c = c, j.x = x, j.y = y, j.relu = relu;
    j.res = res;
    for (size_t c0 = 0; c0 < c; c0 += RN_BN_GROUP) {
        j.c0 = c0, j.nb = group_width(c, c0);
        for (size_t i = 0; i < j.nb; i++) {
            size_t ch = c0 + i;
            double sc = (double)gamma[ch] / rn_sqrt((double)running_var[ch] + (double)eps);
            j.a[i] = (float)sc;
            j.b[i] = (float)((double)beta[ch] - (double)running_mean[ch] * sc);
        }
        rn__parallel_for(ctx, RN_BN_CHUNKS, affine_task, &j);
    }
}

/* Sums of g and g * (x - mean) over one chunk of rows, g = dy after the
 * fused ReLU's mask (the ReLU passes gradient where its output > 0). */
static void grad_sums_task(void *arg, size_t t) {
    bn_job *j = (bn_job *)arg;
    size_t lo, hi;
    chunk_rows(j->count, t, &lo, &hi);
    const size_t off = lo * j->c + j->c0;
    for (size_t i = 0; i < j->nb; i++) j->s1[t][i] = 0.0, j->s2[t][i] = 0.0;
    const float *ma = j->mask_ab ? j->mask_ab + j->c0 : NULL, *mb = ma ? ma + j->c : NULL;
    j->kt->bn_grad_sums(hi - lo, j->nb, j->x + off, j->dy + off, j->relu_y ? j->relu_y + off : NULL,
                        ma, mb, j->c, j->m, j->s1[t], j->s2[t]);
}

/* dx = a * g - b - k * (x - mean) over one chunk of rows. */
static void grad_input_task(void *arg, size_t t) {
    const bn_job *j = (const bn_job *)arg;
    size_t lo, hi;
    chunk_rows(j->count, t, &lo, &hi);
    const size_t off = lo * j->c + j->c0;
    const float *ma = j->mask_ab ? j->mask_ab + j->c0 : NULL, *mb = ma ? ma + j->c : NULL;
    j->kt->bn_grad_input(hi - lo, j->nb, j->x + off, j->dy + off,
                         j->relu_y ? j->relu_y + off : NULL, ma, mb, j->c, j->m, j->a, j->b, j->k,
                         j->dx + off);
}

void rn__bn_backward(const rn_ctx *ctx, size_t count, size_t c, const float *x, const float *dy,
                     const float *relu_y, const float *mask_ab, const float *gamma,
                     const float *save_mean, const float *save_invstd, float *dx, float *dgamma,
                     float *dbeta) {
    bn_job j;
    j.kt = rn__ctx_kernels(ctx), j.count = count, j.c = c, j.x = x, j.dy = dy;
    j.relu_y = relu_y, j.mask_ab = mask_ab;
    j.dx = dx;
    double m = (double)count;
    for (size_t c0 = 0; c0 < c; c0 += RN_BN_GROUP) {
        group_sums(ctx, &j, c0, save_mean, grad_sums_task);
        /* dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) */
        for (size_t i = 0; i < j.nb; i++) {
            size_t ch = c0 + i;
            double sdy = j.s1[0][i], sdyx = j.s2[0][i];
            double is = save_invstd[ch], sum_dy_xhat = sdyx * is, gi = (double)gamma[ch] * is;
            dgamma[ch] = (float)sum_dy_xhat;
            dbeta[ch] = (float)sdy;
            j.a[i] = (float)gi;
            j.b[i] = (float)(gi * sdy / m);
            j.k[i] = (float)(gi * sum_dy_xhat * is / m);
        }
        rn__parallel_for(ctx, RN_BN_CHUNKS, grad_input_task, &j);
    }
}

/* ---- synchronised batch norm (data-parallel training) -------------------------------
 * The batch is cut into shards of whole images; each shard's sums are taken
 * exactly as the single-shard drivers above take a batch's (RN_BN_CHUNKS
 * fixed chunks of the shard's rows, added in chunk order), so a shard's
 * result does not depend on which process holds it. The caller combines the
 * shards' results in a fixed order (src/nn/plan-dist.c) and hands the global
 * statistics back to the apply and input-gradient drivers below. */

void rn__bn_shard_stats(const rn_ctx *ctx, size_t count, size_t c, const float *x, double *mean,
                        double *m2) {
    bn_job j;
    j.kt = rn__ctx_kernels(ctx), j.count = count, j.c = c, j.x = x;
    double m = (double)count;
    for (size_t c0 = 0; c0 < c; c0 += RN_BN_GROUP) {
        group_sums(ctx, &j, c0, x, stats_task);
        for (size_t i = 0; i < j.nb; i++) {
            double s = j.s1[0][i], ss = j.s2[0][i];
            /* the shard's mean and sum of squared deviations (Chan et al.'s
             * pairwise update combines these without a common shift) */
            double dm = s / m, q = ss - s * dm;
            mean[c0 + i] = j.shift[i] + dm;
            m2[c0 + i] = q < 0.0 ? 0.0 : q;
        }
    }
}

void rn__bn_forward_train_global(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                                 const float *gamma, const float *beta, float *running_mean,
                                 float *running_var, float momentum, float eps, const double *mean,
                                 const double *var, double total_rows, const float *res, float *y,
                                 float *save_mean, float *save_invstd, float *save_ab,
                                 int32_t relu) {
    bn_job j;
    j.kt = rn__ctx_kernels(ctx), j.count = count, j.c = c, j.x = x, j.y = y, j.relu = relu;
    j.res = res;
    double mom = (double)momentum, m = total_rows;
    for (size_t c0 = 0; c0 < c; c0 += RN_BN_GROUP) {
        j.c0 = c0, j.nb = group_width(c, c0);
        for (size_t i = 0; i < j.nb; i++) {
            size_t ch = c0 + i;
            double invstd = 1.0 / rn_sqrt(var[ch] + (double)eps);
            if (save_mean) save_mean[ch] = (float)mean[ch];
            if (save_invstd) save_invstd[ch] = (float)invstd;
            if (running_mean)
                running_mean[ch] = (float)((1.0 - mom) * running_mean[ch] + mom * mean[ch]);
            if (running_var && m > 1.0)
                running_var[ch] =
                    (float)((1.0 - mom) * running_var[ch] + mom * var[ch] * m / (m - 1.0));
            double sc = (double)gamma[ch] * invstd;
            j.a[i] = (float)sc;
            j.b[i] = (float)((double)beta[ch] - mean[ch] * sc);
        }
        save_coefficients(&j, save_ab);
        rn__parallel_for(ctx, RN_BN_CHUNKS, affine_task, &j);
    }
}

void rn__bn_shard_grad_sums(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                            const float *dy, const float *relu_y, const float *mask_ab,
                            const float *save_mean, double *sdy, double *sdyx) {
    bn_job j;
    j.kt = rn__ctx_kernels(ctx), j.count = count, j.c = c, j.x = x, j.dy = dy, j.relu_y = relu_y;
    j.mask_ab = mask_ab;
    for (size_t c0 = 0; c0 < c; c0 += RN_BN_GROUP) {
        group_sums(ctx, &j, c0, save_mean, grad_sums_task);
        for (size_t i = 0; i < j.nb; i++) sdy[c0 + i] = j.s1[0][i], sdyx[c0 + i] = j.s2[0][i];
    }
}

void rn__bn_backward_global(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                            const float *dy, const float *relu_y, const float *mask_ab,
                            const float *gamma, const float *save_mean, const float *save_invstd,
                            const double *sdy, const double *sdyx, double total_rows, float *dx) {
    bn_job j;
    j.kt = rn__ctx_kernels(ctx), j.count = count, j.c = c, j.x = x, j.dy = dy, j.relu_y = relu_y;
    j.mask_ab = mask_ab;
    j.dx = dx;
    double m = total_rows;
    for (size_t c0 = 0; c0 < c; c0 += RN_BN_GROUP) {
        j.c0 = c0, j.nb = group_width(c, c0);
        for (size_t i = 0; i < j.nb; i++) {
            size_t ch = c0 + i;
            j.m[i] = save_mean[ch];
            double is = save_invstd[ch], sum_dy_xhat = sdyx[ch] * is, gi = (double)gamma[ch] * is;
            j.a[i] = (float)gi;
            j.b[i] = (float)(gi * sdy[ch] / m);
            j.k[i] = (float)(gi * sum_dy_xhat * is / m);
        }
        rn__parallel_for(ctx, RN_BN_CHUNKS, grad_input_task, &j);
    }
}
