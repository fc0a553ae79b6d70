/*
 * Concurrent inference on one shared model (model.h: "a model may be shared
 * by several threads that each run their own RN_MODE_INFER plan, provided
 * nothing modifies the model ... and each thread uses its own context").
 *
 * Several threads, started together on a barrier, each create a context and
 * an infer plan with rn_plan_create_with_ctx and run forward several times on
 * the same input; every output must be bit-identical (memcmp) to the logits of
 * a single-threaded run. Half the threads bind their own memory, half let the
 * plan take its arena from their context; half ask for 2 OpenMP threads
 * inside the call (results do not depend on the thread count). The same is
 * done again after folding the batch norms, on a model whose shared derived
 * weights the threads make at once, and on a model packed for inference.
 *
 * The test uses pthreads; the library itself starts no thread. Under
 * tools/ci/tsan.sh (clang -fsanitize=thread, OpenMP off) any data race on the
 * shared model, the CPU detection or the kernel table is reported and fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "harness.h"
#include "resnet.h"

enum { THREADS = 6, RUNS = 3, BATCH = 2, HW = 12, IN = 3, CLASSES = 10 };
enum { IN_COUNT = BATCH * IN * HW * HW, OUT_COUNT = BATCH * CLASSES };

/* ---- contexts created at the same moment --------------------------------------- */
typedef struct {
    pthread_barrier_t *start;
    int64_t isa;
    rn_status status;
} ctx_job;

static void *create_ctx_thread(void *arg) {
    ctx_job *job = (ctx_job *)arg;
    pthread_barrier_wait(job->start);
    rn_ctx *ctx = NULL;
    job->status = rn_ctx_create(&ctx);
    if (job->status == RN_OK) job->status = rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &job->isa);
    rn_ctx_destroy(ctx);
    return NULL;
}

/* Must run first: no context exists yet, so the one-time CPU detection and
 * kernel-table choice happen inside these racing calls. */
static void test_contexts_created_at_once_agree_on_the_isa(void) {
    pthread_barrier_t start;
    pthread_t th[THREADS];
    ctx_job jobs[THREADS];
    CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);
    for (int i = 0; i < THREADS; i++) {
        jobs[i].start = &start, jobs[i].isa = -1, jobs[i].status = RN_E_INTERNAL;
        CHECK(pthread_create(&th[i], NULL, create_ctx_thread, &jobs[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    rn_ctx *ctx = NULL;
    int64_t isa = -2;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &isa), ctx);
    for (int i = 0; i < THREADS; i++) {
        CHECK(jobs[i].status == RN_OK);
        CHECK(jobs[i].isa == isa);
    }
    rn_ctx_destroy(ctx);
}

/* ---- one shared model, a plan per thread ------------------------------------------ */
typedef struct {
    rn_model *model;
    const float *input;
    const float *expected; /* single-threaded logits */
    pthread_barrier_t *start;
    int index;
    rn_status status;
    int mismatches;
    char error[256];
} infer_job;

static void *infer_thread(void *arg) {
    infer_job *job = (infer_job *)arg;
    rn_ctx *ctx = NULL;
    rn_plan *plan = NULL;
    void *buffer = NULL;
    float logits[OUT_COUNT];
    rn_status st = rn_ctx_create(&ctx);
    /* odd threads ask for 2 threads inside each call (OpenMP builds) */
    if (st == RN_OK && job->index % 2) st = rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2);
    pthread_barrier_wait(job->start); /* everyone plans and runs at once */
    if (st == RN_OK)
        st = rn_plan_create_with_ctx(ctx, job->model, BATCH, HW, HW, RN_MODE_INFER, &plan);
    if (st == RN_OK && job->index % 4 >= 2) { /* half bind their own memory */
        size_t bytes = 0;
        st = rn_plan_memory_size(plan, &bytes);
        if (st == RN_OK) buffer = malloc(bytes);
        if (st == RN_OK) st = buffer ? rn_plan_bind_memory(plan, buffer, bytes) : RN_E_NO_MEMORY;
    }
    for (int r = 0; r < RUNS && st == RN_OK; r++) {
        memset(logits, 0, sizeof logits);
        st = rn_plan_forward(plan, job->input, IN_COUNT, RN_LAYOUT_NCHW, logits, OUT_COUNT);
        if (st == RN_OK && memcmp(logits, job->expected, sizeof logits) != 0) job->mismatches++;
    }
    if (st != RN_OK) snprintf(job->error, sizeof job->error, "%s", rn_last_error(ctx));
    job->status = st;
    rn_plan_destroy(plan);
    free(buffer);
    rn_ctx_destroy(ctx);
    return NULL;
}

/* Logits of one single-threaded forward on a fresh context. */
static void reference_logits(rn_model *model, const float *input, float *logits) {
    rn_ctx *ctx = NULL;
    rn_plan *plan = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_plan_create_with_ctx(ctx, model, BATCH, HW, HW, RN_MODE_INFER, &plan), ctx);
    CHECK_OK(rn_plan_forward(plan, input, IN_COUNT, RN_LAYOUT_NCHW, logits, OUT_COUNT), ctx);
    rn_plan_destroy(plan);
    rn_ctx_destroy(ctx);
}

