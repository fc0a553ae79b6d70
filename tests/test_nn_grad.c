/*
 * Backward passes of blocks and of a whole network, checked along random
 * directions (KANN's check): for L = sum(y * r) with a fixed random r (so
 * dL/dy = r), or a network's mean cross-entropy,
 *     (L(p + eps d) - L(p - eps d)) / (2 eps)  ~=  <dL/dp, d>
 * for a random direction d over each trainable tensor in turn, and over
 * the input. Train mode throughout (batch statistics).
 *
 * L is evaluated by a naive double-precision forward written here from the
 * paper's definitions (conv, train-mode BN with the biased variance, ReLU,
 * option-A subsample + zero-pad, 1x1 projection, average pool, fc, softmax
 * cross-entropy), after checking that the library's float forward gives the
 * same outputs. In double, eps = 1e-6 leaves neither rounding noise nor ReLU
 * kinks crossed inside +-eps to speak of, which a float32 central difference
 * cannot avoid (the terms of <dL/dp, d> are large and of both signs).
 *
 * Tolerance: the library's float gradient against the double difference,
 * 2e-3 of sum_i |g_i d_i| (the size of the terms that make up the dot
 * product) plus 5e-6: a gradient that is zero in exact arithmetic (the
 * tiny ResNet-50's stem BN bias) comes out of ~50 float layers as rounding
 * noise of about 1e-6, whose size depends on the kernels' summation order.
 * A wrong gradient (a missing term, a mask in the wrong place, a transposed
 * weight) is off by tens of percent.
 */
#include "harness.h"
#include "resnet.h"

#define EPS 1e-6
#define TOL 2e-3

/* ---- a double-precision reference forward ------------------------------------ */

typedef struct dt { /* NHWC */
    int64_t n, h, w, c;
    double *d;
} dt;

static dt dt_new(int64_t n, int64_t h, int64_t w, int64_t c) {
    dt t = {n, h, w, c, calloc((size_t)(n * h * w * c), sizeof(double))};
    return t;
}
static int64_t dt_numel(dt t) { return t.n * t.h * t.w * t.c; }

/* named tensors of the network under test, in double, PyTorch layout */
typedef struct store {
    int32_t n;
    char name[320][48];
    double *v[320];
    size_t count[320];
} store;

static const double *get(const store *s, const char *prefix, const char *name) {
    char full[96];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    for (int32_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], full) == 0) return s->v[i];
    fprintf(stderr, "  reference: no tensor %s\n", full);
    abort();
}

/* weight OIHW, symmetric zero padding */
static dt ref_conv(dt x, const double *w, int64_t oc, int64_t k, int64_t s, int64_t p) {
    int64_t oh = (x.h + 2 * p - k) / s + 1, ow = (x.w + 2 * p - k) / s + 1;
    dt y = dt_new(x.n, oh, ow, oc);
    for (int64_t n = 0; n < x.n; n++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++)
                for (int64_t o = 0; o < oc; o++) {
                    double acc = 0.0;
                    for (int64_t c = 0; c < x.c; c++)
                        for (int64_t a = 0; a < k; a++)
                            for (int64_t b = 0; b < k; b++) {
                                int64_t yy = i * s - p + a, xx = j * s - p + b;
                                if (yy < 0 || yy >= x.h || xx < 0 || xx >= x.w) continue;
                                acc += w[((o * x.c + c) * k + a) * k + b] *
                                       x.d[((n * x.h + yy) * x.w + xx) * x.c + c];
                            }
                    y.d[((n * oh + i) * ow + j) * oc + o] = acc;
                }
    return y;
}

