/*
 * Inference plans hold some convolutions' weights in a derived form made
 * once (src/nn/plan-build.c): packed for the direct path where the output
 * has few pixels, or transformed for Winograd F(4x4,3x3) or F(2x2,3x3)
 * (RN_OPT_WINOGRAD). What must hold:
 *
 * - packed weights give results bit-identical to packing on every call: a
 *   batch-1 plan (layer3's convolutions packed) against a batch-2 plan of
 *   the same image twice (too many pixels to pack), Winograd off; they
 *   belong to the model, freed with it, not with the plan;
 * - two plans of one model (another context, another batch) share one copy
 *   and both see it remade after rn_model_set_tensor;
 * - 1x1 convolutions on small maps (a bottleneck's, its residual fused) run
 *   from packed weights too, within float rounding of the per-call GEMM;
 * - rn_model_pack_for_inference: the same logits (bit-identical without 1x1
 *   convolutions), the panels written over the weights (no new memory),
 *   rn_model_get_tensor exact, and every call that needs the plain values
 *   refused with a sentence naming it;
 * - a plan re-derives after the model's weights change (rn_model_set_tensor,
 *   rn_model_init, rn_model_fold_batchnorm is refused as before), bit-
 *   identical to a plan created after the change;
 * - RN_OPT_WINOGRAD 0 at run time runs a Winograd plan direct, bit-identical
 *   to a plan created with the option 0; with it on the results differ only
 *   by rounding; and either way they do not depend on the thread count.
 */
#define _POSIX_C_SOURCE 200112L
#include <math.h>

#include "harness.h"
#include "resnet.h"

static size_t bytes_live;
static void *counting_alloc(void *user, size_t size, size_t align) {
    (void)user;
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size + 64)) return NULL;
    *(size_t *)p = size;
    bytes_live += size;
    return (char *)p + 64;
}
static void counting_free(void *user, void *p) {
    (void)user;
    if (!p) return;
    bytes_live -= *(size_t *)((char *)p - 64);
    free((char *)p - 64);
}

static rn_model *make(rn_ctx *ctx, int32_t base, uint64_t seed) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 10, 3, RN_SHORTCUT_DEFAULT, base, 0, &m), ctx);
    if (m) CHECK_OK(rn_model_init(m, seed), ctx);
    return m;
}

static float *random_floats(size_t n, double lo, double hi) {
    float *x = malloc(n * sizeof(float));
    if (x) rn_test_fill_uniform(x, n, lo, hi);
    return x;
}

/* Logits of a fresh plan (batch n, hw x hw) on input x. */
static void run_fresh(rn_ctx *ctx, rn_model *m, int64_t n, int64_t hw, const float *x, float *y) {
    rn_plan *p = NULL;
    CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_INFER, &p), ctx);
    if (p)
        CHECK_OK(
            rn_plan_forward(p, x, (size_t)(n * 3 * hw * hw), RN_LAYOUT_NHWC, y, (size_t)n * 10),
            ctx);
    rn_plan_destroy(p);
}

