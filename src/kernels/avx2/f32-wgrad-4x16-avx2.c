/*
 * AVX2 + FMA convolution weight-gradient microkernel, 4 output channels x 16
 * input channels (contract in kernels.h). 8 ymm accumulators start from C
 * (two FMA pipes of 4-cycle latency need 8 chains); each pixel is 2 vector
 * loads of the input row and 4 broadcasts for 8 FMAs. Full 16-channel rows
 * take plain loads; a column tail takes vmaskmov, which reads nothing past nc.
 */
#include "tail-avx2.h"

#include "../kernels.h"

#define RN_STEP(LOAD_LO, LOAD_HI)                                                            \
    for (size_t r = 0; r < rows; r++) {                                                      \
        const float *pa = a + r * a_rs, *pb = b + r * b_rs;                                  \
        for (size_t q = 0; q < cols; q++, pa += a_ps, pb += b_ps) {                          \
            const __m256 blo = LOAD_LO, bhi = LOAD_HI;                                       \
            const __m256 a0 = _mm256_broadcast_ss(pa), a1 = _mm256_broadcast_ss(pa + 1);     \
            const __m256 a2 = _mm256_broadcast_ss(pa + 2), a3 = _mm256_broadcast_ss(pa + 3); \
            c0l = _mm256_fmadd_ps(a0, blo, c0l), c0h = _mm256_fmadd_ps(a0, bhi, c0h);        \
            c1l = _mm256_fmadd_ps(a1, blo, c1l), c1h = _mm256_fmadd_ps(a1, bhi, c1h);        \
            c2l = _mm256_fmadd_ps(a2, blo, c2l), c2h = _mm256_fmadd_ps(a2, bhi, c2h);        \
            c3l = _mm256_fmadd_ps(a3, blo, c3l), c3h = _mm256_fmadd_ps(a3, bhi, c3h);        \
        }                                                                                    \
    }

void rn_f32_wgrad_4x16__avx2(RN_WGRAD_UKERNEL_ARGS) {
    const __m256i mlo = rn__mask8_avx2(nc >= 8 ? 8 : nc);
    const __m256i mhi = rn__mask8_avx2(nc >= 16 ? 8 : nc > 8 ? nc - 8 : 0);
    float *r0 = c, *r1 = c + c_stride, *r2 = c + 2 * c_stride, *r3 = c + 3 * c_stride;
    __m256 c0l = _mm256_maskload_ps(r0, mlo), c0h = _mm256_maskload_ps(r0 + 8, mhi);
    __m256 c1l = _mm256_maskload_ps(r1, mlo), c1h = _mm256_maskload_ps(r1 + 8, mhi);
    __m256 c2l = _mm256_maskload_ps(r2, mlo), c2h = _mm256_maskload_ps(r2 + 8, mhi);
    __m256 c3l = _mm256_maskload_ps(r3, mlo), c3h = _mm256_maskload_ps(r3 + 8, mhi);
    if (nc == 16) {
        RN_STEP(_mm256_loadu_ps(pb), _mm256_loadu_ps(pb + 8))
    } else {
        RN_STEP(_mm256_maskload_ps(pb, mlo), _mm256_maskload_ps(pb + 8, mhi))
    }
    _mm256_maskstore_ps(r0, mlo, c0l), _mm256_maskstore_ps(r0 + 8, mhi, c0h);
    _mm256_maskstore_ps(r1, mlo, c1l), _mm256_maskstore_ps(r1 + 8, mhi, c1h);
    _mm256_maskstore_ps(r2, mlo, c2l), _mm256_maskstore_ps(r2 + 8, mhi, c2h);
    _mm256_maskstore_ps(r3, mlo, c3l), _mm256_maskstore_ps(r3 + 8, mhi, c3h);
}
