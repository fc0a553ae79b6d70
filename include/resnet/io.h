/*
 * libresnet io: the only layer that reads and writes files. Every reader
 * also works on a memory buffer (the file function is a thin wrapper), and
 * treats its input as hostile: every size, offset, shape and dtype is checked
 * against the data and against overflow, and a failure names the file (or
 * "<memory>"), the tensor or record, and the byte offset.
 *
 * Path-based functions return RN_E_UNSUPPORTED in builds without file I/O
 * (RESNET_WITH_IO=OFF removes this whole layer).
 */
#ifndef RESNET_IO_H
#define RESNET_IO_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of arrays in files. */
#define RN_DTYPE_F32  0
#define RN_DTYPE_I64  1
#define RN_DTYPE_I32  2
#define RN_DTYPE_U8   3
#define RN_DTYPE_F16  4
#define RN_DTYPE_BF16 5

/* ---- .npy (version 1.0/2.0/3.0, little-endian, C order; f4, i8, i4, u1) ----
 * Header: dtype, number of dims (<= 8) and dims. */
RN_API rn_status rn_npy_info_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t *dtype,
                                 int32_t *ndim, int64_t dims[8]);
/* Read the array converted to `want` (RN_DTYPE_F32 or RN_DTYPE_I32; integer
 * -> float allowed, float -> integer refused, i64 -> i32 checked for range)
 * into dst of dst_count elements (must equal the array's element count). */
RN_API rn_status rn_npy_read_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t want,
                                 void *dst, size_t dst_count);
/* Write an array (RN_DTYPE_F32, RN_DTYPE_I64, RN_DTYPE_I32 or RN_DTYPE_U8) to
 * buf; *written receives the size. With buf NULL only *written is set (the
 * size needed); a too-small cap gives RN_E_BUFFER_TOO_SMALL. */
RN_API rn_status rn_npy_write_mem(rn_ctx *ctx, int32_t dtype, int32_t ndim,
                                  const int64_t *dims, const void *data, void *buf, size_t cap,
                                  size_t *written);
RN_API rn_status rn_npy_info_file(rn_ctx *ctx, const char *path, int32_t *dtype, int32_t *ndim,
                                  int64_t dims[8]);
RN_API rn_status rn_npy_read_file(rn_ctx *ctx, const char *path, int32_t want, void *dst,
                                  size_t dst_count);
RN_API rn_status rn_npy_write_file(rn_ctx *ctx, const char *path, int32_t dtype, int32_t ndim,
                                   const int64_t *dims, const void *data);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_IO_H */
