/*
 * Internal op drivers: the layer computations on raw NHWC float arrays with
 * shapes already validated. They never allocate: scratch comes in `ws`,
 * sized by the matching *_workspace function, so a plan can size and bind all
 * memory ahead. They never fail (callers validated), and their results do not
 * depend on the context's thread count (fixed-order reductions).
 *
 * The public functions of include/resnet/layers.h validate, allocate scratch,
 * and call these; src/nn/ calls these directly with planned memory.
 */
#ifndef RN_OPS_H
#define RN_OPS_H

#include "../core/internal.h"
#include "../kernels/kernels.h"

/* The kernel table of the context's ISA (RN_OPT_ACTIVE_ISA). */
static inline const struct rn_kernels *rn__ctx_kernels(const rn_ctx *ctx) {
    return rn__kernels_for_isa(ctx->active_isa);
}

/* ---- GEMM (src/ops/gemm.c): the one contract behind conv and linear --------
 * C[m x n] = (accumulate ? C : 0) + op(A)[m x k] * op(B)[k x n] (+ bias[n])
 * then max(., 0) if relu. Row-major; op(X) = X or X^T per trans flag; lda,
 * ldb, ldc in elements of the stored (untransposed) matrices. */
size_t rn__sgemm_workspace(const rn_ctx *ctx, size_t m, size_t n, size_t k);
void rn__sgemm(const rn_ctx *ctx, int32_t trans_a, int32_t trans_b, size_t m, size_t n, size_t k,
               const float *a, size_t lda, const float *b, size_t ldb, int32_t accumulate,
               const float *bias, int32_t relu, float *c, size_t ldc, void *ws);

/* Output size of a window (kh x kw, stride sh x sw, symmetric zero padding
 * ph, pw) sliding over an h x w input: 0 when the window does not fit or an
 * output side exceeds INT32_MAX. */
static inline int rn__window_out(int32_t h, int32_t w, int32_t kh, int32_t kw, int32_t sh,
                                 int32_t sw, int32_t ph, int32_t pw, int32_t *oh, int32_t *ow) {
    /* int64 so that h + 2*pad cannot overflow; a negative span means the
     * window is larger than the padded input (C division would round it to 0) */
    int64_t span_h = (int64_t)h + 2 * (int64_t)ph - kh;
    int64_t span_w = (int64_t)w + 2 * (int64_t)pw - kw;
    if (span_h < 0 || span_w < 0) return 0;
    int64_t out_h = span_h / sh + 1, out_w = span_w / sw + 1;
    if (out_h > INT32_MAX || out_w > INT32_MAX) return 0;
    *oh = (int32_t)out_h;
    *ow = (int32_t)out_w;
    return 1;
}

/* ---- convolution -------------------------------------------------------------- */
typedef struct rn_conv_desc {
    int32_t n, h, w, c;     /* input */
    int32_t oc, kh, kw;     /* weight OHWI: (oc, kh, kw, c) */
    int32_t sh, sw, ph, pw; /* stride and symmetric zero padding */
    int32_t oh, ow;         /* output, filled by rn__conv_desc_init */
} rn_conv_desc;

/* Fills oh/ow; returns 0 if the window does not fit (oh or ow < 1). */
int rn__conv_desc_init(rn_conv_desc *d);

/* Choosing the algorithm (src/ops/conv2d-algo.c): one ordered list of
 * implementations per pass, its thresholds in one table, the accuracy rule
 * (no Winograd in a training step's forward pass) with them. */
#define RN_CONV_PASS_FORWARD 0
#define RN_CONV_PASS_BACKWARD_DATA 1
#define RN_CONV_PASS_BACKWARD_WEIGHTS 2

