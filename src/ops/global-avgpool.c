/*
 * Global average pooling drivers: y[n, c] = mean over the H*W pixels of
 * image n, and the backward that spreads dy[n, c] / (H*W) over them.
 * Each (image, channel block) sum is one task walking pixels in order in
 * double, so the result does not depend on the thread count.
 */
#include "ops.h"

#define RN_GAP_CBLOCK 16

typedef struct gap_job {
    size_t n, hw, c;
    const float *src;
    float *dst;
} gap_job;

static void gap_forward_task(void *arg, size_t t) {
    const gap_job *j = (const gap_job *)arg;
    size_t cblocks = (j->c + RN_GAP_CBLOCK - 1) / RN_GAP_CBLOCK;
    size_t n = t / cblocks, c0 = (t % cblocks) * RN_GAP_CBLOCK;
    size_t nb = c0 + RN_GAP_CBLOCK < j->c ? RN_GAP_CBLOCK : j->c - c0;
    double acc[RN_GAP_CBLOCK] = {0};
    const float *img = j->src + n * j->hw * j->c + c0;
    for (size_t p = 0; p < j->hw; p++)
        for (size_t i = 0; i < nb; i++) acc[i] += img[p * j->c + i];
    for (size_t i = 0; i < nb; i++) j->dst[n * j->c + c0 + i] = (float)(acc[i] / (double)j->hw);
}

void rn__gap_forward(const rn_ctx *ctx, size_t n, size_t hw, size_t c, const float *x, float *y) {
    gap_job j = {n, hw, c, x, y};
    rn__parallel_for(ctx, n * ((c + RN_GAP_CBLOCK - 1) / RN_GAP_CBLOCK), gap_forward_task, &j);
}

static void gap_backward_task(void *arg, size_t n) {
    const gap_job *j = (const gap_job *)arg;
    const float *g = j->src + n * j->c;
    float *img = j->dst + n * j->hw * j->c;
    float count = (float)j->hw;
    for (size_t p = 0; p < j->hw; p++)
        for (size_t ch = 0; ch < j->c; ch++) img[p * j->c + ch] = g[ch] / count;
}

void rn__gap_backward(const rn_ctx *ctx, size_t n, size_t hw, size_t c, const float *dy,
                      float *dx) {
    gap_job j = {n, hw, c, dy, dx};
    rn__parallel_for(ctx, n, gap_backward_task, &j);
}
