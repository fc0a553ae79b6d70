/*
 * ReLU drivers: y = max(x, 0) and its backward from the output,
 * dx = dy where y > 0 (PyTorch's threshold_backward on the result).
 * Elementwise, split into fixed blocks run by rn__parallel_for.
 */
#include "ops.h"

#define RN_RELU_BLOCK ((size_t)1 << 14)

typedef struct relu_job {
    size_t n;
    const float *x, *dy;
    float *y;
} relu_job;

static void relu_forward_task(void *arg, size_t t) {
    const relu_job *j = (const relu_job *)arg;
    size_t lo = t * RN_RELU_BLOCK, hi = lo + RN_RELU_BLOCK < j->n ? lo + RN_RELU_BLOCK : j->n;
    /* written as "x < 0 ? 0 : x" so that NaN passes through, as in PyTorch */
    for (size_t i = lo; i < hi; i++) j->y[i] = j->x[i] < 0.0f ? 0.0f : j->x[i];
}

void rn__relu_forward(const rn_ctx *ctx, size_t n, const float *x, float *y) {
    relu_job j = {n, x, NULL, y};
    rn__parallel_for(ctx, (n + RN_RELU_BLOCK - 1) / RN_RELU_BLOCK, relu_forward_task, &j);
}

static void relu_backward_task(void *arg, size_t t) {
    const relu_job *j = (const relu_job *)arg;
    size_t lo = t * RN_RELU_BLOCK, hi = lo + RN_RELU_BLOCK < j->n ? lo + RN_RELU_BLOCK : j->n;
    for (size_t i = lo; i < hi; i++) j->y[i] = j->x[i] > 0.0f ? j->dy[i] : 0.0f;
}

void rn__relu_backward(const rn_ctx *ctx, size_t n, const float *y, const float *dy, float *dx) {
    relu_job j = {n, y, dy, dx};
    rn__parallel_for(ctx, (n + RN_RELU_BLOCK - 1) / RN_RELU_BLOCK, relu_backward_task, &j);
}
