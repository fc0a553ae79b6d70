/*
 * Shared by the trainer and checkpoint tests: a tiny CIFAR-style setup
 * (ResNet-20 at base width 4 on 8x8 RGB images of 4 classes) whose class is
 * written into the image, so a few steps already move the weights in a
 * meaningful direction, and helpers that compare two models bit for bit.
 */
#ifndef RN_TEST_TRAIN_COMMON_H
#define RN_TEST_TRAIN_COMMON_H

#include "harness.h"
#include "resnet.h"

#define TT_N 44 /* not a multiple of the batch: every epoch ends with a short batch */
#define TT_H 8
#define TT_W 8
#define TT_C 3
#define TT_CLASSES 4
#define TT_BATCH 8

typedef struct tt_data {
    uint8_t images[TT_N * TT_H * TT_W * TT_C];
    int32_t labels[TT_N];
} tt_data;

/* Noise plus a bright quadrant that names the class. */
static void tt_make_data(tt_data *d, unsigned long long seed) {
    rn_test_rng_state = seed;
    for (int i = 0; i < TT_N; i++) {
        int label = i % TT_CLASSES;
        d->labels[i] = label;
        for (int y = 0; y < TT_H; y++)
            for (int x = 0; x < TT_W; x++)
                for (int c = 0; c < TT_C; c++) {
                    int quadrant = (y >= TT_H / 2) * 2 + (x >= TT_W / 2);
                    double v = 60 * rn_test_uniform() + (quadrant == label ? 150 : 20);
                    d->images[((i * TT_H + y) * TT_W + x) * TT_C + c] = (uint8_t)v;
                }
    }
}

typedef struct tt_run {
    rn_ctx *ctx;
    rn_model *model;
    rn_optimizer *opt;
    rn_lr_schedule *sched;
    rn_dataset *data;
    rn_trainer *tr;
} tt_run;

/* A trainer with the paper's recipe scaled down: lr 0.1 divided by 10 after
 * 3 epochs, batch 8, pad 4 crop + flip (pad 2 for 8x8 images), per-pixel mean. */
static void tt_setup_width(tt_run *r, const tt_data *d, uint64_t init_seed, int64_t train_seed,
                           int32_t width) {
    memset(r, 0, sizeof *r);
    CHECK_OK(rn_ctx_create(&r->ctx), r->ctx);
    CHECK_OK(rn_model_create_preset(r->ctx, "resnet20", TT_CLASSES, TT_C, RN_SHORTCUT_DEFAULT,
                                    width, 0, &r->model),
             r->ctx);
    CHECK_OK(rn_model_init(r->model, init_seed), r->ctx);
    CHECK_OK(rn_sgd_create(r->model, &r->opt), r->ctx);
    CHECK_OK(rn_lr_schedule_create(r->ctx, 0.1, &r->sched), r->ctx);
    int64_t ms[1] = {3};
    CHECK_OK(rn_lr_schedule_set_step(r->sched, RN_SCHED_UNIT_EPOCH, ms, 1, 0.1), r->ctx);
    CHECK_OK(rn_dataset_create(r->ctx, d->images, d->labels, TT_N, TT_H, TT_W, TT_C, TT_CLASSES,
                               &r->data),
             r->ctx);
    CHECK_OK(rn_dataset_compute_normalization(r->data, RN_NORM_PIXEL_MEAN), r->ctx);
    CHECK_OK(rn_trainer_create(r->model, r->opt, r->sched, r->data, &r->tr), r->ctx);
    CHECK_OK(rn_trainer_set_int(r->tr, RN_TRAIN_BATCH, TT_BATCH), r->ctx);
    CHECK_OK(rn_trainer_set_int(r->tr, RN_TRAIN_AUG_PAD, 2), r->ctx);
    CHECK_OK(rn_trainer_set_int(r->tr, RN_TRAIN_SEED, train_seed), r->ctx);
}

static void tt_setup(tt_run *r, const tt_data *d, uint64_t init_seed, int64_t train_seed) {
    tt_setup_width(r, d, init_seed, train_seed, 4);
}

static void tt_teardown(tt_run *r) {
    rn_trainer_destroy(r->tr);
    rn_dataset_destroy(r->data);
    rn_lr_schedule_destroy(r->sched);
    rn_optimizer_destroy(r->opt);
    rn_model_destroy(r->model);
    rn_ctx_destroy(r->ctx);
}

/* Steps until `steps` iterations were made in all; returns the last status. */
static rn_status tt_steps(tt_run *r, int64_t steps) {
    rn_status st = RN_OK;
    int64_t done = 0;
    rn_trainer_progress(r->tr, NULL, &done, NULL, NULL);
    for (int64_t i = done; i < steps && st == RN_OK; i++) st = rn_trainer_step(r->tr, NULL, NULL);
    return st;
}

/* Number of tensors (values and momentum buffers) that differ in any bit. */
static int tt_count_differences(const tt_run *a, const tt_run *b) {
    int diffs = 0;
    for (int32_t i = 0; i < rn_model_tensor_count(a->model); i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_model_tensor_info(a->model, i, &name, &ndim, dims, &kind);
        size_t n = 1;
        for (int32_t k = 0; k < ndim; k++) n *= (size_t)dims[k];
        float *x = calloc(n, sizeof(float)), *y = calloc(n, sizeof(float));
        rn_model_get_tensor(a->model, name, x, n);
        rn_model_get_tensor(b->model, name, y, n);
        if (memcmp(x, y, n * sizeof(float)) != 0) diffs++;
        if (kind == RN_TENSOR_PARAM) {
            int32_t ha = 0, hb = 0;
            rn_optimizer_has_buffer(a->opt, name, &ha);
            rn_optimizer_has_buffer(b->opt, name, &hb);
            if (ha != hb) {
                diffs++;
            } else if (ha) {
                rn_optimizer_get_buffer(a->opt, name, x, n);
                rn_optimizer_get_buffer(b->opt, name, y, n);
                if (memcmp(x, y, n * sizeof(float)) != 0) diffs++;
            }
        }
        free(y);
        free(x);
    }
    return diffs;
}

#endif /* RN_TEST_TRAIN_COMMON_H */
