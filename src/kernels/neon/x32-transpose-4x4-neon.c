/*
 * NEON 32-bit transpose in 4x4 register tiles (contract in kernels.h), to
 * pack A^T and B^T for the GEMM; the edges are scalar.
 */
#include <arm_neon.h>

#include "../kernels.h"

void rn_x32_transpose__neon(size_t rows, size_t cols, const float *src, size_t src_stride,
                            float *dst, size_t dst_stride) {
    const size_t rows4 = rows & ~(size_t)3, cols4 = cols & ~(size_t)3;
    for (size_t r = 0; r < rows4; r += 4) {
        const float *s = src + r * src_stride;
        size_t c = 0;
        for (; c < cols4; c += 4) {
            const float32x4_t r0 = vld1q_f32(s + c), r1 = vld1q_f32(s + src_stride + c),
                              r2 = vld1q_f32(s + 2 * src_stride + c),
                              r3 = vld1q_f32(s + 3 * src_stride + c);
            /* vtrn pairs lanes of two rows; halves of the pairs make the columns */
            const float32x4x2_t t01 = vtrnq_f32(r0, r1), t23 = vtrnq_f32(r2, r3);
            float *d = dst + c * dst_stride + r;
            vst1q_f32(d, vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0])));
            vst1q_f32(d + dst_stride,
                      vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1])));
            vst1q_f32(d + 2 * dst_stride,
                      vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0])));
            vst1q_f32(d + 3 * dst_stride,
                      vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1])));
        }
        for (; c < cols; c++)
            for (size_t i = 0; i < 4; i++) dst[c * dst_stride + r + i] = s[i * src_stride + c];
    }
    for (size_t r = rows4; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * dst_stride + r] = src[r * src_stride + c];
}
