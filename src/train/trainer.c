/*
 * The training loop, one iteration per call: the next batch of the
 * epoch's random order, normalised and augmented, a train-mode forward and
 * backward, a finite-loss check, the schedule's rate, an SGD step. The loop
 * lives in the library (not in the program) so that everything the next
 * iteration depends on is in one struct the checkpoint code can save: the
 * counters, the data-order generator as it was when the epoch began (the
 * order is drawn again from it after a load), the augmentation generator,
 * the warm-up state and the running statistics of the epoch.
 */
#include "train-internal.h"

int64_t rn__trainer_batches_per_epoch(const rn_trainer *tr) {
    int64_t n = tr->data->n;
    return tr->drop_last ? n / tr->batch : (n + tr->batch - 1) / tr->batch;
}

/* Two unrelated streams from one seed: splitmix64 scrambles nearby seeds. */
static void seed_generators(rn_trainer *tr) {
    rn__rng_seed(tr->order_rng, (uint64_t)tr->seed);
    rn__rng_seed(tr->aug_rng, ~(uint64_t)tr->seed);
    tr->order_valid = 0;
}

rn_status rn_trainer_create(rn_model *model, rn_optimizer *opt, const rn_lr_schedule *schedule,
                            const rn_dataset *train, rn_trainer **out) {
    static const char fn[] = "rn_trainer_create";
    if (!model) return RN_E_INVALID_ARG;
    rn_ctx *ctx = rn__model_ctx(model);
    if (!opt || !schedule || !train || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (opt->model != model)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: the optimiser was made for another model", fn);
    rn_status ps = rn__model_check_unpacked(model, fn);
    if (ps) return ps;
    int32_t classes = 0, in_channels = 0;
    rn_status st = rn_model_classes(model, &classes);
    if (st) return st;
    rn_model_in_channels(model, &in_channels);
    if (train->c != in_channels)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: the dataset's images have %lld channels, the model takes %d", fn,
                         (long long)train->c, (int)in_channels);
    if (train->classes > classes)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: the dataset has %d classes, the model only %d outputs", fn,
                         (int)train->classes, (int)classes);
    if ((uint64_t)train->n > SIZE_MAX / sizeof(int64_t))
        return rn__error(ctx, RN_E_OVERFLOW, "%s: the dataset is too large", fn);
    rn_trainer *tr = (rn_trainer *)rn__calloc(ctx, 1, sizeof *tr);
    int64_t *order = (int64_t *)rn__calloc(ctx, (size_t)train->n, sizeof(int64_t));
    if (!tr || !order) {
        rn__free(ctx, order);
        rn__free(ctx, tr);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %lld indices", fn,
                         (long long)train->n);
    }
    tr->ctx = ctx;
    tr->model = model;
    tr->opt = opt;
    tr->sched = schedule;
    tr->data = train;
    tr->batch = 128;
    tr->seed = 0;
    tr->pad = 4;
    tr->flip = 1;
    tr->drop_last = 0;
    tr->shuffle = 1;
    tr->ranks = 1;
    tr->bucket = (int64_t)1 << 18;
    tr->order = order;
    seed_generators(tr);
    *out = tr;
    rn__clear_error(ctx);
    return RN_OK;
}

static void free_buffers(rn_trainer *tr) {
    rn_ctx *ctx = tr->ctx;
    rn_plan_destroy(tr->tail_plan);
    rn_plan_destroy(tr->plan);
    rn__free(ctx, tr->aug);
    rn__free(ctx, tr->labels);
    rn__free(ctx, tr->logits);
    rn__free(ctx, tr->xa);
    rn__free(ctx, tr->x);
    rn__free(ctx, tr->dist_scratch);
    rn__free(ctx, tr->dist_red);
    rn__free(ctx, tr->dist_loss);
    rn__free(ctx, tr->dist_metrics);
    tr->dist_scratch = NULL, tr->dist_red = tr->dist_loss = tr->dist_metrics = NULL;
    tr->dist_shards = 0;
    tr->tail_plan = tr->plan = NULL;
    tr->aug = NULL, tr->labels = NULL, tr->logits = tr->xa = tr->x = NULL;
}

void rn_trainer_destroy(rn_trainer *tr) {
    if (!tr) return;
    free_buffers(tr);
    rn__free(tr->ctx, tr->order);
    rn__free(tr->ctx, tr);
}

