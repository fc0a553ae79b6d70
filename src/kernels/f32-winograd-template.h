/*
 * The Winograd F(4x4,3x3), F(2x2,3x3) and F(6x6,3x3) tile transforms
 * (contract in kernels.h), written
 * once in plain C over the channels (contiguous in NHWC) and compiled once
 * per ISA by the files that include this one (f32-winograd-<isa>.c, each
 * with its ISA's flags), so the compiler's vectoriser produces each ISA's
 * vector code. The arithmetic is the same expressions in the same order
 * everywhere; each file defines RN_WG_SUFFIX (scalar, avx2, ...) first.
 *
 *   B^T = [4  0 -5  0 1 0]      A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]            [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]            [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]            [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]
 *         [0  4  0 -5 0 1]
 */
#include "../core/rn_deps.h"

#include "kernels.h"

#define RN_WG_CAT2(a, b) a##__##b
#define RN_WG_CAT(a, b) RN_WG_CAT2(a, b)
#define RN_WG_NAME(base) RN_WG_CAT(base, RN_WG_SUFFIX)

/* Channels per step: the intermediates of one step stay in L1. The full
 * steps have a width known at compile time (RN_WG_CB), so that the
 * compiler keeps them in whole vector registers and turns the copies into
 * vector moves; the last, partial step of a channel count that is not a
 * multiple of it runs the same code with a run-time width. */
#define RN_WG_CB 16

/* The rows a step writes never overlap each other or what it reads (their
 * stride is at least nc): gcc 12 otherwise versions these loops for
 * aliasing and runs them scalar. (clang's equivalent request turns into a
 * "loop not vectorized" error where its vectoriser is off, as in the scalar
 * table's build and unoptimised sanitizer builds, so it is not made.) */
#if defined(__GNUC__) && !defined(__clang__)
#define RN_WG_IVDEP _Pragma("GCC ivdep")
#else
#define RN_WG_IVDEP
#endif

#if defined(__GNUC__)
#define RN_WG_INLINE static inline __attribute__((always_inline))
#else
#define RN_WG_INLINE static inline
#endif

/* V = B^T d B for channels [c0, c0 + cb) of one tile */
RN_WG_INLINE void RN_WG_NAME(wg_input_step)(const float *const *d, size_t c0, size_t cb, float *v,
                                            size_t v_stride) {
    float tt[36][RN_WG_CB];
    /* tt = B^T d, down each column q of the tile */
    for (size_t q = 0; q < 6; q++) {
        const float *restrict d0 = d[q] + c0, *restrict d1 = d[6 + q] + c0;
        const float *restrict d2 = d[12 + q] + c0, *restrict d3 = d[18 + q] + c0;
        const float *restrict d4 = d[24 + q] + c0, *restrict d5 = d[30 + q] + c0;
        float *restrict t0 = tt[q], *restrict t1 = tt[6 + q], *restrict t2 = tt[12 + q];
        float *restrict t3 = tt[18 + q], *restrict t4 = tt[24 + q], *restrict t5 = tt[30 + q];
        for (size_t c = 0; c < cb; c++) {
            const float a0 = d0[c], a1 = d1[c], a2 = d2[c], a3 = d3[c], a4 = d4[c];
            const float a5 = d5[c];
            t0[c] = 4.0f * a0 - 5.0f * a2 + a4;
            t1[c] = -4.0f * a1 - 4.0f * a2 + a3 + a4;
            t2[c] = 4.0f * a1 - 4.0f * a2 - a3 + a4;
            t3[c] = -2.0f * a1 - a2 + 2.0f * a3 + a4;
            t4[c] = 2.0f * a1 - a2 - 2.0f * a3 + a4;
            t5[c] = 4.0f * a1 - 5.0f * a3 + a5;
        }
    }
    /* V = tt B, along each row i */
    for (size_t i = 0; i < 6; i++) {
        const float *restrict s0 = tt[i * 6], *restrict s1 = tt[i * 6 + 1];
        const float *restrict s2 = tt[i * 6 + 2], *restrict s3 = tt[i * 6 + 3];
        const float *restrict s4 = tt[i * 6 + 4], *restrict s5 = tt[i * 6 + 5];
        float *restrict v0 = v + (i * 6) * v_stride + c0;
        float *restrict v1 = v + (i * 6 + 1) * v_stride + c0;
        float *restrict v2 = v + (i * 6 + 2) * v_stride + c0;
        float *restrict v3 = v + (i * 6 + 3) * v_stride + c0;
        float *restrict v4 = v + (i * 6 + 4) * v_stride + c0;
        float *restrict v5 = v + (i * 6 + 5) * v_stride + c0;
        RN_WG_IVDEP
        for (size_t c = 0; c < cb; c++) {
            const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
            const float a5 = s5[c];
            v0[c] = 4.0f * a0 - 5.0f * a2 + a4;
            v1[c] = -4.0f * a1 - 4.0f * a2 + a3 + a4;
            v2[c] = 4.0f * a1 - 4.0f * a2 - a3 + a4;
            v3[c] = -2.0f * a1 - a2 + 2.0f * a3 + a4;
            v4[c] = 2.0f * a1 - a2 - 2.0f * a3 + a4;
            v5[c] = 4.0f * a1 - 5.0f * a3 + a5;
        }
    }
}

