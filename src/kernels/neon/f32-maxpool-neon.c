/*
 * NEON max-pool window kernel (contract in kernels.h), 4 channels per
 * vector: a cell takes over where v > m, or where v is NaN and m is not,
 * exactly the scalar rule. The last nc % 4 channels are scalar.
 */
#include <arm_neon.h>

#include "../kernels.h"

/* lanes where v is NaN and m is not: v != v and m == m */
static inline uint32x4_t nan_over(float32x4_t v, float32x4_t m) {
    return vandq_u32(vmvnq_u32(vceqq_f32(v, v)), vceqq_f32(m, m));
}

void rn_f32_maxpool__neon(RN_MAXPOOL_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    for (size_t c0 = 0; c0 < nc4; c0 += 4) {
        float32x4_t m = vld1q_f32(x + c0);
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const float32x4_t v = vld1q_f32(x + iy * row_stride + ix * pix_stride + c0);
                m = vbslq_f32(vorrq_u32(vcgtq_f32(v, m), nan_over(v, m)), v, m);
            }
        vst1q_f32(y + c0, m);
    }
    for (size_t i = nc4; i < nc; i++) {
        float m = x[i];
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const float v = x[iy * row_stride + ix * pix_stride + i];
                if (v > m || (v != v && m == m)) m = v;
            }
        y[i] = m;
    }
}
