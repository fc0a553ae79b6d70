/*
 * The kernel table: one function pointer per kernel family, filled once per
 * ISA (dispatch.c). Kernels compute; they never allocate, never thread and
 * never decide policy. Drivers in src/ops/ pick and call them.
 */
#ifndef RN_KERNELS_H
#define RN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---- GEMM microkernel ----------------------------------------------------------
 * C[mr x nc] = (C if RN_GEMM_ACCUMULATE else 0) + A[MR x kc] * B[kc x NR]
 *              (+ bias[nc] if bias) then max(., 0) if RN_GEMM_RELU,
 * with 1 <= mr <= MR, 1 <= nc <= NR, kc >= 0.
 *
 * A: MR rows, row i at a + i * a_stride, kc contiguous floats each. All MR
 *    rows are read even when mr < MR (the driver pads the last row block);
 *    results of rows >= mr are discarded.
 * B: kc rows of NR floats, row p at b + p * b_stride: a packed panel
 *    (b_stride = NR) or the caller's matrix itself. All NR columns are read
 *    (so they must exist); results of columns >= nc are dropped.
 * C: row-major with c_stride; only the mr x nc block is read (when
 *    accumulating) or written, column tails through masked loads and stores.
 * bias: NULL or nc floats, read with the same masks.
 * Without RN_GEMM_ACCUMULATE, C is never read (it may hold NaN).
 * RN_GEMM_RESIDUAL (with RN_GEMM_ACCUMULATE) adds C after the bias instead:
 * (A * B + bias) + C, then the ReLU: a residual addition fused into a
 * convolution gives the bits of the convolution followed by the separate
 * add pass (rn__add_forward). The f32 kernels only: the bf16 ones (training
 * steps, which fuse no residual into a convolution) never get it. */
#define RN_GEMM_ACCUMULATE 1u
#define RN_GEMM_RELU 2u
#define RN_GEMM_RESIDUAL 4u

typedef void (*rn_gemm_ukernel_fn)(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,
                                   const float *b, size_t b_stride, float *c, size_t c_stride,
                                   const float *bias, uint32_t flags);

/* ---- indirect GEMM (convolution) microkernel --------------------------------------
 * C[mr x nc] = (C if RN_GEMM_ACCUMULATE else 0) + sum over s < ks of A_s * B_s
 *              (+ bias[nc] if bias) then max(., 0) if RN_GEMM_RELU,
 * with 1 <= mr <= MR, 1 <= nc <= NR, kc >= 1, ks >= 1: the GEMM microkernel
 * with K = ks * kc, where the A rows come from an indirection buffer.
 * A_s: MR rows of kc contiguous floats, row i at a[s * a_seg_stride + i] +
 *    a_off[s] (a pixel's channels, or a row of zeros for padding). Either
 *    every segment has its own MR pointers (a_seg_stride = MR, offsets 0),
 *    or, for a tile whose windows lie inside the image, one pointer per row
 *    serves every tap (a_seg_stride = 0, a_off[s] = the tap's distance from
 *    the window's first pixel). All MR pointers of a segment are read even
 *    when mr < MR: the driver points the extra ones at a valid row; results
 *    of rows >= mr are discarded.
 * B: ks * kc rows of NR floats, row s * kc + p at b + (s * kc + p) * b_stride
 *    (b_stride >= NR: a panel of the packed weights, or NR columns of a wider
 *    one); all NR columns are read, results of columns >= nc are dropped.
 * C, bias, flags: as the GEMM microkernel (masked column tails, C never
 *    read without RN_GEMM_ACCUMULATE). */
typedef void (*rn_igemm_ukernel_fn)(size_t mr, size_t nc, size_t kc, size_t ks,
                                    const float *const *a, size_t a_seg_stride, const size_t *a_off,
                                    const float *b, size_t b_stride, float *c, size_t c_stride,
                                    const float *bias, uint32_t flags);

