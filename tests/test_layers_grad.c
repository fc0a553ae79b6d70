/*
 * Layers: every gradient that a layer's backward produces, checked against
 * central finite differences of its forward.
 *
 * Method: for a fixed random r, L = sum(y * r) accumulated in double (for
 * softmax cross-entropy L is the loss itself), so dL/dy = r is the dy given to
 * backward. Each input element p is moved by +-eps (the float values actually
 * stored give the step) and (L+ - L-) / step is the numeric derivative.
 * The error measure is max|analytic - numeric| / max|numeric|, over the whole
 * gradient; the tolerance is stated per test. Inputs stay away from ReLU
 * kinks and max-pool ties, so the layers are smooth within +-eps.
 */
#include "harness.h"
#include "ops/ops.h"
#include "resnet.h"

typedef double (*loss_fn)(void *state);

static rn_tensor *make(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c, double lo,
                       double hi) {
    rn_tensor *t = NULL;
    if (rn_tensor_create(ctx, n, h, w, c, &t) != RN_OK) return NULL;
    rn_test_fill_uniform(rn_tensor_data(t), (size_t)rn_tensor_numel(t), lo, hi);
    return t;
}

static double dot(const rn_tensor *y, const rn_tensor *r) {
    const float *a = rn_tensor_data_const(y), *b = rn_tensor_data_const(r);
    double s = 0.0;
    for (int64_t i = 0; i < rn_tensor_numel(y); i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* Numeric gradient of f with respect to the n floats at p. */
static void numeric_grad(loss_fn f, void *st, float *p, size_t n, double eps, double *g) {
    for (size_t i = 0; i < n; i++) {
        float save = p[i];
        float up = (float)(save + eps), down = (float)(save - eps);
        p[i] = up;
        double lp = f(st);
        p[i] = down;
        double lm = f(st);
        p[i] = save;
        g[i] = (lp - lm) / ((double)up - (double)down);
    }
}

static int check_grad(const char *what, int line, const float *ana, const double *num, size_t n,
                      double tol) {
    double scale = 1e-6, worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(num[i]) > scale) scale = fabs(num[i]);
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)ana[i] - num[i]);
        if (e > worst) worst = e, at = i;
    }
    if (!(worst / scale <= tol)) {
        fprintf(stderr, "  line %d: %s: error %.3g > %.3g at %zu (analytic %.7g, numeric %.7g)\n",
                line, what, worst / scale, tol, at, (double)ana[at], num[at]);
        rn_test_failed_checks++;
        return 0;
    }
    return 1;
}

/* Numeric gradient of f over tensor p, compared with the analytic one. */
static void expect_grad(const char *what, int line, loss_fn f, void *st, rn_tensor *p,
                        const rn_tensor *ana, double eps, double tol) {
    size_t n = (size_t)rn_tensor_numel(p);
    double *num = (double *)malloc(n * sizeof(double));
    if (!num) {
        rn_test_failed_checks++;
        return;
    }
    numeric_grad(f, st, rn_tensor_data(p), n, eps, num);
    check_grad(what, line, rn_tensor_data_const(ana), num, n, tol);
    free(num);
}
#define EXPECT_GRAD(what, f, st, p, ana, eps, tol) \
    expect_grad(what, __LINE__, f, st, p, ana, eps, tol)

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    return ctx;
}

/* ---- convolution ------------------------------------------------------------------ */
typedef struct conv_case {
    rn_ctx *ctx;
    rn_tensor *x, *w, *b, *y, *r;
    int32_t sh, sw, ph, pw;
} conv_case;

static double conv_loss(void *arg) {
    conv_case *s = (conv_case *)arg;
    if (rn_conv2d_forward(s->ctx, s->x, s->w, s->b, s->sh, s->sw, s->ph, s->pw, s->y)) return NAN;
    return dot(s->y, s->r);
}

/* Conv is linear in each argument, so differences are exact up to rounding:
 * eps 1e-2, tolerance 1e-3. */