#define RN_CONV_ALGO_GEMM 0        /* 1x1, stride 1, no padding: the pixels are the GEMM's rows */
#define RN_CONV_ALGO_INDIRECT 1    /* indirect GEMM (backward-data: of the transposed conv) */
#define RN_CONV_ALGO_IM2COL 2      /* im2col (col2im) and one GEMM per chunk of pixels */
#define RN_CONV_ALGO_TAPS 3        /* backward-weights tap by tap */
#define RN_CONV_ALGO_PACKED 4      /* indirect GEMM on weights packed once (inference plans) */
#define RN_CONV_ALGO_WINOGRAD 5    /* F(4x4,3x3) on weights transformed once (inference plans) */
#define RN_CONV_ALGO_WINOGRAD_W 6  /* F(4x4,3x3), weights transformed on every call (training) */
#define RN_CONV_ALGO_INT8_PACKED 7 /* int8: the ISA's kernel on weights packed once */
#define RN_CONV_ALGO_INT8_PLAIN 8  /* int8: the portable loop on the OHWI weights in place */
#define RN_CONV_ALGO_BF16 9        /* indirect GEMM, bf16 products, fp32 sums (RN_OPT_TRAIN_BF16) */
#define RN_CONV_ALGO_WINOGRAD2 10  /* F(2x2,3x3) on weights transformed once (inference plans) */

/* What the caller can run besides the plain algorithms. */
#define RN_CONV_USE_DERIVED 1u /* it keeps weights derived once (inference plans) */
#define RN_CONV_USE_TRAIN 2u   /* a training step (per-call Winograd, backward passes) */
#define RN_CONV_USE_BF16 4u /* bf16 products (rn__conv_choose: training with RN_OPT_TRAIN_BF16) */

typedef struct rn_conv_choice {
    int32_t algo;         /* RN_CONV_ALGO_* */
    size_t workspace;     /* bytes for it and for the plain algorithm, which a Winograd
                           * choice runs when RN_OPT_WINOGRAD is 0 at run time;
                           * SIZE_MAX on overflow */
    size_t derived_bytes; /* PACKED / WINOGRAD / WINOGRAD2: the derived weights' bytes, else 0 */
    int32_t fallback;     /* BF16: the algorithm run while RN_OPT_TRAIN_BF16 is 0 (what
                           * a plan made without it runs; workspace covers it); else algo */
} rn_conv_choice;

rn_conv_choice rn__conv_choose(const rn_ctx *ctx, const rn_conv_desc *d, int32_t pass,
                               uint32_t use);
/* The drivers' own choice among the plain algorithms (GEMM, INDIRECT,
 * IM2COL, TAPS): what rn__conv_choose gives with use 0. */
int32_t rn__conv_plain_algo(const rn_conv_desc *d, int32_t pass);
/* bf16 products with fp32 sums (RN_CONV_ALGO_BF16, RN_OPT_TRAIN_BF16; the
 * context's kernel table must have igemm_bf16): 1 if pass (forward or
 * backward-data) of d can take them (the indirect path, an even channel
 * count along the sums); their workspace (SIZE_MAX if too big); the forward
 * and backward-data passes (conv2d-indirect.c). */
int rn__conv_bf16_ok(const rn_conv_desc *d, int32_t pass);
size_t rn__conv_bf16_workspace(const rn_conv_desc *d, int32_t pass);
void rn__conv_indirect_forward_bf16(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                    const float *w, const float *bias, int32_t relu, float *y,
                                    void *ws);
void rn__conv_indirect_backward_data_bf16(const rn_ctx *ctx, const rn_conv_desc *d, const float *dy,
                                          const float *w, float *dx, void *ws);
/* Derived weights a model's inference plans may hold in all (bytes): with
 * plain weights, or packed for inference (packed 1: only its Winograd forms
 * count). */
size_t rn__conv_derived_budget(int32_t packed);
/* The same for an int8 plan's packed weights. */
size_t rn__qconv_derived_budget(void);
const char *rn__conv_algo_name(int32_t algo);
/* 1 when algorithm `algo` (RN_CONV_ALGO_*) runs pass `pass` of d through
 * the direct 3x3 row kernels on ctx's kernel table (kernels.h: the forward
 * and stride-1 backward-data passes of indirect-gemm and packed-indirect,
 * the tap-by-tap weight gradient), for the plan's log. */
