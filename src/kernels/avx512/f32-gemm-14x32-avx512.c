/*
 * AVX-512 GEMM microkernel, 14 rows x 32 columns (contract in kernels.h).
 * 28 zmm accumulators + 2 for the B row leave 2 of the 32 registers; each
 * A element is broadcast straight from memory, so a k step costs 2 vector
 * loads and 14 broadcasts for 28 FMAs.
 */
#include <immintrin.h>

#include "../kernels.h"

/* One output row: acc (+ C) (+ bias), ReLU, masked store of nc columns. */
static inline void store_row(float *c, __m512 lo, __m512 hi, __mmask16 mlo, __mmask16 mhi,
                             __m512 blo, __m512 bhi, uint32_t flags) {
    if (flags & RN_GEMM_ACCUMULATE) {
        lo = _mm512_add_ps(_mm512_maskz_loadu_ps(mlo, c), lo);
        hi = _mm512_add_ps(_mm512_maskz_loadu_ps(mhi, c + 16), hi);
    }
    lo = _mm512_add_ps(lo, blo);
    hi = _mm512_add_ps(hi, bhi);
    if (flags & RN_GEMM_RELU) {
        /* max(0, x) keeps NaN (the second operand wins on unordered), like torch.relu */
        lo = _mm512_max_ps(_mm512_setzero_ps(), lo);
        hi = _mm512_max_ps(_mm512_setzero_ps(), hi);
    }
    _mm512_mask_storeu_ps(c, mlo, lo);
    _mm512_mask_storeu_ps(c + 16, mhi, hi);
}

/* Rows are addressed as base + {0, 1, 2, 3, 4} * stride from three bases
 * (rows 0, 5, 10), so the k loop needs 7 general registers instead of 14
 * row pointers (which spill). */
#define RN_A(base, off) _mm512_set1_ps(*(const float *)(base + (off)))
#define RN_ROW_ZERO(i) __m512 c##i##l = _mm512_setzero_ps(), c##i##h = _mm512_setzero_ps();
#define RN_ROW_FMA(i, x)                                     \
    {                                                        \
        const __m512 av = x;                                 \
        c##i##l = _mm512_fmadd_ps(av, blo, c##i##l);         \
        c##i##h = _mm512_fmadd_ps(av, bhi, c##i##h);         \
    }
#define RN_ROW_STORE(i)                                                              \
    if (mr > i) store_row(c + i * c_stride, c##i##l, c##i##h, mlo, mhi, bias_lo, bias_hi, \
                          flags);

void rn_f32_gemm_14x32__avx512(RN_GEMM_UKERNEL_ARGS) {
    const size_t s = a_stride * sizeof(float), s3 = 3 * s;
    const char *r0 = (const char *)a, *r5 = r0 + 5 * s, *r10 = r0 + 10 * s;
    RN_ROW_ZERO(0) RN_ROW_ZERO(1) RN_ROW_ZERO(2) RN_ROW_ZERO(3) RN_ROW_ZERO(4)
    RN_ROW_ZERO(5) RN_ROW_ZERO(6) RN_ROW_ZERO(7) RN_ROW_ZERO(8) RN_ROW_ZERO(9)
    RN_ROW_ZERO(10) RN_ROW_ZERO(11) RN_ROW_ZERO(12) RN_ROW_ZERO(13)

    /* The next row block (rows 14..27 at this stride) is what the driver
     * hands over after this one's panels: one line of it per k step reaches
     * L2 in time. Without this, the short row streams of a GEMM with few
     * columns wait on memory (measured: 65% -> 94% of peak for the 7x7
     * stem convolution). Prefetches never fault, even past the matrix. */
    const char *pf = r0 + 14 * s;
    for (size_t p = kc; p; p--, b += b_stride, r0 += 4, r5 += 4, r10 += 4, pf += 64) {
        _mm_prefetch(pf, _MM_HINT_T1);
        const __m512 blo = _mm512_loadu_ps(b), bhi = _mm512_loadu_ps(b + 16);
        RN_ROW_FMA(0, RN_A(r0, 0)) RN_ROW_FMA(1, RN_A(r0, s)) RN_ROW_FMA(2, RN_A(r0, 2 * s))
        RN_ROW_FMA(3, RN_A(r0, s3)) RN_ROW_FMA(4, RN_A(r0, 4 * s))
        RN_ROW_FMA(5, RN_A(r5, 0)) RN_ROW_FMA(6, RN_A(r5, s)) RN_ROW_FMA(7, RN_A(r5, 2 * s))
        RN_ROW_FMA(8, RN_A(r5, s3)) RN_ROW_FMA(9, RN_A(r5, 4 * s))
        RN_ROW_FMA(10, RN_A(r10, 0)) RN_ROW_FMA(11, RN_A(r10, s))
        RN_ROW_FMA(12, RN_A(r10, 2 * s)) RN_ROW_FMA(13, RN_A(r10, s3))
    }

    const __mmask16 mlo = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1u);
    const __mmask16 mhi = nc >= 32   ? (__mmask16)0xFFFF
                          : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1u)
                                    : (__mmask16)0;
    __m512 bias_lo = _mm512_setzero_ps(), bias_hi = _mm512_setzero_ps();
    if (bias) {
        bias_lo = _mm512_maskz_loadu_ps(mlo, bias);
        bias_hi = _mm512_maskz_loadu_ps(mhi, bias + 16);
    }
    RN_ROW_STORE(0) RN_ROW_STORE(1) RN_ROW_STORE(2) RN_ROW_STORE(3) RN_ROW_STORE(4)
    RN_ROW_STORE(5) RN_ROW_STORE(6) RN_ROW_STORE(7) RN_ROW_STORE(8) RN_ROW_STORE(9)
    RN_ROW_STORE(10) RN_ROW_STORE(11) RN_ROW_STORE(12) RN_ROW_STORE(13)
}
