/*
 * Layers against naive references written here: a direct (non-im2col)
 * double-precision convolution and its two backward passes over awkward
 * shapes; max pool, option-A shortcut and the fused-ReLU epilogues against
 * their definitions; and thread-count determinism: results with
 * RN_OPT_NUM_THREADS 1 and 2 must be bit-identical.
 *
 * Tolerance of a float result against the double reference: 5e-5 times the
 * sum of the absolute values of the terms summed (float rounding grows with
 * that sum, not with the result, which may cancel), plus 1e-6.
 */
#include "harness.h"
#include "ops/ops.h"
#include "resnet.h"

typedef struct conv_shape {
    int n, h, w, c, oc, kh, kw, sh, sw, ph, pw;
} conv_shape;

static rn_tensor *make(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c, double lo,
                       double hi) {
    rn_tensor *t = NULL;
    if (rn_tensor_create(ctx, n, h, w, c, &t) != RN_OK) return NULL;
    rn_test_fill_uniform(rn_tensor_data(t), (size_t)rn_tensor_numel(t), lo, hi);
    return t;
}

static int out_size(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

/* Direct convolution in double: y, dx, dw, db and, beside each, the sum of
 * |terms| that bounds its rounding error. */
typedef struct conv_ref {
    double *y, *ya, *dx, *dxa, *dw, *dwa, *db, *dba;
} conv_ref;

static void naive_conv(const conv_shape *s, const float *x, const float *w, const float *b,
                       const float *dy, conv_ref *r) {
    int oh = out_size(s->h, s->kh, s->sh, s->ph), ow = out_size(s->w, s->kw, s->sw, s->pw);
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int o = 0; o < s->oc; o++) {
                    size_t yi = (((size_t)n * oh + oy) * ow + ox) * s->oc + o;
                    double acc = b[o], abs_acc = fabs(b[o]);
                    double g = dy[yi];
                    r->db[o] += g, r->dba[o] += fabs(g);
                    for (int ky = 0; ky < s->kh; ky++)
                        for (int kx = 0; kx < s->kw; kx++) {
                            int iy = oy * s->sh - s->ph + ky, ix = ox * s->sw - s->pw + kx;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                            for (int c = 0; c < s->c; c++) {
                                size_t xi = (((size_t)n * s->h + iy) * s->w + ix) * s->c + c;
                                size_t wi = (((size_t)o * s->kh + ky) * s->kw + kx) * s->c + c;
                                double p = (double)x[xi] * w[wi];
                                acc += p, abs_acc += fabs(p);
                                r->dx[xi] += g * w[wi], r->dxa[xi] += fabs(g * w[wi]);
                                r->dw[wi] += g * x[xi], r->dwa[wi] += fabs(g * x[xi]);
                            }
                        }
                    r->y[yi] = acc, r->ya[yi] = abs_acc;
                }
}

static int close_all(const char *what, const conv_shape *s, const float *got, const double *ref,
                     const double *abs_sum, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double tol = 5e-5 * abs_sum[i] + 1e-6;
        if (!(fabs((double)got[i] - ref[i]) <= tol)) {
            fprintf(stderr,
                    "  %s of conv n%d h%d w%d c%d oc%d k%dx%d s%d,%d p%d,%d: [%zu] = %.9g, "
                    "reference %.9g, tol %.3g\n",
                    what, s->n, s->h, s->w, s->c, s->oc, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw,
                    i, (double)got[i], ref[i], tol);
            rn_test_failed_checks++;
            return 0;
        }
    }
    return 1;
}