/* ---- direct 3x3 row microkernel (stride 1) ------------------------------------------
 * PX output pixels of one output row (pixel i at c + i * c_stride) by NR
 * output channels (all NR written: no column tail) of a 3x3 stride-1
 * convolution:
 *   C[i] = (C[i] if RN_GEMM_ACCUMULATE) + sum over ky, c, kx, in that order,
 *          of in(ky, i - 1 + kx)[c] * W[(ky * 3 + kx) * kc + c]
 *          (+ bias, + C[i] after the bias with RN_GEMM_RESIDUAL) then
 *          max(., 0) if RN_GEMM_RELU, as the GEMM microkernel's epilogue,
 * for the pixels i >= skip only (0 <= skip < PX; the others are neither read
 * nor written: a row's last tile may overlap the one before it).
 * rows[3 * ky + 1]: input pixel 0 of input row ky (the one under output pixel
 *    0, kc floats, pixel p at + p * xs); NULL when that row lies in the
 *    padding (its products are skipped). rows[3 * ky] and rows[3 * ky + 2]:
 *    the pixel left of pixel 0 and the one right of pixel PX - 1: kc floats
 *    each, zeros where they lie in the padding. Pixels 0..PX-1 are read.
 * W: 9 * kc rows of NR floats, row r at w + r * w_stride (a panel of the
 *    packed weights). kc >= 1. */
#define RN_DCONV3_UKERNEL_ARGS                                                                    \
    size_t skip, size_t kc, const float *const *rows, size_t xs, const float *w, size_t w_stride, \
        float *c, size_t c_stride, const float *bias, uint32_t flags
typedef void (*rn_dconv3_ukernel_fn)(RN_DCONV3_UKERNEL_ARGS);

/* ---- 3x3 row weight-gradient microkernel (stride 1, padding 1) ----------------------
 * For MR output channels o, nc input channels j (1 <= nc <= NR) and the
 * three taps kx of one window row:
 *   C[o][kx][j] += sum over r < rows, then q < cols, of dy(r, q)[o] * x(r, q - 1 + kx)[j]
 * where x(r, -1) and x(r, cols) lie in the padding: those products are not
 * added (tap 0 of pixel 0, tap 2 of pixel cols - 1). Each accumulator adds
 * its pixels in that order, as rn_wgrad_ukernel_fn over the tap's valid
 * rectangle: the same bits.
 * dy(r, q) = a + r * a_rs + q * a_ps: MR floats, all read. x(r, p) = b + r *
 *    b_rs + p * b_ps: nc floats (nothing past nc is read).
 * C[o][kx] = c + o * c_stride + kx * c_tap: nc floats, read and written.
 * rows, cols >= 0. */
#define RN_WGRAD3_UKERNEL_ARGS                                                                     \
    size_t nc, size_t rows, size_t cols, const float *a, size_t a_rs, size_t a_ps, const float *b, \
        size_t b_rs, size_t b_ps, float *c, size_t c_stride, size_t c_tap
typedef void (*rn_wgrad3_ukernel_fn)(RN_WGRAD3_UKERNEL_ARGS);

/* ---- bf16 indirect GEMM (mixed-precision training, AVX512_BF16) ------------------
 * The indirect GEMM's contract (above) on bf16 pairs with fp32 sums: kc is
 * the count of pairs per segment, and for each segment s and pair p, in that
 * order, every accumulator takes
 *   acc += A[2p+1] * B[2p+1];  acc += A[2p] * B[2p]
 * each product exact in fp32 and each sum rounded to fp32 (VDPBF16PS, whose
 * results flush denormals to zero).
 * A_s: MR rows of kc pairs, row i at a[s * a_seg_stride + i] + a_off[s]
 *    (pointers and offsets in 32-bit units, as the igemm's in floats: the
 *    driver hands over its indirection into an activation stored as pairs,
 *    rn_bf16_convert_fn); pair p holds channel 2p (low 16 bits) and 2p + 1
 *    (high 16 bits) as bf16.
 * B: ks * kc rows of NR pairs, row s * kc + p at b + (s * kc + p) * b_stride,
 *    pair r the column's elements 2p and 2p + 1 of the segment, as A's.
 * C, bias, flags: as the GEMM microkernel. */
typedef void (*rn_igemm_bf16_ukernel_fn)(size_t mr, size_t nc, size_t kc, size_t ks,
                                         const float *const *a, size_t a_seg_stride,
                                         const size_t *a_off, const uint32_t *b, size_t b_stride,
                                         float *c, size_t c_stride, const float *bias,
                                         uint32_t flags);
