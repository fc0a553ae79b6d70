/*
 * The fast paths of the op drivers, one test per ISA (NAME_scalar ...
 * NAME_neon, skipped where this CPU or build lacks the ISA or RN_MAX_ISA caps
 * it) and with 1, 2 and 3 threads:
 *
 * - convolution: the indirect forward and stride-1 backward-data paths (and
 *   the direct 3x3 row kernel where the table has one), the
 *   tap-by-tap weight gradient, and the shapes that must still take im2col
 *   or the GEMM (direct 1x1 forward, windows over 64 taps, output channel
 *   counts that are not a multiple of 16, large weights), each pass against a direct
 * double-precision convolution written here, run in a workspace of exactly the size the driver
 * asked for (ending at an inaccessible page where mmap exists), and bit-identical for any thread
 * count;
 * - batch norm, ReLU, add and max pool drivers on the vectorised kernels:
 *   against the scalar table's results, and bit-identical for any thread
 *   count.
 *
 * Tolerance against the double reference: 5e-5 times the sum of |terms|
 * (float rounding grows with it, not with the result, which may cancel)
 * plus 1e-6.
 */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"
#include "ops/conv2d-common.h"

#include "test_kernels_common.h"

/* ---- convolution against a direct double reference -------------------------------------- */
typedef struct conv_case {
    const char *what;
    int n, h, w, c, oc, kh, kw, sh, sw, ph, pw;
} conv_case;

static const conv_case conv_cases[] = {
    /* indirect forward and backward-data, narrow tiles, tap-by-tap dW */
    {"3x3 16->16 (CIFAR stage 1)", 3, 8, 8, 16, 16, 3, 3, 1, 1, 1, 1},
    {"3x3 32->48, odd image", 2, 9, 7, 32, 48, 3, 3, 1, 1, 1, 1},
    {"3x3 stride 2 16->32 (transition)", 2, 8, 8, 16, 32, 3, 3, 2, 2, 1, 1},
    {"7x7 stride 2 pad 3 3->16 (stem, dW by window rows: 3 channels)", 2, 13, 13, 3, 16, 7, 7, 2, 2,
     3, 3},
    {"7x7 stride 2 pad 3 5->16 (dW by im2col: window rows of 35 floats)", 2, 11, 12, 5, 16, 7, 7, 2,
     2, 3, 3},
    {"3x3 1->16 (one-channel stem, dW by window rows of 3 floats)", 2, 7, 9, 1, 16, 3, 3, 1, 1, 1,
     1},
    {"1x1 stride 2 16->32 (projection)", 2, 7, 7, 16, 32, 1, 1, 2, 2, 0, 0},
    {"5x5 pad 2 5->16, 6x5 (dW by window rows of 25 floats over 5 channels)", 2, 6, 5, 5, 16, 5, 5,
     1, 1, 2, 2},
    {"3x3 3->16 (CIFAR stem: few channels, dW by window rows)", 2, 8, 8, 3, 16, 3, 3, 1, 1, 1, 1},
    {"3x3 pad 0 40->32, channel tails", 2, 6, 6, 40, 32, 3, 3, 1, 1, 0, 0},
    {"3x3 pad 1 on a 1x1 image", 4, 1, 1, 16, 16, 3, 3, 1, 1, 1, 1},
    {"3x3 64->64 over more images than groups", 20, 3, 3, 64, 64, 3, 3, 1, 1, 1, 1},
    {"3x3 128->128 (fewer dW groups than images)", 5, 4, 4, 128, 128, 3, 3, 1, 1, 1, 1},
    {"1x1 direct 24->16 (GEMM forward, tap-by-tap dW)", 2, 5, 5, 24, 16, 1, 1, 1, 1, 0, 0},
    /* the direct 3x3 row kernel where the table has one (AVX-512): rows
     * wider than its tile, the last tile shifted onto the one before */
    {"3x3 16->16 rows of 20 (row kernel, narrow tile shifted)", 2, 5, 20, 16, 16, 3, 3, 1, 1, 1, 1},
    {"3x3 16->16 rows of 16 (row kernel, one narrow tile)", 1, 3, 16, 16, 16, 3, 3, 1, 1, 1, 1},
    {"3x3 24->64 rows of 11 (row kernel, wide tile shifted, two panels)", 2, 4, 11, 24, 64, 3, 3, 1,
     1, 1, 1},
    {"3x3 64->32 one-row images (row kernel, backward-data wide)", 3, 1, 9, 64, 32, 3, 3, 1, 1, 1,
     1},
    {"3x3 3->32 (row kernel over 3 channels)", 2, 9, 8, 3, 32, 3, 3, 1, 1, 1, 1},
    /* im2col / GEMM fallbacks: oc not a multiple of 16, 81 taps, dW > 2^20 */
    {"3x3 12->20 (dW by im2col)", 2, 6, 6, 12, 20, 3, 3, 1, 1, 1, 1},
    {"1x1 direct 24->20 (dW by GEMM)", 2, 5, 5, 24, 20, 1, 1, 1, 1, 0, 0},
    {"1x1 direct 64->32 on 9 pixels (dW by GEMM: large for the pixels)", 1, 3, 3, 64, 32, 1, 1, 1,
     1, 0, 0},
    {"9x9 pad 4 (81 taps)", 1, 9, 9, 2, 16, 9, 9, 1, 1, 4, 4},
    {"3x3 384->384 (dW by im2col)", 1, 2, 2, 384, 384, 3, 3, 1, 1, 1, 1},
    /* padding not below the kernel: backward-data by col2im */
    {"2x4 kernel pad 2,4", 1, 6, 7, 2, 16, 2, 4, 3, 2, 2, 4},
};