int rn__conv_runs_rows(const rn_ctx *ctx, const rn_conv_desc *d, int32_t pass, int32_t algo);
const char *rn__conv_pass_name(int32_t pass);

/* Workspace bytes for each pass (forward, backward-data, backward-weights). */
size_t rn__conv2d_forward_workspace(const rn_ctx *ctx, const rn_conv_desc *d);
size_t rn__conv2d_backward_data_workspace(const rn_ctx *ctx, const rn_conv_desc *d);
size_t rn__conv2d_backward_weights_workspace(const rn_ctx *ctx, const rn_conv_desc *d);

/* y = conv(x, w) (+ bias) then ReLU if relu (the epilogue used by folded inference). */
void rn__conv2d_forward(const rn_ctx *ctx, const rn_conv_desc *d, const float *x, const float *w,
                        const float *bias, int32_t relu, float *y, void *ws);
/* The same with the residual addition fused: y holds the shortcut on
 * entry, and gets y + conv(x, w) (+ bias), then the ReLU if relu. The GEMM
 * accumulates into it, so the sum costs no pass of its own. A direct
 * convolution (1x1, stride 1, no padding) is one GEMM that adds y before
 * the bias; the indirect path (a convolution it takes: rn__conv_plain_algo)
 * adds y after the bias, which gives the bits of rn__conv2d_forward followed
 * by rn__add_forward. No other convolution. Workspace:
 * rn__conv2d_forward_workspace. */
void rn__conv2d_forward_residual(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                 const float *w, const float *bias, int32_t relu, float *y,
                                 void *ws);
/* Weights packed once for many forward passes (inference plans: after the
 * weights are loaded or folded, and again after every change to them). The
 * packed form depends on the shape only, not on the ISA cap or the thread
 * count; it does depend on the shape, so a plan packs per convolution.
 * Size 0 (windows over 64 taps) means no packed form: use rn__conv2d_forward.
 * rn__conv2d_forward_packed has its own workspace size (smaller: the
 * packing rn__conv2d_forward does on every call is already done). */
size_t rn__conv2d_packed_weights_size(const rn_ctx *ctx, const rn_conv_desc *d);
void rn__conv2d_pack_weights(const rn_ctx *ctx, const rn_conv_desc *d, const float *w,
                             void *packed);
size_t rn__conv2d_forward_packed_workspace(const rn_ctx *ctx, const rn_conv_desc *d);
void rn__conv2d_forward_packed(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                               const void *packed, const float *bias, int32_t relu, float *y,
                               void *ws);
/* Panels: the indirect path's packed form (32 output channels per panel,
 * rows in (ky, kx, c) order, columns past oc zero) at an exact address, for
 * every convolution of at most 64 taps, 1x1 ones included. The form depends
 * on c, oc and the window only (not on the batch, the image size, the ISA or
 * the thread count), so one copy serves every plan of a model (src/nn).
 * _size: exact bytes (0: no panel form). _in_place_tmp: bytes of the copy
 * that rn__conv_pack_panels_in_place needs, 0 if the panels cannot replace
 * the OHWI weights in place (oc not a multiple of 32, where the last panel
 * is wider than its weights). Unpacking gives the OHWI weights back exactly.
 * The forward pass runs the indirect tiles on them; with accumulate, y holds
 * a residual on entry, added after the bias and before the ReLU (the bits of
 * the convolution followed by rn__add_forward). Its
 * results are bit-identical to rn__conv2d_forward's where that takes the
 * indirect path (not a direct 1x1 convolution, which is a sliced GEMM:
 * there the sums differ by rounding). */
