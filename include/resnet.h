/*
 * libresnet: residual networks (He et al., "Deep Residual Learning for Image
 * Recognition", 2015) in C99: build, train and run them behind a stable C ABI.
 *
 * This umbrella header includes every layer of the public API, bottom up:
 *   resnet/core.h    status codes, version, context (allocator, threads, ISA, log)
 *   resnet/tensor.h  4-D float32 NHWC tensors, NCHW at the edge
 *   resnet/layers.h  conv2d, batch norm, ReLU, pooling, linear, add, option-A
 *                    shortcut, softmax cross-entropy: forward and backward
 *   resnet/block.h   basic and bottleneck residual blocks, shortcut options
 *   resnet/model.h   builder, presets, parameters by name, plans
 *   resnet/train.h   SGD, learning-rate schedules, augmentation, metrics
 *   resnet/io.h      .npy, safetensors, IDX, CIFAR-10 binary, checkpoints
 */
#ifndef RESNET_H
#define RESNET_H

#include "resnet/core.h"
#include "resnet/tensor.h"
#include "resnet/layers.h"
#include "resnet/block.h"
#include "resnet/model.h"
#include "resnet/train.h"
#include "resnet/io.h"

#endif /* RESNET_H */
