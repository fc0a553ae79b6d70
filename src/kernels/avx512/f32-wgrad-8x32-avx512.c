/*
 * AVX-512 convolution weight-gradient microkernel, 8 output channels x 32
 * input channels (contract in kernels.h). 16 zmm accumulators start from C;
 * each pixel is 2 masked vector loads of the input row (nothing past nc is
 * read) and 8 broadcasts of the output gradient for 16 FMAs.
 */
#include <immintrin.h>

#include "../kernels.h"

#define RN_ROW_LOAD(i)                                             \
    __m512 c##i##l = _mm512_maskz_loadu_ps(mlo, c + i * c_stride), \
           c##i##h = _mm512_maskz_loadu_ps(mhi, c + i * c_stride + 16);
#define RN_ROW_FMA(i)                                \
    {                                                \
        const __m512 av = _mm512_set1_ps(pa[i]);     \
        c##i##l = _mm512_fmadd_ps(av, blo, c##i##l); \
        c##i##h = _mm512_fmadd_ps(av, bhi, c##i##h); \
    }
#define RN_ROW_STORE(i)                                    \
    _mm512_mask_storeu_ps(c + i * c_stride, mlo, c##i##l); \
    _mm512_mask_storeu_ps(c + i * c_stride + 16, mhi, c##i##h);

/* the rows of accumulator macros stay four to a line */
/* clang-format off */
void rn_f32_wgrad_8x32__avx512(RN_WGRAD_UKERNEL_ARGS) {
    const __mmask16 mlo = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1u);
    const __mmask16 mhi = nc >= 32   ? (__mmask16)0xFFFF
                          : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1u)
                                    : (__mmask16)0;
    RN_ROW_LOAD(0) RN_ROW_LOAD(1) RN_ROW_LOAD(2) RN_ROW_LOAD(3)
    RN_ROW_LOAD(4) RN_ROW_LOAD(5) RN_ROW_LOAD(6) RN_ROW_LOAD(7)
    for (size_t r = 0; r < rows; r++) {
        const float *pa = a + r * a_rs, *pb = b + r * b_rs;
        for (size_t q = 0; q < cols; q++, pa += a_ps, pb += b_ps) {
            const __m512 blo = _mm512_maskz_loadu_ps(mlo, pb);
            const __m512 bhi = _mm512_maskz_loadu_ps(mhi, pb + 16);
            RN_ROW_FMA(0) RN_ROW_FMA(1) RN_ROW_FMA(2) RN_ROW_FMA(3)
            RN_ROW_FMA(4) RN_ROW_FMA(5) RN_ROW_FMA(6) RN_ROW_FMA(7)
        }
    }
    RN_ROW_STORE(0) RN_ROW_STORE(1) RN_ROW_STORE(2) RN_ROW_STORE(3)
    RN_ROW_STORE(4) RN_ROW_STORE(5) RN_ROW_STORE(6) RN_ROW_STORE(7)
}
/* clang-format on */
