/*
 * NEON batch-norm statistics kernel (contract in kernels.h): 4 channels per
 * vector, widened to two vectors of 2 doubles, in the scalar kernel's per-row
 * order and rounding (separate multiply and add). NEON has no masked loads:
 * the last nc % 4 channels take the scalar loop.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_f32_bn_stats__neon(RN_BN_STATS_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    for (size_t c0 = 0; c0 < nc4; c0 += 4) {
        const float64x2_t shlo = vld1q_f64(shift + c0), shhi = vld1q_f64(shift + c0 + 2);
        float64x2_t slo = vld1q_f64(sum + c0), shi = vld1q_f64(sum + c0 + 2);
        float64x2_t qlo = vld1q_f64(sumsq + c0), qhi = vld1q_f64(sumsq + c0 + 2);
        const float *p = x + c0;
        for (size_t r = 0; r < rows; r++, p += stride) {
            const float32x4_t v = vld1q_f32(p);
            const float64x2_t vlo = vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), shlo);
            const float64x2_t vhi = vsubq_f64(vcvt_high_f64_f32(v), shhi);
            slo = vaddq_f64(slo, vlo);
            shi = vaddq_f64(shi, vhi);
            qlo = vaddq_f64(qlo, vmulq_f64(vlo, vlo));
            qhi = vaddq_f64(qhi, vmulq_f64(vhi, vhi));
        }
        vst1q_f64(sum + c0, slo);
        vst1q_f64(sum + c0 + 2, shi);
        vst1q_f64(sumsq + c0, qlo);
        vst1q_f64(sumsq + c0 + 2, qhi);
    }
    for (size_t i = nc4; i < nc; i++)
        for (size_t r = 0; r < rows; r++) {
            const double v = (double)x[r * stride + i] - shift[i];
            const double sq = v * v;
            sum[i] += v;
            sumsq[i] += sq;
        }
}
