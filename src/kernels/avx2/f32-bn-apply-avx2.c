/*
 * AVX2 batch-norm apply kernel (contract in kernels.h): y = x * a + b with
 * the product rounded before the sum, as the scalar kernel does, then the
 * fused ReLU as max(0, v), which keeps NaN (the second operand wins on
 * unordered). 8 channels per vector, tails through vmaskmov.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_bn_apply__avx2(RN_BN_APPLY_ARGS) {
    /* relu folds into the lower bound: -inf leaves every value (and NaN) alone */
    const __m256 lo = relu ? _mm256_setzero_ps() : _mm256_set1_ps(-__builtin_inff());
    for (size_t c0 = 0; c0 < nc; c0 += 8) {
        const size_t w = nc - c0 < 8 ? nc - c0 : 8;
        const __m256i m = rn__mask8_avx2(w);
        const __m256 va = _mm256_maskload_ps(a + c0, m), vb = _mm256_maskload_ps(b + c0, m);
        const float *in = x + c0;
        float *out = y + c0;
        if (w == 8) {
            for (size_t r = 0; r < rows; r++, in += stride, out += stride) {
                const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(in), va), vb);
                _mm256_storeu_ps(out, _mm256_max_ps(lo, v));
            }
        } else {
            for (size_t r = 0; r < rows; r++, in += stride, out += stride) {
                const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_maskload_ps(in, m), va), vb);
                _mm256_maskstore_ps(out, m, _mm256_max_ps(lo, v));
            }
        }
    }
}