typedef struct conv_ref {
    double *y, *ya, *dx, *dxa, *dw, *dwa;
} conv_ref;

static void naive_conv(const rn_conv_desc *d, const float *x, const float *w, const float *b,
                       const float *dy, conv_ref *r) {
    for (int n = 0; n < d->n; n++)
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++)
                for (int o = 0; o < d->oc; o++) {
                    size_t yi = (((size_t)n * d->oh + oy) * d->ow + ox) * d->oc + o;
                    double acc = b[o], mag = fabs(b[o]), g = dy[yi];
                    for (int ky = 0; ky < d->kh; ky++)
                        for (int kx = 0; kx < d->kw; kx++) {
                            int iy = oy * d->sh - d->ph + ky, ix = ox * d->sw - d->pw + kx;
                            if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                            for (int c = 0; c < d->c; c++) {
                                size_t xi = (((size_t)n * d->h + iy) * d->w + ix) * d->c + c;
                                size_t wi = (((size_t)o * d->kh + ky) * d->kw + kx) * d->c + c;
                                double p = (double)x[xi] * w[wi];
                                acc += p, mag += fabs(p);
                                r->dx[xi] += g * w[wi], r->dxa[xi] += fabs(g * w[wi]);
                                r->dw[wi] += g * x[xi], r->dwa[wi] += fabs(g * x[xi]);
                            }
                        }
                    r->y[yi] = acc > 0 ? acc : 0.0; /* the forward runs with ReLU */
                    r->ya[yi] = mag;
                }
}

static int close_all(const char *what, const conv_case *cc, int32_t isa, int threads,
                     const float *got, const double *ref, const double *mag, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double tol = 5e-5 * mag[i] + 1e-6;
        if (!(fabs((double)got[i] - ref[i]) <= tol)) {
            fprintf(stderr, "  %s of %s (%s, %d threads): [%zu] = %.9g, reference %.9g\n", what,
                    cc->what, rn_isa_name(isa), threads, i, (double)got[i], ref[i]);
            rn_test_failed_checks++;
            return 0;
        }
    }
    return 1;
}

/* One pass in an exact-size workspace; returns 0 if it could not allocate. */
typedef enum { PASS_FWD, PASS_BWD_DATA, PASS_BWD_W } conv_pass;

