/*
 * The int8 network's operations other than the convolution (docs/int8.md):
 * quantizing the input images, max pool on int8 (the option-A shortcut is
 * shortcut-a.c's, shared with float32), the global average pool back to
 * float, and the float fc layer in a fixed order. Integer work is exact and
 * the float work is a fixed sequence of float32 operations (the build pins
 * -ffp-contract=off), so every ISA and thread count gives the same bits.
 * Work is split per image or per output row, a partition that does not
 * depend on the thread count.
 */
#include "ops.h"

/* ---- input quantization: one task per image ---------------------------------- */
typedef struct quant_job {
    const float *x;
    int8_t *y;
    size_t h, w, c;
    int32_t nchw;
    float inv_s;
} quant_job;

static int8_t quantize(float v, float inv_s) {
    float f = v * inv_s;
    /* NaN compares false both ways and lands on 0 */
    f = f > 127.0f ? 127.0f : f < -127.0f ? -127.0f : f == f ? f : 0.0f;
    return (int8_t)rn__rint_small(f);
}

static void quant_task(void *arg, size_t n) {
    const quant_job *j = (const quant_job *)arg;
    size_t hw = j->h * j->w, per = hw * j->c;
    const float *x = j->x + n * per;
    int8_t *y = j->y + n * per;
    if (!j->nchw) {
        for (size_t i = 0; i < per; i++) y[i] = quantize(x[i], j->inv_s);
        return;
    }
    for (size_t ch = 0; ch < j->c; ch++)
        for (size_t p = 0; p < hw; p++) y[p * j->c + ch] = quantize(x[ch * hw + p], j->inv_s);
}

void rn__quantize_images(const rn_ctx *ctx, const float *x, int32_t nchw, size_t n, size_t h,
                         size_t w, size_t c, float inv_s, int8_t *y) {
    quant_job j = {x, y, h, w, c, nchw, inv_s};
    rn__parallel_for(ctx, n, quant_task, &j);
}

/* ---- max pool: one task per output row ------------------------------------------ */
typedef struct qpool_job {
    const rn_pool_desc *d;
    const int8_t *x;
    int8_t *y;
} qpool_job;

/* Channels per pass of one output pixel: a local array the compiler knows
 * aliases neither the input nor the output, so the max over the window's taps
 * runs as whole-vector byte maxima (through int8_t pointers it reloaded and
 * stored every byte per tap: 31% of ResNet-18's int8 inference). */
#define RN_QPOOL_CHUNK 64

static void qpool_task(void *arg, size_t t) {
    const qpool_job *j = (const qpool_job *)arg;
    const rn_pool_desc *d = j->d;
    size_t n = t / (size_t)d->oh;
    int32_t oy = (int32_t)(t % (size_t)d->oh);
    const size_t c = (size_t)d->c;
    int32_t y0 = oy * d->sh - d->ph, y1 = y0 + d->kh;
    if (y0 < 0) y0 = 0;
    if (y1 > d->h) y1 = d->h;
    for (int32_t ox = 0; ox < d->ow; ox++) {
        int32_t x0 = ox * d->sw - d->pw, x1 = x0 + d->kw;
        if (x0 < 0) x0 = 0;
        if (x1 > d->w) x1 = d->w;
        int8_t *out =
            j->y + (((size_t)n * (size_t)d->oh + (size_t)oy) * (size_t)d->ow + (size_t)ox) * c;
        for (size_t c0 = 0; c0 < c; c0 += RN_QPOOL_CHUNK) {
            const size_t nc = c - c0 < RN_QPOOL_CHUNK ? c - c0 : RN_QPOOL_CHUNK;
            int8_t acc[RN_QPOOL_CHUNK];
            for (size_t ch = 0; ch < RN_QPOOL_CHUNK; ch++)
                acc[ch] = -128; /* below every value (-127..127) */
            for (int32_t iy = y0; iy < y1; iy++)
                for (int32_t ix = x0; ix < x1; ix++) {
                    const int8_t *in =
                        j->x +
                        (((size_t)n * (size_t)d->h + (size_t)iy) * (size_t)d->w + (size_t)ix) * c +
                        c0;
                    if (nc == RN_QPOOL_CHUNK) {
                        for (size_t ch = 0; ch < RN_QPOOL_CHUNK; ch++)
                            acc[ch] = in[ch] > acc[ch] ? in[ch] : acc[ch];
                    } else {
                        for (size_t ch = 0; ch < nc; ch++)
                            acc[ch] = in[ch] > acc[ch] ? in[ch] : acc[ch];
                    }
                }
            rn_memcpy(out + c0, acc, nc);
        }
    }
}

void rn__qmaxpool_forward(const rn_ctx *ctx, const rn_pool_desc *d, const int8_t *x, int8_t *y) {
    qpool_job j = {d, x, y};
    rn__parallel_for(ctx, (size_t)d->n * (size_t)d->oh, qpool_task, &j);
}

/* option A (rn__qshortcut_a_forward): shortcut-a.c, the same code as float32 */

/* ---- global average pool and fc: small, one plain loop ---------------------------- */
void rn__qgap_forward(const rn_ctx *ctx, size_t n, size_t hw, size_t c, const int8_t *x, float k,
                      float *y) {
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++) {
            int64_t sum = 0;
            const int8_t *p = x + i * hw * c + ch;
            for (size_t q = 0; q < hw; q++) sum += p[q * c];
            /* |sum| <= 127 * hw: exact in float for hw <= 2^17 */
            y[i * c + ch] = (float)sum * k;
        }
}

/* Each output's sum runs k = 0, 1, ... in float32 as the contract fixes; eight
 * outputs are summed side by side so their add chains overlap (one chain at a
 * time waited on every add's latency). */
#define RN_QLINEAR_LANES 8

void rn__qlinear_forward(const rn_ctx *ctx, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *b, float *y) {
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        const float *xr = x + i * in;
        size_t o = 0;
        for (; o + RN_QLINEAR_LANES <= out; o += RN_QLINEAR_LANES) {
            float acc[RN_QLINEAR_LANES];
            const float *wr = w + o * in;
            for (size_t l = 0; l < RN_QLINEAR_LANES; l++) acc[l] = 0.0f;
            for (size_t k = 0; k < in; k++)
                for (size_t l = 0; l < RN_QLINEAR_LANES; l++)
                    acc[l] = acc[l] + xr[k] * wr[l * in + k];
            for (size_t l = 0; l < RN_QLINEAR_LANES; l++) y[i * out + o + l] = acc[l] + b[o + l];
        }
        for (; o < out; o++) {
            const float *wr = w + o * in;
            float acc = 0.0f;
            for (size_t k = 0; k < in; k++) acc = acc + xr[k] * wr[k];
            y[i * out + o] = acc + b[o];
        }
    }
}
