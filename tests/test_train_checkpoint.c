/*
 * Checkpoints: a round trip restores every tensor, buffer and counter (the
 * next step then agrees bit for bit); the file's layout (names, PyTorch
 * shapes, metadata); an injected write failure (file-size limit, failing
 * allocator) leaves the previous checkpoint byte-identical and no temporary
 * behind; and every kind of mismatched or damaged checkpoint is refused
 * without changing the trainer.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_train_common.h"
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char buf[512];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/rn_test_ckpt_XXXXXX");
        if (!mkdtemp(tmpdir)) tmpdir[0] = '\0';
    }
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *size = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static unsigned char *save_mem(tt_run *r, size_t *size) {
    *size = 0;
    CHECK_OK(rn_checkpoint_save_mem(r->tr, NULL, 0, size), r->ctx);
    unsigned char *b = malloc(*size);
    size_t written = 0;
    CHECK_OK(rn_checkpoint_save_mem(r->tr, b, *size, &written), r->ctx);
    CHECK(written == *size);
    return b;
}

static void test_round_trip_restores_everything_and_the_next_step_agrees(void) {
    static tt_data d;
    tt_make_data(&d, 21);
    tt_run a, b;
    tt_setup(&a, &d, 1, 3);
    CHECK_OK(tt_steps(&a, 8), a.ctx); /* one epoch and 2 batches */
    size_t size;
    unsigned char *buf = save_mem(&a, &size);
    tt_setup(&b, &d, 2, 4);
    CHECK_OK(rn_checkpoint_load_mem(b.tr, buf, size), b.ctx);
    CHECK(tt_count_differences(&a, &b) == 0);
    int64_t ea, sa, ca, eb, sb, cb, erra, errb, seena, seenb;
    double la, lb, lra, lrb;
    rn_trainer_progress(a.tr, &ea, &sa, &ca, NULL);
    rn_trainer_progress(b.tr, &eb, &sb, &cb, NULL);
    CHECK(ea == 1 && sa == 8 && ca == 2);
    CHECK(ea == eb && sa == sb && ca == cb);
    rn_trainer_epoch_stats(a.tr, &la, &erra, &seena);
    rn_trainer_epoch_stats(b.tr, &lb, &errb, &seenb);
    CHECK(la == lb && erra == errb && seena == seenb && seena == 2 * TT_BATCH);
    rn_trainer_lr(a.tr, &lra, NULL);
    rn_trainer_lr(b.tr, &lrb, NULL);
    CHECK(lra == lrb);
    int64_t seed = 0;
    CHECK_OK(rn_trainer_get_int(b.tr, RN_TRAIN_SEED, &seed), b.ctx);
    CHECK(seed == 3);
    CHECK_OK(rn_trainer_step(a.tr, NULL, NULL), a.ctx);
    CHECK_OK(rn_trainer_step(b.tr, NULL, NULL), b.ctx);
    CHECK(tt_count_differences(&a, &b) == 0);
    free(buf);
    tt_teardown(&b);
    tt_teardown(&a);
}

