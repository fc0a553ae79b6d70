/*
 * int8 models end to end (docs/int8.md): calibration, the int8 file, and
 * the int8 plan against an independent plain-C reference that reads the
 * file's tensors by name and computes the documented arithmetic with its
 * own loops (libm's nearbyintf for the rounding); logits must be equal to
 * the bit. Also: int8 against float accuracy, each calibration method,
 * thread counts, weights kept in the caller's bytes, and every refusal of
 * the reader naming its tensor.
 */
#include <math.h>
#include <stdint.h>

#include "harness.h"
#include "resnet.h"

/* ---- the architectures under test ---------------------------------------------- */
typedef struct arch {
    const char *preset; /* or NULL: built below */
    int32_t width;
} arch;

/* A small ImageNet-style net: 7x7 stride-2 stem with max pool (72 channels:
 * the pool's 64-channel passes and a tail), a basic stage with a projection
 * (B), a bottleneck stage (C shortcuts). */
static rn_model *build_custom(rn_ctx *ctx) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &m), ctx);
    CHECK_OK(rn_model_add_stem(m, 72, 7, 2, 3, 1), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 2, 8, 1, RN_SHORTCUT_B, 0), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 16, 2, RN_SHORTCUT_B, 0), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BOTTLENECK, 2, 4, 2, RN_SHORTCUT_C, 0), ctx);
    CHECK_OK(rn_model_add_head(m, 7), ctx);
    return m;
}

static void randomise_bn(rn_model *m) {
    for (int32_t i = 0; i < rn_model_tensor_count(m); i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, NULL);
        if (ndim != 1 || strncmp(name, "fc", 2) == 0) continue;
        float *v = malloc((size_t)dims[0] * sizeof(float));
        double lo = -0.2, hi = 0.2;
        if (strstr(name, "running_var"))
            lo = 0.5, hi = 2.0;
        else if (strstr(name, "weight"))
            lo = 0.5, hi = 1.5;
        rn_test_fill_uniform(v, (size_t)dims[0], lo, hi);
        rn_model_set_tensor(m, name, v, (size_t)dims[0]);
        free(v);
    }
}

static rn_model *make_float(rn_ctx *ctx, const char *preset, int32_t width, uint64_t seed) {
    rn_model *m = NULL;
    if (preset) {
        CHECK_OK(rn_model_create_preset(ctx, preset, 0, 0, RN_SHORTCUT_DEFAULT, width, 0, &m), ctx);
    } else {
        m = build_custom(ctx);
    }
    if (m) {
        CHECK_OK(rn_model_init(m, seed), ctx);
        randomise_bn(m);
    }
    return m;
}

static float *random_images(size_t n, double lo, double hi) {
    float *x = malloc(n * sizeof(float));
    rn_test_fill_uniform(x, n, lo, hi);
    return x;
}

static rn_model *quantize(rn_ctx *ctx, rn_model *f, int32_t method, double param, int64_t hw,
                          int batches) {
    rn_calibrator *cal = NULL;
    rn_model *q = NULL;
    int32_t c = 0;
    rn_model_in_channels(f, &c);
    CHECK_OK(rn_calibrator_create(f, &cal), ctx);
    size_t count = (size_t)4 * (size_t)c * (size_t)(hw * hw);
    for (int b = 0; b < batches; b++) {
        float *x = random_images(count, -1.0, 1.0);
        CHECK_OK(rn_calibrator_add_batch(cal, x, count, 4, hw, hw, RN_LAYOUT_NCHW), ctx);
        free(x);
    }
    CHECK_OK(rn_calibrator_quantize(cal, method, param, &q), ctx);
    rn_calibrator_destroy(cal);
    return q;
}

static float *run(rn_model *m, const float *x, int64_t n, int64_t hw, int32_t layout) {
    rn_plan *p = NULL;
    int32_t c = 0, k = 0;
    rn_model_in_channels(m, &c);
    rn_model_classes(m, &k);
    float *out = calloc((size_t)(n * k), sizeof(float));
    rn_status s = rn_plan_create(m, n, hw, hw, RN_MODE_INFER, &p);
    CHECK(s == RN_OK);
    if (s == RN_OK)
        CHECK(rn_plan_forward(p, x, (size_t)(n * c * hw * hw), layout, out, (size_t)(n * k)) ==
              RN_OK);
    rn_plan_destroy(p);
    return out;
}

/* ---- the reference: the file's tensors and the documented arithmetic -------------- */
typedef struct ref_t {
    int8_t *a; /* NHWC */
    int64_t n, h, w, c;
    float s;
} ref_t;

static const rn_safetensors *ref_st;

