/*
 * Winograd F(4x4,3x3), F(2x2,3x3) and F(6x6,3x3) convolution
 * (src/ops/conv2d-winograd.c)
 * against a direct convolution computed here in double precision: the
 * forward pass with weights transformed once (all three tiles)
 * or on every call (training, F(4x4,3x3)), the backward-data pass (the transposed convolution) and the
 * backward-weights pass, each against its own double reference, over a
 * sweep of shapes (channels 1..70, with counts that are not a multiple of
 * any SIMD width; images 1..20 pixels a side, with sizes that are not a
 * multiple of the 4-pixel tile; padding 0, 1 and 2; batch 1..3; bias and
 * ReLU epilogues), as one test per ISA (NAME_scalar ... NAME_neon, skipped
 * where this CPU or build lacks the ISA or RN_MAX_ISA caps it), and
 * bit-identical for 1 and 2 threads. The forward's accumulate mode (a
 * residual in y, added after the bias and before the ReLU) against float64
 * and bit for bit against the convolution followed by the add pass's float
 * arithmetic, for every tile. The workspace and the transformed
 * weights are exactly the sizes the driver asked for, each ending at an
 * inaccessible page where mmap exists.
 *
 * Error bound: |y - y_ref| <= 3e-5 * S + 1e-6, where S is the sum over the
 * window of |x| |w| plus |bias| (float rounding grows with the terms, not
 * with a result that may cancel). F(4x4,3x3) rounds in its transforms,
 * whose coefficients reach 8 (output) and 5 (input), so its error is about
 * three times the direct path's (at ResNet shapes, max |error| / max |y|
 * 3.1e-6..4.6e-6 against 0.9e-6..1.8e-6 direct): over this sweep the
 * largest observed |y - y_ref| / S was 5.4e-6 (printed as "max scaled
 * error" when the test runs), so the bound leaves a margin of about 5x
 * while still catching a wrong coefficient (errors of order S). The
 * backward-data pass has the same bound with S summed over the transposed
 * window; the backward-weights pass (sums over every tile of the batch)
 * 1e-5 * S + 1e-6 with S = sum of |x dy| over the pixels a weight sees
 * (largest observed 1.6e-6 of S). F(2x2,3x3) (inference plans only) has
 * its own, tighter bound (WG2_TOL), F(6x6,3x3) (the same sweep, not taken
 * by the chooser) its own, wider one (WG6_TOL). The chooser's picks for
 * ResNet shapes are checked at the end.
 */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"
#include "ops/ops.h"

#include "test_kernels_common.h"

#define WG_TOL 3e-5
/* F(2x2,3x3): coefficients of magnitude 1 and 1/2 only, its rounding about
 * that of the direct path; largest observed |y - y_ref| / S over the sweep
 * 4.6e-7 (scalar, AVX2, AVX-512), so 3e-6 leaves the same margin of about
 * 5x as F(4x4,3x3)'s bound. */
#define WG2_TOL 3e-6
/* F(6x6,3x3) (inference plans' candidate; bench/bench_wg_choice.c): its
 * transforms' coefficients reach 21/4 (input) and 32 (output) and G's are
 * not floats; largest observed |y - y_ref| / S over the sweep 9.1e-6
 * (AVX2, AVX-512; scalar 8.5e-6), so 5e-5 leaves a margin of 5.5x. A
 * wrong coefficient in B^T (17/4 -> 4), A^T (16 -> 15) or G (2/45 ->
 * 2.1/45) failed 6 of the AVX-512 cases each. */
#define WG6_TOL 5e-5
#define WG_ABS 1e-6
#define WG_DW_TOL 1e-5 /* observed 1.6e-6 */

/* Direct 3x3 stride-1 convolution in double: y_ref and the scale S per output. */
static void reference(const rn_conv_desc *d, const float *x, const float *w, const float *bias,
                      int relu, double *ref, double *scale) {
    for (int n = 0; n < d->n; n++)
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++)
                for (int o = 0; o < d->oc; o++) {
                    double s = bias ? bias[o] : 0.0, a = bias ? fabs(bias[o]) : 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy - d->ph + ky, ix = ox - d->pw + kx;
                            if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                            const float *xp = x + (((size_t)n * d->h + iy) * d->w + ix) * d->c;
                            const float *wp = w + (((size_t)o * 3 + ky) * 3 + kx) * d->c;
                            for (int c = 0; c < d->c; c++) {
                                s += (double)xp[c] * wp[c];
                                a += fabs((double)xp[c] * wp[c]);
                            }
                        }
                    size_t i = (((size_t)n * d->oh + oy) * d->ow + ox) * d->oc + o;
                    ref[i] = relu && s < 0 ? 0.0 : s;
                    scale[i] = a;
                }
}

