/*
 * Learning-rate schedules: step decay and cosine against PyTorch's
 * MultiStepLR and CosineAnnealingLR (tests/data/train/schedules.npy from
 * tests/gen/gen_train_fixtures.py; stored as float32, so compared within
 * 1e-6 relative), the paper's iteration milestones, the three warm-ups, and
 * argument checks.
 */
#include "harness.h"
#include "resnet.h"

static void test_step_decay_matches_torch_multisteplr(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    float ref[2 * 11];
    char path[512];
    snprintf(path, sizeof path, "%s/train/schedules.npy", RN_TEST_DATA_DIR);
    CHECK_OK(rn_npy_read_file(ctx, path, RN_DTYPE_F32, ref, 22), ctx);
    rn_lr_schedule *s = NULL;
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &s), ctx);
    int64_t ms[2] = {3, 5};
    CHECK_OK(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_EPOCH, ms, 2, 0.1), ctx);
    for (int64_t e = 0; e < 8; e++) {
        double lr = -1;
        /* the step counter does not matter for an epoch schedule */
        CHECK_OK(rn_lr_schedule_lr(s, 1000 * e + 7, e, 0, &lr), ctx);
        CHECK_CLOSE(lr, ref[e], 1e-6);
    }
    rn_lr_schedule_destroy(s);
    rn_ctx_destroy(ctx);
}

static void test_cosine_matches_torch_cosineannealinglr_and_stays_at_the_minimum(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    float ref[2 * 11];
    char path[512];
    snprintf(path, sizeof path, "%s/train/schedules.npy", RN_TEST_DATA_DIR);
    CHECK_OK(rn_npy_read_file(ctx, path, RN_DTYPE_F32, ref, 22), ctx);
    rn_lr_schedule *s = NULL;
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &s), ctx);
    CHECK_OK(rn_lr_schedule_set_cosine(s, RN_SCHED_UNIT_EPOCH, 10, 0.001), ctx);
    double lr = -1;
    for (int64_t e = 0; e <= 10; e++) {
        CHECK_OK(rn_lr_schedule_lr(s, 0, e, 0, &lr), ctx);
        CHECK_CLOSE(lr, ref[11 + e], 1e-6);
    }
    /* past the end the rate stays at min_lr (PyTorch's would rise again) */
    CHECK_OK(rn_lr_schedule_lr(s, 0, 25, 0, &lr), ctx);
    CHECK_CLOSE(lr, 0.001, 1e-12);
    rn_lr_schedule_destroy(s);
    rn_ctx_destroy(ctx);
}

/* Section 4.2: 0.1, divided by 10 at 32k and 48k iterations. */
static void test_paper_iteration_milestones(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_lr_schedule *s = NULL;
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &s), ctx);
    int64_t ms[2] = {32000, 48000};
    CHECK_OK(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, ms, 2, 0.1), ctx);
    struct {
        int64_t step;
        double lr;
    } want[] = {{0, 0.1},      {31999, 0.1},   {32000, 0.01},
                {47999, 0.01}, {48000, 0.001}, {63999, 0.001}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double lr = -1;
        CHECK_OK(rn_lr_schedule_lr(s, want[i].step, 3, 0, &lr), ctx);
        CHECK_CLOSE(lr, want[i].lr, 1e-12);
    }
    rn_lr_schedule_destroy(s);
    rn_ctx_destroy(ctx);
}