static void *tensor(const char *name, int32_t want_dtype, size_t *count) {
    int32_t i, dt, nd;
    int64_t d[8];
    if (rn_safetensors_find(ref_st, name, &i) != RN_OK) {
        fprintf(stderr, "  reference: no tensor %s\n", name);
        rn_test_failed_checks++;
        return NULL;
    }
    rn_safetensors_info(ref_st, i, NULL, &dt, &nd, d);
    CHECK(dt == want_dtype);
    size_t n = 1, es = dt == RN_DTYPE_I8 ? 1 : 4;
    for (int32_t k = 0; k < nd; k++) n *= (size_t)d[k];
    void *v = malloc(n * es);
    CHECK(rn_safetensors_read_raw(ref_st, i, v, n * es) == RN_OK);
    if (count) *count = n;
    return v;
}

static float scalar(const char *name) {
    float *v = tensor(name, RN_DTYPE_F32, NULL), r = v ? v[0] : 0;
    free(v);
    return r;
}

static int8_t q8(float f, float lo) {
    f = f < lo ? lo : f > 127.0f ? 127.0f : f;
    return (int8_t)nearbyintf(f);
}

/* conv `name` of x (k, stride, pad) with an optional residual r; out scale from the file */
static ref_t ref_conv(const char *name, const ref_t *x, int k, int stride, int pad, int relu,
                      const ref_t *r) {
    char buf[96];
    size_t oc = 0;
    snprintf(buf, sizeof buf, "%s.bias", name);
    int32_t *bias = tensor(buf, RN_DTYPE_I32, &oc);
    snprintf(buf, sizeof buf, "%s.weight_scale", name);
    float *sw = tensor(buf, RN_DTYPE_F32, NULL);
    snprintf(buf, sizeof buf, "%s.weight", name);
    int8_t *w = tensor(buf, RN_DTYPE_I8, NULL);
    snprintf(buf, sizeof buf, "%s.output_scale", name);
    ref_t y = {NULL,
               x->n,
               (x->h + 2 * pad - k) / stride + 1,
               (x->w + 2 * pad - k) / stride + 1,
               (int64_t)oc,
               scalar(buf)};
    y.a = malloc((size_t)(y.n * y.h * y.w * y.c));
    for (int64_t n = 0; n < y.n; n++)
        for (int64_t oy = 0; oy < y.h; oy++)
            for (int64_t ox = 0; ox < y.w; ox++)
                for (int64_t c = 0; c < y.c; c++) {
                    int32_t acc = bias[c];
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                            if (iy < 0 || ix < 0 || iy >= x->h || ix >= x->w) continue;
                            for (int64_t i = 0; i < x->c; i++)
                                acc += (int32_t)x->a[((n * x->h + iy) * x->w + ix) * x->c + i] *
                                       (int32_t)w[((c * k + ky) * k + kx) * x->c + i];
                        }
                    float m = (float)((double)x->s * (double)sw[c] / (double)y.s);
                    float f = (float)acc * m;
                    size_t at = (size_t)(((n * y.h + oy) * y.w + ox) * y.c + c);
                    if (r) f = f + (float)r->a[at] * (float)((double)r->s / (double)y.s);
                    y.a[at] = q8(f, relu ? 0.0f : -127.0f);
                }
    free(bias), free(sw), free(w);
    return y;
}

typedef struct ref_stage {
    int type, blocks, width, stride, sc; /* sc: 0 A, 1 B, 2 C, 3 none */
} ref_stage;

typedef struct ref_arch {
    int in, stem, k, stride, pad, pool, classes, nstages;
    ref_stage st[4];
} ref_arch;

