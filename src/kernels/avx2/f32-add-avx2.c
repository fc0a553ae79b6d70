/*
 * AVX2 residual-addition kernel (contract in kernels.h): y = a + b, then
 * max(0, v) when relu (NaN kept). Four vectors per step, a vmaskmov tail.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_add__avx2(RN_ADD_ARGS) {
    /* relu folds into the lower bound: -inf leaves every sum (and NaN) alone */
    const __m256 lo = relu ? _mm256_setzero_ps() : _mm256_set1_ps(-__builtin_inff());
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (size_t j = i; j < i + 32; j += 8)
            _mm256_storeu_ps(y + j, _mm256_max_ps(lo, _mm256_add_ps(_mm256_loadu_ps(a + j),
                                                                    _mm256_loadu_ps(b + j))));
    for (; i < n; i += 8) {
        const __m256i m = rn__mask8_avx2(n - i < 8 ? n - i : 8);
        const __m256 v = _mm256_add_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
        _mm256_maskstore_ps(y + i, m, _mm256_max_ps(lo, v));
    }
}
