/*
 * AVX2 batch-norm statistics kernel (contract in kernels.h): 8 channels per
 * vector, widened to two vectors of 4 doubles, in the scalar kernel's
 * per-row order and rounding (separate multiply and add), so the sums are
 * the scalar ones. Channel tails through vmaskmov.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_bn_stats__avx2(RN_BN_STATS_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 8) {
        const size_t w = nc - c0 < 8 ? nc - c0 : 8;
        const __m256i m = rn__mask8_avx2(w), mlo = rn__mask4d_avx2(w);
        const __m256i mhi = rn__mask4d_avx2(w > 4 ? w - 4 : 0);
        const __m256d shlo = _mm256_maskload_pd(shift + c0, mlo);
        const __m256d shhi = _mm256_maskload_pd(shift + c0 + 4, mhi);
        __m256d slo = _mm256_maskload_pd(sum + c0, mlo),
                shi = _mm256_maskload_pd(sum + c0 + 4, mhi);
        __m256d qlo = _mm256_maskload_pd(sumsq + c0, mlo);
        __m256d qhi = _mm256_maskload_pd(sumsq + c0 + 4, mhi);
        const float *p = x + c0;
        for (size_t r = 0; r < rows; r++, p += stride) {
            const __m256 v = _mm256_maskload_ps(p, m);
            const __m256d vlo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), shlo);
            const __m256d vhi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), shhi);
            slo = _mm256_add_pd(slo, vlo);
            shi = _mm256_add_pd(shi, vhi);
            qlo = _mm256_add_pd(qlo, _mm256_mul_pd(vlo, vlo));
            qhi = _mm256_add_pd(qhi, _mm256_mul_pd(vhi, vhi));
        }
        _mm256_maskstore_pd(sum + c0, mlo, slo);
        _mm256_maskstore_pd(sum + c0 + 4, mhi, shi);
        _mm256_maskstore_pd(sumsq + c0, mlo, qlo);
        _mm256_maskstore_pd(sumsq + c0 + 4, mhi, qhi);
    }
}
