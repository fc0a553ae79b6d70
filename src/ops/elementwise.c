/*
 * Element-wise drivers: ReLU, y = max(x, 0), and its backward from the
 * output, dx = dy where y > 0 (PyTorch's threshold_backward on the result);
 * the residual addition y = a + b, optionally followed by the block's final
 * ReLU (the fused form the blocks use; y may be a or b). Each splits its
 * arrays into fixed blocks run by rn__parallel_for, one call of the table's
 * vectorised kernel per block.
 */
#include "ops.h"

/* 64 KiB of each stream per block: long enough to stream, many enough to
 * share between threads. */
#define RN_ELEMENTWISE_BLOCK ((size_t)1 << 14)

typedef struct ew_job {
    const struct rn_kernels *kt;
    size_t n;
    const float *a, *b, *c; /* relu: x; relu backward: y, dy, dy2; add: a, b */
    float *y;
    int32_t relu; /* add: apply the ReLU */
} ew_job;

static size_t block_len(size_t n, size_t t) {
    size_t lo = t * RN_ELEMENTWISE_BLOCK;
    return lo + RN_ELEMENTWISE_BLOCK < n ? RN_ELEMENTWISE_BLOCK : n - lo;
}

static void relu_forward_task(void *arg, size_t t) {
    const ew_job *j = (const ew_job *)arg;
    const size_t lo = t * RN_ELEMENTWISE_BLOCK;
    j->kt->relu(block_len(j->n, t), j->a + lo, j->y + lo);
}

static void relu_backward_task(void *arg, size_t t) {
    const ew_job *j = (const ew_job *)arg;
    const size_t lo = t * RN_ELEMENTWISE_BLOCK;
    j->kt->relu_backward(block_len(j->n, t), j->a + lo, j->b + lo, j->c ? j->c + lo : NULL,
                         j->y + lo);
}

static void add_task(void *arg, size_t t) {
    const ew_job *j = (const ew_job *)arg;
    const size_t lo = t * RN_ELEMENTWISE_BLOCK;
    j->kt->add(block_len(j->n, t), j->a + lo, j->b + lo, j->y + lo, j->relu ? 1u : 0u);
}

static void run(const rn_ctx *ctx, rn_task_fn task, size_t n, const float *a, const float *b,
                const float *c, float *y, int32_t relu) {
    ew_job j = {rn__ctx_kernels(ctx), n, a, b, c, y, relu};
    rn__parallel_for(ctx, (n + RN_ELEMENTWISE_BLOCK - 1) / RN_ELEMENTWISE_BLOCK, task, &j);
}

void rn__relu_forward(const rn_ctx *ctx, size_t n, const float *x, float *y) {
    run(ctx, relu_forward_task, n, x, NULL, NULL, y, 0);
}

void rn__relu_backward(const rn_ctx *ctx, size_t n, const float *y, const float *dy,
                       const float *dy2, float *dx) {
    run(ctx, relu_backward_task, n, y, dy, dy2, dx, 0);
}

void rn__add_forward(const rn_ctx *ctx, size_t n, const float *a, const float *b, float *y,
                     int32_t relu) {
    run(ctx, add_task, n, a, b, NULL, y, relu);
}
