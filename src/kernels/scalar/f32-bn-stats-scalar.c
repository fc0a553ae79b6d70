/*
 * Portable batch-norm statistics kernel (contract in kernels.h): per-channel
 * sums of x - shift and of its square, row by row in double. The SIMD
 * kernels add the same terms in the same order, so they reproduce these sums.
 */
#include "../kernels.h"

void rn_f32_bn_stats__scalar(RN_BN_STATS_ARGS) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * stride;
        for (size_t i = 0; i < nc; i++) {
            const double v = (double)row[i] - shift[i];
            const double sq = v * v;
            sum[i] += v;
            sumsq[i] += sq;
        }
    }
}
