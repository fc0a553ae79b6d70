/*
 * fp32 -> bf16 pairs on AVX512_BF16 (contract in kernels.h): vcvtne2ps2bf16,
 * 32 floats per step, the tail through masked loads and a masked store. The
 * function carries the avx512bf16 target itself (see
 * bf16-igemm-avx512bf16-template.h).
 */
#include "../../core/internal.h"
#include "../kernels.h"
#ifdef RN_HAVE_AVX512BF16
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16"))) void
rn_bf16_convert__avx512bf16(size_t pairs, const float *x, uint32_t *y) {
    const size_t n = 2 * pairs;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 lo = _mm512_loadu_ps(x + i), hi = _mm512_loadu_ps(x + i + 16);
        _mm512_storeu_si512((void *)(y + i / 2), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    if (i < n) {
        const size_t left = n - i; /* even, below 32 */
        const __mmask16 mlo = (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u);
        const __mmask16 mhi = (__mmask16)(left > 16 ? (1u << (left - 16)) - 1u : 0u);
        const __m512 lo = _mm512_maskz_loadu_ps(mlo, x + i);
        const __m512 hi = _mm512_maskz_loadu_ps(mhi, x + i + 16);
        _mm512_mask_storeu_epi32((void *)(y + i / 2), (__mmask16)((1u << (left / 2)) - 1u),
                                 (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
}
#endif /* RN_HAVE_AVX512BF16 */
