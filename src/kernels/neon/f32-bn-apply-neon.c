/*
 * NEON batch-norm apply kernel (contract in kernels.h): y = x * a + b with
 * the product rounded before the sum (vmul then vadd, never vfma), plus the
 * residual r if given, then the fused ReLU written as "v < 0 ? 0 : v" with a
 * compare and select, which keeps NaN. 4 channels per vector; the last
 * nc % 4 channels are scalar.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_f32_bn_apply__neon(RN_BN_APPLY_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (size_t c0 = 0; c0 < nc4; c0 += 4) {
        const float32x4_t va = vld1q_f32(a + c0), vb = vld1q_f32(b + c0);
        const float *in = x + c0;
        const float *res = r ? r + c0 : NULL;
        float *out = y + c0;
        for (size_t row = 0; row < rows; row++, in += stride, out += stride) {
            float32x4_t v = vaddq_f32(vmulq_f32(vld1q_f32(in), va), vb);
            if (res) {
                v = vaddq_f32(v, vld1q_f32(res));
                res += stride;
            }
            if (relu) v = vbslq_f32(vcltq_f32(v, zero), zero, v);
            vst1q_f32(out, v);
        }
    }
    for (size_t i = nc4; i < nc; i++)
        for (size_t row = 0; row < rows; row++) {
            const float p = x[row * stride + i] * a[i];
            float v = p + b[i];
            if (r) v = v + r[row * stride + i];
            y[row * stride + i] = relu && v < 0.0f ? 0.0f : v;
        }
}