static float *reference(const void *file, size_t size, const ref_arch *a, const float *x_nchw,
                        int64_t n, int64_t hw) {
    rn_ctx *ctx = NULL;
    rn_safetensors *st = NULL;
    rn_ctx_create(&ctx);
    CHECK_OK(rn_safetensors_open_mem(ctx, file, size, &st), ctx);
    ref_st = st;
    /* every activation was seen by the calibrator: none has the scale 1 an
     * activation that never was (or was always zero) falls back to */
    for (int32_t i = 0; i < rn_safetensors_count(st); i++) {
        const char *name;
        rn_safetensors_info(st, i, &name, NULL, NULL, NULL);
        if (strstr(name, "output_scale") && scalar(name) == 1.0f) {
            fprintf(stderr, "  %s is 1: never calibrated\n", name);
            rn_test_failed_checks++;
        }
    }
    ref_t x = {NULL, n, hw, hw, a->in, scalar("input_scale")};
    x.a = malloc((size_t)(n * hw * hw * a->in));
    float inv = (float)(1.0 / (double)x.s);
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < a->in; c++)
            for (int64_t p = 0; p < hw * hw; p++)
                x.a[(i * hw * hw + p) * a->in + c] =
                    q8(x_nchw[(i * a->in + c) * hw * hw + p] * inv, -127.0f);
    ref_t t = ref_conv("conv1", &x, a->k, a->stride, a->pad, 1, NULL);
    free(x.a);
    if (a->pool) {
        ref_t p = {NULL, t.n, (t.h - 1) / 2 + 1, (t.w - 1) / 2 + 1, t.c, t.s};
        p.a = malloc((size_t)(p.n * p.h * p.w * p.c));
        for (int64_t i = 0; i < p.n; i++)
            for (int64_t oy = 0; oy < p.h; oy++)
                for (int64_t ox = 0; ox < p.w; ox++)
                    for (int64_t c = 0; c < p.c; c++) {
                        int best = -1000;
                        for (int64_t y = oy * 2 - 1; y <= oy * 2 + 1; y++)
                            for (int64_t xx = ox * 2 - 1; xx <= ox * 2 + 1; xx++)
                                if (y >= 0 && xx >= 0 && y < t.h && xx < t.w) {
                                    int v = t.a[((i * t.h + y) * t.w + xx) * t.c + c];
                                    if (v > best) best = v;
                                }
                        p.a[((i * p.h + oy) * p.w + ox) * p.c + c] = (int8_t)best;
                    }
        free(t.a);
        t = p;
    }
    for (int s = 0; s < a->nstages; s++) {
        const ref_stage *g = &a->st[s];
        for (int b = 0; b < g->blocks; b++) {
            char base[64], name[96];
            snprintf(base, sizeof base, "layer%d.%d", s + 1, b);
            int stride = b == 0 ? g->stride : 1;
            int out = g->type ? 4 * g->width : g->width;
            int change = stride != 1 || t.c != out;
            ref_t sc = t, owned = {NULL, 0, 0, 0, 0, 0};
            int has_sc = g->sc != 3;
            if (g->sc == 2 || (g->sc == 1 && change)) {
                snprintf(name, sizeof name, "%s.downsample.0", base);
                owned = ref_conv(name, &t, 1, stride, 0, 0, NULL);
                sc = owned;
            } else if (g->sc == 0 && change) {
                owned = t;
                owned.h = (t.h + stride - 1) / stride, owned.w = (t.w + stride - 1) / stride;
                owned.c = out;
                owned.a = calloc((size_t)(owned.n * owned.h * owned.w * out), 1);
                int64_t lo = (out - t.c) / 2;
                for (int64_t i = 0; i < t.n; i++)
                    for (int64_t y = 0; y < owned.h; y++)
                        for (int64_t xx = 0; xx < owned.w; xx++)
                            memcpy(owned.a + ((i * owned.h + y) * owned.w + xx) * out + lo,
                                   t.a + ((i * t.h + y * stride) * t.w + xx * stride) * t.c,
                                   (size_t)t.c);
                sc = owned;
            }
            ref_t u;
            if (g->type == 0) {
                snprintf(name, sizeof name, "%s.conv1", base);
                ref_t c1 = ref_conv(name, &t, 3, stride, 1, 1, NULL);
                snprintf(name, sizeof name, "%s.conv2", base);
                u = ref_conv(name, &c1, 3, 1, 1, 1, has_sc ? &sc : NULL);
                free(c1.a);
            } else {
                snprintf(name, sizeof name, "%s.conv1", base);
                ref_t c1 = ref_conv(name, &t, 1, 1, 0, 1, NULL);
                snprintf(name, sizeof name, "%s.conv2", base);
                ref_t c2 = ref_conv(name, &c1, 3, stride, 1, 1, NULL);
                snprintf(name, sizeof name, "%s.conv3", base);
                u = ref_conv(name, &c2, 1, 1, 0, 1, has_sc ? &sc : NULL);
                free(c1.a), free(c2.a);
            }
            free(owned.a);
            free(t.a);
            t = u;
        }
    }
    float k = (float)((double)t.s / (double)(t.h * t.w));
    size_t fcn = 0;
    float *fw = tensor("fc.weight", RN_DTYPE_F32, &fcn),
          *fb = tensor("fc.bias", RN_DTYPE_F32, NULL);
    float *logits = malloc((size_t)(n * a->classes) * sizeof(float));
    float *feat = malloc((size_t)t.c * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < t.c; c++) {
            int64_t sum = 0;
            for (int64_t p = 0; p < t.h * t.w; p++) sum += t.a[(i * t.h * t.w + p) * t.c + c];
            feat[c] = (float)sum * k;
        }
        for (int o = 0; o < a->classes; o++) {
            float acc = 0.0f;
            for (int64_t c = 0; c < t.c; c++) acc = acc + feat[c] * fw[o * t.c + c];
            logits[i * a->classes + o] = acc + fb[o];
        }
    }
    free(feat), free(fw), free(fb), free(t.a);
    rn_safetensors_close(st);
    rn_ctx_destroy(ctx);
    return logits;
}

static const ref_arch resnet20_w8 = {
    3, 8, 3, 1, 1, 0, 10, 3, {{0, 3, 8, 1, 0}, {0, 3, 16, 2, 0}, {0, 3, 32, 2, 0}}};
static const ref_arch custom_arch = {
    3, 72, 7, 2, 3, 1, 7, 3, {{0, 2, 8, 1, 1}, {0, 1, 16, 2, 1}, {1, 2, 4, 2, 2}}};

static void *save(rn_ctx *ctx, const rn_model *q, size_t *size) {
    CHECK_OK(rn_model_save_safetensors_mem(q, NULL, 0, size), ctx);
    void *buf = malloc(*size);
    CHECK_OK(rn_model_save_safetensors_mem(q, buf, *size, size), ctx);
    return buf;
}

