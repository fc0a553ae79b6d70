/*
 * Plans: the memory size query against what a bound run really needs, no
 * allocation while running in bound memory, BN folding against the unfolded
 * model, the residual additions a folded plan fuses into convolutions,
 * layouts, thread-count determinism, BN running statistics, and every
 * way of calling the plan API wrongly.
 */
#define _POSIX_C_SOURCE 200112L
#include "harness.h"
#include "resnet.h"
#include "ops/ops.h"        /* workspace sizes, for the memory bound */
#include "nn/nn-internal.h" /* the program's steps, for the fused residual additions */

static int allocs_seen;
static void *counting_alloc(void *user, size_t size, size_t align) {
    (void)user;
    allocs_seen++;
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) ? NULL : p;
}
static void counting_free(void *user, void *p) {
    (void)user;
    free(p);
}

static rn_model *make(rn_ctx *ctx, const char *arch, int32_t base, uint64_t seed) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, arch, 0, 0, RN_SHORTCUT_DEFAULT, base, 0, &m), ctx);
    if (m) CHECK_OK(rn_model_init(m, seed), ctx);
    return m;
}

/* BN layers with non-trivial statistics and affine parameters, as after training */
static void randomise_bn(rn_model *m) {
    for (int32_t i = 0; i < rn_model_tensor_count(m); i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, NULL);
        if (ndim != 1 || strncmp(name, "fc", 2) == 0) continue;
        float *v = malloc((size_t)dims[0] * sizeof(float));
        double lo = -0.2, hi = 0.2; /* bias, running_mean */
        if (strstr(name, "running_var"))
            lo = 0.5, hi = 2.0;
        else if (strstr(name, "weight"))
            lo = 0.5, hi = 1.5;
        rn_test_fill_uniform(v, (size_t)dims[0], lo, hi);
        rn_model_set_tensor(m, name, v, (size_t)dims[0]);
        free(v);
    }
}

static float *random_input(size_t n) {
    float *x = malloc(n * sizeof(float));
    rn_test_fill_uniform(x, n, -1.0, 1.0);
    return x;
}

static void test_bound_buffer_of_the_queried_size_runs_and_one_byte_less_is_refused(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, "resnet20", 8, 1);
    randomise_bn(m);
    const int64_t n = 2, hw = 12;
    size_t nx = (size_t)(n * 3 * hw * hw), nl = (size_t)n * 10;
    float *x = random_input(nx), *a = malloc(nl * sizeof(float)), *b = malloc(nl * sizeof(float));
    for (int32_t mode = RN_MODE_INFER; mode <= RN_MODE_TRAIN; mode++) {
        rn_plan *own = NULL, *bound = NULL;
        CHECK_OK(rn_plan_create(m, n, hw, hw, mode, &own), ctx);
        CHECK_OK(rn_plan_create(m, n, hw, hw, mode, &bound), ctx);
        size_t size = 0;
        CHECK_OK(rn_plan_memory_size(bound, &size), ctx);
        CHECK(size > 0);
        /* one byte less: refused, and the message names the size needed */
        unsigned char *buf = malloc(size + 1);
        CHECK_STATUS(rn_plan_bind_memory(bound, buf, size - 1), RN_E_BUFFER_TOO_SMALL, ctx);
        char needed[32];
        snprintf(needed, sizeof needed, "%zu", size);
        CHECK(strstr(rn_last_error(ctx), needed) != NULL);
        /* exactly the size, at an odd address: accepted (the plan aligns inside) */
        CHECK_OK(rn_plan_bind_memory(bound, buf + 1, size), ctx);
        memset(buf, 0xFF, size + 1); /* NaN garbage: the run must not read unwritten memory */
        CHECK_OK(rn_plan_bind_memory(bound, buf + 1, size), ctx);
        CHECK_OK(rn_plan_forward(own, x, nx, RN_LAYOUT_NCHW, a, nl), ctx);
        CHECK_OK(rn_plan_forward(bound, x, nx, RN_LAYOUT_NCHW, b, nl), ctx);
        CHECK(memcmp(a, b, nl * sizeof(float)) == 0);
        if (mode == RN_MODE_TRAIN) {
            int32_t labels[2] = {1, 7};
            float la = 0.0f, lb = 0.0f;
            CHECK_OK(rn_plan_backward(own, labels, 2, &la), ctx);
            float ga[10 * 32], gb[10 * 32]; /* fc of base width 8: 32 inputs */
            CHECK_OK(rn_model_get_grad(m, "fc.weight", ga, 10 * 32), ctx);
            CHECK_OK(rn_plan_backward(bound, labels, 2, &lb), ctx);
            CHECK_OK(rn_model_get_grad(m, "fc.weight", gb, 10 * 32), ctx);
            CHECK(la == lb && memcmp(ga, gb, sizeof ga) == 0);
        }
        rn_plan_destroy(own);
        rn_plan_destroy(bound);
        free(buf);
    }
    free(x), free(a), free(b);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_runs_in_bound_memory_allocate_nothing(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create_with_allocator(counting_alloc, counting_free, NULL, &ctx), ctx);
    rn_model *m = make(ctx, "resnet18", 8, 2); /* ImageNet layout: max pool, option B */
    rn_plan *p = NULL;
    const int64_t n = 2, hw = 32;
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_TRAIN, &p), ctx);
    size_t size = 0;
    CHECK_OK(rn_plan_memory_size(p, &size), ctx);
    void *buf = malloc(size);
    CHECK_OK(rn_plan_bind_memory(p, buf, size), ctx);
    size_t nx = (size_t)(n * 3 * hw * hw), nl = (size_t)n * 1000;
    float *x = random_input(nx), *logits = malloc(nl * sizeof(float)), *gx = malloc(nx * 4);
    int32_t labels[2] = {5, 999};
    allocs_seen = 0;
    for (int step = 0; step < 2; step++) {
        CHECK_OK(rn_plan_forward(p, x, nx, RN_LAYOUT_NHWC, logits, nl), ctx);
        CHECK_OK(rn_plan_backward(p, labels, 2, NULL), ctx);
        CHECK_OK(rn_plan_input_grad(p, gx, nx, RN_LAYOUT_NHWC), ctx);
    }
    CHECK(allocs_seen == 0);
    rn_plan_destroy(p);
    free(buf), free(x), free(logits), free(gx);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* the firmware flow: the context, the model and the plan all live in one
 * caller buffer (no heap at all), and give the heap run's logits */
