/*
 * The int8 convolution (src/ops/qconv2d.c) against a naive reference written
 * here: the tensors converted to NCHW / OIHW, plain loops over int
 * arithmetic, and the requantization of the int8 scheme written with
 * nearbyintf (the library rounds with the 1.5 * 2^23 trick instead). Every
 * path must give the reference's bytes exactly: the portable path on the
 * OHWI weights, and the packed path with each kernel variant this build and
 * CPU have (a variant the CPU lacks is reported skipped), over a sweep of
 * shapes (k 1/3/5/7, stride 1/2, padding, channel counts off the 4- and
 * 16-multiples, 1-3 input channels, batches), with and without a residual and ReLU, at random
 * and at extreme values (every input and weight -127 or 127), and with
 * multipliers that put the products exactly on ties. Arrays end at a guard
 * page, so a read past an input faults.
 */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "test_kernels_common.h"

#include "ops/ops.h"

typedef struct shape {
    int32_t n, h, w, cin, cout, k, stride, pad;
} shape;

static const shape shapes[] = {
    {1, 5, 5, 3, 5, 3, 1, 1},
    {2, 7, 6, 17, 33, 3, 2, 1},
    {1, 9, 9, 3, 16, 7, 2, 3},
    {1, 8, 8, 20, 19, 1, 1, 0},
    {2, 6, 5, 16, 48, 1, 2, 0},
    {1, 4, 4, 1, 1, 1, 1, 0},
    {1, 12, 11, 37, 23, 3, 1, 0},
    {3, 5, 7, 8, 17, 7, 1, 3},
    {1, 14, 14, 64, 70, 3, 1, 1},
    {1, 7, 7, 5, 3, 3, 2, 2},
    {2, 11, 9, 4, 32, 7, 2, 3},
    {1, 3, 3, 129, 31, 3, 1, 1},
    /* 1-3 input channels (a stem), k 5 */
    {2, 8, 7, 1, 9, 3, 2, 1},
    {1, 10, 10, 2, 20, 5, 1, 2},
    {1, 20, 18, 3, 64, 7, 2, 3},
};

/* ---- random numbers ------------------------------------------------------------- */
static int8_t rand_q(int32_t lo, int32_t hi) {
    return (int8_t)(lo + (int32_t)(rn_test_uniform() * (double)(hi - lo + 1)));
}

/* ---- the reference ---------------------------------------------------------------- */
static int8_t ref_requant(int32_t acc, float m, int has_r, int32_t r, float m_r, int relu) {
    float f = (float)acc * m;
    if (has_r) {
        const float t = (float)r * m_r;
        f = f + t;
    }
    const float lo = relu ? 0.f : -127.f;
    if (f < lo) f = lo;
    if (f > 127.f) f = 127.f;
    return (int8_t)nearbyintf(f);
}

/* y (NHWC, as the op writes it) from NCHW / OIHW copies of the inputs. */
static void reference(const shape *s, int32_t oh, int32_t ow, const int8_t *x_nhwc,
                      const int8_t *w_ohwi, const int32_t *bias, const float *m, const int8_t *r,
                      float m_r, int relu, int8_t *y) {
    const int n = s->n, h = s->h, w = s->w, ci = s->cin, co = s->cout, k = s->k;
    int *x = malloc(sizeof(int) * (size_t)(n * ci * h * w));
    int *wt = malloc(sizeof(int) * (size_t)(co * ci * k * k));
    for (int b = 0; b < n; b++)
        for (int c = 0; c < ci; c++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    x[((b * ci + c) * h + i) * w + j] = x_nhwc[((b * h + i) * w + j) * ci + c];
    for (int o = 0; o < co; o++)
        for (int c = 0; c < ci; c++)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    wt[((o * ci + c) * k + i) * k + j] = w_ohwi[((o * k + i) * k + j) * ci + c];
    for (int b = 0; b < n; b++)
        for (int o = 0; o < co; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    long long acc = bias[o];
                    for (int c = 0; c < ci; c++)
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                const int iy = oy * s->stride - s->pad + i;
                                const int ix = ox * s->stride - s->pad + j;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                acc += (long long)x[((b * ci + c) * h + iy) * w + ix] *
                                       wt[((o * ci + c) * k + i) * k + j];
                            }
                    const size_t p =
                        ((size_t)(b * oh + oy) * (size_t)ow + (size_t)ox) * (size_t)co + (size_t)o;
                    y[p] = ref_requant((int32_t)acc, m[o], r != NULL, r ? r[p] : 0, m_r, relu);
                }
    free(x);
    free(wt);
}

