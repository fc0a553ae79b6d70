/*
 * AVX2 batch-norm backward reductions (contract in kernels.h): the masked
 * gradient g and g * (x - mean) summed per channel in double, 8 channels per
 * vector, in the scalar kernel's order and rounding. Tails through vmaskmov.
 */
#include "tail-avx2.h"

#include "../kernels.h"

void rn_f32_bn_grad_sums__avx2(RN_BN_GRAD_SUMS_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 8) {
        const size_t w = nc - c0 < 8 ? nc - c0 : 8;
        const __m256i m = rn__mask8_avx2(w), mlo = rn__mask4d_avx2(w);
        const __m256i mhi = rn__mask4d_avx2(w > 4 ? w - 4 : 0);
        const __m256 mean8 = _mm256_maskload_ps(mean + c0, m);
        const __m256d mnlo = _mm256_cvtps_pd(_mm256_castps256_ps128(mean8));
        const __m256d mnhi = _mm256_cvtps_pd(_mm256_extractf128_ps(mean8, 1));
        __m256d slo = _mm256_maskload_pd(sum + c0, mlo),
                shi = _mm256_maskload_pd(sum + c0 + 4, mhi);
        __m256d xlo = _mm256_maskload_pd(sum_gx + c0, mlo);
        __m256d xhi = _mm256_maskload_pd(sum_gx + c0 + 4, mhi);
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            __m256 g = _mm256_maskload_ps(dy + off, m);
            /* the fused ReLU passed gradient only where its output was > 0 */
            if (relu_y)
                g = _mm256_and_ps(g, _mm256_cmp_ps(_mm256_maskload_ps(relu_y + off, m),
                                                   _mm256_setzero_ps(), _CMP_GT_OQ));
            const __m256 xv = _mm256_maskload_ps(x + off, m);
            const __m256d glo = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
            const __m256d ghi = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
            const __m256d dlo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), mnlo);
            const __m256d dhi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), mnhi);
            slo = _mm256_add_pd(slo, glo);
            shi = _mm256_add_pd(shi, ghi);
            xlo = _mm256_add_pd(xlo, _mm256_mul_pd(glo, dlo));
            xhi = _mm256_add_pd(xhi, _mm256_mul_pd(ghi, dhi));
        }
        _mm256_maskstore_pd(sum + c0, mlo, slo);
        _mm256_maskstore_pd(sum + c0 + 4, mhi, shi);
        _mm256_maskstore_pd(sum_gx + c0, mlo, xlo);
        _mm256_maskstore_pd(sum_gx + c0 + 4, mhi, xhi);
    }
}
