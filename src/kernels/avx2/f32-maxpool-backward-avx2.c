/*
 * AVX2 max-pool backward window kernel (contract in kernels.h), 8 channels
 * per vector. The forward rule's winner is the first cell equal to the
 * window maximum (or the first NaN when the maximum is NaN): a first pass
 * finds the maximum, a second adds g to the first cell that matches it, lane
 * by lane, through vmaskmov stores. Channel tails the same way.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_maxpool_backward__avx2(RN_MAXPOOL_BACKWARD_ARGS) {
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
        const __m256 m_nan = _mm256_cmp_ps(m, m, _CMP_UNORD_Q);
        const __m256 g8 = _mm256_maskload_ps(g + c0, lanes);
        __m256 todo = _mm256_castsi256_ps(lanes);
        int left = 1; /* some lane still looks for its maximum */
        for (size_t iy = 0; iy < wh && left; iy++)
            for (size_t ix = 0; ix < ww && left; ix++) {
                const size_t off = iy * row_stride + ix * pix_stride + c0;
                const __m256 v = _mm256_maskload_ps(x + off, _mm256_castps_si256(todo));
                const __m256 hit = _mm256_and_ps(
                    todo, _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_EQ_OQ),
                                       _mm256_and_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), m_nan)));
                const __m256i hi = _mm256_castps_si256(hit);
                _mm256_maskstore_ps(dx + off, hi,
                                    _mm256_add_ps(_mm256_maskload_ps(dx + off, hi), g8));
                todo = _mm256_andnot_ps(hit, todo);
                left = _mm256_movemask_ps(todo) != 0;
            }
    }
}