rn_status rn_trainer_set_int(rn_trainer *tr, int32_t key, int64_t value) {
    static const char fn[] = "rn_trainer_set_int";
    if (!tr) return RN_E_INVALID_ARG;
    rn_ctx *ctx = tr->ctx;
    int64_t lo = 0, hi = 1;
    switch (key) {
    case RN_TRAIN_BATCH: lo = 1, hi = RN_TRAIN_MAX_BATCH; break;
    case RN_TRAIN_SEED: lo = INT64_MIN, hi = INT64_MAX; break;
    case RN_TRAIN_AUG_PAD: hi = RN_TRAIN_MAX_PAD; break;
    case RN_TRAIN_AUG_FLIP:
    case RN_TRAIN_DROP_LAST:
    case RN_TRAIN_SHUFFLE:
    case RN_TRAIN_SYNC_BN: break;
    case RN_TRAIN_SHARDS: hi = RN_TRAIN_MAX_SHARDS; break;
    case RN_TRAIN_BUCKET: lo = 1, hi = (int64_t)1 << 30; break;
    default: return rn__error(ctx, RN_E_NOT_FOUND, "%s: no trainer option %d", fn, (int)key);
    }
    if (value < lo || value > hi)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: value %lld of option %d is outside [%lld, %lld]", fn,
                         (long long)value, (int)key, (long long)lo, (long long)hi);
    if (tr->step > 0)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: options are fixed once training has started (step %lld)", fn,
                         (long long)tr->step);
    switch (key) {
    case RN_TRAIN_BATCH:
        if (value != tr->batch) free_buffers(tr);
        tr->batch = value;
        break;
    case RN_TRAIN_SEED: tr->seed = value, seed_generators(tr); break;
    case RN_TRAIN_AUG_PAD: tr->pad = (int32_t)value; break;
    case RN_TRAIN_AUG_FLIP: tr->flip = (int32_t)value; break;
    case RN_TRAIN_DROP_LAST: tr->drop_last = (int32_t)value; break;
    case RN_TRAIN_SHARDS:
        if (value != tr->shards) free_buffers(tr);
        tr->shards = (int32_t)value;
        break;
    case RN_TRAIN_SYNC_BN: tr->sync_bn = (int32_t)value; break;
    case RN_TRAIN_BUCKET: tr->bucket = value; break;
    default: tr->shuffle = (int32_t)value, tr->order_valid = 0; break;
    }
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_trainer_get_int(const rn_trainer *tr, int32_t key, int64_t *value) {
    static const char fn[] = "rn_trainer_get_int";
    if (!tr) return RN_E_INVALID_ARG;
    if (!value) return rn__error(tr->ctx, RN_E_INVALID_ARG, "%s: NULL value", fn);
    switch (key) {
    case RN_TRAIN_BATCH: *value = tr->batch; break;
    case RN_TRAIN_SEED: *value = tr->seed; break;
    case RN_TRAIN_AUG_PAD: *value = tr->pad; break;
    case RN_TRAIN_AUG_FLIP: *value = tr->flip; break;
    case RN_TRAIN_DROP_LAST: *value = tr->drop_last; break;
    case RN_TRAIN_SHUFFLE: *value = tr->shuffle; break;
    case RN_TRAIN_SHARDS: *value = tr->shards; break;
    case RN_TRAIN_SYNC_BN: *value = tr->sync_bn; break;
    case RN_TRAIN_BUCKET: *value = tr->bucket; break;
    default: return rn__error(tr->ctx, RN_E_NOT_FOUND, "%s: no trainer option %d", fn, (int)key);
    }
    return RN_OK;
}

