/*
 * Portable batch-norm apply kernel (contract in kernels.h): y = x * a + b per
 * channel, plus the residual r if given, then the fused ReLU. The product is
 * rounded before the sum (no fused multiply-add), and the residual added to
 * that rounded sum, which the SIMD kernels reproduce.
 */
#include "../kernels.h"

void rn_f32_bn_apply__scalar(RN_BN_APPLY_ARGS) {
    for (size_t row = 0; row < rows; row++) {
        const float *in = x + row * stride;
        const float *res = r ? r + row * stride : NULL;
        float *out = y + row * stride;
        for (size_t i = 0; i < nc; i++) {
            const float p = in[i] * a[i];
            float v = p + b[i];
            if (res) v = v + res[i];
            /* "v < 0 ? 0 : v" lets NaN through, as torch.relu does */
            out[i] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}