static void test_packed_weights_give_the_results_of_packing_on_every_call(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create_with_allocator(counting_alloc, counting_free, NULL, &ctx), NULL);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, 0), ctx);
    const size_t base = bytes_live; /* the context's own */
    rn_model *m = make(ctx, 16, 3);
    /* 24x24: layer3 is 6x6 = 36 pixels per image (packed at batch 1; the
     * 72 of batch 2 are over the 64 that src/nn/plan-build.c packs) */
    const int64_t hw = 24;
    const size_t per = (size_t)(3 * hw * hw);
    float *x = random_floats(2 * per, -1, 1), y1[10], y2[20];
    if (m && x) {
        memcpy(x + per, x, per * sizeof(float));
        size_t before = bytes_live;
        rn_plan *p1 = NULL, *p2 = NULL;
        CHECK_OK(rn_plan_create(m, 1, hw, hw, RN_MODE_INFER, &p1), ctx);
        size_t with_packed = bytes_live - before;
        CHECK_OK(rn_plan_create(m, 2, hw, hw, RN_MODE_INFER, &p2), ctx);
        size_t without = bytes_live - before - with_packed;
        /* the batch-1 plan holds layer3's five 64x64 3x3 convolutions (and
         * the 32->64 one) packed: over 5 x 147 KB more than the other */
        CHECK(with_packed > without + (size_t)5 * 64 * 64 * 9 * 4);
        if (p1 && p2) {
            CHECK_OK(rn_plan_forward(p1, x, per, RN_LAYOUT_NHWC, y1, 10), ctx);
            CHECK_OK(rn_plan_forward(p2, x, 2 * per, RN_LAYOUT_NHWC, y2, 20), ctx);
            CHECK(memcmp(y1, y2, sizeof y1) == 0);
            CHECK(memcmp(y1, y2 + 10, sizeof y1) == 0);
        }
        rn_plan_destroy(p2);
        rn_plan_destroy(p1);
        /* the packed weights are the model's: they outlive the plans */
        CHECK(bytes_live >= before + (size_t)5 * 64 * 64 * 9 * 4);
        CHECK(bytes_live < before + with_packed);
    }
    free(x);
    rn_model_destroy(m);
    CHECK(bytes_live == base);
    rn_ctx_destroy(ctx);
}

/* Two plans of one model on two contexts: the second makes no copy of the
 * derived weights (the model's context allocates none), gives the same
 * logits, and both follow a change of the model's weights. */
static void check_two_plans_share(int32_t winograd) {
    rn_ctx *ctx = NULL, *ctx2 = NULL;
    CHECK_OK(rn_ctx_create_with_allocator(counting_alloc, counting_free, NULL, &ctx), NULL);
    CHECK_OK(rn_ctx_create(&ctx2), ctx2);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, winograd), ctx);
    CHECK_OK(rn_ctx_set_int(ctx2, RN_OPT_WINOGRAD, winograd), ctx2);
    CHECK_OK(rn_ctx_set_int(ctx2, RN_OPT_NUM_THREADS, 2), ctx2);
    const size_t base = bytes_live;
    rn_model *m = make(ctx, 32, 11);
    const int64_t hw = 24;
    const size_t per = (size_t)(3 * hw * hw);
    float *x = random_floats(per, -1, 1), *w = random_floats(128 * 128 * 9, -0.1, 0.1);
    float *w1 = random_floats(32 * 32 * 9, -0.1, 0.1);
    float y1[10], y2[10], y3[10];
    rn_plan *p1 = NULL, *p2 = NULL;
    if (m) CHECK_OK(rn_plan_create(m, 1, hw, hw, RN_MODE_INFER, &p1), ctx);
    if (p1 && x) CHECK_OK(rn_plan_forward(p1, x, per, RN_LAYOUT_NHWC, y1, 10), ctx);
    const size_t after_first = bytes_live; /* the first plan, its arena, the shared weights */
    if (m) CHECK_OK(rn_plan_create_with_ctx(ctx2, m, 1, hw, hw, RN_MODE_INFER, &p2), ctx2);
    if (p2 && x) CHECK_OK(rn_plan_forward(p2, x, per, RN_LAYOUT_NHWC, y2, 10), ctx2);
    CHECK(bytes_live == after_first);
    if (p1 && p2 && x && w && w1) {
        CHECK(memcmp(y1, y2, sizeof y1) == 0);
        /* a packed layer3 weight and a Winograd layer1 weight change: the
         * second plan to run finds the shared copies already remade */
        CHECK_OK(rn_model_set_tensor(m, "layer3.0.conv2.weight", w, 128 * 128 * 9), ctx);
        CHECK_OK(rn_model_set_tensor(m, "layer1.1.conv1.weight", w1, 32 * 32 * 9), ctx);
        /* a plan created now finds the stale copies and remakes them */
        float y4[10];
        run_fresh(ctx, m, 1, hw, x, y4);
        CHECK_OK(rn_plan_forward(p2, x, per, RN_LAYOUT_NHWC, y2, 10), ctx2);
        CHECK_OK(rn_plan_forward(p1, x, per, RN_LAYOUT_NHWC, y3, 10), ctx);
        CHECK(memcmp(y1, y2, sizeof y1) != 0);
        CHECK(memcmp(y2, y3, sizeof y2) == 0);
        CHECK(memcmp(y4, y3, sizeof y4) == 0);
        /* and one made from scratch agrees: a model loaded with these weights */
        rn_model *twin = make(ctx, 32, 11);
        if (twin) {
            CHECK_OK(rn_model_set_tensor(twin, "layer3.0.conv2.weight", w, 128 * 128 * 9), ctx);
            CHECK_OK(rn_model_set_tensor(twin, "layer1.1.conv1.weight", w1, 32 * 32 * 9), ctx);
            run_fresh(ctx, twin, 1, hw, x, y4);
            CHECK(memcmp(y4, y3, sizeof y4) == 0);
            rn_model_destroy(twin);
        }
        CHECK(bytes_live == after_first);
    }
    rn_plan_destroy(p2);
    rn_plan_destroy(p1);
    free(x), free(w), free(w1);
    rn_model_destroy(m);
    CHECK(bytes_live == base);
    rn_ctx_destroy(ctx2);
    rn_ctx_destroy(ctx);
}