static void test_inference_runs_inside_one_caller_buffer(void) {
    size_t cap = (size_t)4 << 20;
    unsigned char *buffer = malloc(cap);
    rn_ctx *actx = NULL, *hctx = NULL;
    CHECK_OK(rn_ctx_create_in_buffer(buffer, cap, &actx), actx);
    CHECK_OK(rn_ctx_create(&hctx), hctx);
    rn_model *am = make(actx, "resnet20", 8, 5), *hm = make(hctx, "resnet20", 8, 5);
    rn_plan *ap = NULL, *hp = NULL;
    CHECK_OK(rn_plan_create(am, 1, 32, 32, RN_MODE_INFER, &ap), actx);
    CHECK_OK(rn_plan_create(hm, 1, 32, 32, RN_MODE_INFER, &hp), hctx);
    float *x = random_input(3 * 32 * 32), a[10], b[10];
    CHECK_OK(rn_plan_forward(ap, x, 3 * 32 * 32, RN_LAYOUT_NCHW, a, 10), actx);
    CHECK_OK(rn_plan_forward(hp, x, 3 * 32 * 32, RN_LAYOUT_NCHW, b, 10), hctx);
    CHECK(memcmp(a, b, sizeof a) == 0);
    size_t used = 0, peak = 0;
    CHECK_OK(rn_ctx_arena_usage(actx, &used, &peak), actx);
    CHECK(used > 0 && peak <= cap);
    rn_plan_destroy(ap), rn_plan_destroy(hp);
    rn_model_destroy(am), rn_model_destroy(hm);
    rn_ctx_destroy(actx), rn_ctx_destroy(hctx);
    free(x), free(buffer);
}