/* train mode: batch mean and biased variance over N, H, W; eps 1e-5 */
static void ref_bn(dt x, const double *g, const double *b) {
    int64_t rows = x.n * x.h * x.w;
    for (int64_t c = 0; c < x.c; c++) {
        double m = 0.0, v = 0.0;
        for (int64_t r = 0; r < rows; r++) m += x.d[r * x.c + c];
        m /= (double)rows;
        for (int64_t r = 0; r < rows; r++) v += (x.d[r * x.c + c] - m) * (x.d[r * x.c + c] - m);
        v /= (double)rows;
        for (int64_t r = 0; r < rows; r++)
            x.d[r * x.c + c] = (x.d[r * x.c + c] - m) / sqrt(v + 1e-5) * g[c] + b[c];
    }
}

static void ref_relu(dt x) {
    for (int64_t i = 0; i < dt_numel(x); i++) x.d[i] = x.d[i] > 0.0 ? x.d[i] : 0.0;
}

static dt ref_conv_bn(const store *s, const char *prefix, const char *conv, const char *bn, dt x,
                      int64_t oc, int64_t k, int64_t stride, int64_t pad) {
    char wn[48], gn[48], bnn[48];
    snprintf(wn, sizeof wn, "%s.weight", conv);
    snprintf(gn, sizeof gn, "%s.weight", bn);
    snprintf(bnn, sizeof bnn, "%s.bias", bn);
    dt y = ref_conv(x, get(s, prefix, wn), oc, k, stride, pad);
    ref_bn(y, get(s, prefix, gn), get(s, prefix, bnn));
    return y;
}

typedef struct block_cfg {
    int32_t bottleneck, in, width, stride, shortcut, on_1x1;
} block_cfg;

/* y = relu(F(x) + shortcut(x)), the paper's section 3 with torchvision's names */
static dt ref_block(const store *s, const char *prefix, block_cfg c, dt x) {
    int64_t out = c.bottleneck ? 4 * c.width : c.width;
    dt t;
    if (!c.bottleneck) {
        t = ref_conv_bn(s, prefix, "conv1", "bn1", x, c.width, 3, c.stride, 1);
        ref_relu(t);
        dt u = ref_conv_bn(s, prefix, "conv2", "bn2", t, c.width, 3, 1, 1);
        free(t.d);
        t = u;
    } else {
        int64_t s1 = c.on_1x1 ? c.stride : 1, s3 = c.on_1x1 ? 1 : c.stride;
        dt a = ref_conv_bn(s, prefix, "conv1", "bn1", x, c.width, 1, s1, 0);
        ref_relu(a);
        dt b = ref_conv_bn(s, prefix, "conv2", "bn2", a, c.width, 3, s3, 1);
        ref_relu(b);
        t = ref_conv_bn(s, prefix, "conv3", "bn3", b, out, 1, 1, 0);
        free(a.d), free(b.d);
    }
    int dims_change = c.stride != 1 || c.in != out;
    if (c.shortcut == RN_SHORTCUT_NONE) {
        /* plain: no addition */
    } else if (c.shortcut == RN_SHORTCUT_C || (c.shortcut == RN_SHORTCUT_B && dims_change)) {
        dt p = ref_conv_bn(s, prefix, "downsample.0", "downsample.1", x, out, 1, c.stride, 0);
        for (int64_t i = 0; i < dt_numel(t); i++) t.d[i] += p.d[i];
        free(p.d);
    } else if (dims_change) { /* option A: x[:, :, ::s, ::s] padded with (out-in)/2 zeros before */
        int64_t lo = (out - c.in) / 2;
        for (int64_t n = 0; n < t.n; n++)
            for (int64_t i = 0; i < t.h; i++)
                for (int64_t j = 0; j < t.w; j++)
                    for (int64_t ch = 0; ch < c.in; ch++)
                        t.d[((n * t.h + i) * t.w + j) * out + lo + ch] +=
                            x.d[((n * x.h + i * c.stride) * x.w + j * c.stride) * x.c + ch];
    } else {
        for (int64_t i = 0; i < dt_numel(t); i++) t.d[i] += x.d[i];
    }
    ref_relu(t);
    return t;
}

