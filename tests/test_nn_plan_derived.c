/*
 * Inference plans hold some convolutions' weights in a derived form made
 * once (src/nn/plan-build.c): packed for the direct path where the output
 * has few pixels, or transformed for Winograd F(4x4,3x3) (RN_OPT_WINOGRAD).
 * What must hold:
 *
 * - packed weights give results bit-identical to packing on every call: a
 *   batch-1 plan (layer3's convolutions packed) against a batch-2 plan of
 *   the same image twice (too many pixels to pack), Winograd off;
 * - a plan re-derives after the model's weights change (rn_model_set_tensor,
 *   rn_model_init, rn_model_fold_batchnorm is refused as before), bit-
 *   identical to a plan created after the change;
 * - RN_OPT_WINOGRAD 0 at run time runs a Winograd plan direct, bit-identical
 *   to a plan created with the option 0; with it on the results differ only
 *   by rounding; and either way they do not depend on the thread count.
 */
#define _POSIX_C_SOURCE 200112L
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
        CHECK(bytes_live == before);
    }
    free(x);
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
};
RN_TEST_MAIN(cases)
