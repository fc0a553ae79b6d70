/*
 * AVX2 batch-norm backward input kernel (contract in kernels.h):
 * dx = (a * g - b) - k * (x - mean), each product rounded as in the scalar
 * kernel, g the ReLU-masked gradient. 8 channels per vector, vmaskmov tails.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_bn_grad_input__avx2(RN_BN_GRAD_INPUT_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 8) {
        const size_t w = nc - c0 < 8 ? nc - c0 : 8;
        const __m256i m = rn__mask8_avx2(w);
        const __m256 va = _mm256_maskload_ps(a + c0, m), vb = _mm256_maskload_ps(b + c0, m);
        const __m256 vk = _mm256_maskload_ps(k + c0, m), vm = _mm256_maskload_ps(mean + c0, m);
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            __m256 g = _mm256_maskload_ps(dy + off, m);
            if (relu_y)
                g = _mm256_and_ps(g, _mm256_cmp_ps(_mm256_maskload_ps(relu_y + off, m),
                                                   _mm256_setzero_ps(), _CMP_GT_OQ));
            const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(x + off, m), vm);
            const __m256 v =
                _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(va, g), vb), _mm256_mul_ps(vk, d));
            _mm256_maskstore_ps(dx + off, m, v);
        }
    }
}