static void conv_grad_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t oc, int64_t k,
                           int32_t stride, int32_t pad) {
    rn_ctx *ctx = new_ctx();
    conv_case s = {ctx, NULL, NULL, NULL, NULL, NULL, stride, stride, pad, pad};
    int64_t oh = rn_conv_out_size(h, k, stride, pad), ow = rn_conv_out_size(w, k, stride, pad);
    CHECK(oh > 0 && ow > 0);
    s.x = make(ctx, n, h, w, c, -1, 1);
    s.w = make(ctx, oc, k, k, c, -0.5, 0.5);
    s.b = make(ctx, 1, 1, 1, oc, -0.5, 0.5);
    s.y = make(ctx, n, oh, ow, oc, 0, 0);
    s.r = make(ctx, n, oh, ow, oc, -1, 1);
    rn_tensor *dx = make(ctx, n, h, w, c, 0, 0), *dw = make(ctx, oc, k, k, c, 0, 0);
    rn_tensor *db = make(ctx, 1, 1, 1, oc, 0, 0);
    CHECK_OK(rn_conv2d_backward_data(ctx, s.r, s.w, stride, stride, pad, pad, dx), ctx);
    CHECK_OK(rn_conv2d_backward_weights(ctx, s.x, s.r, stride, stride, pad, pad, dw, db), ctx);
    EXPECT_GRAD("conv dx", conv_loss, &s, s.x, dx, 1e-2, 1e-3);
    EXPECT_GRAD("conv dw", conv_loss, &s, s.w, dw, 1e-2, 1e-3);
    EXPECT_GRAD("conv db", conv_loss, &s, s.b, db, 1e-2, 1e-3);
    rn_tensor *all[] = {s.x, s.w, s.b, s.y, s.r, dx, dw, db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rn_tensor_destroy(all[i]);
    rn_ctx_destroy(ctx);
}

static void test_conv_grads_kernel1_stride1_pad0(void) { conv_grad_case(2, 4, 5, 3, 4, 1, 1, 0); }
static void test_conv_grads_kernel1_stride2_pad0(void) { conv_grad_case(2, 5, 5, 3, 4, 1, 2, 0); }
static void test_conv_grads_kernel3_stride1_pad1(void) { conv_grad_case(2, 5, 4, 3, 4, 3, 1, 1); }
static void test_conv_grads_kernel3_stride1_pad0(void) { conv_grad_case(1, 5, 6, 2, 3, 3, 1, 0); }
static void test_conv_grads_kernel3_stride2_pad1(void) { conv_grad_case(2, 6, 5, 3, 4, 3, 2, 1); }
static void test_conv_grads_kernel3_stride2_pad0(void) { conv_grad_case(1, 7, 7, 2, 3, 3, 2, 0); }
static void test_conv_grads_kernel7_stride2_pad3(void) { conv_grad_case(1, 9, 8, 2, 3, 7, 2, 3); }
static void test_conv_grads_kernel7_stride1_pad1(void) { conv_grad_case(1, 7, 8, 2, 2, 7, 1, 1); }

/* ---- batch norm (train mode) ---------------------------------------------------------- */
typedef struct bn_case {
    rn_ctx *ctx;
    rn_tensor *x, *gamma, *beta, *rm, *rv, *y, *mean, *invstd, *r;
} bn_case;

static double bn_loss(void *arg) {
    bn_case *s = (bn_case *)arg;
    if (rn_batchnorm_forward_train(s->ctx, s->x, s->gamma, s->beta, s->rm, s->rv, 0.1f, 1e-5f, s->y,
                                   s->mean, s->invstd))
        return NAN;
    return dot(s->y, s->r);
}

/* BN is not linear: eps 3e-3 keeps the truncation error near 1e-5 while the
 * float rounding of L stays below 1e-4 of the gradient; tolerance 5e-3. */
static void test_bn_train_grads_dx_dgamma_dbeta(void) {
    rn_ctx *ctx = new_ctx();
    bn_case s;
    s.ctx = ctx;
    s.x = make(ctx, 3, 2, 2, 5, -2, 2);
    s.gamma = make(ctx, 1, 1, 1, 5, 0.5, 1.5);
    s.beta = make(ctx, 1, 1, 1, 5, -0.5, 0.5);
    s.rm = make(ctx, 1, 1, 1, 5, 0, 0);
    s.rv = make(ctx, 1, 1, 1, 5, 1, 1);
    s.y = make(ctx, 3, 2, 2, 5, 0, 0);
    s.mean = make(ctx, 1, 1, 1, 5, 0, 0);
    s.invstd = make(ctx, 1, 1, 1, 5, 0, 0);
    s.r = make(ctx, 3, 2, 2, 5, -1, 1);
    rn_tensor *dx = make(ctx, 3, 2, 2, 5, 0, 0), *dg = make(ctx, 1, 1, 1, 5, 0, 0);
    rn_tensor *dbeta = make(ctx, 1, 1, 1, 5, 0, 0);
    CHECK(!isnan(bn_loss(&s)));
    CHECK_OK(rn_batchnorm_backward(ctx, s.x, s.r, s.gamma, s.mean, s.invstd, dx, dg, dbeta), ctx);
    EXPECT_GRAD("bn dx", bn_loss, &s, s.x, dx, 3e-3, 5e-3);
    EXPECT_GRAD("bn dgamma", bn_loss, &s, s.gamma, dg, 3e-3, 5e-3);
    EXPECT_GRAD("bn dbeta", bn_loss, &s, s.beta, dbeta, 3e-3, 5e-3);
    rn_tensor *all[] = {s.x,    s.gamma,  s.beta, s.rm, s.rv, s.y,
                        s.mean, s.invstd, s.r,    dx,   dg,   dbeta};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rn_tensor_destroy(all[i]);
    rn_ctx_destroy(ctx);
}

/* The fused BN+ReLU of the blocks (internal drivers): forward with relu = 1,
 * backward masked by the ReLU output. Inputs are redrawn until every
 * pre-activation is at least 0.05 from the kink. */
typedef struct bn_relu_case {
    rn_ctx *ctx;
    size_t count, c;
    float *x, *gamma, *beta, *y, *mean, *invstd, *r;
} bn_relu_case;

static double bn_relu_loss(void *arg) {
    bn_relu_case *s = (bn_relu_case *)arg;
    rn__bn_forward_train(s->ctx, s->count, s->c, s->x, s->gamma, s->beta, NULL, NULL, 0.1f, 1e-5f,
                         NULL, s->y, s->mean, s->invstd, NULL, 1);
    double l = 0.0;
    for (size_t i = 0; i < s->count * s->c; i++) l += (double)s->y[i] * s->r[i];
    return l;
}

static void test_bn_relu_fused_grads_mask_by_output(void) {
    enum { COUNT = 10, C = 3, N = COUNT * C };
    rn_ctx *ctx = new_ctx();
    float x[N], gamma[C], beta[C], y[N], pre[N], mean[C], invstd[C], r[N], dx[N], dg[C], db[C];
    bn_relu_case s = {ctx, COUNT, C, x, gamma, beta, y, mean, invstd, r};
    rn_test_fill_uniform(gamma, C, 0.5, 1.5);
    rn_test_fill_uniform(beta, C, -0.3, 0.3);
    rn_test_fill_uniform(r, N, -1, 1);
    double margin = 0.0;
    for (int tries = 0; tries < 1000 && margin < 0.05; tries++) {
        rn_test_fill_uniform(x, N, -2, 2);
        rn__bn_forward_train(ctx, COUNT, C, x, gamma, beta, NULL, NULL, 0.1f, 1e-5f, NULL, pre,
                             mean, invstd, NULL, 0);
        margin = 1e9;
        for (int i = 0; i < N; i++)
            if (fabs(pre[i]) < margin) margin = fabs(pre[i]);
    }
    CHECK(margin >= 0.05);
    int active = 0;
    bn_relu_loss(&s);
    for (int i = 0; i < N; i++) active += y[i] > 0.0f;
    CHECK(active > 0 && active < N); /* both sides of the kink are exercised */
    rn__bn_backward(ctx, COUNT, C, x, r, y, NULL, gamma, mean, invstd, dx, dg, db);
    double num[N];
    numeric_grad(bn_relu_loss, &s, x, N, 1e-3, num);
    check_grad("bn+relu dx", __LINE__, dx, num, N, 5e-3);
    numeric_grad(bn_relu_loss, &s, gamma, C, 1e-3, num);
    check_grad("bn+relu dgamma", __LINE__, dg, num, C, 5e-3);
    numeric_grad(bn_relu_loss, &s, beta, C, 1e-3, num);
    check_grad("bn+relu dbeta", __LINE__, db, num, C, 5e-3);
    rn_ctx_destroy(ctx);
}

/* running_var takes the unbiased variance; the expected value is computed
 * here in double from the definition: (1-m)*rv + m * sum((x-mean)^2)/(M-1). */
static void test_bn_train_running_var_is_unbiased(void) {
    enum { NN = 2, H = 3, W = 1, C = 4, M = NN * H * W };
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, NN, H, W, C, -3, 5), *g = make(ctx, 1, 1, 1, C, 1, 1);
    rn_tensor *b = make(ctx, 1, 1, 1, C, 0, 0), *rm = make(ctx, 1, 1, 1, C, 0.25, 0.25);
    rn_tensor *rv = make(ctx, 1, 1, 1, C, 2, 2), *y = make(ctx, NN, H, W, C, 0, 0);
    rn_tensor *sm = make(ctx, 1, 1, 1, C, 0, 0), *si = make(ctx, 1, 1, 1, C, 0, 0);
    const float momentum = 0.1f, eps = 1e-5f;
    CHECK_OK(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, momentum, eps, y, sm, si), ctx);
    const float *xd = rn_tensor_data_const(x);
    for (int ch = 0; ch < C; ch++) {
        double mean = 0.0, ss = 0.0;
        for (int i = 0; i < M; i++) mean += xd[i * C + ch];
        mean /= M;
        for (int i = 0; i < M; i++) ss += (xd[i * C + ch] - mean) * (xd[i * C + ch] - mean);
        double unbiased = ss / (M - 1), biased = ss / M;
        CHECK_CLOSE(rn_tensor_data(rv)[ch], (1 - momentum) * 2.0 + momentum * unbiased, 1e-6);
        CHECK_CLOSE(rn_tensor_data(rm)[ch], (1 - momentum) * 0.25 + momentum * mean, 1e-6);
        CHECK_CLOSE(rn_tensor_data(sm)[ch], mean, 1e-6);
        CHECK_CLOSE(rn_tensor_data(si)[ch], 1.0 / sqrt(biased + eps), 1e-6);
        /* the normalisation itself uses the biased variance */
        CHECK_CLOSE(rn_tensor_data(y)[ch], (xd[ch] - mean) / sqrt(biased + eps), 1e-5);
    }
    rn_tensor *all[] = {x, g, b, rm, rv, y, sm, si};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rn_tensor_destroy(all[i]);
    rn_ctx_destroy(ctx);
}