size_t rn__conv_panels_size(const rn_conv_desc *d);
void rn__conv_pack_panels(const rn_ctx *ctx, const rn_conv_desc *d, const float *w, float *panels);
size_t rn__conv_panels_in_place_tmp(const rn_conv_desc *d);
void rn__conv_pack_panels_in_place(const rn_ctx *ctx, const rn_conv_desc *d, float *w, float *tmp);
void rn__conv_unpack_panels(const rn_conv_desc *d, const float *panels, float *w);
size_t rn__conv_panels_workspace(const rn_conv_desc *d);
void rn__conv_forward_panels(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                             const float *panels, const float *bias, int32_t relu,
                             int32_t accumulate, float *y, void *ws);
/* Winograd F(tile x tile, 3x3) for 3x3 stride-1 forward convolutions (any
 * padding), src/ops/conv2d-winograd.c; tile 4 (F(4x4,3x3): 6x6 input tiles,
 * 36 points), 2 (F(2x2,3x3): 4x4 input tiles, 16 points) or 6 (F(6x6,3x3):
 * 8x8 input tiles, 64 points): weights transformed once (4x, for tile 2
 * 1.8x, for tile 6 7.1x the 3x3 weights, in panels whose layout depends on
 * the shape and tile only), then each forward pass runs the input
 * transform, one GEMM per point on the ISA's microkernel, and the output
 * transform with the bias / ReLU epilogue; with accumulate, y holds a
 * residual on entry, added after the bias and before the ReLU (the bits of
 * the convolution followed by rn__add_forward). Rounding differs from the
 * direct path (F(4x4,3x3): max error about 3e-6 of the largest output
 * against 1e-6, measured at ResNet shapes; F(2x2,3x3) close to direct;
 * F(6x6,3x3) a few times F(4x4,3x3)'s: docs/performance.md, "Winograd");
 * results do not depend on the thread count. _ok: the shape can take it (where it pays is rn__conv_choose's
 * call); _tiles: output blocks over the batch. */
int rn__conv_winograd_ok(const rn_conv_desc *d);
size_t rn__conv_winograd_tiles(const rn_conv_desc *d, int32_t tile);
size_t rn__conv_winograd_weights_size(const rn_conv_desc *d, int32_t tile);
void rn__conv_winograd_transform_weights(const rn_ctx *ctx, const rn_conv_desc *d, int32_t tile,
                                         const float *w, void *u);
size_t rn__conv_winograd_workspace(const rn_conv_desc *d, int32_t tile);
void rn__conv_winograd_forward(const rn_ctx *ctx, const rn_conv_desc *d, int32_t tile,
                               const float *x, const void *u, const float *bias, int32_t relu,
                               int32_t accumulate, float *y, void *ws);
/* Training (the weights change every step; F(4x4,3x3) only): _forward_w
 * transforms w into
 * the start of its workspace on every call, then runs the forward;
 * _backward_data computes dx = conv^T(dy, w) (overwrites dx) as the forward
 * of the transposed convolution (rotated, transposed weights, padding
 * 2 - p), for d's with padding at most 2 (_backward_data_ok);
 * _backward_weights computes dw (OHWI, overwritten) from x and dy as
 * dU = sum over tiles of (A dY A^T) .* (B^T x B), dw = G^T dU G. Plans run
 * the backward passes (rn__conv_choose); _forward_w serves the benchmarks. */
size_t rn__conv_winograd_forward_w_workspace(const rn_conv_desc *d);
void rn__conv_winograd_forward_w(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                 const float *w, const float *bias, int32_t relu, float *y,
                                 void *ws);
int rn__conv_winograd_backward_data_ok(const rn_conv_desc *d);
size_t rn__conv_winograd_backward_data_workspace(const rn_conv_desc *d);
void rn__conv_winograd_backward_data(const rn_ctx *ctx, const rn_conv_desc *d, const float *dy,
                                     const float *w, float *dx, void *ws);
size_t rn__conv_winograd_backward_weights_workspace(const rn_conv_desc *d);
void rn__conv_winograd_backward_weights(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                        const float *dy, float *dw, void *ws);
/* dx = conv^T(dy, w) (overwrites dx). */
void rn__conv2d_backward_data(const rn_ctx *ctx, const rn_conv_desc *d, const float *dy,
                              const float *w, float *dx, void *ws);
