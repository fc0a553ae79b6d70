/*
 * Softmax cross-entropy over n rows of k logits, mean over the batch
 * (PyTorch's F.cross_entropy with reduction "mean"), log-sum-exp stabilised
 * by the row maximum. The loss is summed in row order in double; the
 * gradient (softmax - onehot) / n is written row by row in parallel. A
 * shard of a data-parallel batch takes the row sum and divides its gradient
 * by the global batch instead (rn__softmax_xent_total).
 */
#include "ops.h"

typedef struct xent_job {
    size_t n, k, divisor;
    const float *logits;
    const int32_t *labels;
    float *dlogits;
} xent_job;

/* max and log(sum(exp(x - max))) of one row, in double */
static double row_logsumexp(const float *row, size_t k, double *max_out) {
    double m = row[0], s = 0.0;
    for (size_t i = 1; i < k; i++)
        if (row[i] > m) m = row[i];
    for (size_t i = 0; i < k; i++) s += rn_exp((double)row[i] - m);
    *max_out = m;
    return rn_log(s);
}

static void xent_grad_task(void *arg, size_t r) {
    const xent_job *j = (const xent_job *)arg;
    const float *row = j->logits + r * j->k;
    float *g = j->dlogits + r * j->k;
    double m, lse = row_logsumexp(row, j->k, &m), inv_n = 1.0 / (double)j->divisor;
    for (size_t i = 0; i < j->k; i++) {
        double p = rn_exp((double)row[i] - m - lse);
        if ((int64_t)i == (int64_t)j->labels[r]) p -= 1.0;
        g[i] = (float)(p * inv_n);
    }
}

double rn__softmax_xent_total(const rn_ctx *ctx, size_t n, size_t k, const float *logits,
                              const int32_t *labels, float *dlogits, size_t divisor) {
    double total = 0.0;
    for (size_t r = 0; r < n; r++) {
        const float *row = logits + r * k;
        double m, lse = row_logsumexp(row, k, &m);
        total += m + lse - (double)row[labels[r]];
    }
    if (dlogits) {
        xent_job j = {n, k, divisor, logits, labels, dlogits};
        rn__parallel_for(ctx, n, xent_grad_task, &j);
    }
    return total;
}

float rn__softmax_xent(const rn_ctx *ctx, size_t n, size_t k, const float *logits,
                       const int32_t *labels, float *dlogits) {
    return (float)(rn__softmax_xent_total(ctx, n, k, logits, labels, dlogits, n) / (double)n);
}
