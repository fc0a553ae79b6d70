/*
 * Shared by the libFuzzer harnesses that need a model or a trainer: a tiny
 * network (2 input channels, a 3x3 stem of 2 filters, one basic block of 2,
 * 3 classes) so that a whole checkpoint or weight file is a few kilobytes,
 * and a main() that writes a harness's seed (a valid file) when the harness is
 * built with -DRN_FUZZ_SEED_MAIN instead of -fsanitize=fuzzer: tools/ci/fuzz.sh
 * makes the seed corpora that way, so they always match the current format.
 */
#ifndef RN_FUZZ_COMMON_H
#define RN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnet.h"

#define FZ_H 4
#define FZ_W 4
#define FZ_C 2
#define FZ_N 6
#define FZ_CLASSES 3

/* Defines `static unsigned char *name(const type *obj, size_t *n)`: the bytes
 * save_mem (rn_model_save_safetensors_mem, rn_checkpoint_save_mem) writes for
 * obj, in a malloc'd buffer of *n bytes; NULL on failure. */
#define FZ_SAVE_FN(name, type, save_mem)                     \
    static unsigned char *name(const type *obj, size_t *n) { \
        if (save_mem(obj, NULL, 0, n) != RN_OK) return NULL; \
        unsigned char *p = (unsigned char *)malloc(*n);      \
        if (p && save_mem(obj, p, *n, n) != RN_OK) {         \
            free(p);                                         \
            return NULL;                                     \
        }                                                    \
        return p;                                            \
    }

static inline rn_model *fz_model(rn_ctx *ctx) {
    rn_model *m = NULL;
    if (rn_model_create(ctx, FZ_C, &m) != RN_OK) return NULL;
    if (rn_model_add_stem(m, 2, 3, 1, 1, 0) != RN_OK ||
        rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 2, 1, RN_SHORTCUT_DEFAULT, 0) != RN_OK ||
        rn_model_add_head(m, FZ_CLASSES) != RN_OK || rn_model_init(m, 1) != RN_OK) {
        rn_model_destroy(m);
        return NULL;
    }
    return m;
}

/* A trainer over FZ_N fixed images, batch 4, whose borrowed objects live as
 * long as the process (the harnesses keep one). */
typedef struct fz_trainer {
    rn_model *model;
    rn_optimizer *opt;
    rn_lr_schedule *sched;
    rn_dataset *data;
    rn_trainer *tr;
} fz_trainer;

static inline int fz_trainer_make(rn_ctx *ctx, fz_trainer *t) {
    static uint8_t images[FZ_N * FZ_H * FZ_W * FZ_C];
    static int32_t labels[FZ_N];
    for (size_t i = 0; i < sizeof images; i++) images[i] = (uint8_t)(i * 37 + 11);
    for (int i = 0; i < FZ_N; i++) labels[i] = i % FZ_CLASSES;
    memset(t, 0, sizeof *t);
    t->model = fz_model(ctx);
    return t->model && rn_sgd_create(t->model, &t->opt) == RN_OK &&
           rn_lr_schedule_create(ctx, 0.1, &t->sched) == RN_OK &&
           rn_dataset_create(ctx, images, labels, FZ_N, FZ_H, FZ_W, FZ_C, FZ_CLASSES, &t->data) ==
               RN_OK &&
           rn_trainer_create(t->model, t->opt, t->sched, t->data, &t->tr) == RN_OK &&
           rn_trainer_set_int(t->tr, RN_TRAIN_BATCH, 4) == RN_OK;
}

#ifdef RN_FUZZ_SEED_MAIN
/* Writes the seed to argv[1]. */
static inline int fz_write_seed(int argc, char **argv, const void *bytes, size_t n) {
    FILE *f = argc > 1 ? fopen(argv[1], "wb") : NULL;
    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write the seed\n");
        return 1;
    }
    return 0;
}
#endif

#endif /* RN_FUZZ_COMMON_H */