void RN_WG_NAME(rn_f32_winograd_input)(RN_WINOGRAD_INPUT_ARGS) {
    size_t c0 = 0;
    for (; c0 + RN_WG_CB <= nc; c0 += RN_WG_CB)
        RN_WG_NAME(wg_input_step)(d, c0, RN_WG_CB, v, v_stride);
    if (c0 < nc) RN_WG_NAME(wg_input_step)(d, c0, nc - c0, v, v_stride);
}

/* O = A^T M A for channels [c0, c0 + cb) of one tile, + bias, + the old
 * output (RN_WG_ACCUMULATE), ReLU (RN_WG_RELU) */
RN_WG_INLINE void RN_WG_NAME(wg_output_step)(size_t c0, size_t cb, const float *m, size_t m_stride,
                                             float *const *y, const float *bias, uint32_t flags) {
    float tt[24][RN_WG_CB];
    /* tt = A^T M, down each column q */
    for (size_t q = 0; q < 6; q++) {
        const float *restrict m0 = m + q * m_stride + c0;
        const float *restrict m1 = m + (6 + q) * m_stride + c0;
        const float *restrict m2 = m + (12 + q) * m_stride + c0;
        const float *restrict m3 = m + (18 + q) * m_stride + c0;
        const float *restrict m4 = m + (24 + q) * m_stride + c0;
        const float *restrict m5 = m + (30 + q) * m_stride + c0;
        float *restrict t0 = tt[q], *restrict t1 = tt[6 + q];
        float *restrict t2 = tt[12 + q], *restrict t3 = tt[18 + q];
        for (size_t c = 0; c < cb; c++) {
            const float a0 = m0[c], a1 = m1[c], a2 = m2[c], a3 = m3[c], a4 = m4[c];
            const float a5 = m5[c];
            t0[c] = a0 + a1 + a2 + a3 + a4;
            t1[c] = a1 - a2 + 2.0f * a3 - 2.0f * a4;
            t2[c] = a1 + a2 + 4.0f * a3 + 4.0f * a4;
            t3[c] = a1 - a2 + 8.0f * a3 - 8.0f * a4 + a5;
        }
    }
    /* O = tt A along each row i, + bias, ReLU (x < 0 ? 0 : x keeps NaN),
     * straight into the output pixels; a pixel outside the image goes to a
     * scratch row instead (written, never read) */
    float junk[4][RN_WG_CB];
    /* ReLU as a clamp at lo, the same select with or without it, so that the
     * loops store unconditionally (a select on relu made gcc merge into the
     * old output: a read of every output line); NaN stays NaN, as in
     * x < 0 ? 0 : x. Accumulating, the old output is read on purpose: the
     * residual, added after the bias as the separate add pass adds it (the
     * junk rows then read zeros) */
    const float lo = (flags & RN_WG_RELU) ? 0.0f : -INFINITY;
    const int acc = (flags & RN_WG_ACCUMULATE) != 0;
    if (acc) rn_memset(junk, 0, sizeof junk);
    for (size_t i = 0; i < 4; i++) {
        const float *restrict s0 = tt[i * 6], *restrict s1 = tt[i * 6 + 1];
        const float *restrict s2 = tt[i * 6 + 2], *restrict s3 = tt[i * 6 + 3];
        const float *restrict s4 = tt[i * 6 + 4], *restrict s5 = tt[i * 6 + 5];
        float *restrict o0 = y[i * 4] ? y[i * 4] + c0 : junk[0];
        float *restrict o1 = y[i * 4 + 1] ? y[i * 4 + 1] + c0 : junk[1];
        float *restrict o2 = y[i * 4 + 2] ? y[i * 4 + 2] + c0 : junk[2];
        float *restrict o3 = y[i * 4 + 3] ? y[i * 4 + 3] + c0 : junk[3];
        if (bias && acc) {
            const float *restrict bs = bias + c0;
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c], bc = bs[c];
                const float r0 = ((a0 + a1 + a2 + a3 + a4) + bc) + o0[c];
                const float r1 = ((a1 - a2 + 2.0f * a3 - 2.0f * a4) + bc) + o1[c];
                const float r2 = ((a1 + a2 + 4.0f * a3 + 4.0f * a4) + bc) + o2[c];
                const float r3 = ((a1 - a2 + 8.0f * a3 - 8.0f * a4 + a5) + bc) + o3[c];
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
                o2[c] = r2 < lo ? lo : r2;
                o3[c] = r3 < lo ? lo : r3;
            }
        } else if (acc) {
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c];
                const float r0 = (a0 + a1 + a2 + a3 + a4) + o0[c];
                const float r1 = (a1 - a2 + 2.0f * a3 - 2.0f * a4) + o1[c];
                const float r2 = (a1 + a2 + 4.0f * a3 + 4.0f * a4) + o2[c];
                const float r3 = (a1 - a2 + 8.0f * a3 - 8.0f * a4 + a5) + o3[c];
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
                o2[c] = r2 < lo ? lo : r2;
                o3[c] = r3 < lo ? lo : r3;
            }
        } else if (bias) {
            const float *restrict bs = bias + c0;
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c], bc = bs[c];
                const float r0 = (a0 + a1 + a2 + a3 + a4) + bc;
                const float r1 = (a1 - a2 + 2.0f * a3 - 2.0f * a4) + bc;
                const float r2 = (a1 + a2 + 4.0f * a3 + 4.0f * a4) + bc;
                const float r3 = (a1 - a2 + 8.0f * a3 - 8.0f * a4 + a5) + bc;
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
                o2[c] = r2 < lo ? lo : r2;
                o3[c] = r3 < lo ? lo : r3;
            }
        } else {
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c];
                const float r0 = a0 + a1 + a2 + a3 + a4;
                const float r1 = a1 - a2 + 2.0f * a3 - 2.0f * a4;
                const float r2 = a1 + a2 + 4.0f * a3 + 4.0f * a4;
                const float r3 = a1 - a2 + 8.0f * a3 - 8.0f * a4 + a5;
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
                o2[c] = r2 < lo ? lo : r2;
                o3[c] = r3 < lo ? lo : r3;
            }
        }
    }
}

