/*
 * Portable 4x4 GEMM microkernel (contract in kernels.h): the path every
 * machine has, and the one RN_MAX_ISA=scalar selects.
 */
#include "../kernels.h"

void rn_f32_gemm_4x4__scalar(RN_GEMM_UKERNEL_ARGS) {
    const float *a0 = a, *a1 = a0 + a_stride, *a2 = a1 + a_stride, *a3 = a2 + a_stride;
    float acc[4][4] = {{0}};
    for (size_t p = 0; p < kc; p++) {
        const float *brow = b + p * b_stride;
        const float av[4] = {a0[p], a1[p], a2[p], a3[p]};
        for (size_t i = 0; i < 4; i++) {
            acc[i][0] += av[i] * brow[0];
            acc[i][1] += av[i] * brow[1];
            acc[i][2] += av[i] * brow[2];
            acc[i][3] += av[i] * brow[3];
        }
    }
    for (size_t i = 0; i < mr; i++) {
        float *crow = c + i * c_stride;
        for (size_t j = 0; j < nc; j++) {
            float v = acc[i][j];
            if (flags & RN_GEMM_ACCUMULATE) v = crow[j] + v;
            if (bias) v += bias[j];
            if ((flags & RN_GEMM_RELU) && v < 0.0f) v = 0.0f; /* NaN passes, as in PyTorch */
            crow[j] = v;
        }
    }
}