/* ---- the checks ------------------------------------------------------------------- */

static double dotf(const float *g, const double *d, size_t n, double *abs_terms) {
    double s = 0.0, a = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * d[i], a += fabs((double)g[i] * d[i]);
    *abs_terms = a;
    return s;
}

static int check_direction(const char *what, const char *tensor, double numeric, double analytic,
                           double terms) {
    double tol = TOL * terms + 5e-6;
    if (fabs(numeric - analytic) <= tol) return 1;
    fprintf(stderr, "  %s: %s: numeric %.8g analytic %.8g (tolerance %.3g)\n", what, tensor,
            numeric, analytic, tol);
    return 0;
}

static void fill_double(double *d, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = 2.0 * rn_test_uniform() - 1.0;
}

/* max |a - b| over the float output and its double reference, relative to max(1, max|b|) */
static double max_rel_diff(const float *a, const double *b, size_t n) {
    double md = 0.0, mb = 1.0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mb = fmax(mb, fabs(b[i]));
    }
    return md / mb;
}

static double block_objective(const store *s, block_cfg c, dt x, const float *r) {
    dt y = ref_block(s, "", c, x);
    double l = 0.0;
    for (int64_t i = 0; i < dt_numel(y); i++) l += y.d[i] * (double)r[i];
    free(y.d);
    return l;
}

