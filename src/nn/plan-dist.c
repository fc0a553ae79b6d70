/*
 * Data-parallel training steps: the ops of a train program that sum over
 * the batch (batch-norm statistics and their backward sums, weight and bias
 * gradients, the loss) run shard by shard, and the results meet in the
 * fixed pairwise tree that nn.h describes, first over this rank's shards,
 * then over the ranks through the caller's reduction engine. Everything
 * else in a program treats images independently, so a rank can run it on
 * its own images alone and get the bits a single process gets for them,
 * provided it runs the same algorithms: the convolution choices that depend
 * on the batch (Winograd in the backward passes) are made for a shard's
 * images, never for a rank's.
 *
 * Batch-norm statistics go to the engine as per-shard values with every
 * other shard's slots zero: each element then has one non-zero term, so any
 * engine's sum is exact, and every rank combines all shards in tree order
 * itself. Gradients go as this rank's tree value, in buckets as backward
 * produces them (contiguous runs of the model's gradient array), while the
 * layers before them are still being differentiated.
 */
#include "nn-internal.h"

#define DIST_MAX_SHARDS 256

size_t rn__nn_dist_shard_lo(const nn_dist *d, int32_t s) {
    size_t shards = (size_t)d->ranks * (size_t)d->local;
    size_t g = (size_t)d->rank * (size_t)d->local + (size_t)s;
    return d->global_n * g / shards - d->first;
}

void rn__nn_tree_sum_f32(float *const *items, int32_t count, size_t n) {
    for (int32_t step = 1; step < count; step *= 2)
        for (int32_t i = 0; i + step < count; i += 2 * step) {
            float *a = items[i];
            const float *b = items[i + step];
            for (size_t k = 0; k < n; k++) a[k] = a[k] + b[k];
        }
}

double rn__nn_tree_sum_f64(const double *items, int32_t count, size_t stride) {
    double v[DIST_MAX_SHARDS] = {0};
    for (int32_t i = 0; i < count; i++) v[i] = items[(size_t)i * stride];
    for (int32_t step = 1; step < count; step *= 2)
        for (int32_t i = 0; i + step < count; i += 2 * step) v[i] = v[i] + v[i + step];
    return v[0];
}

static void fail(nn_dist *d, int32_t code) {
    if (d->failed) return;
    d->failed = RN_E_IO;
    d->failed_code = code;
}

void rn__nn_dist_wait_all(nn_dist *d) {
    for (int32_t i = 0; i < d->nticket; i++) {
        if (d->failed) break;
        int32_t r = d->wait(d->user, d->tickets[i]);
        if (r) fail(d, r);
    }
    d->nticket = 0;
}

void rn__nn_dist_start(nn_dist *d, void *data, size_t count, int32_t type) {
    if (d->failed || !d->start || count == 0) return;
    if (d->nticket == NN_DIST_MAX_TICKETS) rn__nn_dist_wait_all(d);
    int32_t t = d->start(d->user, data, count, type);
    if (t < 0) {
        fail(d, t);
        return;
    }
    d->tickets[d->nticket++] = t;
}

/* A blocking exchange (batch-norm statistics). */
static void exchange(nn_dist *d, double *data, size_t count) {
    if (d->ranks < 2 || d->failed) return;
    int32_t t = d->start(d->user, data, count, NN_REDUCE_F64);
    if (t < 0) {
        fail(d, t);
        return;
    }
    int32_t r = d->wait(d->user, t);
    if (r) fail(d, r);
}

void rn__nn_dist_flush(nn_dist *d) {
    if (d->bucket_count) rn__nn_dist_start(d, d->bucket_lo, d->bucket_count, NN_REDUCE_F32);
    d->bucket_count = 0;
    d->bucket_lo = NULL;
}

/* A gradient array is final: add it to the bucket (backward produces the
 * model's gradient array from its end towards its start). */
