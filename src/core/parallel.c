/*
 * The parallel-for hook: every thread of the library comes from here. In
 * order of preference: the caller's parallel-for (rn_ctx_set_parallel_for),
 * the library's pool (threadpool.c, builds with RN_WITH_POOL), OpenMP
 * (builds with RN_WITH_OPENMP), else the loop runs on the calling thread.
 * A region started from inside a region of the same context (an item that
 * itself calls an op) runs serially on the item's thread: no nested
 * oversubscription, and a pool never waits for itself.
 */
#include "internal.h"
#include "rn_atomic.h"
#ifdef RN_WITH_OPENMP
#include <omp.h>
#endif

static void run_serial(size_t n, rn_task_fn fn, void *arg) {
    for (size_t i = 0; i < n; i++) fn(arg, i);
}

#if defined(RN_HAVE_ATOMICS)
/* The context is used by one thread at a time (docs/api.md), so in_region
 * only ever sees its own thread's regions; it is atomic for the caller's
 * parallel-for, whose tasks may run on threads we do not know. */
static int enter_region(rn_ctx *ctx) {
    uint32_t expected = 0;
    return rn__atomic_cas(&ctx->in_region, &expected, 1u, RN_ACQUIRE);
}
static void leave_region(rn_ctx *ctx) { rn__atomic_store(&ctx->in_region, 0u, RN_RELEASE); }
#else
static int enter_region(rn_ctx *ctx) {
    if (ctx->in_region) return 0;
    ctx->in_region = 1;
    return 1;
}
static void leave_region(rn_ctx *ctx) { ctx->in_region = 0; }
#endif

void rn__parallel_for(const rn_ctx *cctx, size_t n, rn_task_fn fn, void *arg) {
    /* the pool and the region flag are the context's machinery, not its
     * logical value: const entry points may use them (hence the cast) */
    rn_ctx *ctx = (rn_ctx *)cctx;
    if (!ctx || ctx->num_threads <= 1 || n <= 1) {
        run_serial(n, fn, arg);
        return;
    }
    if (ctx->pfor) {
        if (!enter_region(ctx)) {
            run_serial(n, fn, arg);
            return;
        }
        ctx->pfor(ctx->pfor_user, n, fn, arg);
        leave_region(ctx);
        return;
    }
#if defined(RN_WITH_POOL) && defined(RN_HAVE_ATOMICS)
    if (!enter_region(ctx)) {
        run_serial(n, fn, arg);
        return;
    }
    if (!ctx->pool && !ctx->pool_failed) {
        ctx->pool = rn__pool_create(ctx, ctx->num_threads);
        if (!ctx->pool) {
            ctx->pool_failed = 1;
            if (!ctx->in_buffer)
                rn__log(ctx, RN_LOG_WARN,
                        "threads: could not start %d worker threads; running on one",
                        (int)ctx->num_threads - 1);
        }
    }
    if (ctx->pool)
        rn__pool_run(ctx->pool, n, fn, arg);
    else
        run_serial(n, fn, arg);
    leave_region(ctx);
    return;
#elif defined(RN_WITH_OPENMP)
    if (!omp_in_parallel()) {
        int threads = ctx->num_threads;
        if ((size_t)threads > n) threads = (int)n;
        long long count = (long long)n;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (long long i = 0; i < count; i++) fn(arg, (size_t)i);
        return;
    }
#endif
    run_serial(n, fn, arg);
}

void rn__parallel_release(rn_ctx *ctx) {
#if defined(RN_WITH_POOL) && defined(RN_HAVE_ATOMICS)
    rn__pool_destroy(ctx->pool);
#endif
    ctx->pool = NULL;
    ctx->pool_failed = 0;
}

void rn__spin_lock(int32_t *lock) {
#ifdef RN_HAVE_ATOMICS
    int32_t expected = 0;
    while (!rn__atomic_cas(lock, &expected, 1, RN_ACQUIRE)) {
        expected = 0;
        rn__cpu_relax();
    }
#else
    (void)lock;
#endif
}

void rn__spin_unlock(int32_t *lock) {
#ifdef RN_HAVE_ATOMICS
    rn__atomic_store(lock, 0, RN_RELEASE);
#else
    (void)lock;
#endif
}