static void conv_against_naive(const conv_shape *s) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    int oh = out_size(s->h, s->kh, s->sh, s->ph), ow = out_size(s->w, s->kw, s->sw, s->pw);
    CHECK(oh == rn_conv_out_size(s->h, s->kh, s->sh, s->ph));
    CHECK(ow == rn_conv_out_size(s->w, s->kw, s->sw, s->pw));
    rn_tensor *x = make(ctx, s->n, s->h, s->w, s->c, -1, 1);
    rn_tensor *w = make(ctx, s->oc, s->kh, s->kw, s->c, -1, 1);
    rn_tensor *b = make(ctx, 1, 1, 1, s->oc, -1, 1);
    rn_tensor *dy = make(ctx, s->n, oh, ow, s->oc, -1, 1);
    rn_tensor *y = make(ctx, s->n, oh, ow, s->oc, 9, 9),
              *dx = make(ctx, s->n, s->h, s->w, s->c, 9, 9);
    rn_tensor *dw = make(ctx, s->oc, s->kh, s->kw, s->c, 9, 9),
              *db = make(ctx, 1, 1, 1, s->oc, 9, 9);
    size_t ny = (size_t)rn_tensor_numel(y), nx = (size_t)rn_tensor_numel(x);
    size_t nw = (size_t)rn_tensor_numel(w), nb = (size_t)s->oc;
    conv_ref r;
    double *all = (double *)calloc(2 * (ny + nx + nw + nb), sizeof(double));
    r.y = all, r.ya = r.y + ny, r.dx = r.ya + ny, r.dxa = r.dx + nx, r.dw = r.dxa + nx;
    r.dwa = r.dw + nw, r.db = r.dwa + nw, r.dba = r.db + nb;
    naive_conv(s, rn_tensor_data(x), rn_tensor_data(w), rn_tensor_data(b), rn_tensor_data(dy), &r);
    CHECK_OK(rn_conv2d_forward(ctx, x, w, b, s->sh, s->sw, s->ph, s->pw, y), ctx);
    CHECK_OK(rn_conv2d_backward_data(ctx, dy, w, s->sh, s->sw, s->ph, s->pw, dx), ctx);
    CHECK_OK(rn_conv2d_backward_weights(ctx, x, dy, s->sh, s->sw, s->ph, s->pw, dw, db), ctx);
    close_all("forward y", s, rn_tensor_data(y), r.y, r.ya, ny);
    close_all("backward dx", s, rn_tensor_data(dx), r.dx, r.dxa, nx);
    close_all("backward dw", s, rn_tensor_data(dw), r.dw, r.dwa, nw);
    close_all("backward db", s, rn_tensor_data(db), r.db, r.dba, nb);
    free(all);
    rn_tensor *ts[] = {x, w, b, dy, y, dx, dw, db};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

/*                       n   h   w   c  oc kh kw sh sw ph pw */
static const conv_shape single_channel = {2, 5, 5, 1, 3, 3, 3, 1, 1, 1, 1};
static const conv_shape rgb_1x1_pixel = {3, 1, 1, 3, 4, 1, 1, 1, 1, 0, 0};
static const conv_shape pixel_3x3_pad1 = {2, 1, 1, 3, 5, 3, 3, 1, 1, 1, 1};
static const conv_shape seven_stride2 = {2, 7, 7, 4, 6, 3, 3, 2, 2, 1, 1};
static const conv_shape stem_7x7_s2_p3 = {1, 13, 13, 3, 8, 7, 7, 2, 2, 3, 3};
static const conv_shape non_square = {2, 7, 9, 3, 5, 3, 5, 2, 1, 1, 2};
static const conv_shape odd_padding = {2, 6, 5, 2, 3, 3, 3, 1, 2, 0, 1};
static const conv_shape projection_1x1_s2 = {2, 7, 7, 4, 8, 1, 1, 2, 2, 0, 0};
static const conv_shape even_kernel = {1, 6, 7, 2, 3, 2, 4, 3, 2, 2, 4};
/* 8192 output pixels x K = 576: more than one im2col chunk, the first one
 * ending inside the second image. */
static const conv_shape many_chunks = {2, 64, 64, 64, 8, 3, 3, 1, 1, 1, 1};

static void test_conv_single_channel_matches_direct(void) { conv_against_naive(&single_channel); }
static void test_conv_1x1_on_one_pixel_matches_direct(void) { conv_against_naive(&rgb_1x1_pixel); }
static void test_conv_3x3_pad1_on_one_pixel_matches_direct(void) {
    conv_against_naive(&pixel_3x3_pad1);
}
static void test_conv_7x7_input_stride2_matches_direct(void) { conv_against_naive(&seven_stride2); }
static void test_conv_kernel7_stride2_pad3_on_13x13_matches_direct(void) {
    conv_against_naive(&stem_7x7_s2_p3);
}
static void test_conv_non_square_kernel_stride_pad_matches_direct(void) {
    conv_against_naive(&non_square);
}
static void test_conv_odd_padding_matches_direct(void) { conv_against_naive(&odd_padding); }
static void test_conv_1x1_stride2_matches_direct(void) { conv_against_naive(&projection_1x1_s2); }
static void test_conv_even_kernel_pad_not_less_than_kernel_matches_direct(void) {
    conv_against_naive(&even_kernel);
}
static void test_conv_over_many_chunks_matches_direct(void) { conv_against_naive(&many_chunks); }

