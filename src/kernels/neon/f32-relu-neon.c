/*
 * NEON ReLU kernel (contract in kernels.h): "x < 0 ? 0 : x" as a compare and
 * select, so NaN and -0 pass as in the scalar kernel (vmaxq would turn NaN
 * into NaN too, but this keeps the rule visibly the same). Scalar tail.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_f32_relu__neon(RN_RELU_ARGS) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = i; j < i + 16; j += 4) {
            const float32x4_t v = vld1q_f32(x + j);
            vst1q_f32(y + j, vbslq_f32(vcltq_f32(v, zero), zero, v));
        }
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        vst1q_f32(y + i, vbslq_f32(vcltq_f32(v, zero), zero, v));
    }
    for (; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}