/* ---- ReLU ---------------------------------------------------------------------------------- */
typedef struct unary_case {
    rn_ctx *ctx;
    rn_tensor *x, *y, *r;
    int kind; /* 0 relu, 1 global average pool */
} unary_case;

static double unary_loss(void *arg) {
    unary_case *s = (unary_case *)arg;
    rn_status st = s->kind == 0 ? rn_relu_forward(s->ctx, s->x, s->y)
                                : rn_global_avgpool_forward(s->ctx, s->x, s->y);
    return st ? NAN : dot(s->y, s->r);
}

/* Values are drawn in [0.1, 1] with a random sign: 1e-2 steps never cross 0. */
static void test_relu_grad_passes_where_output_positive(void) {
    rn_ctx *ctx = new_ctx();
    unary_case s = {ctx, make(ctx, 2, 3, 3, 4, 0.1, 1), make(ctx, 2, 3, 3, 4, 0, 0),
                    make(ctx, 2, 3, 3, 4, -1, 1), 0};
    float *xd = rn_tensor_data(s.x);
    for (int i = 0; i < 72; i++)
        if (rn_test_uniform() < 0.5) xd[i] = -xd[i];
    rn_tensor *dx = make(ctx, 2, 3, 3, 4, 0, 0);
    CHECK(!isnan(unary_loss(&s)));
    CHECK_OK(rn_relu_backward(ctx, s.y, s.r, dx), ctx);
    EXPECT_GRAD("relu dx", unary_loss, &s, s.x, dx, 1e-2, 1e-4);
    rn_tensor_destroy(s.x), rn_tensor_destroy(s.y), rn_tensor_destroy(s.r), rn_tensor_destroy(dx);
    rn_ctx_destroy(ctx);
}