static void grad_ready(nn_dist *d, float *p, size_t n) {
    if (d->ranks < 2 || !p || n == 0) return;
    if (d->bucket_count && p + n == d->bucket_lo) {
        d->bucket_lo = p;
        d->bucket_count += n;
    } else {
        rn__nn_dist_flush(d);
        d->bucket_lo = p;
        d->bucket_count = n;
    }
    if (d->bucket_count >= d->bucket_floats) rn__nn_dist_flush(d);
}

static int32_t total_shards(const nn_dist *d) { return d->ranks * d->local; }

/* Rows (N*H*W) per image of a step over `rows` rows of this rank's batch. */
static size_t rows_per_image(const nn_dist *d, size_t rows) { return rows / d->local_n; }

/* Global rows of shard g. */
static double shard_rows(const nn_dist *d, int32_t g, size_t rpi) {
    size_t shards = (size_t)total_shards(d);
    size_t lo = d->global_n * (size_t)g / shards, hi = d->global_n * ((size_t)g + 1) / shards;
    return (double)((hi - lo) * rpi);
}

static void bn_train(const rn_ctx *ctx, const nn_step *s, const float *x, const float *res,
                     float *y, float *mean, float *invstd, float *ab, nn_dist *d) {
    const nn_bn *bn = s->bn;
    const size_t c = s->c, rpi = rows_per_image(d, s->n);
    const int32_t shards = total_shards(d);
    double *red = d->red;
    rn_memset(red, 0, 2 * (size_t)shards * c * sizeof(double));
    for (int32_t l = 0; l < d->local; l++) {
        size_t lo = rn__nn_dist_shard_lo(d, l), hi = rn__nn_dist_shard_lo(d, l + 1);
        size_t g = (size_t)(d->rank * d->local + l);
        rn__bn_shard_stats(ctx, (hi - lo) * rpi, c, x + lo * rpi * c, red + 2 * g * c,
                           red + (2 * g + 1) * c);
    }
    exchange(d, red, 2 * (size_t)shards * c);
    if (d->failed) return;
    /* the pairwise tree over shards of (rows, mean, sum of squared
     * deviations), each pair joined by Chan, Golub and LeVeque's update */
    double n[DIST_MAX_SHARDS], m[DIST_MAX_SHARDS], q[DIST_MAX_SHARDS];
    for (size_t ch = 0; ch < c; ch++) {
        for (int32_t g = 0; g < shards; g++) {
            n[g] = shard_rows(d, g, rpi);
            m[g] = red[2 * (size_t)g * c + ch];
            q[g] = red[(2 * (size_t)g + 1) * c + ch];
        }
        for (int32_t step = 1; step < shards; step *= 2)
            for (int32_t i = 0; i + step < shards; i += 2 * step) {
                int32_t k = i + step;
                double nn = n[i] + n[k], delta = m[k] - m[i];
                m[i] = m[i] + delta * (n[k] / nn);
                q[i] = q[i] + q[k] + delta * delta * (n[i] * n[k] / nn);
                n[i] = nn;
            }
        red[ch] = m[0];
        red[c + ch] = q[0] / n[0];
    }
    rn__bn_forward_train_global(ctx, s->n, c, x, bn->gamma, bn->beta, bn->mean, bn->var,
                                RN_BN_MOMENTUM, RN_BN_EPS, red, red + c,
                                (double)(d->global_n * rpi), res, y, mean, invstd, ab, s->relu);
}

