/*
 * The portable GEMM and indirect-GEMM microkernels (contracts in
 * kernels.h), written once; the including file sets the tile and the kind,
 * then includes this file:
 *
 *   RN_GEMM_MR, RN_GEMM_NR   the register tile
 *   RN_GEMM_INDIRECT         0: rn_f32_gemm_<MR>x<NR>__scalar, A rows by
 *                            stride; 1: rn_f32_igemm_<MR>x<NR>__scalar, A
 *                            rows from the indirection buffer
 *
 * Each k step adds a[i] * b[j] to every accumulator, in k order; then C
 * (RN_GEMM_ACCUMULATE), the bias and the ReLU "v < 0 ? 0 : v" (NaN passes,
 * as in PyTorch) for the mr x nc block.
 */
#include "../kernels.h"

#define RN_GEMM_NAME4(kind, mr, nr) rn_f32_##kind##_##mr##x##nr##__scalar
#define RN_GEMM_NAME(kind, mr, nr) RN_GEMM_NAME4(kind, mr, nr)

/* one k step: the A column ar[i][p] times the B row brow */
#define RN_GEMM_STEP(ar, p, brow)                                                   \
    {                                                                               \
        float av[RN_GEMM_MR];                                                       \
        for (size_t i = 0; i < RN_GEMM_MR; i++) av[i] = ar[i][p];                   \
        for (size_t i = 0; i < RN_GEMM_MR; i++)                                     \
            for (size_t j = 0; j < RN_GEMM_NR; j++) acc[i][j] += av[i] * (brow)[j]; \
    }

#ifndef RN_GEMM_SCALAR_STORE_DEFINED
#define RN_GEMM_SCALAR_STORE_DEFINED
/* the mr x nc block of acc (rows acc_stride apart) (+ C) (+ bias), ReLU */
static inline void rn__gemm_store_scalar(const float *acc, size_t acc_stride, size_t mr, size_t nc,
                                         float *c, size_t c_stride, const float *bias,
                                         uint32_t flags) {
    for (size_t i = 0; i < mr; i++) {
        float *crow = c + i * c_stride;
        for (size_t j = 0; j < nc; j++) {
            float v = acc[i * acc_stride + j];
            if ((flags & (RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL)) == RN_GEMM_ACCUMULATE)
                v = crow[j] + v;
            if (bias) v += bias[j];
            if (flags & RN_GEMM_RESIDUAL) v = crow[j] + v;
            if ((flags & RN_GEMM_RELU) && v < 0.0f) v = 0.0f;
            crow[j] = v;
        }
    }
}
#endif

#if RN_GEMM_INDIRECT
void RN_GEMM_NAME(igemm, RN_GEMM_MR, RN_GEMM_NR)(RN_IGEMM_UKERNEL_ARGS) {
    float acc[RN_GEMM_MR][RN_GEMM_NR] = {{0}};
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const float *ar[RN_GEMM_MR];
        for (size_t i = 0; i < RN_GEMM_MR; i++) ar[i] = a[i] + a_off[s];
        for (size_t p = 0; p < kc; p++, b += b_stride) RN_GEMM_STEP(ar, p, b)
    }
    rn__gemm_store_scalar(&acc[0][0], RN_GEMM_NR, mr, nc, c, c_stride, bias, flags);
}
#else
void RN_GEMM_NAME(gemm, RN_GEMM_MR, RN_GEMM_NR)(RN_GEMM_UKERNEL_ARGS) {
    const float *ar[RN_GEMM_MR];
    for (size_t i = 0; i < RN_GEMM_MR; i++) ar[i] = a + i * a_stride;
    float acc[RN_GEMM_MR][RN_GEMM_NR] = {{0}};
    for (size_t p = 0; p < kc; p++) RN_GEMM_STEP(ar, p, b + p * b_stride)
    rn__gemm_store_scalar(&acc[0][0], RN_GEMM_NR, mr, nc, c, c_stride, bias, flags);
}
#endif

#undef RN_GEMM_NAME4
#undef RN_GEMM_NAME
#undef RN_GEMM_STEP
