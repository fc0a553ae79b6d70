/*
 * The trainer end to end on a tiny setup (tests/test_train_common.h):
 * a run interrupted by a checkpoint and resumed in fresh objects ends with
 * bit-identical weights and momentum buffers to the uninterrupted run, at an
 * epoch boundary and in the middle of an epoch; a diverging run stops with
 * RN_E_NUMERIC naming the step while the last checkpoint stays loadable;
 * the training-error warm-up; evaluation against a plan run by hand; and
 * the trainer's argument and state checks.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_train_common.h"
#include <unistd.h>

static char tmpdir[256];

static void make_tmpdir(void) {
    if (tmpdir[0]) return;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rn_test_resume_XXXXXX");
    if (!mkdtemp(tmpdir)) tmpdir[0] = '\0';
}

static void resume_after(int64_t interrupt_step, int64_t total_steps) {
    static tt_data d;
    tt_make_data(&d, 17);
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/ckpt_%lld.safetensors", tmpdir, (long long)interrupt_step);

    tt_run straight;
    tt_setup(&straight, &d, 1, 5);
    CHECK_OK(tt_steps(&straight, total_steps), straight.ctx);

    tt_run first;
    tt_setup(&first, &d, 1, 5);
    CHECK_OK(tt_steps(&first, interrupt_step), first.ctx);
    CHECK_OK(rn_checkpoint_save_file(first.tr, path), first.ctx);
    tt_teardown(&first);

    /* everything fresh: another init seed and another training seed, which
     * the checkpoint must override */
    tt_run resumed;
    tt_setup(&resumed, &d, 2, 6);
    CHECK(tt_count_differences(&straight, &resumed) > 0);
    CHECK_OK(rn_checkpoint_load_file(resumed.tr, path), resumed.ctx);
    int64_t step = -1;
    rn_trainer_progress(resumed.tr, NULL, &step, NULL, NULL);
    CHECK(step == interrupt_step);
    CHECK_OK(tt_steps(&resumed, total_steps), resumed.ctx);

    CHECK(tt_count_differences(&straight, &resumed) == 0);
    int64_t e1, e2, s1, s2, b1, b2;
    rn_trainer_progress(straight.tr, &e1, &s1, &b1, NULL);
    rn_trainer_progress(resumed.tr, &e2, &s2, &b2, NULL);
    CHECK(e1 == e2 && s1 == s2 && b1 == b2);
    double l1 = 0, l2 = 1;
    int64_t err1 = -1, err2 = -2;
    rn_trainer_epoch_stats(straight.tr, &l1, &err1, NULL);
    rn_trainer_epoch_stats(resumed.tr, &l2, &err2, NULL);
    CHECK(l1 == l2 && err1 == err2);
    tt_teardown(&resumed);
    tt_teardown(&straight);
    remove(path);
}

/* 44 images in batches of 8: 6 batches an epoch (the last of 4). */
static void test_resume_at_an_epoch_boundary_ends_bit_identical(void) { resume_after(6, 12); }
static void test_resume_in_the_middle_of_an_epoch_ends_bit_identical(void) { resume_after(9, 14); }

static void test_epochs_visit_every_image_once_and_report_their_statistics(void) {
    static tt_data d;
    tt_make_data(&d, 3);
    tt_run r;
    tt_setup(&r, &d, 1, 1);
    int64_t bpe = 0;
    CHECK_OK(rn_trainer_progress(r.tr, NULL, NULL, NULL, &bpe), r.ctx);
    CHECK(bpe == 6);
    int32_t end = -1;
    float loss = 0;
    for (int i = 0; i < 6; i++) {
        CHECK_OK(rn_trainer_step(r.tr, &loss, &end), r.ctx);
        CHECK(end == (i == 5));
        CHECK(isfinite(loss) && loss > 0);
    }
    int64_t epoch = -1, seen = 0, errors = -1, cursor = -1;
    double mean_loss = -1;
    CHECK_OK(rn_trainer_progress(r.tr, &epoch, NULL, &cursor, NULL), r.ctx);
    CHECK(epoch == 1 && cursor == 0);
    CHECK_OK(rn_trainer_epoch_stats(r.tr, &mean_loss, &errors, &seen), r.ctx);
    CHECK(seen == TT_N && errors >= 0 && errors <= TT_N && mean_loss > 0);
    /* with drop_last the short batch is skipped: 5 batches */
    tt_run r2;
    tt_setup(&r2, &d, 1, 1);
    CHECK_OK(rn_trainer_set_int(r2.tr, RN_TRAIN_DROP_LAST, 1), r2.ctx);
    CHECK_OK(rn_trainer_progress(r2.tr, NULL, NULL, NULL, &bpe), r2.ctx);
    CHECK(bpe == 5);
    tt_teardown(&r2);
    tt_teardown(&r);
}

