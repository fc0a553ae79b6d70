/*
 * The AVX-512 vocabulary of the x86 kernel templates (the counterpart of
 * ../avx2/simd-avx2.h, which describes the macros): 16 float lanes, lane
 * masks and compare predicates both in mask registers.
 */
#ifndef RN_SIMD_AVX512_H
#define RN_SIMD_AVX512_H

#include <immintrin.h>
#include <stddef.h>

/* first w (0..16) of 16 lanes */
static inline __mmask16 rn__mask16_avx512(size_t w) { return (__mmask16)((1u << w) - 1u); }

#define RN_V_SUFFIX avx512
#define RN_V_W 16
#define RN_V __m512
#define RN_VM __mmask16
#define RN_VP __mmask16
/* GEMM rows are stored through masks even when full */
#define RN_V_PLAIN_FULL_ROWS 0

#define RN_V_MASK(w) rn__mask16_avx512(w)
#define RN_V_ZERO() _mm512_setzero_ps()
#define RN_V_SET1(x) _mm512_set1_ps(x)
#define RN_V_BCAST(p) _mm512_set1_ps(*(p))
#define RN_V_LOAD(p) _mm512_loadu_ps(p)
#define RN_V_STORE(p, v) _mm512_storeu_ps(p, v)
#define RN_V_LOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define RN_V_STOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define RN_V_ADD(a, b) _mm512_add_ps(a, b)
#define RN_V_SUB(a, b) _mm512_sub_ps(a, b)
#define RN_V_MUL(a, b) _mm512_mul_ps(a, b)
#define RN_V_MAX(a, b) _mm512_max_ps(a, b) /* b where either is NaN */
#define RN_V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)

#define RN_V_CMP(a, b, imm) _mm512_cmp_ps_mask(a, b, imm)
#define RN_VP_AND(p, q) ((__mmask16)((p) & (q)))
#define RN_VP_OR(p, q) ((__mmask16)((p) | (q)))
#define RN_VP_CLEAR(p, q) ((__mmask16)((p) & (__mmask16) ~(q)))
#define RN_VP_ANY(p) ((p) != 0)
#define RN_VP_FROM_MASK(m) (m)
#define RN_VM_FROM_PRED(p) (p)
/* max-pool backward stores a cell's whole row of lanes (see the template) */
#define RN_V_WHOLE_ROW_ADD 1
#define RN_V_LOADP(p, pred) _mm512_maskz_loadu_ps(pred, p)
#define RN_V_KEEP(pred, v) _mm512_maskz_mov_ps(pred, v)
#define RN_V_SELECT(pred, a, b) _mm512_mask_mov_ps(a, pred, b)

#define RN_VD __m512d
#define RN_VMD __mmask8
#define RN_VD_MASK_LO(m, w) ((__mmask8)((m)&0xFF))
#define RN_VD_MASK_HI(m, w) ((__mmask8)((m) >> 8))
#define RN_V_CVT_LO(v) _mm512_cvtps_pd(_mm512_castps512_ps256(v))
#define RN_V_CVT_HI(v) _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1))
#define RN_VD_LOADM(p, m) _mm512_maskz_loadu_pd(m, p)
#define RN_VD_STOREM(p, m, v) _mm512_mask_storeu_pd(p, m, v)
#define RN_VD_ADD(a, b) _mm512_add_pd(a, b)
#define RN_VD_SUB(a, b) _mm512_sub_pd(a, b)
#define RN_VD_MUL(a, b) _mm512_mul_pd(a, b)

#endif /* RN_SIMD_AVX512_H */