static void test_warmups_replace_the_rate_at_the_start(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_lr_schedule *s = NULL;
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &s), ctx);
    double lr = -1;
    /* fixed number of iterations */
    CHECK_OK(rn_lr_schedule_set_warmup(s, RN_WARMUP_ITERS, 400, 0.01), ctx);
    CHECK_OK(rn_lr_schedule_lr(s, 399, 0, 0, &lr), ctx);
    CHECK_CLOSE(lr, 0.01, 1e-12);
    CHECK_OK(rn_lr_schedule_lr(s, 400, 0, 0, &lr), ctx);
    CHECK_CLOSE(lr, 0.1, 1e-12);
    /* linear ramp: halfway between 0.01 and 0.1 at step 200 of 400 */
    CHECK_OK(rn_lr_schedule_set_warmup(s, RN_WARMUP_LINEAR, 400, 0.01), ctx);
    CHECK_OK(rn_lr_schedule_lr(s, 200, 0, 0, &lr), ctx);
    CHECK_CLOSE(lr, 0.055, 1e-12);
    CHECK_OK(rn_lr_schedule_lr(s, 0, 0, 0, &lr), ctx);
    CHECK_CLOSE(lr, 0.01, 1e-12);
    /* until the training error is below 80% (ResNet-110): decided by the caller's flag */
    CHECK_OK(rn_lr_schedule_set_warmup(s, RN_WARMUP_TRAIN_ERROR, 0.8, 0.01), ctx);
    CHECK_OK(rn_lr_schedule_lr(s, 5000, 10, 0, &lr), ctx);
    CHECK_CLOSE(lr, 0.01, 1e-12);
    CHECK_OK(rn_lr_schedule_lr(s, 5000, 10, 1, &lr), ctx);
    CHECK_CLOSE(lr, 0.1, 1e-12);
    int32_t kind = -1;
    double value = 0;
    CHECK_OK(rn_lr_schedule_get_warmup(s, &kind, &value), ctx);
    CHECK(kind == RN_WARMUP_TRAIN_ERROR && value == 0.8);
    /* a warm-up ends into the main schedule, whatever it is by then */
    int64_t ms[1] = {2};
    CHECK_OK(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_EPOCH, ms, 1, 0.1), ctx);
    CHECK_OK(rn_lr_schedule_lr(s, 5000, 3, 1, &lr), ctx);
    CHECK_CLOSE(lr, 0.01, 1e-12);
    CHECK_OK(rn_lr_schedule_set_warmup(s, RN_WARMUP_NONE, 0, 0), ctx);
    CHECK_OK(rn_lr_schedule_set_constant(s), ctx);
    CHECK_OK(rn_lr_schedule_lr(s, 0, 0, 0, &lr), ctx);
    CHECK_CLOSE(lr, 0.1, 1e-12);
    rn_lr_schedule_destroy(s);
    rn_ctx_destroy(ctx);
}

static void test_schedule_arguments_are_validated(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_lr_schedule *s = NULL;
    CHECK_STATUS(rn_lr_schedule_create(ctx, -0.1, &s), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_lr_schedule_create(ctx, NAN, &s), RN_E_INVALID_ARG, ctx);
    CHECK(s == NULL);
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &s), ctx);
    int64_t bad[3] = {10, 5, 20}, ok[2] = {1, 2};
    CHECK_STATUS(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_EPOCH, bad, 3, 0.1), RN_E_INVALID_ARG,
                 ctx);
    CHECK(strstr(rn_last_error(ctx), "increasing") != NULL);
    CHECK_STATUS(rn_lr_schedule_set_step(s, 7, ok, 2, 0.1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_EPOCH, ok, 2, 0.0), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_EPOCH, NULL, 2, 0.1), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_lr_schedule_set_cosine(s, RN_SCHED_UNIT_ITER, 0, 0), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_lr_schedule_set_cosine(s, RN_SCHED_UNIT_ITER, 10, 0.5), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_lr_schedule_set_warmup(s, RN_WARMUP_TRAIN_ERROR, 1.5, 0.01), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_lr_schedule_set_warmup(s, RN_WARMUP_ITERS, 2.5, 0.01), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_lr_schedule_set_warmup(s, 42, 1, 0.01), RN_E_INVALID_ARG, ctx);
    double lr;
    CHECK_STATUS(rn_lr_schedule_lr(s, -1, 0, 0, &lr), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_lr_schedule_lr(s, 0, 0, 0, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_lr_schedule_lr(NULL, 0, 0, 0, &lr), RN_E_INVALID_ARG, NULL);
    /* failed calls left the schedule constant */
    CHECK_OK(rn_lr_schedule_lr(s, 100, 100, 0, &lr), ctx);
    CHECK(lr == 0.1);
    rn_lr_schedule_destroy(s);
    rn_lr_schedule_destroy(NULL);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"step_decay_matches_torch_multisteplr", test_step_decay_matches_torch_multisteplr},
    {"cosine_matches_torch_cosineannealinglr_and_stays_at_the_minimum",
     test_cosine_matches_torch_cosineannealinglr_and_stays_at_the_minimum},
    {"paper_iteration_milestones", test_paper_iteration_milestones},
    {"warmups_replace_the_rate_at_the_start", test_warmups_replace_the_rate_at_the_start},
    {"schedule_arguments_are_validated", test_schedule_arguments_are_validated},
};

RN_TEST_MAIN(cases)