/* ---- max pool and option-A shortcut against their definitions ------------------------ */

/* PyTorch's max pool over real cells only; with ties the gradient goes to the
 * first maximum in window order (row, then column). */
static void test_maxpool_matches_definition_and_ties_go_to_first(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { N = 2, H = 5, W = 6, C = 3, K = 3, S = 2, P = 1 };
    int oh = out_size(H, K, S, P), ow = out_size(W, K, S, P);
    rn_tensor *x = make(ctx, N, H, W, C, -1, -0.5), *y = make(ctx, N, oh, ow, C, 0, 0);
    rn_tensor *dy = make(ctx, N, oh, ow, C, 1, 2), *dx = make(ctx, N, H, W, C, 5, 5);
    float *xd = rn_tensor_data(x);
    /* every value negative, so a padded zero would win if padding counted; a
     * sprinkling of equal values makes ties */
    for (int i = 0; i < N * H * W * C; i += 4) xd[i] = -0.25f;
    CHECK_OK(rn_maxpool_forward(ctx, x, K, K, S, S, P, P, y), ctx);
    CHECK_OK(rn_maxpool_backward(ctx, x, dy, K, K, S, S, P, P, dx), ctx);
    double *ref_dx = (double *)calloc((size_t)N * H * W * C, sizeof(double));
    for (int n = 0; n < N; n++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int c = 0; c < C; c++) {
                    double best = -INFINITY;
                    size_t at = 0;
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = oy * S - P + ky, ix = ox * S - P + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            size_t i = (((size_t)n * H + iy) * W + ix) * C + c;
                            if (xd[i] > best) best = xd[i], at = i;
                        }
                    size_t o = (((size_t)n * oh + oy) * ow + ox) * C + c;
                    CHECK(rn_tensor_data(y)[o] == (float)best);
                    ref_dx[at] += rn_tensor_data(dy)[o];
                }
    for (int i = 0; i < N * H * W * C; i++) CHECK_CLOSE(rn_tensor_data(dx)[i], ref_dx[i], 1e-6);
    free(ref_dx);
    rn_tensor_destroy(x), rn_tensor_destroy(y), rn_tensor_destroy(dy), rn_tensor_destroy(dx);
    rn_ctx_destroy(ctx);
}

/* y[n, i, j, lo + c] = x[n, i*s, j*s, c], lo = (OC - C) / 2, zero elsewhere. */
static void test_shortcut_a_places_channels_at_lo(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { N = 2, H = 5, W = 4, C = 3, OC = 8, S = 2, OH = 3, OW = 2, LO = 2 };
    rn_tensor *x = make(ctx, N, H, W, C, 1, 2), *y = make(ctx, N, OH, OW, OC, 9, 9);
    CHECK_OK(rn_shortcut_a_forward(ctx, x, S, y), ctx);
    const float *xd = rn_tensor_data(x), *yd = rn_tensor_data(y);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++)
                for (int o = 0; o < OC; o++) {
                    float want = 0.0f;
                    if (o >= LO && o < LO + C)
                        want = xd[(((n * H) + i * S) * W + j * S) * C + o - LO];
                    CHECK(yd[((n * OH + i) * OW + j) * OC + o] == want);
                }
    rn_tensor_destroy(x), rn_tensor_destroy(y);
    rn_ctx_destroy(ctx);
}

/* Linear, global average pool, BN eval and softmax cross-entropy forward
 * against their formulas evaluated here in double. */
