/*
 * AVX-512 convolution weight-gradient microkernel, 16 output channels x 16
 * input channels (contract in kernels.h): the narrow tile for 16-channel
 * layers, where a 32-wide one would mask half of every FMA away. 16 zmm
 * accumulators start from C; each pixel is 1 masked vector load of the
 * input row and 16 broadcasts of the output gradient for 16 FMAs.
 */
#include <immintrin.h>

#include "../kernels.h"

#define RN_ROW_LOAD(i) __m512 c##i = _mm512_maskz_loadu_ps(m, c + i * c_stride);
#define RN_ROW_FMA(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(pa[i]), bv, c##i);
#define RN_ROW_STORE(i) _mm512_mask_storeu_ps(c + i * c_stride, m, c##i);

/* the rows of accumulator macros stay four to a line */
/* clang-format off */
void rn_f32_wgrad_16x16__avx512(RN_WGRAD_UKERNEL_ARGS) {
    const __mmask16 m = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1u);
    RN_ROW_LOAD(0) RN_ROW_LOAD(1) RN_ROW_LOAD(2) RN_ROW_LOAD(3)
    RN_ROW_LOAD(4) RN_ROW_LOAD(5) RN_ROW_LOAD(6) RN_ROW_LOAD(7)
    RN_ROW_LOAD(8) RN_ROW_LOAD(9) RN_ROW_LOAD(10) RN_ROW_LOAD(11)
    RN_ROW_LOAD(12) RN_ROW_LOAD(13) RN_ROW_LOAD(14) RN_ROW_LOAD(15)
    for (size_t r = 0; r < rows; r++) {
        const float *pa = a + r * a_rs, *pb = b + r * b_rs;
        for (size_t q = 0; q < cols; q++, pa += a_ps, pb += b_ps) {
            const __m512 bv = _mm512_maskz_loadu_ps(m, pb);
            RN_ROW_FMA(0) RN_ROW_FMA(1) RN_ROW_FMA(2) RN_ROW_FMA(3)
            RN_ROW_FMA(4) RN_ROW_FMA(5) RN_ROW_FMA(6) RN_ROW_FMA(7)
            RN_ROW_FMA(8) RN_ROW_FMA(9) RN_ROW_FMA(10) RN_ROW_FMA(11)
            RN_ROW_FMA(12) RN_ROW_FMA(13) RN_ROW_FMA(14) RN_ROW_FMA(15)
        }
    }
    RN_ROW_STORE(0) RN_ROW_STORE(1) RN_ROW_STORE(2) RN_ROW_STORE(3)
    RN_ROW_STORE(4) RN_ROW_STORE(5) RN_ROW_STORE(6) RN_ROW_STORE(7)
    RN_ROW_STORE(8) RN_ROW_STORE(9) RN_ROW_STORE(10) RN_ROW_STORE(11)
    RN_ROW_STORE(12) RN_ROW_STORE(13) RN_ROW_STORE(14) RN_ROW_STORE(15)
}
/* clang-format on */
