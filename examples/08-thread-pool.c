/*
 * Example 8, your own threads: an application that already has a thread
 * pool gives libresnet a parallel-for over it (rn_ctx_set_parallel_for), the
 * way XNNPACK takes a pthreadpool. libresnet then starts no thread of its
 * own: every parallel region of a call is handed to the function below.
 *
 * The pool here is deliberately small (POSIX threads, one mutex, two
 * condition variables): workers and the calling thread take items from a
 * shared counter until none is left, and the call returns when every item
 * has finished. The example runs CIFAR ResNet-20 inference on it and checks
 * the logits against a run on one thread: they are the same bits, because
 * libresnet's results never depend on which thread runs an item.
 * Walked through in docs/api.md and docs/embedding.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <resnet.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finish(int ok) {
    printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}

#define TRY(call)                                                             \
    do {                                                                      \
        rn_status st_ = (call);                                               \
        if (st_ != RN_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    rn_status_string(st_), rn_last_error(ctx));               \
            return finish(0);                                                 \
        }                                                                     \
    } while (0)

#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            return finish(0);                                                   \
        }                                                                       \
    } while (0)

/* ---- the application's pool ---------------------------------------------------- */
#define WORKERS 3 /* plus the thread that calls libresnet: 4 in all */

typedef struct app_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a new job, or stop */
    pthread_cond_t finished; /* the last item of a job is done */
    pthread_t threads[WORKERS];
    /* the current job */
    rn_parallel_task_fn task;
    void *task_arg;
    size_t n, next, done;
    unsigned long job; /* counts jobs, so a worker sees each one once */
    int stop;
    unsigned long jobs_run; /* for the example's report */
} app_pool;

/* Take items of the current job until none is left; called with the lock. */
static void run_items(app_pool *p) {
    while (p->next < p->n) {
        size_t i = p->next++;
        rn_parallel_task_fn task = p->task;
        void *arg = p->task_arg;
        pthread_mutex_unlock(&p->lock);
        task(arg, i);
        pthread_mutex_lock(&p->lock);
        if (++p->done == p->n) pthread_cond_broadcast(&p->finished);
    }
}

static void *worker(void *arg) {
    app_pool *p = (app_pool *)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->job == seen) pthread_cond_wait(&p->work, &p->lock);
        if (p->stop) break;
        seen = p->job;
        run_items(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* The rn_parallel_for_fn libresnet calls: task(task_arg, i) for every i in
 * [0, n), returning when all are done. The calling thread works too. */
static void app_parallel_for(void *user, size_t n, rn_parallel_task_fn task, void *task_arg) {
    app_pool *p = (app_pool *)user;
    pthread_mutex_lock(&p->lock);
    p->task = task, p->task_arg = task_arg;
    p->n = n, p->next = 0, p->done = 0;
    p->job++;
    p->jobs_run++;
    pthread_cond_broadcast(&p->work);
    run_items(p);
    while (p->done < p->n) pthread_cond_wait(&p->finished, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static int app_pool_start(app_pool *p) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->finished, NULL);
    for (int i = 0; i < WORKERS; i++)
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) return 0;
    return 1;
}

static void app_pool_stop(app_pool *p) {
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < WORKERS; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->finished);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
}

/* ---- libresnet on it ------------------------------------------------------------- */
#define BATCH 4
#define SIZE 32
#define CLASSES 10

/* Logits of CIFAR ResNet-20 (same weights, same input every time) on ctx. */
static rn_status logits_on(rn_ctx *ctx, const float *x, float *logits) {
    rn_model *m = NULL;
    rn_plan *plan = NULL;
    rn_status st =
        rn_model_create_preset(ctx, "resnet20", CLASSES, 3, RN_SHORTCUT_DEFAULT, 16, 0, &m);
    if (st == RN_OK) st = rn_model_init(m, 42);
    if (st == RN_OK) st = rn_plan_create(m, BATCH, SIZE, SIZE, RN_MODE_INFER, &plan);
    if (st == RN_OK)
        st = rn_plan_forward(plan, x, (size_t)BATCH * 3 * SIZE * SIZE, RN_LAYOUT_NCHW, logits,
                             BATCH * CLASSES);
    rn_plan_destroy(plan);
    rn_model_destroy(m);
    return st;
}

int main(void) {
    static float x[BATCH * 3 * SIZE * SIZE];
    float alone[BATCH * CLASSES], pooled[BATCH * CLASSES];
    unsigned s = 1;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }

    rn_ctx *ctx = NULL;
    TRY(rn_ctx_create(&ctx));
    TRY(logits_on(ctx, x, alone)); /* one thread: the default */

    app_pool pool;
    EXPECT(app_pool_start(&pool));
    /* Hand libresnet the pool, and say how wide it is: the work of each
     * region is split for that many threads. */
    TRY(rn_ctx_set_parallel_for(ctx, app_parallel_for, &pool));
    TRY(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, WORKERS + 1));
    TRY(logits_on(ctx, x, pooled));
    printf("ResNet-20, batch %d: %lu parallel regions ran on the application's %d threads\n", BATCH,
           pool.jobs_run, WORKERS + 1);
    EXPECT(pool.jobs_run > 0);
    EXPECT(memcmp(alone, pooled, sizeof alone) == 0); /* the same bits as one thread */
    printf("logits identical to a one-thread run; first: %.6f\n", (double)pooled[0]);

    rn_ctx_destroy(ctx); /* libresnet is done with the pool before it is stopped */
    app_pool_stop(&pool);
    return finish(1);
}