static void test_two_plans_share_one_copy_of_packed_weights(void) { check_two_plans_share(0); }
static void test_two_plans_share_one_copy_of_winograd_weights(void) { check_two_plans_share(1); }

/* ---- 1x1 convolutions and models packed for inference -------------------------- */

static int packed_1x1_steps;
static void count_packed_1x1(void *user, int32_t level, const char *msg) {
    (void)user, (void)level;
    if (strstr(msg, " k1x1 s1 ") && strstr(msg, "forward: packed-indirect")) packed_1x1_steps++;
}

/* A bottleneck ResNet-50 of base width 8 (layer4: 256 channels, 8 and 16
 * output channels in layer1: panels beside the weights, not over them). */
static rn_model *bottleneck(rn_ctx *ctx, uint64_t seed) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet50", 10, 3, RN_SHORTCUT_DEFAULT, 8, 0, &m), ctx);
    if (m) CHECK_OK(rn_model_init(m, seed), ctx);
    return m;
}

static double max_abs(const float *y, size_t n) {
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fabs((double)y[i]) > mx ? fabs((double)y[i]) : mx;
    return mx;
}

/* Logits a and b within tol of the largest |a|, and finite. */
static void check_close(const float *a, const float *b, size_t n, double tol, const char *what) {
    const double scale = max_abs(a, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        worst = e > worst || e != e ? e : worst;
    }
    if (!(scale > 0 && worst <= tol * scale)) {
        fprintf(stderr, "  %s: logits differ by %g of max |logit| %g (tol %g)\n", what, worst,
                scale, tol);
        rn_test_failed_checks++;
    }
}

/* 128x128: layer3 is 8x8 and layer4 4x4 at batch 1 (64 and 16 pixels: packed,
 * 1x1 convolutions and the residual-fused conv3 included), at batch 5 none
 * are. Float rounding of the 1x1 convolutions' sums differs (one pass over
 * K against the GEMM's slices): 1e-5 of the largest logit, where the
 * float32 error itself of such a network is about 1e-6. */
