/*
 * `resnet bench --layers`: the per-layer half of the bench, in its own file
 * (bench-layers.c) because it times single convolutions through the public
 * layer API rather than whole networks through a plan.
 */
#ifndef RESNET_BENCH_LAYERS_H
#define RESNET_BENCH_LAYERS_H

#include "cli.h"

/* Print the time and GFLOP/s of every distinct convolution shape of `m`
 * (found through rn_model_layer_info and the model's conv weights) for a
 * batch x h x w input, run through rn_conv2d_forward (and, when train is
 * set, rn_conv2d_backward_data and rn_conv2d_backward_weights) on ctx's
 * threads, grouped by shape, against `network_ms`, the whole network's
 * median time per batch. Each pass of each shape runs at least 3 times and
 * for seconds / 20 (at most 0.25 s). Returns a CLI_EXIT_* code. */
int bench_layers(rn_ctx *ctx, const rn_model *m, int64_t batch, int64_t h, int64_t w, int train,
                 int64_t threads, double seconds, double network_ms);

#endif /* RESNET_BENCH_LAYERS_H */
