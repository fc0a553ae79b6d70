/*
 * Fully connected drivers: y[n x out] = x[n x in] w[out x in]^T + b, and the
 * backward: dx = dy w, dw = dy^T x (one GEMM whose K is the batch, never
 * split across threads), db = column sums of dy in batch order, in double
 * (rn__column_sums, which the convolution's bias gradient uses too).
 */
#include "ops.h"

/* Columns per task of rn__column_sums. */
#define RN_COLSUM_BLOCK 16

size_t rn__linear_workspace(const rn_ctx *ctx, size_t n, size_t in, size_t out) {
    size_t fwd = rn__sgemm_workspace(ctx, n, out, in);
    size_t bwd_data = rn__sgemm_workspace(ctx, n, in, out);
    size_t bwd_w = rn__sgemm_workspace(ctx, out, in, n);
    size_t m = fwd > bwd_data ? fwd : bwd_data;
    return m > bwd_w ? m : bwd_w;
}

void rn__linear_forward(const rn_ctx *ctx, size_t n, size_t in, size_t out, const float *x,
                        const float *w, const float *b, float *y, void *ws) {
    rn__sgemm(ctx, 0, 1, n, out, in, x, in, w, in, 0, b, 0, y, out, ws);
}

typedef struct colsum_job {
    const float *m;
    float *sums;
    size_t rows, cols;
} colsum_job;

static void colsum_task(void *arg, size_t t) {
    const colsum_job *j = (const colsum_job *)arg;
    size_t c0 = t * RN_COLSUM_BLOCK;
    size_t c1 = c0 + RN_COLSUM_BLOCK < j->cols ? c0 + RN_COLSUM_BLOCK : j->cols;
    double acc[RN_COLSUM_BLOCK] = {0};
    for (size_t r = 0; r < j->rows; r++) {
        const float *row = j->m + r * j->cols;
        for (size_t ch = c0; ch < c1; ch++) acc[ch - c0] += row[ch];
    }
    for (size_t ch = c0; ch < c1; ch++) j->sums[ch] = (float)acc[ch - c0];
}

void rn__column_sums(const rn_ctx *ctx, const float *m, size_t rows, size_t cols, float *sums) {
    colsum_job j = {m, sums, rows, cols};
    rn__parallel_for(ctx, (cols + RN_COLSUM_BLOCK - 1) / RN_COLSUM_BLOCK, colsum_task, &j);
}

void rn__linear_backward(const rn_ctx *ctx, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *dy, float *dx, float *dw, float *db,
                         void *ws) {
    if (dx) rn__sgemm(ctx, 0, 0, n, in, out, dy, out, w, in, 0, NULL, 0, dx, in, ws);
    rn__sgemm(ctx, 1, 0, out, in, n, dy, out, x, in, 0, NULL, 0, dw, in, ws);
    if (db) rn__column_sums(ctx, dy, n, out, db);
}