static void check_against_reference(const char *preset, int32_t width, const ref_arch *a,
                                    int64_t hw, int32_t method, double param) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *f = make_float(ctx, preset, width, 7);
    rn_model *q = quantize(ctx, f, method, param, hw, 3);
    CHECK(q != NULL);
    if (!q) return;
    int32_t prec = -1;
    CHECK_OK(rn_model_precision(q, &prec), ctx);
    CHECK(prec == RN_PRECISION_INT8);
    size_t size = 0;
    void *file = save(ctx, q, &size);
    rn_model *l = NULL;
    CHECK_OK(rn_model_load_int8_mem(ctx, file, size, 0, &l), ctx);
    const int64_t n = 3;
    size_t count = (size_t)(n * a->in * hw * hw);
    float *x = random_images(count, -1.2, 1.2);
    float *want = reference(file, size, a, x, n, hw);
    float *got = run(q, x, n, hw, RN_LAYOUT_NCHW),
          *got2 = l ? run(l, x, n, hw, RN_LAYOUT_NCHW) : NULL;
    size_t nl = (size_t)(n * a->classes);
    CHECK(memcmp(got, want, nl * sizeof(float)) == 0);
    if (got2) CHECK(memcmp(got2, want, nl * sizeof(float)) == 0);
    for (size_t i = 0; i < nl && i < 4; i++)
        if (got[i] != want[i])
            fprintf(stderr, "  logit %zu: %.9g vs reference %.9g\n", i, got[i], want[i]);
    /* int8 stays near float: the logits within a quarter of their size */
    float *fl = run(f, x, n, hw, RN_LAYOUT_NCHW);
    double err = 0, mag = 0;
    for (size_t i = 0; i < nl; i++) err += fabs(fl[i] - got[i]), mag += fabs(fl[i]);
    CHECK(err < 0.25 * mag);
    printf("     int8 vs float: mean abs logit difference %.3f of %.3f (method %d)\n",
           err / (double)nl, mag / (double)nl, (int)method);
    free(fl), free(got), free(got2), free(want), free(x), free(file);
    rn_model_destroy(l);
    rn_model_destroy(q);
    rn_model_destroy(f);
    rn_ctx_destroy(ctx);
}

static void test_resnet20_matches_the_reference_for_each_method(void) {
    check_against_reference("resnet20", 8, &resnet20_w8, 12, RN_CALIB_MAX, 0);
    check_against_reference("resnet20", 8, &resnet20_w8, 12, RN_CALIB_PERCENTILE, 99.9);
    check_against_reference("resnet20", 8, &resnet20_w8, 12, RN_CALIB_ENTROPY, 0);
}

static void test_projection_bottleneck_and_max_pool_match_the_reference(void) {
    check_against_reference(NULL, 0, &custom_arch, 37, RN_CALIB_PERCENTILE, 99.99);
}

static void test_threads_and_layouts_give_the_same_logits(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *f = make_float(ctx, NULL, 0, 3);
    rn_model *q = quantize(ctx, f, RN_CALIB_MAX, 0, 29, 2);
    const int64_t n = 3, hw = 29;
    size_t count = (size_t)(n * 3 * hw * hw);
    float *x = random_images(count, -1, 1), *xh = malloc(count * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t p = 0; p < hw * hw; p++)
                xh[(i * hw * hw + p) * 3 + c] = x[(i * 3 + c) * hw * hw + p];
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 1), ctx);
    float *a = run(q, x, n, hw, RN_LAYOUT_NCHW);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2), ctx);
    float *b = run(q, x, n, hw, RN_LAYOUT_NCHW), *c = run(q, xh, n, hw, RN_LAYOUT_NHWC);
    CHECK(memcmp(a, b, (size_t)(n * 7) * sizeof(float)) == 0);
    CHECK(memcmp(a, c, (size_t)(n * 7) * sizeof(float)) == 0);
    /* features: the fc input, which the fc then maps to the same logits */
    rn_plan *p = NULL;
    float feats[3 * 16];
    CHECK_OK(rn_plan_create(q, n, hw, hw, RN_MODE_INFER, &p), ctx);
    CHECK_OK(rn_plan_features(p, x, count, RN_LAYOUT_NCHW, feats, 3 * 16), ctx);
    float fw[7 * 16], fb[7];
    CHECK_OK(rn_model_get_tensor(q, "fc.weight", fw, 7 * 16), ctx);
    CHECK_OK(rn_model_get_tensor(q, "fc.bias", fb, 7), ctx);
    for (int i = 0; i < 7; i++) {
        float acc = 0.0f;
        for (int k = 0; k < 16; k++) acc = acc + feats[k] * fw[i * 16 + k];
        CHECK(acc + fb[i] == a[i]);
    }
    /* an int8 model neither trains nor changes */
    rn_plan *t = NULL;
    CHECK_STATUS(rn_plan_create(q, 2, hw, hw, RN_MODE_TRAIN, &t), RN_E_BAD_STATE, ctx);
    CHECK_STATUS(rn_model_set_tensor(q, "fc.bias", fb, 7), RN_E_BAD_STATE, ctx);
    CHECK_STATUS(rn_model_init(q, 1), RN_E_BAD_STATE, ctx);
    rn_calibrator *cal = NULL;
    CHECK_STATUS(rn_calibrator_create(q, &cal), RN_E_BAD_STATE, ctx);
    rn_plan_destroy(p);
    free(a), free(b), free(c), free(x), free(xh);
    rn_model_destroy(q);
    rn_model_destroy(f);
    rn_ctx_destroy(ctx);
}

