/*
 * Portable convolution weight-gradient microkernel, 4 output channels x 4
 * input channels (contract in kernels.h): the path every machine has, and
 * the one RN_MAX_ISA=scalar selects.
 */
#include "../kernels.h"

void rn_f32_wgrad_4x4__scalar(RN_WGRAD_UKERNEL_ARGS) {
    float acc[4][4] = {{0}};
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < nc; j++) acc[i][j] = c[i * c_stride + j];
    for (size_t r = 0; r < rows; r++) {
        const float *pa = a + r * a_rs, *pb = b + r * b_rs;
        for (size_t q = 0; q < cols; q++, pa += a_ps, pb += b_ps) {
            float bv[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (size_t j = 0; j < nc; j++) bv[j] = pb[j];
            for (size_t i = 0; i < 4; i++) {
                acc[i][0] += pa[i] * bv[0];
                acc[i][1] += pa[i] * bv[1];
                acc[i][2] += pa[i] * bv[2];
                acc[i][3] += pa[i] * bv[3];
            }
        }
    }
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < nc; j++) c[i * c_stride + j] = acc[i][j];
}
