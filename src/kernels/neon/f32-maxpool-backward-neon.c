/*
 * NEON max-pool backward window kernel (contract in kernels.h), 4 channels
 * per vector: a first pass finds the window maximum (the forward rule), a
 * second adds g to the first cell equal to it (or the first NaN when it is
 * NaN), lane by lane through a select. The last nc % 4 channels are scalar.
 */
#include <arm_neon.h>

#include "../kernels.h"

static inline uint32x4_t nan_over(float32x4_t v, float32x4_t m) {
    return vandq_u32(vmvnq_u32(vceqq_f32(v, v)), vceqq_f32(m, m));
}

void rn_f32_maxpool_backward__neon(RN_MAXPOOL_BACKWARD_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    for (size_t c0 = 0; c0 < nc4; c0 += 4) {
        float32x4_t m = vld1q_f32(x + c0);
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const float32x4_t v = vld1q_f32(x + iy * row_stride + ix * pix_stride + c0);
                m = vbslq_f32(vorrq_u32(vcgtq_f32(v, m), nan_over(v, m)), v, m);
            }
        const uint32x4_t m_nan = vmvnq_u32(vceqq_f32(m, m));
        const float32x4_t g4 = vld1q_f32(g + c0);
        uint32x4_t todo = vdupq_n_u32(~0u);
        for (size_t iy = 0; iy < wh && vmaxvq_u32(todo); iy++)
            for (size_t ix = 0; ix < ww && vmaxvq_u32(todo); ix++) {
                const size_t off = iy * row_stride + ix * pix_stride + c0;
                const float32x4_t v = vld1q_f32(x + off);
                const uint32x4_t v_nan = vmvnq_u32(vceqq_f32(v, v));
                const uint32x4_t hit =
                    vandq_u32(todo, vorrq_u32(vceqq_f32(v, m), vandq_u32(v_nan, m_nan)));
                const float32x4_t d = vld1q_f32(dx + off);
                /* lanes not hit are stored back unchanged */
                vst1q_f32(dx + off, vbslq_f32(hit, vaddq_f32(d, g4), d));
                todo = vbicq_u32(todo, hit);
            }
    }
    for (size_t i = nc4; i < nc; i++) {
        float m = x[i];
        size_t at = 0;
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const size_t off = iy * row_stride + ix * pix_stride;
                const float v = x[off + i];
                if (v > m || (v != v && m == m)) m = v, at = off;
            }
        dx[at + i] += g[i];
    }
}
