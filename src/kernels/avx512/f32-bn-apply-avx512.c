/*
 * AVX-512 batch-norm apply kernel (contract in kernels.h): y = x * a + b with
 * the product rounded before the sum, as the scalar kernel does, then the
 * fused ReLU as max(0, v), which keeps NaN (the second operand wins on
 * unordered). 16 channels per vector, masked tails.
 */
#include <immintrin.h>

#include "../kernels.h"

void rn_f32_bn_apply__avx512(RN_BN_APPLY_ARGS) {
    const __m512 zero = _mm512_setzero_ps();
    for (size_t c0 = 0; c0 < nc; c0 += 16) {
        const size_t w = nc - c0 < 16 ? nc - c0 : 16;
        const __mmask16 m = (__mmask16)((1u << w) - 1u);
        const __m512 va = _mm512_maskz_loadu_ps(m, a + c0), vb = _mm512_maskz_loadu_ps(m, b + c0);
        const float *in = x + c0;
        float *out = y + c0;
        if (relu) {
            for (size_t r = 0; r < rows; r++, in += stride, out += stride) {
                const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, in), va), vb);
                _mm512_mask_storeu_ps(out, m, _mm512_max_ps(zero, v));
            }
        } else {
            for (size_t r = 0; r < rows; r++, in += stride, out += stride) {
                const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, in), va), vb);
                _mm512_mask_storeu_ps(out, m, v);
            }
        }
    }
}