/* ---- the variants --------------------------------------------------------------------- */
typedef struct variant {
    const char *name;
    rn_qconv_kernel kern;
    int available;
} variant;

/* An ISA's variants run where this CPU has the ISA and RN_MAX_ISA allows it
 * (the kernel tests' rule); VNNI and the dot-product extension also need
 * the CPU feature. */
static int isa_ok(int32_t isa) { return table_if_available(isa) != NULL; }

static size_t variants(variant *v) {
    size_t n = 0;
    const uint32_t feat = rn__cpu_features();
    (void)feat;
    v[n++] = (variant){"scalar", {rn_qs8_igemm_4x16__scalar, 4, 0}, 1};
#ifdef RN_HAVE_AVX2
    v[n++] = (variant){"avx2", {rn_qs8_igemm_4x16__avx2, 4, 0}, isa_ok(RN_ISA_AVX2)};
#endif
#ifdef RN_HAVE_AVX512
    v[n++] = (variant){"avx512bw", {rn_qs8_igemm_8x16__avx512bw, 8, 0}, isa_ok(RN_ISA_AVX512)};
    v[n++] = (variant){"avx512vnni",
                       {rn_qs8_igemm_12x16__avx512vnni, 12, 1},
                       isa_ok(RN_ISA_AVX512) && (feat & RN_CPU_AVX512VNNI)};
#endif
#ifdef RN_HAVE_NEON
    v[n++] = (variant){"neon", {rn_qs8_igemm_4x16__neon, 4, 0}, isa_ok(RN_ISA_NEON)};
    v[n++] = (variant){"neondot",
                       {rn_qs8_igemm_4x16__neondot, 4, 0},
                       isa_ok(RN_ISA_NEON) && (feat & RN_CPU_DOTPROD)};
#endif
    return n;
}

/* The kernel variant named `name`, or NULL after a SKIP. */
static const variant *variant_or_skip(const char *name, variant *store) {
    const size_t n = variants(store);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(store[i].name, name)) {
            if (store[i].available) return &store[i];
            SKIP("int8 kernel %s: not on this CPU or above RN_MAX_ISA", name);
            return NULL;
        }
    SKIP("int8 kernel %s: not in this build", name);
    return NULL;
}

/* ---- one case ------------------------------------------------------------------------- */
typedef enum { FILL_RANDOM, FILL_EXTREME, FILL_TIES } fill_kind;

/* Runs the shape with the given variant (NULL: the portable path on OHWI
 * weights) and `threads`, against the reference; returns mismatches. */
