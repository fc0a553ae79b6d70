/*
 * What the three convolution passes share (conv2d.c, conv2d-backward-data.c,
 * conv2d-backward-weights.c, conv2d-indirect.c): the im2col layout, the fixed
 * chunking of output pixels, the workspace layout, and the indirect path.
 * Private to src/ops. Which path a pass takes is decided by the shape alone
 * (never the ISA or thread count), so a workspace sized once stays valid:
 * forward passes and stride-1 backward-data passes take the indirect path
 * (below) unless direct or over 64 taps; weight gradients are taken tap by
 * tap when the shape allows (conv2d-backward-weights.c); the rest use the
 * im2col + GEMM path described here.
 *
 * The column buffer has one row per output pixel and K = kh*kw*c columns in
 * OHWI order, so the weight viewed as [oc x K] is a GEMM operand as stored.
 * A 1x1 / stride 1 / pad 0 convolution ("direct") needs no columns: the NHWC
 * input already is the [pixels x c] matrix.
 *
 * The batch's output pixels are processed in chunks of a row count that
 * depends only on K (never on the thread count), so the workspace stays
 * bounded for any batch and the weight gradient, accumulated chunk by chunk in
 * order, is bit-identical for any number of threads.
 *
 * im2col workspace layout: [column buffer, rn__conv_col_bytes][GEMM
 * workspace]; direct convolutions have no column buffer.
 */
#ifndef RN_CONV2D_COMMON_H
#define RN_CONV2D_COMMON_H

#include "ops.h"

static inline int rn__conv_is_direct(const rn_conv_desc *d) {
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0;
}

static inline size_t rn__conv_k(const rn_conv_desc *d) {
    return (size_t)d->kh * (size_t)d->kw * (size_t)d->c;
}

static inline size_t rn__conv_rows(const rn_conv_desc *d) {
    return (size_t)d->n * (size_t)d->oh * (size_t)d->ow;
}

/* Output pixels per GEMM chunk: a function of K and the total only. */
size_t rn__conv_chunk_rows(const rn_conv_desc *d);

/* Bytes of the column buffer including alignment slack (0 when direct);
 * SIZE_MAX if it cannot be represented. */
size_t rn__conv_col_bytes(const rn_conv_desc *d);

static inline float *rn__conv_ws_col(void *ws) {
    return (float *)rn__align_up((size_t)(uintptr_t)ws, RN_ALIGN);
}
static inline void *rn__conv_ws_gemm(void *ws, const rn_conv_desc *d) {
    return (unsigned char *)ws + rn__conv_col_bytes(d);
}

/* The patches [rows x K] of output pixels [r0, r0 + rows) of the batch: for a
 * direct convolution (K == c) the input rows themselves, else gathered into col. */
const float *rn__conv_patches(const rn_ctx *ctx, const rn_conv_desc *d, const float *x, size_t r0,
                              size_t rows, float *col);

/* ---- the indirect path (conv2d-indirect.c) -------------------------------------------
 * No column buffer: for each tile of output pixels an indirection buffer
 * points at the input pixels of every tap (or at a zero row for padding),
 * and the igemm microkernel reads them in place against weights packed into
 * NR-wide panels whose rows are in (ky, kx, c) order. Forward convolutions
 * and stride-1 backward-data passes (a convolution of dy with the flipped
 * weights) take it when it applies.
 *
 * Workspace: [packed weights][zero row][RN_CONV_SLOTS indirection buffers];
 * its size does not depend on the thread count nor on the ISA. */
struct rn_kernels;

/* 1 if the indirect path can run d (as a forward convolution). */
int rn__conv_indirect_ok(const rn_conv_desc *d);
/* Workspace bytes of the indirect path for d (SIZE_MAX if too big). */
size_t rn__conv_indirect_workspace(const rn_conv_desc *d);
/* y = conv(x, w) (+ bias, ReLU) with w in OHWI; _residual: y holds a
 * residual on entry, added after the bias, before the ReLU. */
void rn__conv_indirect_forward(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                               const float *w, const float *bias, int32_t relu, float *y, void *ws);
void rn__conv_indirect_forward_residual(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                        const float *w, const float *bias, int32_t relu, float *y,
                                        void *ws);
/* Pre-packed weights: bytes of d's packed weights, the packing (the layout
 * depends on the shape only, not on the ISA or the thread count), the
 * workspace of a forward pass that is handed them, and that pass. */
size_t rn__conv_indirect_packed_size(const rn_conv_desc *d);
void rn__conv_indirect_pack(const rn_ctx *ctx, const rn_conv_desc *d, const float *w, void *packed);
size_t rn__conv_indirect_scratch(const rn_conv_desc *d);
void rn__conv_indirect_forward_packed(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                      const void *packed, const float *bias, int32_t relu, float *y,
                                      void *ws);
/* The stride-1 backward-data pass as a forward convolution: fills *t with the
 * convolution of dy (oh x ow x oc) giving dx (h x w x c); 0 if d is not
 * stride 1 or its padding is not below the kernel size. */
int rn__conv_transposed_desc(const rn_conv_desc *d, rn_conv_desc *t);
/* The backward-data pass takes the indirect path when it is a stride-1,
 * non-direct convolution that fits it; then *t is its transposed desc. */
static inline int rn__conv_backward_data_indirect(const rn_conv_desc *d, rn_conv_desc *t) {
    return !rn__conv_is_direct(d) && rn__conv_transposed_desc(d, t) && rn__conv_indirect_ok(t);
}
/* dx = conv^T(dy, w) through the indirect path; t from rn__conv_transposed_desc. */
void rn__conv_indirect_backward_data(const rn_ctx *ctx, const rn_conv_desc *d,
                                     const rn_conv_desc *t, const float *dy, const float *w,
                                     float *dx, void *ws);
/* 1 when the tap-by-tap weight gradient of d takes the 3x3 row kernel of table kt
 * (conv2d-backward-weights.c). */
struct rn_kernels;
int rn__conv_wgrad_rows(const struct rn_kernels *kt, const rn_conv_desc *d);
/* 1 when the tap-by-tap weight gradient of d goes by window rows (few input
 * channels: a window row's kw x c floats per kernel call; conv2d-algo.c). */
int rn__conv_wgrad_window(const rn_conv_desc *d);

#endif /* RN_CONV2D_COMMON_H */
