/*
 * The AArch64 NEON GEMM and indirect-GEMM microkernels (contracts in
 * kernels.h), written once; the including file sets the tile and the kind,
 * then includes this file:
 *
 *   RN_GEMM_MR         rows (1..16)
 *   RN_GEMM_NR         columns, 1 to 4 q registers of 4 floats
 *   RN_GEMM_INDIRECT   0: rn_f32_gemm_<MR>x<NR>__neon, A rows by stride;
 *                      1: rn_f32_igemm_<MR>x<NR>__neon, A rows from the
 *                      indirection buffer
 *
 * MR x NR/4 q accumulators. Each step loads 4 consecutive k of every A row
 * into one q register and multiplies the B rows by its single lanes with
 * vfmaq_laneq_f32, so A is read with full-width loads; a k remainder below
 * 4 takes one k at a time. The FMAs of an accumulator run in k order either
 * way, so the tile size never changes the sums. Column tails are read and
 * written with 2- and 1-lane loads and stores.
 */
#include <arm_neon.h>

#include "../kernels.h"
#include "../unroll.h"

#define RN_GEMM_NAME4(kind, mr, nr) rn_f32_##kind##_##mr##x##nr##__neon
#define RN_GEMM_NAME(kind, mr, nr) RN_GEMM_NAME4(kind, mr, nr)

/* X(i) for each row i < MR; X(i, j) for each q register j < NR / 4 of a row */
#define RN_GEMM_ROWS(X) RN_UNROLL(RN_GEMM_MR, X)
#if RN_GEMM_NR % 4 != 0 || RN_GEMM_NR < 4 || RN_GEMM_NR > 16
#error "RN_GEMM_NR must be 4, 8, 12 or 16"
#endif
/* q registers per row, NR / 4 as a literal */
#define RN_GEMM_NRV_4 1
#define RN_GEMM_NRV_8 2
#define RN_GEMM_NRV_12 3
#define RN_GEMM_NRV_16 4
#define RN_GEMM_NRV RN_UNROLL_CAT(RN_GEMM_NRV_, RN_GEMM_NR)
#define RN_GEMM_COLS(X, i) RN_UNROLL_ARG(RN_GEMM_NRV, X, i)

#ifndef RN_GEMM_NEON_EPILOGUE_DEFINED
#define RN_GEMM_NEON_EPILOGUE_DEFINED
/* Lanes [0, n) of c, n in 0..4; the rest zero. */
static inline float32x4_t rn__load_part_neon(const float *c, size_t n) {
    if (n == 4) return vld1q_f32(c);
    float32x4_t v = vdupq_n_f32(0.0f);
    if (n & 2) {
        v = vcombine_f32(vld1_f32(c), vdup_n_f32(0.0f));
        if (n & 1) v = vld1q_lane_f32(c + 2, v, 2);
    } else if (n & 1) {
        v = vld1q_lane_f32(c, v, 0);
    }
    return v;
}

/* Store lanes [0, n) of v, n in 0..4. */
static inline void rn__store_part_neon(float *c, float32x4_t v, size_t n) {
    if (n == 4) {
        vst1q_f32(c, v);
        return;
    }
    if (n & 2) {
        vst1_f32(c, vget_low_f32(v));
        c += 2;
        v = vextq_f32(v, v, 2);
    }
    if (n & 1) vst1q_lane_f32(c, v, 0);
}

#endif