/* Buffers for full batches (the first step, or after the batch changed). */
static rn_status ensure_buffers(rn_trainer *tr, const char *fn) {
    if (tr->x) return RN_OK;
    rn_ctx *ctx = tr->ctx;
    const rn_dataset *ds = tr->data;
    int32_t classes = 0;
    rn_model_classes(tr->model, &classes);
    int64_t nx = rn__numel4(tr->batch, ds->h, ds->w, ds->c);
    if (nx < 0)
        return rn__error(ctx, RN_E_OVERFLOW, "%s: batch %lld is too large", fn,
                         (long long)tr->batch);
    size_t b = (size_t)tr->batch;
    tr->x = (float *)rn__calloc(ctx, (size_t)nx, sizeof(float));
    tr->xa = (float *)rn__calloc(ctx, (size_t)nx, sizeof(float));
    tr->logits = (float *)rn__calloc(ctx, b * (size_t)classes, sizeof(float));
    tr->labels = (int32_t *)rn__calloc(ctx, b, sizeof(int32_t));
    tr->aug = (int32_t *)rn__calloc(ctx, 3 * b, sizeof(int32_t));
    if (!tr->x || !tr->xa || !tr->logits || !tr->labels || !tr->aug) {
        free_buffers(tr);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for a batch of %lld", fn,
                         (long long)tr->batch);
    }
    return RN_OK;
}

/* The plan for this rank's `count` images of a full global batch, or of the
 * epoch's short tail. */
static rn_status plan_for(rn_trainer *tr, int64_t count, int32_t full, rn_plan **plan) {
    const rn_dataset *ds = tr->data;
    if (full) {
        if (!tr->plan) {
            rn_status st = rn_plan_create(tr->model, count, ds->h, ds->w, RN_MODE_TRAIN, &tr->plan);
            if (st) return st;
        }
        *plan = tr->plan;
        return RN_OK;
    }
    if (!tr->tail_plan || tr->tail_batch != count) {
        rn_plan_destroy(tr->tail_plan);
        tr->tail_plan = NULL;
        rn_status st =
            rn_plan_create(tr->model, count, ds->h, ds->w, RN_MODE_TRAIN, &tr->tail_plan);
        if (st) return st;
        tr->tail_batch = count;
    }
    *plan = tr->tail_plan;
    return RN_OK;
}

/* This epoch's order, drawn from the generator as it was when it began. */
static void make_order(rn_trainer *tr) {
    for (int64_t i = 0; i < tr->data->n; i++) tr->order[i] = i;
    if (tr->shuffle) {
        uint64_t s[4];
        rn_memcpy(s, tr->order_rng, sizeof s);
        rn__rng_shuffle(s, tr->order, (size_t)tr->data->n);
    }
    tr->order_valid = 1;
}

/* The generator state the next epoch starts from. */
static void advance_order_rng(rn_trainer *tr) {
    if (!tr->shuffle) return;
    /* the same draws make_order made: the permutation is discarded */
    int64_t *scratch = tr->order;
    rn__rng_shuffle(tr->order_rng, scratch, (size_t)tr->data->n);
    tr->order_valid = 0;
}

rn_status rn_trainer_set_reducer(rn_trainer *tr, int32_t rank, int32_t ranks,
                                 rn_reduce_start_fn start, rn_reduce_wait_fn wait, void *user) {
    static const char fn[] = "rn_trainer_set_reducer";
    if (!tr) return RN_E_INVALID_ARG;
    rn_ctx *ctx = tr->ctx;
    if (ranks < 1 || ranks > RN_TRAIN_MAX_SHARDS || rank < 0 || rank >= ranks)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: rank %d of %d ranks (ranks 1..%d)", fn,
                         (int)rank, (int)ranks, RN_TRAIN_MAX_SHARDS);
    if (ranks > 1 && (!start || !wait))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %d ranks need both callbacks", fn, (int)ranks);
    if (rank != tr->rank || ranks != tr->ranks) free_buffers(tr);
    tr->rank = rank, tr->ranks = ranks;
    tr->start = ranks > 1 ? start : NULL;
    tr->wait = ranks > 1 ? wait : NULL;
    tr->user = user;
    rn__clear_error(ctx);
    return RN_OK;
}