static void test_small_layers_match_their_formulas(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { N = 3, H = 2, W = 3, C = 4, IN = H * W * C, OUT = 5 };
    rn_tensor *x = make(ctx, N, H, W, C, -2, 2), *w = make(ctx, OUT, 1, 1, IN, -1, 1);
    rn_tensor *b = make(ctx, 1, 1, 1, OUT, -1, 1), *y = make(ctx, N, 1, 1, OUT, 0, 0);
    rn_tensor *gap = make(ctx, N, 1, 1, C, 0, 0), *bn = make(ctx, N, H, W, C, 0, 0);
    rn_tensor *g = make(ctx, 1, 1, 1, C, 0.5, 2), *be = make(ctx, 1, 1, 1, C, -1, 1);
    rn_tensor *rm = make(ctx, 1, 1, 1, C, -1, 1), *rv = make(ctx, 1, 1, 1, C, 0.5, 3);
    const float *xd = rn_tensor_data(x), *wd = rn_tensor_data(w), *bd = rn_tensor_data(b);
    CHECK_OK(rn_linear_forward(ctx, x, w, b, y), ctx);
    CHECK_OK(rn_global_avgpool_forward(ctx, x, gap), ctx);
    CHECK_OK(rn_batchnorm_forward_eval(ctx, x, g, be, rm, rv, 1e-5f, bn), ctx);
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OUT; o++) {
            double acc = bd[o];
            for (int i = 0; i < IN; i++) acc += (double)xd[n * IN + i] * wd[o * IN + i];
            CHECK_CLOSE(rn_tensor_data(y)[n * OUT + o], acc, 1e-5);
        }
        for (int c = 0; c < C; c++) {
            double acc = 0.0;
            for (int p = 0; p < H * W; p++) acc += xd[(n * H * W + p) * C + c];
            CHECK_CLOSE(rn_tensor_data(gap)[n * C + c], acc / (H * W), 1e-6);
        }
    }
    for (int i = 0; i < N * H * W * C; i++) {
        int c = i % C;
        double want = (xd[i] - rn_tensor_data(rm)[c]) / sqrt(rn_tensor_data(rv)[c] + 1e-5) *
                          rn_tensor_data(g)[c] +
                      rn_tensor_data(be)[c];
        CHECK_CLOSE(rn_tensor_data(bn)[i], want, 1e-5);
    }
    /* cross-entropy: mean over rows of log(sum(exp(z))) - z[label] */
    const int32_t labels[N] = {4, 0, 2};
    float loss = 0.0f;
    CHECK_OK(rn_softmax_xent_forward(ctx, y, labels, N, &loss), ctx);
    double want = 0.0;
    for (int n = 0; n < N; n++) {
        double s = 0.0;
        for (int o = 0; o < OUT; o++) s += exp((double)rn_tensor_data(y)[n * OUT + o]);
        want += log(s) - rn_tensor_data(y)[n * OUT + labels[n]];
    }
    CHECK_CLOSE(loss, want / N, 1e-6);
    rn_tensor *ts[] = {x, w, b, y, gap, bn, g, be, rm, rv};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

/* Activations with |mean| >> std: statistics accumulated naively in float,
 * or as E[x^2] - E[x]^2 without care, lose the variance. Reference in double. */
static void test_bn_statistics_accurate_when_mean_dominates(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { COUNT = 4096, C = 3 };
    rn_tensor *x = make(ctx, COUNT, 1, 1, C, -1, 1), *y = make(ctx, COUNT, 1, 1, C, 0, 0);
    rn_tensor *g = make(ctx, 1, 1, 1, C, 1, 1), *b = make(ctx, 1, 1, 1, C, 0, 0);
    rn_tensor *rm = make(ctx, 1, 1, 1, C, 0, 0), *rv = make(ctx, 1, 1, 1, C, 1, 1);
    rn_tensor *sm = make(ctx, 1, 1, 1, C, 0, 0), *si = make(ctx, 1, 1, 1, C, 0, 0);
    float *xd = rn_tensor_data(x);
    for (int i = 0; i < COUNT * C; i++) xd[i] += 3000.0f;
    CHECK_OK(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, 0.1f, 1e-5f, y, sm, si), ctx);
    for (int c = 0; c < C; c++) {
        double mean = 0.0, ss = 0.0;
        for (int i = 0; i < COUNT; i++) mean += xd[i * C + c];
        mean /= COUNT;
        for (int i = 0; i < COUNT; i++) ss += (xd[i * C + c] - mean) * (xd[i * C + c] - mean);
        CHECK_CLOSE(rn_tensor_data(sm)[c] / mean, 1.0, 1e-7);
        CHECK_CLOSE(rn_tensor_data(si)[c] * sqrt(ss / COUNT + 1e-5), 1.0, 1e-5);
    }
    rn_tensor *ts[] = {x, y, g, b, rm, rv, sm, si};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

