/*
 * Option-A shortcut of the paper's CIFAR networks (section 3.3, 4.2): the
 * identity subsampled by `stride` with the extra channels zero-padded, half
 * before and half after, as x[:, :, ::s, ::s] padded by F.pad in PyTorch:
 *   y[n, i, j, lo + c] = x[n, i*s, j*s, c], lo = (oc - c) / 2, zero elsewhere,
 * with oh = ceil(h / s), ow = ceil(w / s). The backward gathers dy back and
 * gives zero gradient to the pixels the subsampling skips.
 */
#include "ops.h"

/* Elements of `elem` bytes: float32 for the float path, int8 for int8 models
 * (whose zero point is 0, so the padding is the same zero bytes). */
typedef struct shortcut_job {
    size_t h, w, c, s, oc, oh, ow, elem;
    const unsigned char *src;
    unsigned char *dst;
} shortcut_job;

static void shortcut_forward_task(void *arg, size_t n) {
    const shortcut_job *j = (const shortcut_job *)arg;
    const size_t e = j->elem, lo = (j->oc - j->c) / 2;
    for (size_t i = 0; i < j->oh; i++)
        for (size_t k = 0; k < j->ow; k++) {
            unsigned char *out = j->dst + ((n * j->oh + i) * j->ow + k) * j->oc * e;
            const unsigned char *in = j->src + ((n * j->h + i * j->s) * j->w + k * j->s) * j->c * e;
            rn_memset(out, 0, lo * e);
            rn_memcpy(out + lo * e, in, j->c * e);
            rn_memset(out + (lo + j->c) * e, 0, (j->oc - j->c - lo) * e);
        }
}

static void shortcut_backward_task(void *arg, size_t n) {
    const shortcut_job *j = (const shortcut_job *)arg;
    const size_t e = j->elem, lo = (j->oc - j->c) / 2;
    for (size_t i = 0; i < j->h; i++)
        for (size_t k = 0; k < j->w; k++) {
            unsigned char *out = j->dst + ((n * j->h + i) * j->w + k) * j->c * e;
            if (i % j->s || k % j->s) {
                rn_memset(out, 0, j->c * e);
                continue;
            }
            const unsigned char *g =
                j->src + (((n * j->oh + i / j->s) * j->ow + k / j->s) * j->oc + lo) * e;
            rn_memcpy(out, g, j->c * e);
        }
}

static void shortcut_run(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c, size_t stride,
                         size_t oc, size_t elem, const void *src, void *dst,
                         void (*task)(void *, size_t)) {
    shortcut_job j = {
        h, w, c, stride, oc, (h + stride - 1) / stride, (w + stride - 1) / stride, elem, src, dst};
    rn__parallel_for(ctx, n, task, &j);
}

void rn__shortcut_a_forward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                            size_t stride, size_t oc, const float *x, float *y) {
    shortcut_run(ctx, n, h, w, c, stride, oc, sizeof(float), x, y, shortcut_forward_task);
}

void rn__shortcut_a_backward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                             size_t stride, size_t oc, const float *dy, float *dx) {
    shortcut_run(ctx, n, h, w, c, stride, oc, sizeof(float), dy, dx, shortcut_backward_task);
}

void rn__qshortcut_a_forward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                             size_t stride, size_t oc, const int8_t *x, int8_t *y) {
    shortcut_run(ctx, n, h, w, c, stride, oc, 1, x, y, shortcut_forward_task);
}