static size_t run_case(const shape *s, const rn_qconv_kernel *kern, int32_t threads, int residual,
                       int relu, fill_kind fill) {
    rn_qconv_desc d = {s->n, s->h, s->w, s->cin, s->cout, s->k, s->stride, s->pad, 0, 0};
    CHECK(rn__qconv_desc_init(&d));
    const size_t nx = (size_t)(s->n * s->h * s->w * s->cin);
    const size_t nw = (size_t)(s->cout * s->k * s->k * s->cin);
    const size_t ny = (size_t)s->n * (size_t)d.oh * (size_t)d.ow * (size_t)s->cout;
    guarded gx, gw, gr, gy, gp, gws;
    int8_t *x = guarded_alloc(&gx, nx), *w = guarded_alloc(&gw, nw);
    int8_t *r = residual ? guarded_alloc(&gr, ny) : NULL;
    int8_t *y = guarded_alloc(&gy, ny);
    int8_t *yref = malloc(ny);
    int32_t *bias = malloc(sizeof(int32_t) * (size_t)s->cout);
    float *m = malloc(sizeof(float) * (size_t)s->cout);
    const int32_t lo = fill == FILL_RANDOM ? -127 : 0;
    for (size_t i = 0; i < nx; i++)
        x[i] = fill == FILL_EXTREME ? (rn_test_uniform() < 0.5 ? -127 : 127) : rand_q(lo, 127);
    for (size_t i = 0; i < nw; i++)
        w[i] = fill == FILL_EXTREME ? (rn_test_uniform() < 0.5 ? -127 : 127) : rand_q(-127, 127);
    if (r)
        for (size_t i = 0; i < ny; i++)
            r[i] =
                fill == FILL_EXTREME ? (rn_test_uniform() < 0.5 ? -127 : 127) : rand_q(-127, 127);
    const double kk = (double)s->k * s->k * s->cin;
    for (int32_t c = 0; c < s->cout; c++) {
        bias[c] = (int32_t)((rn_test_uniform() - 0.5) * 2000.0 * kk);
        if (fill == FILL_TIES)
            m[c] = c % 2 ? 0.5f : 0.25f; /* acc * m often lands on .5: ties to even */
        else
            m[c] = (float)((0.5 + rn_test_uniform()) * 127.0 / (127.0 * 127.0 * sqrt(kk)));
    }
    if (fill == FILL_TIES)
        for (int32_t c = 0; c < s->cout; c++) bias[c] = c - 3;
    if (fill == FILL_EXTREME)
        for (int32_t c = 0; c < s->cout; c++) m[c] = c % 3 ? 1.f / 16384.f : 1.f;
    const float m_r = fill == FILL_TIES ? 0.5f : 0.75f;
    if (fill == FILL_TIES)
        for (size_t i = 0; r && i < ny; i++) r[i] = rand_q(-5, 5);
    reference(s, d.oh, d.ow, x, w, bias, m, r, m_r, relu, yref);

    rn_ctx *ctx = ctx_for(RN_ISA_SCALAR, threads);
    CHECK(ctx != NULL);
    void *packed = NULL, *ws = NULL;
    if (kern) {
        packed = guarded_alloc(&gp, rn__qconv2d_packed_size(&d));
        rn__qconv2d_pack(&d, w, bias, packed);
        ws = guarded_alloc(&gws, rn__qconv2d_workspace(ctx, &d, 1));
        rn__qconv2d_run_kernel(ctx, kern, &d, x, packed, m, r, m_r, relu, y, ws);
    } else {
        CHECK(rn__qconv2d_workspace(ctx, &d, 0) == 0);
        rn__qconv2d_run(ctx, &d, x, w, bias, NULL, m, r, m_r, relu, y, NULL);
    }
    size_t bad = 0;
    for (size_t i = 0; i < ny; i++)
        if (y[i] != yref[i]) {
            if (bad < 3)
                fprintf(stderr,
                        "  %s %dx%dx%dx%d>%d k%d s%d p%d r%d relu%d fill%d: y[%zu] = %d, "
                        "reference %d\n",
                        kern ? "packed" : "plain", s->n, s->h, s->w, s->cin, s->cout, s->k,
                        s->stride, s->pad, residual, relu, (int)fill, i, y[i], yref[i]);
            bad++;
        }
    rn_ctx_destroy(ctx);
    if (kern) {
        guarded_free(&gp);
        guarded_free(&gws);
    }
    guarded_free(&gx);
    guarded_free(&gw);
    if (r) guarded_free(&gr);
    guarded_free(&gy);
    free(yref);
    free(bias);
    free(m);
    return bad;
}

static void sweep(const rn_qconv_kernel *kern, int32_t threads) {
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int combo = 0; combo < 4; combo++) {
            CHECK(run_case(&shapes[i], kern, threads, combo & 1, combo >> 1, FILL_RANDOM) == 0);
            CHECK(run_case(&shapes[i], kern, threads, combo & 1, combo >> 1, FILL_EXTREME) == 0);
            CHECK(run_case(&shapes[i], kern, threads, combo & 1, combo >> 1, FILL_TIES) == 0);
        }
}

