/*
 * Portable batch-norm apply kernel (contract in kernels.h): y = x * a + b per
 * channel, then the fused ReLU. The product is rounded before the sum (no
 * fused multiply-add), which the SIMD kernels reproduce.
 */
#include "../kernels.h"

void rn_f32_bn_apply__scalar(RN_BN_APPLY_ARGS) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * stride;
        float *out = y + r * stride;
        for (size_t i = 0; i < nc; i++) {
            const float p = in[i] * a[i];
            const float v = p + b[i];
            /* "v < 0 ? 0 : v" lets NaN through, as torch.relu does */
            out[i] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}