/* ---- fused ReLU epilogues of the internal drivers (used by the blocks) --------------- */
static void test_fused_relu_equals_relu_of_unfused(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { N = 2, H = 5, W = 5, C = 4, OC = 6, CNT = N * H * W };
    float x[CNT * C], w[OC * 9 * C], b[OC], y0[CNT * OC], y1[CNT * OC];
    float g[C], be[C], m[C], is[C], z0[CNT * C], z1[CNT * C], rm[C] = {0}, rv[C] = {0};
    rn_test_fill_uniform(x, CNT * C, -1, 1);
    rn_test_fill_uniform(w, OC * 9 * C, -1, 1);
    rn_test_fill_uniform(b, OC, -1, 1);
    rn_conv_desc d = {N, H, W, C, OC, 3, 3, 1, 1, 1, 1, 0, 0};
    CHECK(rn__conv_desc_init(&d) && d.oh == H && d.ow == W);
    void *ws = malloc(rn__conv2d_forward_workspace(ctx, &d));
    rn__conv2d_forward(ctx, &d, x, w, b, 0, y0, ws);
    rn__conv2d_forward(ctx, &d, x, w, b, 1, y1, ws);
    free(ws);
    int neg = 0;
    for (int i = 0; i < CNT * OC; i++) {
        neg += y0[i] < 0;
        CHECK(y1[i] == (y0[i] < 0 ? 0.0f : y0[i]));
    }
    CHECK(neg > 0);
    rn_test_fill_uniform(g, C, 0.5, 1.5);
    rn_test_fill_uniform(be, C, -0.5, 0.5);
    rn__bn_forward_train(ctx, CNT, C, x, g, be, rm, rv, 0.1f, 1e-5f, NULL, z0, m, is, NULL, 0);
    rn__bn_forward_train(ctx, CNT, C, x, g, be, rm, rv, 0.1f, 1e-5f, NULL, z1, m, is, NULL, 1);
    for (int i = 0; i < CNT * C; i++) CHECK(z1[i] == (z0[i] < 0 ? 0.0f : z0[i]));
    /* a block's last batch norm with the shortcut added in its pass: the
     * same bits as the batch norm, then an addition and a ReLU of their own */
    rn__add_forward(ctx, CNT * C, z0, y0, z0, 1);
    rn__bn_forward_train(ctx, CNT, C, x, g, be, rm, rv, 0.1f, 1e-5f, y0, z1, m, is, NULL, 1);
    for (int i = 0; i < CNT * C; i++) CHECK(memcmp(&z1[i], &z0[i], sizeof(float)) == 0);
    rn__bn_forward_eval(ctx, CNT, C, x, g, be, m, is, 1e-5f, NULL, z0, 0);
    rn__bn_forward_eval(ctx, CNT, C, x, g, be, m, is, 1e-5f, NULL, z1, 1);
    for (int i = 0; i < CNT * C; i++) CHECK(z1[i] == (z0[i] < 0 ? 0.0f : z0[i]));
    rn__add_forward(ctx, CNT * C, z0, y0, z0, 1);
    rn__bn_forward_eval(ctx, CNT, C, x, g, be, m, is, 1e-5f, y0, z1, 1);
    for (int i = 0; i < CNT * C; i++) CHECK(memcmp(&z1[i], &z0[i], sizeof(float)) == 0);
    rn__bn_forward_eval(ctx, CNT, C, x, g, be, m, is, 1e-5f, NULL, z0, 0);
    rn__add_forward(ctx, CNT * C, x, z0, z1, 1);
    for (int i = 0; i < CNT * C; i++) {
        float s = x[i] + z0[i];
        CHECK(z1[i] == (s < 0 ? 0.0f : s));
    }
    rn_ctx_destroy(ctx);
}

/* ---- determinism across thread counts -------------------------------------------------- */
typedef struct run_out {
    float *y, *dx, *dw, *db, *bn_y, *bn_dx, *bn_dg, *bn_db, *mean, *invstd, *rm, *rv, *gap, *ldw;
} run_out;

/* One conv forward/backward, BN train forward/backward, GAP and linear
 * backward on fixed inputs with `threads` threads; results in fresh buffers. */