#define RN_GEMM_ZERO1(i, j) float32x4_t c##i##_##j = vdupq_n_f32(0.0f);
#define RN_GEMM_ZERO(i) RN_GEMM_COLS(RN_GEMM_ZERO1, i)
#define RN_GEMM_LOAD4(i) const float32x4_t v##i = vld1q_f32(RN_GEMM_A(i));
#define RN_GEMM_LOAD_B1(i, j) const float32x4_t b##j = vld1q_f32(bl + 4 * j);
#define RN_GEMM_LANE1(i, j, lane) c##i##_##j = vfmaq_laneq_f32(c##i##_##j, b##j, v##i, lane);
#define RN_GEMM_LANE1_0(i, j) RN_GEMM_LANE1(i, j, 0)
#define RN_GEMM_LANE1_1(i, j) RN_GEMM_LANE1(i, j, 1)
#define RN_GEMM_LANE1_2(i, j) RN_GEMM_LANE1(i, j, 2)
#define RN_GEMM_LANE1_3(i, j) RN_GEMM_LANE1(i, j, 3)
#define RN_GEMM_LANE_0(i) RN_GEMM_COLS(RN_GEMM_LANE1_0, i)
#define RN_GEMM_LANE_1(i) RN_GEMM_COLS(RN_GEMM_LANE1_1, i)
#define RN_GEMM_LANE_2(i) RN_GEMM_COLS(RN_GEMM_LANE1_2, i)
#define RN_GEMM_LANE_3(i) RN_GEMM_COLS(RN_GEMM_LANE1_3, i)
/* k step `lane` of the 4 loaded: the B row times that lane of each A row */
#define RN_GEMM_STEP_LANE(lane)                \
    {                                          \
        const float *bl = b + lane * b_stride; \
        RN_GEMM_COLS(RN_GEMM_LOAD_B1, 0)       \
        RN_GEMM_ROWS(RN_GEMM_LANE_##lane)      \
    }
#define RN_GEMM_ONE1(i, j) c##i##_##j = vfmaq_f32(c##i##_##j, b##j, av);
#define RN_GEMM_ONE(i)                                      \
    {                                                       \
        const float32x4_t av = vld1q_dup_f32(RN_GEMM_A(i)); \
        RN_GEMM_COLS(RN_GEMM_ONE1, i)                       \
    }
/* the 4-k step and the 1-k step over the rows' A pointers RN_GEMM_A(i) */
#define RN_GEMM_STEP4           \
    RN_GEMM_ROWS(RN_GEMM_LOAD4) \
    RN_GEMM_STEP_LANE(0) RN_GEMM_STEP_LANE(1) RN_GEMM_STEP_LANE(2) RN_GEMM_STEP_LANE(3)
#define RN_GEMM_STEP1                    \
    {                                    \
        const float *bl = b;             \
        RN_GEMM_COLS(RN_GEMM_LOAD_B1, 0) \
        RN_GEMM_ROWS(RN_GEMM_ONE)        \
    }

/* One output row: acc (+ C) + bias, ReLU, store of nc columns. FMAX
 * returns NaN for a NaN input, like torch.relu. */
#define RN_GEMM_LANES(j) (nc >= 4 * (j + 1) ? 4 : nc > 4 * j ? nc - 4 * j : 0)
#define RN_GEMM_P_V(i, j) , float32x4_t v##j
#define RN_GEMM_P_B(i, j) , float32x4_t bias##j
#define RN_GEMM_N1(i, j) const size_t n##j = RN_GEMM_LANES(j);
#define RN_GEMM_ACC1(i, j) v##j = vaddq_f32(rn__load_part_neon(c + 4 * j, n##j), v##j);
#define RN_GEMM_ADD_BIAS(i, j) v##j = vaddq_f32(v##j, bias##j);
#define RN_GEMM_RELU1(i, j) v##j = vmaxq_f32(vdupq_n_f32(0.0f), v##j);
#define RN_GEMM_ST1(i, j) rn__store_part_neon(c + 4 * j, v##j, n##j);
#define RN_GEMM_DEFINE_STORE_ROW(name)                                                           \
    static inline void name(float *c,                                                            \
                            size_t nc RN_GEMM_COLS(RN_GEMM_P_V, 0) RN_GEMM_COLS(RN_GEMM_P_B, 0), \
                            uint32_t flags) {                                                    \
        RN_GEMM_COLS(RN_GEMM_N1, 0)                                                              \
        if ((flags & (RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL)) == RN_GEMM_ACCUMULATE) {           \
            RN_GEMM_COLS(RN_GEMM_ACC1, 0)                                                        \
        }                                                                                        \
        RN_GEMM_COLS(RN_GEMM_ADD_BIAS, 0)                                                        \
        if (flags & RN_GEMM_RESIDUAL) {                                                          \
            RN_GEMM_COLS(RN_GEMM_ACC1, 0)                                                        \
        }                                                                                        \
        if (flags & RN_GEMM_RELU) {                                                              \
            RN_GEMM_COLS(RN_GEMM_RELU1, 0)                                                       \
        }                                                                                        \
        RN_GEMM_COLS(RN_GEMM_ST1, 0)                                                             \
    }
#define RN_GEMM_A_V(i, j) , c##i##_##j
#define RN_GEMM_A_B(i, j) , bias##j
#define RN_GEMM_STORE(i)                    \
    if (mr > i)                             \
        RN_GEMM_STORE_ROW(c + i * c_stride, \
                          nc RN_GEMM_COLS(RN_GEMM_A_V, i) RN_GEMM_COLS(RN_GEMM_A_B, i), flags);
#define RN_GEMM_BIAS1(i, j)     \
    const float32x4_t bias##j = \
        bias ? rn__load_part_neon(bias + 4 * j, RN_GEMM_LANES(j)) : vdupq_n_f32(0.0f);
#define RN_GEMM_EPILOGUE           \
    RN_GEMM_COLS(RN_GEMM_BIAS1, 0) \
    RN_GEMM_ROWS(RN_GEMM_STORE)

#if RN_GEMM_INDIRECT

#define RN_GEMM_ROW_PTR(i) const float *a##i = a[i] + o;
#define RN_GEMM_A(i) (a##i + p)

#define RN_GEMM_STORE_ROW RN_GEMM_NAME(igemm_store_row, RN_GEMM_MR, RN_GEMM_NR)
RN_GEMM_DEFINE_STORE_ROW(RN_GEMM_STORE_ROW)

void RN_GEMM_NAME(igemm, RN_GEMM_MR, RN_GEMM_NR)(RN_IGEMM_UKERNEL_ARGS) {
    RN_GEMM_ROWS(RN_GEMM_ZERO)
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const size_t o = a_off[s];
        RN_GEMM_ROWS(RN_GEMM_ROW_PTR)
        size_t p = 0;
        for (; p + 4 <= kc; p += 4, b += 4 * b_stride) {
            RN_GEMM_STEP4
        }
        for (; p < kc; p++, b += b_stride) RN_GEMM_STEP1
    }
    RN_GEMM_EPILOGUE
}