static void test_inference_memory_is_a_few_activations_not_the_whole_network(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    /* resnet110: 54 blocks of 16..64 channels at 32x32. The largest
     * activation is 16x32x32 floats; keeping every activation would take
     * over 100 of them. Inference needs a block's input, a temporary and its
     * output (a conv cannot run in place), the image, and the largest op
     * workspace: that of a stage's 3x3 conv (16, 32 or 64 channels). */
    rn_model *m = make(ctx, "resnet110", 0, 3);
    rn_plan *infer = NULL, *train = NULL;
    CHECK_OK(rn_plan_create(m, 1, 32, 32, RN_MODE_INFER, &infer), ctx);
    CHECK_OK(rn_plan_create(m, 1, 32, 32, RN_MODE_TRAIN, &train), ctx);
    size_t si = 0, st = 0, act = 16 * 32 * 32 * sizeof(float), image = 3 * 32 * 32 * 4;
    size_t ws = 0;
    for (int s = 0; s < 3; s++) {
        rn_conv_desc d = {1, 32 >> s, 32 >> s, 16 << s, 16 << s, 3, 3, 1, 1, 1, 1, 0, 0};
        CHECK(rn__conv_desc_init(&d));
        size_t b = rn__conv2d_forward_workspace(ctx, &d);
        ws = b > ws ? b : ws;
    }
    CHECK_OK(rn_plan_memory_size(infer, &si), ctx);
    CHECK_OK(rn_plan_memory_size(train, &st), ctx);
    if (si > 3 * act + image + ws + 16 * 64)
        fprintf(stderr, "  inference plan: %zu bytes, bound %zu\n", si,
                3 * act + image + ws + 16 * 64);
    CHECK(si <= 3 * act + image + ws + 16 * 64); /* + alignment of a few buffers */
    CHECK(st >= 100 * act);                      /* training keeps what backward needs */
    rn_plan_destroy(infer);
    rn_plan_destroy(train);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static double max_abs(const float *v, size_t n) {
    double mx = 0.0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs((double)v[i]));
    return mx;
}

static void check_fold(const char *arch, int32_t base, int64_t hw) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, arch, base, 4);
    randomise_bn(m);
    int32_t classes = 0;
    CHECK_OK(rn_model_classes(m, &classes), ctx);
    const int64_t n = 2;
    size_t nx = (size_t)(n * 3 * hw * hw), nl = (size_t)(n * classes);
    float *x = random_input(nx), *a = malloc(nl * 4), *b = malloc(nl * 4);
    rn_plan *p = NULL;
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_INFER, &p), ctx);
    CHECK_OK(rn_plan_forward(p, x, nx, RN_LAYOUT_NCHW, a, nl), ctx);
    CHECK_OK(rn_model_fold_batchnorm(m), ctx);
    /* a plan made before folding no longer matches the model */
    CHECK_STATUS(rn_plan_forward(p, x, nx, RN_LAYOUT_NCHW, b, nl), RN_E_BAD_STATE, ctx);
    rn_plan_destroy(p);
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_INFER, &p), ctx);
    CHECK_OK(rn_plan_forward(p, x, nx, RN_LAYOUT_NCHW, b, nl), ctx);
    double tol = 1e-4 * max_abs(a, nl), worst = 0.0;
    for (size_t i = 0; i < nl; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    if (worst > tol)
        fprintf(stderr, "  %s: folded logits differ by %g (tol %g)\n", arch, worst, tol);
    CHECK(worst <= tol);
    /* folded BN reads as an identity with the folded bias: weight 1, mean 0,
     * var + eps = 1, so PyTorch's eval mode gives the same result */
    float v[8];
    CHECK_OK(rn_model_get_tensor(m, "bn1.weight", v, (size_t)(base)), ctx);
    CHECK(v[0] == 1.0f && v[base - 1] == 1.0f);
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_var", v, (size_t)(base)), ctx);
    CHECK(fabs((double)v[0] + 1e-5 - 1.0) < 1e-7);
    /* folding is one-way: no training afterwards, and folding again changes nothing */
    rn_plan *t = NULL;
    CHECK_STATUS(rn_plan_create(m, n, hw, hw, RN_MODE_TRAIN, &t), RN_E_BAD_STATE, ctx);
    CHECK(t == NULL);
    CHECK_OK(rn_model_fold_batchnorm(m), ctx);
    CHECK_OK(rn_plan_forward(p, x, nx, RN_LAYOUT_NCHW, a, nl), ctx);
    CHECK(memcmp(a, b, nl * 4) == 0);
    CHECK_STATUS(rn_model_init(m, 1), RN_E_BAD_STATE, ctx);
    rn_plan_destroy(p);
    free(x), free(a), free(b);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_folded_model_gives_the_same_logits(void) {
    check_fold("resnet20", 8, 16); /* option A */
    check_fold("resnet18", 8, 40); /* max pool, option B projections */
    check_fold("resnet50", 8, 40); /* bottlenecks */
    check_fold("plain20", 8, 16);  /* ReLU after the last BN of a block */
}

/* The steps a forward pass ran (rn__plan_forward_observe): ADD passes and
 * convolutions that add into the shortcut. */
typedef struct step_count {
    int adds, residual_convs, residual_3x3;
} step_count;
static void count_steps(void *user, const nn_step *s, const float *y, size_t count) {
    (void)y, (void)count;
    step_count *c = (step_count *)user;
    if (s->op == NN_OP_ADD) c->adds++;
    if (s->op == NN_OP_CONV && s->residual) {
        c->residual_convs++;
        if (s->cd.kh == 3) c->residual_3x3++;
    }
}

/* A folded inference plan runs no residual addition of its own: every
 * block's last convolution (the basic block's 3x3, the bottleneck's 1x1)
 * adds into its shortcut (identity, option A's padded copy, projection);
 * an unfolded one adds in its last BN pass; a plain net adds nothing. The
 * logits stay within rounding of the unfolded model's (check_fold). */
static void check_fused(const char *arch, int32_t shortcut, int32_t base, int64_t hw, int packed,
                        int blocks, int k3) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, arch, 0, 0, shortcut, base, 0, &m), ctx);
    if (m) CHECK_OK(rn_model_init(m, 5), ctx);
    randomise_bn(m);
    const size_t nx = (size_t)(2 * 3 * hw * hw);
    float *x = random_input(nx);
    for (int folded = 0; folded < 2; folded++) {
        if (folded) CHECK_OK(rn_model_fold_batchnorm(m), ctx);
        if (folded && packed) CHECK_OK(rn_model_pack_for_inference(m), ctx);
        rn_plan *p = NULL;
        CHECK_OK(rn_plan_create(m, 2, hw, hw, RN_MODE_INFER, &p), ctx);
        step_count c = {0, 0, 0};
        CHECK_OK(rn__plan_forward_observe(p, x, nx, RN_LAYOUT_NCHW, count_steps, &c), ctx);
        CHECK(c.adds == 0);
        CHECK(c.residual_convs == (folded ? blocks : 0));
        CHECK(c.residual_3x3 == (folded ? k3 : 0));
        if (c.adds != 0 || c.residual_convs != (folded ? blocks : 0))
            fprintf(stderr, "  %s folded %d: %d ADD steps, %d residual convolutions\n", arch,
                    folded, c.adds, c.residual_convs);
        rn_plan_destroy(p);
    }
    free(x);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_folded_blocks_add_the_shortcut_in_their_last_convolution(void) {
    check_fused("resnet20", RN_SHORTCUT_DEFAULT, 8, 16, 0, 9, 9); /* option A, indirect */
    check_fused("resnet20", RN_SHORTCUT_B, 8, 16, 1, 9, 9);       /* projections, panels */
    /* width 32 at 24x24: layer1 F(4x4,3x3), layer2 F(2x2,3x3) (test_nn_plan_derived.c) */
    check_fused("resnet20", RN_SHORTCUT_DEFAULT, 32, 24, 0, 9, 9);
    check_fused("resnet18", RN_SHORTCUT_DEFAULT, 8, 40, 0, 8, 8); /* option B */
    check_fused("resnet18", RN_SHORTCUT_DEFAULT, 8, 40, 1, 8, 8);
    check_fused("resnet50", RN_SHORTCUT_DEFAULT, 8, 40, 0, 16, 0); /* bottlenecks: 1x1 */
    check_fused("plain20", RN_SHORTCUT_DEFAULT, 8, 16, 0, 0, 0);
}

