/*
 * Convolution backward-data. A stride-1 convolution (not direct, padding
 * below the kernel) takes the indirect path: dx is the convolution of dy
 * with the flipped, transposed weights (conv2d-indirect.c), with no column
 * buffer. Otherwise, per chunk of output pixels, one GEMM
 * dcol[rows x K] = dy[rows x oc] * W[oc x K], then col2im adds each column
 * back onto the input pixel it was read from. A direct (1x1 / stride 1 /
 * pad 0) convolution's dcol is dx itself. See conv2d-common.h.
 */
#include "conv2d-common.h"

/* Channels per col2im task: tasks own disjoint channel ranges of dx. */
#define RN_CONV_COL2IM_CHANNELS 32

/* A task owns one image of the chunk and one channel range, so no two tasks
 * write the same element, and each element receives its contributions in
 * pixel order then (ky, kx) order whatever the thread count. */
typedef struct col2im_job {
    const rn_conv_desc *d;
    const float *col;
    float *dx;
    size_t r0, rows, first_image, cblocks;
} col2im_job;

static void col2im_task(void *arg, size_t t) {
    const col2im_job *j = (const col2im_job *)arg;
    const rn_conv_desc *d = j->d;
    size_t c = (size_t)d->c, k = rn__conv_k(d), pix = (size_t)d->oh * (size_t)d->ow;
    size_t n = j->first_image + t / j->cblocks, cb = t % j->cblocks;
    size_t c0 = cb * RN_CONV_COL2IM_CHANNELS;
    size_t c1 = c0 + RN_CONV_COL2IM_CHANNELS < c ? c0 + RN_CONV_COL2IM_CHANNELS : c;
    /* this image's output pixels that lie in the chunk */
    size_t g0 = n * pix > j->r0 ? n * pix : j->r0;
    size_t g1 = (n + 1) * pix < j->r0 + j->rows ? (n + 1) * pix : j->r0 + j->rows;
    for (size_t g = g0; g < g1; g++) {
        size_t p = g - n * pix;
        int64_t oy = (int64_t)(p / (size_t)d->ow), ox = (int64_t)(p % (size_t)d->ow);
        const float *src = j->col + (g - j->r0) * k;
        for (int64_t ky = 0; ky < d->kh; ky++) {
            int64_t iy = oy * d->sh - d->ph + ky;
            if (iy < 0 || iy >= d->h) continue;
            float *row = j->dx + ((n * (size_t)d->h + (size_t)iy) * (size_t)d->w) * c;
            for (int64_t kx = 0; kx < d->kw; kx++) {
                int64_t ix = ox * d->sw - d->pw + kx;
                if (ix < 0 || ix >= d->w) continue;
                const float *s = src + ((size_t)ky * (size_t)d->kw + (size_t)kx) * c;
                float *o = row + (size_t)ix * c;
                for (size_t ch = c0; ch < c1; ch++) o[ch] += s[ch];
            }
        }
    }
}

static void col2im_add(const rn_ctx *ctx, const rn_conv_desc *d, const float *col, size_t r0,
                       size_t rows, float *dx) {
    size_t pix = (size_t)d->oh * (size_t)d->ow;
    size_t first = r0 / pix, last = (r0 + rows - 1) / pix;
    size_t cblocks = ((size_t)d->c + RN_CONV_COL2IM_CHANNELS - 1) / RN_CONV_COL2IM_CHANNELS;
    col2im_job j = {d, col, dx, r0, rows, first, cblocks};
    rn__parallel_for(ctx, (last - first + 1) * cblocks, col2im_task, &j);
}

void rn__conv2d_backward_data(const rn_ctx *ctx, const rn_conv_desc *d, const float *dy,
                              const float *w, float *dx, void *ws) {
    size_t total = rn__conv_rows(d), chunk = rn__conv_chunk_rows(d), k = rn__conv_k(d);
    size_t oc = (size_t)d->oc;
    int direct = rn__conv_is_direct(d);
    rn_conv_desc t;
    if (rn__conv_plain_algo(d, RN_CONV_PASS_BACKWARD_DATA) == RN_CONV_ALGO_INDIRECT &&
        rn__conv_backward_data_indirect(d, &t)) {
        rn__conv_indirect_backward_data(ctx, d, &t, dy, w, dx, ws);
        return;
    }
    float *col = rn__conv_ws_col(ws);
    void *gws = rn__conv_ws_gemm(ws, d);
    if (!direct) {
        size_t count = (size_t)d->n * (size_t)d->h * (size_t)d->w * (size_t)d->c;
        rn_memset(dx, 0, count * sizeof(float));
    }
    for (size_t r0 = 0; r0 < total; r0 += chunk) {
        size_t rows = total - r0 < chunk ? total - r0 : chunk;
        float *dst = direct ? dx + r0 * k : col;
        rn__sgemm(ctx, 0, 0, rows, k, oc, dy + r0 * oc, oc, w, k, 0, NULL, 0, dst, k, gws);
        if (!direct) col2im_add(ctx, d, col, r0, rows, dx);
    }
}
