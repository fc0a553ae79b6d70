/*
 * The AVX2 vocabulary of the x86 kernel templates (f32-elementwise-x86-
 * template.h, f32-gemm-x86-template.h): vector width, types and operations
 * as macros, so one template text compiles to AVX2 here and to AVX-512 with
 * ../avx512/simd-avx512.h. A lane mask (RN_VM) selects the first w lanes
 * for vmaskmov tails; a predicate (RN_VP) is a compare result, here a
 * vector of all-ones or all-zero lanes.
 */
#ifndef RN_SIMD_AVX2_H
#define RN_SIMD_AVX2_H

#include "tail-avx2.h"

#define RN_V_SUFFIX avx2
#define RN_V_W 8
#define RN_V __m256
#define RN_VM __m256i
#define RN_VP __m256
/* Full-width GEMM rows take plain loads and stores: masked stores are slow
 * on AMD cores. */
#define RN_V_PLAIN_FULL_ROWS 1

#define RN_V_MASK(w) rn__mask8_avx2(w) /* first w (0..8) lanes */
#define RN_V_ZERO() _mm256_setzero_ps()
#define RN_V_SET1(x) _mm256_set1_ps(x)
#define RN_V_BCAST(p) _mm256_broadcast_ss(p)
#define RN_V_LOAD(p) _mm256_loadu_ps(p)
#define RN_V_STORE(p, v) _mm256_storeu_ps(p, v)
#define RN_V_LOADM(p, m) _mm256_maskload_ps(p, m) /* masked-off lanes read 0 */
#define RN_V_STOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define RN_V_ADD(a, b) _mm256_add_ps(a, b)
#define RN_V_SUB(a, b) _mm256_sub_ps(a, b)
#define RN_V_MUL(a, b) _mm256_mul_ps(a, b)
#define RN_V_MAX(a, b) _mm256_max_ps(a, b) /* b where either is NaN */
#define RN_V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)

#define RN_V_CMP(a, b, imm) _mm256_cmp_ps(a, b, imm)
#define RN_VP_AND(p, q) _mm256_and_ps(p, q)
#define RN_VP_OR(p, q) _mm256_or_ps(p, q)
#define RN_VP_CLEAR(p, q) _mm256_andnot_ps(q, p) /* p and not q */
#define RN_VP_ANY(p) (_mm256_movemask_ps(p) != 0)
#define RN_VP_FROM_MASK(m) _mm256_castsi256_ps(m)
#define RN_VM_FROM_PRED(p) _mm256_castps_si256(p)
/* max-pool backward adds g through masked loads and stores of the hit lanes */
#define RN_V_WHOLE_ROW_ADD 0
#define RN_V_LOADP(p, pred) _mm256_maskload_ps(p, _mm256_castps_si256(pred))
#define RN_V_KEEP(pred, v) _mm256_and_ps(pred, v)            /* v where pred, else +0 */
#define RN_V_SELECT(pred, a, b) _mm256_blendv_ps(a, b, pred) /* b where pred, else a */

/* the float lanes widened to doubles, in two halves of RN_V_W / 2 */
#define RN_VD __m256d
#define RN_VMD __m256i
#define RN_VD_MASK_LO(m, w) rn__mask4d_avx2(w)
#define RN_VD_MASK_HI(m, w) rn__mask4d_avx2((w) > 4 ? (w)-4 : 0)
#define RN_V_CVT_LO(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define RN_V_CVT_HI(v) _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#define RN_VD_LOADM(p, m) _mm256_maskload_pd(p, m)
#define RN_VD_STOREM(p, m, v) _mm256_maskstore_pd(p, m, v)
#define RN_VD_ADD(a, b) _mm256_add_pd(a, b)
#define RN_VD_SUB(a, b) _mm256_sub_pd(a, b)
#define RN_VD_MUL(a, b) _mm256_mul_pd(a, b)

#endif /* RN_SIMD_AVX2_H */