static void test_nchw_and_nhwc_inputs_give_the_same_logits(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, "resnet20", 4, 6);
    const int64_t n = 2, h = 9, w = 11, c = 3;
    size_t nx = (size_t)(n * c * h * w);
    float *nchw = random_input(nx), *nhwc = malloc(nx * 4), a[20], b[20];
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t p = 0; p < h * w; p++)
                nhwc[(i * h * w + p) * c + ch] = nchw[(i * c + ch) * h * w + p];
    rn_plan *p = NULL;
    CHECK_OK(rn_plan_create(m, n, h, w, RN_MODE_INFER, &p), ctx);
    CHECK_OK(rn_plan_forward(p, nchw, nx, RN_LAYOUT_NCHW, a, 20), ctx);
    CHECK_OK(rn_plan_forward(p, nhwc, nx, RN_LAYOUT_NHWC, b, 20), ctx);
    CHECK(memcmp(a, b, sizeof a) == 0);
    rn_plan_destroy(p);
    free(nchw), free(nhwc);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_train_forward_updates_running_stats_and_infer_does_not(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, "resnet20", 4, 7);
    const int64_t n = 2, hw = 8;
    size_t nx = (size_t)(n * 3 * hw * hw);
    float *x = random_input(nx), logits[20], before[4], after[4], var[4];
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_mean", before, 4), ctx);
    rn_plan *inf = NULL, *tr = NULL;
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_INFER, &inf), ctx);
    CHECK_OK(rn_plan_forward(inf, x, nx, RN_LAYOUT_NCHW, logits, 20), ctx);
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_mean", after, 4), ctx);
    CHECK(memcmp(before, after, sizeof before) == 0);
    /* stem conv output channel 0 by hand: its batch mean, and the unbiased
     * variance, enter the running statistics with momentum 0.1 */
    float wt[4 * 3 * 3 * 3];
    CHECK_OK(rn_model_get_tensor(m, "conv1.weight", wt, sizeof wt / sizeof wt[0]), ctx);
    double s = 0.0, ss = 0.0, cnt = (double)(n * hw * hw);
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < hw; i++)
            for (int64_t j = 0; j < hw; j++) {
                double acc = 0.0;
                for (int64_t c = 0; c < 3; c++)
                    for (int64_t a = 0; a < 3; a++)
                        for (int64_t e = 0; e < 3; e++) {
                            int64_t y = i - 1 + a, xx = j - 1 + e;
                            if (y < 0 || y >= hw || xx < 0 || xx >= hw) continue;
                            acc += wt[(c * 3 + a) * 3 + e] * x[((b * 3 + c) * hw + y) * hw + xx];
                        }
                s += acc, ss += acc * acc;
            }
    double mean = s / cnt, unbiased = (ss - cnt * mean * mean) / (cnt - 1.0);
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_TRAIN, &tr), ctx);
    CHECK_OK(rn_plan_forward(tr, x, nx, RN_LAYOUT_NCHW, logits, 20), ctx);
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_mean", after, 4), ctx);
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_var", var, 4), ctx);
    CHECK_CLOSE(after[0], 0.1 * mean, 1e-5);
    CHECK_CLOSE(var[0], 0.9 + 0.1 * unbiased, 1e-5);
    rn_plan_destroy(inf);
    rn_plan_destroy(tr);
    free(x);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* one train step (forward, backward, input gradient) with `threads`: logits,
 * loss, running stats and every gradient, concatenated */
