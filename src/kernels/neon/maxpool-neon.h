/*
 * The NEON max-pool kernels' window maximum of 4 channels (forward and
 * backward share it): a cell takes over where v > m, or where v is NaN and
 * m is not, exactly the scalar rule (a plain max would lose the
 * first-maximum and NaN semantics).
 */
#ifndef RN_MAXPOOL_NEON_H
#define RN_MAXPOOL_NEON_H

#include <arm_neon.h>
#include <stddef.h>

static inline float32x4_t rn__window_max_neon(const float *x, size_t wh, size_t ww,
                                              size_t row_stride, size_t pix_stride) {
    float32x4_t m = vld1q_f32(x);
    for (size_t iy = 0; iy < wh; iy++)
        for (size_t ix = 0; ix < ww; ix++) {
            const float32x4_t v = vld1q_f32(x + iy * row_stride + ix * pix_stride);
            /* lanes where v is NaN and m is not: v != v and m == m */
            const uint32x4_t nan_over = vandq_u32(vmvnq_u32(vceqq_f32(v, v)), vceqq_f32(m, m));
            m = vbslq_f32(vorrq_u32(vcgtq_f32(v, m), nan_over), v, m);
        }
    return m;
}

#endif /* RN_MAXPOOL_NEON_H */
