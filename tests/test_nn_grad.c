/*
 * Backward passes of blocks and of a whole network against finite
 * differences along a random direction (KANN's check): with L = sum(y * r)
 * for a fixed random r (so dL/dy = r), or the mean cross-entropy of a
 * network computed here in double from the logits,
 *     (L(p + eps d) - L(p - eps d)) / (2 eps)  ~=  <dL/dp, d>
 * for a random direction d over each trainable tensor in turn, and over
 * the input. Train mode throughout (batch statistics).
 *
 * Tolerance: 1e-2 relative to max(1, |<grad, d>|), eps 3e-4. The forward
 * runs in float32, so the central difference carries rounding noise of about
 * 1e-7 * |L| / eps, and ReLU kinks crossed within +-eps add an error that
 * grows with eps; 3e-4 keeps both near 0.3% on these sizes. A wrong gradient
 * (a missing term, a transposed weight, a mask in the wrong place) is off by
 * tens of percent. One direction per tensor, not one over all of them: the
 * tensors' terms have opposite signs, and their sum could hide an error.
 */
#include "harness.h"
#include "resnet.h"

#define EPS (getenv("EPS") ? atof(getenv("EPS")) : 3e-4)
#define TOL 1e-2

/* ---- parameters of a block or a model as one flat vector ---------------------- */

typedef struct params {
    int32_t n;
    const char *name[64];
    size_t count[64];
    size_t total;
} params;

static void block_params(rn_block *b, params *p) {
    p->n = 0, p->total = 0;
    for (int32_t i = 0; i < rn_block_tensor_count(b); i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_block_tensor_info(b, i, &name, &ndim, dims, &kind);
        if (kind != RN_TENSOR_PARAM) continue;
        size_t c = 1;
        for (int32_t d = 0; d < ndim; d++) c *= (size_t)dims[d];
        p->name[p->n] = name, p->count[p->n++] = c;
        p->total += c;
    }
}

static void block_get(rn_block *b, const params *p, float *v, int grad) {
    size_t off = 0;
    for (int32_t i = 0; i < p->n; i++) {
        if (grad)
            CHECK(rn_block_get_grad(b, p->name[i], v + off, p->count[i]) == RN_OK);
        else
            CHECK(rn_block_get_tensor(b, p->name[i], v + off, p->count[i]) == RN_OK);
        off += p->count[i];
    }
}