static void test_the_learning_rate_follows_the_schedule_by_epoch(void) {
    static tt_data d;
    tt_make_data(&d, 3);
    tt_run r;
    tt_setup(&r, &d, 1, 1);
    double lr = 0, opt_lr = 0;
    CHECK_OK(tt_steps(&r, 17), r.ctx); /* epochs 0..2 at 0.1 */
    CHECK_OK(rn_trainer_lr(r.tr, &lr, NULL), r.ctx);
    CHECK_CLOSE(lr, 0.1, 1e-12);
    CHECK_OK(tt_steps(&r, 19), r.ctx); /* epoch 3 began: 0.01 */
    CHECK_OK(rn_trainer_lr(r.tr, &lr, NULL), r.ctx);
    CHECK_CLOSE(lr, 0.01, 1e-12);
    CHECK_OK(rn_optimizer_get_float(r.opt, RN_SGD_LR, &opt_lr), r.ctx);
    CHECK_CLOSE(opt_lr, 0.01, 1e-12);
    tt_teardown(&r);
}

static void test_divergence_stops_with_numeric_error_naming_the_step(void) {
    static tt_data d;
    tt_make_data(&d, 4);
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/diverge.safetensors", tmpdir);
    tt_run r;
    tt_setup(&r, &d, 1, 1);
    CHECK_OK(tt_steps(&r, 2), r.ctx);
    CHECK_OK(rn_checkpoint_save_file(r.tr, path), r.ctx);
    /* from here on an absurd rate: the weights blow up within a few steps */
    rn_lr_schedule *huge = NULL;
    CHECK_OK(rn_lr_schedule_create(r.ctx, 1e6, &huge), r.ctx);
    rn_trainer *t2 = NULL;
    CHECK_OK(rn_trainer_create(r.model, r.opt, huge, r.data, &t2), r.ctx);
    CHECK_OK(rn_trainer_set_int(t2, RN_TRAIN_BATCH, TT_BATCH), r.ctx);
    rn_status st = RN_OK;
    int steps = 0;
    for (; steps < 50 && st == RN_OK; steps++) st = rn_trainer_step(t2, NULL, NULL);
    CHECK_STATUS(st, RN_E_NUMERIC, r.ctx);
    char want[64];
    snprintf(want, sizeof want, "step %d ", steps);
    CHECK(strstr(rn_last_error(r.ctx), want) != NULL);
    printf("     diverged: %s\n", rn_last_error(r.ctx));
    int64_t done = -1;
    rn_trainer_progress(t2, NULL, &done, NULL, NULL);
    CHECK(done == steps - 1); /* the failed step is not counted */
    rn_trainer_destroy(t2);
    rn_lr_schedule_destroy(huge);
    tt_teardown(&r);
    /* the checkpoint from before is intact and continues normally */
    tt_run again;
    tt_setup(&again, &d, 9, 9);
    CHECK_OK(rn_checkpoint_load_file(again.tr, path), again.ctx);
    CHECK_OK(tt_steps(&again, 4), again.ctx);
    tt_teardown(&again);
    remove(path);
}

