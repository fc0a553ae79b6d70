/*
 * AArch64 NEON indirect GEMM microkernel, 8 rows x 8 columns (contract in
 * kernels.h): the 8x8 GEMM kernel's tile (16 q accumulators, 4 k of every A
 * row per load, vfmaq_laneq_f32) with each segment's 8 A rows taken from the
 * indirection buffer. Column tails are written with 2- and 1-lane stores.
 */
#include <arm_neon.h>

#include "../kernels.h"

/* Lanes [0, n) of c, n in 0..4; the rest zero. */
static inline float32x4_t load_part(const float *c, size_t n) {
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
static inline void store_part(float *c, float32x4_t v, size_t n) {
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

static inline void store_row(float *c, float32x4_t lo, float32x4_t hi, size_t nc,
                             float32x4_t blo, float32x4_t bhi, uint32_t flags) {
    const size_t nlo = nc >= 4 ? 4 : nc, nhi = nc > 4 ? nc - 4 : 0;
    if (flags & RN_GEMM_ACCUMULATE) {
        lo = vaddq_f32(load_part(c, nlo), lo);
        hi = vaddq_f32(load_part(c + 4, nhi), hi);
    }
    lo = vaddq_f32(lo, blo);
    hi = vaddq_f32(hi, bhi);
    if (flags & RN_GEMM_RELU) { /* FMAX returns NaN for a NaN input, like torch.relu */
        lo = vmaxq_f32(vdupq_n_f32(0.0f), lo);
        hi = vmaxq_f32(vdupq_n_f32(0.0f), hi);
    }
    store_part(c, lo, nlo);
    store_part(c + 4, hi, nhi);
}

#define RN_ROW_DECL(i) float32x4_t c##i##l = vdupq_n_f32(0.0f), c##i##h = vdupq_n_f32(0.0f);
#define RN_ROW_LOAD4(i) const float32x4_t v##i = vld1q_f32(a##i + p);
#define RN_ROW_LANE(i, lane)                                  \
    c##i##l = vfmaq_laneq_f32(c##i##l, blo, v##i, lane);      \
    c##i##h = vfmaq_laneq_f32(c##i##h, bhi, v##i, lane);
#define RN_STEP_LANE(lane)                                                                 \
    {                                                                                      \
        const float *bl = b + lane * b_stride;                                             \
        const float32x4_t blo = vld1q_f32(bl), bhi = vld1q_f32(bl + 4);                     \
        RN_ROW_LANE(0, lane) RN_ROW_LANE(1, lane) RN_ROW_LANE(2, lane) RN_ROW_LANE(3, lane) \
        RN_ROW_LANE(4, lane) RN_ROW_LANE(5, lane) RN_ROW_LANE(6, lane) RN_ROW_LANE(7, lane) \
    }
#define RN_ROW_ONE(i)                                      \
    {                                                      \
        const float32x4_t av = vld1q_dup_f32(a##i + p);    \
        c##i##l = vfmaq_f32(c##i##l, blo, av);             \
        c##i##h = vfmaq_f32(c##i##h, bhi, av);             \
    }
#define RN_ROW_STORE(i) \
    if (mr > i) store_row(c + i * c_stride, c##i##l, c##i##h, nc, bias_lo, bias_hi, flags);

void rn_f32_igemm_8x8__neon(RN_IGEMM_UKERNEL_ARGS) {
    RN_ROW_DECL(0) RN_ROW_DECL(1) RN_ROW_DECL(2) RN_ROW_DECL(3)
    RN_ROW_DECL(4) RN_ROW_DECL(5) RN_ROW_DECL(6) RN_ROW_DECL(7)
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const size_t o = a_off[s];
        const float *a0 = a[0] + o, *a1 = a[1] + o, *a2 = a[2] + o, *a3 = a[3] + o;
        const float *a4 = a[4] + o, *a5 = a[5] + o, *a6 = a[6] + o, *a7 = a[7] + o;
        size_t p = 0;
        for (; p + 4 <= kc; p += 4, b += 4 * b_stride) {
            RN_ROW_LOAD4(0) RN_ROW_LOAD4(1) RN_ROW_LOAD4(2) RN_ROW_LOAD4(3)
            RN_ROW_LOAD4(4) RN_ROW_LOAD4(5) RN_ROW_LOAD4(6) RN_ROW_LOAD4(7)
            RN_STEP_LANE(0) RN_STEP_LANE(1) RN_STEP_LANE(2) RN_STEP_LANE(3)
        }
        for (; p < kc; p++, b += b_stride) {
            const float32x4_t blo = vld1q_f32(b), bhi = vld1q_f32(b + 4);
            RN_ROW_ONE(0) RN_ROW_ONE(1) RN_ROW_ONE(2) RN_ROW_ONE(3)
            RN_ROW_ONE(4) RN_ROW_ONE(5) RN_ROW_ONE(6) RN_ROW_ONE(7)
        }
    }
    float32x4_t bias_lo = vdupq_n_f32(0.0f), bias_hi = vdupq_n_f32(0.0f);
    if (bias) {
        bias_lo = load_part(bias, nc >= 4 ? 4 : nc);
        bias_hi = load_part(bias + 4, nc > 4 ? nc - 4 : 0);
    }
    RN_ROW_STORE(0) RN_ROW_STORE(1) RN_ROW_STORE(2) RN_ROW_STORE(3)
    RN_ROW_STORE(4) RN_ROW_STORE(5) RN_ROW_STORE(6) RN_ROW_STORE(7)
}