/* fp32 -> bf16 pairs: y[i] = bf16(x[2i]) | bf16(x[2i + 1]) << 16 for i <
 * pairs, rounded as rn__bf16_round (VCVTNE2PS2BF16). */
typedef void (*rn_bf16_convert_fn)(size_t pairs, const float *x, uint32_t *y);

/* fp32 -> bf16, to nearest even; denormals to a signed zero; NaN kept quiet. */
static inline uint16_t rn__bf16_round(uint32_t u) {
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* ---- convolution weight-gradient microkernel --------------------------------------
 * C[MR x nc] += sum over r < rows, q < cols (in that order) of the outer
 * product a_rq[0..MR) x b_rq[0..nc), where
 *   a_rq = a + r * a_rs + q * a_ps: MR contiguous floats (output-gradient
 *          channels of one output pixel; all MR are read),
 *   b_rq = b + r * b_rs + q * b_ps: nc contiguous floats (input channels of
 *          the pixel the tap reads; nothing past nc is read),
 * with 1 <= nc <= NR and rows, cols >= 0 (a 2-D range of pixels: rows of an
 * image, pixels of a row). C: MR rows of nc floats at c + i * c_stride, read
 * and written (column tails masked). */
typedef void (*rn_wgrad_ukernel_fn)(size_t nc, size_t rows, size_t cols, const float *a,
                                    size_t a_rs, size_t a_ps, const float *b, size_t b_rs,
                                    size_t b_ps, float *c, size_t c_stride);

/* ---- 32-bit transpose: dst[c * dst_stride + r] = src[r * src_stride + c] ------
 * for r < rows, c < cols; the blocks do not overlap. The GEMM driver packs
 * A^T and B^T with it. */
typedef void (*rn_transpose_fn)(size_t rows, size_t cols, const float *src, size_t src_stride,
                                float *dst, size_t dst_stride);

/* ---- batch norm over rows of channels -------------------------------------------
 * Each kernel walks `rows` rows of `nc` channels; row r of every array starts
 * at base + r * stride (stride >= nc: the caller's tensor has more channels
 * and hands over one group). Sums are taken per channel in row order, in
 * double, each addend rounded exactly as the scalar kernel does (no fused
 * multiply-add), so every ISA gives the scalar kernel's sums. */

/* v = (double)x - shift[i]; sum[i] += v; sumsq[i] += v * v (accumulated into). */
typedef void (*rn_bn_stats_fn)(size_t rows, size_t nc, const float *x, size_t stride,
                               const double *shift, double *sum, double *sumsq);

/* y = x * a[i] + b[i] (a product then a sum, never fused), plus r (the
 * residual, rows of the same stride) when r is not NULL, then max(., 0) if
 * relu, with NaN passed through; y may be x or r. */
typedef void (*rn_bn_apply_fn)(size_t rows, size_t nc, const float *x, size_t stride,
                               const float *a, const float *b, const float *r, float *y,
                               uint32_t relu);

/* Backward reductions, g = dy, or 0 where the fused ReLU passed nothing:
 * where relu_y is given, where !(relu_y > 0); else where ma is given, where
 * !((x * ma[i]) + mb[i] > 0) (the forward pre-activation, product rounded
 * before the sum as bn_apply rounds it, so with bn_apply's a and b the mask
 * is exactly that of its output, read from x instead of a third array);
 * sum[i] += g; sum_gx[i] += g * ((double)x - (double)mean[i]). */
typedef void (*rn_bn_grad_sums_fn)(size_t rows, size_t nc, const float *x, const float *dy,
                                   const float *relu_y, const float *ma, const float *mb,
                                   size_t stride, const float *mean, double *sum, double *sum_gx);

/* Whether the fused ReLU passed the gradient at element `at` (channel i) by
 * the rule above: the scalar kernels and the SIMD kernels' scalar tails. */
static inline int rn__bn_relu_passes(const float *relu_y, const float *ma, const float *mb,
                                     const float *x, size_t at, size_t i) {
    if (relu_y) return relu_y[at] > 0.0f;
    if (!ma) return 1;
    const float p = x[at] * ma[i];
    return p + mb[i] > 0.0f;
}

/* Backward input pass, g as above: dx = ((a[i] * g) - b[i]) - k[i] * (x - mean[i]),
 * in float, in that order; dx may be dy. */
typedef void (*rn_bn_grad_input_fn)(size_t rows, size_t nc, const float *x, const float *dy,
                                    const float *relu_y, const float *ma, const float *mb,
                                    size_t stride, const float *mean, const float *a,
                                    const float *b, const float *k, float *dx);

/* ---- elementwise over n floats ----------------------------------------------------
 * ReLU forward y = (x < 0 ? 0 : x) (NaN kept); backward dx = (y > 0 ? g : 0)
 * with g = dy, or g = dy + dy2 (one rounded sum) when dy2 is not NULL: the
 * two gradients that meet at a residual block's output; add y = a + b then,
 * if relu, the ReLU. Outputs may alias inputs. */
typedef void (*rn_relu_fn)(size_t n, const float *x, float *y);
typedef void (*rn_relu_backward_fn)(size_t n, const float *y, const float *dy, const float *dy2,
                                    float *dx);
typedef void (*rn_add_fn)(size_t n, const float *a, const float *b, float *y, uint32_t relu);

/* ---- max pooling over one window of wh x ww cells ---------------------------------
 * Cell (iy, ix) of channel i is at x + iy * row_stride + ix * pix_stride + i.
 * A later cell takes over the running maximum m when v > m, or when v is NaN
 * and m is not: the maximum is the first one in cell order and NaN wins.
 * Forward writes that maximum to y[i]; backward adds g[i] to the gradient of
 * the cell that holds it (dx has x's geometry). wh, ww >= 1. */
typedef void (*rn_maxpool_fn)(size_t nc, size_t wh, size_t ww, const float *x, size_t row_stride,
                              size_t pix_stride, float *y);
typedef void (*rn_maxpool_backward_fn)(size_t nc, size_t wh, size_t ww, const float *x, float *dx,
                                       size_t row_stride, size_t pix_stride, const float *g);

/* ---- Winograd F(4x4,3x3) (and F(2x2,3x3), F(6x6,3x3)) tile transforms over nc channels ------------
 * Input: V = B^T d B for one 6x6 input tile, point (i, q) of the tile at
 * d[i * 6 + q] (nc floats: a pixel's channels, or a row of zeros for
 * padding); point xi = i * 6 + q of V written at v + xi * v_stride.
 * Output: O = A^T M A for one tile, point xi of M at m + xi * m_stride;
 * output pixel (i, q) of the 4x4 block gets O[i][q] (+ bias), then with
 * RN_WG_ACCUMULATE in flags the value y[i * 4 + q] held on entry (a
 * residual: rounded after the bias, as the separate add pass sees it), then
 * with RN_WG_RELU x < 0 ? 0 : x, written to y[i * 4 + q] (nc floats), or is
 * dropped when that pointer is NULL (outside the image). Every ISA computes
 * the same expressions in the same order (f32-winograd-template.h). */
/* The F(2x2,3x3) forms (winograd2_*) have the same contract with 4x4 input
 * tiles (d[i * 4 + q], 16 points) and 2x2 output blocks (y[i * 2 + q]);
 * the F(6x6,3x3) ones (winograd6_*) with 8x8 input tiles (d[i * 8 + q], 64
 * points) and 6x6 output blocks (y[i * 6 + q]). */
#define RN_WG_RELU 1u
#define RN_WG_ACCUMULATE 2u
typedef void (*rn_winograd_input_fn)(size_t nc, const float *const *d, float *v, size_t v_stride);
typedef void (*rn_winograd_output_fn)(size_t nc, const float *m, size_t m_stride, float *const *y,
                                      const float *bias, uint32_t flags);
/* Output-gradient transform of the backward-weights pass: W = A dY A^T for
 * one tile, pixel (i, q) of the 4x4 output block at g[i * 4 + q] (nc
 * floats: its channels of dy, or a row of zeros outside the image); point
 * xi of W written at w + xi * w_stride. */
typedef void (*rn_winograd_output_grad_fn)(size_t nc, const float *const *g, float *w,
                                           size_t w_stride);

/* ---- int8 convolution (indirect GEMM with a requantizing epilogue) ---------------
 * The arithmetic is the int8 scheme's (docs/int8.md); the portable kernel
 * defines it and every ISA's kernel gives the same bytes. For mr <= MR
 * output pixels and nc <= RN_QCONV_NR (16) output channels:
 *   acc[i][c] = bias[c] + sum over s < ks, g < kg, t < 4 of
 *               A[i][s][g * 4 + t] * W[s][g][c][t]
 *   f = (float)acc * m[c]; if r: f = f + (float)r[i][c] * m_r
 *   y[i][c] = rint(clamp(f, relu ? 0 : -127, 127))   (half to even)
 * in int32 (exact) and then float32, each operation rounded to float32.
 * A[i][s]: a[i] + a_off[s], kg * 4 int8 at any alignment (the driver passes
 *    a window row: k pixels' channels, then bytes its zero weights ignore).
 *    All MR pointers are read (the driver repeats a valid
 *    one past mr); only rows < mr are stored.
 * W: the packed panel, ks * kg groups of 16 channels x 4 int8 (64 bytes),
 *    channel c's 4 values at w + (s * kg + g) * 64 + c * 4.
 * bias: 16 int32 (the packed block's); a kernel whose table entry has
 *    `u8` set reads its activations as A + 128 (u8 x s8 instructions) and
 *    the driver passes the block's compensated bias, bias[c] - 128 * sum of
 *    channel c's weights, and activations stored as A ^ 0x80.
 * m: 16 floats (the driver pads a tail); r: NULL or row i's nc residual
 *    int8 at r + i * r_stride; y: row i's nc int8 at y + i * y_stride.
 * Nothing past nc is read from r or written to y. */
#define RN_QCONV_NR 16
typedef void (*rn_qconv_ukernel_fn)(size_t mr, size_t nc, size_t kg, size_t ks,
                                    const int8_t *const *a, const size_t *a_off, const int8_t *w,
                                    const int32_t *bias, const float *m, const int8_t *r,
                                    size_t r_stride, float m_r, int32_t relu, int8_t *y,
                                    size_t y_stride);
#define RN_QCONV_UKERNEL_ARGS                                                                   \
    size_t mr, size_t nc, size_t kg, size_t ks, const int8_t *const *a, const size_t *a_off,    \
        const int8_t *w, const int32_t *bias, const float *m, const int8_t *r, size_t r_stride, \
        float m_r, int32_t relu, int8_t *y, size_t y_stride
typedef struct rn_qconv_kernel {
    rn_qconv_ukernel_fn fn;
    int32_t mr; /* rows (output pixels) per call, at most RN_QCONV_MR_MAX */
    int32_t u8; /* activations offset to unsigned (A + 128), compensated bias */
} rn_qconv_kernel;
#define RN_QCONV_MR_MAX 16

/* The requantization of one accumulator, as every kernel computes it. The
 * rounding adds and subtracts 1.5 * 2^23, which rounds a float of magnitude
 * at most 127 to the nearest integer, ties to even, under the default
 * rounding mode, with no libm call (firmware). */
static inline int8_t rn__qconv_requant(int32_t acc, float m, int32_t has_r, int8_t r, float m_r,
                                       float lo) {
    float f = (float)acc * m;
    if (has_r) f = (float)(f + (float)r * m_r);
    f = f < lo ? lo : f;
    f = f > 127.f ? 127.f : f;
    const float t = (float)(f + 12582912.f);
    return (int8_t)(int32_t)(float)(t - 12582912.f);
}

struct rn_kernels {
    int32_t isa;     /* RN_ISA_* this table implements; must stay the first member */
    int32_t gemm_mr; /* rows of the GEMM microkernel (MR) */
    int32_t gemm_nr; /* columns (packed panel width) of the GEMM microkernel (NR) */
    rn_gemm_ukernel_fn gemm;
    /* A second microkernel for matrices of few columns (16 output channels):
     * NR narrow enough that the wide kernel's padded columns are not wasted
     * FMAs. The same contract; it may be the wide one itself. */
    int32_t gemm_narrow_mr, gemm_narrow_nr;
    rn_gemm_ukernel_fn gemm_narrow;
    /* Indirect GEMM for convolutions: a wide tile and a narrow one (16
     * output channels), as for the GEMM. */
    int32_t igemm_mr, igemm_nr;
    rn_igemm_ukernel_fn igemm;
    int32_t igemm_narrow_mr, igemm_narrow_nr;
    rn_igemm_ukernel_fn igemm_narrow;
    /* Weight gradients of convolutions: NR input channels of a tap by MR
     * output channels, a wide tile and a narrow one (16 input channels). */
    int32_t wgrad_mr, wgrad_nr;
    rn_wgrad_ukernel_fn wgrad;
    int32_t wgrad_narrow_mr, wgrad_narrow_nr;
    rn_wgrad_ukernel_fn wgrad_narrow;
    /* Direct 3x3 stride-1 convolution along output rows: a wide tile and a
     * narrow one (16 output channels), mr = pixels of a row; NULL where the
     * ISA has none (the indirect GEMM runs those convolutions). */
    int32_t dconv3_mr, dconv3_nr;
    rn_dconv3_ukernel_fn dconv3;
    int32_t dconv3_narrow_mr, dconv3_narrow_nr;
    rn_dconv3_ukernel_fn dconv3_narrow;
    /* Weight gradients of 3x3 stride-1 convolutions along rows: MR output
     * channels x NR input channels x a window row's three taps; NULL where
     * the ISA has none (the tap-by-tap kernel runs them). */
    int32_t wgrad3_mr, wgrad3_nr;
    rn_wgrad3_ukernel_fn wgrad3;
    /* bf16 indirect GEMM (RN_OPT_TRAIN_BF16), a wide tile and a narrow
     * one; NULL where the ISA or the CPU lacks it (AVX512_BF16). */
    int32_t igemm_bf16_mr, igemm_bf16_nr;
    rn_igemm_bf16_ukernel_fn igemm_bf16;
    int32_t igemm_bf16_narrow_mr, igemm_bf16_narrow_nr;
    rn_igemm_bf16_ukernel_fn igemm_bf16_narrow;
    rn_bf16_convert_fn bf16_convert;
    rn_transpose_fn transpose;
    rn_bn_stats_fn bn_stats;
    rn_bn_apply_fn bn_apply;
    rn_bn_grad_sums_fn bn_grad_sums;
    rn_bn_grad_input_fn bn_grad_input;
    rn_relu_fn relu;
    rn_relu_backward_fn relu_backward;
    rn_add_fn add;
    rn_maxpool_fn maxpool;
    rn_maxpool_backward_fn maxpool_backward;
    rn_winograd_input_fn winograd_input;
    rn_winograd_output_fn winograd_output;
    rn_winograd_output_grad_fn winograd_output_grad;
    rn_winograd_input_fn winograd2_input; /* F(2x2,3x3): 4x4 tiles, 2x2 blocks */
    rn_winograd_output_fn winograd2_output;
    rn_winograd_input_fn winograd6_input; /* F(6x6,3x3): 8x8 tiles, 6x6 blocks */
    rn_winograd_output_fn winograd6_output;
    /* int8 convolution: the best variant this CPU runs within the ISA
     * (AVX-512: VNNI when present; NEON: the dot-product extension). */
    rn_qconv_kernel qconv;
};

/* Every kernel compiled into the library (dispatch.c picks among them). */
#define RN_GEMM_UKERNEL_ARGS                                                          \
    size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride, const float *b, \
        size_t b_stride, float *c, size_t c_stride, const float *bias, uint32_t flags
#define RN_IGEMM_UKERNEL_ARGS                                                               \
    size_t mr, size_t nc, size_t kc, size_t ks, const float *const *a, size_t a_seg_stride, \
        const size_t *a_off, const float *b, size_t b_stride, float *c, size_t c_stride,    \
        const float *bias, uint32_t flags
#define RN_IGEMM_BF16_UKERNEL_ARGS                                                          \
    size_t mr, size_t nc, size_t kc, size_t ks, const float *const *a, size_t a_seg_stride, \
        const size_t *a_off, const uint32_t *b, size_t b_stride, float *c, size_t c_stride, \
        const float *bias, uint32_t flags
#define RN_WGRAD_UKERNEL_ARGS                                                                      \
    size_t nc, size_t rows, size_t cols, const float *a, size_t a_rs, size_t a_ps, const float *b, \
        size_t b_rs, size_t b_ps, float *c, size_t c_stride
#define RN_TRANSPOSE_ARGS \
    size_t rows, size_t cols, const float *src, size_t src_stride, float *dst, size_t dst_stride

#define RN_BN_STATS_ARGS                                                                     \
    size_t rows, size_t nc, const float *x, size_t stride, const double *shift, double *sum, \
        double *sumsq
#define RN_BN_APPLY_ARGS                                                                   \
    size_t rows, size_t nc, const float *x, size_t stride, const float *a, const float *b, \
        const float *r, float *y, uint32_t relu
#define RN_BN_GRAD_SUMS_ARGS                                                                       \
    size_t rows, size_t nc, const float *x, const float *dy, const float *relu_y, const float *ma, \
        const float *mb, size_t stride, const float *mean, double *sum, double *sum_gx
#define RN_BN_GRAD_INPUT_ARGS                                                                      \
    size_t rows, size_t nc, const float *x, const float *dy, const float *relu_y, const float *ma, \
        const float *mb, size_t stride, const float *mean, const float *a, const float *b,         \
        const float *k, float *dx
#define RN_RELU_ARGS size_t n, const float *x, float *y
#define RN_RELU_BACKWARD_ARGS size_t n, const float *y, const float *dy, const float *dy2, float *dx
#define RN_ADD_ARGS size_t n, const float *a, const float *b, float *y, uint32_t relu
#define RN_MAXPOOL_ARGS \
    size_t nc, size_t wh, size_t ww, const float *x, size_t row_stride, size_t pix_stride, float *y
#define RN_MAXPOOL_BACKWARD_ARGS                                                   \
    size_t nc, size_t wh, size_t ww, const float *x, float *dx, size_t row_stride, \
        size_t pix_stride, const float *g

#define RN_WINOGRAD_INPUT_ARGS size_t nc, const float *const *d, float *v, size_t v_stride
#define RN_WINOGRAD_OUTPUT_ARGS \
    size_t nc, const float *m, size_t m_stride, float *const *y, const float *bias, uint32_t flags
#define RN_WINOGRAD_OUTPUT_GRAD_ARGS size_t nc, const float *const *g, float *w, size_t w_stride

/* One line per ISA and family; the scalar ones are also the reference the
 * SIMD ones are tested against (tests/test_kernels_elementwise.c). */
#define RN_DECLARE_ELEMENTWISE(isa)                                        \
    void rn_f32_bn_stats__##isa(RN_BN_STATS_ARGS);                         \
    void rn_f32_bn_apply__##isa(RN_BN_APPLY_ARGS);                         \
    void rn_f32_bn_grad_sums__##isa(RN_BN_GRAD_SUMS_ARGS);                 \
    void rn_f32_bn_grad_input__##isa(RN_BN_GRAD_INPUT_ARGS);               \
    void rn_f32_relu__##isa(RN_RELU_ARGS);                                 \
    void rn_f32_relu_backward__##isa(RN_RELU_BACKWARD_ARGS);               \
    void rn_f32_add__##isa(RN_ADD_ARGS);                                   \
    void rn_f32_maxpool__##isa(RN_MAXPOOL_ARGS);                           \
    void rn_f32_maxpool_backward__##isa(RN_MAXPOOL_BACKWARD_ARGS);         \
    void rn_f32_winograd_input__##isa(RN_WINOGRAD_INPUT_ARGS);             \
    void rn_f32_winograd_output__##isa(RN_WINOGRAD_OUTPUT_ARGS);           \
    void rn_f32_winograd_output_grad__##isa(RN_WINOGRAD_OUTPUT_GRAD_ARGS); \
    void rn_f32_winograd2_input__##isa(RN_WINOGRAD_INPUT_ARGS);            \
    void rn_f32_winograd2_output__##isa(RN_WINOGRAD_OUTPUT_ARGS);          \
    void rn_f32_winograd6_input__##isa(RN_WINOGRAD_INPUT_ARGS);            \
    void rn_f32_winograd6_output__##isa(RN_WINOGRAD_OUTPUT_ARGS);

void rn_f32_gemm_4x4__scalar(RN_GEMM_UKERNEL_ARGS);
void rn_f32_igemm_4x4__scalar(RN_IGEMM_UKERNEL_ARGS);
void rn_f32_wgrad_4x4__scalar(RN_WGRAD_UKERNEL_ARGS);
void rn_x32_transpose__scalar(RN_TRANSPOSE_ARGS);
void rn_qs8_igemm_4x16__scalar(RN_QCONV_UKERNEL_ARGS);
RN_DECLARE_ELEMENTWISE(scalar)
#ifdef RN_HAVE_AVX2
void rn_f32_gemm_6x16__avx2(RN_GEMM_UKERNEL_ARGS);
void rn_f32_igemm_6x16__avx2(RN_IGEMM_UKERNEL_ARGS);
void rn_f32_wgrad_4x16__avx2(RN_WGRAD_UKERNEL_ARGS);
void rn_x32_transpose__avx2(RN_TRANSPOSE_ARGS);
void rn_qs8_igemm_4x16__avx2(RN_QCONV_UKERNEL_ARGS);
RN_DECLARE_ELEMENTWISE(avx2)
#endif
#ifdef RN_HAVE_AVX512
void rn_f32_gemm_14x32__avx512(RN_GEMM_UKERNEL_ARGS);
void rn_f32_igemm_8x32__avx512(RN_IGEMM_UKERNEL_ARGS);
void rn_f32_gemm_16x16__avx512(RN_GEMM_UKERNEL_ARGS);
void rn_f32_igemm_8x16__avx512(RN_IGEMM_UKERNEL_ARGS);
void rn_f32_wgrad_8x32__avx512(RN_WGRAD_UKERNEL_ARGS);
void rn_f32_wgrad_16x16__avx512(RN_WGRAD_UKERNEL_ARGS);
void rn_f32_dconv3_8x32__avx512(RN_DCONV3_UKERNEL_ARGS);
void rn_f32_dconv3_16x16__avx512(RN_DCONV3_UKERNEL_ARGS);
void rn_f32_wgrad3_8x16__avx512(RN_WGRAD3_UKERNEL_ARGS);
void rn_qs8_igemm_8x16__avx512bw(RN_QCONV_UKERNEL_ARGS);
void rn_qs8_igemm_12x16__avx512vnni(RN_QCONV_UKERNEL_ARGS);      /* needs AVX512_VNNI */
#ifdef RN_HAVE_AVX512BF16                                        /* core/internal.h */
void rn_bf16_igemm_8x32__avx512bf16(RN_IGEMM_BF16_UKERNEL_ARGS); /* need AVX512_BF16 */
void rn_bf16_igemm_16x16__avx512bf16(RN_IGEMM_BF16_UKERNEL_ARGS);
void rn_bf16_convert__avx512bf16(size_t pairs, const float *x, uint32_t *y);
#endif
RN_DECLARE_ELEMENTWISE(avx512)
#endif
#ifdef RN_HAVE_NEON
void rn_f32_gemm_8x8__neon(RN_GEMM_UKERNEL_ARGS);
void rn_f32_igemm_8x8__neon(RN_IGEMM_UKERNEL_ARGS);
void rn_f32_wgrad_8x8__neon(RN_WGRAD_UKERNEL_ARGS);
void rn_x32_transpose__neon(RN_TRANSPOSE_ARGS);
void rn_qs8_igemm_4x16__neon(RN_QCONV_UKERNEL_ARGS);
void rn_qs8_igemm_4x16__neondot(RN_QCONV_UKERNEL_ARGS); /* needs the dot-product extension */
RN_DECLARE_ELEMENTWISE(neon)
#endif

/* The table a context capped at `cap` runs: that of rn__cpu_isa_for_cap(cap)
 * (src/core/cpu.c). Drivers take their context's with rn__ctx_kernels. */
const struct rn_kernels *rn__kernels_for_isa(int32_t cap);

/* The int8 dot product of the portable int8 convolution, inlined there. */
#include "s8-dot-inline.h"

#endif /* RN_KERNELS_H */