static float *train_step(int32_t threads, size_t *len) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads), ctx);
    rn_model *m = make(ctx, "resnet18", 8, 9);
    const int64_t n = 3, hw = 33;
    size_t nx = (size_t)(n * 3 * hw * hw), nl = (size_t)n * 1000;
    rn_test_rng_state = 12345;
    float *x = random_input(nx);
    size_t total = nl + 1 + nx;
    for (int32_t i = 0; i < rn_model_tensor_count(m); i++) {
        int32_t ndim;
        int64_t dims[4];
        rn_model_tensor_info(m, i, NULL, &ndim, dims, NULL);
        size_t c = 1;
        for (int32_t d = 0; d < ndim; d++) c *= (size_t)dims[d];
        total += 2 * c;
    }
    float *out = calloc(total, sizeof(float)), *o = out;
    rn_plan *p = NULL;
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_TRAIN, &p), ctx);
    int32_t labels[3] = {0, 500, 999};
    CHECK_OK(rn_plan_forward(p, x, nx, RN_LAYOUT_NCHW, o, nl), ctx);
    o += nl;
    CHECK_OK(rn_plan_backward(p, labels, 3, o), ctx);
    o += 1;
    CHECK_OK(rn_plan_input_grad(p, o, nx, RN_LAYOUT_NCHW), ctx);
    o += nx;
    for (int32_t i = 0; i < rn_model_tensor_count(m); i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, &kind);
        size_t c = 1;
        for (int32_t d = 0; d < ndim; d++) c *= (size_t)dims[d];
        CHECK_OK(rn_model_get_tensor(m, name, o, c), ctx);
        o += c;
        if (kind == RN_TENSOR_PARAM) CHECK_OK(rn_model_get_grad(m, name, o, c), ctx);
        o += c;
    }
    *len = total;
    rn_plan_destroy(p);
    free(x);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return out;
}

static void test_train_step_is_bit_identical_for_one_and_two_threads(void) {
    size_t la = 0, lb = 0;
    float *a = train_step(1, &la), *b = train_step(2, &lb);
    CHECK(la == lb && la > 0);
    CHECK(memcmp(a, b, la * sizeof(float)) == 0);
    free(a), free(b);
}