void RN_WG_NAME(rn_f32_winograd_output)(RN_WINOGRAD_OUTPUT_ARGS) {
    size_t c0 = 0;
    for (; c0 + RN_WG_CB <= nc; c0 += RN_WG_CB)
        RN_WG_NAME(wg_output_step)(c0, RN_WG_CB, m, m_stride, y, bias, flags);
    if (c0 < nc) RN_WG_NAME(wg_output_step)(c0, nc - c0, m, m_stride, y, bias, flags);
}

/* W = A dY A^T for channels [c0, c0 + cb) of one tile (A = the transpose of
 * A^T above: rows [1 0 0 0], [1 1 1 1], [1 -1 1 -1], [1 2 4 8], [1 -2 4 -8],
 * [0 0 0 1]) */
RN_WG_INLINE void RN_WG_NAME(wg_output_grad_step)(const float *const *g, size_t c0, size_t cb,
                                                  float *w, size_t w_stride) {
    float tt[24][RN_WG_CB];
    /* tt = A dY, down each column q of the 4x4 block */
    for (size_t q = 0; q < 4; q++) {
        const float *restrict d0 = g[q] + c0, *restrict d1 = g[4 + q] + c0;
        const float *restrict d2 = g[8 + q] + c0, *restrict d3 = g[12 + q] + c0;
        float *restrict t0 = tt[q], *restrict t1 = tt[4 + q], *restrict t2 = tt[8 + q];
        float *restrict t3 = tt[12 + q], *restrict t4 = tt[16 + q], *restrict t5 = tt[20 + q];
        for (size_t c = 0; c < cb; c++) {
            const float a0 = d0[c], a1 = d1[c], a2 = d2[c], a3 = d3[c];
            t0[c] = a0;
            t1[c] = a0 + a1 + a2 + a3;
            t2[c] = a0 - a1 + a2 - a3;
            t3[c] = a0 + 2.0f * a1 + 4.0f * a2 + 8.0f * a3;
            t4[c] = a0 - 2.0f * a1 + 4.0f * a2 - 8.0f * a3;
            t5[c] = a3;
        }
    }
    /* W = tt A^T, along each row i */
    for (size_t i = 0; i < 6; i++) {
        const float *restrict s0 = tt[i * 4], *restrict s1 = tt[i * 4 + 1];
        const float *restrict s2 = tt[i * 4 + 2], *restrict s3 = tt[i * 4 + 3];
        float *restrict w0 = w + (i * 6) * w_stride + c0;
        float *restrict w1 = w + (i * 6 + 1) * w_stride + c0;
        float *restrict w2 = w + (i * 6 + 2) * w_stride + c0;
        float *restrict w3 = w + (i * 6 + 3) * w_stride + c0;
        float *restrict w4 = w + (i * 6 + 4) * w_stride + c0;
        float *restrict w5 = w + (i * 6 + 5) * w_stride + c0;
        RN_WG_IVDEP
        for (size_t c = 0; c < cb; c++) {
            const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c];
            w0[c] = a0;
            w1[c] = a0 + a1 + a2 + a3;
            w2[c] = a0 - a1 + a2 - a3;
            w3[c] = a0 + 2.0f * a1 + 4.0f * a2 + 8.0f * a3;
            w4[c] = a0 - 2.0f * a1 + 4.0f * a2 - 8.0f * a3;
            w5[c] = a3;
        }
    }
}

