/*
 * Portable 4x4 indirect GEMM microkernel (contract in kernels.h): the path
 * every machine has for convolutions, and the one RN_MAX_ISA=scalar selects.
 */
#include "../kernels.h"

void rn_f32_igemm_4x4__scalar(RN_IGEMM_UKERNEL_ARGS) {
    float acc[4][4] = {{0}};
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const size_t o = a_off[s];
        const float *a0 = a[0] + o, *a1 = a[1] + o, *a2 = a[2] + o, *a3 = a[3] + o;
        for (size_t p = 0; p < kc; p++, b += b_stride) {
            const float av[4] = {a0[p], a1[p], a2[p], a3[p]};
            for (size_t i = 0; i < 4; i++) {
                acc[i][0] += av[i] * b[0];
                acc[i][1] += av[i] * b[1];
                acc[i][2] += av[i] * b[2];
                acc[i][3] += av[i] * b[3];
            }
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