static void test_small_map_1x1_convolutions_run_from_packed_weights(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = bottleneck(ctx, 21);
    if (m) CHECK_OK(rn_model_fold_batchnorm(m), ctx);
    const int64_t hw = 128;
    const size_t per = (size_t)(3 * hw * hw);
    float *x = random_floats(5 * per, -1, 1), y1[10], y5[50];
    if (m && x) {
        for (int i = 1; i < 5; i++) memcpy(x + i * per, x, per * sizeof(float));
        rn_ctx_set_int(ctx, RN_OPT_LOG_LEVEL, RN_LOG_INFO);
        rn_ctx_set_log_callback(ctx, count_packed_1x1, NULL);
        packed_1x1_steps = 0;
        run_fresh(ctx, m, 1, hw, x, y1);
        /* layer3: 6 blocks x (conv1, conv3) but layer3.0's conv1, which
         * reads layer2's 16x16 map; layer4: 3 x (conv1, conv3) */
        CHECK(packed_1x1_steps == 17);
        packed_1x1_steps = 0;
        run_fresh(ctx, m, 5, hw, x, y5);
        CHECK(packed_1x1_steps == 0);
        rn_ctx_set_log_callback(ctx, NULL, NULL);
        for (int i = 0; i < 5; i++) check_close(y5 + 10 * i, y1, 10, 1e-5, "1x1 packed");
    }
    free(x);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* rn_model_pack_for_inference against the same model unpacked: resnet20
 * (no 1x1 convolution) bit-identical, Winograd on or off; the bottleneck
 * within rounding; the weights read back exactly. */
static void check_pack(rn_model *(*maker)(rn_ctx *, uint64_t), int32_t fold, int64_t hw, int exact,
                       int32_t winograd, const char *what) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create_with_allocator(counting_alloc, counting_free, NULL, &ctx), NULL);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, winograd), ctx);
    const size_t base = bytes_live;
    rn_model *m = maker(ctx, 31);
    if (m && fold) CHECK_OK(rn_model_fold_batchnorm(m), ctx);
    const size_t per = (size_t)(3 * hw * hw);
    float *x = random_floats(2 * per, -1, 1), y0[20], y1[20];
    const char *names[3] = {"conv1.weight", "layer1.0.conv1.weight", "layer3.1.conv2.weight"};
    float *before[3] = {NULL, NULL, NULL};
    size_t counts[3] = {0, 0, 0};
    for (int i = 0; m && i < 3; i++) {
        int32_t idx = -1, ndim = 0;
        int64_t dims[4];
        CHECK_OK(rn_model_tensor_find(m, names[i], &idx), ctx);
        CHECK_OK(rn_model_tensor_info(m, idx, NULL, &ndim, dims, NULL), ctx);
        counts[i] = (size_t)(dims[0] * dims[1] * dims[2] * dims[3]);
        before[i] = malloc(counts[i] * sizeof(float));
        if (before[i]) CHECK_OK(rn_model_get_tensor(m, names[i], before[i], counts[i]), ctx);
    }
    rn_plan *old = NULL;
    if (m) CHECK_OK(rn_plan_create(m, 2, hw, hw, RN_MODE_INFER, &old), ctx);
    if (m && x && old) {
        CHECK_OK(rn_plan_forward(old, x, 2 * per, RN_LAYOUT_NHWC, y0, 20), ctx);
        rn_plan_destroy(old);
        old = NULL;
        CHECK_OK(rn_plan_create(m, 1, hw, hw, RN_MODE_INFER, &old), ctx);
        const size_t live = bytes_live;
        CHECK_OK(rn_model_pack_for_inference(m), ctx);
        /* panels over the weights: only the odd channel counts take more */
        CHECK(bytes_live <= live + (size_t)16 * 3 * 3 * 16 * 4 * 8);
        CHECK_OK(rn_model_pack_for_inference(m), ctx); /* twice: nothing to do */
        float dummy[20];
        CHECK_STATUS(rn_plan_forward(old, x, per, RN_LAYOUT_NHWC, dummy, 10), RN_E_BAD_STATE, ctx);
        rn_plan *p = NULL;
        CHECK_OK(rn_plan_create(m, 2, hw, hw, RN_MODE_INFER, &p), ctx);
        if (p) CHECK_OK(rn_plan_forward(p, x, 2 * per, RN_LAYOUT_NHWC, y1, 20), ctx);
        if (exact && memcmp(y0, y1, sizeof y0) != 0) {
            fprintf(stderr, "  %s: packed model's logits differ\n", what);
            rn_test_failed_checks++;
        }
        check_close(y0, y1, 20, 1e-5, what);
        if (winograd) { /* Winograd off at run time: its fallback runs the panels */
            rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, 0);
            if (p) CHECK_OK(rn_plan_forward(p, x, 2 * per, RN_LAYOUT_NHWC, y1, 20), ctx);
            check_close(y0, y1, 20, 1e-4, what);
        }
        rn_plan_destroy(p);
        for (int i = 0; i < 3; i++) {
            float *after = malloc(counts[i] * sizeof(float));
            if (before[i] && after) {
                CHECK_OK(rn_model_get_tensor(m, names[i], after, counts[i]), ctx);
                CHECK(memcmp(before[i], after, counts[i] * sizeof(float)) == 0);
            }
            free(after);
        }
    }
    rn_plan_destroy(old);
    for (int i = 0; i < 3; i++) free(before[i]);
    free(x);
    rn_model_destroy(m);
    CHECK(bytes_live == base);
    rn_ctx_destroy(ctx);
}