void RN_WG_NAME(rn_f32_winograd_output_grad)(RN_WINOGRAD_OUTPUT_GRAD_ARGS) {
    size_t c0 = 0;
    for (; c0 + RN_WG_CB <= nc; c0 += RN_WG_CB)
        RN_WG_NAME(wg_output_grad_step)(g, c0, RN_WG_CB, w, w_stride);
    if (c0 < nc) RN_WG_NAME(wg_output_grad_step)(g, c0, nc - c0, w, w_stride);
}

/* ---- F(2x2,3x3): 4x4 input tiles, 2x2 output blocks ---------------------------------
 *
 *   B^T = [1  0 -1  0]      A^T = [1 1  1  0]
 *         [0  1  1  0]            [0 1 -1 -1]
 *         [0 -1  1  0]
 *         [0  1  0 -1]
 *
 * Coefficients of magnitude 1 only: each output sums 16 products per
 * channel pair against F(4x4,3x3)'s 36, with no scaling, so its rounding is
 * close to the direct path's. */

/* V = B^T d B for channels [c0, c0 + cb) of one 4x4 tile */
RN_WG_INLINE void RN_WG_NAME(wg2_input_step)(const float *const *d, size_t c0, size_t cb, float *v,
                                             size_t v_stride) {
    float tt[16][RN_WG_CB];
    for (size_t q = 0; q < 4; q++) {
        const float *restrict d0 = d[q] + c0, *restrict d1 = d[4 + q] + c0;
        const float *restrict d2 = d[8 + q] + c0, *restrict d3 = d[12 + q] + c0;
        float *restrict t0 = tt[q], *restrict t1 = tt[4 + q], *restrict t2 = tt[8 + q];
        float *restrict t3 = tt[12 + q];
        for (size_t c = 0; c < cb; c++) {
            const float a0 = d0[c], a1 = d1[c], a2 = d2[c], a3 = d3[c];
            t0[c] = a0 - a2;
            t1[c] = a1 + a2;
            t2[c] = a2 - a1;
            t3[c] = a1 - a3;
        }
    }
    for (size_t i = 0; i < 4; i++) {
        const float *restrict s0 = tt[i * 4], *restrict s1 = tt[i * 4 + 1];
        const float *restrict s2 = tt[i * 4 + 2], *restrict s3 = tt[i * 4 + 3];
        float *restrict v0 = v + (i * 4) * v_stride + c0;
        float *restrict v1 = v + (i * 4 + 1) * v_stride + c0;
        float *restrict v2 = v + (i * 4 + 2) * v_stride + c0;
        float *restrict v3 = v + (i * 4 + 3) * v_stride + c0;
        RN_WG_IVDEP
        for (size_t c = 0; c < cb; c++) {
            const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c];
            v0[c] = a0 - a2;
            v1[c] = a1 + a2;
            v2[c] = a2 - a1;
            v3[c] = a1 - a3;
        }
    }
}