static void test_global_avgpool_grad(void) {
    rn_ctx *ctx = new_ctx();
    unary_case s = {ctx, make(ctx, 2, 3, 5, 4, -1, 1), make(ctx, 2, 1, 1, 4, 0, 0),
                    make(ctx, 2, 1, 1, 4, -1, 1), 1};
    rn_tensor *dx = make(ctx, 2, 3, 5, 4, 0, 0);
    CHECK_OK(rn_global_avgpool_backward(ctx, s.r, dx), ctx);
    EXPECT_GRAD("gap dx", unary_loss, &s, s.x, dx, 1e-2, 1e-3);
    rn_tensor_destroy(s.x), rn_tensor_destroy(s.y), rn_tensor_destroy(s.r), rn_tensor_destroy(dx);
    rn_ctx_destroy(ctx);
}

/* ---- max pool ------------------------------------------------------------------------------ */
typedef struct pool_case {
    rn_ctx *ctx;
    rn_tensor *x, *y, *r;
    int32_t kh, kw, sh, sw, ph, pw;
} pool_case;

static double pool_loss(void *arg) {
    pool_case *s = (pool_case *)arg;
    if (rn_maxpool_forward(s->ctx, s->x, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, s->y))
        return NAN;
    return dot(s->y, s->r);
}