static void test_checkpoint_layout_is_pytorch_state_dict_plus_optimizer_and_metadata(void) {
    static tt_data d;
    tt_make_data(&d, 22);
    tt_run a;
    tt_setup(&a, &d, 1, 3);
    CHECK_OK(tt_steps(&a, 6), a.ctx);
    size_t size;
    unsigned char *buf = save_mem(&a, &size);
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_mem(a.ctx, buf, size, &st), a.ctx);
    int32_t nmodel = rn_model_tensor_count(a.model), nparams = 0;
    for (int32_t i = 0; i < nmodel; i++) {
        const char *name;
        int32_t ndim, kind, idx = -1, fdt, fndim;
        int64_t dims[4], fdims[8];
        rn_model_tensor_info(a.model, i, &name, &ndim, dims, &kind);
        CHECK_OK(rn_safetensors_find(st, name, &idx), a.ctx);
        CHECK_OK(rn_safetensors_info(st, idx, NULL, &fdt, &fndim, fdims), a.ctx);
        CHECK(fdt == RN_DTYPE_F32 && fndim == ndim);
        for (int32_t k = 0; k < ndim; k++) CHECK(fdims[k] == dims[k]);
        if (kind == RN_TENSOR_PARAM) {
            char bname[256];
            snprintf(bname, sizeof bname, "optimizer.%s.momentum_buffer", name);
            CHECK_OK(rn_safetensors_find(st, bname, &idx), a.ctx);
            nparams++;
        }
    }
    int32_t idx;
    CHECK_OK(rn_safetensors_find(st, "data.mean", &idx), a.ctx);
    int32_t fndim;
    int64_t fdims[8];
    rn_safetensors_info(st, idx, NULL, NULL, &fndim, fdims);
    CHECK(fndim == 3 && fdims[0] == TT_H && fdims[1] == TT_W && fdims[2] == TT_C);
    CHECK(rn_safetensors_count(st) == nmodel + nparams + 1);
    const char *v = NULL;
    CHECK_OK(rn_safetensors_metadata(st, "libresnet.checkpoint", &v), a.ctx);
    CHECK(v && strcmp(v, "1") == 0);
    CHECK_OK(rn_safetensors_metadata(st, "epoch", &v), a.ctx);
    CHECK(v && strcmp(v, "1") == 0);
    CHECK_OK(rn_safetensors_metadata(st, "step", &v), a.ctx);
    CHECK(v && strcmp(v, "6") == 0);
    CHECK_OK(rn_safetensors_metadata(st, "normalization", &v), a.ctx);
    CHECK(v && strcmp(v, "pixel_mean") == 0);
    CHECK_OK(rn_safetensors_metadata(st, "aug_rng", &v), a.ctx);
    CHECK(v && strlen(v) == 67);
    rn_safetensors_close(st);
    free(buf);
    tt_teardown(&a);
}

static void test_failed_write_leaves_the_previous_checkpoint_intact(void) {
    static tt_data d;
    tt_make_data(&d, 23);
    tt_run a;
    tt_setup(&a, &d, 1, 3);
    CHECK_OK(tt_steps(&a, 2), a.ctx);
    const char *path = tmp_path("ckpt.safetensors");
    char keep[512];
    snprintf(keep, sizeof keep, "%s", path);
    CHECK_OK(rn_checkpoint_save_file(a.tr, keep), a.ctx);
    size_t size0 = 0, size1 = 0;
    unsigned char *before = read_all(keep, &size0);
    CHECK(before != NULL && size0 > 4096);
    CHECK_OK(tt_steps(&a, 3), a.ctx);

    /* injected failure 1: the file-size limit is below the checkpoint's size, so
     * write(2) fails with EFBIG part way (root ignores permissions, not this) */
    struct rlimit old, small;
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    rn_status st = rn_checkpoint_save_file(a.tr, keep);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK_STATUS(st, RN_E_IO, a.ctx);
    CHECK(strstr(rn_last_error(a.ctx), "ckpt.safetensors") != NULL);
    unsigned char *after = read_all(keep, &size1);
    CHECK(after && size1 == size0 && memcmp(before, after, size0) == 0);
    CHECK(count_files(tmpdir) == 1); /* the temporary was removed */
    free(after);

    /* injected failure 2: the target's directory does not exist */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir/ckpt.safetensors", tmpdir);
    CHECK_STATUS(rn_checkpoint_save_file(a.tr, missing), RN_E_IO, a.ctx);

    /* and the trainer can still save normally afterwards */
    CHECK_OK(rn_checkpoint_save_file(a.tr, keep), a.ctx);
    after = read_all(keep, &size1);
    CHECK(after && (size1 != size0 || memcmp(before, after, size0) != 0));
    free(after);
    free(before);
    remove(keep);
    tt_teardown(&a);
}

