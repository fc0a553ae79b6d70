/*
 * Which algorithm runs a convolution: the one place that decides, for a
 * shape, a pass (forward, backward-data, backward-weights), what the caller
 * can hold (weights derived once: inference plans; a training step) and the
 * context (RN_OPT_WINOGRAD). As oneDNN does, the implementations form one
 * ordered list; the first whose shape test passes and that the caller can
 * run is taken (for an inference plan's 3x3 stride-1 forward: F(2x2,3x3),
 * F(4x4,3x3), the panels, direct, as the measured cost table in `limits`
 * ranks them). Every threshold is in `limits` below, each with the
 * measurement behind it (docs/performance.md), and so is the accuracy rule
 * (training forward passes never take Winograd).
 *
 * The drivers (conv2d.c, conv2d-backward-data.c,
 * conv2d-backward-weights.c) ask rn__conv_plain_algo for their own choice
 * among the algorithms that need nothing derived; plans (src/nn/
 * plan-build.c) ask rn__conv_choose, record the answer in the step, log it
 * at RN_LOG_INFO, and run it (src/nn/plan-run.c).
 *
 * No threshold depends on the ISA or the thread count yet: the choice is
 * the same on every ISA for a shape (the thresholds were measured with
 * AVX-512 on Zen 4; the kernels of the other ISAs have the same shapes of
 * work). Within indirect-gemm, a table with the direct 3x3 row kernel runs
 * the 3x3 stride-1 shapes it takes along rows (conv2d-indirect.c), whose
 * sums are ordered differently: the same algorithm, other roundings.
 */
#include "conv2d-common.h"