static void test_training_error_warmup_ends_once_the_error_is_below_the_threshold(void) {
    static tt_data d;
    tt_make_data(&d, 5);
    tt_run r;
    tt_setup(&r, &d, 1, 1);
    /* threshold 1.0: any batch with one right answer ends the warm-up */
    CHECK_OK(rn_lr_schedule_set_warmup(r.sched, RN_WARMUP_TRAIN_ERROR, 1.0, 0.01), r.ctx);
    double lr = 0;
    int32_t done = -1;
    CHECK_OK(rn_trainer_lr(r.tr, &lr, &done), r.ctx);
    CHECK(done == 0);
    CHECK_CLOSE(lr, 0.01, 1e-12);
    CHECK_OK(tt_steps(&r, 6), r.ctx);
    int64_t errors = 0, seen = 0;
    rn_trainer_epoch_stats(r.tr, NULL, &errors, &seen);
    CHECK_OK(rn_trainer_lr(r.tr, &lr, &done), r.ctx);
    CHECK(done == (errors < seen));
    if (done) CHECK_CLOSE(lr, 0.1, 1e-12);
    /* a threshold nothing reaches keeps the warm-up rate */
    tt_run r2;
    tt_setup(&r2, &d, 1, 1);
    CHECK_OK(rn_lr_schedule_set_warmup(r2.sched, RN_WARMUP_TRAIN_ERROR, 1e-9, 0.01), r2.ctx);
    CHECK_OK(tt_steps(&r2, 6), r2.ctx);
    CHECK_OK(rn_trainer_lr(r2.tr, &lr, &done), r2.ctx);
    CHECK(done == 0);
    CHECK_CLOSE(lr, 0.01, 1e-12);
    double opt_lr = 0;
    CHECK_OK(rn_optimizer_get_float(r2.opt, RN_SGD_LR, &opt_lr), r2.ctx);
    CHECK_CLOSE(opt_lr, 0.01, 1e-12);
    tt_teardown(&r2);
    tt_teardown(&r);
}

/* rn_evaluate against the plan and the metrics run by hand. */
static void test_evaluate_matches_a_forward_pass_by_hand(void) {
    static tt_data d;
    tt_make_data(&d, 6);
    tt_run r;
    tt_setup(&r, &d, 1, 1);
    CHECK_OK(tt_steps(&r, 6), r.ctx);
    double loss = -1;
    int64_t errors = -1, conf[TT_CLASSES * TT_CLASSES] = {0};
    /* batch 5 does not divide 44: the last batch is padded */
    CHECK_OK(rn_evaluate(r.model, r.data, 5, &loss, &errors, conf, TT_CLASSES * TT_CLASSES), r.ctx);
    static float x[TT_N * TT_H * TT_W * TT_C], logits[TT_N * TT_CLASSES];
    int64_t idx[TT_N];
    int32_t labels[TT_N];
    for (int i = 0; i < TT_N; i++) idx[i] = i;
    CHECK_OK(rn_dataset_get_batch(r.data, idx, TT_N, x, sizeof x / sizeof x[0], labels), r.ctx);
    rn_plan *p = NULL;
    CHECK_OK(rn_plan_create(r.model, TT_N, TT_H, TT_W, RN_MODE_INFER, &p), r.ctx);
    CHECK_OK(rn_plan_forward(p, x, sizeof x / sizeof x[0], RN_LAYOUT_NHWC, logits,
                             sizeof logits / sizeof logits[0]),
             r.ctx);
    int64_t want_conf[TT_CLASSES * TT_CLASSES] = {0}, want_errors = -1;
    CHECK_OK(rn_metrics_update(r.ctx, logits, labels, TT_N, TT_CLASSES, want_conf,
                               TT_CLASSES * TT_CLASSES, &want_errors),
             r.ctx);
    double want_loss = 0;
    for (int i = 0; i < TT_N; i++) {
        double mx = -1e30, s = 0;
        for (int k = 0; k < TT_CLASSES; k++) mx = fmax(mx, logits[i * TT_CLASSES + k]);
        for (int k = 0; k < TT_CLASSES; k++) s += exp(logits[i * TT_CLASSES + k] - mx);
        want_loss += mx + log(s) - logits[i * TT_CLASSES + labels[i]];
    }
    want_loss /= TT_N;
    CHECK(errors == want_errors);
    CHECK(memcmp(conf, want_conf, sizeof conf) == 0);
    CHECK_CLOSE(loss, want_loss, 1e-5);
    int64_t total = 0;
    for (int k = 0; k < TT_CLASSES * TT_CLASSES; k++) total += conf[k];
    CHECK(total == TT_N);
    CHECK_STATUS(rn_evaluate(r.model, r.data, 0, &loss, NULL, NULL, 0), RN_E_INVALID_ARG, r.ctx);
    CHECK_STATUS(rn_evaluate(r.model, r.data, 8, NULL, NULL, conf, 3), RN_E_INVALID_ARG, r.ctx);
    rn_plan_destroy(p);
    tt_teardown(&r);
}

