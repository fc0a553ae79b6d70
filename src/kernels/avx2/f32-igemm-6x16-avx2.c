/*
 * AVX2 + FMA indirect GEMM microkernel, 6 rows x 16 columns (contract in
 * kernels.h): the 6x16 GEMM kernel's register tile (12 ymm accumulators)
 * with each segment's 6 A rows taken from the indirection buffer, so a
 * convolution reads its input pixels in place. The row pointers (plus the
 * segment's offset) are loaded once per segment and stay in general
 * registers.
 */
#include <immintrin.h>

#include "../kernels.h"

static inline __m256i lane_mask(size_t n) { /* lanes [0, n) set, n in 0..8 */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
}

/* One output row: acc (+ C) (+ bias), ReLU, store of nc columns; plain
 * loads and stores for full rows (masked stores are slow on AMD cores). */
static inline void store_row(float *c, __m256 lo, __m256 hi, size_t nc, __m256i mlo,
                             __m256i mhi, __m256 blo, __m256 bhi, uint32_t flags) {
    const __m256 zero = _mm256_setzero_ps();
    if (nc == 16) {
        if (flags & RN_GEMM_ACCUMULATE) {
            lo = _mm256_add_ps(_mm256_loadu_ps(c), lo);
            hi = _mm256_add_ps(_mm256_loadu_ps(c + 8), hi);
        }
        lo = _mm256_add_ps(lo, blo);
        hi = _mm256_add_ps(hi, bhi);
        if (flags & RN_GEMM_RELU) { /* max(0, v) keeps NaN, as torch.relu */
            lo = _mm256_max_ps(zero, lo);
            hi = _mm256_max_ps(zero, hi);
        }
        _mm256_storeu_ps(c, lo);
        _mm256_storeu_ps(c + 8, hi);
        return;
    }
    if (flags & RN_GEMM_ACCUMULATE) {
        lo = _mm256_add_ps(_mm256_maskload_ps(c, mlo), lo);
        hi = _mm256_add_ps(_mm256_maskload_ps(c + 8, mhi), hi);
    }
    lo = _mm256_add_ps(lo, blo);
    hi = _mm256_add_ps(hi, bhi);
    if (flags & RN_GEMM_RELU) {
        lo = _mm256_max_ps(zero, lo);
        hi = _mm256_max_ps(zero, hi);
    }
    _mm256_maskstore_ps(c, mlo, lo);
    _mm256_maskstore_ps(c + 8, mhi, hi);
}

#define RN_ROW_ZERO(i) __m256 c##i##l = _mm256_setzero_ps(), c##i##h = _mm256_setzero_ps();
#define RN_ROW_FMA(i)                                        \
    {                                                        \
        const __m256 av = _mm256_broadcast_ss(a##i + p);     \
        c##i##l = _mm256_fmadd_ps(av, blo, c##i##l);         \
        c##i##h = _mm256_fmadd_ps(av, bhi, c##i##h);         \
    }
#define RN_ROW_STORE(i)                                                                    \
    if (mr > i) store_row(c + i * c_stride, c##i##l, c##i##h, nc, mlo, mhi, bias_lo, bias_hi, \
                          flags);

void rn_f32_igemm_6x16__avx2(RN_IGEMM_UKERNEL_ARGS) {
    RN_ROW_ZERO(0) RN_ROW_ZERO(1) RN_ROW_ZERO(2) RN_ROW_ZERO(3) RN_ROW_ZERO(4) RN_ROW_ZERO(5)
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const size_t o = a_off[s];
        const float *a0 = a[0] + o, *a1 = a[1] + o, *a2 = a[2] + o;
        const float *a3 = a[3] + o, *a4 = a[4] + o, *a5 = a[5] + o;
        for (size_t p = 0; p < kc; p++, b += b_stride) {
            const __m256 blo = _mm256_loadu_ps(b), bhi = _mm256_loadu_ps(b + 8);
            RN_ROW_FMA(0) RN_ROW_FMA(1) RN_ROW_FMA(2) RN_ROW_FMA(3) RN_ROW_FMA(4) RN_ROW_FMA(5)
        }
    }
    const __m256i mlo = lane_mask(nc >= 8 ? 8 : nc);
    const __m256i mhi = lane_mask(nc >= 16 ? 8 : nc > 8 ? nc - 8 : 0);
    __m256 bias_lo = _mm256_setzero_ps(), bias_hi = _mm256_setzero_ps();
    if (bias) {
        bias_lo = _mm256_maskload_ps(bias, mlo);
        bias_hi = _mm256_maskload_ps(bias + 8, mhi);
    }
    RN_ROW_STORE(0) RN_ROW_STORE(1) RN_ROW_STORE(2) RN_ROW_STORE(3) RN_ROW_STORE(4)
    RN_ROW_STORE(5)
}
