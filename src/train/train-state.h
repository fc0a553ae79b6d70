/*
 * The train layer's interface for checkpoints (src/io/checkpoint.c): a
 * trainer's whole state as plain values, read and restored through these
 * calls, so the io layer never sees the trainer's, the optimiser's or the
 * dataset's private fields (src/train/train-internal.h). What a state holds
 * is what the next iteration depends on: the options that decide the data
 * stream (a resume must match them), the progress counters and generators,
 * the epoch's statistics, the momentum buffers and the dataset's
 * normalisation.
 */
#ifndef RN_TRAIN_STATE_H
#define RN_TRAIN_STATE_H

#include "../nn/nn.h"
#include "resnet/train.h"

/* Bounds that keep every size computation far from overflow. */
#define RN_TRAIN_MAX_BATCH 65536
#define RN_TRAIN_MAX_PAD 64

typedef struct rn__train_state {
    /* options that decide the data stream (read-only for a load) */
    int64_t batch, dataset_size;
    int32_t shuffle, drop_last, pad, flip;
    int64_t batches_per_epoch;
    /* progress */
    int64_t epoch, step, cursor, seed;
    int32_t warmup_done;
    int64_t errors, seen; /* the current epoch's statistics */
    double loss_sum;
    uint64_t order_rng[4], aug_rng[4];
} rn__train_state;

/* The training set's normalisation (arrays owned by the dataset). */
typedef struct rn__train_norm {
    int32_t norm; /* RN_NORM_* */
    int64_t h, w, c;
    const float *mean, *std;
    size_t mean_count, std_count;
} rn__train_norm;

rn_ctx *rn__trainer_ctx(const rn_trainer *tr);
rn_model *rn__trainer_model(const rn_trainer *tr);
void rn__trainer_state(const rn_trainer *tr, rn__train_state *s);
void rn__trainer_norm(const rn_trainer *tr, rn__train_norm *n);
/* Restore the progress fields of s (epoch ... aug_rng; the options must
 * already match): the data order is drawn again from order_rng at the next
 * step. */
void rn__trainer_restore_progress(rn_trainer *tr, const rn__train_state *s);

/* Momentum buffers, per model slot: the optimiser's slot count; the buffer
 * of slot i or NULL when no step made one; a buffer for slot i to restore
 * into (RN_E_NO_MEMORY with the error set); and whether slot i holds one. */
int32_t rn__trainer_momentum_slots(const rn_trainer *tr);
const float *rn__trainer_momentum(const rn_trainer *tr, int32_t i);
rn_status rn__trainer_momentum_reserve(rn_trainer *tr, int32_t i, float **buf);
void rn__trainer_momentum_set_present(rn_trainer *tr, int32_t i, int32_t present);

/* A generator state the library's xoshiro256** can run (not all zero). */
int rn__rng_state_valid(const uint64_t s[4]);

#endif /* RN_TRAIN_STATE_H */
