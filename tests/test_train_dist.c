/*
 * Data-parallel training through the trainer's reduction hook, with an
 * in-process engine: N "ranks" are N trainers on N threads, and the engine
 * sums each reduction over them (the pairwise tree over ranks that
 * rn_trainer_set_reducer documents) once every rank has started it. The
 * reference for "N ranks equal one process" is an independent single-thread
 * run of the same trainer with RN_TRAIN_SHARDS = N; the reference for the
 * sharded arithmetic itself is the unsharded trainer (whose batch norm and
 * gradients the layer and model tests check against PyTorch), within float
 * rounding.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>

#include "test_train_common.h"

#define MAX_RANKS 8
#define MAX_OPS 65536

typedef struct fake_op {
    void *data[MAX_RANKS];
    size_t count[MAX_RANKS];
    int32_t type[MAX_RANKS];
    int arrived, done, mismatch;
} fake_op;

typedef struct fake_world {
    int ranks;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fake_op *ops;
    int next[MAX_RANKS];
    int fail_at;    /* start returns an error for this operation (-1: never) */
    int mismatches; /* operations whose ranks disagreed on count or type */
} fake_world;

typedef struct fake_rank {
    fake_world *w;
    int rank;
} fake_rank;

/* The pairwise tree over ranks, element by element. */
static void reduce_op(fake_world *w, fake_op *op) {
    for (int r = 1; r < w->ranks; r++)
        if (op->count[r] != op->count[0] || op->type[r] != op->type[0]) op->mismatch = 1;
    if (op->mismatch) {
        w->mismatches++;
        return;
    }
    for (size_t e = 0; e < op->count[0]; e++) {
        if (op->type[0] == RN_REDUCE_F32) {
            float v[MAX_RANKS];
            for (int r = 0; r < w->ranks; r++) v[r] = ((float *)op->data[r])[e];
            for (int step = 1; step < w->ranks; step *= 2)
                for (int i = 0; i + step < w->ranks; i += 2 * step) v[i] = v[i] + v[i + step];
            for (int r = 0; r < w->ranks; r++) ((float *)op->data[r])[e] = v[0];
        } else {
            double v[MAX_RANKS];
            for (int r = 0; r < w->ranks; r++) v[r] = ((double *)op->data[r])[e];
            for (int step = 1; step < w->ranks; step *= 2)
                for (int i = 0; i + step < w->ranks; i += 2 * step) v[i] = v[i] + v[i + step];
            for (int r = 0; r < w->ranks; r++) ((double *)op->data[r])[e] = v[0];
        }
    }
}

