/*
 * The Winograd F(4x4,3x3) tile transforms (contract in kernels.h), written
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

/* Channels per step: the 6x6 intermediate of one step stays in L1. */
#define RN_WG_CB 64

void RN_WG_NAME(rn_f32_winograd_input)(RN_WINOGRAD_INPUT_ARGS) {
    float tt[36][RN_WG_CB], vt[6][RN_WG_CB];
    for (size_t c0 = 0; c0 < nc; c0 += RN_WG_CB) {
        const size_t cb = nc - c0 < RN_WG_CB ? nc - c0 : RN_WG_CB;
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
            /* through the stack: gcc 12 does not vectorise stores through
             * six computed pointers here */
            float *restrict v0 = vt[0], *restrict v1 = vt[1], *restrict v2 = vt[2];
            float *restrict v3 = vt[3], *restrict v4 = vt[4], *restrict v5 = vt[5];
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
            for (size_t q = 0; q < 6; q++)
                rn_memcpy(v + (i * 6 + q) * v_stride + c0, vt[q], cb * sizeof(float));
        }
    }
}

void RN_WG_NAME(rn_f32_winograd_output)(RN_WINOGRAD_OUTPUT_ARGS) {
    float tt[24][RN_WG_CB], o[16][RN_WG_CB];
    for (size_t c0 = 0; c0 < nc; c0 += RN_WG_CB) {
        const size_t cb = nc - c0 < RN_WG_CB ? nc - c0 : RN_WG_CB;
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
        /* O = tt A, along each row i */
        for (size_t i = 0; i < 4; i++) {
            const float *restrict s0 = tt[i * 6], *restrict s1 = tt[i * 6 + 1];
            const float *restrict s2 = tt[i * 6 + 2], *restrict s3 = tt[i * 6 + 3];
            const float *restrict s4 = tt[i * 6 + 4], *restrict s5 = tt[i * 6 + 5];
            float *restrict o0 = o[i * 4], *restrict o1 = o[i * 4 + 1];
            float *restrict o2 = o[i * 4 + 2], *restrict o3 = o[i * 4 + 3];
            for (size_t c = 0; c < cb; c++) {
                const float a0 = s0[c], a1 = s1[c], a2 = s2[c], a3 = s3[c], a4 = s4[c];
                const float a5 = s5[c];
                o0[c] = a0 + a1 + a2 + a3 + a4;
                o1[c] = a1 - a2 + 2.0f * a3 - 2.0f * a4;
                o2[c] = a1 + a2 + 4.0f * a3 + 4.0f * a4;
                o3[c] = a1 - a2 + 8.0f * a3 - 8.0f * a4 + a5;
            }
        }
        /* + bias, ReLU (x < 0 ? 0 : x keeps NaN), into the pixels inside the image */
        for (size_t p = 0; p < 16; p++) {
            if (!y[p]) continue;
            float *restrict dst = y[p] + c0;
            const float *restrict src = o[p];
            if (bias) {
                const float *restrict bs = bias + c0;
                for (size_t c = 0; c < cb; c++) {
                    const float t = src[c] + bs[c];
                    dst[c] = relu && t < 0.0f ? 0.0f : t;
                }
            } else {
                for (size_t c = 0; c < cb; c++) {
                    const float t = src[c];
                    dst[c] = relu && t < 0.0f ? 0.0f : t;
                }
            }
        }
    }
}