static void run_layers(int threads, const conv_shape *s, unsigned long long seed, run_out *o) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads), ctx);
    rn_test_rng_state = seed;
    int oh = out_size(s->h, s->kh, s->sh, s->ph), ow = out_size(s->w, s->kw, s->sw, s->pw);
    rn_tensor *x = make(ctx, s->n, s->h, s->w, s->c, -1, 1);
    rn_tensor *w = make(ctx, s->oc, s->kh, s->kw, s->c, -1, 1);
    rn_tensor *b = make(ctx, 1, 1, 1, s->oc, -1, 1);
    rn_tensor *dy = make(ctx, s->n, oh, ow, s->oc, -1, 1);
    rn_tensor *y = make(ctx, s->n, oh, ow, s->oc, 0, 0),
              *dx = make(ctx, s->n, s->h, s->w, s->c, 0, 0);
    rn_tensor *dw = make(ctx, s->oc, s->kh, s->kw, s->c, 0, 0),
              *db = make(ctx, 1, 1, 1, s->oc, 0, 0);
    rn_tensor *g = make(ctx, 1, 1, 1, s->oc, 0.5, 1.5), *be = make(ctx, 1, 1, 1, s->oc, -1, 1);
    rn_tensor *rm = make(ctx, 1, 1, 1, s->oc, 0, 0), *rv = make(ctx, 1, 1, 1, s->oc, 1, 1);
    rn_tensor *sm = make(ctx, 1, 1, 1, s->oc, 0, 0), *si = make(ctx, 1, 1, 1, s->oc, 0, 0);
    rn_tensor *bn_y = make(ctx, s->n, oh, ow, s->oc, 0, 0),
              *bn_dx = make(ctx, s->n, oh, ow, s->oc, 0, 0);
    rn_tensor *dg = make(ctx, 1, 1, 1, s->oc, 0, 0), *dbe = make(ctx, 1, 1, 1, s->oc, 0, 0);
    rn_tensor *gap = make(ctx, s->n, 1, 1, s->oc, 0, 0);
    rn_tensor *lw = make(ctx, 1, 1, 1, (int64_t)oh * ow * s->oc, -1, 1);
    rn_tensor *ldw = make(ctx, 1, 1, 1, (int64_t)oh * ow * s->oc, 0, 0);
    rn_tensor *ldy = make(ctx, s->n, 1, 1, 1, -1, 1);
    CHECK_OK(rn_conv2d_forward(ctx, x, w, b, s->sh, s->sw, s->ph, s->pw, y), ctx);
    CHECK_OK(rn_conv2d_backward_data(ctx, dy, w, s->sh, s->sw, s->ph, s->pw, dx), ctx);
    CHECK_OK(rn_conv2d_backward_weights(ctx, x, dy, s->sh, s->sw, s->ph, s->pw, dw, db), ctx);
    CHECK_OK(rn_batchnorm_forward_train(ctx, y, g, be, rm, rv, 0.1f, 1e-5f, bn_y, sm, si), ctx);
    CHECK_OK(rn_batchnorm_backward(ctx, y, dy, g, sm, si, bn_dx, dg, dbe), ctx);
    CHECK_OK(rn_global_avgpool_forward(ctx, y, gap), ctx);
    CHECK_OK(rn_linear_backward(ctx, y, lw, ldy, NULL, ldw, NULL), ctx);
    rn_tensor *src[] = {y, dx, dw, db, bn_y, bn_dx, dg, dbe, sm, si, rm, rv, gap, ldw};
    float **dst[] = {&o->y,     &o->dx,   &o->dw,     &o->db, &o->bn_y, &o->bn_dx, &o->bn_dg,
                     &o->bn_db, &o->mean, &o->invstd, &o->rm, &o->rv,   &o->gap,   &o->ldw};
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
        size_t bytes = (size_t)rn_tensor_numel(src[i]) * sizeof(float);
        *dst[i] = (float *)malloc(bytes);
        memcpy(*dst[i], rn_tensor_data(src[i]), bytes);
    }
    rn_tensor *ts[] = {x,  w,  b,  dy,   y,     dx, dw,  db,  g,  be,  rm,
                       rv, sm, si, bn_y, bn_dx, dg, dbe, gap, lw, ldw, ldy};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void compare_thread_counts(const conv_shape *s) {
    run_out a, b;
    run_layers(1, s, 12345, &a);
    run_layers(2, s, 12345, &b);
    int oh = out_size(s->h, s->kh, s->sh, s->ph), ow = out_size(s->w, s->kw, s->sw, s->pw);
    size_t ny = (size_t)s->n * oh * ow * s->oc, nx = (size_t)s->n * s->h * s->w * s->c;
    size_t nw = (size_t)s->oc * s->kh * s->kw * s->c, nc = (size_t)s->oc;
    float *pa[] = {a.y,     a.dx,   a.dw,     a.db, a.bn_y, a.bn_dx, a.bn_dg,
                   a.bn_db, a.mean, a.invstd, a.rm, a.rv,   a.gap,   a.ldw};
    float *pb[] = {b.y,     b.dx,   b.dw,     b.db, b.bn_y, b.bn_dx, b.bn_dg,
                   b.bn_db, b.mean, b.invstd, b.rm, b.rv,   b.gap,   b.ldw};
    size_t counts[] = {
        ny, nx, nw, nc, ny, ny, nc, nc, nc, nc, nc, nc, (size_t)s->n * nc, (size_t)oh * ow * nc};
    const char *names[] = {"conv y",          "conv dx",        "conv dw",  "conv db",  "bn y",
                           "bn dx",           "bn dgamma",      "bn dbeta", "bn mean",  "bn invstd",
                           "bn running_mean", "bn running_var", "gap y",    "linear dw"};
    for (size_t i = 0; i < sizeof pa / sizeof pa[0]; i++) {
        if (memcmp(pa[i], pb[i], counts[i] * sizeof(float)) != 0) {
            fprintf(stderr, "  %s differs between 1 and 2 threads\n", names[i]);
            rn_test_failed_checks++;
        }
        free(pa[i]), free(pb[i]);
    }
}

