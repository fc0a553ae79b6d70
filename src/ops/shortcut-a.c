/*
 * Option-A shortcut of the paper's CIFAR networks (section 3.3, 4.2): the
 * identity subsampled by `stride` with the extra channels zero-padded, half
 * before and half after, as x[:, :, ::s, ::s] padded by F.pad in PyTorch:
 *   y[n, i, j, lo + c] = x[n, i*s, j*s, c], lo = (oc - c) / 2, zero elsewhere,
 * with oh = ceil(h / s), ow = ceil(w / s). The backward gathers dy back and
 * gives zero gradient to the pixels the subsampling skips.
 */
#include "ops.h"

typedef struct shortcut_job {
    size_t h, w, c, s, oc, oh, ow;
    const float *src;
    float *dst;
} shortcut_job;

static void shortcut_forward_task(void *arg, size_t n) {
    const shortcut_job *j = (const shortcut_job *)arg;
    size_t lo = (j->oc - j->c) / 2;
    for (size_t i = 0; i < j->oh; i++)
        for (size_t k = 0; k < j->ow; k++) {
            float *out = j->dst + ((n * j->oh + i) * j->ow + k) * j->oc;
            const float *in = j->src + ((n * j->h + i * j->s) * j->w + k * j->s) * j->c;
            rn_memset(out, 0, lo * sizeof(float));
            rn_memcpy(out + lo, in, j->c * sizeof(float));
            rn_memset(out + lo + j->c, 0, (j->oc - j->c - lo) * sizeof(float));
        }
}

void rn__shortcut_a_forward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                            size_t stride, size_t oc, const float *x, float *y) {
    shortcut_job j = {h, w, c, stride, oc, (h + stride - 1) / stride, (w + stride - 1) / stride,
                      x, y};
    rn__parallel_for(ctx, n, shortcut_forward_task, &j);
}

static void shortcut_backward_task(void *arg, size_t n) {
    const shortcut_job *j = (const shortcut_job *)arg;
    size_t lo = (j->oc - j->c) / 2;
    for (size_t i = 0; i < j->h; i++)
        for (size_t k = 0; k < j->w; k++) {
            float *out = j->dst + ((n * j->h + i) * j->w + k) * j->c;
            if (i % j->s || k % j->s) {
                rn_memset(out, 0, j->c * sizeof(float));
                continue;
            }
            const float *g = j->src + ((n * j->oh + i / j->s) * j->ow + k / j->s) * j->oc + lo;
            rn_memcpy(out, g, j->c * sizeof(float));
        }
}

void rn__shortcut_a_backward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                             size_t stride, size_t oc, const float *dy, float *dx) {
    shortcut_job j = {h,  w, c, stride, oc, (h + stride - 1) / stride, (w + stride - 1) / stride,
                      dy, dx};
    rn__parallel_for(ctx, n, shortcut_backward_task, &j);
}