/* Runs Winograd for d on ctx with guarded buffers; returns 0 if memory ran out. */
static int run_winograd(rn_ctx *ctx, const rn_conv_desc *d, int32_t tile, const float *x,
                        const float *w, const float *bias, int relu, float *y) {
    guarded gu, gw;
    size_t ub = rn__conv_winograd_weights_size(d, tile), wb = rn__conv_winograd_workspace(d, tile);
    void *u = guarded_alloc(&gu, ub), *ws = guarded_alloc(&gw, wb);
    if (!u || !ws) {
        guarded_free(&gu);
        guarded_free(&gw);
        return 0;
    }
    rn__conv_winograd_transform_weights(ctx, d, tile, w, u);
    rn__conv_winograd_forward(ctx, d, tile, x, u, bias, relu, 0, y, ws);
    guarded_free(&gu);
    guarded_free(&gw);
    return 1;
}

/* The backward passes in double, from dy: with w, dx_ref (NHWC, the
 * transposed convolution); with x instead, dW_ref (OHWI). S per output: the
 * sum of |terms|. Both walk every (output pixel, output channel, tap, input
 * channel) term dy * w or dy * x of the forward convolution. */
static void reference_backward(const rn_conv_desc *d, const float *dy, const float *w,
                               const float *x, double *ref, double *scale) {
    size_t count = w ? (size_t)d->n * d->h * d->w * d->c : (size_t)d->oc * 9 * d->c;
    for (size_t i = 0; i < count; i++) ref[i] = scale[i] = 0.0;
    for (int n = 0; n < d->n; n++)
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++)
                for (int o = 0; o < d->oc; o++) {
                    double g = dy[(((size_t)n * d->oh + oy) * d->ow + ox) * d->oc + o];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy - d->ph + ky, ix = ox - d->pw + kx;
                            if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                            size_t xi = (((size_t)n * d->h + iy) * d->w + ix) * d->c;
                            size_t wi = (((size_t)o * 3 + ky) * 3 + kx) * d->c;
                            /* dx[xi + c] += g w[wi + c], or dW[wi + c] += g x[xi + c] */
                            const float *src = w ? w + wi : x + xi;
                            double *acc = ref + (w ? xi : wi), *sc = scale + (w ? xi : wi);
                            for (int c = 0; c < d->c; c++) {
                                acc[c] += g * src[c];
                                sc[c] += fabs(g * src[c]);
                            }
                        }
                }
}

/* The entry points under test. */
#define WG_FORWARD 0       /* weights transformed once, then the forward */
#define WG_FORWARD_W 1     /* training: transformed on every call */
#define WG_BACKWARD_DATA 2 /* training: dx from dy */
#define WG_FORWARD2 3      /* F(2x2,3x3), weights transformed once (inference plans) */
#define WG_FORWARD6 4      /* F(6x6,3x3), weights transformed once */

/* Runs one entry point with guarded buffers; returns 0 if memory ran out. */
static int run_mode(rn_ctx *ctx, int mode, const rn_conv_desc *d, const float *in, const float *w,
                    const float *bias, int relu, float *out) {
    if (mode == WG_FORWARD || mode == WG_FORWARD2 || mode == WG_FORWARD6)
        return run_winograd(ctx, d,
                            mode == WG_FORWARD    ? 4
                            : mode == WG_FORWARD2 ? 2
                                                  : 6,
                            in, w, bias, relu, out);
    guarded gw;
    size_t wb = mode == WG_FORWARD_W ? rn__conv_winograd_forward_w_workspace(d)
                                     : rn__conv_winograd_backward_data_workspace(d);
    void *ws = guarded_alloc(&gw, wb);
    if (!ws) return 0;
    if (mode == WG_FORWARD_W)
        rn__conv_winograd_forward_w(ctx, d, in, w, bias, relu, out, ws);
    else
        rn__conv_winograd_backward_data(ctx, d, in, w, out, ws);
    guarded_free(&gw);
    return 1;
}

static double max_scaled_error = 0.0, max_scaled_error2 = 0.0, max_scaled_error6 = 0.0;

/* Whether some got[i] lies outside |got - ref| <= tol * scale + WG_ABS (the
 * first such index in *first); raises *max_seen to the largest
 * |got - ref| / scale where scale is not tiny. */
static int outside_bound(const float *got, const double *ref, const double *scale, size_t n,
                         double tol, double *max_seen, size_t *first) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - ref[i]);
        double rel = err / (scale[i] > 1e-30 ? scale[i] : 1e-30);
        if (scale[i] > 1e-3 && rel > *max_seen) *max_seen = rel;
        if (!(err <= tol * scale[i] + WG_ABS) && !bad) {
            bad = 1;
            *first = i;
        }
    }
    return bad;
}