/* dw (and db if not NULL) from x and dy, overwritten. */
void rn__conv2d_backward_weights(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                 const float *dy, float *dw, float *db, void *ws);

/* ---- int8 convolution (src/ops/qconv2d.c; arithmetic in docs/int8.md) ----------
 * x: NHWC int8 (n, h, w, cin); y: NHWC int8 (n, oh, ow, cout); r: NULL or
 * int8 with y's shape; square window k, stride, zero padding pad on every
 * side. Weights OHWI int8 [cout][k][k][cin], bias int32[cout], m float[cout]
 * (requantization multipliers), m_r the residual's. Per output pixel and
 * channel: acc = bias + sum x * w (int32, exact), then in float32
 * f = (float)acc * m (+ (float)r * m_r), y = rint(clamp(f, relu ? 0 : -127,
 * 127)), ties to even. Every ISA's path gives the same bytes. */
typedef struct rn_qconv_desc {
    int32_t n, h, w, cin, cout;
    int32_t k, stride, pad;
    int32_t oh, ow; /* filled by rn__qconv_desc_init */
} rn_qconv_desc;
#define RN_QCONV_MAX_K 11
/* Fills oh/ow; returns 0 for a shape the op does not take (a dimension < 1,
 * k > RN_QCONV_MAX_K,
 * the window larger than the padded input, stride < 1, pad < 0, or more than
 * 2^16 products per output, k * k * cin: with |bias| < 2^30 the int32 sum
 * cannot overflow; u8 x s8 kernels' partial sums wrap modulo 2^32 and end
 * on the same exact value). */
int rn__qconv_desc_init(rn_qconv_desc *d);
/* Packed weights: the OHWI weights and the bias in the layout the kernels
 * read (blocks of 16 output channels, the bias with and without the
 * compensation u8 x s8 kernels need). The layout is the same for every ISA,
 * cap and thread count; it depends on the shape only. */
size_t rn__qconv2d_packed_size(const rn_qconv_desc *d);
void rn__qconv2d_pack(const rn_qconv_desc *d, const int8_t *w, const int32_t *bias, void *packed);
/* Workspace bytes for rn__qconv2d_run with packed weights (packed != 0) or
 * on the OHWI weights as stored (packed == 0: none, 0 bytes). */
size_t rn__qconv2d_workspace(const rn_ctx *ctx, const rn_qconv_desc *d, int32_t packed);
/* The convolution. With packed != NULL, w and bias are not read (the packed
 * form holds them) and the ISA's kernel runs; with packed == NULL it runs a
 * portable loop on the OHWI weights and bias in place (firmware keeps them
 * in flash), needing no workspace. r may be NULL (m_r then unused). */
void rn__qconv2d_run(const rn_ctx *ctx, const rn_qconv_desc *d, const int8_t *x, const int8_t *w,
                     const int32_t *bias, const void *packed, const float *m, const int8_t *r,
                     float m_r, int32_t relu, int8_t *y, void *ws);
/* How an int8 convolution runs (src/ops/conv2d-algo.c): INT8_PACKED when
 * the caller keeps derived weights (RN_CONV_USE_DERIVED) and the packed form
 * fits the derived-weights budget, else INT8_PLAIN. workspace is for the
 * algorithm chosen; derived_bytes is the packed size (0 for INT8_PLAIN). */
rn_conv_choice rn__qconv_choose(const rn_ctx *ctx, const rn_qconv_desc *d, uint32_t use);
/* The same with a given kernel (the tests run every variant this CPU has). */
void rn__qconv2d_run_kernel(const rn_ctx *ctx, const rn_qconv_kernel *kern, const rn_qconv_desc *d,
                            const int8_t *x, const void *packed, const float *m, const int8_t *r,
                            float m_r, int32_t relu, int8_t *y, void *ws);