static rn_model *resnet20_32(rn_ctx *ctx, uint64_t seed) { return make(ctx, 32, seed); }

static void test_packed_model_gives_the_same_logits(void) {
    /* 24x24: Winograd in layer1, panels everywhere else */
    check_pack(resnet20_32, 1, 24, 1, 1, "resnet20 folded, winograd");
    check_pack(resnet20_32, 0, 24, 1, 0, "resnet20 unfolded");
    check_pack(bottleneck, 1, 64, 0, 1, "resnet50/8 folded");
}

/* st is RN_E_BAD_STATE and the error names fn and says why. */
static void check_refused(rn_ctx *ctx, rn_status st, const char *fn) {
    const char *e = rn_last_error(ctx);
    if (st != RN_E_BAD_STATE || !strstr(e, fn) || !strstr(e, "packed for inference")) {
        fprintf(stderr, "  %s on a packed model: status %d, \"%s\"\n", fn, (int)st, e);
        rn_test_failed_checks++;
    }
}

static void test_packed_model_refuses_what_needs_its_plain_weights(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, 16, 41);
    rn_optimizer *opt = NULL;
    void *file = NULL;
    size_t file_bytes = 0;
    if (m) CHECK_OK(rn_sgd_create(m, &opt), ctx);
    if (m) CHECK_OK(rn_model_save_safetensors_mem(m, NULL, 0, &file_bytes), ctx);
    file = malloc(file_bytes);
    if (m && file) CHECK_OK(rn_model_save_safetensors_mem(m, file, file_bytes, &file_bytes), ctx);
    if (m && file && opt) {
        CHECK_OK(rn_model_pack_for_inference(m), ctx);
        float w[16 * 3 * 3 * 3] = {0};
        size_t n = 0;
        rn_plan *p = NULL;
        rn_optimizer *opt2 = NULL;
        rn_calibrator *cal = NULL;
        check_refused(ctx, rn_model_set_tensor(m, "conv1.weight", w, 16 * 27),
                      "rn_model_set_tensor");
        check_refused(ctx, rn_model_init(m, 1), "rn_model_init");
        check_refused(ctx, rn_model_fold_batchnorm(m), "rn_model_fold_batchnorm");
        check_refused(ctx, rn_plan_create(m, 2, 8, 8, RN_MODE_TRAIN, &p), "rn_plan_create");
        check_refused(ctx, rn_model_save_safetensors_mem(m, NULL, 0, &n),
                      "rn_model_save_safetensors_mem");
        check_refused(ctx, rn_model_save_blob_mem(m, NULL, 0, &n), "rn_model_save_blob_mem");
        check_refused(ctx, rn_model_save_onnx_mem(m, NULL, 0, &n), "rn_model_save_onnx_mem");
        check_refused(ctx, rn_model_load_safetensors_mem(m, file, file_bytes),
                      "rn_model_load_safetensors_mem");
        check_refused(ctx, rn_sgd_create(m, &opt2), "rn_sgd_create");
        check_refused(ctx, rn_optimizer_step(opt), "rn_optimizer_step");
        check_refused(ctx, rn_calibrator_create(m, &cal), "rn_calibrator_create");
        CHECK(p == NULL && opt2 == NULL && cal == NULL);
        /* inference still runs */
        float x[3 * 8 * 8] = {0}, y[10];
        CHECK_OK(rn_plan_create(m, 1, 8, 8, RN_MODE_INFER, &p), ctx);
        if (p) CHECK_OK(rn_plan_forward(p, x, 3 * 8 * 8, RN_LAYOUT_NHWC, y, 10), ctx);
        rn_plan_destroy(p);
    }
    rn_optimizer_destroy(opt);
    free(file);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* Changes one 3x3 weight of every derived kind and checks the old plan. */
