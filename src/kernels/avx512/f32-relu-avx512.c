/*
 * AVX-512 ReLU kernel (contract in kernels.h): max(0, x), which returns x
 * when x is NaN (the second operand wins on unordered) and keeps -0 like
 * "x < 0 ? 0 : x". Four vectors per step, a masked tail.
 */
#include <immintrin.h>

#include "../kernels.h"

void rn_f32_relu__avx512(RN_RELU_ARGS) {
    const __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
        const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
        _mm512_storeu_ps(y + i, _mm512_max_ps(zero, v0));
        _mm512_storeu_ps(y + i + 16, _mm512_max_ps(zero, v1));
        _mm512_storeu_ps(y + i + 32, _mm512_max_ps(zero, v2));
        _mm512_storeu_ps(y + i + 48, _mm512_max_ps(zero, v3));
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, _mm512_max_ps(zero, _mm512_maskz_loadu_ps(m, x + i)));
    }
}