static void bn_backward(const rn_ctx *ctx, const nn_step *s, const float *x, const float *dy,
                        const float *relu_y, const float *ab, const float *mean,
                        const float *invstd, float *dx, nn_dist *d) {
    const nn_bn *bn = s->bn;
    const size_t c = s->c, rpi = rows_per_image(d, s->n);
    const int32_t shards = total_shards(d);
    double *red = d->red;
    rn_memset(red, 0, 2 * (size_t)shards * c * sizeof(double));
    float *gg[DIST_MAX_SHARDS], *gb[DIST_MAX_SHARDS];
    for (int32_t l = 0; l < d->local; l++) {
        size_t lo = rn__nn_dist_shard_lo(d, l), hi = rn__nn_dist_shard_lo(d, l + 1);
        size_t g = (size_t)(d->rank * d->local + l), off = lo * rpi * c;
        double *sdy = red + 2 * g * c, *sdyx = red + (2 * g + 1) * c;
        rn__bn_shard_grad_sums(ctx, (hi - lo) * rpi, c, x + off, dy + off,
                               relu_y ? relu_y + off : NULL, ab, mean, sdy, sdyx);
        /* this shard's gamma and beta gradients, as a batch of its images
         * would give them */
        gg[l] = l == 0 ? bn->ggamma : d->scratch + (size_t)(l - 1) * 2 * c;
        gb[l] = l == 0 ? bn->gbeta : gg[l] + c;
        for (size_t ch = 0; ch < c; ch++) {
            gg[l][ch] = (float)(sdyx[ch] * (double)invstd[ch]);
            gb[l][ch] = (float)sdy[ch];
        }
    }
    rn__nn_tree_sum_f32(gg, d->local, c);
    rn__nn_tree_sum_f32(gb, d->local, c);
    exchange(d, red, 2 * (size_t)shards * c);
    if (d->failed) return;
    for (size_t ch = 0; ch < c; ch++) {
        double a = rn__nn_tree_sum_f64(red + ch, shards, 2 * c);
        double b = rn__nn_tree_sum_f64(red + c + ch, shards, 2 * c);
        red[ch] = a;
        red[c + ch] = b;
    }
    rn__bn_backward_global(ctx, s->n, c, x, dy, relu_y, ab, bn->gamma, mean, invstd, red, red + c,
                           (double)(d->global_n * rpi), dx);
}

/* Whether a training step's per-call Winograd runs for this pass: the
 * plan's choice, made for this rank's batch, is made again for the
 * smallest shard (global_n / shards images), which is the same for every
 * layout of the same shards. The choice only grows with the batch, so a
 * step that takes Winograd here had it offered (and its workspace) in the
 * plan; a plan's Winograd step can always run the plain algorithm. */
static int shard_winograd(const rn_ctx *ctx, const nn_step *s, int32_t pass, const nn_dist *d) {
    if (s->wmode != NN_W_WINOGRAD_W || !ctx->winograd) return 0;
    rn_conv_desc sd = s->cd;
    sd.n = (int32_t)(d->global_n / (size_t)total_shards(d));
    return rn__conv_choose(ctx, &sd, pass, RN_CONV_USE_TRAIN).algo == RN_CONV_ALGO_WINOGRAD_W;
}

static void conv_backward_weights(const rn_ctx *ctx, const nn_step *s, const float *x,
                                  const float *dy, void *ws, size_t ws_bytes, nn_dist *d) {
    const nn_conv *cv = s->conv;
    const rn_conv_desc *cd = &s->cd;
    const int winograd = shard_winograd(ctx, s, RN_CONV_PASS_BACKWARD_WEIGHTS, d);
    const size_t wn = (size_t)cd->oc * (size_t)cd->kh * (size_t)cd->kw * (size_t)cd->c;
    const size_t in_img = (size_t)cd->h * (size_t)cd->w * (size_t)cd->c;
    const size_t out_img = (size_t)cd->oh * (size_t)cd->ow * (size_t)cd->oc;
    float *items[DIST_MAX_SHARDS];
    for (int32_t l = 0; l < d->local; l++) {
        size_t lo = rn__nn_dist_shard_lo(d, l), hi = rn__nn_dist_shard_lo(d, l + 1);
        rn_conv_desc sd = *cd;
        sd.n = (int32_t)(hi - lo);
        items[l] = l == 0 ? cv->gw : d->scratch + (size_t)(l - 1) * wn;
        size_t need = winograd ? rn__conv_winograd_backward_weights_workspace(&sd)
                               : rn__conv2d_backward_weights_workspace(ctx, &sd);
        if (need > ws_bytes) { /* a shard's shape chose a path needing more (trainer.c says so) */
            if (!d->failed) d->failed = RN_E_INTERNAL;
            return;
        }
        if (winograd)
            rn__conv_winograd_backward_weights(ctx, &sd, x + lo * in_img, dy + lo * out_img,
                                               items[l], ws);
        else
            rn__conv2d_backward_weights(ctx, &sd, x + lo * in_img, dy + lo * out_img, items[l],
                                        NULL, ws);
    }
    rn__nn_tree_sum_f32(items, d->local, wn);
    grad_ready(d, cv->gw, wn);
}

