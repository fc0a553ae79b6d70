/*
 * AVX-512 ReLU backward kernel (contract in kernels.h): dx = dy where y > 0
 * (an ordered compare: NaN in y gives 0), else 0; branch-free, so random
 * signs cost nothing. Four vectors per step, a masked tail.
 */
#include <immintrin.h>

#include "../kernels.h"

static inline void step(const float *y, const float *dy, float *dx, __mmask16 m) {
    const __mmask16 pos =
        _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, y), _mm512_setzero_ps(), _CMP_GT_OQ);
    _mm512_mask_storeu_ps(dx, m, _mm512_maskz_loadu_ps(pos, dy));
}

void rn_f32_relu_backward__avx512(RN_RELU_BACKWARD_ARGS) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        step(y + i, dy + i, dx + i, 0xFFFF);
        step(y + i + 16, dy + i + 16, dx + i + 16, 0xFFFF);
        step(y + i + 32, dy + i + 32, dx + i + 32, 0xFFFF);
        step(y + i + 48, dy + i + 48, dx + i + 48, 0xFFFF);
    }
    for (; i < n; i += 16)
        step(y + i, dy + i, dx + i,
             n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u));
}
