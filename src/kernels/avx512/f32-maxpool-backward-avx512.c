/*
 * AVX-512 max-pool backward window kernel (contract in kernels.h), 16
 * channels per vector. The forward rule's winner is the first cell equal to
 * the window maximum (or the first NaN when the maximum is NaN): a first
 * pass finds the maximum, a second adds g to the first cell that matches it,
 * lane by lane, with masked stores. Masked channel tails.
 */
#include <immintrin.h>

#include "../kernels.h"

void rn_f32_maxpool_backward__avx512(RN_MAXPOOL_BACKWARD_ARGS) {
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
        const __mmask16 m_nan = _mm512_cmp_ps_mask(m, m, _CMP_UNORD_Q);
        const __m512 g16 = _mm512_maskz_loadu_ps(lanes, g + c0);
        __mmask16 todo = lanes;
        for (size_t iy = 0; iy < wh && todo; iy++)
            for (size_t ix = 0; ix < ww && todo; ix++) {
                const size_t off = iy * row_stride + ix * pix_stride + c0;
                const __m512 v = _mm512_maskz_loadu_ps(todo, x + off);
                const __mmask16 hit =
                    todo & (_mm512_cmp_ps_mask(v, m, _CMP_EQ_OQ) |
                            (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & m_nan));
                if (hit) {
                    /* the whole row of lanes is stored back (the unhit ones
                     * unchanged) when it is all ours: a masked store would
                     * not forward to the next window's load of this cell */
                    const __m512 d = _mm512_maskz_loadu_ps(lanes, dx + off);
                    const __m512 v2 = _mm512_mask_add_ps(d, hit, d, g16);
                    if (lanes == 0xFFFF)
                        _mm512_storeu_ps(dx + off, v2);
                    else
                        _mm512_mask_storeu_ps(dx + off, lanes, v2);
                }
                todo &= (__mmask16)~hit;
            }
    }
}