/* Working memory of data parallelism for `shards` shards in all. */
static rn_status ensure_dist(rn_trainer *tr, int32_t shards, const char *fn) {
    if (tr->dist_shards == shards) return RN_OK;
    rn_ctx *ctx = tr->ctx;
    const rn_tensor_slot *slots;
    int32_t nslots = rn__model_slots(tr->model, &slots);
    size_t maxw = 1, maxc = 1;
    for (int32_t i = 0; i < nslots; i++) {
        if (slots[i].kind != RN_TENSOR_PARAM) continue;
        if (slots[i].count > maxw) maxw = slots[i].count;
        if (slots[i].ndim == 1 && slots[i].count > maxc) maxc = slots[i].count;
    }
    size_t local = (size_t)(shards / tr->ranks);
    rn__free(ctx, tr->dist_scratch);
    rn__free(ctx, tr->dist_red);
    rn__free(ctx, tr->dist_loss);
    rn__free(ctx, tr->dist_metrics);
    tr->dist_shards = 0;
    /* a shard's partial of the largest gradient step: a convolution's
     * weights, the head's weights and bias, a BN's gamma and beta */
    tr->dist_scratch_floats = (local - 1) * 2 * maxw;
    tr->dist_red_doubles = 2 * (size_t)shards * maxc;
    tr->dist_scratch = (float *)rn__calloc(ctx, tr->dist_scratch_floats + 1, sizeof(float));
    tr->dist_red = (double *)rn__calloc(ctx, tr->dist_red_doubles, sizeof(double));
    tr->dist_loss = (double *)rn__calloc(ctx, (size_t)shards, sizeof(double));
    tr->dist_metrics = (double *)rn__calloc(ctx, 2 * (size_t)shards, sizeof(double));
    if (!tr->dist_scratch || !tr->dist_red || !tr->dist_loss || !tr->dist_metrics)
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the sums of %d shards", fn,
                         (int)shards);
    tr->dist_shards = shards;
    return RN_OK;
}

static rn_status dist_failed(rn_trainer *tr, const char *fn) {
    if (tr->dist.failed == RN_E_INTERNAL)
        return rn__error(tr->ctx, RN_E_INTERNAL,
                         "%s: step %lld: a shard's weight gradient needs more workspace than the "
                         "plan of the whole batch holds (fewer RN_TRAIN_SHARDS per rank avoid it); "
                         "the step was not applied",
                         fn, (long long)tr->step + 1);
    return rn__error(tr->ctx, tr->dist.failed,
                     "%s: step %lld: the reduction engine failed (it returned %d): another rank "
                     "may have died or stopped answering; the step was not applied",
                     fn, (long long)tr->step + 1, (int)tr->dist.failed_code);
}

