/*
 * The x86 3x3 row weight-gradient microkernel (contract in kernels.h:
 * rn_wgrad3_ukernel_fn), written once over the vector vocabulary of
 * avx512/simd-avx512.h, which the including file includes first. It sets
 * RN_WGRAD3_MR (output channels, the tile's rows), then includes this file;
 * the tile is one vector of input channels wide.
 *
 * The tap-by-tap kernel (rn_wgrad_ukernel_fn) loads one input vector and
 * broadcasts one output-gradient value per FMA. Along a row of a 3x3
 * stride-1 convolution the input pixel q feeds the taps kx = 0, 1, 2 of the
 * output pixels q + 1, q, q - 1, so here each broadcast dy value serves three
 * FMAs (the three taps of one row of the window), against a window of three
 * input vectors that slides one load per pixel.
 *
 * Order of the sums: each accumulator adds its pixels in row order, then
 * pixel order, skipping the pixels whose tap falls in the padding, as the
 * tap-by-tap kernel does over each tap's valid rectangle: the two give the
 * same bits.
 */
#include "kernels.h"

#define RN_WGRAD3_NAME5(mr, nr, isa) rn_f32_wgrad3_##mr##x##nr##__##isa
#define RN_WGRAD3_NAME4(mr, nr, isa) RN_WGRAD3_NAME5(mr, nr, isa)

void RN_WGRAD3_NAME4(RN_WGRAD3_MR, RN_V_W, RN_V_SUFFIX)(RN_WGRAD3_UKERNEL_ARGS) {
    enum { MR = RN_WGRAD3_MR };
    const RN_VM m = RN_V_MASK(nc);
    RN_V acc[MR][3];
#pragma GCC unroll 16
    for (int o = 0; o < MR; o++)
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
            acc[o][kx] = RN_V_LOADM(c + (size_t)o * c_stride + (size_t)kx * c_tap, m);
    for (size_t r = 0; r < rows && cols; r++) {
        const float *pa = a + r * a_rs, *pb = b + r * b_rs;
        /* pixel 0: taps 1 and 2 (its tap 0 reads the padding) */
        RN_V x0 = RN_V_LOADM(pb, m), x1 = x0;
        if (cols > 1) x1 = RN_V_LOADM(pb + b_ps, m);
#pragma GCC unroll 16
        for (int o = 0; o < MR; o++) {
            const RN_V d = RN_V_BCAST(pa + o);
            acc[o][1] = RN_V_FMA(d, x0, acc[o][1]);
            if (cols > 1) acc[o][2] = RN_V_FMA(d, x1, acc[o][2]);
        }
        /* pixels 1 .. cols - 2: all three taps; the window x(q-1), x(q), x(q+1) */
        size_t q = 1;
        for (; q + 1 < cols; q++) {
            const RN_V xl = x0;
            x0 = x1;
            x1 = RN_V_LOADM(pb + (q + 1) * b_ps, m);
            const float *pq = pa + q * a_ps;
#pragma GCC unroll 16
            for (int o = 0; o < MR; o++) {
                const RN_V d = RN_V_BCAST(pq + o);
                acc[o][0] = RN_V_FMA(d, xl, acc[o][0]);
                acc[o][1] = RN_V_FMA(d, x0, acc[o][1]);
                acc[o][2] = RN_V_FMA(d, x1, acc[o][2]);
            }
        }
        /* the last pixel: taps 0 and 1 (its tap 2 reads the padding) */
        if (cols > 1) {
            const float *pq = pa + q * a_ps;
#pragma GCC unroll 16
            for (int o = 0; o < MR; o++) {
                const RN_V d = RN_V_BCAST(pq + o);
                acc[o][0] = RN_V_FMA(d, x0, acc[o][0]);
                acc[o][1] = RN_V_FMA(d, x1, acc[o][1]);
            }
        }
    }
#pragma GCC unroll 16
    for (int o = 0; o < MR; o++)
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
            RN_V_STOREM(c + (size_t)o * c_stride + (size_t)kx * c_tap, m, acc[o][kx]);
}

#undef RN_WGRAD3_NAME5
#undef RN_WGRAD3_NAME4
