/*
 * The NEON int8 convolution microkernels (contract in kernels.h: MR output
 * pixels x 16 output channels, requantizing epilogue), written once for
 * AArch64 with and without the dot-product extension. The including file
 * sets RN_QK_MR (1..16) and RN_QK_DOT:
 *
 *   RN_QK_DOT 1  sdot: each 32-bit lane of the accumulator adds the four
 *                products of 4 input channels and its output channel's 4
 *                weights (compiled for armv8.2-a+dotprod through a target
 *                attribute on the one function, so the file needs no flags
 *                and the amalgamation carries it; the table takes it only
 *                where the CPU reports the extension).
 *   RN_QK_DOT 0  smull / smull2 widen the 16 products of 4 channels x 4
 *                weights to int16, addp adds adjacent pairs (at most
 *                2 * 127 * 127 = 32258 in magnitude: weights are never
 *                -128, so no int16 overflows, even for an activation of
 *                -128: 2 * 128 * 127 = 32512), and sadalp adds the next
 *                pairs into the int32 accumulator.
 *
 * Activations are signed (the table entry has u8 = 0). Epilogue, the same
 * as the scalar kernel's operation by operation: scvtf, fmul by m, (scvtf
 * of the residual, fmul by m_r, fadd), fmax lo, fmin 127, fcvtns (nearest,
 * ties to even), narrowing of values already in range.
 */
#include <arm_neon.h>

#include "../kernels.h"
#include "../unroll.h"

#if RN_QK_DOT
#define RN_QK_SUFFIX neondot
#define RN_QK_TARGET __attribute__((target("arch=armv8.2-a+dotprod")))
#else
#define RN_QK_SUFFIX neon
#define RN_QK_TARGET
#endif

#define RN_QK_NAME3(mr, isa) rn_qs8_igemm_##mr##x16__##isa
#define RN_QK_NAME2(mr, isa) RN_QK_NAME3(mr, isa)
#define RN_QK_ROWS(X) RN_UNROLL(RN_QK_MR, X)

#define RN_QK_INIT(i) \
    int32x4_t acc##i##_0 = vb0, acc##i##_1 = vb1, acc##i##_2 = vb2, acc##i##_3 = vb3;
#define RN_QK_PTR(i) const int8_t *a##i = a[i] + a_off[s];
/* 4 bytes of a row broadcast; the pointer need not be 4-byte aligned (a
 * pixel's channels need not be a multiple of 4), so the bytes go through
 * a memcpy the compiler inlines (one unaligned 32-bit load; no libc call)
 * rather than an int32_t pointer */
#ifndef RN_QK_NEON_LOAD4_DEFINED /* once per translation unit: the amalgamation has both variants */
#define RN_QK_NEON_LOAD4_DEFINED
static inline int8x16_t rn_qk_load4(const int8_t *p) {
    int32_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
}
#endif
#define RN_QK_X(i) rn_qk_load4(a##i + 4 * g)
#if RN_QK_DOT
#define RN_QK_STEP(i)                               \
    {                                               \
        const int8x16_t x = RN_QK_X(i);             \
        acc##i##_0 = vdotq_s32(acc##i##_0, vw0, x); \
        acc##i##_1 = vdotq_s32(acc##i##_1, vw1, x); \
        acc##i##_2 = vdotq_s32(acc##i##_2, vw2, x); \
        acc##i##_3 = vdotq_s32(acc##i##_3, vw3, x); \
    }
#else
#define RN_QK_DOT4(acc, w, x) \
    acc = vpadalq_s16(acc,    \
                      vpaddq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(x)), vmull_high_s8(w, x)))