static const struct conv_limits {
    /* Winograd F(4x4,3x3) in inference plans (weights transformed once):
     * enough 4x4 tiles for the 36 GEMMs to run at speed and channels enough
     * for the transforms to be a small share. Zen 4, 2 threads, against
     * pre-packed weights: batch 1 56x56x64 1.05 -> 0.53 ms, 28x28x128
     * 1.03 -> 0.50 ms; 16 channels 0.71x-1.05x; at 7x7 (4 tiles) it loses. */
    size_t wg_min_tiles;
    int32_t wg_min_channels;
    /* Winograd F(2x2,3x3) in inference plans, ahead of F(4x4,3x3): at
     * least wg2_min_tiles 2x2 blocks and wg2_min_channels channels, where
     * F(4x4,3x3) has fewer than wg_min_tiles blocks or its blocks cover at
     * least wg2_min_cover percent of the pixels F(2x2,3x3)'s do (a side
     * that is not a multiple of 4: 14x14 131%, 10x10 144%; 7x7, 16x16,
     * 28x28: 100%). The cost table behind it (bench/bench_wg_choice.c,
     * 20:29 UTC, Zen 5 AVX-512, shared machine, weights cold, median ms:
     * direct / packed once / F(4x4) / F(2x2); 1 thread unless said):
     *   14x14x256 b1   1.46 / 1.36 / 1.63 / 1.06   2 threads 1.46 / 1.36 / 1.41 / 1.00
     *   14x14x256 b8   14.9 / 14.9 / 9.65 / 8.27   2 threads 9.98 / 9.79 / 6.52 / 5.58
     *   10x10x256 b1   1.04 / 1.01 / 1.31 / 0.71   b8 5.84 / 5.45 / 4.58 / 3.47
     *   14x14x128 b1   0.37 / 0.35 / 0.37 / 0.25   b8 2.70 / 2.64 / 1.86 / 1.65
     *   14x14x64  b1  .094 / .088 / .078 / .058   b8 0.72 / 0.74 / 0.62 / 0.60
     *   16x16x128 b1   0.47 / 0.44 / 0.30 / 0.28   b8 3.52 / 3.51 / 1.92 / 2.06
     *   20x20x256 b1   2.78 / 2.81 / 1.66 / 1.70   b8 21.9 / 21.2 / 10.7 / 11.4
     *   28x28x128 b1   1.31 / 1.35 / 0.75 / 0.76   b8 10.2 / 10.1 / 4.62 / 5.61
     *   56x56x64  b1   1.30 / 1.31 / 0.77 / 0.99   b8 10.2 / 10.2 / 5.46 / 6.38
     *   7x7x512   b1   2.90 / 2.10 / 5.11 / 2.86   b8 13.5 / 12.8 / 12.0 / 11.4
     * (7x7 batch 1 has 16 2x2 blocks: the panels; at batch 8 F(2x2,3x3)
     * gains 5% but its weights take 16 MiB of the budget.) 16 and 32
     * channels (CIFAR widths) stay with F(4x4,3x3) or direct. Error against
     * float64 (tests/test_winograd.c): F(2x2,3x3) is within the direct
     * path's (max error / max |y| 3.6e-7..8.6e-7 at these shapes, direct
     * 1.0e-6..3.0e-6, F(4x4,3x3) 3.3e-6..8.2e-6). */
    size_t wg2_min_tiles;
    int32_t wg2_min_channels;
    size_t wg2_min_cover;
    /* Winograd in training steps (weights transformed on every call, so
     * the weights must be small for the pixels): 16+ channels, at most
     * wg_train_max_pairs weight pairs per tile (ResNet-50's 7x7x512
     * layers: 17.6 -> 19.9 ms, stay direct; 14x14x256 17.2 -> 11.9 ms);
     * backward-weights from 32 channels (16: 2.8 -> 3.6 ms, loses). */
    size_t wg_train_min_tiles;
    int32_t wg_train_min_channels;
    size_t wg_train_max_pairs;
    int32_t wg_wgrad_min_channels;
    /* Inference plans pack the weights once for layers of at most this
     * many output pixels (batch included): 7x7x512 at batch 1 2.12 -> 1.45
     * ms; at 28x28 and 56x56 within 5%. 1x1 layers too (the indirect tiles
     * on the panels instead of a GEMM that packs them on every call). */
    size_t pack_max_pixels;
    /* Derived weights (packed or transformed) per model, shared by its
     * inference plans: the ResNet-50 batch-1 resident-memory bound (weights
     * + 40 MB) less what the arena, the program and the process take. A
     * model packed for inference (packed_budget) holds its packed forms in
     * place of its weights and runs every other layer from them: only its
     * Winograd forms count. A model with plain weights packs the rest per
     * call, into arena buffers that every such layer touches (ResNet-50
     * v1.5: up to its whole 19.3 MiB arena), so its budget is smaller.
     * Peak RSS above the weights, batch 1, folded, `resnet bench`, 21:40
     * UTC (before F(2x2,3x3), one 24 MiB budget: ResNet-50 v1 38.1 MB,
     * packed 26.6; v1.5 37.8, packed 24.2): 22 MiB for both: v1 37.0,
     * packed 36.7; v1.5 45.2, packed 38.5 (it lost its packed layer4.0
     * convolutions to three F(2x2,3x3) forms); 20 MiB: v1.5 41.0, packed
     * 34.3; 16 MiB: v1 30.7, packed 30.8, v1.5 36.9, packed 28.4, ResNet-18
     * 27.8, packed 25.8. So 16 MiB with plain weights, 22 packed (there
     * ResNet-50 v1 holds two F(2x2,3x3) forms, v1.5 three). */
    size_t derived_budget;
    size_t packed_budget;
    /* int8 plans' packed weights (per plan): the budget above before
     * F(2x2,3x3) (an int8 model holds no float weights beside them). */
    size_t int8_budget;
    /* Backward-weights: a 1x1 convolution is one GEMM over the pixels where
     * dW has this many floats per output pixel or more (ResNet-50 batch 16:
     * 14x14x256>1024 14.4 -> 8.8 ms); under wgrad_min_c input channels with
     * a window of wgrad_im2col_min_k columns or more, im2col fills the
     * GEMM's lanes (7x7x3 stem 88.7 -> 64 ms; a 3x3x3 stem's 27 columns are
     * too few: 8 ms by taps, 120 by im2col). The tap-by-tap path takes
     * windows of up to wgrad_max_taps, a dW of at most wgrad_max_floats (4
     * groups of partial sums fit its budget, conv2d-backward-weights.c) and
     * output channels a multiple of wgrad_oc_multiple (every table's MR).
     * Under wgrad_min_c input channels, a window whose rows hold at most
     * wgrad_window_max floats (kw x c) goes by window rows instead: one
     * kernel call per window row, its kw x c floats contiguous in a padded
     * copy of the input row (conv2d-backward-weights.c). */
    size_t wgrad_gemm_ratio;
    int32_t wgrad_min_c;
    size_t wgrad_im2col_min_k;
    size_t wgrad_max_taps;
    size_t wgrad_max_floats;
    int32_t wgrad_oc_multiple;
    size_t wgrad_window_max;
} limits = {
    32,
    32, /* wg_min_tiles, wg_min_channels */
    25,
    64,
    120, /* wg2_min_tiles, wg2_min_channels, wg2_min_cover */
    32,
    16,
    1024,
    32, /* wg_train_min_tiles, _min_channels, _max_pairs, wg_wgrad_min_channels */
    64, /* pack_max_pixels */
    (size_t)16 << 20,
    (size_t)22 << 20, /* derived_budget, packed_budget */
    (size_t)24 << 20, /* int8_budget */
    16,
    8,
    64,
    64, /* wgrad_gemm_ratio, wgrad_min_c, wgrad_im2col_min_k, wgrad_max_taps */
    (size_t)1 << 20,
    16, /* wgrad_max_floats, wgrad_oc_multiple */
    32, /* wgrad_window_max */
};

