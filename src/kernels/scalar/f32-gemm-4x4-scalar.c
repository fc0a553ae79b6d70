/*
 * Portable 4x4 GEMM microkernel: C[mr x nc] (+)= A[mr x kc] * B, with B a
 * packed panel of 4 columns (kc rows of 4 floats, zero-padded past nc).
 */
#include <stddef.h>
#include <stdint.h>

void rn_f32_gemm_4x4__scalar(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,
                             const float *packed_b, float *c, size_t c_stride,
                             int32_t accumulate) {
    float acc[4][4] = {{0}};
    for (size_t p = 0; p < kc; p++) {
        const float *b = packed_b + p * 4;
        for (size_t i = 0; i < mr; i++) {
            const float av = a[i * a_stride + p];
            acc[i][0] += av * b[0];
            acc[i][1] += av * b[1];
            acc[i][2] += av * b[2];
            acc[i][3] += av * b[3];
        }
    }
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nc; j++)
            c[i * c_stride + j] = accumulate ? c[i * c_stride + j] + acc[i][j] : acc[i][j];
}