/* Checks one shape and entry point under isa with 1 and 2 threads. */
static void check_mode(int32_t isa, int mode, int n, int h, int w, int c, int oc, int pad,
                       int with_bias, int relu) {
    rn_conv_desc d;
    memset(&d, 0, sizeof d);
    d.n = n, d.h = h, d.w = w, d.c = c, d.oc = oc, d.kh = d.kw = 3, d.sh = d.sw = 1;
    d.ph = d.pw = pad;
    if (!rn__conv_desc_init(&d)) return;
    CHECK(rn__conv_winograd_ok(&d));
    if (mode == WG_BACKWARD_DATA) {
        CHECK(rn__conv_winograd_backward_data_ok(&d));
        with_bias = relu = 0;
    }
    /* x: the pass's input (dy for backward-data), y: its output */
    size_t xn = (size_t)n * h * w * c, wn = (size_t)oc * 9 * c;
    size_t yn = (size_t)n * d.oh * d.ow * oc;
    if (mode == WG_BACKWARD_DATA) {
        size_t t = xn;
        xn = yn, yn = t;
    }
    float *x = malloc(xn * sizeof *x), *wt = malloc(wn * sizeof *wt), *b = malloc(oc * sizeof *b);
    float *y1 = malloc(yn * sizeof *y1), *y2 = malloc(yn * sizeof *y2);
    double *ref = malloc(yn * sizeof *ref), *scale = malloc(yn * sizeof *scale);
    CHECK(x && wt && b && y1 && y2 && ref && scale);
    if (!(x && wt && b && y1 && y2 && ref && scale)) goto done;
    rn_test_fill_uniform(x, xn, -1.0, 1.0);
    rn_test_fill_uniform(wt, wn, -0.5, 0.5);
    rn_test_fill_uniform(b, (size_t)oc, -0.5, 0.5);
    const float *bias = with_bias ? b : NULL;
    if (mode == WG_BACKWARD_DATA)
        reference_backward(&d, x, wt, NULL, ref, scale);
    else
        reference(&d, x, wt, bias, relu, ref, scale);
    rn_ctx *c1 = ctx_for(isa, 1), *c2 = ctx_for(isa, 2);
    CHECK(c1 && c2);
    if (c1 && c2) {
        CHECK(run_mode(c1, mode, &d, x, wt, bias, relu, y1));
        CHECK(run_mode(c2, mode, &d, x, wt, bias, relu, y2));
        CHECK(memcmp(y1, y2, yn * sizeof *y1) == 0);
        size_t first = 0;
        const int f2 = mode == WG_FORWARD2, f6 = mode == WG_FORWARD6;
        if (outside_bound(y1, ref, scale, yn,
                          f2   ? WG2_TOL
                          : f6 ? WG6_TOL
                               : WG_TOL,
                          f2   ? &max_scaled_error2
                          : f6 ? &max_scaled_error6
                               : &max_scaled_error,
                          &first)) {
            fprintf(stderr,
                    "  %s mode %d n%d %dx%d c%d>%d pad%d: y[%zu] = %.9g, reference %.9g "
                    "(scale %.3g)\n",
                    rn_isa_name(isa), mode, n, h, w, c, oc, pad, first, y1[first], ref[first],
                    scale[first]);
            CHECK(0);
        }
    }
    rn_ctx_destroy(c1);
    rn_ctx_destroy(c2);
done:
    free(x), free(wt), free(b), free(y1), free(y2), free(ref), free(scale);
}

/* The forward with the weights transformed once: every tile. */
static void check_shape(int32_t isa, int n, int h, int w, int c, int oc, int pad, int with_bias,
                        int relu) {
    check_mode(isa, WG_FORWARD, n, h, w, c, oc, pad, with_bias, relu);
    check_mode(isa, WG_FORWARD2, n, h, w, c, oc, pad, with_bias, relu);
    check_mode(isa, WG_FORWARD6, n, h, w, c, oc, pad, with_bias, relu);
}

static void test_winograd_matches_direct_convolution_over_a_shape_sweep(int32_t isa) {
    if (!table_or_skip(isa)) return;
    max_scaled_error = max_scaled_error2 = max_scaled_error6 = 0.0;
    static const int chans[] = {1, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 47, 64, 70};
    static const int sides[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 16, 20};
    const int nc = (int)(sizeof chans / sizeof chans[0]),
              ns = (int)(sizeof sides / sizeof sides[0]);
    /* every channel count as input and as output, every side, batches 1..3,
     * paired off so that the sweep stays a few seconds */
    for (int i = 0; i < nc * 3; i++) {
        int c = chans[i % nc], oc = chans[(i * 5 + 3) % nc];
        int h = sides[i % ns], w = sides[(i * 7 + 2) % ns];
        int n = 1 + i % 3;
        check_shape(isa, n, h, w, c, oc, 1, i % 2, i % 4 < 2);
    }
    printf("  max scaled error |y - y_ref| / sum|x w|: F(4x4,3x3) %.3g, F(2x2,3x3) %.3g, "
           "F(6x6,3x3) %.3g\n",
           max_scaled_error, max_scaled_error2, max_scaled_error6);
}
RN_PER_ISA(test_winograd_matches_direct_convolution_over_a_shape_sweep)

