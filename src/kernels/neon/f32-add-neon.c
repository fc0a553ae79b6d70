/*
 * NEON residual-addition kernel (contract in kernels.h): y = a + b, then the
 * ReLU "v < 0 ? 0 : v" as a compare and select (NaN kept). Scalar tail.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_f32_add__neon(RN_ADD_ARGS) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    if (relu) {
        for (; i + 4 <= n; i += 4) {
            const float32x4_t v = vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
            vst1q_f32(y + i, vbslq_f32(vcltq_f32(v, zero), zero, v));
        }
    } else {
        for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    }
    for (; i < n; i++) {
        const float v = a[i] + b[i];
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}