static void test_plan_with_its_own_context_reports_errors_there(void) {
    rn_ctx *mctx = NULL, *pctx = NULL;
    CHECK_OK(rn_ctx_create(&mctx), mctx);
    CHECK_OK(rn_ctx_create(&pctx), pctx);
    rn_model *m = make(mctx, "resnet20", 4, 1);
    rn_plan *p = NULL, *q = NULL;
    CHECK_OK(rn_plan_create_with_ctx(pctx, m, 1, 8, 8, RN_MODE_INFER, &p), pctx);
    CHECK_OK(rn_plan_create(m, 1, 8, 8, RN_MODE_INFER, &q), mctx);
    float x[3 * 64], a[10], b[10];
    rn_test_fill_uniform(x, 3 * 64, -1, 1);
    CHECK_STATUS(rn_plan_forward(p, x, 3, RN_LAYOUT_NCHW, a, 10), RN_E_INVALID_ARG, pctx);
    CHECK(rn_last_error(mctx)[0] == '\0');
    CHECK_OK(rn_plan_forward(p, x, 3 * 64, RN_LAYOUT_NCHW, a, 10), pctx);
    CHECK_OK(rn_plan_forward(q, x, 3 * 64, RN_LAYOUT_NCHW, b, 10), mctx);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK_STATUS(rn_plan_create_with_ctx(NULL, m, 1, 8, 8, 0, &p), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_plan_create_with_ctx(pctx, NULL, 1, 8, 8, 0, &p), RN_E_INVALID_ARG, pctx);
    rn_plan_destroy(p);
    rn_plan_destroy(q);
    rn_model_destroy(m);
    rn_ctx_destroy(pctx);
    rn_ctx_destroy(mctx);
}

