/*
 * Max pooling drivers (NHWC). Padded cells are ignored, as in PyTorch: a
 * window's maximum is over its real cells only, and every window has one
 * (pad < kernel, checked by the callers). NaN propagates like PyTorch's.
 * The backward pass sends each output's gradient to the FIRST maximum of its
 * window in window order (row, then column).
 */
#include "ops.h"
#include "../kernels/kernels.h"

/* Channels per backward task: a task owns one image and one channel range of
 * dx, so overlapping windows never make two tasks write the same element.
 * 64 covers the ImageNet stem's channels in one vectorised range. */
#define RN_POOL_CBLOCK 64

int rn__pool_desc_init(rn_pool_desc *d) {
    if (d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->kh < 1 || d->kw < 1 || d->sh < 1 ||
        d->sw < 1 || d->ph < 0 || d->pw < 0 || d->ph >= d->kh || d->pw >= d->kw)
        return 0;
    return rn__window_out(d->h, d->w, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw, &d->oh, &d->ow);
}

/* The window's real cells: [y0, y1) x [x0, x1), never empty when pad < kernel. */
typedef struct window {
    int64_t y0, y1, x0, x1;
} window;

static window window_at(const rn_pool_desc *d, int64_t oy, int64_t ox) {
    window wnd;
    wnd.y0 = oy * d->sh - d->ph;
    wnd.x0 = ox * d->sw - d->pw;
    wnd.y1 = wnd.y0 + d->kh < d->h ? wnd.y0 + d->kh : d->h;
    wnd.x1 = wnd.x0 + d->kw < d->w ? wnd.x0 + d->kw : d->w;
    if (wnd.y0 < 0) wnd.y0 = 0;
    if (wnd.x0 < 0) wnd.x0 = 0;
    return wnd;
}

typedef struct pool_job {
    const struct rn_kernels *kt;
    const rn_pool_desc *d;
    const float *x, *dy;
    float *y;
} pool_job;

/* One task per output row (image n, row oy); the window rule (first maximum,
 * NaN wins) lives in the kernels. */
static void maxpool_forward_task(void *arg, size_t t) {
    const pool_job *j = (const pool_job *)arg;
    const rn_pool_desc *d = j->d;
    size_t c = (size_t)d->c, n = t / (size_t)d->oh, row = (size_t)d->w * c;
    int64_t oy = (int64_t)(t % (size_t)d->oh);
    const float *img = j->x + n * (size_t)d->h * row;
    for (int64_t ox = 0; ox < d->ow; ox++) {
        float *out = j->y + ((size_t)t * (size_t)d->ow + (size_t)ox) * c;
        window wnd = window_at(d, oy, ox);
        j->kt->maxpool(c, (size_t)(wnd.y1 - wnd.y0), (size_t)(wnd.x1 - wnd.x0),
                       img + (size_t)wnd.y0 * row + (size_t)wnd.x0 * c, row, c, out);
    }
}

void rn__maxpool_forward(const rn_ctx *ctx, const rn_pool_desc *d, const float *x, float *y) {
    pool_job j = {rn__ctx_kernels(ctx), d, x, NULL, y};
    rn__parallel_for(ctx, (size_t)d->n * (size_t)d->oh, maxpool_forward_task, &j);
}

static void maxpool_backward_task(void *arg, size_t t) {
    const pool_job *j = (const pool_job *)arg;
    const rn_pool_desc *d = j->d;
    size_t c = (size_t)d->c, cblocks = (c + RN_POOL_CBLOCK - 1) / RN_POOL_CBLOCK;
    size_t n = t / cblocks, c0 = (t % cblocks) * RN_POOL_CBLOCK;
    size_t nb = c0 + RN_POOL_CBLOCK < c ? RN_POOL_CBLOCK : c - c0;
    size_t hw = (size_t)d->h * (size_t)d->w, row = (size_t)d->w * c;
    const float *img = j->x + n * hw * c + c0;
    float *dimg = j->y + n * hw * c + c0;
    if (nb == c)
        rn_memset(dimg, 0, hw * c * sizeof(float));
    else
        for (size_t p = 0; p < hw; p++) rn_memset(dimg + p * c, 0, nb * sizeof(float));
    for (int64_t oy = 0; oy < d->oh; oy++)
        for (int64_t ox = 0; ox < d->ow; ox++) {
            window wnd = window_at(d, oy, ox);
            size_t first = (size_t)wnd.y0 * row + (size_t)wnd.x0 * c;
            const float *g =
                j->dy + ((n * (size_t)d->oh + (size_t)oy) * (size_t)d->ow + (size_t)ox) * c + c0;
            j->kt->maxpool_backward(nb, (size_t)(wnd.y1 - wnd.y0), (size_t)(wnd.x1 - wnd.x0),
                                    img + first, dimg + first, row, c, g);
        }
}

void rn__maxpool_backward(const rn_ctx *ctx, const rn_pool_desc *d, const float *x, const float *dy,
                          float *dx) {
    pool_job j = {rn__ctx_kernels(ctx), d, x, dy, dx};
    size_t cblocks = ((size_t)d->c + RN_POOL_CBLOCK - 1) / RN_POOL_CBLOCK;
    rn__parallel_for(ctx, (size_t)d->n * cblocks, maxpool_backward_task, &j);
}