/* ---- batch norm over `count` = N*H*W rows of `c` channels -------------------- */
/* The forward drivers add res (the block's shortcut, count x c like y) to
 * the normalised values before the ReLU when it is not NULL: a residual
 * block's last batch norm, addition and ReLU in one pass; y may be res.
 * save_ab, when not NULL (2 x c floats), receives the float coefficients
 * of the pass y = x * a + b: a in [0, c), b in [c, 2c). */
void rn__bn_forward_train(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, float momentum, float eps, const float *res, float *y,
                          float *save_mean, float *save_invstd, float *save_ab, int32_t relu);
void rn__bn_forward_eval(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                         const float *gamma, const float *beta, const float *running_mean,
                         const float *running_var, float eps, const float *res, float *y,
                         int32_t relu);
/* Backward of train-mode BN. If relu_y is not NULL the forward was fused with
 * ReLU and relu_y is its output: dy is first masked by relu_y > 0. If relu_y
 * is NULL and mask_ab is not, the forward was fused with ReLU without a
 * residual and mask_ab holds its save_ab: the mask is recomputed from x,
 * x * a + b > 0, which is relu_y > 0 bit for bit without reading relu_y. */
void rn__bn_backward(const rn_ctx *ctx, size_t count, size_t c, const float *x, const float *dy,
                     const float *relu_y, const float *mask_ab, const float *gamma,
                     const float *save_mean, const float *save_invstd, float *dx, float *dgamma,
                     float *dbeta);

/* ---- elementwise ------------------------------------------------------------------ */
void rn__relu_forward(const rn_ctx *ctx, size_t n, const float *x, float *y);
/* dx = (y > 0 ? dy : 0), or with dy2 not NULL (y > 0 ? dy + dy2 : 0): a
 * residual addition's backward and the ReLU before it in one pass. */
void rn__relu_backward(const rn_ctx *ctx, size_t n, const float *y, const float *dy,
                       const float *dy2, float *dx);
/* y = a + b, then ReLU if relu. */
void rn__add_forward(const rn_ctx *ctx, size_t n, const float *a, const float *b, float *y,
                     int32_t relu);

/* ---- pooling ------------------------------------------------------------------------ */
typedef struct rn_pool_desc {
    int32_t n, h, w, c;
    int32_t kh, kw, sh, sw, ph, pw;
    int32_t oh, ow; /* filled by rn__pool_desc_init */
} rn_pool_desc;
int rn__pool_desc_init(rn_pool_desc *d);
void rn__maxpool_forward(const rn_ctx *ctx, const rn_pool_desc *d, const float *x, float *y);
/* dx overwritten; gradient to the first maximum of each window. */
void rn__maxpool_backward(const rn_ctx *ctx, const rn_pool_desc *d, const float *x, const float *dy,
                          float *dx);
void rn__gap_forward(const rn_ctx *ctx, size_t n, size_t hw, size_t c, const float *x, float *y);
void rn__gap_backward(const rn_ctx *ctx, size_t n, size_t hw, size_t c, const float *dy, float *dx);

/* ---- fully connected: y[n x out] = x[n x in] w[out x in]^T + b ------------------ */
size_t rn__linear_workspace(const rn_ctx *ctx, size_t n, size_t in, size_t out);
void rn__linear_forward(const rn_ctx *ctx, size_t n, size_t in, size_t out, const float *x,
                        const float *w, const float *b, float *y, void *ws);
/* dx (if not NULL), dw, db (if not NULL), all overwritten. */
void rn__linear_backward(const rn_ctx *ctx, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *dy, float *dx, float *dw, float *db,
                         void *ws);

/* sums[j] = the sum of column j of m (rows x cols, row-major), in double and
 * in row order: the bias gradient of a fully connected or convolution layer. */
void rn__column_sums(const rn_ctx *ctx, const float *m, size_t rows, size_t cols, float *sums);