static void check_block(block_cfg cfg, const char *what) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_block *b = NULL;
    uint32_t flags = cfg.on_1x1 ? RN_MODEL_STRIDE_ON_1X1 : 0;
    CHECK_OK(rn_block_create(ctx, cfg.bottleneck ? RN_BLOCK_BOTTLENECK : RN_BLOCK_BASIC, cfg.in,
                             cfg.width, cfg.stride, cfg.shortcut, flags, &b),
             ctx);
    if (!b) {
        rn_ctx_destroy(ctx);
        return;
    }
    CHECK_OK(rn_block_init(b, 11), ctx);
    int32_t out = 0;
    CHECK_OK(rn_block_out_channels(b, &out), ctx);
    CHECK(out == (cfg.bottleneck ? 4 * cfg.width : cfg.width));
    const int64_t n = 4, h = 7, w = 6;
    const int64_t oh = (h + cfg.stride - 1) / cfg.stride, ow = (w + cfg.stride - 1) / cfg.stride;
    rn_tensor *x, *y, *dy, *dx;
    CHECK_OK(rn_tensor_create(ctx, n, h, w, cfg.in, &x), ctx);
    CHECK_OK(rn_tensor_create(ctx, n, oh, ow, out, &y), ctx);
    CHECK_OK(rn_tensor_create(ctx, n, oh, ow, out, &dy), ctx);
    CHECK_OK(rn_tensor_create(ctx, n, h, w, cfg.in, &dx), ctx);
    size_t nx = (size_t)rn_tensor_numel(x), ny = (size_t)rn_tensor_numel(y);
    rn_test_fill_uniform(rn_tensor_data(x), nx, -1.0, 1.0);
    rn_test_fill_uniform(rn_tensor_data(dy), ny, -1.0, 1.0);

    /* every tensor into the store; BN affine parameters moved off their
     * init (weight 1, bias 0) so that every term of the backward matters */
    store s;
    s.n = 0;
    for (int32_t i = 0; i < rn_block_tensor_count(b); i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_block_tensor_info(b, i, &name, &ndim, dims, &kind);
        size_t count = 1;
        for (int32_t k = 0; k < ndim; k++) count *= (size_t)dims[k];
        float *f = malloc(count * sizeof(float));
        CHECK_OK(rn_block_get_tensor(b, name, f, count), ctx);
        if (ndim == 1 && kind == RN_TENSOR_PARAM) {
            rn_test_fill_uniform(f, count, strstr(name, "weight") ? 0.5 : -0.5, 1.5);
            CHECK_OK(rn_block_set_tensor(b, name, f, count), ctx);
        }
        snprintf(s.name[s.n], sizeof s.name[0], "%s", name);
        s.v[s.n] = malloc(count * sizeof(double));
        s.count[s.n] = count;
        for (size_t k = 0; k < count; k++) s.v[s.n][k] = f[k];
        s.n++;
        free(f);
    }

    CHECK_OK(rn_block_forward(b, x, RN_MODE_TRAIN, y), ctx);
    dt xr = dt_new(n, h, w, cfg.in);
    for (size_t i = 0; i < nx; i++) xr.d[i] = rn_tensor_data(x)[i];
    dt yr = ref_block(&s, "", cfg, xr);
    CHECK(dt_numel(yr) == (int64_t)ny);
    double fwd = max_rel_diff(rn_tensor_data(y), yr.d, ny);
    if (fwd > 1e-5) fprintf(stderr, "  %s: forward differs from the reference by %g\n", what, fwd);
    CHECK(fwd <= 1e-5);
    free(yr.d);
    CHECK_OK(rn_block_backward(b, dy, dx), ctx);

    const float *r = rn_tensor_data_const(dy);
    for (int32_t t = 0; t < s.n; t++) {
        float *g = malloc(s.count[t] * sizeof(float));
        if (rn_block_get_grad(b, s.name[t], g, s.count[t]) != RN_OK) { /* a BN buffer */
            free(g);
            continue;
        }
        double *d = malloc(s.count[t] * sizeof(double)), *v0 = malloc(s.count[t] * sizeof(double));
        fill_double(d, s.count[t]);
        memcpy(v0, s.v[t], s.count[t] * sizeof(double));
        double terms, analytic = dotf(g, d, s.count[t], &terms), l[2];
        for (int k = 0; k < 2; k++) {
            for (size_t i = 0; i < s.count[t]; i++) s.v[t][i] = v0[i] + (k ? -EPS : EPS) * d[i];
            l[k] = block_objective(&s, cfg, xr, r);
        }
        memcpy(s.v[t], v0, s.count[t] * sizeof(double));
        CHECK(check_direction(what, s.name[t], (l[0] - l[1]) / (2 * EPS), analytic, terms));
        free(g), free(d), free(v0);
    }

    double *d = malloc(nx * sizeof(double)), terms;
    fill_double(d, nx);
    double analytic = dotf(rn_tensor_data(dx), d, nx, &terms), l[2];
    dt xp = dt_new(n, h, w, cfg.in);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < nx; i++) xp.d[i] = xr.d[i] + (k ? -EPS : EPS) * d[i];
        l[k] = block_objective(&s, cfg, xp, r);
    }
    CHECK(check_direction(what, "input", (l[0] - l[1]) / (2 * EPS), analytic, terms));

    free(d), free(xp.d), free(xr.d);
    for (int32_t t = 0; t < s.n; t++) free(s.v[t]);
    rn_tensor_destroy(x), rn_tensor_destroy(y), rn_tensor_destroy(dy), rn_tensor_destroy(dx);
    rn_block_destroy(b);
    rn_ctx_destroy(ctx);
}

static void test_basic_block_identity_shortcut_gradients(void) {
    check_block((block_cfg){0, 8, 8, 1, RN_SHORTCUT_A, 0}, "basic A s1 (identity)");
    check_block((block_cfg){0, 8, 8, 1, RN_SHORTCUT_B, 0}, "basic B s1 (identity)");
}

static void test_basic_block_option_a_padding_shortcut_gradients(void) {
    check_block((block_cfg){0, 4, 8, 2, RN_SHORTCUT_A, 0}, "basic A s2");
    check_block((block_cfg){0, 3, 8, 1, RN_SHORTCUT_A, 0}, "basic A s1, 3 -> 8 channels");
}