/* An allocator that fails from the n-th allocation on. */
static int alloc_budget = -1;
static void *limited_alloc(void *user, size_t size, size_t align) {
    (void)user;
    if (alloc_budget == 0) return NULL;
    if (alloc_budget > 0) alloc_budget--;
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) ? NULL : p;
}
static void limited_free(void *user, void *p) {
    (void)user;
    free(p);
}

static void test_out_of_memory_while_saving_leaves_the_file_and_reports_no_memory(void) {
    static tt_data d;
    tt_make_data(&d, 24);
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create_with_allocator(limited_alloc, limited_free, NULL, &ctx), ctx);
    rn_model *m = NULL;
    rn_optimizer *opt = NULL;
    rn_lr_schedule *s = NULL;
    rn_dataset *ds = NULL;
    rn_trainer *tr = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", TT_CLASSES, 3, -1, 4, 0, &m), ctx);
    CHECK_OK(rn_model_init(m, 1), ctx);
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &s), ctx);
    CHECK_OK(rn_dataset_create(ctx, d.images, d.labels, TT_N, TT_H, TT_W, TT_C, TT_CLASSES, &ds),
             ctx);
    CHECK_OK(rn_trainer_create(m, opt, s, ds, &tr), ctx);
    CHECK_OK(rn_trainer_set_int(tr, RN_TRAIN_BATCH, TT_BATCH), ctx);
    CHECK_OK(rn_trainer_step(tr, NULL, NULL), ctx);
    char keep[512];
    snprintf(keep, sizeof keep, "%s", tmp_path("oom.safetensors"));
    CHECK_OK(rn_checkpoint_save_file(tr, keep), ctx);
    size_t size0 = 0, size1 = 0;
    unsigned char *before = read_all(keep, &size0);
    CHECK_OK(rn_trainer_step(tr, NULL, NULL), ctx);
    int failures = 0;
    for (int budget = 0; budget < 3000; budget++) {
        alloc_budget = budget;
        rn_status st = rn_checkpoint_save_file(tr, keep);
        alloc_budget = -1;
        if (st == RN_OK) break;
        failures++;
        CHECK_STATUS(st, RN_E_NO_MEMORY, ctx);
        unsigned char *after = read_all(keep, &size1);
        CHECK(after && size1 == size0 && memcmp(before, after, size0) == 0);
        free(after);
        if (st != RN_E_NO_MEMORY) break;
    }
    CHECK(failures > 3);
    CHECK(count_files(tmpdir) == 1);
    free(before);
    remove(keep);
    rn_trainer_destroy(tr);
    rn_dataset_destroy(ds);
    rn_lr_schedule_destroy(s);
    rn_optimizer_destroy(opt);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* A copy of a checkpoint with one metadata value replaced (or removed when
 * value is NULL), and optionally one tensor dropped. */
static unsigned char *rewrite(rn_ctx *ctx, const unsigned char *buf, size_t size, const char *key,
                              const char *value, const char *drop, size_t *out_size) {
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, buf, size, &st), ctx);
    rn_safetensors_writer *w = NULL;
    CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
    for (int32_t i = 0; i < rn_safetensors_count(st); i++) {
        const char *name;
        int32_t dtype, ndim;
        int64_t dims[8];
        rn_safetensors_info(st, i, &name, &dtype, &ndim, dims);
        if (drop && strcmp(name, drop) == 0) continue;
        size_t n = 1;
        for (int32_t k = 0; k < ndim; k++) n *= (size_t)dims[k];
        float *v = malloc(n * sizeof(float));
        rn_safetensors_read_f32(st, i, v, n);
        rn_safetensors_writer_add(w, name, RN_DTYPE_F32, ndim, dims, v);
        free(v);
    }
    static const char *const keys[] = {"format",         "libresnet.checkpoint",
                                       "epoch",          "step",
                                       "batch_in_epoch", "batch",
                                       "dataset_size",   "seed",
                                       "shuffle",        "drop_last",
                                       "aug_pad",        "aug_flip",
                                       "warmup_done",    "epoch_errors",
                                       "epoch_seen",     "epoch_loss_sum",
                                       "order_rng",      "aug_rng",
                                       "normalization"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = NULL;
        if (strcmp(keys[k], key) == 0) {
            if (value) rn_safetensors_writer_set_metadata(w, keys[k], value);
        } else if (rn_safetensors_metadata(st, keys[k], &v) == RN_OK) {
            rn_safetensors_writer_set_metadata(w, keys[k], v);
        }
    }
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, out_size), ctx);
    unsigned char *out = malloc(*out_size);
    CHECK_OK(rn_safetensors_writer_save_mem(w, out, *out_size, out_size), ctx);
    rn_safetensors_writer_destroy(w);
    rn_safetensors_close(st);
    return out;
}

