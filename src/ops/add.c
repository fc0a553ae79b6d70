/*
 * Residual addition driver: y = a + b, optionally followed by the block's
 * final ReLU (the fused form the blocks use). Elementwise, split into fixed
 * blocks run by rn__parallel_for; y may be a or b.
 */
#include "ops.h"

#define RN_ADD_BLOCK ((size_t)1 << 14)

typedef struct add_job {
    size_t n;
    const float *a, *b;
    float *y;
    int32_t relu;
} add_job;

static void add_task(void *arg, size_t t) {
    const add_job *j = (const add_job *)arg;
    size_t lo = t * RN_ADD_BLOCK, hi = lo + RN_ADD_BLOCK < j->n ? lo + RN_ADD_BLOCK : j->n;
    if (j->relu) {
        for (size_t i = lo; i < hi; i++) {
            float v = j->a[i] + j->b[i];
            j->y[i] = v < 0.0f ? 0.0f : v;
        }
    } else {
        for (size_t i = lo; i < hi; i++) j->y[i] = j->a[i] + j->b[i];
    }
}

void rn__add_forward(const rn_ctx *ctx, size_t n, const float *a, const float *b, float *y,
                     int32_t relu) {
    add_job j = {n, a, b, y, relu};
    rn__parallel_for(ctx, (n + RN_ADD_BLOCK - 1) / RN_ADD_BLOCK, add_task, &j);
}