static int run_pass(rn_ctx *ctx, conv_pass pass, const rn_conv_desc *d, const float *x,
                    const float *w, const float *b, const float *dy, float *out, float *db) {
    size_t bytes = pass == PASS_FWD        ? rn__conv2d_forward_workspace(ctx, d)
                   : pass == PASS_BWD_DATA ? rn__conv2d_backward_data_workspace(ctx, d)
                                           : rn__conv2d_backward_weights_workspace(ctx, d);
    CHECK(bytes != SIZE_MAX);
    guarded g;
    void *ws = guarded_alloc(&g, bytes);
    if (!ws) return 0;
    if (pass == PASS_FWD) rn__conv2d_forward(ctx, d, x, w, b, 1, out, ws);
    if (pass == PASS_BWD_DATA) rn__conv2d_backward_data(ctx, d, dy, w, out, ws);
    if (pass == PASS_BWD_W) rn__conv2d_backward_weights(ctx, d, x, dy, out, db, ws);
    guarded_free(&g);
    return 1;
}

static void conv_case_isa(const conv_case *cc, int32_t isa) {
    rn_conv_desc d = {cc->n,  cc->h,  cc->w,  cc->c,  cc->oc, cc->kh, cc->kw,
                      cc->sh, cc->sw, cc->ph, cc->pw, 0,      0};
    CHECK(rn__conv_desc_init(&d));
    const size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.oh * d.ow * d.oc;
    const size_t nw = (size_t)d.oc * d.kh * d.kw * d.c;
    float *x = (float *)malloc(nx * sizeof(float)), *w = (float *)malloc(nw * sizeof(float));
    float *b = (float *)malloc((size_t)d.oc * sizeof(float));
    float *dy = (float *)malloc(ny * sizeof(float));
    double *all = (double *)calloc(2 * (ny + nx + nw), sizeof(double));
    float *out[3] = {NULL, NULL, NULL};
    CHECK(x && w && b && dy && all);
    if (!x || !w || !b || !dy || !all) goto done;
    rn_test_fill_uniform(x, nx, -1, 1);
    rn_test_fill_uniform(w, nw, -1, 1);
    rn_test_fill_uniform(b, (size_t)d.oc, -1, 1);
    rn_test_fill_uniform(dy, ny, -1, 1);
    conv_ref r = {all,
                  all + ny,
                  all + 2 * ny,
                  all + 2 * ny + nx,
                  all + 2 * ny + 2 * nx,
                  all + 2 * ny + 2 * nx + nw};
    naive_conv(&d, x, w, b, dy, &r);
    const size_t counts[3] = {ny, nx, nw};
    for (int p = 0; p < 3; p++) out[p] = (float *)malloc(3 * counts[p] * sizeof(float));
    CHECK(out[0] && out[1] && out[2]);
    if (!out[0] || !out[1] || !out[2]) goto done;
    for (int th = 1; th <= 3; th++) {
        rn_ctx *ctx = ctx_for(isa, th);
        CHECK(ctx != NULL);
        if (!ctx) continue;
        float *y = out[0] + (size_t)(th - 1) * ny, *dx = out[1] + (size_t)(th - 1) * nx;
        float *dw = out[2] + (size_t)(th - 1) * nw, db[384];
        CHECK(run_pass(ctx, PASS_FWD, &d, x, w, b, dy, y, NULL));
        CHECK(run_pass(ctx, PASS_BWD_DATA, &d, x, w, b, dy, dx, NULL));
        CHECK(run_pass(ctx, PASS_BWD_W, &d, x, w, b, dy, dw, db));
        close_all("forward y", cc, isa, th, y, r.y, r.ya, ny);
        close_all("backward dx", cc, isa, th, dx, r.dx, r.dxa, nx);
        close_all("backward dw", cc, isa, th, dw, r.dw, r.dwa, nw);
        rn_ctx_destroy(ctx);
    }
    for (int p = 0; p < 3; p++)
        for (int th = 2; th <= 3; th++)
            if (memcmp(out[p], out[p] + (size_t)(th - 1) * counts[p], counts[p] * sizeof(float)) !=
                0) {
                fprintf(stderr, "  %s: pass %d differs between 1 and %d threads (%s)\n", cc->what,
                        p, th, rn_isa_name(isa));
                rn_test_failed_checks++;
            }
done:
    for (int p = 0; p < 3; p++) free(out[p]);
    free(x), free(w), free(b), free(dy), free(all);
}