rn_status rn_trainer_step(rn_trainer *tr, float *loss_out, int32_t *epoch_end) {
    static const char fn[] = "rn_trainer_step";
    if (!tr) return RN_E_INVALID_ARG;
    rn_ctx *ctx = tr->ctx;
    const rn_dataset *ds = tr->data;
    int64_t bpe = rn__trainer_batches_per_epoch(tr);
    if (bpe < 1)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: the dataset's %lld images make no full batch of %lld (drop_last)", fn,
                         (long long)ds->n, (long long)tr->batch);
    rn_status st = ensure_buffers(tr, fn);
    if (st) return st;
    int64_t start = tr->cursor * tr->batch;
    int64_t count = ds->n - start < tr->batch ? ds->n - start : tr->batch;
    /* data parallelism: this rank's images [first, first + local) of the
     * global batch, cut into `shards` shards in all */
    int32_t shards = tr->shards ? tr->shards : tr->ranks;
    int32_t dist = shards > 1;
    if (dist && shards % tr->ranks != 0)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: %d shards cannot be shared by %d ranks (RN_TRAIN_SHARDS must be a "
                         "multiple of the ranks)",
                         fn, (int)shards, (int)tr->ranks);
    if (dist && count < shards)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: a batch of %lld images cannot be cut into %d shards (epoch %lld, "
                         "batch %lld; drop_last avoids a short last batch)",
                         fn, (long long)count, (int)shards, (long long)tr->epoch + 1,
                         (long long)tr->cursor + 1);
    int64_t first = count * tr->rank / tr->ranks;
    int64_t local = count * (tr->rank + 1) / tr->ranks - first;
    if (dist && (st = ensure_dist(tr, shards, fn)) != RN_OK) return st;
    rn_plan *plan = NULL;
    if ((st = plan_for(tr, local, count == tr->batch, &plan)) != RN_OK) return st;
    nn_dist *d = &tr->dist;
    if (dist) {
        rn_memset(d, 0, sizeof *d);
        d->rank = tr->rank, d->ranks = tr->ranks, d->local = shards / tr->ranks;
        d->sync_bn = tr->sync_bn;
        d->global_n = (size_t)count, d->first = (size_t)first, d->local_n = (size_t)local;
        d->start = tr->start, d->wait = tr->wait, d->user = tr->user;
        d->scratch = tr->dist_scratch, d->scratch_floats = tr->dist_scratch_floats;
        d->red = tr->dist_red, d->red_doubles = tr->dist_red_doubles;
        d->loss = tr->dist_loss;
        d->bucket_floats = (size_t)tr->bucket;
        rn_memset(d->loss, 0, (size_t)shards * sizeof(double));
    }
    rn__plan_set_dist(plan, dist ? d : NULL);

    /* A step that fails must leave no trace, so that retrying it (after
     * RN_E_NO_MEMORY, say) gives the step an uninterrupted run would have
     * taken: the momentum buffers are reserved before the forward pass moves
     * the BN running statistics, and the augmentation generator is put back
     * on every failure below. */
    if (tr->opt->momentum != 0.0) {
        const rn_tensor_slot *slots;
        int32_t nslots = rn__model_slots(tr->model, &slots);
        for (int32_t i = 0; i < nslots; i++)
            if (slots[i].kind == RN_TENSOR_PARAM &&
                (st = rn__optimizer_alloc_buffer(tr->opt, i)) != RN_OK) {
                char why[RN_ERROR_CAP];
                size_t len = rn_strlen(rn_last_error(ctx));
                if (len >= sizeof why) len = sizeof why - 1;
                rn_memcpy(why, rn_last_error(ctx), len);
                why[len] = '\0';
                return rn__error(ctx, st, "%s: step %lld: %s", fn, (long long)tr->step + 1, why);
            }
    }
    uint64_t aug_before[4];
    rn_memcpy(aug_before, tr->aug_rng, sizeof aug_before);
    if (!tr->order_valid) make_order(tr);
    int32_t classes = 0;
    rn_model_classes(tr->model, &classes);
    rn__dataset_fill(ds, tr->order + start + first, local, tr->x, tr->labels);
    const float *input = tr->x;
    if (tr->pad > 0 || tr->flip) {
        /* every rank draws the whole global batch's crops and flips */
        rn__augment_draw(tr->aug_rng, count, tr->pad, tr->flip, tr->aug);
        rn__augment_apply(ctx, tr->x, tr->xa, local, ds->h, ds->w, ds->c, tr->pad,
                          tr->aug + 3 * first);
        input = tr->xa;
    }
    size_t nx = (size_t)rn__numel4(local, ds->h, ds->w, ds->c);
    size_t nl = (size_t)local * (size_t)classes;
    st = rn_plan_forward(plan, input, nx, RN_LAYOUT_NHWC, tr->logits, nl);
    float loss = 0;
    if (st == RN_OK) st = rn_plan_backward(plan, tr->labels, (size_t)local, &loss);
    if (st) {
        rn_memcpy(tr->aug_rng, aug_before, sizeof aug_before);
        return st;
    }
    int64_t wrong = 0;
    if (!dist) {
        for (int64_t k = 0; k < count; k++)
            wrong += rn__argmax(tr->logits + (size_t)k * (size_t)classes, classes) != tr->labels[k];
    } else {
        /* the loss and error count of every shard (this rank's slots only,
         * the rest zero: one term per element), then the tree over shards */
        double *m = tr->dist_metrics;
        rn_memset(m, 0, 2 * (size_t)shards * sizeof(double));
        for (int32_t l = 0; l < d->local; l++) {
            int32_t g = d->rank * d->local + l;
            int64_t lo = (int64_t)rn__nn_dist_shard_lo(d, l),
                    hi = (int64_t)rn__nn_dist_shard_lo(d, l + 1);
            int64_t w = 0;
            for (int64_t k = lo; k < hi; k++)
                w += rn__argmax(tr->logits + (size_t)k * (size_t)classes, classes) != tr->labels[k];
            m[g] = d->loss[g];
            m[shards + g] = (double)w;
        }
        rn__nn_dist_flush(d);
        rn__nn_dist_start(d, m, 2 * (size_t)shards, NN_REDUCE_F64);
        rn__nn_dist_wait_all(d);
        rn__plan_set_dist(plan, NULL);
        if (d->failed) {
            rn_memcpy(tr->aug_rng, aug_before, sizeof aug_before);
            return dist_failed(tr, fn);
        }
        loss = (float)(rn__nn_tree_sum_f64(m, shards, 1) / (double)count);
        for (int32_t g = 0; g < shards; g++) wrong += (int64_t)m[shards + g];
    }
    if (!isfinite(loss)) {
        rn_memcpy(tr->aug_rng, aug_before, sizeof aug_before);
        return rn__error(ctx, RN_E_NUMERIC,
                         "%s: step %lld (epoch %lld, batch %lld of %lld): the loss is %s; the "
                         "update was not applied (the training diverged: lower the learning rate)",
                         fn, (long long)tr->step + 1, (long long)tr->epoch + 1,
                         (long long)tr->cursor + 1, (long long)bpe,
                         loss != loss ? "NaN" : "infinite");
    }
    tr->opt->lr = rn__schedule_lr(tr->sched, tr->step, tr->epoch, tr->warmup_done);
    st = rn_optimizer_step(tr->opt);
    if (st) {
        rn_memcpy(tr->aug_rng, aug_before, sizeof aug_before);
        char why[RN_ERROR_CAP];
        size_t len = rn_strlen(rn_last_error(ctx));
        if (len >= sizeof why) len = sizeof why - 1;
        rn_memcpy(why, rn_last_error(ctx), len);
        why[len] = '\0';
        return rn__error(ctx, st, "%s: step %lld (epoch %lld, batch %lld of %lld): %s", fn,
                         (long long)tr->step + 1, (long long)tr->epoch + 1,
                         (long long)tr->cursor + 1, (long long)bpe, why);
    }
    if (tr->cursor == 0) { /* a new epoch's statistics, once its first step has succeeded */
        tr->loss_sum = 0;
        tr->errors = tr->seen = 0;
    }
    tr->loss_sum += (double)loss * (double)count;
    tr->errors += wrong;
    tr->seen += count;
    tr->step++;
    tr->cursor++;
    int32_t wkind = 0;
    double threshold = 0.0;
    if (rn_lr_schedule_get_warmup(tr->sched, &wkind, &threshold) != RN_OK) wkind = 0;
    /* the running error of the epoch so far (section 4.2: "until the
     * training error is below 80%") */
    if (wkind == RN_WARMUP_TRAIN_ERROR && !tr->warmup_done &&
        (double)tr->errors < threshold * (double)tr->seen)
        tr->warmup_done = 1;
    int32_t ended = tr->cursor == bpe;
    if (ended) {
        advance_order_rng(tr);
        tr->cursor = 0;
        tr->epoch++;
    }
    if (loss_out) *loss_out = loss;
    if (epoch_end) *epoch_end = ended;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_trainer_progress(const rn_trainer *tr, int64_t *epoch, int64_t *step,
                              int64_t *batch_in_epoch, int64_t *batches_per_epoch) {
    if (!tr) return RN_E_INVALID_ARG;
    if (epoch) *epoch = tr->epoch;
    if (step) *step = tr->step;
    if (batch_in_epoch) *batch_in_epoch = tr->cursor;
    if (batches_per_epoch) *batches_per_epoch = rn__trainer_batches_per_epoch(tr);
    return RN_OK;
}

rn_status rn_trainer_epoch_stats(const rn_trainer *tr, double *mean_loss, int64_t *errors,
                                 int64_t *seen) {
    if (!tr) return RN_E_INVALID_ARG;
    if (mean_loss) *mean_loss = tr->seen ? tr->loss_sum / (double)tr->seen : 0.0;
    if (errors) *errors = tr->errors;
    if (seen) *seen = tr->seen;
    return RN_OK;
}

rn_status rn_trainer_lr(const rn_trainer *tr, double *lr, int32_t *warmup_done) {
    if (!tr) return RN_E_INVALID_ARG;
    if (lr) *lr = rn__schedule_lr(tr->sched, tr->step, tr->epoch, tr->warmup_done);
    if (warmup_done) *warmup_done = tr->warmup_done;
    return RN_OK;
}

/* nn.h's reduction types are the public ones */
typedef char
    rn__reduce_types_agree[(NN_REDUCE_F32 == RN_REDUCE_F32 && NN_REDUCE_F64 == RN_REDUCE_F64) ? 1
                                                                                              : -1];