static void sweep_variant(const char *name) {
    variant store[8];
    const variant *v = variant_or_skip(name, store);
    if (!v) return;
    sweep(&v->kern, 1);
}

/* ---- tests ---------------------------------------------------------------------------- */

/* The reference itself on a case worked by hand: 1x1 conv, 2 channels in,
 * x = (3, -2), w = (5, 7), bias 10: acc = 15 - 14 + 10 = 11; m = 0.5 gives
 * 5.5 -> 6 (ties to even); with residual 3 * m_r 0.5 = 1.5: 7.0 -> 7; m = 1.5
 * gives 16.5 -> 16; m = 100 clamps to 127, m = -100 to -127 or 0 with ReLU. */
static void reference_by_hand(void) {
    const shape s = {1, 1, 1, 2, 1, 1, 1, 0};
    const int8_t x[2] = {3, -2}, w[2] = {5, 7}, r[1] = {3};
    const int32_t bias[1] = {10};
    int8_t y[1];
    float m[1] = {0.5f};
    reference(&s, 1, 1, x, w, bias, m, NULL, 0.f, 0, y);
    CHECK(y[0] == 6);
    reference(&s, 1, 1, x, w, bias, m, r, 0.5f, 0, y);
    CHECK(y[0] == 7);
    m[0] = 1.5f;
    reference(&s, 1, 1, x, w, bias, m, NULL, 0.f, 0, y);
    CHECK(y[0] == 16);
    m[0] = 100.f;
    reference(&s, 1, 1, x, w, bias, m, NULL, 0.f, 0, y);
    CHECK(y[0] == 127);
    m[0] = -100.f;
    reference(&s, 1, 1, x, w, bias, m, NULL, 0.f, 0, y);
    CHECK(y[0] == -127);
    reference(&s, 1, 1, x, w, bias, m, NULL, 0.f, 1, y);
    CHECK(y[0] == 0);
}

static void desc_limits(void) {
    rn_qconv_desc d = {1, 8, 8, 16, 16, 3, 1, 1, 0, 0};
    CHECK(rn__qconv_desc_init(&d) && d.oh == 8 && d.ow == 8);
    d = (rn_qconv_desc){1, 224, 224, 3, 64, 7, 2, 3, 0, 0};
    CHECK(rn__qconv_desc_init(&d) && d.oh == 112 && d.ow == 112);
    d = (rn_qconv_desc){1, 2, 2, 16, 16, 3, 1, 0, 0, 0}; /* window larger than the input */
    CHECK(!rn__qconv_desc_init(&d));
    d = (rn_qconv_desc){1, 8, 8, 16, 16, 3, 0, 1, 0, 0}; /* stride 0 */
    CHECK(!rn__qconv_desc_init(&d));
    d = (rn_qconv_desc){1, 8, 8, 16, 16, 3, 1, -1, 0, 0}; /* negative padding */
    CHECK(!rn__qconv_desc_init(&d));
    d = (rn_qconv_desc){1, 8, 8, 8192, 16, 3, 1, 1, 0, 0}; /* 73728 products per output */
    CHECK(!rn__qconv_desc_init(&d));
    d = (rn_qconv_desc){1, 8, 8, 7280, 16, 3, 1, 1, 0, 0}; /* 65520 */
    CHECK(rn__qconv_desc_init(&d));
}

