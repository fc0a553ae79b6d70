/*
 * The bf16 indirect GEMM microkernel on AVX512_BF16 (contract in
 * kernels.h), written once for a tile of RN_BF16_MR rows x RN_BF16_NR (16
 * or 32) columns; the including file sets both and includes this file.
 *
 * The functions carry the avx512bf16 target themselves, so the file builds
 * with the AVX-512 flags of every other kernel here, and the table only
 * points at them where CPUID has the extension (dispatch.c).
 *
 * Each pair step loads the B row (NR pairs) and does one vdpbf16ps per
 * accumulator with the row's pair broadcast from memory ({1to16}, written
 * as inline assembly because compilers do not fold the broadcast into this
 * instruction): two multiply-adds per lane per instruction, against one
 * for the fp32 kernels' FMA.
 */
#include "../../core/internal.h"
#include "../kernels.h"
#include "../unroll.h"
#ifdef RN_HAVE_AVX512BF16
#include <immintrin.h>

#define RN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))
#define RN_BF16_NAME5(mr, nr) rn_bf16_igemm_##mr##x##nr##__avx512bf16
#define RN_BF16_NAME(mr, nr) RN_BF16_NAME5(mr, nr)

#if RN_BF16_NR == 16
#define RN_BF16_NRV 1
#elif RN_BF16_NR == 32
#define RN_BF16_NRV 2
#else
#error "RN_BF16_NR must be 16 or 32"
#endif
#define RN_BF16_ROWS(X) RN_UNROLL(RN_BF16_MR, X)
#define RN_BF16_COLS(X, i) RN_UNROLL_ARG(RN_BF16_NRV, X, i)

#define RN_BF16_ZERO1(i, j) __m512 c##i##_##j = _mm512_setzero_ps();
#define RN_BF16_ZERO(i) RN_BF16_COLS(RN_BF16_ZERO1, i)
#define RN_BF16_PTR(i) const char *a##i = (const char *)a[i] + o * 4;
#define RN_BF16_LOADB1(i, j) const __m512 b##j = _mm512_loadu_ps((const void *)(b + j * 16));
/* c += pairs(b) . pairs(broadcast of row i's pair p) */
#define RN_BF16_DOT1(i, j)                           \
    __asm__("vdpbf16ps %[a]%{1to16%}, %[bv], %[acc]" \
            : [acc] "+v"(c##i##_##j)                 \
            : [bv] "v"(b##j), [a] "m"(*(const uint32_t *)(a##i + p * 4)));
#define RN_BF16_DOT(i) RN_BF16_COLS(RN_BF16_DOT1, i)
/* epilogue: as the f32 kernels (+ C, + bias, max(0, v), masked stores) */
#define RN_BF16_STORE1(i, j)                                                                   \
    {                                                                                          \
        __m512 v = c##i##_##j;                                                                 \
        float *cp = c + (i)*c_stride + j * 16;                                                 \
        if (flags & RN_GEMM_ACCUMULATE) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m##j, cp), v); \
        v = _mm512_add_ps(v, bias##j);                                                         \
        if (flags & RN_GEMM_RELU) v = _mm512_max_ps(_mm512_setzero_ps(), v);                   \
        _mm512_mask_storeu_ps(cp, m##j, v);                                                    \
    }
#define RN_BF16_STORE(i)                \
    if (mr > i) {                       \
        RN_BF16_COLS(RN_BF16_STORE1, i) \
    }
#define RN_BF16_TAIL1(i, j)                                                            \
    const __mmask16 m##j = (__mmask16)(nc >= (j + 1) * 16 ? 0xffffu                    \
                                       : nc > j * 16      ? (1u << (nc - j * 16)) - 1u \
                                                          : 0u);                            \
    const __m512 bias##j = bias ? _mm512_maskz_loadu_ps(m##j, bias + j * 16) : _mm512_setzero_ps();

RN_BF16_TARGET void RN_BF16_NAME(RN_BF16_MR, RN_BF16_NR)(RN_IGEMM_BF16_UKERNEL_ARGS) {
    RN_BF16_ROWS(RN_BF16_ZERO)
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const size_t o = a_off[s];
        RN_BF16_ROWS(RN_BF16_PTR)
        for (size_t p = 0; p < kc; p++, b += b_stride) {
            RN_BF16_COLS(RN_BF16_LOADB1, 0)
            RN_BF16_ROWS(RN_BF16_DOT)
        }
    }
    RN_BF16_COLS(RN_BF16_TAIL1, 0)
    RN_BF16_ROWS(RN_BF16_STORE)
}
#endif /* RN_HAVE_AVX512BF16 */