static void test_conv_paths_match_direct_convolution_and_threads_agree(int32_t isa) {
    if (!table_or_skip(isa)) return;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        conv_case_isa(&conv_cases[i], isa);
}
RN_PER_ISA(test_conv_paths_match_direct_convolution_and_threads_agree)

/* Weights packed once (under the scalar table) and handed to forward passes
 * under isa and any thread count give exactly what the unpacked forward
 * gives there: the packed form does not depend on the ISA. */
static void packed_case(const conv_case *cc, int32_t isa) {
    rn_conv_desc d = {cc->n,  cc->h,  cc->w,  cc->c,  cc->oc, cc->kh, cc->kw,
                      cc->sh, cc->sw, cc->ph, cc->pw, 0,      0};
    CHECK(rn__conv_desc_init(&d));
    rn_ctx *packer = ctx_for(RN_ISA_SCALAR, 1);
    size_t pbytes = packer ? rn__conv2d_packed_weights_size(packer, &d) : 0;
    if (!packer || pbytes == 0) { /* windows over 64 taps have no packed form */
        rn_ctx_destroy(packer);
        return;
    }
    const size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.oh * d.ow * d.oc;
    const size_t nw = (size_t)d.oc * d.kh * d.kw * d.c;
    float *x = (float *)malloc(nx * sizeof(float)), *w = (float *)malloc(nw * sizeof(float));
    float *b = (float *)malloc((size_t)d.oc * sizeof(float));
    float *y0 = (float *)malloc(ny * sizeof(float)), *y1 = (float *)malloc(ny * sizeof(float));
    guarded gp;
    void *packed = guarded_alloc(&gp, pbytes);
    CHECK(x && w && b && y0 && y1 && packed);
    if (x && w && b && y0 && y1 && packed) {
        rn_test_fill_uniform(x, nx, -1, 1);
        rn_test_fill_uniform(w, nw, -1, 1);
        rn_test_fill_uniform(b, (size_t)d.oc, -1, 1);
        rn__conv2d_pack_weights(packer, &d, w, packed);
        for (int th = 1; th <= 2; th++) {
            rn_ctx *ctx = ctx_for(isa, th);
            if (!ctx) continue;
            CHECK(rn__conv2d_packed_weights_size(ctx, &d) == pbytes);
            CHECK(run_pass(ctx, PASS_FWD, &d, x, w, b, NULL, y0, NULL));
            guarded gw;
            void *ws = guarded_alloc(&gw, rn__conv2d_forward_packed_workspace(ctx, &d));
            CHECK(ws != NULL);
            if (ws) {
                rn__conv2d_forward_packed(ctx, &d, x, packed, b, 1, y1, ws);
                if (memcmp(y0, y1, ny * sizeof(float)) != 0) {
                    fprintf(stderr, "  %s: packed forward differs (%s, %d threads)\n", cc->what,
                            rn_isa_name(isa), th);
                    rn_test_failed_checks++;
                }
            }
            guarded_free(&gw);
            rn_ctx_destroy(ctx);
        }
    }
    guarded_free(&gp);
    free(x), free(w), free(b), free(y0), free(y1);
    rn_ctx_destroy(packer);
}

static void test_prepacked_weights_give_the_unpacked_forward_under_any_isa(int32_t isa) {
    if (!table_or_skip(isa)) return;
    int packed = 0;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        packed_case(&conv_cases[i], isa);
        rn_conv_desc d = {conv_cases[i].n,
                          conv_cases[i].h,
                          conv_cases[i].w,
                          conv_cases[i].c,
                          conv_cases[i].oc,
                          conv_cases[i].kh,
                          conv_cases[i].kw,
                          conv_cases[i].sh,
                          conv_cases[i].sw,
                          conv_cases[i].ph,
                          conv_cases[i].pw,
                          0,
                          0};
        packed += rn__conv_desc_init(&d) && rn__conv2d_packed_weights_size(NULL, &d) > 0;
    }
    /* every case but the 81-tap window has a packed form */
    CHECK(packed == (int)(sizeof conv_cases / sizeof conv_cases[0]) - 1);
}
RN_PER_ISA(test_prepacked_weights_give_the_unpacked_forward_under_any_isa)