static void test_basic_block_projection_shortcut_gradients(void) {
    check_block((block_cfg){0, 4, 8, 2, RN_SHORTCUT_B, 0}, "basic B s2");
    check_block((block_cfg){0, 8, 8, 1, RN_SHORTCUT_C, 0}, "basic C s1");
    check_block((block_cfg){0, 4, 8, 2, RN_SHORTCUT_C, 0}, "basic C s2");
}

static void test_plain_block_gradients(void) {
    check_block((block_cfg){0, 8, 8, 1, RN_SHORTCUT_NONE, 0}, "basic none s1");
    check_block((block_cfg){0, 4, 8, 2, RN_SHORTCUT_NONE, 0}, "basic none s2");
}

static void test_bottleneck_gradients_with_either_stride_placement(void) {
    check_block((block_cfg){1, 8, 2, 1, RN_SHORTCUT_B, 0}, "bottleneck B s1 (identity)");
    check_block((block_cfg){1, 4, 3, 2, RN_SHORTCUT_B, 0}, "bottleneck B s2 on the 3x3");
    check_block((block_cfg){1, 4, 3, 2, RN_SHORTCUT_B, 1}, "bottleneck B s2 on the 1x1");
    check_block((block_cfg){1, 4, 2, 2, RN_SHORTCUT_A, 0}, "bottleneck A s2");
}

/* ---- a whole network through plans ---------------------------------------------- */

/* max pool 3x3, stride 2, pad 1; padded cells never win (PyTorch) */
static dt ref_maxpool(dt x) {
    int64_t oh = (x.h - 1) / 2 + 1, ow = (x.w - 1) / 2 + 1;
    dt y = dt_new(x.n, oh, ow, x.c);
    for (int64_t n = 0; n < x.n; n++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++)
                for (int64_t c = 0; c < x.c; c++) {
                    double mx = -1e300;
                    for (int64_t a = -1; a <= 1; a++)
                        for (int64_t b = -1; b <= 1; b++) {
                            int64_t yy = 2 * i + a, xx = 2 * j + b;
                            if (yy < 0 || yy >= x.h || xx < 0 || xx >= x.w) continue;
                            mx = fmax(mx, x.d[((n * x.h + yy) * x.w + xx) * x.c + c]);
                        }
                    y.d[((n * oh + i) * ow + j) * x.c + c] = mx;
                }
    return y;
}

/* A network as the paper defines it: the stem, stages of blocks (the first
 * of each with the stage's stride), global average pool, fc, and the mean
 * softmax cross-entropy. */
typedef struct net_cfg {
    const char *preset;
    int32_t imagenet, bottleneck, shortcut, base, stages, blocks[4];
} net_cfg;

static double net_objective(const store *s, net_cfg cfg, dt x, const int32_t *labels, int64_t k,
                            double *logits_out) {
    dt t = cfg.imagenet ? ref_conv_bn(s, "", "conv1", "bn1", x, cfg.base, 7, 2, 3)
                        : ref_conv_bn(s, "", "conv1", "bn1", x, cfg.base, 3, 1, 1);
    ref_relu(t);
    if (cfg.imagenet) {
        dt u = ref_maxpool(t);
        free(t.d);
        t = u;
    }
    int32_t in = cfg.base;
    for (int32_t st = 0; st < cfg.stages; st++)
        for (int32_t bi = 0; bi < cfg.blocks[st]; bi++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d.", st + 1, bi);
            block_cfg c = {cfg.bottleneck, in, cfg.base << st, bi == 0 && st > 0 ? 2 : 1,
                           cfg.shortcut,   0};
            dt u = ref_block(s, prefix, c, t);
            free(t.d);
            t = u;
            in = (int32_t)t.c;
        }
    const double *fw = get(s, "", "fc.weight"), *fb = get(s, "", "fc.bias");
    double loss = 0.0;
    for (int64_t n = 0; n < t.n; n++) {
        double z[16], mx = -1e300, sum = 0.0;
        for (int64_t j = 0; j < k; j++) {
            double acc = fb[j];
            for (int64_t c = 0; c < t.c; c++) {
                double avg = 0.0;
                for (int64_t p = 0; p < t.h * t.w; p++) avg += t.d[(n * t.h * t.w + p) * t.c + c];
                acc += fw[j * t.c + c] * avg / (double)(t.h * t.w);
            }
            z[j] = acc;
            if (logits_out) logits_out[n * k + j] = acc;
            mx = fmax(mx, acc);
        }
        for (int64_t j = 0; j < k; j++) sum += exp(z[j] - mx);
        loss += mx + log(sum) - z[labels[n]];
    }
    free(t.d);
    return loss / (double)t.n;
}

