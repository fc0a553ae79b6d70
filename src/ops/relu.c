/*
 * ReLU drivers: y = max(x, 0) and its backward from the output,
 * dx = dy where y > 0 (PyTorch's threshold_backward on the result).
 * Elementwise, split into fixed blocks run by rn__parallel_for, each block
 * one call of the table's vectorised kernel.
 */
#include "ops.h"
#include "../kernels/kernels.h"

/* 64 KiB of each stream per block: long enough to stream, many enough to
 * share between threads. */
#define RN_RELU_BLOCK ((size_t)1 << 14)

typedef struct relu_job {
    const struct rn_kernels *kt;
    size_t n;
    const float *x, *dy;
    float *y;
} relu_job;

static size_t block_len(size_t n, size_t t) {
    size_t lo = t * RN_RELU_BLOCK;
    return lo + RN_RELU_BLOCK < n ? RN_RELU_BLOCK : n - lo;
}

static void relu_forward_task(void *arg, size_t t) {
    const relu_job *j = (const relu_job *)arg;
    const size_t lo = t * RN_RELU_BLOCK;
    j->kt->relu(block_len(j->n, t), j->x + lo, j->y + lo);
}

void rn__relu_forward(const rn_ctx *ctx, size_t n, const float *x, float *y) {
    relu_job j = {ctx->kernels, n, x, NULL, y};
    rn__parallel_for(ctx, (n + RN_RELU_BLOCK - 1) / RN_RELU_BLOCK, relu_forward_task, &j);
}

static void relu_backward_task(void *arg, size_t t) {
    const relu_job *j = (const relu_job *)arg;
    const size_t lo = t * RN_RELU_BLOCK;
    j->kt->relu_backward(block_len(j->n, t), j->x + lo, j->dy + lo, j->y + lo);
}

void rn__relu_backward(const rn_ctx *ctx, size_t n, const float *y, const float *dy, float *dx) {
    relu_job j = {ctx->kernels, n, y, dy, dx};
    rn__parallel_for(ctx, (n + RN_RELU_BLOCK - 1) / RN_RELU_BLOCK, relu_backward_task, &j);
}