/* The algorithm choice: packed with derived weights, plain without. */
static void choice(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), NULL);
    rn_qconv_desc d = {1, 56, 56, 64, 64, 3, 1, 1, 0, 0};
    CHECK(rn__qconv_desc_init(&d));
    rn_conv_choice ch = rn__qconv_choose(ctx, &d, RN_CONV_USE_DERIVED);
    CHECK(ch.algo == RN_CONV_ALGO_INT8_PACKED);
    CHECK(ch.derived_bytes == rn__qconv2d_packed_size(&d) && ch.derived_bytes >= 64 * 9 * 64);
    CHECK(ch.workspace >= (size_t)58 * 58 * 64);
    ch = rn__qconv_choose(ctx, &d, 0);
    CHECK(ch.algo == RN_CONV_ALGO_INT8_PLAIN && ch.derived_bytes == 0 && ch.workspace == 0);
    CHECK(!strcmp(rn__conv_algo_name(RN_CONV_ALGO_INT8_PACKED), "int8-packed"));
    rn_ctx_destroy(ctx);
}

static void plain_path(void) { sweep(NULL, 1); }
static void plain_path_threads(void) { sweep(NULL, 3); }
/* The ISA table the context picks runs the same bytes (the packed path
 * through rn__qconv2d_run). */
static void table_kernel(void) {
    const shape *s = &shapes[8];
    rn_qconv_desc d = {s->n, s->h, s->w, s->cin, s->cout, s->k, s->stride, s->pad, 0, 0};
    CHECK(rn__qconv_desc_init(&d));
    const size_t nx = (size_t)(s->n * s->h * s->w * s->cin), nw = (size_t)(s->cout * 9 * s->cin);
    const size_t ny = (size_t)(s->n * d.oh * d.ow * s->cout);
    int8_t *x = malloc(nx), *w = malloc(nw), *y0 = malloc(ny), *y1 = malloc(ny);
    int32_t *bias = malloc(sizeof(int32_t) * (size_t)s->cout);
    float *m = malloc(sizeof(float) * (size_t)s->cout);
    for (size_t i = 0; i < nx; i++) x[i] = rand_q(-127, 127);
    for (size_t i = 0; i < nw; i++) w[i] = rand_q(-127, 127);
    for (int32_t c = 0; c < s->cout; c++) {
        bias[c] = rand_q(-127, 127) * 100;
        m[c] = 1.f / 2000.f;
    }
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), NULL);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2), ctx);
    void *packed = malloc(rn__qconv2d_packed_size(&d));
    void *ws = malloc(rn__qconv2d_workspace(ctx, &d, 1));
    rn__qconv2d_pack(&d, w, bias, packed);
    rn__qconv2d_run(ctx, &d, x, w, bias, NULL, m, NULL, 0.f, 1, y0, NULL);
    rn__qconv2d_run(ctx, &d, x, NULL, NULL, packed, m, NULL, 0.f, 1, y1, ws);
    CHECK(!memcmp(y0, y1, ny));
    rn_ctx_destroy(ctx);
    free(packed);
    free(ws);
    free(x);
    free(w);
    free(y0);
    free(y1);
    free(bias);
    free(m);
}

static void kernel_scalar(void) { sweep_variant("scalar"); }
static void kernel_avx2(void) { sweep_variant("avx2"); }
static void kernel_avx512bw(void) { sweep_variant("avx512bw"); }
static void kernel_avx512vnni(void) { sweep_variant("avx512vnni"); }
static void kernel_neon(void) { sweep_variant("neon"); }
static void kernel_neondot(void) { sweep_variant("neondot"); }
static void kernel_scalar_threads(void) {
    variant store[8];
    const variant *v = variant_or_skip("scalar", store);
    if (v) sweep(&v->kern, 2);
}

static const rn_test_case cases[] = {
    {"reference_by_hand", reference_by_hand},
    {"desc_limits", desc_limits},
    {"choice", choice},
    {"plain_path", plain_path},
    {"plain_path_threads", plain_path_threads},
    {"table_kernel", table_kernel},
    {"kernel_scalar", kernel_scalar},
    {"kernel_avx2", kernel_avx2},
    {"kernel_avx512bw", kernel_avx512bw},
    {"kernel_avx512vnni", kernel_avx512vnni},
    {"kernel_neon", kernel_neon},
    {"kernel_neondot", kernel_neondot},
    {"kernel_scalar_threads", kernel_scalar_threads},
};
RN_TEST_MAIN(cases)