#define RN_QK_STEP(i)                   \
    {                                   \
        const int8x16_t x = RN_QK_X(i); \
        RN_QK_DOT4(acc##i##_0, vw0, x); \
        RN_QK_DOT4(acc##i##_1, vw1, x); \
        RN_QK_DOT4(acc##i##_2, vw2, x); \
        RN_QK_DOT4(acc##i##_3, vw3, x); \
    }
#endif

/* 4 channels: requantized, as int32 */
#define RN_QK_REQ(acc, vm, rr)                                                          \
    vcvtnq_s32_f32(vminq_f32(vmaxq_f32(r ? vaddq_f32(vmulq_f32(vcvtq_f32_s32(acc), vm), \
                                                     vmulq_f32(vcvtq_f32_s32(rr), vmr)) \
                                         : vmulq_f32(vcvtq_f32_s32(acc), vm),           \
                                       vlo),                                            \
                             v127))

#define RN_QK_EPI(i)                                                                    \
    if (i < mr) {                                                                       \
        int8_t rtmp[16], ytmp[16];                                                      \
        int8x16_t rb = vdupq_n_s8(0);                                                   \
        if (r) {                                                                        \
            const int8_t *ri = r + i * r_stride;                                        \
            if (nc == 16) {                                                             \
                rb = vld1q_s8(ri);                                                      \
            } else {                                                                    \
                for (size_t c = 0; c < 16; c++) rtmp[c] = c < nc ? ri[c] : 0;           \
                rb = vld1q_s8(rtmp);                                                    \
            }                                                                           \
        }                                                                               \
        const int16x8_t r16l = vmovl_s8(vget_low_s8(rb)), r16h = vmovl_high_s8(rb);     \
        const int32x4_t q0 = RN_QK_REQ(acc##i##_0, vm0, vmovl_s16(vget_low_s16(r16l))); \
        const int32x4_t q1 = RN_QK_REQ(acc##i##_1, vm1, vmovl_high_s16(r16l));          \
        const int32x4_t q2 = RN_QK_REQ(acc##i##_2, vm2, vmovl_s16(vget_low_s16(r16h))); \
        const int32x4_t q3 = RN_QK_REQ(acc##i##_3, vm3, vmovl_high_s16(r16h));          \
        const int8x16_t b8 =                                                            \
            vcombine_s8(vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))),       \
                        vqmovn_s16(vcombine_s16(vqmovn_s32(q2), vqmovn_s32(q3))));      \
        if (nc == 16) {                                                                 \
            vst1q_s8(y + i * y_stride, b8);                                             \
        } else {                                                                        \
            vst1q_s8(ytmp, b8);                                                         \
            for (size_t c = 0; c < nc; c++) y[i * y_stride + c] = ytmp[c];              \
        }                                                                               \
    }

RN_QK_TARGET void RN_QK_NAME2(RN_QK_MR, RN_QK_SUFFIX)(RN_QCONV_UKERNEL_ARGS) {
    const int32x4_t vb0 = vld1q_s32(bias), vb1 = vld1q_s32(bias + 4), vb2 = vld1q_s32(bias + 8),
                    vb3 = vld1q_s32(bias + 12);
    RN_QK_ROWS(RN_QK_INIT)
    for (size_t s = 0; s < ks; s++) {
        RN_QK_ROWS(RN_QK_PTR)
        const int8_t *wp = w + s * kg * 64;
        for (size_t g = 0; g < kg; g++, wp += 64) {
            const int8x16_t vw0 = vld1q_s8(wp), vw1 = vld1q_s8(wp + 16), vw2 = vld1q_s8(wp + 32),
                            vw3 = vld1q_s8(wp + 48);
            RN_QK_ROWS(RN_QK_STEP)
        }
    }
    const float32x4_t vm0 = vld1q_f32(m), vm1 = vld1q_f32(m + 4), vm2 = vld1q_f32(m + 8),
                      vm3 = vld1q_f32(m + 12);
    const float32x4_t vmr = vdupq_n_f32(m_r), vlo = vdupq_n_f32(relu ? 0.f : -127.f),
                      v127 = vdupq_n_f32(127.f);
    RN_QK_ROWS(RN_QK_EPI)
}

#undef RN_QK_SUFFIX
#undef RN_QK_TARGET
#undef RN_QK_NAME2
#undef RN_QK_NAME3
#undef RN_QK_ROWS
#undef RN_QK_INIT
#undef RN_QK_PTR
#undef RN_QK_X
#undef RN_QK_STEP
#undef RN_QK_DOT4
#undef RN_QK_REQ
#undef RN_QK_EPI
