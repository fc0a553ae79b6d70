/*
 * AVX-512 residual-addition kernel (contract in kernels.h): y = a + b, then
 * max(0, v) when relu (NaN kept). Four vectors per step, a masked tail.
 */
#include <immintrin.h>

#include "../kernels.h"

void rn_f32_add__avx512(RN_ADD_ARGS) {
    /* relu folds into the lower bound: -inf leaves every sum (and NaN) alone */
    const __m512 lo = relu ? _mm512_setzero_ps() : _mm512_set1_ps(-__builtin_inff());
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (size_t j = i; j < i + 64; j += 16)
            _mm512_storeu_ps(y + j, _mm512_max_ps(lo, _mm512_add_ps(_mm512_loadu_ps(a + j),
                                                                    _mm512_loadu_ps(b + j))));
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        const __m512 v =
            _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_max_ps(lo, v));
    }
}