/* The path choices the drivers make from the shape alone. */
static void test_conv_path_choice_depends_on_shape_only(void) {
    rn_conv_desc s1 = {2, 8, 8, 16, 16, 3, 3, 1, 1, 1, 1, 0, 0}, t;
    rn_conv_desc s2 = {2, 8, 8, 16, 32, 3, 3, 2, 2, 1, 1, 0, 0};
    rn_conv_desc big = {1, 9, 9, 2, 16, 9, 9, 1, 1, 4, 4, 0, 0};
    CHECK(rn__conv_desc_init(&s1) && rn__conv_desc_init(&s2) && rn__conv_desc_init(&big));
    CHECK(rn__conv_indirect_ok(&s1) && rn__conv_indirect_ok(&s2) && !rn__conv_indirect_ok(&big));
    /* the stride-1 backward-data pass is the transposed convolution */
    CHECK(rn__conv_transposed_desc(&s1, &t));
    CHECK(t.h == 8 && t.c == 16 && t.oc == 16 && t.ph == 1 && t.oh == 8 && t.ow == 8);
    CHECK(!rn__conv_transposed_desc(&s2, &t));
    /* workspaces do not depend on the ISA or the thread count */
    rn_ctx *a = ctx_for(RN_ISA_SCALAR, 1), *b = ctx_for(RN_ISA_AVX512, 3);
    CHECK(a && b);
    if (a && b) {
        CHECK(rn__conv2d_forward_workspace(a, &s1) == rn__conv2d_forward_workspace(b, &s1));
        CHECK(rn__conv2d_backward_data_workspace(a, &s1) ==
              rn__conv2d_backward_data_workspace(b, &s1));
        CHECK(rn__conv2d_backward_weights_workspace(a, &s2) ==
              rn__conv2d_backward_weights_workspace(b, &s2));
    }
    rn_ctx_destroy(a), rn_ctx_destroy(b);
    /* few input channels: window rows while kw x c floats fit a call (32),
     * im2col beyond; many channels never take window rows */
    rn_conv_desc stem = {16, 224, 224, 3, 64, 7, 7, 2, 2, 3, 3, 0, 0};
    rn_conv_desc five = {2, 11, 12, 5, 16, 7, 7, 2, 2, 3, 3, 0, 0};
    CHECK(rn__conv_desc_init(&stem) && rn__conv_desc_init(&five));
    CHECK(rn__conv_wgrad_window(&stem) && !rn__conv_wgrad_window(&five) &&
          !rn__conv_wgrad_window(&s1));
    CHECK(rn__conv_plain_algo(&stem, RN_CONV_PASS_BACKWARD_WEIGHTS) == RN_CONV_ALGO_TAPS);
    CHECK(rn__conv_plain_algo(&five, RN_CONV_PASS_BACKWARD_WEIGHTS) == RN_CONV_ALGO_IM2COL);
}

/* ---- elementwise drivers: every ISA against scalar, threads bit-identical ------------ */
typedef struct ew_out {
    float *bn_y, *bn_mean, *bn_invstd, *bn_rm, *bn_rv, *bn_dx, *bn_dg, *bn_db, *relu, *relu_dx,
        *add, *pool_y, *pool_dx;
} ew_out;

enum { EW_N = 5, EW_H = 9, EW_W = 7, EW_C = 37, EW_ROWS = EW_N * EW_H * EW_W };
#define EW_TOTAL ((size_t)EW_ROWS * EW_C)