static void test_results_bit_identical_for_1_and_2_threads(void) {
    static const conv_shape mid = {4, 10, 10, 20, 40, 3, 3, 1, 1, 1, 1};
    compare_thread_counts(&mid);
}

static void test_results_bit_identical_for_1_and_2_threads_over_chunks(void) {
    compare_thread_counts(&many_chunks);
}

static void test_results_bit_identical_for_1_and_2_threads_strided(void) {
    static const conv_shape strided = {3, 11, 9, 17, 33, 7, 7, 2, 2, 3, 3};
    compare_thread_counts(&strided);
}

static const rn_test_case cases[] = {
    {"conv_single_channel_matches_direct", test_conv_single_channel_matches_direct},
    {"conv_1x1_on_one_pixel_matches_direct", test_conv_1x1_on_one_pixel_matches_direct},
    {"conv_3x3_pad1_on_one_pixel_matches_direct", test_conv_3x3_pad1_on_one_pixel_matches_direct},
    {"conv_7x7_input_stride2_matches_direct", test_conv_7x7_input_stride2_matches_direct},
    {"conv_kernel7_stride2_pad3_on_13x13_matches_direct",
     test_conv_kernel7_stride2_pad3_on_13x13_matches_direct},
    {"conv_non_square_kernel_stride_pad_matches_direct",
     test_conv_non_square_kernel_stride_pad_matches_direct},
    {"conv_odd_padding_matches_direct", test_conv_odd_padding_matches_direct},
    {"conv_1x1_stride2_matches_direct", test_conv_1x1_stride2_matches_direct},
    {"conv_even_kernel_pad_not_less_than_kernel_matches_direct",
     test_conv_even_kernel_pad_not_less_than_kernel_matches_direct},
    {"conv_over_many_chunks_matches_direct", test_conv_over_many_chunks_matches_direct},
    {"maxpool_matches_definition_and_ties_go_to_first",
     test_maxpool_matches_definition_and_ties_go_to_first},
    {"shortcut_a_places_channels_at_lo", test_shortcut_a_places_channels_at_lo},
    {"small_layers_match_their_formulas", test_small_layers_match_their_formulas},
    {"bn_statistics_accurate_when_mean_dominates", test_bn_statistics_accurate_when_mean_dominates},
    {"fused_relu_equals_relu_of_unfused", test_fused_relu_equals_relu_of_unfused},
    {"results_bit_identical_for_1_and_2_threads", test_results_bit_identical_for_1_and_2_threads},
    {"results_bit_identical_for_1_and_2_threads_over_chunks",
     test_results_bit_identical_for_1_and_2_threads_over_chunks},
    {"results_bit_identical_for_1_and_2_threads_strided",
     test_results_bit_identical_for_1_and_2_threads_strided},
};
RN_TEST_MAIN(cases)
