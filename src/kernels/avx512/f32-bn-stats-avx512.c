/*
 * AVX-512 batch-norm statistics kernel (contract in kernels.h): 16 channels
 * per vector, widened to two vectors of 8 doubles, with the scalar kernel's
 * per-row order and rounding (separate multiply and add), so the sums are
 * the scalar ones. Channel tails use masked loads and stores.
 */
#include <immintrin.h>

#include "../kernels.h"

void rn_f32_bn_stats__avx512(RN_BN_STATS_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 16) {
        const size_t w = nc - c0 < 16 ? nc - c0 : 16;
        const __mmask16 m = (__mmask16)((1u << w) - 1u);
        const __mmask8 mlo = (__mmask8)(m & 0xFF), mhi = (__mmask8)(m >> 8);
        const __m512d shlo = _mm512_maskz_loadu_pd(mlo, shift + c0);
        const __m512d shhi = _mm512_maskz_loadu_pd(mhi, shift + c0 + 8);
        __m512d slo = _mm512_maskz_loadu_pd(mlo, sum + c0);
        __m512d shi = _mm512_maskz_loadu_pd(mhi, sum + c0 + 8);
        __m512d qlo = _mm512_maskz_loadu_pd(mlo, sumsq + c0);
        __m512d qhi = _mm512_maskz_loadu_pd(mhi, sumsq + c0 + 8);
        const float *p = x + c0;
        for (size_t r = 0; r < rows; r++, p += stride) {
            const __m512 v = _mm512_maskz_loadu_ps(m, p);
            const __m512d vlo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), shlo);
            const __m512d vhi = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), shhi);
            slo = _mm512_add_pd(slo, vlo);
            shi = _mm512_add_pd(shi, vhi);
            qlo = _mm512_add_pd(qlo, _mm512_mul_pd(vlo, vlo));
            qhi = _mm512_add_pd(qhi, _mm512_mul_pd(vhi, vhi));
        }
        _mm512_mask_storeu_pd(sum + c0, mlo, slo);
        _mm512_mask_storeu_pd(sum + c0 + 8, mhi, shi);
        _mm512_mask_storeu_pd(sumsq + c0, mlo, qlo);
        _mm512_mask_storeu_pd(sumsq + c0 + 8, mhi, qhi);
    }
}
