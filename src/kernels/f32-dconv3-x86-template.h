/*
 * The x86 direct 3x3 row microkernel (contract in kernels.h: rn_dconv3_ukernel_fn),
 * written once over the vector vocabulary of avx512/simd-avx512.h, which the
 * including file includes first. It sets the tile, then includes this file:
 *
 *   RN_DCONV3_PX   output pixels of one row (the tile's height)
 *   RN_DCONV3_NR   output channels, 1 to 4 vectors of RN_V_W
 *
 * Why a second direct kernel beside the indirect GEMM: in the GEMM form each
 * input value is broadcast once per FMA of a column vector, so a tile of one
 * or two vectors of columns (16 or 32 output channels) spends a load on every
 * FMA or every other one, and on AVX-512 cores it stays near 65% (one vector)
 * or 80% (two) of the FMA peak whatever its height. Along a row of a 3x3
 * stride-1 convolution each input pixel feeds three neighbouring output
 * pixels (taps kx = 0, 1, 2), so here each broadcast serves 3 x NR / RN_V_W
 * FMAs, with the three taps' weight vectors held in registers for the row.
 *
 * Order of the sums: every output element adds its 9 x kc products in the
 * order (ky, c, kx), whichever tile or thread computes it, so tiles that
 * overlap compute equal values and the result does not depend on the tiling.
 */
#include "kernels.h"

#define RN_DCONV3_NAME5(mr, nr, isa) rn_f32_dconv3_##mr##x##nr##__##isa
#define RN_DCONV3_NAME4(mr, nr, isa) RN_DCONV3_NAME5(mr, nr, isa)
#define RN_DCONV3_NV (RN_DCONV3_NR / RN_V_W)
#if RN_DCONV3_NV < 1 || RN_DCONV3_NV > 4 || RN_DCONV3_NV * RN_V_W != RN_DCONV3_NR
#error "RN_DCONV3_NR must be 1 to 4 vectors"
#endif

void RN_DCONV3_NAME4(RN_DCONV3_PX, RN_DCONV3_NR, RN_V_SUFFIX)(RN_DCONV3_UKERNEL_ARGS) {
    enum { PX = RN_DCONV3_PX, NV = RN_DCONV3_NV };
    RN_V acc[PX][NV];
#pragma GCC unroll 16
    for (int i = 0; i < PX; i++)
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++) acc[i][q] = RN_V_ZERO();
    const size_t s = xs * sizeof(float), tap = kc * w_stride;
    for (int ky = 0; ky < 3; ky++) {
        const float *pl = rows[3 * ky], *pr = rows[3 * ky + 2];
        if (!rows[3 * ky + 1]) continue; /* the row lies in the padding */
        /* pixel i of the row at base i / 4 plus (i % 4) pixel strides: a few
         * general registers rather than PX pointers */
        const char *r0 = (const char *)rows[3 * ky + 1], *r1 = r0 + 4 * s;
        const char *r2 = r1 + 4 * s, *r3 = r2 + 4 * s;
        const float *wk = w + (size_t)ky * 3 * tap;
        for (size_t c = kc; c;
             c--, pl++, pr++, r0 += 4, r1 += 4, r2 += 4, r3 += 4, wk += w_stride) {
            RN_V w0[NV], w1[NV], w2[NV];
#pragma GCC unroll 4
            for (int q = 0; q < NV; q++) {
                w0[q] = RN_V_LOAD(wk + q * RN_V_W);
                w1[q] = RN_V_LOAD(wk + tap + q * RN_V_W);
                w2[q] = RN_V_LOAD(wk + 2 * tap + q * RN_V_W);
            }
            /* the pixel left of the tile feeds output 0 through kx = 0 */
            RN_V v = RN_V_BCAST(pl);
#pragma GCC unroll 4
            for (int q = 0; q < NV; q++) acc[0][q] = RN_V_FMA(v, w0[q], acc[0][q]);
                /* pixel j feeds output j + 1 (kx = 0), j (kx = 1), j - 1 (kx = 2):
             * for each output, kx in increasing order */
#pragma GCC unroll 16
            for (int j = 0; j < PX; j++) {
                const char *b = j / 4 == 0 ? r0 : j / 4 == 1 ? r1 : j / 4 == 2 ? r2 : r3;
                v = RN_V_BCAST((const float *)(b + (size_t)(j % 4) * s));
#pragma GCC unroll 4
                for (int q = 0; q < NV; q++) {
                    if (j + 1 < PX) acc[j + 1][q] = RN_V_FMA(v, w0[q], acc[j + 1][q]);
                    acc[j][q] = RN_V_FMA(v, w1[q], acc[j][q]);
                    if (j >= 1) acc[j - 1][q] = RN_V_FMA(v, w2[q], acc[j - 1][q]);
                }
            }
            /* the pixel right of the tile feeds the last output through kx = 2 */
            v = RN_V_BCAST(pr);
#pragma GCC unroll 4
            for (int q = 0; q < NV; q++) acc[PX - 1][q] = RN_V_FMA(v, w2[q], acc[PX - 1][q]);
        }
    }
    /* the epilogue of the GEMM kernels: (+ C), + bias (then + C with
     * RN_GEMM_RESIDUAL), ReLU as max(0, v), which keeps NaN */
    RN_V bv[NV];
#pragma GCC unroll 4
    for (int q = 0; q < NV; q++) bv[q] = bias ? RN_V_LOAD(bias + q * RN_V_W) : RN_V_ZERO();
    const int add_c = (flags & (RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL)) == RN_GEMM_ACCUMULATE;
    const int res = (flags & RN_GEMM_RESIDUAL) != 0, relu = (flags & RN_GEMM_RELU) != 0;
#pragma GCC unroll 16
    for (int i = 0; i < PX; i++) {
        if ((size_t)i < skip) continue;
        float *ci = c + (size_t)i * c_stride;
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++) {
            RN_V v = acc[i][q];
            if (add_c) v = RN_V_ADD(RN_V_LOAD(ci + q * RN_V_W), v);
            v = RN_V_ADD(v, bv[q]);
            if (res) v = RN_V_ADD(RN_V_LOAD(ci + q * RN_V_W), v);
            if (relu) v = RN_V_MAX(RN_V_ZERO(), v);
            RN_V_STORE(ci + q * RN_V_W, v);
        }
    }
}

#undef RN_DCONV3_NAME5
#undef RN_DCONV3_NAME4
#undef RN_DCONV3_NV