static void test_weights_in_place_are_read_where_they_are(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *f = make_float(ctx, "resnet20", 8, 5);
    rn_model *q = quantize(ctx, f, RN_CALIB_MAX, 0, 10, 1);
    size_t size = 0;
    unsigned char *file = save(ctx, q, &size);
    rn_model *in = NULL, *copy = NULL;
    CHECK_OK(rn_model_load_int8_mem(ctx, file, size, 1, &in), ctx);
    CHECK_OK(rn_model_load_int8_mem(ctx, file, size, 0, &copy), ctx);
    const int64_t n = 2, hw = 10;
    size_t count = (size_t)(n * 3 * hw * hw);
    float *x = random_images(count, -1, 1);
    float *a = run(in, x, n, hw, RN_LAYOUT_NCHW), *b = run(copy, x, n, hw, RN_LAYOUT_NCHW);
    CHECK(memcmp(a, b, 20 * sizeof(float)) == 0);
    /* the blob entry point takes the int8 file too, in place */
    rn_model *blob = NULL;
    CHECK_OK(rn_model_create_from_blob(ctx, file, size, RN_BLOB_NO_DERIVED, &blob), ctx);
    if (blob) {
        int32_t prec = -1;
        CHECK_OK(rn_model_precision(blob, &prec), ctx);
        CHECK(prec == RN_PRECISION_INT8);
        float *c = run(blob, x, n, hw, RN_LAYOUT_NCHW);
        CHECK(memcmp(a, c, 20 * sizeof(float)) == 0);
        free(c);
        rn_model_destroy(blob);
    }
    /* change the stem's weights inside the buffer: only the in-place model sees it */
    rn_safetensors *st = NULL;
    int32_t i;
    CHECK_OK(rn_safetensors_open_mem(ctx, file, size, &st), ctx);
    CHECK_OK(rn_safetensors_find(st, "conv1.weight", &i), ctx);
    unsigned char *hdr = file + 8;
    const char *at = strstr((const char *)hdr, "\"conv1.weight\"");
    CHECK(at != NULL);
    const char *off = at ? strstr(at, "data_offsets\":[") : NULL;
    if (off) {
        size_t begin = (size_t)strtoull(off + 15, NULL, 10);
        uint64_t hlen = 0;
        for (int k = 7; k >= 0; k--) hlen = hlen << 8 | file[k];
        for (size_t k = 0; k < 8 * 27; k++) file[8 + hlen + begin + k] = (unsigned char)(k % 7);
        float *a2 = run(in, x, n, hw, RN_LAYOUT_NCHW), *b2 = run(copy, x, n, hw, RN_LAYOUT_NCHW);
        CHECK(memcmp(a2, a, 20 * sizeof(float)) != 0);
        CHECK(memcmp(b2, b, 20 * sizeof(float)) == 0);
        free(a2), free(b2);
    }
    rn_safetensors_close(st);
    free(a), free(b), free(x), free(file);
    rn_model_destroy(in);
    rn_model_destroy(copy);
    rn_model_destroy(q);
    rn_model_destroy(f);
    rn_ctx_destroy(ctx);
}

/* ---- bad files: rebuilt with one tensor changed, each must be refused naming it ----- */
typedef struct edit {
    const char *name;   /* tensor to change, drop ("drop") or add ("extra") */
    const char *how;    /* "drop", "zero", "neg", "nan", "inf", "dtype", "shape", "m128", "bias" */
    const char *expect; /* text the sentence must contain */
} edit;