static void block_set(rn_block *b, const params *p, const float *v) {
    size_t off = 0;
    for (int32_t i = 0; i < p->n; i++) {
        CHECK(rn_block_set_tensor(b, p->name[i], v + off, p->count[i]) == RN_OK);
        off += p->count[i];
    }
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* L = sum(y * r) after a train forward of x */
static double block_loss(rn_block *b, rn_tensor *x, rn_tensor *y, const float *r) {
    CHECK(rn_block_forward(b, x, RN_MODE_TRAIN, y) == RN_OK);
    return dot(rn_tensor_data(y), r, (size_t)rn_tensor_numel(y));
}

static void check_block(int32_t type, int32_t in, int32_t width, int32_t stride, int32_t shortcut,
                        uint32_t flags, const char *what) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_block *b = NULL;
    CHECK_OK(rn_block_create(ctx, type, in, width, stride, shortcut, flags, &b), ctx);
    if (!b) {
        rn_ctx_destroy(ctx);
        return;
    }
    CHECK_OK(rn_block_init(b, 11), ctx);
    int32_t out = 0;
    CHECK_OK(rn_block_out_channels(b, &out), ctx);
    const int64_t n = 4, h = 7, w = 6;
    const int64_t oh = (h + stride - 1) / stride, ow = (w + stride - 1) / stride;
    rn_tensor *x, *y, *dy, *dx;
    CHECK_OK(rn_tensor_create(ctx, n, h, w, in, &x), ctx);
    CHECK_OK(rn_tensor_create(ctx, n, oh, ow, out, &y), ctx);
    CHECK_OK(rn_tensor_create(ctx, n, oh, ow, out, &dy), ctx);
    CHECK_OK(rn_tensor_create(ctx, n, h, w, in, &dx), ctx);
    size_t nx = (size_t)rn_tensor_numel(x), ny = (size_t)rn_tensor_numel(y);
    rn_test_fill_uniform(rn_tensor_data(x), nx, -1.0, 1.0);
    rn_test_fill_uniform(rn_tensor_data(dy), ny, -1.0, 1.0);
    /* BN affine parameters away from their init so every term matters */
    params p;
    block_params(b, &p);
    float *v = malloc(p.total * sizeof(float)), *g = malloc(p.total * sizeof(float));
    float *d = malloc(p.total * sizeof(float)), *pv = malloc(p.total * sizeof(float));
    block_get(b, &p, v, 0);
    size_t off = 0;
    for (int32_t i = 0; i < p.n; i++) {
        if (strstr(p.name[i], "bn") || strstr(p.name[i], "downsample.1"))
            rn_test_fill_uniform(v + off, p.count[i], 0.5, 1.5);
        off += p.count[i];
    }
    block_set(b, &p, v);

    const float *r = rn_tensor_data_const(dy);
    block_loss(b, x, y, r);
    CHECK_OK(rn_block_backward(b, dy, dx), ctx);
    block_get(b, &p, g, 1);
    float *gx = malloc(nx * sizeof(float)), *dxdir = malloc(nx * sizeof(float));
    memcpy(gx, rn_tensor_data(dx), nx * sizeof(float));

    /* each trainable tensor along its own random direction */
    rn_test_fill_uniform(d, p.total, -1.0, 1.0);
    off = 0;
    for (int32_t t = 0; t < p.n; t++) {
        size_t lo = off, hi = off + p.count[t];
        off = hi;
        double analytic = dot(g + lo, d + lo, p.count[t]);
        memcpy(pv, v, p.total * sizeof(float));
        for (size_t i = lo; i < hi; i++) pv[i] = v[i] + (float)(EPS * d[i]);
        block_set(b, &p, pv);
        double lp = block_loss(b, x, y, r);
        for (size_t i = lo; i < hi; i++) pv[i] = v[i] - (float)(EPS * d[i]);
        block_set(b, &p, pv);
        double lm = block_loss(b, x, y, r);
        double numeric = (lp - lm) / (2 * EPS);
        if (fabs(numeric - analytic) > TOL * fmax(1.0, fabs(analytic)))
            fprintf(stderr, "  %s: %s: numeric %.6g analytic %.6g\n", what, p.name[t], numeric,
                    analytic);
        CHECK_CLOSE(numeric, analytic, TOL);
    }
    block_set(b, &p, v);

    /* input */
    rn_test_fill_uniform(dxdir, nx, -1.0, 1.0);
    double analytic = dot(gx, dxdir, nx);
    float *xs = rn_tensor_data(x), *x0 = malloc(nx * sizeof(float));
    memcpy(x0, xs, nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) xs[i] = x0[i] + (float)(EPS * dxdir[i]);
    double lp = block_loss(b, x, y, r);
    for (size_t i = 0; i < nx; i++) xs[i] = x0[i] - (float)(EPS * dxdir[i]);
    double lm = block_loss(b, x, y, r);
    double numeric = (lp - lm) / (2 * EPS);
    if (fabs(numeric - analytic) > TOL * fmax(1.0, fabs(analytic)))
        fprintf(stderr, "  %s: input: numeric %.6g analytic %.6g\n", what, numeric, analytic);
    CHECK_CLOSE(numeric, analytic, TOL);

    free(x0), free(gx), free(dxdir), free(v), free(g), free(d), free(pv);
    rn_tensor_destroy(x), rn_tensor_destroy(y), rn_tensor_destroy(dy), rn_tensor_destroy(dx);
    rn_block_destroy(b);
    rn_ctx_destroy(ctx);
}