static int32_t fake_start(void *user, void *data, size_t count, int32_t type) {
    fake_rank *fr = (fake_rank *)user;
    fake_world *w = fr->w;
    pthread_mutex_lock(&w->mu);
    int k = w->next[fr->rank]++;
    if (k == w->fail_at || k >= MAX_OPS) {
        pthread_mutex_unlock(&w->mu);
        return -7;
    }
    fake_op *op = &w->ops[k];
    op->data[fr->rank] = data, op->count[fr->rank] = count, op->type[fr->rank] = type;
    if (++op->arrived == w->ranks) {
        reduce_op(w, op);
        op->done = 1;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return k;
}

static int32_t fake_wait(void *user, int32_t ticket) {
    fake_world *w = ((fake_rank *)user)->w;
    pthread_mutex_lock(&w->mu);
    while (!w->ops[ticket].done) pthread_cond_wait(&w->cv, &w->mu);
    int bad = w->ops[ticket].mismatch;
    pthread_mutex_unlock(&w->mu);
    return bad ? -9 : 0;
}

typedef struct rank_job {
    tt_run *run;
    int64_t steps;
    rn_status status;
} rank_job;

static void *rank_main(void *arg) {
    rank_job *j = (rank_job *)arg;
    j->status = RN_OK;
    for (int64_t i = 0; i < j->steps && j->status == RN_OK; i++)
        j->status = rn_trainer_step(j->run->tr, NULL, NULL);
    return NULL;
}

/* One trainer per rank, set up alike (same data, seeds and options). */
typedef struct world_runs {
    fake_world w;
    fake_rank fr[MAX_RANKS];
    tt_run run[MAX_RANKS];
    rank_job job[MAX_RANKS];
} world_runs;

static void one_thread(tt_run *r) {
    CHECK_OK(rn_ctx_set_int(r->ctx, RN_OPT_NUM_THREADS, 1), r->ctx);
}

static int32_t model_width = 4;

static void world_setup(world_runs *wr, const tt_data *d, int ranks, int64_t shards, int sync_bn) {
    memset(wr, 0, sizeof *wr);
    wr->w.ranks = ranks;
    wr->w.fail_at = -1;
    wr->w.ops = calloc(MAX_OPS, sizeof(fake_op));
    pthread_mutex_init(&wr->w.mu, NULL);
    pthread_cond_init(&wr->w.cv, NULL);
    for (int r = 0; r < ranks; r++) {
        tt_run *run = &wr->run[r];
        tt_setup_width(run, d, 11, 5, model_width);
        one_thread(run);
        wr->fr[r].w = &wr->w, wr->fr[r].rank = r;
        CHECK_OK(rn_trainer_set_int(run->tr, RN_TRAIN_SHARDS, shards), run->ctx);
        CHECK_OK(rn_trainer_set_int(run->tr, RN_TRAIN_SYNC_BN, sync_bn), run->ctx);
        /* small buckets: several per backward pass, started while it runs */
        CHECK_OK(rn_trainer_set_int(run->tr, RN_TRAIN_BUCKET, 500), run->ctx);
        CHECK_OK(rn_trainer_set_reducer(run->tr, r, ranks, fake_start, fake_wait, &wr->fr[r]),
                 run->ctx);
    }
}

/* Runs every rank for `steps` steps on its own thread. */
static void world_steps(world_runs *wr, int64_t steps) {
    pthread_t th[MAX_RANKS];
    for (int r = 0; r < wr->w.ranks; r++) {
        wr->job[r].run = &wr->run[r], wr->job[r].steps = steps;
        CHECK(pthread_create(&th[r], NULL, rank_main, &wr->job[r]) == 0);
    }
    for (int r = 0; r < wr->w.ranks; r++) pthread_join(th[r], NULL);
}

static void world_teardown(world_runs *wr) {
    for (int r = 0; r < wr->w.ranks; r++) tt_teardown(&wr->run[r]);
    pthread_mutex_destroy(&wr->w.mu);
    pthread_cond_destroy(&wr->w.cv);
    free(wr->w.ops);
}

static void single_setup(tt_run *r, const tt_data *d, int64_t shards, int sync_bn) {
    tt_setup_width(r, d, 11, 5, model_width);
    one_thread(r);
    CHECK_OK(rn_trainer_set_int(r->tr, RN_TRAIN_SHARDS, shards), r->ctx);
    CHECK_OK(rn_trainer_set_int(r->tr, RN_TRAIN_SYNC_BN, sync_bn), r->ctx);
}

/* 14 steps: two epochs and a bit, so short last batches (4 images) too. */
#define STEPS 14

static void ranks_equal_one_process(int ranks, int64_t shards) {
    static tt_data d;
    tt_make_data(&d, 3);
    tt_run single;
    single_setup(&single, &d, shards ? shards : ranks, 1);
    CHECK_OK(tt_steps(&single, STEPS), single.ctx);
    world_runs *wr = calloc(1, sizeof *wr);
    world_setup(wr, &d, ranks, shards, 1);
    world_steps(wr, STEPS);
    CHECK(wr->w.mismatches == 0);
    double l1, l2;
    int64_t e1, e2, s1, s2;
    rn_trainer_epoch_stats(single.tr, &l1, &e1, &s1);
    for (int r = 0; r < ranks; r++) {
        CHECK_OK(wr->job[r].status, wr->run[r].ctx);
        /* weights, BN running statistics and momentum buffers */
        CHECK(tt_count_differences(&single, &wr->run[r]) == 0);
        rn_trainer_epoch_stats(wr->run[r].tr, &l2, &e2, &s2);
        CHECK(l1 == l2 && e1 == e2 && s1 == s2);
    }
    world_teardown(wr);
    free(wr);
    tt_teardown(&single);
}

static void test_two_ranks_with_sync_bn_equal_one_process_of_two_shards_bit_for_bit(void) {
    ranks_equal_one_process(2, 0);
}

static void test_four_ranks_with_sync_bn_equal_one_process_of_four_shards_bit_for_bit(void) {
    ranks_equal_one_process(4, 4);
}

static void test_two_ranks_of_two_shards_equal_one_process_of_four_shards(void) {
    ranks_equal_one_process(2, 4);
}

/* Width 16: layer1's 3x3 convolutions have 4 tiles per 8x8 image, so a
 * process's batch of 8 takes the backward passes' Winograd (32 tiles)
 * where a shard of 2 images would not: the choice must follow the shard. */
static void test_ranks_run_the_algorithms_a_shard_would_choose(void) {
    model_width = 16;
    ranks_equal_one_process(2, 4);
    model_width = 4;
}

/* The sharded arithmetic (batch-norm statistics combined across shards, the
 * global backward, gradients summed by the tree) against the unsharded
 * trainer: equal up to float rounding after a few steps. */
static void test_sharded_training_matches_the_unsharded_trainer_within_rounding(void) {
    static tt_data d;
    tt_make_data(&d, 4);
    tt_run a, b;
    single_setup(&a, &d, 1, 0);
    single_setup(&b, &d, 4, 1);
    CHECK_OK(tt_steps(&a, 3), a.ctx);
    CHECK_OK(tt_steps(&b, 3), b.ctx);
    double worst = 0;
    int compared = 0;
    for (int32_t i = 0; i < rn_model_tensor_count(a.model); i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_model_tensor_info(a.model, i, &name, &ndim, dims, &kind);
        size_t n = 1;
        for (int32_t k = 0; k < ndim; k++) n *= (size_t)dims[k];
        float *x = calloc(n, sizeof(float)), *y = calloc(n, sizeof(float));
        rn_model_get_tensor(a.model, name, x, n);
        rn_model_get_tensor(b.model, name, y, n);
        double scale = 0;
        for (size_t k = 0; k < n; k++) scale = fmax(scale, fabs((double)x[k]));
        for (size_t k = 0; k < n; k++) {
            double e = fabs((double)x[k] - (double)y[k]) / (scale > 1e-3 ? scale : 1e-3);
            if (e > worst) worst = e;
        }
        compared++;
        free(y);
        free(x);
    }
    CHECK(compared > 50);
    /* three steps of lr 0.1 on 8-image batches: float rounding in sums of a
     * few hundred terms amplified by the steps stays far below 1e-4 of each
     * tensor's scale; a wrong statistic or a lost shard moves it by 1e-2+ */
    printf("  sharded vs unsharded: worst difference %.3g of the tensor's scale\n", worst);
    CHECK(worst < 1e-4);
    tt_teardown(&b);
    tt_teardown(&a);
}

/* Without synchronised batch norm, each rank normalises by its own images,
 * but the summed gradients keep the ranks' parameters identical. */
static void test_ranks_without_sync_bn_keep_identical_parameters(void) {
    static tt_data d;
    tt_make_data(&d, 5);
    world_runs *wr = calloc(1, sizeof *wr);
    world_setup(wr, &d, 2, 0, 0);
    world_steps(wr, STEPS);
    CHECK_OK(wr->job[0].status, wr->run[0].ctx);
    CHECK_OK(wr->job[1].status, wr->run[1].ctx);
    int params = 0, differ = 0, buffers_differ = 0;
    for (int32_t i = 0; i < rn_model_tensor_count(wr->run[0].model); i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        rn_model_tensor_info(wr->run[0].model, i, &name, &ndim, dims, &kind);
        size_t n = 1;
        for (int32_t k = 0; k < ndim; k++) n *= (size_t)dims[k];
        float *x = calloc(n, sizeof(float)), *y = calloc(n, sizeof(float));
        rn_model_get_tensor(wr->run[0].model, name, x, n);
        rn_model_get_tensor(wr->run[1].model, name, y, n);
        int same = memcmp(x, y, n * sizeof(float)) == 0;
        if (kind == RN_TENSOR_PARAM)
            params++, differ += !same;
        else
            buffers_differ += !same;
        free(y);
        free(x);
    }
    CHECK(params > 50 && differ == 0);
    /* the running statistics are each rank's own */
    CHECK(buffers_differ > 0);
    world_teardown(wr);
    free(wr);
}

/* An engine failure fails the step with RN_E_IO and applies no update. */
static void test_a_failing_engine_fails_the_step_without_an_update(void) {
    static tt_data d;
    tt_make_data(&d, 6);
    world_runs *wr = calloc(1, sizeof *wr);
    world_setup(wr, &d, 2, 0, 1);
    world_steps(wr, 2);
    CHECK_OK(wr->job[0].status, wr->run[0].ctx);
    size_t n = 16 * 3 * 3 * 3;
    float *before = calloc(n, sizeof(float)), *after = calloc(n, sizeof(float));
    rn_model_get_tensor(wr->run[0].model, "conv1.weight", before, n);
    /* the next operation of both ranks fails (a batch-norm exchange) */
    wr->w.fail_at = wr->w.next[0] + 3;
    world_steps(wr, 1);
    for (int r = 0; r < 2; r++) {
        CHECK(wr->job[r].status == RN_E_IO);
        CHECK(strstr(rn_last_error(wr->run[r].ctx), "reduction engine failed") != NULL);
        CHECK(strstr(rn_last_error(wr->run[r].ctx), "-7") != NULL);
        int64_t step = 0;
        rn_trainer_progress(wr->run[r].tr, NULL, &step, NULL, NULL);
        CHECK(step == 2);
    }
    rn_model_get_tensor(wr->run[0].model, "conv1.weight", after, n);
    CHECK(memcmp(before, after, n * sizeof(float)) == 0);
    free(after);
    free(before);
    world_teardown(wr);
    free(wr);
}

static void test_reducer_and_shard_options_are_checked(void) {
    static tt_data d;
    tt_make_data(&d, 7);
    tt_run r;
    tt_setup(&r, &d, 1, 1);
    CHECK_STATUS(rn_trainer_set_reducer(r.tr, 2, 2, fake_start, fake_wait, NULL), RN_E_INVALID_ARG,
                 r.ctx);
    CHECK_STATUS(rn_trainer_set_reducer(r.tr, 0, 2, NULL, fake_wait, NULL), RN_E_INVALID_ARG,
                 r.ctx);
    CHECK_STATUS(rn_trainer_set_reducer(r.tr, 0, 0, NULL, NULL, NULL), RN_E_INVALID_ARG, r.ctx);
    CHECK_STATUS(rn_trainer_set_int(r.tr, RN_TRAIN_SHARDS, 257), RN_E_INVALID_ARG, r.ctx);
    /* 3 shards on 2 ranks */
    CHECK_OK(rn_trainer_set_int(r.tr, RN_TRAIN_SHARDS, 3), r.ctx);
    CHECK_OK(rn_trainer_set_reducer(r.tr, 0, 2, fake_start, fake_wait, NULL), r.ctx);
    CHECK_STATUS(rn_trainer_step(r.tr, NULL, NULL), RN_E_INVALID_ARG, r.ctx);
    CHECK(strstr(rn_last_error(r.ctx), "multiple of the ranks") != NULL);
    /* 16 shards of a batch of 8 */
    CHECK_OK(rn_trainer_set_reducer(r.tr, 0, 1, NULL, NULL, NULL), r.ctx);
    CHECK_OK(rn_trainer_set_int(r.tr, RN_TRAIN_SHARDS, 16), r.ctx);
    CHECK_STATUS(rn_trainer_step(r.tr, NULL, NULL), RN_E_INVALID_ARG, r.ctx);
    CHECK(strstr(rn_last_error(r.ctx), "cannot be cut into 16 shards") != NULL);
    int64_t v = 0;
    CHECK_OK(rn_trainer_get_int(r.tr, RN_TRAIN_SHARDS, &v), r.ctx);
    CHECK(v == 16);
    tt_teardown(&r);
}

static const rn_test_case cases[] = {
    {"two_ranks_with_sync_bn_equal_one_process_of_two_shards_bit_for_bit",
     test_two_ranks_with_sync_bn_equal_one_process_of_two_shards_bit_for_bit},
    {"four_ranks_with_sync_bn_equal_one_process_of_four_shards_bit_for_bit",
     test_four_ranks_with_sync_bn_equal_one_process_of_four_shards_bit_for_bit},
    {"two_ranks_of_two_shards_equal_one_process_of_four_shards",
     test_two_ranks_of_two_shards_equal_one_process_of_four_shards},
    {"ranks_run_the_algorithms_a_shard_would_choose",
     test_ranks_run_the_algorithms_a_shard_would_choose},
    {"sharded_training_matches_the_unsharded_trainer_within_rounding",
     test_sharded_training_matches_the_unsharded_trainer_within_rounding},
    {"ranks_without_sync_bn_keep_identical_parameters",
     test_ranks_without_sync_bn_keep_identical_parameters},
    {"a_failing_engine_fails_the_step_without_an_update",
     test_a_failing_engine_fails_the_step_without_an_update},
    {"reducer_and_shard_options_are_checked", test_reducer_and_shard_options_are_checked},
};

int main(int argc, char **argv) {
    return rn_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
