/*
 * libresnet residual blocks (paper section 3): y = ReLU(F(x) + shortcut(x)).
 *
 * basic:      F = conv3x3(stride) - BN - ReLU - conv3x3 - BN
 * bottleneck: F = conv1x1 - BN - ReLU - conv3x3(stride) - BN - ReLU - conv1x1(x4) - BN
 *             (stride on the first 1x1 with RN_MODEL_STRIDE_ON_1X1, the paper's v1)
 * shortcut:   RN_SHORTCUT_A identity, subsampled and zero-padded where dims grow;
 *             RN_SHORTCUT_B 1x1 conv + BN only where dims change, identity elsewhere;
 *             RN_SHORTCUT_C 1x1 conv + BN on every block;
 *             RN_SHORTCUT_NONE no shortcut at all (the "plain" networks).
 *
 * A block is used standalone through this header, or as part of a model
 * (model.h). Its tensors are named as in torchvision: "conv1.weight",
 * "bn1.weight", "bn1.running_mean", ..., "downsample.0.weight", "downsample.1.bias".
 *
 * A block handle owns its parameters, BN running statistics, gradients and
 * the memory for one forward/backward (taken from its context, regrown when
 * a larger input comes). It follows its context's rule: one thread at a
 * time. Calls given a NULL block return RN_E_INVALID_ARG without a sentence;
 * every other failure leaves its sentence on the block's context.
 */
#ifndef RESNET_BLOCK_H
#define RESNET_BLOCK_H

#include "layers.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RN_BLOCK_BASIC      0
#define RN_BLOCK_BOTTLENECK 1

#define RN_SHORTCUT_DEFAULT -1
#define RN_SHORTCUT_A        0
#define RN_SHORTCUT_B        1
#define RN_SHORTCUT_C        2
#define RN_SHORTCUT_NONE     3

/* Model flags. */
#define RN_MODEL_ZERO_INIT_RESIDUAL 1u /* last BN weight of each block starts at 0 */
#define RN_MODEL_STRIDE_ON_1X1      2u /* bottleneck stride on the first 1x1 (paper v1) */

/* Plan modes. */
#define RN_MODE_INFER 0 /* eval: running BN statistics, no saved state */
#define RN_MODE_TRAIN 1 /* train: batch statistics, running-stat update, backward */

/* Tensor kinds. */
#define RN_TENSOR_PARAM  0 /* trainable (has a gradient) */
#define RN_TENSOR_BUFFER 1 /* BN running statistics */

typedef struct rn_block rn_block;

/* A block taking in_channels. For RN_BLOCK_BASIC out = width; for
 * RN_BLOCK_BOTTLENECK mid = width and out = 4 * width. flags: RN_MODEL_STRIDE_ON_1X1 and
 * RN_MODEL_ZERO_INIT_RESIDUAL (used by rn_block_init). shortcut RN_SHORTCUT_DEFAULT means
 * RN_SHORTCUT_B. Conv weights are zero and BN layers at PyTorch's defaults (weight 1, bias 0,
 * running mean 0, var 1) until rn_block_init.
 * Ownership: *out belongs to the caller; release it with rn_block_destroy
 * before the context.
 * Errors: RN_E_INVALID_ARG (NULL ctx or out; an unknown block_type, shortcut
 * or flag; in_channels or width outside [1, 65536] (bottleneck width [1,
 * 16384]); stride outside [1, 64]; option A where the channels would
 * shrink), RN_E_NO_MEMORY. *out is untouched on failure. */
RN_API rn_status rn_block_create(rn_ctx *ctx, int32_t block_type, int32_t in_channels,
                                 int32_t width, int32_t stride, int32_t shortcut,
                                 uint32_t flags, rn_block **out);
/* Release the block and everything it owns. NULL is accepted. */
RN_API void rn_block_destroy(rn_block *block);
/* He initialisation as rn_model_init does it (Kaiming-normal fan_out convs,
 * BN weight 1 bias 0, running statistics 0/1, the last BN weight 0 with
 * RN_MODEL_ZERO_INIT_RESIDUAL), deterministic for a seed. Only fails for a
 * NULL block (RN_E_INVALID_ARG). */
RN_API rn_status rn_block_init(rn_block *block, uint64_t seed);
/* The output channel count (width, or 4 * width for a bottleneck). */
RN_API rn_status rn_block_out_channels(const rn_block *block, int32_t *channels);

/* Forward: x (N,H,W,in) -> y (N,OH,OW,out) with OH = ceil(H / stride), same
 * for W. mode is RN_MODE_TRAIN (batch statistics, running statistics
 * updated with momentum 0.1; keeps what backward needs) or RN_MODE_INFER
 * (running statistics; keeps nothing). Any input size may follow any other.
 * x and y are borrowed for the call only and must not overlap.
 * Errors: RN_E_INVALID_ARG (NULL tensor, wrong shape: the sentence gives the
 * shape expected; unknown mode; train mode with N*H*W = 1 at a BN),
 * RN_E_OVERFLOW, RN_E_NO_MEMORY, RN_E_UNSUPPORTED for RN_MODE_TRAIN in an
 * inference-only build. */
RN_API rn_status rn_block_forward(rn_block *block, const rn_tensor *x, int32_t mode,
                                  rn_tensor *y);
/* Backward after a RN_MODE_TRAIN forward: dx from dy; parameter gradients
 * are stored in the block (overwritten). dy has the forward's output shape,
 * dx its input shape. Once per train forward: RN_E_BAD_STATE before any
 * forward, after an RN_MODE_INFER forward, or for a second backward. */
RN_API rn_status rn_block_backward(rn_block *block, const rn_tensor *dy, rn_tensor *dx);

/* Tensors by name, in PyTorch layout (see model.h for the conventions).
 * count: the number of tensors (0 for NULL).
 * info: index in [0, count); name (valid as long as the block), ndim (1 or
 * 4), dims in PyTorch's order (unused ones 0) and kind (RN_TENSOR_PARAM or
 * RN_TENSOR_BUFFER); any output may be NULL.
 * get / set copy `count` floats (which must equal the tensor's element count)
 * out of or into the block; the caller's array is not retained.
 * get_grad copies a RN_TENSOR_PARAM's gradient from the last backward (zero
 * before the first).
 * Errors: RN_E_NOT_FOUND for an unknown name (a "module." prefix is
 * accepted), RN_E_INVALID_ARG for a NULL pointer, a wrong count (the sentence
 * gives the right one), an index out of range or get_grad of a BN running
 * statistic, RN_E_UNSUPPORTED for get_grad in an inference-only build. */
RN_API int32_t rn_block_tensor_count(const rn_block *block);
RN_API rn_status rn_block_tensor_info(const rn_block *block, int32_t index, const char **name,
                                      int32_t *ndim, int64_t dims[4], int32_t *kind);
RN_API rn_status rn_block_get_tensor(const rn_block *block, const char *name, float *dst,
                                     size_t count);
RN_API rn_status rn_block_set_tensor(rn_block *block, const char *name, const float *src,
                                     size_t count);
RN_API rn_status rn_block_get_grad(const rn_block *block, const char *name, float *dst,
                                   size_t count);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_BLOCK_H */
