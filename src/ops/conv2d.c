/*
 * Convolution (groups 1, symmetric zero padding, no dilation) on NHWC
 * activations and OHWI weights: the descriptor, the fixed chunking of output
 * pixels, im2col, the forward and backward-data workspace sizes, and the
 * forward pass: the indirect path (conv2d-indirect.c) for windows of up to
 * 64 taps, else one GEMM per chunk, y[rows x oc] = col[rows x K] * W[oc x K]^T
 * (+ bias, ReLU in the GEMM epilogue; a direct 1x1 convolution's col is its
 * input); and the forward pass with weights packed once. See
 * conv2d-common.h for the layout.
 */
#include "conv2d-common.h"
#include "../kernels/kernels.h"

/* Column-buffer budget in floats (16 MiB): big enough for GEMMs over many
 * images at CIFAR and ImageNet sizes, small enough to bound the workspace. */
#define RN_CONV_COL_BUDGET ((size_t)4 << 20)
/* Output pixels per im2col task. */
#define RN_CONV_ROWS_PER_TASK 32

int rn__conv_desc_init(rn_conv_desc *d) {
    if (d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oc < 1 || d->kh < 1 || d->kw < 1 ||
        d->sh < 1 || d->sw < 1 || d->ph < 0 || d->pw < 0)
        return 0;
    return rn__window_out(d->h, d->w, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw, &d->oh, &d->ow);
}

size_t rn__conv_chunk_rows(const rn_conv_desc *d) {
    size_t rows = rn__conv_rows(d), per = RN_CONV_COL_BUDGET / rn__conv_k(d);
    if (per < 1) per = 1;
    return per < rows ? per : rows;
}

size_t rn__conv_col_bytes(const rn_conv_desc *d) {
    if (rn__conv_is_direct(d)) return 0;
    size_t b = rn__sat_mul(rn__sat_mul(rn__conv_chunk_rows(d), rn__conv_k(d)), sizeof(float));
    return b == SIZE_MAX ? SIZE_MAX : rn__sat_add(rn__align_up(b, RN_ALIGN), RN_ALIGN);
}

/* The forward pass takes the indirect path (conv2d-indirect.c) where
 * rn__conv_plain_algo says so (conv2d-algo.c: unless the convolution is
 * direct, whose input already is the GEMM operand, or its window is too
 * large for it). */
static int forward_indirect(const rn_conv_desc *d) {
    return rn__conv_plain_algo(d, RN_CONV_PASS_FORWARD) == RN_CONV_ALGO_INDIRECT;
}

size_t rn__conv2d_forward_workspace(const rn_ctx *ctx, const rn_conv_desc *d) {
    if (forward_indirect(d)) return rn__conv_indirect_workspace(d);
    return rn__sat_add(rn__conv_col_bytes(d), rn__sgemm_workspace(ctx, rn__conv_chunk_rows(d),
                                                                  (size_t)d->oc, rn__conv_k(d)));
}

/* Packed forms: the indirect path's 32-wide panels, or for a direct
 * convolution the transposed weight W^T[c x oc], which the GEMM then reads
 * as B without transposing it (in place when the pixels are few). */
size_t rn__conv2d_packed_weights_size(const rn_ctx *ctx, const rn_conv_desc *d) {
    (void)ctx;
    if (forward_indirect(d)) return rn__conv_indirect_packed_size(d);
    if (rn__conv_is_direct(d))
        return rn__sat_add(rn__sat_mul(rn__sat_mul((size_t)d->c, (size_t)d->oc), sizeof(float)),
                           RN_ALIGN);
    return 0;
}

static void *packed_base(const void *p) {
    return (void *)rn__align_up((size_t)(uintptr_t)p, RN_ALIGN);
}

void rn__conv2d_pack_weights(const rn_ctx *ctx, const rn_conv_desc *d, const float *w,
                             void *packed) {
    if (forward_indirect(d)) {
        rn__conv_indirect_pack(ctx, d, w, packed);
        return;
    }
    RN_ASSERT(rn__conv_is_direct(d));
    /* dst[c][o] = w[o][c] */
    rn__ctx_kernels(ctx)->transpose((size_t)d->oc, (size_t)d->c, w, (size_t)d->c,
                                    (float *)packed_base(packed), (size_t)d->oc);
}

size_t rn__conv2d_forward_packed_workspace(const rn_ctx *ctx, const rn_conv_desc *d) {
    if (forward_indirect(d)) return rn__conv_indirect_scratch(d);
    if (rn__conv_is_direct(d))
        return rn__sgemm_workspace(ctx, rn__conv_rows(d), (size_t)d->oc, (size_t)d->c);
    return 0;
}

void rn__conv2d_forward_packed(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                               const void *packed, const float *bias, int32_t relu, float *y,
                               void *ws) {
    if (forward_indirect(d)) {
        rn__conv_indirect_forward_packed(ctx, d, x, packed, bias, relu, y, ws);
        return;
    }
    RN_ASSERT(rn__conv_is_direct(d));
    const size_t oc = (size_t)d->oc, c = (size_t)d->c;
    rn__sgemm(ctx, 0, 0, rn__conv_rows(d), oc, c, x, c, (const float *)packed_base(packed), oc, 0,
              bias, relu, y, oc, ws);
}