static void *rewrite(rn_ctx *ctx, const void *file, size_t size, const edit *e, size_t *out_size) {
    rn_safetensors *st = NULL;
    rn_safetensors_writer *w = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, file, size, &st), ctx);
    CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
    static const char *const keys[] = {"format", "version", "arch", "weight_layout"};
    for (int k = 0; k < 4; k++) {
        const char *v;
        if (rn_safetensors_metadata(st, keys[k], &v) == RN_OK)
            rn_safetensors_writer_set_metadata(w, keys[k], v);
        if (!strcmp(e->how, keys[k])) rn_safetensors_writer_set_metadata(w, keys[k], e->name);
    }
    for (int32_t i = 0; i < rn_safetensors_count(st); i++) {
        const char *name;
        int32_t dt, nd;
        int64_t d[8];
        rn_safetensors_info(st, i, &name, &dt, &nd, d);
        size_t n = 1, es = dt == RN_DTYPE_I8 ? 1 : 4;
        for (int32_t k = 0; k < nd; k++) n *= (size_t)d[k];
        unsigned char *v = malloc(n * es + 8);
        rn_safetensors_read_raw(st, i, v, n * es);
        int hit = !strcmp(name, e->name);
        if (hit && !strcmp(e->how, "drop")) {
            free(v);
            continue;
        }
        if (hit) {
            float fv = 0;
            if (!strcmp(e->how, "neg"))
                fv = -0.5f;
            else if (!strcmp(e->how, "nan"))
                fv = NAN;
            else if (!strcmp(e->how, "inf"))
                fv = INFINITY;
            if (!strcmp(e->how, "zero") || !strcmp(e->how, "neg") || !strcmp(e->how, "nan") ||
                !strcmp(e->how, "inf"))
                memcpy(v + 4 * (n - 1), &fv, 4);
            else if (!strcmp(e->how, "dtype"))
                dt = dt == RN_DTYPE_F32 ? RN_DTYPE_I32 : RN_DTYPE_U8;
            else if (!strcmp(e->how, "shape"))
                d[0] = d[0] + 1, v = realloc(v, (n + (n / (size_t)(d[0] - 1))) * es + 8),
                memset(v + n * es, 0, (n / (size_t)(d[0] - 1)) * es);
            else if (!strcmp(e->how, "m128"))
                v[5] = 0x80;
            else if (!strcmp(e->how, "bias")) {
                int32_t big = 2147000000;
                memcpy(v, &big, 4);
            }
        }
        rn_safetensors_writer_add(w, name, dt, nd, d, v);
        free(v);
    }
    if (!strcmp(e->how, "extra")) {
        float one = 1;
        int64_t d1 = 1;
        rn_safetensors_writer_add(w, e->name, RN_DTYPE_F32, 1, &d1, &one);
    }
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, out_size), ctx);
    void *buf = malloc(*out_size);
    CHECK_OK(rn_safetensors_writer_save_mem(w, buf, *out_size, out_size), ctx);
    rn_safetensors_writer_destroy(w);
    rn_safetensors_close(st);
    return buf;
}

static void test_bad_files_are_refused_naming_the_tensor(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *f = make_float(ctx, "resnet20", 4, 9);
    rn_model *q = quantize(ctx, f, RN_CALIB_MAX, 0, 8, 1);
    size_t size = 0;
    void *file = save(ctx, q, &size);
    static const edit edits[] = {
        {"layer2.1.conv1.weight_scale", "drop", "'layer2.1.conv1.weight_scale' is missing"},
        {"input_scale", "drop", "'input_scale' is missing"},
        {"layer1.0.conv2.output_scale", "drop", "'layer1.0.conv2.output_scale' is missing"},
        {"layer3.0.conv1.extra_scale", "extra", "unexpected tensor 'layer3.0.conv1.extra_scale'"},
        {"layer1.2.conv1.weight_scale", "zero", "'layer1.2.conv1.weight_scale' element 3 is 0"},
        {"layer3.2.conv2.weight_scale", "neg", "'layer3.2.conv2.weight_scale' element 15 is -0.5"},
        {"conv1.output_scale", "nan", "'conv1.output_scale' element 0 is nan"},
        {"input_scale", "inf", "'input_scale' element 0 is inf"},
        {"layer2.0.conv1.weight", "dtype", "'layer2.0.conv1.weight' is U8, expected I8"},
        {"layer2.0.conv1.bias", "dtype", "'layer2.0.conv1.bias' is U8, expected I32"},
        {"fc.bias", "dtype", "'fc.bias' is I32, expected F32"},
        {"layer3.1.conv2.weight", "shape", "'layer3.1.conv2.weight' has shape [17,3,3,16]"},
        {"layer1.1.conv1.weight", "m128", "'layer1.1.conv1.weight' element 5 is -128"},
        {"layer1.0.conv1.bias", "bias", "'layer1.0.conv1.bias' element 0 is 2147000000"},
        {"in 3; stem 16 3 1 1 0; stage basic 3 4096 1 A 0; head 10", "arch", "larger than"},
        {"in 3; stem 16 3 1 1; head 10", "arch", "cannot read the architecture near \"; head 10\""},
        {"libresnet-int4", "format", "not an int8 model file"},
    };
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        size_t bs = 0;
        void *bad = rewrite(ctx, file, size, &edits[k], &bs);
        rn_model *m = NULL;
        rn_status s = rn_model_load_int8_mem(ctx, bad, bs, 0, &m);
        CHECK(s == RN_E_BAD_FORMAT && m == NULL);
        if (!strstr(rn_last_error(ctx), edits[k].expect)) {
            fprintf(stderr, "  %s/%s: \"%s\" lacks \"%s\"\n", edits[k].name, edits[k].how,
                    rn_last_error(ctx), edits[k].expect);
            rn_test_failed_checks++;
        }
        rn_model_destroy(m);
        free(bad);
    }
    /* the unchanged copy loads: the rewriting itself is sound */
    edit none = {"nothing", "none", ""};
    size_t bs = 0;
    void *same = rewrite(ctx, file, size, &none, &bs);
    rn_model *m = NULL;
    CHECK_OK(rn_model_load_int8_mem(ctx, same, bs, 0, &m), ctx);
    rn_model_destroy(m);
    free(same);
    /* a float weight file is not an int8 one */
    size_t fs = 0;
    CHECK_OK(rn_model_save_safetensors_mem(f, NULL, 0, &fs), ctx);
    void *fb = malloc(fs);
    CHECK_OK(rn_model_save_safetensors_mem(f, fb, fs, &fs), ctx);
    CHECK_STATUS(rn_model_load_int8_mem(ctx, fb, fs, 0, &m), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "not an int8 model") != NULL);
    CHECK_STATUS(rn_model_load_int8_mem(ctx, file, size, 2, &m), RN_E_INVALID_ARG, ctx);
    free(fb);
    free(file);
    rn_model_destroy(q);
    rn_model_destroy(f);
    rn_ctx_destroy(ctx);
}