/* ---- shape tests, one per implementation ------------------------------------------ */

static int wg_infer(const rn_conv_desc *d) {
    return rn__conv_winograd_ok(d) && rn__conv_winograd_tiles(d, 4) >= limits.wg_min_tiles &&
           d->c >= limits.wg_min_channels && d->oc >= limits.wg_min_channels;
}

/* F(2x2,3x3) ahead of F(4x4,3x3) where the 4x4 blocks cover enough more of
 * the map (padding computed and dropped) than the 2x2 ones, or are too few
 * for F(4x4,3x3) */
static int wg2_infer(const rn_conv_desc *d) {
    if (!rn__conv_winograd_ok(d)) return 0;
    const size_t t2 = rn__conv_winograd_tiles(d, 2), t4 = rn__conv_winograd_tiles(d, 4);
    return t2 >= limits.wg2_min_tiles && d->c >= limits.wg2_min_channels &&
           d->oc >= limits.wg2_min_channels &&
           (t4 < limits.wg_min_tiles ||
            rn__sat_mul(t4, 16 * 100) >= rn__sat_mul(t2, 4 * limits.wg2_min_cover));
}

static int wg_train(const rn_conv_desc *d) {
    if (!rn__conv_winograd_backward_data_ok(d)) return 0;
    const size_t tiles = rn__conv_winograd_tiles(d, 4);
    const size_t pairs = (size_t)d->c * (size_t)d->oc;
    return tiles >= limits.wg_train_min_tiles && d->c >= limits.wg_train_min_channels &&
           d->oc >= limits.wg_train_min_channels &&
           pairs <= rn__sat_mul(tiles, limits.wg_train_max_pairs);
}

static int wg_wgrad(const rn_conv_desc *d) {
    return wg_train(d) && d->c >= limits.wg_wgrad_min_channels &&
           d->oc >= limits.wg_wgrad_min_channels;
}

static int packs(const rn_conv_desc *d) {
    return rn__conv_rows(d) <= limits.pack_max_pixels && rn__conv_indirect_ok(d);
}

int rn__conv_wgrad_window(const rn_conv_desc *d) {
    return d->c < limits.wgrad_min_c && d->kw > 1 &&
           (size_t)d->kw * (size_t)d->c <= limits.wgrad_window_max;
}

static int wgrad_by_taps(const rn_conv_desc *d) {
    const size_t dw = (size_t)d->oc * rn__conv_k(d);
    if (rn__conv_is_direct(d) && dw >= limits.wgrad_gemm_ratio * rn__conv_rows(d)) return 0;
    if (d->c < limits.wgrad_min_c && rn__conv_k(d) >= limits.wgrad_im2col_min_k &&
        !rn__conv_wgrad_window(d))
        return 0;
    return d->oc % limits.wgrad_oc_multiple == 0 &&
           (size_t)d->kh * (size_t)d->kw <= limits.wgrad_max_taps && dw <= limits.wgrad_max_floats;
}

static int fwd_indirect(const rn_conv_desc *d) {
    return !rn__conv_is_direct(d) && rn__conv_indirect_ok(d);
}

static int bwd_data_indirect(const rn_conv_desc *d) {
    rn_conv_desc t;
    return rn__conv_backward_data_indirect(d, &t);
}

static int bf16_fwd(const rn_conv_desc *d) { return rn__conv_bf16_ok(d, RN_CONV_PASS_FORWARD); }
static int bf16_bwd_data(const rn_conv_desc *d) {
    return rn__conv_bf16_ok(d, RN_CONV_PASS_BACKWARD_DATA);
}

static int direct(const rn_conv_desc *d) { return rn__conv_is_direct(d); }
static int always(const rn_conv_desc *d) {
    (void)d;
    return 1;
}

/* ---- the ordered list ---------------------------------------------------------------- */

#define FWD (1u << RN_CONV_PASS_FORWARD)
#define BWD_D (1u << RN_CONV_PASS_BACKWARD_DATA)
#define BWD_W (1u << RN_CONV_PASS_BACKWARD_WEIGHTS)

