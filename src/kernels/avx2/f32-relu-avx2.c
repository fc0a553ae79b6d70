/*
 * AVX2 ReLU kernel (contract in kernels.h): max(0, x), which returns x when
 * x is NaN (the second operand wins on unordered) and keeps -0 like
 * "x < 0 ? 0 : x". Four vectors per step, a vmaskmov tail.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_relu__avx2(RN_RELU_ARGS) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (size_t j = i; j < i + 32; j += 8)
            _mm256_storeu_ps(y + j, _mm256_max_ps(zero, _mm256_loadu_ps(x + j)));
    for (; i < n; i += 8) {
        const __m256i m = rn__mask8_avx2(n - i < 8 ? n - i : 8);
        _mm256_maskstore_ps(y + i, m, _mm256_max_ps(zero, _mm256_maskload_ps(x + i, m)));
    }
}
