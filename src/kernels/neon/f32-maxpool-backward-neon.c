/*
 * NEON max-pool backward window kernel (contract in kernels.h), 4 channels
 * per vector: a first pass finds the window maximum (the forward rule), a
 * second adds g to the first cell equal to it (or the first NaN when it is
 * NaN), lane by lane through a select. The last nc % 4 channels take the
 * scalar kernel.
 */
#include "maxpool-neon.h"

#include "../kernels.h"

void rn_f32_maxpool_backward__neon(RN_MAXPOOL_BACKWARD_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    for (size_t c0 = 0; c0 < nc4; c0 += 4) {
        const float32x4_t m = rn__window_max_neon(x + c0, wh, ww, row_stride, pix_stride);
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
    if (nc4 < nc)
        rn_f32_maxpool_backward__scalar(nc - nc4, wh, ww, x + nc4, dx + nc4, row_stride, pix_stride,
                                        g + nc4);
}
