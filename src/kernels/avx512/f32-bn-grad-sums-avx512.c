/*
 * AVX-512 batch-norm backward reductions (contract in kernels.h): the masked
 * gradient g and g * (x - mean) summed per channel in double, 16 channels
 * per vector, in the scalar kernel's order and rounding. Masked tails.
 */
#include <immintrin.h>

#include "../kernels.h"

static inline __m512d lo8(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
static inline __m512d hi8(__m512 v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }

void rn_f32_bn_grad_sums__avx512(RN_BN_GRAD_SUMS_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 16) {
        const size_t w = nc - c0 < 16 ? nc - c0 : 16;
        const __mmask16 m = (__mmask16)((1u << w) - 1u);
        const __mmask8 mlo = (__mmask8)(m & 0xFF), mhi = (__mmask8)(m >> 8);
        const __m512 mean16 = _mm512_maskz_loadu_ps(m, mean + c0);
        const __m512d mnlo = lo8(mean16), mnhi = hi8(mean16);
        __m512d slo = _mm512_maskz_loadu_pd(mlo, sum + c0);
        __m512d shi = _mm512_maskz_loadu_pd(mhi, sum + c0 + 8);
        __m512d xlo = _mm512_maskz_loadu_pd(mlo, sum_gx + c0);
        __m512d xhi = _mm512_maskz_loadu_pd(mhi, sum_gx + c0 + 8);
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            __mmask16 keep = m;
            /* the fused ReLU passed gradient only where its output was > 0 */
            if (relu_y)
                keep = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, relu_y + off),
                                               _mm512_setzero_ps(), _CMP_GT_OQ);
            const __m512 g = _mm512_maskz_loadu_ps(keep, dy + off);
            const __m512 xv = _mm512_maskz_loadu_ps(m, x + off);
            const __m512d glo = lo8(g), ghi = hi8(g);
            const __m512d dlo = _mm512_sub_pd(lo8(xv), mnlo), dhi = _mm512_sub_pd(hi8(xv), mnhi);
            slo = _mm512_add_pd(slo, glo);
            shi = _mm512_add_pd(shi, ghi);
            xlo = _mm512_add_pd(xlo, _mm512_mul_pd(glo, dlo));
            xhi = _mm512_add_pd(xhi, _mm512_mul_pd(ghi, dhi));
        }
        _mm512_mask_storeu_pd(sum + c0, mlo, slo);
        _mm512_mask_storeu_pd(sum + c0 + 8, mhi, shi);
        _mm512_mask_storeu_pd(sum_gx + c0, mlo, xlo);
        _mm512_mask_storeu_pd(sum_gx + c0 + 8, mhi, xhi);
    }
}
