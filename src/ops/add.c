/*
 * Residual addition driver: y = a + b, optionally followed by the block's
 * final ReLU (the fused form the blocks use). Elementwise, split into fixed
 * blocks run by rn__parallel_for, each one call of the table's vectorised
 * kernel; y may be a or b.
 */
#include "ops.h"
#include "../kernels/kernels.h"

#define RN_ADD_BLOCK ((size_t)1 << 14)

typedef struct add_job {
    const struct rn_kernels *kt;
    size_t n;
    const float *a, *b;
    float *y;
    int32_t relu;
} add_job;

static void add_task(void *arg, size_t t) {
    const add_job *j = (const add_job *)arg;
    const size_t lo = t * RN_ADD_BLOCK;
    const size_t len = lo + RN_ADD_BLOCK < j->n ? RN_ADD_BLOCK : j->n - lo;
    j->kt->add(len, j->a + lo, j->b + lo, j->y + lo, j->relu ? 1u : 0u);
}

void rn__add_forward(const rn_ctx *ctx, size_t n, const float *a, const float *b, float *y,
                     int32_t relu) {
    add_job j = {ctx->kernels, n, a, b, y, relu};
    rn__parallel_for(ctx, (n + RN_ADD_BLOCK - 1) / RN_ADD_BLOCK, add_task, &j);
}