typedef struct conv_impl {
    int32_t algo;
    uint32_t passes;  /* bit per RN_CONV_PASS_* */
    uint32_t needs;   /* RN_CONV_USE_* the caller must offer */
    int32_t winograd; /* runs only while RN_OPT_WINOGRAD is 1 */
    int (*fits)(const rn_conv_desc *d);
} conv_impl;

/* Accuracy rule: no Winograd in the forward pass of a training step. Its
 * outputs set the ReLU gates, and F(4x4,3x3)'s rounding (several times the
 * direct path's) flips gates whose pre-activation lies near zero, moving
 * whole elements of the gradients: up to 2.1e-2 relative L2 where batch
 * norm divides by a small spread (tests/test_grad_accuracy.c: 3 of 5 cases
 * failed on every x86 ISA). The backward passes' errors are smooth: with
 * them as Winograd every gradient stayed within 6x PyTorch float32's own
 * error. So the training entry lists the backward passes only.
 *
 * bf16 (RN_OPT_TRAIN_BF16, training steps only, where the kernel table has
 * the bf16 kernels): the forward passes that the indirect path runs with an
 * even channel count along the sums take bf16 products with fp32 sums; so do
 * such backward-data passes, after Winograd: the per-call F(4x4,3x3) pass
 * costs less than the bf16 one with its conversion of dy (ResNet-20 batch
 * 128, one thread, CPU time per step: fp32 285 ms, bf16 forward only 240,
 * bf16 forward and backward-data 250-312). The backward-weights pass stays
 * fp32. The error is bf16's, 2^-9 per input rounding, which flips ReLU
 * gates: docs/performance.md "bf16 training". */
static const conv_impl impls[] = {
    {RN_CONV_ALGO_BF16, FWD, RN_CONV_USE_TRAIN | RN_CONV_USE_BF16, 0, bf16_fwd},
    {RN_CONV_ALGO_WINOGRAD2, FWD, RN_CONV_USE_DERIVED, 1, wg2_infer},
    {RN_CONV_ALGO_WINOGRAD, FWD, RN_CONV_USE_DERIVED, 1, wg_infer},
    {RN_CONV_ALGO_PACKED, FWD, RN_CONV_USE_DERIVED, 0, packs},
    {RN_CONV_ALGO_WINOGRAD_W, BWD_D, RN_CONV_USE_TRAIN, 1, wg_train},
    {RN_CONV_ALGO_WINOGRAD_W, BWD_W, RN_CONV_USE_TRAIN, 1, wg_wgrad},
    {RN_CONV_ALGO_BF16, BWD_D, RN_CONV_USE_TRAIN | RN_CONV_USE_BF16, 0, bf16_bwd_data},
    {RN_CONV_ALGO_TAPS, BWD_W, 0, 0, wgrad_by_taps},
    {RN_CONV_ALGO_GEMM, FWD | BWD_D | BWD_W, 0, 0, direct},
    {RN_CONV_ALGO_INDIRECT, FWD, 0, 0, fwd_indirect},
    {RN_CONV_ALGO_INDIRECT, BWD_D, 0, 0, bwd_data_indirect},
    {RN_CONV_ALGO_IM2COL, FWD | BWD_D | BWD_W, 0, 0, always},
};

static int32_t pick(const rn_conv_desc *d, int32_t pass, uint32_t use, int winograd) {
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        const conv_impl *m = &impls[i];
        if (!(m->passes & (1u << pass)) || (m->needs & ~use) || (m->winograd && !winograd))
            continue;
        if (m->fits(d)) return m->algo;
    }
    return RN_CONV_ALGO_IM2COL;
}

int32_t rn__conv_plain_algo(const rn_conv_desc *d, int32_t pass) { return pick(d, pass, 0, 0); }

static size_t plain_workspace(const rn_ctx *ctx, const rn_conv_desc *d, int32_t pass) {
    return pass == RN_CONV_PASS_FORWARD         ? rn__conv2d_forward_workspace(ctx, d)
           : pass == RN_CONV_PASS_BACKWARD_DATA ? rn__conv2d_backward_data_workspace(ctx, d)
                                                : rn__conv2d_backward_weights_workspace(ctx, d);
}

