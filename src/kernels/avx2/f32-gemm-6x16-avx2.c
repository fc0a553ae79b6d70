/*
 * AVX2 + FMA GEMM microkernel, 6 rows x 16 columns (contract in kernels.h).
 * 12 ymm accumulators, 2 for the B row and 1 broadcast fill 15 of the 16
 * registers. Column tails use vmaskmovps, which neither reads nor writes
 * (nor faults on) masked-off lanes; full tiles take plain stores because
 * masked stores are slow on AMD cores.
 */
#include <immintrin.h>

#include "../kernels.h"

static inline __m256i lane_mask(size_t n) { /* lanes [0, n) set, n in 0..8 */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
}

static inline __m256 relu(__m256 v) {
    return _mm256_max_ps(_mm256_setzero_ps(), v); /* NaN passes, as in torch.relu */
}

/* One output row: acc (+ C) (+ bias), ReLU, store of nc columns. */
static inline void store_row(float *c, __m256 lo, __m256 hi, size_t nc, __m256i mlo,
                             __m256i mhi, __m256 blo, __m256 bhi, uint32_t flags) {
    if (nc == 16) {
        if (flags & RN_GEMM_ACCUMULATE) {
            lo = _mm256_add_ps(_mm256_loadu_ps(c), lo);
            hi = _mm256_add_ps(_mm256_loadu_ps(c + 8), hi);
        }
        lo = _mm256_add_ps(lo, blo);
        hi = _mm256_add_ps(hi, bhi);
        if (flags & RN_GEMM_RELU) {
            lo = relu(lo);
            hi = relu(hi);
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
        lo = relu(lo);
        hi = relu(hi);
    }
    _mm256_maskstore_ps(c, mlo, lo);
    _mm256_maskstore_ps(c + 8, mhi, hi);
}

/* Rows are base + {0, 1, 2} * stride from two bases (rows 0 and 3). */
#define RN_A(base, off) _mm256_broadcast_ss((const float *)(base + (off)))
#define RN_ROW_ZERO(i) __m256 c##i##l = _mm256_setzero_ps(), c##i##h = _mm256_setzero_ps();
#define RN_ROW_FMA(i, x)                                     \
    {                                                        \
        const __m256 av = x;                                 \
        c##i##l = _mm256_fmadd_ps(av, blo, c##i##l);         \
        c##i##h = _mm256_fmadd_ps(av, bhi, c##i##h);         \
    }
#define RN_ROW_STORE(i)                                                                    \
    if (mr > i) store_row(c + i * c_stride, c##i##l, c##i##h, nc, mlo, mhi, bias_lo, bias_hi, \
                          flags);

void rn_f32_gemm_6x16__avx2(RN_GEMM_UKERNEL_ARGS) {
    const size_t s = a_stride * sizeof(float);
    const char *r0 = (const char *)a, *r3 = r0 + 3 * s;
    RN_ROW_ZERO(0) RN_ROW_ZERO(1) RN_ROW_ZERO(2) RN_ROW_ZERO(3) RN_ROW_ZERO(4) RN_ROW_ZERO(5)

    /* prefetch the next row block (rows 6..11), one line per k step: see
     * the AVX-512 kernel */
    const char *pf = r0 + 6 * s;
    for (size_t p = kc; p; p--, b += b_stride, r0 += 4, r3 += 4, pf += 64) {
        _mm_prefetch(pf, _MM_HINT_T1);
        const __m256 blo = _mm256_loadu_ps(b), bhi = _mm256_loadu_ps(b + 8);
        RN_ROW_FMA(0, RN_A(r0, 0)) RN_ROW_FMA(1, RN_A(r0, s)) RN_ROW_FMA(2, RN_A(r0, 2 * s))
        RN_ROW_FMA(3, RN_A(r3, 0)) RN_ROW_FMA(4, RN_A(r3, s)) RN_ROW_FMA(5, RN_A(r3, 2 * s))
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
