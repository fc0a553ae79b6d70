/*
 * AArch64 NEON convolution weight-gradient microkernel, 8 output channels x
 * 8 input channels (contract in kernels.h). 16 q accumulators start from C;
 * each pixel loads the 8 output-gradient values as two q registers and the
 * input row as two more, then 16 lane FMAs. Column tails read and write
 * lanes one at a time, never past nc.
 */
#include <arm_neon.h>

#include "../kernels.h"

/* Lanes [0, n) of p, n in 0..4; the rest zero. */
static inline float32x4_t load_part(const float *p, size_t n) {
    if (n >= 4) return vld1q_f32(p);
    float32x4_t v = vdupq_n_f32(0.0f);
    if (n > 0) v = vld1q_lane_f32(p, v, 0);
    if (n > 1) v = vld1q_lane_f32(p + 1, v, 1);
    if (n > 2) v = vld1q_lane_f32(p + 2, v, 2);
    return v;
}

static inline void store_part(float *p, float32x4_t v, size_t n) {
    if (n >= 4) {
        vst1q_f32(p, v);
        return;
    }
    if (n > 0) vst1q_lane_f32(p, v, 0);
    if (n > 1) vst1q_lane_f32(p + 1, v, 1);
    if (n > 2) vst1q_lane_f32(p + 2, v, 2);
}

#define RN_ROW_LOAD(i)                                      \
    float32x4_t c##i##l = load_part(c + i * c_stride, nlo), \
                c##i##h = load_part(c + i * c_stride + 4, nhi);
#define RN_ROW_FMA(i, v, lane)                        \
    c##i##l = vfmaq_laneq_f32(c##i##l, blo, v, lane); \
    c##i##h = vfmaq_laneq_f32(c##i##h, bhi, v, lane);
#define RN_ROW_STORE(i)                         \
    store_part(c + i * c_stride, c##i##l, nlo); \
    store_part(c + i * c_stride + 4, c##i##h, nhi);

/* the rows of accumulator macros stay four to a line */
/* clang-format off */
void rn_f32_wgrad_8x8__neon(RN_WGRAD_UKERNEL_ARGS) {
    const size_t nlo = nc >= 4 ? 4 : nc, nhi = nc > 4 ? nc - 4 : 0;
    RN_ROW_LOAD(0) RN_ROW_LOAD(1) RN_ROW_LOAD(2) RN_ROW_LOAD(3)
    RN_ROW_LOAD(4) RN_ROW_LOAD(5) RN_ROW_LOAD(6) RN_ROW_LOAD(7)
    for (size_t r = 0; r < rows; r++) {
        const float *pa = a + r * a_rs, *pb = b + r * b_rs;
        for (size_t q = 0; q < cols; q++, pa += a_ps, pb += b_ps) {
            float32x4_t blo, bhi;
            if (nc == 8) {
                blo = vld1q_f32(pb), bhi = vld1q_f32(pb + 4);
            } else {
                blo = load_part(pb, nlo), bhi = load_part(pb + 4, nhi);
            }
            const float32x4_t a0 = vld1q_f32(pa), a1 = vld1q_f32(pa + 4);
            RN_ROW_FMA(0, a0, 0) RN_ROW_FMA(1, a0, 1) RN_ROW_FMA(2, a0, 2) RN_ROW_FMA(3, a0, 3)
            RN_ROW_FMA(4, a1, 0) RN_ROW_FMA(5, a1, 1) RN_ROW_FMA(6, a1, 2) RN_ROW_FMA(7, a1, 3)
        }
    }
    RN_ROW_STORE(0) RN_ROW_STORE(1) RN_ROW_STORE(2) RN_ROW_STORE(3)
    RN_ROW_STORE(4) RN_ROW_STORE(5) RN_ROW_STORE(6) RN_ROW_STORE(7)
}
/* clang-format on */