static rn_conv_choice choose(const rn_ctx *ctx, const rn_conv_desc *d, int32_t pass, uint32_t use) {
    rn_conv_choice ch;
    ch.workspace = plain_workspace(ctx, d, pass);
    ch.derived_bytes = 0;
    ch.algo = ch.fallback = rn__conv_plain_algo(d, pass);
    if (!use || ch.workspace == SIZE_MAX) return ch;
    const int32_t algo = pick(d, pass, use, ctx->winograd);
    size_t need = 0, bytes = 0;
    switch (algo) {
    case RN_CONV_ALGO_WINOGRAD:
    case RN_CONV_ALGO_WINOGRAD2: {
        const int32_t tile = algo == RN_CONV_ALGO_WINOGRAD ? 4 : 2;
        bytes = rn__conv_winograd_weights_size(d, tile);
        need = rn__conv_winograd_workspace(d, tile);
        break;
    }
    case RN_CONV_ALGO_PACKED:
        bytes = rn__conv_panels_size(d);
        need = rn__conv_panels_workspace(d);
        break;
    case RN_CONV_ALGO_BF16: {
        /* run while RN_OPT_TRAIN_BF16 is 0: what a plan built without it runs */
        need = rn__conv_bf16_workspace(d, pass);
        if (need == SIZE_MAX) return ch;
        ch = choose(ctx, d, pass, use & ~RN_CONV_USE_BF16);
        if (ch.workspace == SIZE_MAX) return ch;
        ch.algo = algo;
        if (need > ch.workspace) ch.workspace = need;
        return ch;
    }
    case RN_CONV_ALGO_WINOGRAD_W:
        need = pass == RN_CONV_PASS_BACKWARD_DATA ? rn__conv_winograd_backward_data_workspace(d)
                                                  : rn__conv_winograd_backward_weights_workspace(d);
        break;
    default: return ch;
    }
    /* derived weights beyond the whole budget, or a workspace that
     * overflows: the plain algorithm */
    if ((algo != RN_CONV_ALGO_WINOGRAD_W && (bytes == 0 || bytes > limits.packed_budget)) ||
        need == SIZE_MAX)
        return ch;
    ch.algo = ch.fallback = algo;
    ch.derived_bytes = bytes;
    /* the workspace covers the plain algorithm too: a Winograd step runs it
     * when RN_OPT_WINOGRAD is 0 at run time */
    if (need > ch.workspace) ch.workspace = need;
    return ch;
}

rn_conv_choice rn__conv_choose(const rn_ctx *ctx, const rn_conv_desc *d, int32_t pass,
                               uint32_t use) {
    if ((use & RN_CONV_USE_TRAIN) && ctx->train_bf16) use |= RN_CONV_USE_BF16;
    return choose(ctx, d, pass, use);
}

size_t rn__conv_derived_budget(int32_t packed) {
    return packed ? limits.packed_budget : limits.derived_budget;
}
size_t rn__qconv_derived_budget(void) { return limits.int8_budget; }

/* int8: the ISA's kernels need the packed weights (blocks of 16 channels,
 * compensated bias); without them, or past the budget, the portable loop
 * reads the OHWI weights in place. */
rn_conv_choice rn__qconv_choose(const rn_ctx *ctx, const rn_qconv_desc *d, uint32_t use) {
    rn_conv_choice ch;
    const size_t bytes = rn__qconv2d_packed_size(d);
    if ((use & RN_CONV_USE_DERIVED) && bytes <= limits.int8_budget) {
        ch.algo = ch.fallback = RN_CONV_ALGO_INT8_PACKED;
        ch.derived_bytes = bytes;
        ch.workspace = rn__qconv2d_workspace(ctx, d, 1);
    } else {
        ch.algo = ch.fallback = RN_CONV_ALGO_INT8_PLAIN;
        ch.derived_bytes = 0;
        ch.workspace = rn__qconv2d_workspace(ctx, d, 0);
    }
    return ch;
}

const char *rn__conv_algo_name(int32_t algo) {
    switch (algo) {
    case RN_CONV_ALGO_GEMM: return "gemm";
    case RN_CONV_ALGO_INDIRECT: return "indirect-gemm";
    case RN_CONV_ALGO_IM2COL: return "im2col-gemm";
    case RN_CONV_ALGO_TAPS: return "taps";
    case RN_CONV_ALGO_PACKED: return "packed-indirect";
    case RN_CONV_ALGO_WINOGRAD: return "winograd-f4x4";
    case RN_CONV_ALGO_WINOGRAD_W: return "winograd-f4x4";
    case RN_CONV_ALGO_WINOGRAD2: return "winograd-f2x2";
    case RN_CONV_ALGO_INT8_PACKED: return "int8-packed";
    case RN_CONV_ALGO_INT8_PLAIN: return "int8-plain";
    case RN_CONV_ALGO_BF16: return "indirect-bf16";
    default: return "?";
    }
}

const char *rn__conv_pass_name(int32_t pass) {
    return pass == RN_CONV_PASS_FORWARD         ? "forward"
           : pass == RN_CONV_PASS_BACKWARD_DATA ? "backward-data"
                                                : "backward-weights";
}
