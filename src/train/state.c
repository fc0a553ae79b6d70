/*
 * A trainer's state for checkpoints (src/train/train-state.h): the one place
 * outside the trainer, optimiser and dataset code that reads their fields,
 * on behalf of src/io/checkpoint.c.
 */
#include "train-internal.h"

rn_ctx *rn__trainer_ctx(const rn_trainer *tr) { return tr->ctx; }
rn_model *rn__trainer_model(const rn_trainer *tr) { return tr->model; }

void rn__trainer_state(const rn_trainer *tr, rn__train_state *s) {
    s->batch = tr->batch;
    s->dataset_size = tr->data->n;
    s->shuffle = tr->shuffle, s->drop_last = tr->drop_last, s->pad = tr->pad, s->flip = tr->flip;
    s->batches_per_epoch = rn__trainer_batches_per_epoch(tr);
    s->epoch = tr->epoch, s->step = tr->step, s->cursor = tr->cursor, s->seed = tr->seed;
    s->warmup_done = tr->warmup_done;
    s->errors = tr->errors, s->seen = tr->seen, s->loss_sum = tr->loss_sum;
    rn_memcpy(s->order_rng, tr->order_rng, sizeof s->order_rng);
    rn_memcpy(s->aug_rng, tr->aug_rng, sizeof s->aug_rng);
}

void rn__trainer_norm(const rn_trainer *tr, rn__train_norm *n) {
    const rn_dataset *ds = tr->data;
    n->norm = ds->norm;
    n->h = ds->h, n->w = ds->w, n->c = ds->c;
    n->mean = ds->mean, n->std = ds->std;
    n->mean_count = ds->mean_count, n->std_count = ds->std_count;
}

void rn__trainer_restore_progress(rn_trainer *tr, const rn__train_state *s) {
    tr->epoch = s->epoch, tr->step = s->step, tr->cursor = s->cursor, tr->seed = s->seed;
    tr->warmup_done = s->warmup_done;
    tr->errors = s->errors, tr->seen = s->seen, tr->loss_sum = s->loss_sum;
    rn_memcpy(tr->order_rng, s->order_rng, sizeof s->order_rng);
    rn_memcpy(tr->aug_rng, s->aug_rng, sizeof s->aug_rng);
    tr->order_valid = 0; /* drawn again from order_rng at the next step */
}

int32_t rn__trainer_momentum_slots(const rn_trainer *tr) { return tr->opt->nslots; }

const float *rn__trainer_momentum(const rn_trainer *tr, int32_t i) {
    return tr->opt->has_buf[i] ? tr->opt->buf[i] : NULL;
}

rn_status rn__trainer_momentum_reserve(rn_trainer *tr, int32_t i, float **buf) {
    rn_status st = rn__optimizer_alloc_buffer(tr->opt, i);
    *buf = st == RN_OK ? tr->opt->buf[i] : NULL;
    return st;
}

void rn__trainer_momentum_set_present(rn_trainer *tr, int32_t i, int32_t present) {
    tr->opt->has_buf[i] = present;
}
