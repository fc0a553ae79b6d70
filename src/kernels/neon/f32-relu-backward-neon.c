/*
 * NEON ReLU backward kernel (contract in kernels.h): dx = g (dy, or dy + dy2)
 * where y > 0 (an ordered compare: NaN in y gives 0), else 0, branch-free
 * with a compare and select. Scalar tail.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_f32_relu_backward__neon(RN_RELU_BACKWARD_ARGS) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    if (dy2) {
        for (; i + 4 <= n; i += 4) {
            const float32x4_t g = vaddq_f32(vld1q_f32(dy + i), vld1q_f32(dy2 + i));
            vst1q_f32(dx + i, vbslq_f32(vcgtq_f32(vld1q_f32(y + i), zero), g, zero));
        }
        for (; i < n; i++) {
            const float g = dy[i] + dy2[i];
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
        return;
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(dx + i, vbslq_f32(vcgtq_f32(vld1q_f32(y + i), zero), vld1q_f32(dy + i), zero));
    for (; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