static void test_winograd_handles_padding_zero_and_two(int32_t isa) {
    if (!table_or_skip(isa)) return;
    check_shape(isa, 1, 9, 10, 7, 12, 0, 1, 1);
    check_shape(isa, 2, 6, 6, 16, 16, 0, 0, 0);
    check_shape(isa, 1, 5, 8, 33, 20, 2, 1, 0);
    check_shape(isa, 1, 3, 3, 4, 4, 2, 1, 1);
}
RN_PER_ISA(test_winograd_handles_padding_zero_and_two)

static void test_winograd_matches_direct_convolution_at_resnet_widths(int32_t isa) {
    if (!table_or_skip(isa)) return;
    /* 64 and 128 channels as in ResNet layer1 / layer2, on small maps */
    check_shape(isa, 1, 14, 14, 64, 64, 1, 1, 1);
    check_shape(isa, 1, 7, 9, 128, 128, 1, 1, 0);
    check_shape(isa, 2, 8, 8, 32, 96, 1, 0, 1);
}
RN_PER_ISA(test_winograd_matches_direct_convolution_at_resnet_widths)

static void test_winograd_runs_tiles_in_chunks_with_a_partial_last_one(int32_t isa) {
    if (!table_or_skip(isa)) return;
    /* 400 tiles of 48 channels: chunks of 288 tiles (4 MB of V and M) */
    check_shape(isa, 1, 80, 80, 48, 48, 1, 1, 0);
    check_mode(isa, WG_BACKWARD_DATA, 1, 80, 80, 48, 48, 1, 0, 0);
}
RN_PER_ISA(test_winograd_runs_tiles_in_chunks_with_a_partial_last_one)

static void test_winograd_pipelines_layers_with_many_tiles(int32_t isa) {
    if (!table_or_skip(isa)) return;
    /* 529 tiles: the per-slot schedule (8 slots of 64-tile chunks), the
     * last chunk partial */
    check_shape(isa, 1, 90, 90, 13, 16, 1, 1, 1);
    check_mode(isa, WG_FORWARD_W, 1, 90, 90, 13, 16, 1, 0, 0);
    check_mode(isa, WG_BACKWARD_DATA, 1, 90, 90, 13, 16, 1, 0, 0);
    /* 48 channels in, 40 out: wider layers take the pipeline too */
    check_shape(isa, 1, 90, 90, 48, 40, 1, 1, 0);
    check_mode(isa, WG_BACKWARD_DATA, 1, 90, 90, 48, 40, 1, 0, 0);
}
RN_PER_ISA(test_winograd_pipelines_layers_with_many_tiles)

static void test_winograd_f6x6_runs_its_own_chunks_and_pipeline(int32_t isa) {
    if (!table_or_skip(isa)) return;
    /* 529 8x8 tiles of 13 -> 16 channels: the pipeline (42-tile chunks, the
     * last partial) */
    check_mode(isa, WG_FORWARD6, 1, 138, 138, 13, 16, 1, 1, 1);
    /* 289 tiles of 70 channels (U too large for the pipeline): chunks of
     * 192 and 97 tiles, a point stride padded off a multiple of 1 KB */
    check_mode(isa, WG_FORWARD6, 1, 100, 100, 70, 70, 1, 1, 0);
}
RN_PER_ISA(test_winograd_f6x6_runs_its_own_chunks_and_pipeline)

/* The accumulate mode (a residual fused into the convolution, as folded
 * inference plans run a basic block's last convolution): y holds r on entry
 * and gets relu((conv + bias) + r). Against float64 (the scale S grows by
 * |r|), and bit for bit against the unfused form: the convolution without
 * ReLU, then the separate add pass's float arithmetic (rn__add_forward:
 * v = a + b, v < 0 ? 0 : v), which the fused plans must reproduce. */