/* Distinct values 0.05 apart in random order: steps of 1e-3 never change
 * which cell is a window's maximum. */
static void fill_without_ties(rn_tensor *t) {
    float *p = rn_tensor_data(t);
    size_t n = (size_t)rn_tensor_numel(t);
    for (size_t i = 0; i < n; i++) p[i] = (float)(0.05 * (double)i - 0.025 * (double)n);
    for (size_t i = n - 1; i > 0; i--) {
        size_t k = (size_t)(rn_test_uniform() * (double)(i + 1));
        float tmp = p[i];
        p[i] = p[k], p[k] = tmp;
    }
}

static void pool_grad_case(int64_t n, int64_t h, int64_t w, int64_t c, int32_t kh, int32_t kw,
                           int32_t sh, int32_t sw, int32_t ph, int32_t pw) {
    rn_ctx *ctx = new_ctx();
    int64_t oh = rn_conv_out_size(h, kh, sh, ph), ow = rn_conv_out_size(w, kw, sw, pw);
    pool_case s = {ctx,
                   make(ctx, n, h, w, c, 0, 0),
                   make(ctx, n, oh, ow, c, 0, 0),
                   make(ctx, n, oh, ow, c, -1, 1),
                   kh,
                   kw,
                   sh,
                   sw,
                   ph,
                   pw};
    fill_without_ties(s.x);
    rn_tensor *dx = make(ctx, n, h, w, c, 7, 7); /* must be overwritten */
    CHECK_OK(rn_maxpool_backward(ctx, s.x, s.r, kh, kw, sh, sw, ph, pw, dx), ctx);
    EXPECT_GRAD("maxpool dx", pool_loss, &s, s.x, dx, 1e-3, 1e-3);
    rn_tensor_destroy(s.x), rn_tensor_destroy(s.y), rn_tensor_destroy(s.r), rn_tensor_destroy(dx);
    rn_ctx_destroy(ctx);
}

static void test_maxpool_3x3_stride2_pad1_grad(void) {
    pool_grad_case(2, 7, 6, 3, 3, 3, 2, 2, 1, 1);
}
static void test_maxpool_general_2x3_grad(void) { pool_grad_case(1, 5, 7, 2, 2, 3, 1, 2, 1, 0); }

/* ---- linear ---------------------------------------------------------------------------------- */
typedef struct linear_case {
    rn_ctx *ctx;
    rn_tensor *x, *w, *b, *y, *r;
} linear_case;

static double linear_loss(void *arg) {
    linear_case *s = (linear_case *)arg;
    if (rn_linear_forward(s->ctx, s->x, s->w, s->b, s->y)) return NAN;
    return dot(s->y, s->r);
}