static void test_calibrator_refuses_misuse(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *f = make_float(ctx, "resnet20", 4, 2), *q = NULL;
    rn_calibrator *cal = NULL;
    CHECK_OK(rn_calibrator_create(f, &cal), ctx);
    CHECK_STATUS(rn_calibrator_quantize(cal, RN_CALIB_MAX, 0, &q), RN_E_BAD_STATE, ctx);
    float x[2 * 3 * 8 * 8] = {0};
    CHECK_STATUS(rn_calibrator_add_batch(cal, x, 10, 2, 8, 8, RN_LAYOUT_NCHW), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_calibrator_add_batch(cal, x, 384, 2, 8, 8, 7), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_calibrator_add_batch(cal, x, 384, 2, 8, 8, RN_LAYOUT_NCHW), ctx);
    int64_t seen = 0;
    CHECK_OK(rn_calibrator_count(cal, &seen), ctx);
    CHECK(seen == 2);
    CHECK_STATUS(rn_calibrator_quantize(cal, 9, 0, &q), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_calibrator_quantize(cal, RN_CALIB_PERCENTILE, 101, &q), RN_E_INVALID_ARG, ctx);
    /* all-zero images: every scale falls back to 1 and the model still runs */
    CHECK_OK(rn_calibrator_quantize(cal, RN_CALIB_ENTROPY, 0, &q), ctx);
    CHECK(q != NULL);
    rn_model_destroy(q);
    rn_calibrator_destroy(cal);
    rn_model_destroy(f);
    rn_ctx_destroy(ctx);
}

/* ---- RAM: an int8 model holds its int8 weights, not float copies ------------------ */
typedef struct counter {
    size_t live, blocks; /* bytes and allocations live */
} counter;

static void *count_alloc(void *user, size_t size, size_t align) {
    counter *c = (counter *)user;
    if (align < 2 * sizeof(size_t)) align = 2 * sizeof(size_t);
    unsigned char *raw = (unsigned char *)malloc(size + align + 2 * sizeof(size_t));
    if (!raw) return NULL;
    uintptr_t at = ((uintptr_t)raw + 2 * sizeof(size_t) + align - 1) / align * align;
    size_t *h = (size_t *)(void *)((unsigned char *)at - 2 * sizeof(size_t));
    h[0] = size;
    h[1] = (size_t)(uintptr_t)raw;
    c->live += size;
    c->blocks++;
    return (void *)at;
}

static void count_free(void *user, void *ptr) {
    if (!ptr) return;
    size_t *h = (size_t *)(void *)((unsigned char *)ptr - 2 * sizeof(size_t));
    ((counter *)user)->live -= h[0];
    ((counter *)user)->blocks--;
    free((void *)(uintptr_t)h[1]);
}

static void test_int8_models_hold_int8_weights_not_float_copies(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *f = make_float(ctx, "resnet20", 0, 3);
    rn_model *q = quantize(ctx, f, RN_CALIB_MAX, 0, 8, 1);
    size_t size = 0;
    void *file = save(ctx, q, &size);
    /* resnet20: 268,336 conv weights (int8 bytes); float copies would be 4x that */
    const size_t wbytes = 268336;
    counter ca = {0}, cb = {0};
    rn_ctx *a = NULL, *b = NULL;
    rn_model *copy = NULL, *in = NULL;
    CHECK_OK(rn_ctx_create_with_allocator(count_alloc, count_free, &ca, &a), a);
    CHECK_OK(rn_ctx_create_with_allocator(count_alloc, count_free, &cb, &b), b);
    size_t a0 = ca.live, b0 = cb.live;
    CHECK_OK(rn_model_load_int8_mem(a, file, size, 0, &copy), a);
    CHECK_OK(rn_model_load_int8_mem(b, file, size, 1, &in), b);
    printf("     resnet20 int8 (%zu bytes of int8 weights): copied %zu bytes live, in place %zu\n",
           wbytes, ca.live - a0, cb.live - b0);
    CHECK(ca.live - a0 >= wbytes && ca.live - a0 < wbytes + wbytes / 4);
    CHECK(cb.live - b0 < wbytes / 4);
    float w[16 * 27];
    CHECK_STATUS(rn_model_get_tensor(copy, "conv1.weight", w, 16 * 27), RN_E_BAD_STATE, a);
    CHECK(strstr(rn_last_error(a), "no float copy") != NULL);
    rn_model_destroy(in), rn_model_destroy(copy);
    CHECK(ca.live == a0 && cb.live == b0);
    rn_ctx_destroy(a), rn_ctx_destroy(b);
    free(file);
    rn_model_destroy(q);
    rn_model_destroy(f);
    rn_ctx_destroy(ctx);
}

