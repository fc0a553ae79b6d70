/*
 * NEON batch-norm backward reductions (contract in kernels.h): the masked
 * gradient g and g * (x - mean) summed per channel in double, 4 channels per
 * vector, in the scalar kernel's order and rounding; the last nc % 4
 * channels take the scalar loop.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_f32_bn_grad_sums__neon(RN_BN_GRAD_SUMS_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (size_t c0 = 0; c0 < nc4; c0 += 4) {
        const float32x4_t mean4 = vld1q_f32(mean + c0);
        /* the mask's coefficients (unused when ma is NULL) */
        const float32x4_t vma = ma ? vld1q_f32(ma + c0) : zero,
                          vmb = ma ? vld1q_f32(mb + c0) : zero;
        const float64x2_t mnlo = vcvt_f64_f32(vget_low_f32(mean4)), mnhi = vcvt_high_f64_f32(mean4);
        float64x2_t slo = vld1q_f64(sum + c0), shi = vld1q_f64(sum + c0 + 2);
        float64x2_t xlo = vld1q_f64(sum_gx + c0), xhi = vld1q_f64(sum_gx + c0 + 2);
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            float32x4_t g = vld1q_f32(dy + off);
            /* the fused ReLU passed gradient only where its output was > 0 */
            const float32x4_t xv = vld1q_f32(x + off);
            if (relu_y)
                g = vbslq_f32(vcgtq_f32(vld1q_f32(relu_y + off), zero), g, zero);
            else if (ma)
                g = vbslq_f32(vcgtq_f32(vaddq_f32(vmulq_f32(xv, vma), vmb), zero), g, zero);
            const float64x2_t glo = vcvt_f64_f32(vget_low_f32(g)), ghi = vcvt_high_f64_f32(g);
            const float64x2_t dlo = vsubq_f64(vcvt_f64_f32(vget_low_f32(xv)), mnlo);
            const float64x2_t dhi = vsubq_f64(vcvt_high_f64_f32(xv), mnhi);
            slo = vaddq_f64(slo, glo);
            shi = vaddq_f64(shi, ghi);
            xlo = vaddq_f64(xlo, vmulq_f64(glo, dlo));
            xhi = vaddq_f64(xhi, vmulq_f64(ghi, dhi));
        }
        vst1q_f64(sum + c0, slo);
        vst1q_f64(sum + c0 + 2, shi);
        vst1q_f64(sum_gx + c0, xlo);
        vst1q_f64(sum_gx + c0 + 2, xhi);
    }
    for (size_t i = nc4; i < nc; i++)
        for (size_t r = 0; r < rows; r++) {
            const size_t at = r * stride + i;
            const float gf = rn__bn_relu_passes(relu_y, ma, mb, x, at, i) ? dy[at] : 0.0f;
            const double g = gf, d = (double)x[at] - (double)mean[i];
            const double gd = g * d;
            sum[i] += g;
            sum_gx[i] += gd;
        }
}