void RN_WG_NAME(rn_f32_winograd2_input)(RN_WINOGRAD_INPUT_ARGS) {
    size_t c0 = 0;
    for (; c0 + RN_WG_CB <= nc; c0 += RN_WG_CB)
        RN_WG_NAME(wg2_input_step)(d, c0, RN_WG_CB, v, v_stride);
    if (c0 < nc) RN_WG_NAME(wg2_input_step)(d, c0, nc - c0, v, v_stride);
}

/* O = A^T M A for channels [c0, c0 + cb) of one tile, + bias, + the old
 * output, ReLU (as the F(4x4,3x3) step: a clamp at lo, pixels outside the
 * image to junk) */
RN_WG_INLINE void RN_WG_NAME(wg2_output_step)(size_t c0, size_t cb, const float *m, size_t m_stride,
                                              float *const *y, const float *bias, uint32_t flags) {
    float tt[8][RN_WG_CB];
    for (size_t q = 0; q < 4; q++) {
        const float *restrict m0 = m + q * m_stride + c0;
        const float *restrict m1 = m + (4 + q) * m_stride + c0;
        const float *restrict m2 = m + (8 + q) * m_stride + c0;
        const float *restrict m3 = m + (12 + q) * m_stride + c0;
        float *restrict t0 = tt[q], *restrict t1 = tt[4 + q];
        for (size_t c = 0; c < cb; c++) {
            const float a0 = m0[c], a1 = m1[c], a2 = m2[c], a3 = m3[c];
            t0[c] = a0 + a1 + a2;
            t1[c] = a1 - a2 - a3;
        }
    }
    float junk[2][RN_WG_CB];
    const float lo = (flags & RN_WG_RELU) ? 0.0f : -INFINITY;
    const int acc = (flags & RN_WG_ACCUMULATE) != 0;
    if (acc) rn_memset(junk, 0, sizeof junk);
    for (size_t i = 0; i < 2; i++) {
        const float *restrict s0 = tt[i * 4], *restrict s1 = tt[i * 4 + 1];
        const float *restrict s2 = tt[i * 4 + 2], *restrict s3 = tt[i * 4 + 3];
        float *restrict o0 = y[i * 2] ? y[i * 2] + c0 : junk[0];
        float *restrict o1 = y[i * 2 + 1] ? y[i * 2 + 1] + c0 : junk[1];
        if (bias && acc) {
            const float *restrict bs = bias + c0;
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], bc = bs[c];
                const float r0 = ((a0 + a1 + a2) + bc) + o0[c];
                const float r1 = ((a1 - a2 - a3) + bc) + o1[c];
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
            }
        } else if (acc) {
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c];
                const float r0 = (a0 + a1 + a2) + o0[c];
                const float r1 = (a1 - a2 - a3) + o1[c];
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
            }
        } else if (bias) {
            const float *restrict bs = bias + c0;
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], bc = bs[c];
                const float r0 = (a0 + a1 + a2) + bc;
                const float r1 = (a1 - a2 - a3) + bc;
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
            }
        } else {
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c];
                const float r0 = a0 + a1 + a2;
                const float r1 = a1 - a2 - a3;
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
            }
        }
    }
}

void RN_WG_NAME(rn_f32_winograd2_output)(RN_WINOGRAD_OUTPUT_ARGS) {
    size_t c0 = 0;
    for (; c0 + RN_WG_CB <= nc; c0 += RN_WG_CB)
        RN_WG_NAME(wg2_output_step)(c0, RN_WG_CB, m, m_stride, y, bias, flags);
    if (c0 < nc) RN_WG_NAME(wg2_output_step)(c0, nc - c0, m, m_stride, y, bias, flags);
}