static void run_elementwise(int32_t isa, int threads, const float *x, const float *dy,
                            const float *g, const float *be, float *buf) {
    rn_ctx *ctx = ctx_for(isa, threads);
    CHECK(ctx != NULL);
    if (!ctx) return;
    /* buf: y, dx, relu, relu_dx, add, pool_dx (EW_TOTAL each), pool_y, then 7 x EW_C */
    float *y = buf, *dx = y + EW_TOTAL, *ry = dx + EW_TOTAL, *rdx = ry + EW_TOTAL;
    float *sum = rdx + EW_TOTAL, *pdx = sum + EW_TOTAL, *py = pdx + EW_TOTAL;
    float *ch = py + EW_TOTAL;
    float *mean = ch, *invstd = ch + EW_C, *rm = ch + 2 * EW_C, *rv = ch + 3 * EW_C;
    float *dg = ch + 4 * EW_C, *db = ch + 5 * EW_C;
    for (int i = 0; i < EW_C; i++) rm[i] = 0.0f, rv[i] = 1.0f;
    rn__bn_forward_train(ctx, EW_ROWS, EW_C, x, g, be, rm, rv, 0.1f, 1e-5f, NULL, y, mean, invstd,
                         NULL, 1);
    rn__bn_backward(ctx, EW_ROWS, EW_C, x, dy, y, NULL, g, mean, invstd, dx, dg, db);
    rn__relu_forward(ctx, EW_TOTAL, x, ry);
    rn__relu_backward(ctx, EW_TOTAL, x, dy, NULL, rdx);
    rn__add_forward(ctx, EW_TOTAL, x, dy, sum, 1);
    rn_pool_desc pd = {EW_N, EW_H, EW_W, EW_C, 3, 3, 2, 2, 1, 1, 0, 0};
    CHECK(rn__pool_desc_init(&pd));
    rn__maxpool_forward(ctx, &pd, x, py);
    rn__maxpool_backward(ctx, &pd, x, dy, pdx);
    rn_ctx_destroy(ctx);
}

static void test_elementwise_drivers_agree_across_isas_and_threads(int32_t isa) {
    if (!table_or_skip(isa)) return;
    const size_t per = 7 * EW_TOTAL + 7 * EW_C;
    float *x = (float *)malloc(EW_TOTAL * sizeof(float)),
          *dy = (float *)malloc(EW_TOTAL * sizeof(float));
    float g[EW_C], be[EW_C];
    float *ref = (float *)malloc(per * sizeof(float)), *got = (float *)malloc(per * sizeof(float));
    CHECK(x && dy && ref && got);
    if (!x || !dy || !ref || !got) goto done;
    rn_test_fill_uniform(x, EW_TOTAL, -2, 3);
    rn_test_fill_uniform(dy, EW_TOTAL, -1, 1);
    rn_test_fill_uniform(g, EW_C, 0.5, 1.5);
    rn_test_fill_uniform(be, EW_C, -0.5, 0.5);
    for (size_t i = 0; i < EW_TOTAL; i += 13) x[i] = 0.5f; /* ties for the pool */
    memset(ref, 0, per * sizeof(float));
    run_elementwise(RN_ISA_SCALAR, 1, x, dy, g, be, ref);
    float *one = NULL;
    for (int th = 1; th <= 3; th++) {
        memset(got, 0, per * sizeof(float));
        run_elementwise(isa, th, x, dy, g, be, got);
        int bad = 0;
        for (size_t k = 0; k < per; k++)
            if (!(fabs((double)got[k] - ref[k]) <= 1e-5 * (fabs(ref[k]) > 1 ? fabs(ref[k]) : 1)))
                bad++;
        if (bad)
            fprintf(stderr, "  %s, %d threads: %d values differ from scalar\n", rn_isa_name(isa),
                    th, bad);
        CHECK(bad == 0);
        if (th == 1) {
            one = (float *)malloc(per * sizeof(float));
            if (one) memcpy(one, got, per * sizeof(float));
        } else if (one) {
            CHECK(memcmp(one, got, per * sizeof(float)) == 0);
        }
    }
    free(one);
done:
    free(x), free(dy), free(ref), free(got);
}
RN_PER_ISA(test_elementwise_drivers_agree_across_isas_and_threads)

static const rn_test_case cases[] = {
    RN_ISA_CASES("conv_paths_match_direct_convolution_and_threads_agree",
                 test_conv_paths_match_direct_convolution_and_threads_agree),
    RN_ISA_CASES("prepacked_weights_give_the_unpacked_forward_under_any_isa",
                 test_prepacked_weights_give_the_unpacked_forward_under_any_isa),
    {"conv_path_choice_depends_on_shape_only", test_conv_path_choice_depends_on_shape_only},
    RN_ISA_CASES("elementwise_drivers_agree_across_isas_and_threads",
                 test_elementwise_drivers_agree_across_isas_and_threads),
};
RN_TEST_MAIN(cases)