static void test_bad_arguments_are_refused_with_a_sentence(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, "resnet20", 4, 1);
    rn_plan *p = NULL;
    /* create */
    CHECK_STATUS(rn_plan_create(NULL, 1, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_plan_create(m, 1, 8, 8, RN_MODE_INFER, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_create(m, 0, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "batch 0") != NULL);
    CHECK_STATUS(rn_plan_create(m, 1, -3, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_create(m, 1, 8, 8, 2, &p), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_create(m, (int64_t)1 << 40, 8, 8, RN_MODE_INFER, &p), RN_E_OVERFLOW, ctx);
    CHECK_STATUS(rn_plan_create(m, 1 << 20, 1 << 20, 1 << 20, RN_MODE_INFER, &p), RN_E_OVERFLOW,
                 ctx);
    /* train-mode BN over a single value per channel (PyTorch refuses it too) */
    CHECK_STATUS(rn_plan_create(m, 1, 1, 1, RN_MODE_TRAIN, &p), RN_E_INVALID_ARG, ctx);
    CHECK(p == NULL);
    /* an input smaller than the stem's window */
    rn_model *v = NULL;
    CHECK_OK(rn_model_create(ctx, 1, &v), ctx);
    CHECK_OK(rn_model_add_stem(v, 4, 7, 2, 0, 1), ctx);
    CHECK_OK(rn_model_add_head(v, 3), ctx);
    CHECK_STATUS(rn_plan_create(v, 1, 5, 9, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "too small") != NULL);
    CHECK_OK(rn_plan_create(v, 1, 7, 7, RN_MODE_INFER, &p), ctx);
    rn_plan_destroy(p);
    p = NULL;
    /* an incomplete model */
    rn_model *inc = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &inc), ctx);
    CHECK_STATUS(rn_plan_create(inc, 1, 8, 8, RN_MODE_INFER, &p), RN_E_BAD_STATE, ctx);
    rn_model_destroy(inc);
    rn_model_destroy(v);

    /* run */
    CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_TRAIN, &p), ctx);
    float x[2 * 3 * 64], logits[20], gx[2 * 3 * 64];
    int32_t labels[2] = {1, 2}, bad[2] = {1, 10};
    rn_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1);
    CHECK_STATUS(rn_plan_backward(p, labels, 2, NULL), RN_E_BAD_STATE, ctx);
    CHECK_STATUS(rn_plan_input_grad(p, gx, 384, RN_LAYOUT_NCHW), RN_E_BAD_STATE, ctx);
    CHECK_STATUS(rn_plan_forward(p, x, 383, RN_LAYOUT_NCHW, logits, 20), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "383") && strstr(rn_last_error(ctx), "384"));
    CHECK_STATUS(rn_plan_forward(p, x, 384, RN_LAYOUT_NCHW, logits, 21), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "21") && strstr(rn_last_error(ctx), "20"));
    CHECK_STATUS(rn_plan_forward(p, NULL, 384, RN_LAYOUT_NCHW, logits, 20), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_forward(p, x, 384, RN_LAYOUT_NCHW, NULL, 20), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_forward(p, x, 384, 7, logits, 20), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_forward(NULL, x, 384, RN_LAYOUT_NCHW, logits, 20), RN_E_INVALID_ARG, NULL);
    /* logits untouched on failure */
    memset(logits, 0, sizeof logits);
    CHECK_STATUS(rn_plan_forward(p, x, 1, RN_LAYOUT_NCHW, logits, 20), RN_E_INVALID_ARG, ctx);
    CHECK(max_abs(logits, 20) == 0.0);
    CHECK_OK(rn_plan_forward(p, x, 384, RN_LAYOUT_NCHW, logits, 20), ctx);
    CHECK_STATUS(rn_plan_backward(p, NULL, 2, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_backward(p, labels, 3, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_backward(p, bad, 2, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "labels[1] = 10") != NULL);
    CHECK_OK(rn_plan_backward(p, labels, 2, NULL), ctx);
    /* one backward per forward: the saved state was consumed */
    CHECK_STATUS(rn_plan_backward(p, labels, 2, NULL), RN_E_BAD_STATE, ctx);
    CHECK_STATUS(rn_plan_input_grad(p, gx, 100, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_input_grad(p, NULL, 384, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_plan_input_grad(p, gx, 384, RN_LAYOUT_NCHW), ctx);
    /* memory */
    size_t size = 0;
    CHECK_STATUS(rn_plan_memory_size(p, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_plan_memory_size(NULL, &size), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_plan_bind_memory(p, NULL, 1 << 20), RN_E_INVALID_ARG, ctx);
    rn_plan_destroy(p);

    /* backward on an inference plan */
    CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_INFER, &p), ctx);
    CHECK_OK(rn_plan_forward(p, x, 384, RN_LAYOUT_NCHW, logits, 20), ctx);
    CHECK_STATUS(rn_plan_backward(p, labels, 2, NULL), RN_E_BAD_STATE, ctx);
    rn_plan_destroy(p);
    rn_plan_destroy(NULL);

    /* tensors by name */
    float w[10 * 16];
    CHECK_STATUS(rn_model_get_tensor(m, "fc.weight", w, 10), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "160") != NULL);
    CHECK_STATUS(rn_model_set_tensor(m, "fc.wieght", w, 160), RN_E_NOT_FOUND, ctx);
    CHECK_STATUS(rn_model_get_grad(m, "bn1.running_var", w, 4), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_model_tensor_info(m, 97, NULL, NULL, NULL, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(rn_model_tensor_count(NULL) == 0);
    rn_model_destroy(m);
    rn_model_destroy(NULL);
    rn_ctx_destroy(ctx);
}

static void test_tensor_round_trip_is_in_pytorch_layout(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, "resnet20", 4, 1);
    /* values cross the API in PyTorch's layout and come back unchanged (that
     * the plan reads them as PyTorch would is what test_nn_grad's reference
     * forward, fed from rn_model_get_tensor, checks) */
    float w[108], back[108];
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < 3; i++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    w[((o * 3 + i) * 3 + a) * 3 + b] = (float)(o * 1000 + i * 100 + a * 10 + b);
    CHECK_OK(rn_model_set_tensor(m, "conv1.weight", w, 108), ctx);
    CHECK_OK(rn_model_get_tensor(m, "module.conv1.weight", back, 108), ctx);
    CHECK(memcmp(w, back, sizeof w) == 0);
    int32_t idx = -1;
    CHECK_OK(rn_model_tensor_find(m, "module.fc.bias", &idx), ctx);
    CHECK(idx == rn_model_tensor_count(m) - 1);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* ---- log levels ------------------------------------------------------------- */
typedef struct log_seen {
    int count[4];          /* messages per level */
    char info_plan[512];   /* the plan's INFO line */
    char debug_arena[512]; /* the forward's DEBUG line */
} log_seen;

static void collect(void *user, int32_t level, const char *message) {
    log_seen *s = (log_seen *)user;
    if (level >= 0 && level < 4) s->count[level]++;
    if (level == RN_LOG_INFO && strstr(message, "rn_plan_create"))
        snprintf(s->info_plan, sizeof s->info_plan, "%s", message);
    if (level == RN_LOG_DEBUG && strstr(message, "arena"))
        snprintf(s->debug_arena, sizeof s->debug_arena, "%s", message);
}

/* One plan made and run at each level: a message reaches the callback exactly
 * when its level is at or below RN_OPT_LOG_LEVEL (errors always). */
static void test_log_level_decides_which_messages_reach_the_callback(void) {
    for (int32_t level = RN_LOG_ERROR; level <= RN_LOG_DEBUG; level++) {
        rn_ctx *ctx = NULL;
        CHECK_OK(rn_ctx_create(&ctx), ctx);
        if (!ctx) return;
        log_seen seen;
        memset(&seen, 0, sizeof seen);
        CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_LOG_LEVEL, level), ctx);
        CHECK_OK(rn_ctx_set_log_callback(ctx, collect, &seen), ctx);
        rn_model *m = make(ctx, "resnet20", 4, 1);
        rn_plan *p = NULL;
        if (m) CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_INFER, &p), ctx);
        float x[2 * 3 * 8 * 8] = {0}, y[20];
        if (p) CHECK_OK(rn_plan_forward(p, x, 2 * 3 * 8 * 8, RN_LAYOUT_NCHW, y, 20), ctx);
        CHECK_STATUS(rn_plan_create(m, 0, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
        CHECK(seen.count[RN_LOG_ERROR] == 1);
        CHECK((seen.count[RN_LOG_INFO] > 0) == (level >= RN_LOG_INFO));
        CHECK((seen.info_plan[0] != '\0') == (level >= RN_LOG_INFO));
        CHECK((seen.debug_arena[0] != '\0') == (level >= RN_LOG_DEBUG));
        if (level >= RN_LOG_INFO)
            CHECK(strstr(seen.info_plan, "inference plan for batch 2 at 8x8") != NULL);
        CHECK(seen.count[RN_LOG_WARN] == 0);
        rn_plan_destroy(p);
        rn_model_destroy(m);
        rn_ctx_destroy(ctx);
    }
}

/* A fallback is a warning: an ISA cap the CPU or build cannot honour. */
static void test_an_isa_cap_that_falls_back_warns(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    if (!ctx) return;
    log_seen seen;
    memset(&seen, 0, sizeof seen);
    CHECK_OK(rn_ctx_set_log_callback(ctx, collect, &seen), ctx); /* default level: WARN */
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, RN_ISA_SCALAR), ctx);
    CHECK(seen.count[RN_LOG_WARN] == 0); /* scalar always runs */
    int64_t active = -1;
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, RN_ISA_NEON), ctx);
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &active), ctx);
    /* NEON runs only on AArch64, where it always does: a warning exactly
     * when the context runs something else */
    CHECK(seen.count[RN_LOG_WARN] == (active != RN_ISA_NEON));
    CHECK(seen.count[RN_LOG_INFO] == 0 && seen.count[RN_LOG_DEBUG] == 0);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"log_level_decides_which_messages_reach_the_callback",
     test_log_level_decides_which_messages_reach_the_callback},
    {"an_isa_cap_that_falls_back_warns", test_an_isa_cap_that_falls_back_warns},
    {"bound_buffer_of_the_queried_size_runs_and_one_byte_less_is_refused",
     test_bound_buffer_of_the_queried_size_runs_and_one_byte_less_is_refused},
    {"runs_in_bound_memory_allocate_nothing", test_runs_in_bound_memory_allocate_nothing},
    {"inference_runs_inside_one_caller_buffer", test_inference_runs_inside_one_caller_buffer},
    {"inference_memory_is_a_few_activations_not_the_whole_network",
     test_inference_memory_is_a_few_activations_not_the_whole_network},
    {"folded_model_gives_the_same_logits", test_folded_model_gives_the_same_logits},
    {"folded_blocks_add_the_shortcut_in_their_last_convolution",
     test_folded_blocks_add_the_shortcut_in_their_last_convolution},
    {"nchw_and_nhwc_inputs_give_the_same_logits", test_nchw_and_nhwc_inputs_give_the_same_logits},
    {"train_forward_updates_running_stats_and_infer_does_not",
     test_train_forward_updates_running_stats_and_infer_does_not},
    {"train_step_is_bit_identical_for_one_and_two_threads",
     test_train_step_is_bit_identical_for_one_and_two_threads},
    {"plan_with_its_own_context_reports_errors_there",
     test_plan_with_its_own_context_reports_errors_there},
    {"bad_arguments_are_refused_with_a_sentence", test_bad_arguments_are_refused_with_a_sentence},
    {"tensor_round_trip_is_in_pytorch_layout", test_tensor_round_trip_is_in_pytorch_layout},
};

RN_TEST_MAIN(cases)