static void test_a_bump_arena_keeps_the_model_and_two_activations(void) {
    /* firmware (docs/embedding.md): an int8 model created over its file in a
     * caller's buffer, a bump arena whose frees only give memory back in
     * reverse order, keeps no part of the header's parses or the reader's
     * temporaries: it takes what a heap keeps live for the same model, plus
     * each allocation's header and alignment and the architecture's line;
     * and its inference plan needs two activation-sized buffers, not three
     * (the convolution that adds the residual writes over it) */
    static unsigned char buffer[1 << 20] __attribute__((aligned(64)));
    rn_ctx *ctx = NULL, *heap = NULL, *arena = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *f = make_float(ctx, "resnet8", 0, 7);
    rn_model *q = quantize(ctx, f, RN_CALIB_MAX, 0, 16, 1);
    size_t size = 0;
    unsigned char *file = save(ctx, q, &size);
    counter c = {0, 0};
    CHECK_OK(rn_ctx_create_with_allocator(count_alloc, count_free, &c, &heap), heap);
    CHECK_OK(rn_ctx_create_in_buffer(buffer, sizeof buffer, &arena), arena);
    const size_t live0 = c.live, blocks0 = c.blocks;
    rn_model *h = NULL, *a = NULL;
    CHECK_OK(rn_model_create_from_blob(heap, file, size, RN_BLOB_NO_DERIVED, &h), heap);
    CHECK_OK(rn_model_create_from_blob(arena, file, size, RN_BLOB_NO_DERIVED, &a), arena);
    size_t used = 0, peak = 0;
    CHECK_OK(rn_ctx_arena_usage(arena, &used, &peak), arena);
    /* 64-byte alignment: at most a 64-byte header and 63 bytes of padding each */
    const size_t live = c.live - live0, blocks = c.blocks - blocks0;
    const size_t bound = live + blocks * 127 + 256;
    printf("     resnet8 int8 in a bump arena: %zu bytes kept (%zu at the peak of creation); "
           "a heap keeps %zu bytes in %zu allocations (bound %zu)\n",
           used, peak, live, blocks, bound);
    CHECK(used <= bound);
    const int64_t n = 1, hw = 32;
    rn_plan *p = NULL;
    size_t bytes = 0;
    CHECK_OK(rn_plan_create(a, n, hw, hw, RN_MODE_INFER, &p), arena);
    CHECK_OK(rn_plan_memory_size(p, &bytes), arena);
    const size_t activation = 32 * 32 * 16; /* the stem's and layer1's int8 output */
    printf("     its plan at 32x32: %zu bytes of activations (one is %zu)\n", bytes, activation);
    CHECK(bytes >= 2 * activation && bytes < 3 * activation);
    rn_plan_destroy(p);
    /* the same logits from both */
    float *x = random_images((size_t)(3 * hw * hw), -1, 1);
    float *la = run(a, x, n, hw, RN_LAYOUT_NCHW), *lh = run(h, x, n, hw, RN_LAYOUT_NCHW);
    CHECK(memcmp(la, lh, 10 * sizeof(float)) == 0);
    free(la), free(lh), free(x);
    rn_model_destroy(a), rn_model_destroy(h);
    rn_ctx_destroy(arena), rn_ctx_destroy(heap);
    free(file);
    rn_model_destroy(q);
    rn_model_destroy(f);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"resnet20_matches_the_reference_for_each_method",
     test_resnet20_matches_the_reference_for_each_method},
    {"projection_bottleneck_and_max_pool_match_the_reference",
     test_projection_bottleneck_and_max_pool_match_the_reference},
    {"threads_and_layouts_give_the_same_logits", test_threads_and_layouts_give_the_same_logits},
    {"weights_in_place_are_read_where_they_are", test_weights_in_place_are_read_where_they_are},
    {"bad_files_are_refused_naming_the_tensor", test_bad_files_are_refused_naming_the_tensor},
    {"calibrator_refuses_misuse", test_calibrator_refuses_misuse},
    {"int8_models_hold_int8_weights_not_float_copies",
     test_int8_models_hold_int8_weights_not_float_copies},
    {"a_bump_arena_keeps_the_model_and_two_activations",
     test_a_bump_arena_keeps_the_model_and_two_activations},
};

RN_TEST_MAIN(cases)
