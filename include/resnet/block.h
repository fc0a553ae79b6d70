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
 * running mean 0, var 1) until rn_block_init. */
RN_API rn_status rn_block_create(rn_ctx *ctx, int32_t block_type, int32_t in_channels,
                                 int32_t width, int32_t stride, int32_t shortcut,
                                 uint32_t flags, rn_block **out);
RN_API void rn_block_destroy(rn_block *block);
RN_API rn_status rn_block_init(rn_block *block, uint64_t seed);
RN_API rn_status rn_block_out_channels(const rn_block *block, int32_t *channels);

/* Forward: x (N,H,W,in) -> y (N,OH,OW,out). mode is RN_MODE_TRAIN (batch
 * statistics; keeps what backward needs) or RN_MODE_INFER. */
RN_API rn_status rn_block_forward(rn_block *block, const rn_tensor *x, int32_t mode,
                                  rn_tensor *y);
/* Backward after a RN_MODE_TRAIN forward: dx from dy; parameter gradients
 * are stored in the block (overwritten). */
RN_API rn_status rn_block_backward(rn_block *block, const rn_tensor *dy, rn_tensor *dx);

/* Tensors by name, in PyTorch layout (see model.h for the conventions). */
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
