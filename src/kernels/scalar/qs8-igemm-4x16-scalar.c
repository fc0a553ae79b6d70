/*
 * Portable int8 convolution microkernel, 4 output pixels x 16 output
 * channels (contract in kernels.h): the reference every SIMD variant equals
 * byte for byte, and the path of every CPU without one. Signed activations
 * (its table entry has u8 = 0), int32 sums, then rn__qconv_requant.
 */
#include "../kernels.h"

void rn_qs8_igemm_4x16__scalar(RN_QCONV_UKERNEL_ARGS) {
    int32_t acc[4][RN_QCONV_NR];
    for (size_t i = 0; i < 4; i++)
        for (size_t c = 0; c < RN_QCONV_NR; c++) acc[i][c] = bias[c];
    for (size_t s = 0; s < ks; s++) {
        for (size_t i = 0; i < 4 && i < mr; i++) {
            const int8_t *ai = a[i] + a_off[s];
            const int8_t *ws = w + s * kg * 64;
            for (size_t g = 0; g < kg; g++) {
                const int8_t *wg = ws + g * 64;
                const int32_t x0 = ai[4 * g], x1 = ai[4 * g + 1], x2 = ai[4 * g + 2],
                              x3 = ai[4 * g + 3];
                for (size_t c = 0; c < RN_QCONV_NR; c++)
                    acc[i][c] += x0 * wg[4 * c] + x1 * wg[4 * c + 1] + x2 * wg[4 * c + 2] +
                                 x3 * wg[4 * c + 3];
            }
        }
    }
    const float lo = relu ? 0.f : -127.f;
    for (size_t i = 0; i < mr; i++)
        for (size_t c = 0; c < nc; c++)
            y[i * y_stride + c] =
                rn__qconv_requant(acc[i][c], m[c], r != NULL, r ? r[i * r_stride + c] : 0, m_r, lo);
}