/* ---- F(6x6,3x3): 8x8 input tiles, 6x6 output blocks ---------------------------------
 *
 * Points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity (B^T's rows: the
 * coefficients of the product of (x - p) over the other points; the 1/2
 * and -1/2 columns of A^T carry a factor 32 that G's rows divide out, a
 * power of two, so the results are those of the unscaled form):
 *
 *   B^T = [1  0    -21/4  0     21/4   0    -1 0]
 *         [0  1     1    -17/4 -17/4   1     1 0]
 *         [0 -1     1     17/4 -17/4  -1     1 0]
 *         [0  1/2   1/4  -5/2  -5/4    2     1 0]
 *         [0 -1/2   1/4   5/2  -5/4   -2     1 0]
 *         [0  2     4    -5/2  -5      1/2   1 0]
 *         [0 -2     4     5/2  -5     -1/2   1 0]
 *         [0 -1     0     21/4  0     -21/4  0 1]
 *
 *   A^T = [1 1  1  1   1  32  32 0]
 *         [0 1 -1  2  -2  16 -16 0]
 *         [0 1  1  4   4   8   8 0]
 *         [0 1 -1  8  -8   4  -4 0]
 *         [0 1  1 16  16   2   2 0]
 *         [0 1 -1 32 -32   1  -1 1]
 *
 * Each output sums 64 products per channel pair (36 outputs) against
 * F(4x4,3x3)'s 36 (16 outputs); the coefficients reach 21/4 (input) and 32
 * (output), so it rounds more than F(4x4,3x3) (docs/performance.md,
 * "Winograd"). The pairs of rows that differ in sign share their halves. */

/* One row of B^T applied to a0..a7, the results stored at o0..o7[c] */
#define RN_WG6_BT(o0, o1, o2, o3, o4, o5, o6, o7, c)                                           \
    do {                                                                                       \
        const float p1 = a2 + a6 - 4.25f * a4, q1 = a1 + a5 - 4.25f * a3;                      \
        const float p2 = 0.25f * a2 + a6 - 1.25f * a4, q2 = 0.5f * a1 - 2.5f * a3 + 2.0f * a5; \
        const float p3 = 4.0f * a2 + a6 - 5.0f * a4, q3 = 2.0f * a1 - 2.5f * a3 + 0.5f * a5;   \
        o0[c] = a0 - a6 + 5.25f * (a4 - a2);                                                   \
        o1[c] = p1 + q1;                                                                       \
        o2[c] = p1 - q1;                                                                       \
        o3[c] = p2 + q2;                                                                       \
        o4[c] = p2 - q2;                                                                       \
        o5[c] = p3 + q3;                                                                       \
        o6[c] = p3 - q3;                                                                       \
        o7[c] = a7 - a1 + 5.25f * (a3 - a5);                                                   \
    } while (0)

/* The six rows of A^T applied to a0..a7, as r0..r5 */
#define RN_WG6_AT(r0, r1, r2, r3, r4, r5)                                   \
    const float sp1 = a1 + a2, sm1 = a1 - a2, sp2 = a3 + a4, sm2 = a3 - a4; \
    const float sp3 = a5 + a6, sm3 = a5 - a6;                               \
    const float r0 = a0 + sp1 + sp2 + 32.0f * sp3;                          \
    const float r1 = sm1 + 2.0f * sm2 + 16.0f * sm3;                        \
    const float r2 = sp1 + 4.0f * sp2 + 8.0f * sp3;                         \
    const float r3 = sm1 + 8.0f * sm2 + 4.0f * sm3;                         \
    const float r4 = sp1 + 16.0f * sp2 + 2.0f * sp3;                        \
    const float r5 = a7 + sm1 + 32.0f * sm2 + sm3