static void test_mismatched_or_damaged_checkpoints_are_refused_and_change_nothing(void) {
    static tt_data d;
    tt_make_data(&d, 25);
    tt_run a, b;
    tt_setup(&a, &d, 1, 3);
    CHECK_OK(tt_steps(&a, 3), a.ctx);
    size_t size;
    unsigned char *buf = save_mem(&a, &size);
    tt_setup(&b, &d, 2, 4);
    CHECK_OK(tt_steps(&b, 1), b.ctx);
    float w0[4 * 3 * 9], w1[4 * 3 * 9];
    CHECK_OK(rn_model_get_tensor(b.model, "conv1.weight", w0, 108), b.ctx);

    struct {
        const char *key, *value, *drop;
        rn_status want;
        const char *says;
    } cases[] = {
        {"libresnet.checkpoint", "2", NULL, RN_E_VERSION, "version"},
        {"libresnet.checkpoint", NULL, NULL, RN_E_BAD_FORMAT, "not a libresnet checkpoint"},
        {"batch", "16", NULL, RN_E_INVALID_ARG, "batch size 16"},
        {"dataset_size", "45", NULL, RN_E_INVALID_ARG, "training-set size"},
        {"aug_pad", "4", NULL, RN_E_INVALID_ARG, "padding"},
        {"step", "-3", NULL, RN_E_BAD_FORMAT, "'step'"},
        {"step", "12x", NULL, RN_E_BAD_FORMAT, "'step'"},
        {"batch_in_epoch", "6", NULL, RN_E_BAD_FORMAT, "batch_in_epoch"},
        {"aug_rng", "0000000000000000,0000000000000000,0000000000000000,0000000000000000", NULL,
         RN_E_BAD_FORMAT, "aug_rng"},
        {"order_rng", "12", NULL, RN_E_BAD_FORMAT, "order_rng"},
        {"epoch_loss_sum", "fff8000000000000", NULL, RN_E_BAD_FORMAT, "statistics"},
        {"epoch", NULL, NULL, RN_E_BAD_FORMAT, "'epoch' is missing"},
        {"normalization", "channel", NULL, RN_E_INVALID_ARG, "normalisation"},
        {"none", NULL, "layer2.1.conv2.weight", RN_E_BAD_FORMAT, "layer2.1.conv2.weight"},
        {"none", NULL, "data.mean", RN_E_BAD_FORMAT, "data.mean"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        unsigned char *bad =
            rewrite(a.ctx, buf, size, cases[i].key, cases[i].value, cases[i].drop, &n);
        CHECK_STATUS(rn_checkpoint_load_mem(b.tr, bad, n), cases[i].want, b.ctx);
        if (!strstr(rn_last_error(b.ctx), cases[i].says)) {
            fprintf(stderr, "  case %zu: '%s' not in: %s\n", i, cases[i].says,
                    rn_last_error(b.ctx));
            CHECK(0);
        }
        free(bad);
    }
    /* a checkpoint of a wider model names the first tensor that does not fit */
    tt_run wide;
    tt_setup(&wide, &d, 1, 3);
    rn_model *wm = NULL;
    rn_optimizer *wo = NULL;
    rn_trainer *wt = NULL;
    CHECK_OK(rn_model_create_preset(wide.ctx, "resnet20", TT_CLASSES, 3, -1, 8, 0, &wm), wide.ctx);
    CHECK_OK(rn_sgd_create(wm, &wo), wide.ctx);
    CHECK_OK(rn_trainer_create(wm, wo, wide.sched, wide.data, &wt), wide.ctx);
    CHECK_OK(rn_trainer_set_int(wt, RN_TRAIN_BATCH, TT_BATCH), wide.ctx);
    CHECK_OK(rn_trainer_set_int(wt, RN_TRAIN_AUG_PAD, 2), wide.ctx);
    size_t wsize;
    CHECK_OK(rn_checkpoint_save_mem(wt, NULL, 0, &wsize), wide.ctx);
    unsigned char *wbuf = malloc(wsize);
    CHECK_OK(rn_checkpoint_save_mem(wt, wbuf, wsize, &wsize), wide.ctx);
    CHECK_STATUS(rn_checkpoint_load_mem(b.tr, wbuf, wsize), RN_E_BAD_FORMAT, b.ctx);
    CHECK(strstr(rn_last_error(b.ctx), "conv1.weight") != NULL);
    free(wbuf);
    rn_trainer_destroy(wt);
    rn_optimizer_destroy(wo);
    rn_model_destroy(wm);
    tt_teardown(&wide);
    /* a weights-only file is not a checkpoint */
    size_t msize;
    CHECK_OK(rn_model_save_safetensors_mem(a.model, NULL, 0, &msize), a.ctx);
    unsigned char *mbuf = malloc(msize);
    CHECK_OK(rn_model_save_safetensors_mem(a.model, mbuf, msize, &msize), a.ctx);
    CHECK_STATUS(rn_checkpoint_load_mem(b.tr, mbuf, msize), RN_E_BAD_FORMAT, b.ctx);
    free(mbuf);
    /* truncated */
    CHECK_STATUS(rn_checkpoint_load_mem(b.tr, buf, size / 2), RN_E_BAD_FORMAT, b.ctx);
    CHECK_STATUS(rn_checkpoint_load_file(b.tr, tmp_path("absent.safetensors")), RN_E_IO, b.ctx);

    /* after all that, b is exactly as it was: same weights, same counters */
    CHECK_OK(rn_model_get_tensor(b.model, "conv1.weight", w1, 108), b.ctx);
    CHECK(memcmp(w0, w1, sizeof w0) == 0);
    int64_t step = -1;
    rn_trainer_progress(b.tr, NULL, &step, NULL, NULL);
    CHECK(step == 1);
    /* and the intact checkpoint still loads */
    CHECK_OK(rn_checkpoint_load_mem(b.tr, buf, size), b.ctx);
    CHECK(tt_count_differences(&a, &b) == 0);
    free(buf);
    tt_teardown(&b);
    tt_teardown(&a);
}

static const rn_test_case cases[] = {
    {"round_trip_restores_everything_and_the_next_step_agrees",
     test_round_trip_restores_everything_and_the_next_step_agrees},
    {"checkpoint_layout_is_pytorch_state_dict_plus_optimizer_and_metadata",
     test_checkpoint_layout_is_pytorch_state_dict_plus_optimizer_and_metadata},
    {"failed_write_leaves_the_previous_checkpoint_intact",
     test_failed_write_leaves_the_previous_checkpoint_intact},
    {"out_of_memory_while_saving_leaves_the_file_and_reports_no_memory",
     test_out_of_memory_while_saving_leaves_the_file_and_reports_no_memory},
    {"mismatched_or_damaged_checkpoints_are_refused_and_change_nothing",
     test_mismatched_or_damaged_checkpoints_are_refused_and_change_nothing},
};

int main(int argc, char **argv) {
    int rc = rn_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
    if (tmpdir[0]) rmdir(tmpdir);
    return rc;
}
