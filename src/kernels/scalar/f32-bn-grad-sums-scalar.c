/*
 * Portable batch-norm backward reductions (contract in kernels.h): per
 * channel, the sum of the (ReLU-masked) output gradient g and the sum of
 * g * (x - mean), row by row in double.
 */
#include "../kernels.h"

void rn_f32_bn_grad_sums__scalar(RN_BN_GRAD_SUMS_ARGS) {
    for (size_t r = 0; r < rows; r++) {
        const size_t base = r * stride;
        for (size_t i = 0; i < nc; i++) {
            /* the fused ReLU passed gradient only where its output was > 0 */
            const float gf =
                rn__bn_relu_passes(relu_y, ma, mb, x, base + i, i) ? dy[base + i] : 0.0f;
            const double g = gf, d = (double)x[base + i] - (double)mean[i];
            const double gd = g * d;
            sum[i] += g;
            sum_gx[i] += gd;
        }
    }
}
