/*
 * AVX-512 max-pool window kernel (contract in kernels.h), 16 channels per
 * vector: a cell takes over where v > m, or where v is NaN and m is not,
 * exactly the scalar rule (a plain max would lose the first-maximum and NaN
 * semantics). Masked channel tails.
 */
#include <immintrin.h>

#include "../kernels.h"

void rn_f32_maxpool__avx512(RN_MAXPOOL_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += 16) {
        const size_t w = nc - c0 < 16 ? nc - c0 : 16;
        const __mmask16 lanes = (__mmask16)((1u << w) - 1u);
        __m512 m = _mm512_maskz_loadu_ps(lanes, x + c0);
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const __m512 v =
                    _mm512_maskz_loadu_ps(lanes, x + iy * row_stride + ix * pix_stride + c0);
                const __mmask16 takes = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) |
                                        (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) &
                                         _mm512_cmp_ps_mask(m, m, _CMP_ORD_Q));
                m = _mm512_mask_mov_ps(m, takes, v);
            }
        _mm512_mask_storeu_ps(y + c0, lanes, m);
    }
}