/* V = B^T d B for channels [c0, c0 + cb) of one 8x8 tile */
RN_WG_INLINE void RN_WG_NAME(wg6_input_step)(const float *const *d, size_t c0, size_t cb, float *v,
                                             size_t v_stride) {
    float tt[64][RN_WG_CB];
    /* tt = B^T d, down each column q of the tile */
    for (size_t q = 0; q < 8; q++) {
        const float *restrict d0 = d[q] + c0, *restrict d1 = d[8 + q] + c0;
        const float *restrict d2 = d[16 + q] + c0, *restrict d3 = d[24 + q] + c0;
        const float *restrict d4 = d[32 + q] + c0, *restrict d5 = d[40 + q] + c0;
        const float *restrict d6 = d[48 + q] + c0, *restrict d7 = d[56 + q] + c0;
        float *restrict t0 = tt[q], *restrict t1 = tt[8 + q], *restrict t2 = tt[16 + q];
        float *restrict t3 = tt[24 + q], *restrict t4 = tt[32 + q], *restrict t5 = tt[40 + q];
        float *restrict t6 = tt[48 + q], *restrict t7 = tt[56 + q];
        for (size_t c = 0; c < cb; c++) {
            const float a0 = d0[c], a1 = d1[c], a2 = d2[c], a3 = d3[c], a4 = d4[c];
            const float a5 = d5[c], a6 = d6[c], a7 = d7[c];
            RN_WG6_BT(t0, t1, t2, t3, t4, t5, t6, t7, c);
        }
    }
    /* V = tt B, along each row i */
    for (size_t i = 0; i < 8; i++) {
        const float *restrict s0 = tt[i * 8], *restrict s1 = tt[i * 8 + 1];
        const float *restrict s2 = tt[i * 8 + 2], *restrict s3 = tt[i * 8 + 3];
        const float *restrict s4 = tt[i * 8 + 4], *restrict s5 = tt[i * 8 + 5];
        const float *restrict s6 = tt[i * 8 + 6], *restrict s7 = tt[i * 8 + 7];
        float *restrict v0 = v + (i * 8) * v_stride + c0;
        float *restrict v1 = v + (i * 8 + 1) * v_stride + c0;
        float *restrict v2 = v + (i * 8 + 2) * v_stride + c0;
        float *restrict v3 = v + (i * 8 + 3) * v_stride + c0;
        float *restrict v4 = v + (i * 8 + 4) * v_stride + c0;
        float *restrict v5 = v + (i * 8 + 5) * v_stride + c0;
        float *restrict v6 = v + (i * 8 + 6) * v_stride + c0;
        float *restrict v7 = v + (i * 8 + 7) * v_stride + c0;
        RN_WG_IVDEP
        for (size_t c = 0; c < cb; c++) {
            const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
            const float a5 = s5[c], a6 = s6[c], a7 = s7[c];
            RN_WG6_BT(v0, v1, v2, v3, v4, v5, v6, v7, c);
        }
    }
}

void RN_WG_NAME(rn_f32_winograd6_input)(RN_WINOGRAD_INPUT_ARGS) {
    size_t c0 = 0;
    for (; c0 + RN_WG_CB <= nc; c0 += RN_WG_CB)
        RN_WG_NAME(wg6_input_step)(d, c0, RN_WG_CB, v, v_stride);
    if (c0 < nc) RN_WG_NAME(wg6_input_step)(d, c0, nc - c0, v, v_stride);
}

/* O = A^T M A for channels [c0, c0 + cb) of one tile, + bias, + the old
 * output, ReLU (as the F(4x4,3x3) step: a clamp at lo, pixels outside the
 * image to junk) */
