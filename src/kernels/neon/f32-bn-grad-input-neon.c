/*
 * NEON batch-norm backward input kernel (contract in kernels.h):
 * dx = (a * g - b) - k * (x - mean), each product rounded (vmul, never vfma)
 * as in the scalar kernel, g the ReLU-masked gradient. 4 channels per
 * vector; the last nc % 4 channels are scalar.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_f32_bn_grad_input__neon(RN_BN_GRAD_INPUT_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (size_t c0 = 0; c0 < nc4; c0 += 4) {
        const float32x4_t va = vld1q_f32(a + c0), vb = vld1q_f32(b + c0);
        const float32x4_t vk = vld1q_f32(k + c0), vm = vld1q_f32(mean + c0);
        const float32x4_t vma = ma ? vld1q_f32(ma + c0) : zero,
                          vmb = ma ? vld1q_f32(mb + c0) : zero;
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            float32x4_t g = vld1q_f32(dy + off);
            const float32x4_t xv = vld1q_f32(x + off);
            if (relu_y)
                g = vbslq_f32(vcgtq_f32(vld1q_f32(relu_y + off), zero), g, zero);
            else if (ma)
                g = vbslq_f32(vcgtq_f32(vaddq_f32(vmulq_f32(xv, vma), vmb), zero), g, zero);
            const float32x4_t d = vsubq_f32(xv, vm);
            vst1q_f32(dx + off, vsubq_f32(vsubq_f32(vmulq_f32(va, g), vb), vmulq_f32(vk, d)));
        }
    }
    for (size_t i = nc4; i < nc; i++)
        for (size_t r = 0; r < rows; r++) {
            const size_t at = r * stride + i;
            const float g = rn__bn_relu_passes(relu_y, ma, mb, x, at, i) ? dy[at] : 0.0f;
            const float ag = a[i] * g, d = x[at] - mean[i];
            const float kd = k[i] * d;
            dx[at] = (ag - b[i]) - kd;
        }
}