static void check_accumulate(int32_t isa, int32_t tile, int n, int h, int w, int c, int oc,
                             int with_bias, int relu) {
    rn_conv_desc d;
    memset(&d, 0, sizeof d);
    d.n = n, d.h = h, d.w = w, d.c = c, d.oc = oc, d.kh = d.kw = 3, d.sh = d.sw = 1;
    d.ph = d.pw = 1;
    if (!rn__conv_desc_init(&d)) return;
    size_t xn = (size_t)n * h * w * c, wn = (size_t)oc * 9 * c;
    size_t yn = (size_t)n * d.oh * d.ow * oc;
    size_t ub = rn__conv_winograd_weights_size(&d, tile),
           wb = rn__conv_winograd_workspace(&d, tile);
    float *x = malloc(xn * sizeof *x), *wt = malloc(wn * sizeof *wt), *b = malloc(oc * sizeof *b);
    float *r = malloc(yn * sizeof *r), *y1 = malloc(yn * sizeof *y1);
    float *y2 = malloc(yn * sizeof *y2), *sep = malloc(yn * sizeof *sep);
    double *ref = malloc(yn * sizeof *ref), *scale = malloc(yn * sizeof *scale);
    guarded gu, gw;
    void *u = guarded_alloc(&gu, ub), *ws = guarded_alloc(&gw, wb);
    rn_ctx *c1 = ctx_for(isa, 1), *c2 = ctx_for(isa, 2);
    CHECK(x && wt && b && r && y1 && y2 && sep && ref && scale && u && ws && c1 && c2);
    if (!(x && wt && b && r && y1 && y2 && sep && ref && scale && u && ws && c1 && c2)) goto done;
    rn_test_fill_uniform(x, xn, -1.0, 1.0);
    rn_test_fill_uniform(wt, wn, -0.5, 0.5);
    rn_test_fill_uniform(b, (size_t)oc, -0.5, 0.5);
    rn_test_fill_uniform(r, yn, -2.0, 2.0);
    const float *bias = with_bias ? b : NULL;
    reference(&d, x, wt, bias, 0, ref, scale);
    for (size_t i = 0; i < yn; i++) {
        ref[i] += r[i];
        if (relu && ref[i] < 0) ref[i] = 0.0;
        scale[i] += fabs((double)r[i]);
    }
    rn__conv_winograd_transform_weights(c1, &d, tile, wt, u);
    /* unfused: the convolution alone, then the add pass's arithmetic */
    rn__conv_winograd_forward(c1, &d, tile, x, u, bias, 0, 0, sep, ws);
    for (size_t i = 0; i < yn; i++) {
        const float v = sep[i] + r[i];
        sep[i] = relu && v < 0.0f ? 0.0f : v;
    }
    memcpy(y1, r, yn * sizeof *r);
    memcpy(y2, r, yn * sizeof *r);
    rn__conv_winograd_forward(c1, &d, tile, x, u, bias, relu, 1, y1, ws);
    rn__conv_winograd_forward(c2, &d, tile, x, u, bias, relu, 1, y2, ws);
    CHECK(memcmp(y1, sep, yn * sizeof *y1) == 0);
    CHECK(memcmp(y1, y2, yn * sizeof *y1) == 0);
    size_t first = 0;
    double seen = 0.0;
    const double tol = tile == 2 ? WG2_TOL : tile == 6 ? WG6_TOL : WG_TOL;
    if (outside_bound(y1, ref, scale, yn, tol, &seen, &first)) {
        fprintf(stderr, "  %s F(%d) accumulate n%d %dx%d c%d>%d: y[%zu] = %.9g, reference %.9g\n",
                rn_isa_name(isa), (int)tile, n, h, w, c, oc, first, y1[first], ref[first]);
        CHECK(0);
    }
    if (relu)
        for (size_t i = 0; i < yn; i++) CHECK(y1[i] >= 0.0f);
done:
    rn_ctx_destroy(c1);
    rn_ctx_destroy(c2);
    guarded_free(&gu);
    guarded_free(&gw);
    free(x), free(wt), free(b), free(r), free(y1), free(y2), free(sep), free(ref), free(scale);
}

static void test_winograd_output_accumulates_a_residual_before_the_relu(int32_t isa) {
    if (!table_or_skip(isa)) return;
    static const int32_t tiles[] = {4, 2, 6};
    for (int t = 0; t < 3; t++) {
        /* sides not a multiple of the block (pixels dropped to junk), a
         * channel count with a partial 16-channel step, both epilogues */
        check_accumulate(isa, tiles[t], 2, 7, 9, 17, 21, 1, 1);
        check_accumulate(isa, tiles[t], 1, 8, 8, 32, 48, 1, 0);
        check_accumulate(isa, tiles[t], 1, 5, 11, 16, 5, 0, 1);
        check_accumulate(isa, tiles[t], 1, 6, 6, 3, 33, 0, 0);
        check_accumulate(isa, tiles[t], 1, 14, 14, 64, 64, 1, 1);
    }
}
RN_PER_ISA(test_winograd_output_accumulates_a_residual_before_the_relu)

