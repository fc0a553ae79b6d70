/*
 * AVX2 ReLU backward kernel (contract in kernels.h): dx = dy where y > 0 (an
 * ordered compare: NaN in y gives 0), else 0, as a bitwise and with the
 * compare mask: branch-free. Four vectors per step, a vmaskmov tail.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_relu_backward__avx2(RN_RELU_BACKWARD_ARGS) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (size_t j = i; j < i + 32; j += 8) {
            const __m256 pos = _mm256_cmp_ps(_mm256_loadu_ps(y + j), zero, _CMP_GT_OQ);
            _mm256_storeu_ps(dx + j, _mm256_and_ps(pos, _mm256_loadu_ps(dy + j)));
        }
    for (; i < n; i += 8) {
        const __m256i m = rn__mask8_avx2(n - i < 8 ? n - i : 8);
        const __m256 pos = _mm256_cmp_ps(_mm256_maskload_ps(y + i, m), zero, _CMP_GT_OQ);
        _mm256_maskstore_ps(dx + i, m, _mm256_and_ps(pos, _mm256_maskload_ps(dy + i, m)));
    }
}