size_t rn__conv2d_backward_data_workspace(const rn_ctx *ctx, const rn_conv_desc *d) {
    rn_conv_desc t;
    if (rn__conv_plain_algo(d, RN_CONV_PASS_BACKWARD_DATA) == RN_CONV_ALGO_INDIRECT &&
        rn__conv_backward_data_indirect(d, &t))
        return rn__conv_indirect_workspace(&t);
    /* dcol[rows x K] = dy[rows x oc] * W[oc x K]; direct: K == c and dcol is dx */
    return rn__sat_add(rn__conv_col_bytes(d), rn__sgemm_workspace(ctx, rn__conv_chunk_rows(d),
                                                                  rn__conv_k(d), (size_t)d->oc));
}

typedef struct im2col_job {
    const rn_conv_desc *d;
    const float *x;
    float *col;
    size_t r0, rows;
} im2col_job;

static void im2col_task(void *arg, size_t t) {
    const im2col_job *j = (const im2col_job *)arg;
    const rn_conv_desc *d = j->d;
    size_t c = (size_t)d->c, k = rn__conv_k(d), pix = (size_t)d->oh * (size_t)d->ow;
    size_t lo = t * RN_CONV_ROWS_PER_TASK;
    size_t hi = lo + RN_CONV_ROWS_PER_TASK < j->rows ? lo + RN_CONV_ROWS_PER_TASK : j->rows;
    for (size_t r = lo; r < hi; r++) {
        size_t g = j->r0 + r, n = g / pix, p = g % pix;
        int64_t oy = (int64_t)(p / (size_t)d->ow), ox = (int64_t)(p % (size_t)d->ow);
        float *dst = j->col + r * k;
        for (int64_t ky = 0; ky < d->kh; ky++) {
            int64_t iy = oy * d->sh - d->ph + ky;
            if (iy < 0 || iy >= d->h) {
                rn_memset(dst, 0, (size_t)d->kw * c * sizeof(float));
                dst += (size_t)d->kw * c;
                continue;
            }
            const float *row = j->x + ((n * (size_t)d->h + (size_t)iy) * (size_t)d->w) * c;
            for (int64_t kx = 0; kx < d->kw; kx++, dst += c) {
                int64_t ix = ox * d->sw - d->pw + kx;
                if (ix < 0 || ix >= d->w)
                    rn_memset(dst, 0, c * sizeof(float));
                else
                    rn_memcpy(dst, row + (size_t)ix * c, c * sizeof(float));
            }
        }
    }
}

const float *rn__conv_patches(const rn_ctx *ctx, const rn_conv_desc *d, const float *x, size_t r0,
                              size_t rows, float *col) {
    if (rn__conv_is_direct(d)) return x + r0 * rn__conv_k(d);
    im2col_job j = {d, x, col, r0, rows};
    rn__parallel_for(ctx, (rows + RN_CONV_ROWS_PER_TASK - 1) / RN_CONV_ROWS_PER_TASK, im2col_task,
                     &j);
    return col;
}

void rn__conv2d_forward_residual(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                 const float *w, const float *bias, int32_t relu, float *y,
                                 void *ws) {
    if (forward_indirect(d)) {
        rn__conv_indirect_forward_residual(ctx, d, x, w, bias, relu, y, ws);
        return;
    }
    RN_ASSERT(rn__conv_is_direct(d));
    const size_t total = rn__conv_rows(d), chunk = rn__conv_chunk_rows(d), c = (size_t)d->c;
    const size_t oc = (size_t)d->oc;
    void *gws = rn__conv_ws_gemm(ws, d);
    for (size_t r0 = 0; r0 < total; r0 += chunk) {
        size_t rows = total - r0 < chunk ? total - r0 : chunk;
        rn__sgemm(ctx, 0, 1, rows, oc, c, x + r0 * c, c, w, c, 1, bias, relu, y + r0 * oc, oc, gws);
    }
}

void rn__conv2d_forward(const rn_ctx *ctx, const rn_conv_desc *d, const float *x, const float *w,
                        const float *bias, int32_t relu, float *y, void *ws) {
    size_t total = rn__conv_rows(d), chunk = rn__conv_chunk_rows(d), k = rn__conv_k(d);
    size_t oc = (size_t)d->oc;
    if (forward_indirect(d)) {
        rn__conv_indirect_forward(ctx, d, x, w, bias, relu, y, ws);
        return;
    }
    float *col = rn__conv_ws_col(ws);
    void *gws = rn__conv_ws_gemm(ws, d);
    for (size_t r0 = 0; r0 < total; r0 += chunk) {
        size_t rows = total - r0 < chunk ? total - r0 : chunk;
        const float *a = rn__conv_patches(ctx, d, x, r0, rows, col);
        rn__sgemm(ctx, 0, 1, rows, oc, k, a, k, w, k, 0, bias, relu, y + r0 * oc, oc, gws);
    }
}