static void run_threads(rn_model *model, const float *input, const float *expected) {
    pthread_barrier_t start;
    pthread_t th[THREADS];
    infer_job jobs[THREADS];
    CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);
    for (int i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].model = model, jobs[i].input = input, jobs[i].expected = expected;
        jobs[i].start = &start, jobs[i].index = i, jobs[i].status = RN_E_INTERNAL;
        CHECK(pthread_create(&th[i], NULL, infer_thread, &jobs[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        if (jobs[i].status != RN_OK)
            fprintf(stderr, "  thread %d: %s: %s\n", i, rn_status_string(jobs[i].status),
                    jobs[i].error);
        CHECK(jobs[i].status == RN_OK);
        CHECK(jobs[i].mismatches == 0);
    }
}

static rn_model *shared_model(rn_ctx *ctx) {
    rn_model *m = NULL;
    /* CIFAR ResNet-20 at base width 8: every layer kind, small enough for TSan */
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", CLASSES, IN, RN_SHORTCUT_DEFAULT, 8, 0, &m),
             ctx);
    if (m) CHECK_OK(rn_model_init(m, 2024), ctx);
    return m;
}

static void fill_input(float *input) {
    rn_test_rng_state = 0xC0FFEE;
    rn_test_fill_uniform(input, IN_COUNT, -2, 2);
}

/* Non-trivial BN statistics, so an eval forward is not the identity. */
static void set_running_stats(rn_ctx *ctx, rn_model *m) {
    int32_t n = rn_model_tensor_count(m);
    for (int32_t i = 0; i < n; i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        CHECK_OK(rn_model_tensor_info(m, i, &name, &ndim, dims, &kind), ctx);
        if (kind != RN_TENSOR_BUFFER || ndim != 1 || dims[0] > 64) continue;
        float v[64];
        int is_var = strstr(name, "running_var") != NULL;
        rn_test_fill_uniform(v, (size_t)dims[0], is_var ? 0.5 : -0.2, is_var ? 1.5 : 0.2);
        CHECK_OK(rn_model_set_tensor(m, name, v, (size_t)dims[0]), ctx);
    }
}

static void test_threads_sharing_a_model_match_a_single_threaded_run(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = shared_model(ctx);
    if (!m) {
        rn_ctx_destroy(ctx);
        return;
    }
    set_running_stats(ctx, m);
    static float input[IN_COUNT];
    float expected[OUT_COUNT];
    fill_input(input);
    reference_logits(m, input, expected);
    /* a real output to compare against: every logit finite (no NaN, no
     * infinity, which sum == sum let through), not all zero */
    int finite = 1, nonzero = 0;
    for (int i = 0; i < OUT_COUNT; i++) {
        finite &= isfinite(expected[i]) != 0;
        nonzero |= expected[i] != 0.0f;
    }
    CHECK(finite && nonzero);
    run_threads(m, input, expected);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_threads_sharing_a_folded_model_match_a_single_threaded_run(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = shared_model(ctx);
    if (!m) {
        rn_ctx_destroy(ctx);
        return;
    }
    set_running_stats(ctx, m);
    CHECK_OK(rn_model_fold_batchnorm(m), ctx);
    static float input[IN_COUNT];
    float expected[OUT_COUNT];
    fill_input(input);
    reference_logits(m, input, expected);
    run_threads(m, input, expected);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* No plan before the threads: they make the model's shared derived weights
 * (src/nn/plan-derived.c) at once, under its lock; the reference comes from
 * a twin model (same seed). Then the same on the twin packed for inference
 * (rn_model_pack_for_inference), whose plans run its panels. */
static void test_threads_making_shared_weights_at_once_match_a_single_threaded_run(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = shared_model(ctx), *twin = shared_model(ctx);
    if (!m || !twin) {
        rn_model_destroy(twin);
        rn_model_destroy(m);
        rn_ctx_destroy(ctx);
        return;
    }
    CHECK_OK(rn_model_fold_batchnorm(m), ctx);
    CHECK_OK(rn_model_fold_batchnorm(twin), ctx);
    static float input[IN_COUNT];
    float expected[OUT_COUNT];
    fill_input(input);
    reference_logits(twin, input, expected);
    run_threads(m, input, expected);
    CHECK_OK(rn_model_pack_for_inference(twin), ctx);
    run_threads(twin, input, expected);
    rn_model_destroy(twin);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"contexts_created_at_once_agree_on_the_isa", test_contexts_created_at_once_agree_on_the_isa},
    {"threads_sharing_a_model_match_a_single_threaded_run",
     test_threads_sharing_a_model_match_a_single_threaded_run},
    {"threads_sharing_a_folded_model_match_a_single_threaded_run",
     test_threads_sharing_a_folded_model_match_a_single_threaded_run},
    {"threads_making_shared_weights_at_once_match_a_single_threaded_run",
     test_threads_making_shared_weights_at_once_match_a_single_threaded_run},
};
RN_TEST_MAIN(cases)