RN_WG_INLINE void RN_WG_NAME(wg6_output_step)(size_t c0, size_t cb, const float *m, size_t m_stride,
                                              float *const *y, const float *bias, uint32_t flags) {
    float tt[48][RN_WG_CB];
    /* tt = A^T M, down each column q */
    for (size_t q = 0; q < 8; q++) {
        const float *restrict m0 = m + q * m_stride + c0;
        const float *restrict m1 = m + (8 + q) * m_stride + c0;
        const float *restrict m2 = m + (16 + q) * m_stride + c0;
        const float *restrict m3 = m + (24 + q) * m_stride + c0;
        const float *restrict m4 = m + (32 + q) * m_stride + c0;
        const float *restrict m5 = m + (40 + q) * m_stride + c0;
        const float *restrict m6 = m + (48 + q) * m_stride + c0;
        const float *restrict m7 = m + (56 + q) * m_stride + c0;
        float *restrict t0 = tt[q], *restrict t1 = tt[8 + q], *restrict t2 = tt[16 + q];
        float *restrict t3 = tt[24 + q], *restrict t4 = tt[32 + q], *restrict t5 = tt[40 + q];
        for (size_t c = 0; c < cb; c++) {
            const float a0 = m0[c], a1 = m1[c], a2 = m2[c], a3 = m3[c], a4 = m4[c];
            const float a5 = m5[c], a6 = m6[c], a7 = m7[c];
            RN_WG6_AT(r0, r1, r2, r3, r4, r5);
            t0[c] = r0, t1[c] = r1, t2[c] = r2, t3[c] = r3, t4[c] = r4, t5[c] = r5;
        }
    }
    /* O = tt A along each row i, + bias, ReLU, into the output pixels */
    float junk[6][RN_WG_CB];
    const float lo = (flags & RN_WG_RELU) ? 0.0f : -INFINITY;
    const int acc = (flags & RN_WG_ACCUMULATE) != 0;
    if (acc) rn_memset(junk, 0, sizeof junk);
    for (size_t i = 0; i < 6; i++) {
        const float *restrict s0 = tt[i * 8], *restrict s1 = tt[i * 8 + 1];
        const float *restrict s2 = tt[i * 8 + 2], *restrict s3 = tt[i * 8 + 3];
        const float *restrict s4 = tt[i * 8 + 4], *restrict s5 = tt[i * 8 + 5];
        const float *restrict s6 = tt[i * 8 + 6], *restrict s7 = tt[i * 8 + 7];
        float *restrict o0 = y[i * 6] ? y[i * 6] + c0 : junk[0];
        float *restrict o1 = y[i * 6 + 1] ? y[i * 6 + 1] + c0 : junk[1];
        float *restrict o2 = y[i * 6 + 2] ? y[i * 6 + 2] + c0 : junk[2];
        float *restrict o3 = y[i * 6 + 3] ? y[i * 6 + 3] + c0 : junk[3];
        float *restrict o4 = y[i * 6 + 4] ? y[i * 6 + 4] + c0 : junk[4];
        float *restrict o5 = y[i * 6 + 5] ? y[i * 6 + 5] + c0 : junk[5];
        if (bias && acc) {
            const float *restrict bs = bias + c0;
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c], a6 = s6[c], a7 = s7[c], bc = bs[c];
                RN_WG6_AT(r0, r1, r2, r3, r4, r5);
                const float b0 = (r0 + bc) + o0[c], b1 = (r1 + bc) + o1[c];
                const float b2 = (r2 + bc) + o2[c], b3 = (r3 + bc) + o3[c];
                const float b4 = (r4 + bc) + o4[c], b5 = (r5 + bc) + o5[c];
                o0[c] = b0 < lo ? lo : b0;
                o1[c] = b1 < lo ? lo : b1;
                o2[c] = b2 < lo ? lo : b2;
                o3[c] = b3 < lo ? lo : b3;
                o4[c] = b4 < lo ? lo : b4;
                o5[c] = b5 < lo ? lo : b5;
            }
        } else if (acc) {
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c], a6 = s6[c], a7 = s7[c];
                RN_WG6_AT(r0, r1, r2, r3, r4, r5);
                const float b0 = r0 + o0[c], b1 = r1 + o1[c], b2 = r2 + o2[c];
                const float b3 = r3 + o3[c], b4 = r4 + o4[c], b5 = r5 + o5[c];
                o0[c] = b0 < lo ? lo : b0;
                o1[c] = b1 < lo ? lo : b1;
                o2[c] = b2 < lo ? lo : b2;
                o3[c] = b3 < lo ? lo : b3;
                o4[c] = b4 < lo ? lo : b4;
                o5[c] = b5 < lo ? lo : b5;
            }
        } else if (bias) {
            const float *restrict bs = bias + c0;
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c], a6 = s6[c], a7 = s7[c], bc = bs[c];
                RN_WG6_AT(r0, r1, r2, r3, r4, r5);
                const float b0 = r0 + bc, b1 = r1 + bc, b2 = r2 + bc, b3 = r3 + bc;
                const float b4 = r4 + bc, b5 = r5 + bc;
                o0[c] = b0 < lo ? lo : b0;
                o1[c] = b1 < lo ? lo : b1;
                o2[c] = b2 < lo ? lo : b2;
                o3[c] = b3 < lo ? lo : b3;
                o4[c] = b4 < lo ? lo : b4;
                o5[c] = b5 < lo ? lo : b5;
            }
        } else {
            RN_WG_IVDEP
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c], a6 = s6[c], a7 = s7[c];
                RN_WG6_AT(r0, r1, r2, r3, r4, r5);
                o0[c] = r0 < lo ? lo : r0;
                o1[c] = r1 < lo ? lo : r1;
                o2[c] = r2 < lo ? lo : r2;
                o3[c] = r3 < lo ? lo : r3;
                o4[c] = r4 < lo ? lo : r4;
                o5[c] = r5 < lo ? lo : r5;
            }
        }
    }
}

void RN_WG_NAME(rn_f32_winograd6_output)(RN_WINOGRAD_OUTPUT_ARGS) {
    size_t c0 = 0;
    for (; c0 + RN_WG_CB <= nc; c0 += RN_WG_CB)
        RN_WG_NAME(wg6_output_step)(c0, RN_WG_CB, m, m_stride, y, bias, flags);
    if (c0 < nc) RN_WG_NAME(wg6_output_step)(c0, nc - c0, m, m_stride, y, bias, flags);
}