static void test_winograd_training_forward_transforms_weights_per_call(int32_t isa) {
    if (!table_or_skip(isa)) return;
    check_mode(isa, WG_FORWARD_W, 2, 9, 10, 7, 12, 1, 1, 1);
    check_mode(isa, WG_FORWARD_W, 1, 14, 14, 64, 64, 1, 0, 0);
    check_mode(isa, WG_FORWARD_W, 3, 20, 17, 17, 33, 1, 0, 1);
}
RN_PER_ISA(test_winograd_training_forward_transforms_weights_per_call)

static void test_winograd_backward_data_matches_transposed_reference(int32_t isa) {
    if (!table_or_skip(isa)) return;
    /* padding 0, 1 and 2 (transposed padding 2, 1, 0), channel counts in
     * and out that differ and are not SIMD multiples, both schedules */
    static const int shapes[][6] = {
        /* n, h, w, c, oc, pad */
        {1, 9, 10, 7, 12, 1}, {2, 6, 6, 16, 16, 0},   {1, 5, 8, 33, 20, 2},
        {1, 3, 3, 4, 4, 2},   {3, 11, 7, 1, 5, 1},    {1, 14, 14, 64, 64, 1},
        {2, 8, 8, 32, 96, 1}, {5, 32, 32, 16, 16, 1}, {3, 20, 17, 17, 33, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_mode(isa, WG_BACKWARD_DATA, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3],
                   shapes[i][4], shapes[i][5], 0, 0);
    /* padding 3 has no Winograd transposed form */
    rn_conv_desc d;
    memset(&d, 0, sizeof d);
    d.n = 1, d.h = 8, d.w = 8, d.c = 4, d.oc = 4, d.kh = d.kw = 3, d.sh = d.sw = 1;
    d.ph = d.pw = 3;
    CHECK(rn__conv_desc_init(&d));
    CHECK(!rn__conv_winograd_backward_data_ok(&d));
    rn_ctx *ctx = NULL;
    CHECK(rn_ctx_create(&ctx) == RN_OK);
    if (ctx)
        CHECK(rn__conv_choose(ctx, &d, RN_CONV_PASS_BACKWARD_DATA, RN_CONV_USE_TRAIN).algo !=
              RN_CONV_ALGO_WINOGRAD_W);
    rn_ctx_destroy(ctx);
}
RN_PER_ISA(test_winograd_backward_data_matches_transposed_reference)

static double max_scaled_error_dw = 0.0;

/* The backward-weights pass for one shape under isa with 1 and 2 threads. */
static void check_backward_weights(int32_t isa, int n, int h, int w, int c, int oc, int pad) {
    rn_conv_desc d;
    memset(&d, 0, sizeof d);
    d.n = n, d.h = h, d.w = w, d.c = c, d.oc = oc, d.kh = d.kw = 3, d.sh = d.sw = 1;
    d.ph = d.pw = pad;
    if (!rn__conv_desc_init(&d)) return;
    size_t xn = (size_t)n * h * w * c, yn = (size_t)n * d.oh * d.ow * oc, wn = (size_t)oc * 9 * c;
    float *x = malloc(xn * sizeof *x), *dy = malloc(yn * sizeof *dy);
    float *dw1 = malloc(wn * sizeof *dw1), *dw2 = malloc(wn * sizeof *dw2);
    double *ref = malloc(wn * sizeof *ref), *scale = malloc(wn * sizeof *scale);
    CHECK(x && dy && dw1 && dw2 && ref && scale);
    if (!(x && dy && dw1 && dw2 && ref && scale)) goto done;
    rn_test_fill_uniform(x, xn, -1.0, 1.0);
    rn_test_fill_uniform(dy, yn, -1.0, 1.0);
    reference_backward(&d, dy, NULL, x, ref, scale);
    rn_ctx *c1 = ctx_for(isa, 1), *c2 = ctx_for(isa, 2);
    CHECK(c1 && c2);
    guarded gw;
    void *ws = guarded_alloc(&gw, rn__conv_winograd_backward_weights_workspace(&d));
    CHECK(ws != NULL);
    if (c1 && c2 && ws) {
        rn__conv_winograd_backward_weights(c1, &d, x, dy, dw1, ws);
        rn__conv_winograd_backward_weights(c2, &d, x, dy, dw2, ws);
        CHECK(memcmp(dw1, dw2, wn * sizeof *dw1) == 0);
        size_t first = 0;
        if (outside_bound(dw1, ref, scale, wn, WG_DW_TOL, &max_scaled_error_dw, &first)) {
            fprintf(stderr,
                    "  %s backward-weights n%d %dx%d c%d>%d pad%d: dw[%zu] = %.9g, "
                    "reference %.9g (scale %.3g)\n",
                    rn_isa_name(isa), n, h, w, c, oc, pad, first, dw1[first], ref[first],
                    scale[first]);
            CHECK(0);
        }
    }
    guarded_free(&gw);
    rn_ctx_destroy(c1);
    rn_ctx_destroy(c2);
done:
    free(x), free(dy), free(dw1), free(dw2), free(ref), free(scale);
}

static void test_winograd_backward_weights_matches_reference(int32_t isa) {
    if (!table_or_skip(isa)) return;
    max_scaled_error_dw = 0.0;
    static const int shapes[][6] = {
        /* n, h, w, c, oc, pad: odd channel counts (narrow and wide
         * microkernels, masked tails), clipped edge tiles, padding 0..2,
         * several chunks of tiles (80x80x48) */
        {1, 9, 10, 7, 12, 1},   {2, 6, 6, 16, 16, 0},   {1, 5, 8, 33, 20, 2},
        {3, 11, 7, 1, 5, 1},    {1, 14, 14, 64, 64, 1}, {2, 8, 8, 32, 96, 1},
        {5, 32, 32, 16, 16, 1}, {1, 80, 80, 48, 48, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_backward_weights(isa, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3],
                               shapes[i][4], shapes[i][5]);
    printf("  backward-weights max scaled error |dw - dw_ref| / sum|x dy|: %.3g\n",
           max_scaled_error_dw);
}
RN_PER_ISA(test_winograd_backward_weights_matches_reference)

static void test_winograd_layout_and_sizes_depend_on_shape_only(int32_t isa) {
    if (!table_or_skip(isa)) return;
    /* the transformed weights of one context serve another ISA and thread count */
    rn_conv_desc d;
    memset(&d, 0, sizeof d);
    d.n = 1, d.h = 10, d.w = 11, d.c = 20, d.oc = 40, d.kh = d.kw = 3, d.sh = d.sw = 1;
    d.ph = d.pw = 1;
    CHECK(rn__conv_desc_init(&d));
    size_t xn = 10 * 11 * 20, wn = 40 * 9 * 20, yn = 10 * 11 * 40;
    float *x = malloc(xn * 4), *w = malloc(wn * 4), *y1 = malloc(yn * 4), *y2 = malloc(yn * 4);
    /* the largest of the tiles' sizes: F(6x6,3x3)'s */
    void *u = malloc(rn__conv_winograd_weights_size(&d, 6));
    void *ws = malloc(rn__conv_winograd_workspace(&d, 6));
    CHECK(rn__conv_winograd_weights_size(&d, 2) <= rn__conv_winograd_weights_size(&d, 4));
    CHECK(rn__conv_winograd_weights_size(&d, 4) <= rn__conv_winograd_weights_size(&d, 6));
    CHECK(rn__conv_winograd_workspace(&d, 2) <= rn__conv_winograd_workspace(&d, 6));
    CHECK(rn__conv_winograd_workspace(&d, 4) <= rn__conv_winograd_workspace(&d, 6));
    CHECK(x && w && y1 && y2 && u && ws);
    if (x && w && y1 && y2 && u && ws) {
        rn_test_fill_uniform(x, xn, -1, 1);
        rn_test_fill_uniform(w, wn, -1, 1);
        rn_ctx *a = ctx_for(RN_ISA_SCALAR, 1), *b = ctx_for(isa, 2);
        CHECK(a && b);
        for (int32_t tile = 6; a && b && tile >= 2; tile -= 2) {
            rn__conv_winograd_transform_weights(a, &d, tile, w, u);
            rn__conv_winograd_forward(b, &d, tile, x, u, NULL, 0, 0, y1, ws);
            rn__conv_winograd_transform_weights(b, &d, tile, w, u);
            rn__conv_winograd_forward(b, &d, tile, x, u, NULL, 0, 0, y2, ws);
            CHECK(memcmp(y1, y2, yn * 4) == 0);
        }
        rn_ctx_destroy(a);
        rn_ctx_destroy(b);
    }
    free(x), free(w), free(y1), free(y2), free(u), free(ws);
}
RN_PER_ISA(test_winograd_layout_and_sizes_depend_on_shape_only)

static void test_winograd_applies_to_3x3_stride_1_only(void) {
    rn_conv_desc d;
    memset(&d, 0, sizeof d);
    d.n = 1, d.h = 8, d.w = 8, d.c = 4, d.oc = 4, d.kh = d.kw = 3, d.sh = d.sw = 1;
    CHECK(rn__conv_winograd_ok(&d));
    d.sh = 2;
    CHECK(!rn__conv_winograd_ok(&d));
    d.sh = 1, d.kw = 1;
    CHECK(!rn__conv_winograd_ok(&d));
}

/* The chooser's Winograd tiles for inference plans (src/ops/conv2d-algo.c):
 * F(2x2,3x3) on the wide layers of maps whose side is not a multiple of 4
 * (ResNet's 14x14 layers, batch 1 and 8), F(4x4,3x3) on the large maps, none
 * at 7x7 batch 1 (the panels), none in a training step's forward, none with
 * RN_OPT_WINOGRAD 0; and the names the plans log. */
static int32_t choice(rn_ctx *ctx, int n, int side, int c, uint32_t use) {
    rn_conv_desc d;
    memset(&d, 0, sizeof d);
    d.n = n, d.h = d.w = side, d.c = d.oc = c, d.kh = d.kw = 3, d.sh = d.sw = 1, d.ph = d.pw = 1;
    CHECK(rn__conv_desc_init(&d));
    return rn__conv_choose(ctx, &d, RN_CONV_PASS_FORWARD, use).algo;
}

static void test_winograd_tiles_chosen_per_shape(void) {
    rn_ctx *ctx = NULL;
    CHECK(rn_ctx_create(&ctx) == RN_OK);
    if (!ctx) return;
    const uint32_t inf = RN_CONV_USE_DERIVED;
    CHECK(choice(ctx, 1, 14, 256, inf) == RN_CONV_ALGO_WINOGRAD2);
    CHECK(choice(ctx, 8, 14, 256, inf) == RN_CONV_ALGO_WINOGRAD2);
    CHECK(choice(ctx, 1, 56, 64, inf) == RN_CONV_ALGO_WINOGRAD);
    CHECK(choice(ctx, 1, 28, 128, inf) == RN_CONV_ALGO_WINOGRAD);
    CHECK(choice(ctx, 8, 28, 128, inf) == RN_CONV_ALGO_WINOGRAD);
    CHECK(choice(ctx, 1, 7, 512, inf) == RN_CONV_ALGO_PACKED);
    CHECK(choice(ctx, 1, 14, 32, inf) != RN_CONV_ALGO_WINOGRAD2); /* too narrow */
    CHECK(choice(ctx, 1, 14, 256, RN_CONV_USE_TRAIN) != RN_CONV_ALGO_WINOGRAD2);
    CHECK(choice(ctx, 1, 14, 256, 0) != RN_CONV_ALGO_WINOGRAD2);
    CHECK(strcmp(rn__conv_algo_name(RN_CONV_ALGO_WINOGRAD2), "winograd-f2x2") == 0);
    CHECK(strcmp(rn__conv_algo_name(RN_CONV_ALGO_WINOGRAD), "winograd-f4x4") == 0);
    CHECK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, 0) == RN_OK);
    CHECK(choice(ctx, 1, 14, 256, inf) != RN_CONV_ALGO_WINOGRAD2);
    CHECK(choice(ctx, 1, 56, 64, inf) != RN_CONV_ALGO_WINOGRAD);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    RN_ISA_CASES("winograd_matches_direct_convolution_over_a_shape_sweep",
                 test_winograd_matches_direct_convolution_over_a_shape_sweep),
    RN_ISA_CASES("winograd_handles_padding_zero_and_two",
                 test_winograd_handles_padding_zero_and_two),
    RN_ISA_CASES("winograd_matches_direct_convolution_at_resnet_widths",
                 test_winograd_matches_direct_convolution_at_resnet_widths),
    RN_ISA_CASES("winograd_runs_tiles_in_chunks_with_a_partial_last_one",
                 test_winograd_runs_tiles_in_chunks_with_a_partial_last_one),
    RN_ISA_CASES("winograd_pipelines_layers_with_many_tiles",
                 test_winograd_pipelines_layers_with_many_tiles),
    RN_ISA_CASES("winograd_f6x6_runs_its_own_chunks_and_pipeline",
                 test_winograd_f6x6_runs_its_own_chunks_and_pipeline),
    RN_ISA_CASES("winograd_output_accumulates_a_residual_before_the_relu",
                 test_winograd_output_accumulates_a_residual_before_the_relu),
    RN_ISA_CASES("winograd_training_forward_transforms_weights_per_call",
                 test_winograd_training_forward_transforms_weights_per_call),
    RN_ISA_CASES("winograd_backward_data_matches_transposed_reference",
                 test_winograd_backward_data_matches_transposed_reference),
    RN_ISA_CASES("winograd_backward_weights_matches_reference",
                 test_winograd_backward_weights_matches_reference),
    RN_ISA_CASES("winograd_layout_and_sizes_depend_on_shape_only",
                 test_winograd_layout_and_sizes_depend_on_shape_only),
    {"winograd_applies_to_3x3_stride_1_only", test_winograd_applies_to_3x3_stride_1_only},
    {"winograd_tiles_chosen_per_shape", test_winograd_tiles_chosen_per_shape},
};
RN_TEST_MAIN(cases)