static void check_network(net_cfg cfg, int64_t hw) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = NULL;
    const int64_t n = 4, k = 10;
    CHECK_OK(rn_model_create_preset(ctx, cfg.preset, (int32_t)k, 0, RN_SHORTCUT_DEFAULT, cfg.base,
                                    0, &m),
             ctx);
    CHECK_OK(rn_model_init(m, 5), ctx);
    rn_plan *p = NULL;
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_TRAIN, &p), ctx);
    size_t nx = (size_t)(n * 3 * hw * hw), nl = (size_t)(n * k);
    float *x = malloc(nx * sizeof(float)), *logits = malloc(nl * sizeof(float));
    rn_test_fill_uniform(x, nx, -1.0, 1.0);
    int32_t labels[4] = {3, 0, 9, 3};

    store s;
    s.n = 0;
    int32_t trainable = 0;
    for (int32_t i = 0; i < rn_model_tensor_count(m) && s.n < 320; i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, &kind);
        size_t count = 1;
        for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
        float *f = malloc(count * sizeof(float));
        CHECK_OK(rn_model_get_tensor(m, name, f, count), ctx);
        /* BN affine parameters off their init, so every term of the backward matters */
        if (ndim == 1 && kind == RN_TENSOR_PARAM && strncmp(name, "fc", 2) != 0) {
            rn_test_fill_uniform(f, count, strstr(name, "weight") ? 0.5 : -0.5, 1.5);
            CHECK_OK(rn_model_set_tensor(m, name, f, count), ctx);
        }
        snprintf(s.name[s.n], sizeof s.name[0], "%s", name);
        s.v[s.n] = malloc(count * sizeof(double));
        s.count[s.n] = count;
        for (size_t j = 0; j < count; j++) s.v[s.n][j] = f[j];
        s.n++;
        trainable += kind == RN_TENSOR_PARAM;
        free(f);
    }
    CHECK(s.n == rn_model_tensor_count(m));

    /* the plan takes NCHW; the reference works in NHWC */
    dt xr = dt_new(n, hw, hw, 3);
    for (int64_t b = 0; b < n; b++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t q = 0; q < hw * hw; q++)
                xr.d[(b * hw * hw + q) * 3 + c] = x[(b * 3 + c) * hw * hw + q];
    double ref_logits[40];
    double ref_loss = net_objective(&s, cfg, xr, labels, k, ref_logits);
    float loss = 0.0f;
    CHECK_OK(rn_plan_forward(p, x, nx, RN_LAYOUT_NCHW, logits, nl), ctx);
    double fwd = max_rel_diff(logits, ref_logits, nl);
    if (fwd > 1e-5)
        fprintf(stderr, "  %s: logits differ from the reference by %g\n", cfg.preset, fwd);
    CHECK(fwd <= 1e-5);
    CHECK_OK(rn_plan_backward(p, labels, 4, &loss), ctx);
    CHECK_CLOSE(loss, ref_loss, 1e-5);
    float *gx = malloc(nx * sizeof(float));
    CHECK_OK(rn_plan_input_grad(p, gx, nx, RN_LAYOUT_NCHW), ctx);

    int32_t checked = 0;
    for (int32_t t = 0; t < s.n; t++) {
        float *g = malloc(s.count[t] * sizeof(float));
        if (rn_model_get_grad(m, s.name[t], g, s.count[t]) != RN_OK) {
            free(g);
            continue;
        }
        double *d = malloc(s.count[t] * sizeof(double)), *v0 = malloc(s.count[t] * sizeof(double));
        fill_double(d, s.count[t]);
        memcpy(v0, s.v[t], s.count[t] * sizeof(double));
        double terms, analytic = dotf(g, d, s.count[t], &terms), l[2];
        for (int j = 0; j < 2; j++) {
            for (size_t i = 0; i < s.count[t]; i++) s.v[t][i] = v0[i] + (j ? -EPS : EPS) * d[i];
            l[j] = net_objective(&s, cfg, xr, labels, k, NULL);
        }
        memcpy(s.v[t], v0, s.count[t] * sizeof(double));
        CHECK(check_direction(cfg.preset, s.name[t], (l[0] - l[1]) / (2 * EPS), analytic, terms));
        checked++;
        free(g), free(d), free(v0);
    }
    CHECK(checked == trainable); /* every trainable tensor has a gradient */

    /* the input gradient, in NCHW like the input */
    double *d = malloc(nx * sizeof(double)), terms, l[2];
    fill_double(d, nx);
    double analytic = dotf(gx, d, nx, &terms);
    dt xp = dt_new(n, hw, hw, 3);
    for (int j = 0; j < 2; j++) {
        for (int64_t b = 0; b < n; b++)
            for (int64_t c = 0; c < 3; c++)
                for (int64_t q = 0; q < hw * hw; q++) {
                    size_t i = (size_t)((b * 3 + c) * hw * hw + q);
                    xp.d[(b * hw * hw + q) * 3 + c] = x[i] + (j ? -EPS : EPS) * d[i];
                }
        l[j] = net_objective(&s, cfg, xp, labels, k, NULL);
    }
    CHECK(check_direction(cfg.preset, "input", (l[0] - l[1]) / (2 * EPS), analytic, terms));

    free(d), free(xp.d), free(xr.d), free(gx), free(x), free(logits);
    for (int32_t t = 0; t < s.n; t++) free(s.v[t]);
    rn_plan_destroy(p);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_tiny_cifar_network_gradients_through_plans(void) {
    /* resnet20, base width 4: 3x3 stem, option A, 8x8 input */
    check_network((net_cfg){"resnet20", 0, 0, RN_SHORTCUT_A, 4, 3, {3, 3, 3, 0}}, 8);
}