/* x is (3,2,2,3): IN = 12 read in NHWC order. */
static void test_linear_grads_dx_dw_db(void) {
    rn_ctx *ctx = new_ctx();
    linear_case s = {ctx,
                     make(ctx, 3, 2, 2, 3, -1, 1),
                     make(ctx, 5, 1, 1, 12, -0.5, 0.5),
                     make(ctx, 1, 1, 1, 5, -0.5, 0.5),
                     make(ctx, 3, 1, 1, 5, 0, 0),
                     make(ctx, 3, 1, 1, 5, -1, 1)};
    rn_tensor *dx = make(ctx, 3, 2, 2, 3, 0, 0), *dw = make(ctx, 5, 1, 1, 12, 0, 0);
    rn_tensor *db = make(ctx, 1, 1, 1, 5, 0, 0);
    CHECK_OK(rn_linear_backward(ctx, s.x, s.w, s.r, dx, dw, db), ctx);
    EXPECT_GRAD("linear dx", linear_loss, &s, s.x, dx, 1e-2, 1e-3);
    EXPECT_GRAD("linear dw", linear_loss, &s, s.w, dw, 1e-2, 1e-3);
    EXPECT_GRAD("linear db", linear_loss, &s, s.b, db, 1e-2, 1e-3);
    rn_tensor *all[] = {s.x, s.w, s.b, s.y, s.r, dx, dw, db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rn_tensor_destroy(all[i]);
    rn_ctx_destroy(ctx);
}

/* ---- residual add ---------------------------------------------------------------------- */
typedef struct add_case {
    rn_ctx *ctx;
    rn_tensor *a, *b, *y, *r;
} add_case;

static double add_loss(void *arg) {
    add_case *s = (add_case *)arg;
    return rn_add_forward(s->ctx, s->a, s->b, s->y) ? NAN : dot(s->y, s->r);
}

static void test_add_grads_da_db(void) {
    rn_ctx *ctx = new_ctx();
    add_case s = {ctx, make(ctx, 2, 3, 2, 3, -1, 1), make(ctx, 2, 3, 2, 3, -1, 1),
                  make(ctx, 2, 3, 2, 3, 0, 0), make(ctx, 2, 3, 2, 3, -1, 1)};
    rn_tensor *da = make(ctx, 2, 3, 2, 3, 0, 0), *db = make(ctx, 2, 3, 2, 3, 0, 0);
    CHECK_OK(rn_add_backward(ctx, s.r, da, db), ctx);
    EXPECT_GRAD("add da", add_loss, &s, s.a, da, 1e-2, 1e-4);
    EXPECT_GRAD("add db", add_loss, &s, s.b, db, 1e-2, 1e-4);
    rn_tensor *all[] = {s.a, s.b, s.y, s.r, da, db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rn_tensor_destroy(all[i]);
    rn_ctx_destroy(ctx);
}

/* ---- option-A shortcut ------------------------------------------------------------------ */
typedef struct shortcut_case {
    rn_ctx *ctx;
    rn_tensor *x, *y, *r;
    int32_t stride;
} shortcut_case;

static double shortcut_loss(void *arg) {
    shortcut_case *s = (shortcut_case *)arg;
    return rn_shortcut_a_forward(s->ctx, s->x, s->stride, s->y) ? NAN : dot(s->y, s->r);
}

/* Odd H and W (ceil), and OC - C odd, so lo and hi padding differ. */
static void test_shortcut_a_grad_stride2_odd(void) {
    rn_ctx *ctx = new_ctx();
    shortcut_case s = {ctx, make(ctx, 2, 5, 3, 3, -1, 1), make(ctx, 2, 3, 2, 8, 0, 0),
                       make(ctx, 2, 3, 2, 8, -1, 1), 2};
    rn_tensor *dx = make(ctx, 2, 5, 3, 3, 7, 7);
    CHECK_OK(rn_shortcut_a_backward(ctx, s.r, 2, dx), ctx);
    EXPECT_GRAD("shortcut-A dx", shortcut_loss, &s, s.x, dx, 1e-2, 1e-4);
    rn_tensor_destroy(s.x), rn_tensor_destroy(s.y), rn_tensor_destroy(s.r), rn_tensor_destroy(dx);
    rn_ctx_destroy(ctx);
}

static void test_shortcut_a_grad_stride1_identity_channels(void) {
    rn_ctx *ctx = new_ctx();
    shortcut_case s = {ctx, make(ctx, 1, 3, 3, 4, -1, 1), make(ctx, 1, 3, 3, 4, 0, 0),
                       make(ctx, 1, 3, 3, 4, -1, 1), 1};
    rn_tensor *dx = make(ctx, 1, 3, 3, 4, 7, 7);
    CHECK_OK(rn_shortcut_a_backward(ctx, s.r, 1, dx), ctx);
    EXPECT_GRAD("shortcut-A dx", shortcut_loss, &s, s.x, dx, 1e-2, 1e-4);
    rn_tensor_destroy(s.x), rn_tensor_destroy(s.y), rn_tensor_destroy(s.r), rn_tensor_destroy(dx);
    rn_ctx_destroy(ctx);
}

/* ---- softmax cross-entropy --------------------------------------------------------------- */
typedef struct xent_case {
    rn_ctx *ctx;
    rn_tensor *logits;
    const int32_t *labels;
    size_t n;
} xent_case;

static double xent_loss(void *arg) {
    xent_case *s = (xent_case *)arg;
    float loss = 0.0f;
    if (rn_softmax_xent_forward(s->ctx, s->logits, s->labels, s->n, &loss)) return NAN;
    return loss;
}

/* L is the loss itself (a float): eps 1e-2, tolerance 5e-3. Large logits
 * check the log-sum-exp stabilisation too. */
static void test_softmax_xent_grad(void) {
    rn_ctx *ctx = new_ctx();
    const int32_t labels[4] = {2, 0, 4, 2};
    xent_case s = {ctx, make(ctx, 4, 1, 1, 5, -3, 3), labels, 4};
    rn_tensor *g = make(ctx, 4, 1, 1, 5, 0, 0);
    CHECK_OK(rn_softmax_xent_backward(ctx, s.logits, labels, 4, g), ctx);
    EXPECT_GRAD("xent dlogits", xent_loss, &s, s.logits, g, 1e-2, 5e-3);
    /* shifted by 100 (exp would overflow without the max subtraction) */
    float *l = rn_tensor_data(s.logits);
    for (int i = 0; i < 20; i++) l[i] += 100.0f;
    CHECK_OK(rn_softmax_xent_backward(ctx, s.logits, labels, 4, g), ctx);
    CHECK(isfinite(xent_loss(&s)));
    EXPECT_GRAD("xent dlogits at +100", xent_loss, &s, s.logits, g, 1e-1, 2e-2);
    rn_tensor_destroy(s.logits), rn_tensor_destroy(g);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"conv_grads_kernel1_stride1_pad0", test_conv_grads_kernel1_stride1_pad0},
    {"conv_grads_kernel1_stride2_pad0", test_conv_grads_kernel1_stride2_pad0},
    {"conv_grads_kernel3_stride1_pad1", test_conv_grads_kernel3_stride1_pad1},
    {"conv_grads_kernel3_stride1_pad0", test_conv_grads_kernel3_stride1_pad0},
    {"conv_grads_kernel3_stride2_pad1", test_conv_grads_kernel3_stride2_pad1},
    {"conv_grads_kernel3_stride2_pad0", test_conv_grads_kernel3_stride2_pad0},
    {"conv_grads_kernel7_stride2_pad3", test_conv_grads_kernel7_stride2_pad3},
    {"conv_grads_kernel7_stride1_pad1", test_conv_grads_kernel7_stride1_pad1},
    {"bn_train_grads_dx_dgamma_dbeta", test_bn_train_grads_dx_dgamma_dbeta},
    {"bn_relu_fused_grads_mask_by_output", test_bn_relu_fused_grads_mask_by_output},
    {"bn_train_running_var_is_unbiased", test_bn_train_running_var_is_unbiased},
    {"relu_grad_passes_where_output_positive", test_relu_grad_passes_where_output_positive},
    {"global_avgpool_grad", test_global_avgpool_grad},
    {"maxpool_3x3_stride2_pad1_grad", test_maxpool_3x3_stride2_pad1_grad},
    {"maxpool_general_2x3_grad", test_maxpool_general_2x3_grad},
    {"linear_grads_dx_dw_db", test_linear_grads_dx_dw_db},
    {"add_grads_da_db", test_add_grads_da_db},
    {"shortcut_a_grad_stride2_odd", test_shortcut_a_grad_stride2_odd},
    {"shortcut_a_grad_stride1_identity_channels", test_shortcut_a_grad_stride1_identity_channels},
    {"softmax_xent_grad", test_softmax_xent_grad},
};
RN_TEST_MAIN(cases)
