/*
 * `resnet bench --layers`: the per-layer half of the bench, in its own file
 * (bench-layers.c) because it times single convolutions through the public
 * layer API rather than whole networks through a plan.
 */
#ifndef RESNET_BENCH_LAYERS_H
#define RESNET_BENCH_LAYERS_H

#include "cli.h"

/* The plan's log lines (RN_LOG_INFO while the plan is created), one per
 * line: each convolution pass and the algorithm the plan chose for it. */
typedef struct bench_log {
    char *text;
    size_t len, cap;
} bench_log;
/* An rn_log_fn appending to the bench_log at user (silently drops on OOM). */
void bench_layers_log(void *user, int32_t level, const char *message);

/* Print the time and GFLOP/s of every distinct convolution shape of `m`
 * (found through rn_model_layer_info and the model's conv weights) for a
 * batch x h x w input, run through rn_conv2d_forward (and, when train is
 * set, rn_conv2d_backward_data and rn_conv2d_backward_weights) on ctx's
 * threads, grouped by shape, against `network_ms`, the whole network's
 * median time per batch. Each pass of each shape runs at least 3 times and
 * for seconds / 20 (at most 0.25 s). With each shape, the algorithm the
 * network's plan runs for each pass (from plan_log). Returns a CLI_EXIT_* code. */
int bench_layers(rn_ctx *ctx, const rn_model *m, int64_t batch, int64_t h, int64_t w, int train,
                 int64_t threads, double seconds, double network_ms, const bench_log *plan_log);

#endif /* RESNET_BENCH_LAYERS_H */
