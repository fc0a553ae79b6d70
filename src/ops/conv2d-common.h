/*
 * What the three convolution passes share (conv2d.c, conv2d-backward-data.c,
 * conv2d-backward-weights.c): the im2col layout, the fixed chunking of output
 * pixels, and the workspace layout. Private to src/ops.
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
 * Workspace layout: [column buffer, rn__conv_col_bytes][GEMM workspace];
 * direct convolutions have no column buffer.
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

/* Columns of output pixels [r0, r0 + rows) of the batch into col[rows x K]. */
void rn__conv_im2col(const rn_ctx *ctx, const rn_conv_desc *d, const float *x, size_t r0,
                     size_t rows, float *col);

#endif /* RN_CONV2D_COMMON_H */
