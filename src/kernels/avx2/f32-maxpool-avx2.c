/*
 * AVX2 max-pool window kernel (contract in kernels.h), 8 channels per
 * vector: a cell takes over where v > m, or where v is NaN and m is not,
 * exactly the scalar rule (a plain max would lose the first-maximum and NaN
 * semantics). Channel tails through vmaskmov.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_maxpool__avx2(RN_MAXPOOL_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 8) {
        const __m256i lanes = rn__mask8_avx2(nc - c0 < 8 ? nc - c0 : 8);
        __m256 m = _mm256_maskload_ps(x + c0, lanes);
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const __m256 v =
                    _mm256_maskload_ps(x + iy * row_stride + ix * pix_stride + c0, lanes);
                const __m256 takes = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ),
                                                  _mm256_and_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q),
                                                                _mm256_cmp_ps(m, m, _CMP_ORD_Q)));
                m = _mm256_blendv_ps(m, v, takes);
            }
        _mm256_maskstore_ps(y + c0, lanes, m);
    }
}
