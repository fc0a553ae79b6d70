/*
 * AVX-512 batch-norm backward input kernel (contract in kernels.h):
 * dx = (a * g - b) - k * (x - mean), each product rounded as in the scalar
 * kernel, g the ReLU-masked gradient. 16 channels per vector, masked tails.
 */
#include <immintrin.h>

#include "../kernels.h"

void rn_f32_bn_grad_input__avx512(RN_BN_GRAD_INPUT_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 16) {
        const size_t w = nc - c0 < 16 ? nc - c0 : 16;
        const __mmask16 m = (__mmask16)((1u << w) - 1u);
        const __m512 va = _mm512_maskz_loadu_ps(m, a + c0), vb = _mm512_maskz_loadu_ps(m, b + c0);
        const __m512 vk = _mm512_maskz_loadu_ps(m, k + c0);
        const __m512 vm = _mm512_maskz_loadu_ps(m, mean + c0);
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            __mmask16 keep = m;
            if (relu_y)
                keep = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, relu_y + off),
                                               _mm512_setzero_ps(), _CMP_GT_OQ);
            const __m512 g = _mm512_maskz_loadu_ps(keep, dy + off);
            const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + off), vm);
            const __m512 v = _mm512_sub_ps(_mm512_sub_ps(_mm512_mul_ps(va, g), vb),
                                           _mm512_mul_ps(vk, d));
            _mm512_mask_storeu_ps(dx + off, m, v);
        }
    }
}