#else

#define RN_GEMM_ROW_PTR(i) const float *a##i = a + i * a_stride;
#define RN_GEMM_A(i) a##i
#define RN_GEMM_ADVANCE(i) a##i += RN_GEMM_STEP_K;

#define RN_GEMM_STORE_ROW RN_GEMM_NAME(gemm_store_row, RN_GEMM_MR, RN_GEMM_NR)
RN_GEMM_DEFINE_STORE_ROW(RN_GEMM_STORE_ROW)

void RN_GEMM_NAME(gemm, RN_GEMM_MR, RN_GEMM_NR)(RN_GEMM_UKERNEL_ARGS) {
    RN_GEMM_ROWS(RN_GEMM_ROW_PTR)
    RN_GEMM_ROWS(RN_GEMM_ZERO)
    /* prefetch the next row block (rows MR..2MR-1), one line per k step: the
     * driver hands it over next, and short row streams otherwise wait on
     * memory. Prefetches never fault. */
    const char *pf = (const char *)(a + RN_GEMM_MR * a_stride);
    size_t p = kc;
    for (; p >= 4; p -= 4) {
        __builtin_prefetch(pf, 0, 2);
        __builtin_prefetch(pf + 64, 0, 2);
        __builtin_prefetch(pf + 128, 0, 2);
        __builtin_prefetch(pf + 192, 0, 2);
        pf += 256;
        RN_GEMM_STEP4
#define RN_GEMM_STEP_K 4
        RN_GEMM_ROWS(RN_GEMM_ADVANCE)
#undef RN_GEMM_STEP_K
        b += 4 * b_stride;
    }
    for (; p; p--) {
        RN_GEMM_STEP1
#define RN_GEMM_STEP_K 1
        RN_GEMM_ROWS(RN_GEMM_ADVANCE)
#undef RN_GEMM_STEP_K
        b += b_stride;
    }
    RN_GEMM_EPILOGUE
}

#undef RN_GEMM_ADVANCE
#endif

#undef RN_GEMM_ROW_PTR
#undef RN_GEMM_A
#undef RN_GEMM_BIAS1
#undef RN_GEMM_COLS
#undef RN_GEMM_NRV
#undef RN_GEMM_NRV_4
#undef RN_GEMM_NRV_8
#undef RN_GEMM_NRV_12
#undef RN_GEMM_NRV_16
#undef RN_GEMM_EPILOGUE
#undef RN_GEMM_LANE1
#undef RN_GEMM_LANE1_0
#undef RN_GEMM_LANE1_1
#undef RN_GEMM_LANE1_2
#undef RN_GEMM_LANE1_3
#undef RN_GEMM_LANE_0
#undef RN_GEMM_LANE_1
#undef RN_GEMM_LANE_2
#undef RN_GEMM_LANE_3
#undef RN_GEMM_LOAD4
#undef RN_GEMM_LOAD_B1
#undef RN_GEMM_NAME
#undef RN_GEMM_NAME4
#undef RN_GEMM_ONE
#undef RN_GEMM_ONE1
#undef RN_GEMM_ROWS
#undef RN_GEMM_STEP1
#undef RN_GEMM_STEP4
#undef RN_GEMM_STEP_LANE
#undef RN_GEMM_STORE
#undef RN_GEMM_LANES
#undef RN_GEMM_P_V
#undef RN_GEMM_P_B
#undef RN_GEMM_N1
#undef RN_GEMM_ACC1
#undef RN_GEMM_ADD_BIAS
#undef RN_GEMM_RELU1
#undef RN_GEMM_ST1
#undef RN_GEMM_DEFINE_STORE_ROW
#undef RN_GEMM_A_V
#undef RN_GEMM_A_B
#undef RN_GEMM_STORE_ROW
#undef RN_GEMM_ZERO
#undef RN_GEMM_ZERO1