static void check_rederive(int32_t winograd) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, winograd), ctx);
    rn_model *m = make(ctx, 32, 5);
    /* 24x24: layer1 (32 channels, 36 tiles) takes Winograd, layer3 (6x6)
     * is packed: with Winograd off only that */
    const int64_t n = 1, hw = 24;
    const size_t xcount = (size_t)(n * 3 * hw * hw);
    float *x = random_floats(xcount, -1, 1), y1[10], y2[10], y3[10];
    const char *name = winograd ? "layer1.1.conv1.weight" : "layer3.1.conv2.weight";
    const size_t wcount = winograd ? 32 * 32 * 9 : 128 * 128 * 9;
    float *w = random_floats(wcount, -0.1, 0.1);
    rn_plan *p = NULL;
    if (m) CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_INFER, &p), ctx);
    if (m && p && x && w) {
        CHECK_OK(rn_plan_forward(p, x, xcount, RN_LAYOUT_NHWC, y1, 10), ctx);
        CHECK_OK(rn_model_set_tensor(m, name, w, wcount), ctx);
        CHECK_OK(rn_plan_forward(p, x, xcount, RN_LAYOUT_NHWC, y2, 10), ctx);
        run_fresh(ctx, m, n, hw, x, y3);
        CHECK(memcmp(y1, y2, sizeof y1) != 0);
        CHECK(memcmp(y2, y3, sizeof y2) == 0);
        /* re-initialised: every weight changes */
        CHECK_OK(rn_model_init(m, 6), ctx);
        CHECK_OK(rn_plan_forward(p, x, xcount, RN_LAYOUT_NHWC, y2, 10), ctx);
        run_fresh(ctx, m, n, hw, x, y3);
        CHECK(memcmp(y2, y3, sizeof y2) == 0);
        /* folding is still refused for a plan made before it */
        CHECK_OK(rn_model_fold_batchnorm(m), ctx);
        CHECK_STATUS(rn_plan_forward(p, x, xcount, RN_LAYOUT_NHWC, y2, 10), RN_E_BAD_STATE, ctx);
    }
    rn_plan_destroy(p);
    free(x), free(w);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_plans_rederive_packed_weights_after_the_model_changes(void) { check_rederive(0); }

static void test_plans_retransform_winograd_weights_after_the_model_changes(void) {
    check_rederive(1);
}

static void test_winograd_option_off_at_run_time_gives_the_direct_results(void) {
    rn_ctx *ctx = NULL, *ctx2 = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_ctx_create(&ctx2), ctx2);
    CHECK_OK(rn_ctx_set_int(ctx2, RN_OPT_NUM_THREADS, 2), ctx2);
    int64_t v = -1;
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_WINOGRAD, &v), ctx);
    CHECK(v == 1);
    rn_model *m = make(ctx, 32, 9);
    const int64_t n = 1, hw = 24;
    const size_t xcount = (size_t)(n * 3 * hw * hw);
    float *x = random_floats(xcount, -1, 1), yw[10], yw2[10], yd[10], yd2[10];
    rn_plan *p = NULL, *p2 = NULL;
    if (m) CHECK_OK(rn_plan_create(m, n, hw, hw, RN_MODE_INFER, &p), ctx);
    if (m) CHECK_OK(rn_plan_create_with_ctx(ctx2, m, n, hw, hw, RN_MODE_INFER, &p2), ctx2);
    if (p && p2 && x) {
        CHECK_OK(rn_plan_forward(p, x, xcount, RN_LAYOUT_NHWC, yw, 10), ctx);
        CHECK_OK(rn_plan_forward(p2, x, xcount, RN_LAYOUT_NHWC, yw2, 10), ctx2);
        CHECK(memcmp(yw, yw2, sizeof yw) == 0); /* 1 and 2 threads */
        CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, 0), ctx);
        CHECK_OK(rn_plan_forward(p, x, xcount, RN_LAYOUT_NHWC, yd, 10), ctx);
        run_fresh(ctx, m, n, hw, x, yd2);
        CHECK(memcmp(yd, yd2, sizeof yd) == 0);
        CHECK(memcmp(yd, yw, sizeof yd) != 0); /* Winograd did run before */
        for (int i = 0; i < 10; i++) CHECK_CLOSE(yw[i], yd[i], 1e-4);
    }
    rn_plan_destroy(p2);
    rn_plan_destroy(p);
    free(x);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx2);
    rn_ctx_destroy(ctx);
}

