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
 * which must outlive the tensor and is never freed by the library. Either way
 * the tensor handle is allocated from the context, must be released with
 * rn_tensor_destroy before the context, and follows the context's rule of
 * one thread at a time.
 *
 * Errors: calls given a NULL tensor (or NULL ctx) return RN_E_INVALID_ARG
 * without a sentence, as there is no context to hold one; every other
 * failure leaves its sentence on the tensor's context (rn_last_error).
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

/* Create a zero-filled tensor that owns its storage. Every dim must be >= 1.
 * Errors: RN_E_INVALID_ARG (NULL ctx or out, a dim < 1), RN_E_OVERFLOW (more
 * than RN_TENSOR_MAX_ELEMENTS), RN_E_NO_MEMORY. *out is untouched on failure. */
RN_API rn_status rn_tensor_create(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c,
                                  rn_tensor **out);

/* Wrap a caller's buffer of n*h*w*c floats (NHWC) without copying: the
 * tensor reads and writes `data` directly. `data` must be 4-byte aligned and
 * must outlive the tensor; rn_tensor_destroy never frees it. Only the small
 * handle is allocated from the context.
 * Errors: as rn_tensor_create, and RN_E_INVALID_ARG for NULL or misaligned data. */
RN_API rn_status rn_tensor_wrap(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c,
                                float *data, rn_tensor **out);

/* Release the handle and, for a created tensor, its storage. NULL is accepted. */
RN_API void rn_tensor_destroy(rn_tensor *t);

/* dims[0..3] = n, h, w, c. RN_E_INVALID_ARG (no sentence) if t or dims is NULL. */
RN_API rn_status rn_tensor_shape(const rn_tensor *t, int64_t dims[4]);
RN_API int64_t rn_tensor_numel(const rn_tensor *t);     /* 0 for NULL */
/* The storage itself, NHWC (for a wrapped tensor, the caller's buffer):
 * valid as long as the tensor; reads and writes through it are allowed. */
RN_API float *rn_tensor_data(rn_tensor *t);             /* NULL for NULL */
RN_API const float *rn_tensor_data_const(const rn_tensor *t);

/* Set every element to value. RN_E_INVALID_ARG (no sentence) if t is NULL. */
RN_API rn_status rn_tensor_fill(rn_tensor *t, float value);

/* Copy src into dst; shapes must be equal (RN_E_INVALID_ARG naming both
 * shapes otherwise, on dst's context). The two may come from different
 * contexts and may overlap. */
RN_API rn_status rn_tensor_copy(rn_tensor *dst, const rn_tensor *src);

/* Copy `count` floats from `src`, laid out as `layout` (RN_LAYOUT_NCHW or
 * RN_LAYOUT_NHWC) with this tensor's dims, into the tensor. count must equal
 * the tensor's element count. With RN_LAYOUT_NCHW, src must not overlap the
 * tensor's storage.
 * Errors: RN_E_INVALID_ARG for NULL src, an unknown layout or a count that
 * differs from the element count (the sentence gives both); t is unchanged. */
RN_API rn_status rn_tensor_read(rn_tensor *t, const float *src, size_t count, int32_t layout);

/* Copy the tensor out into `dst` (count floats) in the given layout, with
 * the same rules and errors as rn_tensor_read; dst is untouched on failure. */
RN_API rn_status rn_tensor_write(const rn_tensor *t, float *dst, size_t count, int32_t layout);

/* Layout conversion of raw buffers: NCHW -> NHWC and back. Each takes the
 * dims in its source's order. src and dst hold n*c*h*w floats each and must
 * not overlap. No context, so no sentence: RN_E_INVALID_ARG for NULL
 * buffers, src == dst, a dim < 1 or a count over RN_TENSOR_MAX_ELEMENTS.
 * Thread-safe (they touch only the two buffers). */
RN_API rn_status rn_nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t h,
                                 int64_t w);
RN_API rn_status rn_nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t h, int64_t w,
                                 int64_t c);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_TENSOR_H */