static void test_basic_block_identity_shortcut_gradients(void) {
    check_block(RN_BLOCK_BASIC, 8, 8, 1, RN_SHORTCUT_A, 0, "basic A s1 (identity)");
    check_block(RN_BLOCK_BASIC, 8, 8, 1, RN_SHORTCUT_B, 0, "basic B s1 (identity)");
}

static void test_basic_block_option_a_padding_shortcut_gradients(void) {
    check_block(RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_A, 0, "basic A s2");
    check_block(RN_BLOCK_BASIC, 4, 8, 1, RN_SHORTCUT_A, 0, "basic A s1 wider");
}

static void test_basic_block_projection_shortcut_gradients(void) {
    check_block(RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_B, 0, "basic B s2");
    check_block(RN_BLOCK_BASIC, 8, 8, 1, RN_SHORTCUT_C, 0, "basic C s1");
    check_block(RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_C, 0, "basic C s2");
}

static void test_plain_block_gradients(void) {
    check_block(RN_BLOCK_BASIC, 8, 8, 1, RN_SHORTCUT_NONE, 0, "basic none s1");
    check_block(RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_NONE, 0, "basic none s2");
}

static void test_bottleneck_gradients_with_either_stride_placement(void) {
    check_block(RN_BLOCK_BOTTLENECK, 8, 2, 1, RN_SHORTCUT_B, 0, "bottleneck B s1 identity");
    check_block(RN_BLOCK_BOTTLENECK, 4, 3, 2, RN_SHORTCUT_B, 0, "bottleneck B s2 (3x3)");
    check_block(RN_BLOCK_BOTTLENECK, 4, 3, 2, RN_SHORTCUT_B, RN_MODEL_STRIDE_ON_1X1,
                "bottleneck B s2 (1x1)");
    check_block(RN_BLOCK_BOTTLENECK, 4, 2, 2, RN_SHORTCUT_A, 0, "bottleneck A s2");
}

/* ---- a whole network through plans ---------------------------------------------- */

/* mean softmax cross-entropy in double, from the logits */
static double xent(const float *logits, const int32_t *labels, int64_t n, int64_t k) {
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * k;
        double mx = z[0], s = 0.0;
        for (int64_t j = 1; j < k; j++) mx = fmax(mx, z[j]);
        for (int64_t j = 0; j < k; j++) s += exp((double)z[j] - mx);
        total += mx + log(s) - (double)z[labels[i]];
    }
    return total / (double)n;
}

static double net_loss(rn_plan *p, const float *x, size_t nx, float *logits, size_t nl,
                       const int32_t *labels, int64_t n, int64_t k) {
    CHECK(rn_plan_forward(p, x, nx, RN_LAYOUT_NCHW, logits, nl) == RN_OK);
    return xent(logits, labels, n, k);
}