static int wg_steps[2];
static void count_winograd(void *user, int32_t level, const char *msg) {
    (void)user, (void)level;
    if (strstr(msg, "forward: winograd-f4x4")) wg_steps[0]++;
    if (strstr(msg, "forward: winograd-f2x2")) wg_steps[1]++;
}

/* resnet20 of base width 32 at 24x24, batch 1: layer1 (32 channels, 24x24:
 * 36 4x4 blocks) takes F(4x4,3x3), layer2 (64 channels, 12x12: 9 4x4
 * blocks, 36 2x2 ones) F(2x2,3x3), layer3 (6x6) neither; the logits within
 * rounding of the direct path's. */
static void test_inference_plans_take_both_winograd_tiles(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, 32, 13);
    const int64_t hw = 24;
    const size_t xcount = (size_t)(3 * hw * hw);
    float *x = random_floats(xcount, -1, 1), yw[10], yd[10];
    if (m && x) {
        rn_ctx_set_int(ctx, RN_OPT_LOG_LEVEL, RN_LOG_INFO);
        rn_ctx_set_log_callback(ctx, count_winograd, NULL);
        wg_steps[0] = wg_steps[1] = 0;
        run_fresh(ctx, m, 1, hw, x, yw);
        /* layer1: 3 blocks x 2; layer2: 3 x 2 less layer2.0.conv1 (stride 2) */
        CHECK(wg_steps[0] == 6);
        CHECK(wg_steps[1] == 5);
        CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, 0), ctx);
        wg_steps[0] = wg_steps[1] = 0;
        run_fresh(ctx, m, 1, hw, x, yd);
        CHECK(wg_steps[0] == 0 && wg_steps[1] == 0);
        rn_ctx_set_log_callback(ctx, NULL, NULL);
        check_close(yd, yw, 10, 1e-5, "Winograd against direct");
    }
    free(x);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_winograd_option_has_bounds_zero_and_one(void) {
    int64_t lo = -1, hi = -1;
    CHECK(rn_option_bounds(RN_OPT_WINOGRAD, &lo, &hi) == RN_OK);
    CHECK(lo == 0 && hi == 1);
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, 2), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, -1), RN_E_INVALID_ARG, ctx);
    int64_t v = -1;
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_WINOGRAD, &v), ctx);
    CHECK(v == 1);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"packed_weights_give_the_results_of_packing_on_every_call",
     test_packed_weights_give_the_results_of_packing_on_every_call},
    {"plans_rederive_packed_weights_after_the_model_changes",
     test_plans_rederive_packed_weights_after_the_model_changes},
    {"plans_retransform_winograd_weights_after_the_model_changes",
     test_plans_retransform_winograd_weights_after_the_model_changes},
    {"winograd_option_off_at_run_time_gives_the_direct_results",
     test_winograd_option_off_at_run_time_gives_the_direct_results},
    {"winograd_option_has_bounds_zero_and_one", test_winograd_option_has_bounds_zero_and_one},
    {"inference_plans_take_both_winograd_tiles", test_inference_plans_take_both_winograd_tiles},
    {"two_plans_share_one_copy_of_packed_weights", test_two_plans_share_one_copy_of_packed_weights},
    {"two_plans_share_one_copy_of_winograd_weights",
     test_two_plans_share_one_copy_of_winograd_weights},
    {"small_map_1x1_convolutions_run_from_packed_weights",
     test_small_map_1x1_convolutions_run_from_packed_weights},
    {"packed_model_gives_the_same_logits", test_packed_model_gives_the_same_logits},
    {"packed_model_refuses_what_needs_its_plain_weights",
     test_packed_model_refuses_what_needs_its_plain_weights},
};
RN_TEST_MAIN(cases)