static void test_trainer_checks_its_arguments_and_freezes_options_once_started(void) {
    static tt_data d;
    tt_make_data(&d, 7);
    tt_run r;
    tt_setup(&r, &d, 1, 1);
    rn_trainer *t = NULL;
    CHECK_STATUS(rn_trainer_create(r.model, r.opt, r.sched, NULL, &t), RN_E_INVALID_ARG, r.ctx);
    CHECK_STATUS(rn_trainer_create(NULL, r.opt, r.sched, r.data, &t), RN_E_INVALID_ARG, NULL);
    /* a 1-channel dataset for a 3-channel model */
    rn_dataset *gray = NULL;
    CHECK_OK(
        rn_dataset_create(r.ctx, d.images, d.labels, TT_N, TT_H, TT_W * TT_C, 1, TT_CLASSES, &gray),
        r.ctx);
    CHECK_STATUS(rn_trainer_create(r.model, r.opt, r.sched, gray, &t), RN_E_INVALID_ARG, r.ctx);
    CHECK(strstr(rn_last_error(r.ctx), "channels") != NULL);
    CHECK(t == NULL);
    rn_dataset_destroy(gray);
    /* an optimiser of another model */
    rn_model *other = NULL;
    rn_optimizer *oo = NULL;
    CHECK_OK(rn_model_create_preset(r.ctx, "resnet20", TT_CLASSES, 3, -1, 4, 0, &other), r.ctx);
    CHECK_OK(rn_sgd_create(other, &oo), r.ctx);
    CHECK_STATUS(rn_trainer_create(r.model, oo, r.sched, r.data, &t), RN_E_INVALID_ARG, r.ctx);
    rn_optimizer_destroy(oo);
    rn_model_destroy(other);
    CHECK_STATUS(rn_trainer_set_int(r.tr, RN_TRAIN_BATCH, 0), RN_E_INVALID_ARG, r.ctx);
    CHECK_STATUS(rn_trainer_set_int(r.tr, RN_TRAIN_AUG_FLIP, 2), RN_E_INVALID_ARG, r.ctx);
    CHECK_STATUS(rn_trainer_set_int(r.tr, 77, 1), RN_E_NOT_FOUND, r.ctx);
    int64_t v = 0;
    CHECK_OK(rn_trainer_get_int(r.tr, RN_TRAIN_BATCH, &v), r.ctx);
    CHECK(v == TT_BATCH);
    CHECK_OK(rn_trainer_get_int(r.tr, RN_TRAIN_AUG_PAD, &v), r.ctx);
    CHECK(v == 2);
    CHECK_OK(rn_trainer_step(r.tr, NULL, NULL), r.ctx);
    CHECK_STATUS(rn_trainer_set_int(r.tr, RN_TRAIN_BATCH, 4), RN_E_BAD_STATE, r.ctx);
    /* drop_last with fewer images than a batch: no batch at all */
    tt_run r2;
    tt_setup(&r2, &d, 1, 1);
    CHECK_OK(rn_trainer_set_int(r2.tr, RN_TRAIN_BATCH, 64), r2.ctx);
    CHECK_OK(rn_trainer_set_int(r2.tr, RN_TRAIN_DROP_LAST, 1), r2.ctx);
    CHECK_STATUS(rn_trainer_step(r2.tr, NULL, NULL), RN_E_INVALID_ARG, r2.ctx);
    tt_teardown(&r2);
    tt_teardown(&r);
}

static void cleanup(void) {
    if (tmpdir[0]) rmdir(tmpdir);
}

static const rn_test_case cases[] = {
    {"resume_at_an_epoch_boundary_ends_bit_identical",
     test_resume_at_an_epoch_boundary_ends_bit_identical},
    {"resume_in_the_middle_of_an_epoch_ends_bit_identical",
     test_resume_in_the_middle_of_an_epoch_ends_bit_identical},
    {"epochs_visit_every_image_once_and_report_their_statistics",
     test_epochs_visit_every_image_once_and_report_their_statistics},
    {"the_learning_rate_follows_the_schedule_by_epoch",
     test_the_learning_rate_follows_the_schedule_by_epoch},
    {"divergence_stops_with_numeric_error_naming_the_step",
     test_divergence_stops_with_numeric_error_naming_the_step},
    {"training_error_warmup_ends_once_the_error_is_below_the_threshold",
     test_training_error_warmup_ends_once_the_error_is_below_the_threshold},
    {"evaluate_matches_a_forward_pass_by_hand", test_evaluate_matches_a_forward_pass_by_hand},
    {"trainer_checks_its_arguments_and_freezes_options_once_started",
     test_trainer_checks_its_arguments_and_freezes_options_once_started},
};

int main(int argc, char **argv) {
    int rc = rn_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
    cleanup();
    return rc;
}
