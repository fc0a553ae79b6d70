/*
 * Private structures of the train layer: datasets, the SGD optimiser, the
 * learning-rate schedule and the trainer, for src/train only. Checkpoints
 * (src/io/checkpoint.c) reach a trainer's state through train-state.h.
 */
#ifndef RN_TRAIN_INTERNAL_H
#define RN_TRAIN_INTERNAL_H

#include "train-state.h"

/* Bounds that keep every size computation far from overflow (with
 * train-state.h's batch and padding bounds). */
#define RN_TRAIN_MAX_SHARDS 256
#define RN_SCHED_MAX_MILESTONES 64

/* ---- random numbers (rng.c): unchecked versions for the library's own use */
void rn__rng_seed(uint64_t s[4], uint64_t seed);
uint64_t rn__rng_next(uint64_t s[4]);
uint64_t rn__rng_below(uint64_t s[4], uint64_t bound);
void rn__rng_shuffle(uint64_t s[4], int64_t *items, size_t count);

/* ---- datasets (dataset.c) ---------------------------------------------------- */
struct rn_dataset {
    rn_ctx *ctx;
    const uint8_t *images; /* the base images (a view shares its parent's) */
    const int32_t *labels;
    int64_t n, h, w, c;
    int32_t classes;
    int64_t *index;    /* view: image i is base image index[i]; NULL otherwise */
    int32_t norm;      /* RN_NORM_* */
    float *mean, *std; /* h*w*c or c values; NULL when unused */
    size_t mean_count, std_count;
};

/* Base image of dataset image i, and its label. */
static inline int64_t rn__dataset_base(const rn_dataset *ds, int64_t i) {
    return ds->index ? ds->index[i] : i;
}
/* Normalise the given images into dst (unchecked: callers validated). */
void rn__dataset_fill(const rn_dataset *ds, const int64_t *indices, int64_t count, float *dst,
                      int32_t *labels);

/* ---- augmentation (augment.c) ------------------------------------------------ */
void rn__augment_draw(uint64_t s[4], int64_t n, int32_t pad, int32_t flip, int32_t *params);
void rn__augment_apply(const rn_ctx *ctx, const float *src, float *dst, int64_t n, int64_t h,
                       int64_t w, int64_t c, int32_t pad, const int32_t *params);

/* ---- metrics (metrics.c) ----------------------------------------------------- */
/* Arg max of a row (first maximum on ties; a NaN never wins). */
int32_t rn__argmax(const float *row, int32_t classes);

/* ---- SGD (sgd.c) ------------------------------------------------------------- */
struct rn_optimizer {
    rn_ctx *ctx;
    rn_model *model;
    double lr, momentum, dampening, weight_decay;
    int32_t nesterov, decay_all;
    int32_t nslots;   /* the model's slot count when created */
    float **buf;      /* per slot: momentum buffer (library layout) or NULL */
    int32_t *has_buf; /* per slot: 1 once the buffer holds a value */
};

/* Create the buffer of slot i (uninitialised content); RN_E_NO_MEMORY on failure. */
rn_status rn__optimizer_alloc_buffer(rn_optimizer *opt, int32_t i);

/* ---- learning-rate schedules (schedule.c) ------------------------------------ */
#define RN_SCHED_CONSTANT 0
#define RN_SCHED_STEP 1
#define RN_SCHED_COSINE 2

struct rn_lr_schedule {
    rn_ctx *ctx;
    double base_lr;
    int32_t kind, unit;
    int64_t milestones[RN_SCHED_MAX_MILESTONES];
    int32_t nmilestones;
    double gamma;
    int64_t total;
    double min_lr;
    int32_t warmup_kind;
    double warmup_value, warmup_lr;
};

double rn__schedule_lr(const rn_lr_schedule *s, int64_t step, int64_t epoch, int32_t warmup_done);

/* ---- trainer (trainer.c) ----------------------------------------------------- */
struct rn_trainer {
    rn_ctx *ctx;
    rn_model *model;
    rn_optimizer *opt;
    const rn_lr_schedule *sched;
    const rn_dataset *data;
    /* options */
    int64_t batch, seed;
    int32_t pad, flip, drop_last, shuffle;
    /* progress: everything the next iteration depends on */
    int64_t epoch;         /* epochs completed */
    int64_t step;          /* iterations done */
    int64_t cursor;        /* batches done in the current epoch */
    uint64_t order_rng[4]; /* data-order generator at the start of the current epoch */
    uint64_t aug_rng[4];   /* augmentation generator now */
    int32_t warmup_done;
    /* the current epoch's statistics */
    double loss_sum; /* sum over batches of mean loss * batch size */
    int64_t errors, seen;
    /* working memory */
    int64_t *order;      /* the current epoch's permutation of the data */
    int32_t order_valid; /* order matches order_rng (regenerated after a load) */
    float *x, *xa, *logits;
    int32_t *labels;
    int32_t *aug;
    rn_plan *plan, *tail_plan; /* full batches, and the short last batch */
    int64_t tail_batch;
    /* data parallelism (rn_trainer_set_reducer): the engine and options */
    int32_t rank, ranks, shards, sync_bn;
    int64_t bucket;
    rn_reduce_start_fn start;
    rn_reduce_wait_fn wait;
    void *user;
    nn_dist dist;        /* the plans' view of it, rebuilt each step */
    float *dist_scratch; /* partial gradients of this rank's shards */
    double *dist_red, *dist_loss, *dist_metrics;
    size_t dist_scratch_floats, dist_red_doubles;
    int32_t dist_shards; /* shards the buffers were made for */
};

int64_t rn__trainer_batches_per_epoch(const rn_trainer *tr);

#endif /* RN_TRAIN_INTERNAL_H */
