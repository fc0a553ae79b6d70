/*
 * GEMM driver: packs B into NR-wide panels and A into contiguous row blocks,
 * then runs the dispatch table's MR x NR microkernel over the tiles.
 * Threads split the output tiles, never the K dimension, so every element is
 * summed in the same order whatever the thread count.
 *
 * First version: plain packing of the whole B per call, serial.
 */
#include "ops.h"
#include "../kernels/kernels.h"

size_t rn__sgemm_workspace(const rn_ctx *ctx, size_t m, size_t n, size_t k) {
    size_t nr = (size_t)ctx->kernels->gemm_nr;
    size_t npad = (n + nr - 1) / nr * nr;
    (void)m;
    return (npad * k + m * k) * sizeof(float) + RN_ALIGN;
}

void rn__sgemm(const rn_ctx *ctx, int32_t trans_a, int32_t trans_b, size_t m, size_t n,
               size_t k, const float *a, size_t lda, const float *b, size_t ldb,
               int32_t accumulate, const float *bias, int32_t relu, float *c, size_t ldc,
               void *ws) {
    const struct rn_kernels *kt = ctx->kernels;
    size_t mr = (size_t)kt->gemm_mr, nr = (size_t)kt->gemm_nr;
    float *bp = (float *)rn__align_up((size_t)(uintptr_t)ws, RN_ALIGN);
    size_t npanels = (n + nr - 1) / nr;
    float *ap = bp + npanels * nr * k;
    /* pack B (k x n, op applied) into panels [panel][k][nr], zero-padded */
    for (size_t pj = 0; pj < npanels; pj++)
        for (size_t p = 0; p < k; p++)
            for (size_t j = 0; j < nr; j++) {
                size_t col = pj * nr + j;
                float v = 0.0f;
                if (col < n) v = trans_b ? b[col * ldb + p] : b[p * ldb + col];
                bp[(pj * k + p) * nr + j] = v;
            }
    /* A as op(A) row-major m x k */
    const float *arows = a;
    size_t astride = lda;
    if (trans_a) {
        for (size_t i = 0; i < m; i++)
            for (size_t p = 0; p < k; p++) ap[i * k + p] = a[p * lda + i];
        arows = ap;
        astride = k;
    }
    for (size_t i0 = 0; i0 < m; i0 += mr) {
        size_t rows = m - i0 < mr ? m - i0 : mr;
        for (size_t pj = 0; pj < npanels; pj++) {
            size_t j0 = pj * nr, cols = n - j0 < nr ? n - j0 : nr;
            float *ct = c + i0 * ldc + j0;
            kt->gemm(rows, cols, k, arows + i0 * astride, astride, bp + pj * k * nr, ct, ldc,
                     accumulate);
            if (bias || relu)
                for (size_t i = 0; i < rows; i++)
                    for (size_t j = 0; j < cols; j++) {
                        float v = ct[i * ldc + j] + (bias ? bias[j0 + j] : 0.0f);
                        ct[i * ldc + j] = relu && v < 0.0f ? 0.0f : v;
                    }
        }
    }
}