static void linear_backward(const rn_ctx *ctx, const nn_step *s, const float *x, const float *dy,
                            float *dx, void *ws, nn_dist *d) {
    const size_t in = s->c, out = s->oc, wn = in * out;
    float *gw[DIST_MAX_SHARDS], *gb[DIST_MAX_SHARDS];
    for (int32_t l = 0; l < d->local; l++) {
        size_t lo = rn__nn_dist_shard_lo(d, l), hi = rn__nn_dist_shard_lo(d, l + 1);
        gw[l] = l == 0 ? s->fc_gw : d->scratch + (size_t)(l - 1) * (wn + out);
        gb[l] = l == 0 ? s->fc_gb : gw[l] + wn;
        rn__linear_backward(ctx, hi - lo, in, out, x + lo * in, s->fc_w, dy + lo * out,
                            dx ? dx + lo * in : NULL, gw[l], gb[l], ws);
    }
    rn__nn_tree_sum_f32(gw, d->local, wn);
    rn__nn_tree_sum_f32(gb, d->local, out);
    grad_ready(d, s->fc_gb, out);
    grad_ready(d, s->fc_gw, wn);
}

int rn__nn_dist_step(const rn_ctx *ctx, const nn_step *s, float *x, float *x2, float *x3, float *y,
                     float *aux1, float *aux2, float *aux3, void *ws, size_t ws_bytes,
                     const int32_t *labels, nn_dist *d) {
    const int sync = d->sync_bn && total_shards(d) > 1;
    if (d->failed) return 1; /* the step is lost: skip the rest of the pass */
    switch (s->op) {
    case NN_OP_BN_TRAIN:
        if (!sync) return 0;
        bn_train(ctx, s, x, x2, y, aux1, aux2, aux3, d);
        return 1;
    case NN_OP_BN_BWD:
        if (sync)
            bn_backward(ctx, s, x, x2, x3, aux3, aux1, aux2, y, d);
        else
            rn__bn_backward(ctx, s->n, s->c, x, x2, x3, aux3, s->bn->gamma, aux1, aux2, y,
                            s->bn->ggamma, s->bn->gbeta);
        grad_ready(d, s->bn->gbeta, s->c);
        grad_ready(d, s->bn->ggamma, s->c);
        return 1;
    case NN_OP_CONV_BWD_W: conv_backward_weights(ctx, s, x, x2, ws, ws_bytes, d); return 1;
    case NN_OP_CONV_BWD_DATA:
        if (s->wmode != NN_W_WINOGRAD_W || shard_winograd(ctx, s, RN_CONV_PASS_BACKWARD_DATA, d))
            return 0;
        rn__conv2d_backward_data(ctx, &s->cd, x2, s->conv->w, y, ws);
        return 1;
    case NN_OP_LINEAR_BWD: linear_backward(ctx, s, x, x2, y, ws, d); return 1;
    case NN_OP_XENT:
        for (int32_t l = 0; l < d->local; l++) {
            size_t lo = rn__nn_dist_shard_lo(d, l), hi = rn__nn_dist_shard_lo(d, l + 1);
            d->loss[d->rank * d->local + l] =
                rn__softmax_xent_total(ctx, hi - lo, s->c, x + lo * s->c, labels + lo,
                                       y ? y + lo * s->c : NULL, d->global_n);
        }
        return 1;
    default: return 0;
    }
}