static void test_tiny_network_gradients_through_plans(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 4, 0, &m), ctx);
    CHECK_OK(rn_model_init(m, 5), ctx);
    const int64_t n = 4, hw = 8, k = 10;
    rn_plan *p = NULL;
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_TRAIN, &p), ctx);
    size_t nx = (size_t)(n * 3 * hw * hw), nl = (size_t)(n * k);
    float *x = malloc(nx * sizeof(float)), *logits = malloc(nl * sizeof(float));
    rn_test_fill_uniform(x, nx, -1.0, 1.0);
    int32_t labels[4] = {3, 0, 9, 3};

    /* every trainable tensor, as one vector */
    int32_t count = rn_model_tensor_count(m), np = 0;
    const char **names = malloc((size_t)count * sizeof(char *));
    size_t *counts = malloc((size_t)count * sizeof(size_t)), total = 0;
    for (int32_t i = 0; i < count; i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, &kind);
        if (kind != RN_TENSOR_PARAM) continue;
        size_t c = 1;
        for (int32_t d = 0; d < ndim; d++) c *= (size_t)dims[d];
        names[np] = name, counts[np++] = c;
        total += c;
    }
    float *v = malloc(total * sizeof(float)), *g = malloc(total * sizeof(float));
    float *d = malloc(total * sizeof(float)), *pv = malloc(total * sizeof(float));
    size_t off = 0;
    for (int32_t i = 0; i < np; i++) {
        CHECK(rn_model_get_tensor(m, names[i], v + off, counts[i]) == RN_OK);
        off += counts[i];
    }

    float loss = 0.0f;
    double l0 = net_loss(p, x, nx, logits, nl, labels, n, k);
    CHECK_OK(rn_plan_backward(p, labels, 4, &loss), ctx);
    CHECK_CLOSE(loss, l0, 1e-5); /* the library's loss is the mean cross-entropy */
    off = 0;
    for (int32_t i = 0; i < np; i++) {
        CHECK(rn_model_get_grad(m, names[i], g + off, counts[i]) == RN_OK);
        off += counts[i];
    }
    float *gx = malloc(nx * sizeof(float));
    CHECK_OK(rn_plan_input_grad(p, gx, nx, RN_LAYOUT_NCHW), ctx);

    rn_test_fill_uniform(d, total, -1.0, 1.0);
    off = 0;
    for (int32_t t = 0; t < np; t++) {
        size_t lo = off, c = counts[t];
        off += c;
        double analytic = dot(g + lo, d + lo, c), l[2];
        for (int s = 0; s < 2; s++) {
            for (size_t i = 0; i < c; i++) pv[i] = v[lo + i] + (float)((s ? -EPS : EPS) * d[lo + i]);
            CHECK(rn_model_set_tensor(m, names[t], pv, c) == RN_OK);
            l[s] = net_loss(p, x, nx, logits, nl, labels, n, k);
        }
        CHECK(rn_model_set_tensor(m, names[t], v + lo, c) == RN_OK);
        double numeric = (l[0] - l[1]) / (2 * EPS);
        /* the loss is O(1) and many tensors move it by little: compare to 0.01 */
        if (fabs(numeric - analytic) > TOL * fmax(1e-2, fabs(analytic)))
            fprintf(stderr, "  network %s: numeric %.6g analytic %.6g\n", names[t], numeric,
                    analytic);
        CHECK(fabs(numeric - analytic) <= TOL * fmax(1e-2, fabs(analytic)));
    }

    float *dxdir = malloc(nx * sizeof(float)), *xs = malloc(nx * sizeof(float));
    rn_test_fill_uniform(dxdir, nx, -1.0, 1.0);
    double analytic = dot(gx, dxdir, nx);
    for (size_t i = 0; i < nx; i++) xs[i] = x[i] + (float)(EPS * dxdir[i]);
    double lp = net_loss(p, xs, nx, logits, nl, labels, n, k);
    for (size_t i = 0; i < nx; i++) xs[i] = x[i] - (float)(EPS * dxdir[i]);
    double lm = net_loss(p, xs, nx, logits, nl, labels, n, k);
    double numeric = (lp - lm) / (2 * EPS);
    if (fabs(numeric - analytic) > TOL * fmax(1.0, fabs(analytic)))
        fprintf(stderr, "  network input: numeric %.6g analytic %.6g\n", numeric, analytic);
    /* the input gradient is small (the loss hardly depends on one pixel):
     * compare relative to its own size */
    CHECK(fabs(numeric - analytic) <= TOL * fmax(1e-2, fabs(analytic)));

    free(dxdir), free(xs), free(gx), free(v), free(g), free(d), free(pv);
    free(names), free(counts), free(x), free(logits);
    rn_plan_destroy(p);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"basic_block_identity_shortcut_gradients", test_basic_block_identity_shortcut_gradients},
    {"basic_block_option_a_padding_shortcut_gradients",
     test_basic_block_option_a_padding_shortcut_gradients},
    {"basic_block_projection_shortcut_gradients",
     test_basic_block_projection_shortcut_gradients},
    {"plain_block_gradients", test_plain_block_gradients},
    {"bottleneck_gradients_with_either_stride_placement",
     test_bottleneck_gradients_with_either_stride_placement},
    {"tiny_network_gradients_through_plans", test_tiny_network_gradients_through_plans},
};

RN_TEST_MAIN(cases)