static void test_tiny_imagenet_networks_gradients_through_plans(void) {
    /* 7x7/2 stem and max pool, option B projections; 1x1 at layer4 */
    check_network((net_cfg){"resnet18", 1, 0, RN_SHORTCUT_B, 4, 4, {2, 2, 2, 2}}, 29);
    check_network((net_cfg){"resnet50", 1, 1, RN_SHORTCUT_B, 2, 4, {3, 4, 6, 3}}, 32);
}

static const rn_test_case cases[] = {
    {"basic_block_identity_shortcut_gradients", test_basic_block_identity_shortcut_gradients},
    {"basic_block_option_a_padding_shortcut_gradients",
     test_basic_block_option_a_padding_shortcut_gradients},
    {"basic_block_projection_shortcut_gradients", test_basic_block_projection_shortcut_gradients},
    {"plain_block_gradients", test_plain_block_gradients},
    {"bottleneck_gradients_with_either_stride_placement",
     test_bottleneck_gradients_with_either_stride_placement},
    {"tiny_cifar_network_gradients_through_plans", test_tiny_cifar_network_gradients_through_plans},
    {"tiny_imagenet_networks_gradients_through_plans",
     test_tiny_imagenet_networks_gradients_through_plans},
};

RN_TEST_MAIN(cases)
