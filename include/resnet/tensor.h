/*
 * libresnet tensors: float32, 4-D, stored NHWC (channels innermost).
 *
 * Every activation, gradient and parameter is a 4-D tensor with dims
 * (n, h, w, c). Parameters use the same four dims with a fixed meaning:
 * a convolution weight (out, kh, kw, in) is OHWI, a 1-D vector of C values
 * is (1, 1, 1, C), a fully-connected weight is (out, 1, 1, in).
 *
 * PyTorch's NCHW order is accepted and produced only at the edge, through
 * rn_tensor_read / rn_tensor_write with RN_LAYOUT_NCHW.
 *
 * Ownership: a tensor from rn_tensor_create owns its storage (taken from the
 * context's allocator); one from rn_tensor_wrap borrows the caller's buffer,
 * which must outlive the tensor and is never freed by the library.
 */
#ifndef RESNET_TENSOR_H
#define RESNET_TENSOR_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rn_tensor rn_tensor;

#define RN_LAYOUT_NHWC 0
#define RN_LAYOUT_NCHW 1

/* Largest element count of one tensor (2^40): bigger requests give RN_E_OVERFLOW. */
#define RN_TENSOR_MAX_ELEMENTS ((int64_t)1 << 40)

/* Create a zero-filled tensor. Every dim must be >= 1. */
RN_API rn_status rn_tensor_create(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c,
                                  rn_tensor **out);

/* Wrap a caller's buffer of n*h*w*c floats (NHWC) without copying.
 * `data` must be 4-byte aligned. */
RN_API rn_status rn_tensor_wrap(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c,
                                float *data, rn_tensor **out);

RN_API void rn_tensor_destroy(rn_tensor *t);

/* dims[0..3] = n, h, w, c. */
RN_API rn_status rn_tensor_shape(const rn_tensor *t, int64_t dims[4]);
RN_API int64_t rn_tensor_numel(const rn_tensor *t);     /* 0 for NULL */
RN_API float *rn_tensor_data(rn_tensor *t);             /* NULL for NULL */
RN_API const float *rn_tensor_data_const(const rn_tensor *t);

RN_API rn_status rn_tensor_fill(rn_tensor *t, float value);

/* Copy src into dst; shapes must be equal. */
RN_API rn_status rn_tensor_copy(rn_tensor *dst, const rn_tensor *src);

/* Copy `count` floats from `src`, laid out as `layout` (RN_LAYOUT_NCHW or
 * RN_LAYOUT_NHWC) with this tensor's dims, into the tensor. count must equal
 * the tensor's element count. */
RN_API rn_status rn_tensor_read(rn_tensor *t, const float *src, size_t count, int32_t layout);

/* Copy the tensor out into `dst` (count floats) in the given layout. */
RN_API rn_status rn_tensor_write(const rn_tensor *t, float *dst, size_t count, int32_t layout);

/* Layout conversion of raw buffers: NCHW -> NHWC and back (src != dst). */
RN_API rn_status rn_nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t h,
                                 int64_t w);
RN_API rn_status rn_nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t h, int64_t w,
                                 int64_t c);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_TENSOR_H */