/* ---- option-A shortcut: x (n,h,w,c) -> y (n,ceil(h/s),ceil(w/s),oc) ------------- */
void rn__shortcut_a_forward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                            size_t stride, size_t oc, const float *x, float *y);
void rn__shortcut_a_backward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                             size_t stride, size_t oc, const float *dy, float *dx);

/* Synchronised batch norm (data-parallel training): per shard of whole
 * images, the statistics (mean and sum of squared deviations, per channel)
 * and the backward sums (of dy and dy * (x - mean)), each taken like the
 * single-batch drivers'; then the forward apply and the input gradient from
 * the statistics of all shards combined (total_rows rows in all). */
void rn__bn_shard_stats(const rn_ctx *ctx, size_t count, size_t c, const float *x, double *mean,
                        double *m2);
void rn__bn_forward_train_global(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                                 const float *gamma, const float *beta, float *running_mean,
                                 float *running_var, float momentum, float eps, const double *mean,
                                 const double *var, double total_rows, const float *res, float *y,
                                 float *save_mean, float *save_invstd, float *save_ab,
                                 int32_t relu);
void rn__bn_shard_grad_sums(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                            const float *dy, const float *relu_y, const float *mask_ab,
                            const float *save_mean, double *sdy, double *sdyx);
void rn__bn_backward_global(const rn_ctx *ctx, size_t count, size_t c, const float *x,
                            const float *dy, const float *relu_y, const float *mask_ab,
                            const float *gamma, const float *save_mean, const float *save_invstd,
                            const double *sdy, const double *sdyx, double total_rows, float *dx);

/* ---- softmax cross-entropy, mean over n ---------------------------------------------
 * Returns the loss; if dlogits is not NULL writes (softmax - onehot) / n. */
float rn__softmax_xent(const rn_ctx *ctx, size_t n, size_t k, const float *logits,
                       const int32_t *labels, float *dlogits);
/* The sum of the n rows' losses (in row order, in double), the gradient
 * divided by `divisor` (a data-parallel shard: the global batch). */
double rn__softmax_xent_total(const rn_ctx *ctx, size_t n, size_t k, const float *logits,
                              const int32_t *labels, float *dlogits, size_t divisor);

/* ---- the rest of an int8 network (src/ops/qelementwise.c; docs/int8.md) --------
 * Quantization of a float: q = rint(clamp(x * inv_s, -127, 127)), ties to
 * even. Every one is exact integer work or a fixed sequence of float32
 * operations, so results do not depend on the ISA or the thread count. */
/* Float images (n, h, w, c) in NCHW (nchw != 0) or NHWC -> int8 NHWC. */
void rn__quantize_images(const rn_ctx *ctx, const float *x, int32_t nchw, size_t n, size_t h,
                         size_t w, size_t c, float inv_s, int8_t *y);
/* Max pool on int8 (windows never empty: pad < kernel); same scale in and out. */
void rn__qmaxpool_forward(const rn_ctx *ctx, const rn_pool_desc *d, const int8_t *x, int8_t *y);
/* Option A on int8: every stride-th pixel, channels zero-padded to oc
 * (half before, half after, as the float op). */
void rn__qshortcut_a_forward(const rn_ctx *ctx, size_t n, size_t h, size_t w, size_t c,
                             size_t stride, size_t oc, const int8_t *x, int8_t *y);
/* Global average pool to float: y[n][c] = (float)(sum of the hw values) * k,
 * k = s / hw computed by the caller (in double, rounded once). */
void rn__qgap_forward(const rn_ctx *ctx, size_t n, size_t hw, size_t c, const int8_t *x, float k,
                      float *y);
/* y[n][o] = (sum over i in order of x[n][i] * w[o][i]) + b[o], float32, one
 * rounding per operation, i from 0 up: the same bits on every ISA. */
void rn__qlinear_forward(const rn_ctx *ctx, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *b, float *y);
/* round half to even of |f| <= 2^22 (the default rounding mode) */
static inline float rn__rint_small(float f) { return (f + 12582912.0f) - 12582912.0f; }

#endif /* RN_OPS_H */
