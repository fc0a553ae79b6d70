/*
 * AVX-512 indirect GEMM microkernel, 8 rows x 32 columns (contract in
 * kernels.h). 16 zmm accumulators; each k step is 2 vector loads of B and 8
 * broadcasts of A for 16 FMAs. Eight rows rather than the GEMM kernel's 14:
 * each row is its own pointer from the indirection buffer, and 8 of them
 * (with B, the counters and the buffer) still fit the 16 general registers.
 */
#include <immintrin.h>

#include "../kernels.h"

static inline void store_row(float *c, __m512 lo, __m512 hi, __mmask16 mlo, __mmask16 mhi,
                             __m512 blo, __m512 bhi, uint32_t flags) {
    if (flags & RN_GEMM_ACCUMULATE) {
        lo = _mm512_add_ps(_mm512_maskz_loadu_ps(mlo, c), lo);
        hi = _mm512_add_ps(_mm512_maskz_loadu_ps(mhi, c + 16), hi);
    }
    lo = _mm512_add_ps(lo, blo);
    hi = _mm512_add_ps(hi, bhi);
    if (flags & RN_GEMM_RELU) { /* max(0, v) keeps NaN, as torch.relu */
        lo = _mm512_max_ps(_mm512_setzero_ps(), lo);
        hi = _mm512_max_ps(_mm512_setzero_ps(), hi);
    }
    _mm512_mask_storeu_ps(c, mlo, lo);
    _mm512_mask_storeu_ps(c + 16, mhi, hi);
}

#define RN_ROW_ZERO(i) __m512 c##i##l = _mm512_setzero_ps(), c##i##h = _mm512_setzero_ps();
#define RN_ROW_FMA(i)                                        \
    {                                                        \
        const __m512 av = _mm512_set1_ps(a##i[p]);           \
        c##i##l = _mm512_fmadd_ps(av, blo, c##i##l);         \
        c##i##h = _mm512_fmadd_ps(av, bhi, c##i##h);         \
    }
#define RN_ROW_STORE(i) \
    if (mr > i) store_row(c + i * c_stride, c##i##l, c##i##h, mlo, mhi, bias_lo, bias_hi, flags);

void rn_f32_igemm_8x32__avx512(RN_IGEMM_UKERNEL_ARGS) {
    RN_ROW_ZERO(0) RN_ROW_ZERO(1) RN_ROW_ZERO(2) RN_ROW_ZERO(3)
    RN_ROW_ZERO(4) RN_ROW_ZERO(5) RN_ROW_ZERO(6) RN_ROW_ZERO(7)
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const size_t o = a_off[s];
        const float *a0 = a[0] + o, *a1 = a[1] + o, *a2 = a[2] + o, *a3 = a[3] + o;
        const float *a4 = a[4] + o, *a5 = a[5] + o, *a6 = a[6] + o, *a7 = a[7] + o;
        for (size_t p = 0; p < kc; p++, b += b_stride) {
            const __m512 blo = _mm512_loadu_ps(b), bhi = _mm512_loadu_ps(b + 16);
            RN_ROW_FMA(0) RN_ROW_FMA(1) RN_ROW_FMA(2) RN_ROW_FMA(3)
            RN_ROW_FMA(4) RN_ROW_FMA(5) RN_ROW_FMA(6) RN_ROW_FMA(7)
        }
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
    RN_ROW_STORE(0) RN_ROW_STORE(1) RN_ROW_STORE(2) RN_ROW_STORE(3)
    RN_ROW_STORE(4) RN_ROW_STORE(5) RN_ROW_STORE(6) RN_ROW_STORE(7)
}
