/*
 * Convolution backward-weights: dW[oc x K] = sum over the chunks of output
 * pixels, in chunk order, of dy_chunk^T * col_chunk (the GEMM's accumulate
 * flag), so the sum's order is fixed by the chunking alone; the bias
 * gradient is the column sums of dy, one task per channel block walking the
 * pixels in order in double. See conv2d-common.h.
 */
#include "conv2d-common.h"

#define RN_CONV_COLSUM_BLOCK 16

typedef struct colsum_job {
    const float *dy;
    float *db;
    size_t rows, cols;
} colsum_job;

static void colsum_task(void *arg, size_t t) {
    const colsum_job *j = (const colsum_job *)arg;
    size_t c0 = t * RN_CONV_COLSUM_BLOCK;
    size_t c1 = c0 + RN_CONV_COLSUM_BLOCK < j->cols ? c0 + RN_CONV_COLSUM_BLOCK : j->cols;
    double acc[RN_CONV_COLSUM_BLOCK] = {0};
    for (size_t r = 0; r < j->rows; r++) {
        const float *row = j->dy + r * j->cols;
        for (size_t ch = c0; ch < c1; ch++) acc[ch - c0] += row[ch];
    }
    for (size_t ch = c0; ch < c1; ch++) j->db[ch] = (float)acc[ch - c0];
}

void rn__conv2d_backward_weights(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                 const float *dy, float *dw, float *db, void *ws) {
    size_t total = rn__conv_rows(d), chunk = rn__conv_chunk_rows(d), k = rn__conv_k(d);
    size_t oc = (size_t)d->oc;
    int direct = rn__conv_is_direct(d);
    float *col = rn__conv_ws_col(ws);
    void *gws = rn__conv_ws_gemm(ws, d);
    for (size_t r0 = 0; r0 < total; r0 += chunk) {
        size_t rows = total - r0 < chunk ? total - r0 : chunk;
        const float *b = x + r0 * k; /* direct: k == c, the input rows themselves */
        if (!direct) {
            rn__conv_im2col(ctx, d, x, r0, rows, col);
            b = col;
        }
        rn__sgemm(ctx, 1, 0, oc, k, rows, dy + r0 * oc, oc, b, k, r0 > 0, NULL, 0, dw, k, gws);
    }
    if (db) {
        colsum_job j = {dy, db, total, oc};
        rn__parallel_for(ctx, (oc + RN_CONV_COLSUM_BLOCK - 1) / RN_CONV_COLSUM_BLOCK, colsum_task,
                         &j);
    }
}
