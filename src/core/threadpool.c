/*
 * The library's own thread pool (built with RN_WITH_POOL: POSIX threads and
 * the atomics of rn_atomic.h). One pool per context, created on the first
 * parallel region that wants more than one thread, resized when
 * RN_OPT_NUM_THREADS changes, joined by rn_ctx_destroy.
 *
 * Why not a barrier at the end of each region (what OpenMP does): when one
 * thread is off the CPU, every region waits for it, and an image crosses
 * hundreds of regions. Here a region is finished when its items are done,
 * whoever ran them:
 *
 * - The caller publishes a region (fn, arg, n) and works on it itself.
 * - The items [0, n) are split into `parts` contiguous ranges, one per
 *   thread (the claim order of a static schedule, so each thread normally
 *   walks its own range and keeps its cache). A thread claims the next item
 *   of a range with a compare-and-swap on that range's counter; when its own
 *   range is empty it claims from the others. A worker that has not woken
 *   up, or was descheduled before claiming, therefore holds nothing up: the
 *   caller claims its items. Only an item already being run can be waited
 *   for.
 * - Each range counter carries the region's generation in its high 32 bits
 *   and the next index in its low 32, and a region's counters are written
 *   before its description (fn, arg, n, parts; release stores read with
 *   acquire loads). A worker that wakes late, still holding a finished
 *   region's generation, therefore fails its claim whatever it read: the
 *   old description against the old, exhausted counters, or any part of a
 *   newer description against counters that already carry a newer
 *   generation. (Writing the description first let such a worker claim an
 *   item of the old counters with the new region's sizes and function, run
 *   it, and count it as done in the new region, which then returned with an
 *   item still running: rare, about one region in a million on 2 threads,
 *   and a crash or different weights when it happened.)
 * - Workers spin for up to RN_POOL_SPIN_US after a region (the next
 *   region of a forward pass usually comes within microseconds), then sleep
 *   on the generation word: a futex on Linux, a condition variable
 *   elsewhere. The caller wakes sleepers with one system call, only when
 *   some sleep. When the pool's threads find that they do not have their
 *   CPUs to themselves (their thread CPU clocks fall behind the wall
 *   clock), workers spin only briefly for a while, leaving the CPU to the
 *   neighbours and to their own caller.
 *
 * Which thread runs an item never changes a result: the items, and every
 * reduction over them, are fixed by the callers (rn__parallel_for's
 * contract), so outputs are bit-identical for any thread count and any
 * interleaving.
 */
/* syscall() and the futex constants under -std=c99 */
#define _GNU_SOURCE
#include "internal.h"
#include "rn_atomic.h"

#if defined(RN_WITH_POOL) && defined(RN_HAVE_ATOMICS)

#include <pthread.h>
#include <sched.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#define RN_POOL_FUTEX 1
#endif

/* How long a worker spins for the next region before it sleeps. The caller
 * never waits for a sleeping worker (it claims the items itself), so a late
 * wake-up costs help, not correctness; but a sleeping virtual CPU takes
 * tens of microseconds to wake, and ResNet-50's batch-1 forward pass has
 * about 300 regions, a tenth of them after a gap of 8-128 us (the caller's
 * serial work between regions). Zen 5, 2 threads, quiet host: spinning
 * about 5 us (256 pauses) let the worker sleep before 1 region in 5 and
 * run 46.7% of the items; spinning through the gaps it runs 49.5%, and
 * ResNet-50 v1 (folded) took 29.4 ms against 29.9 (8 alternating rounds;
 * 1 thread: 42-47 ms). */
#ifndef RN_POOL_SPIN_US
#define RN_POOL_SPIN_US 200
#endif
/* On a busy machine spinning takes CPU time from the neighbours and from
 * the process's own threads: ResNet-50 batch 1 on 2 threads beside other
 * builds (load ~20 on 2 CPUs), 4096 spins 191 ms, 256 spins 142 ms (1
 * thread: 133-140 ms); beside a spinning OpenMP program, 200 us of spin
 * took ResNet-18 from 1.11x to 1.36x the 1-thread time. So a worker spins
 * only RN_POOL_WORKER_SPINS pauses (about 10-40 ns each) for its next
 * RN_POOL_BUSY_WAITS waits (or regions) when the pool finds that it does
 * not have its CPUs to itself: over the last RN_POOL_WINDOW_WAITS waits a
 * worker, or over the last RN_POOL_WINDOW_WAITS regions the caller, ran
 * for less than 3/4 of the time it was awake (its thread CPU clock against
 * the wall clock, a worker's sleeps left out), or, while spinning, the
 * clock moved by RN_POOL_PREEMPT_US between two looks a few hundred
 * nanoseconds apart. The caller's test matters most: a spinning worker
 * holds its CPU and looks fine while the caller waits for one. */
#ifndef RN_POOL_PREEMPT_US
#define RN_POOL_PREEMPT_US 100
#endif
#ifndef RN_POOL_WINDOW_WAITS
#define RN_POOL_WINDOW_WAITS 32
#endif
#ifndef RN_POOL_BUSY_WAITS
#define RN_POOL_BUSY_WAITS 1024
#endif
#ifndef RN_POOL_WORKER_SPINS
#define RN_POOL_WORKER_SPINS 256
#endif
/* pauses between two looks at the clock */
#define RN_POOL_CLOCK_EVERY 32
#ifndef RN_POOL_CALLER_SPINS
#define RN_POOL_CALLER_SPINS 1024
#endif

#define RN_CACHE_LINE 64

typedef struct pool_part {
    uint64_t next; /* generation << 32 | next index relative to the range's start */
    unsigned char pad[RN_CACHE_LINE - sizeof(uint64_t)];
} pool_part;

typedef struct pool_worker {
    struct rn_pool *pool;
    int32_t index; /* 1..threads-1; the caller is 0 */
    uint32_t busy; /* waits left with the short spin (RN_POOL_BUSY_WAITS) */
    /* the current window of RN_POOL_WINDOW_WAITS waits: its start on the
     * wall and thread CPU clocks, and the time slept in it (microseconds) */
    uint32_t window_waits;
    uint64_t window_wall, window_cpu, window_slept;
    pthread_t tid;
} pool_worker;

struct rn_pool {
    rn_ctx *ctx;     /* owner (its allocator frees this block) */
    pid_t pid;       /* the process whose threads these are (see rn__pool_destroy) */
    int32_t threads; /* the caller included */
    int32_t started; /* workers running */
    /* region description: written by the caller after the range counters
     * and before it publishes gen, read by workers before the counters;
     * atomics because a late worker may read them while the caller writes
     * the next region's (it then fails its claim and never uses them). */
    rn_task_fn fn;
    void *arg;
    uint64_t n;
    uint32_t parts;
    uint32_t stop;
    unsigned char pad0[RN_CACHE_LINE];
    uint32_t gen;      /* bumped once per region and at stop; the futex word */
    uint32_t sleepers; /* workers asleep or about to sleep */
    /* regions left in which workers spin briefly: the caller found that it
     * did not have its CPU to itself (check_caller_window) */
    uint32_t busy;
    unsigned char pad1[RN_CACHE_LINE];
    uint64_t done; /* items of the current region finished by workers */
    unsigned char pad2[RN_CACHE_LINE];
#ifndef RN_POOL_FUTEX
    pthread_mutex_t lock;
    pthread_cond_t wake;
#endif
    /* the caller's window of RN_POOL_WINDOW_WAITS regions (caller only) */
    uint32_t window_regions;
    uint64_t window_wall, window_cpu;
    pool_part *part;     /* threads entries, cache-line aligned */
    pool_worker *worker; /* threads - 1 entries */
};

/* Run every item of region `gen` this thread can claim, starting with range
 * `first`; returns how many it ran. Stops at once if the region is over. */
static uint64_t claim_and_run(struct rn_pool *p, uint32_t gen, uint32_t first, int is_worker) {
    /* acquire: if any of these is a newer region's, the counter loads below
     * see that region's generation and the claim fails */
    const rn_task_fn fn = rn__atomic_load(&p->fn, RN_ACQUIRE);
    void *const arg = rn__atomic_load(&p->arg, RN_ACQUIRE);
    const uint64_t n = rn__atomic_load(&p->n, RN_ACQUIRE);
    const uint32_t parts = rn__atomic_load(&p->parts, RN_ACQUIRE);
    uint64_t ran = 0;
    if (parts == 0) return 0;
    for (uint32_t k = 0; k < parts; k++) {
        const uint32_t r = (first + k) % parts;
        const uint64_t begin = n * r / parts, len = n * (r + 1) / parts - begin;
        uint64_t v = rn__atomic_load(&p->part[r].next, RN_RELAXED);
        for (;;) {
            if ((uint32_t)(v >> 32) != gen) return ran; /* the region is over */
            const uint64_t idx = v & 0xffffffffu;
            if (idx >= len) break; /* range empty: try the next one */
            if (!rn__atomic_cas(&p->part[r].next, &v, v + 1, RN_RELAXED)) continue;
            fn(arg, (size_t)(begin + idx));
            ran++;
            /* a worker reports each item at once, so the caller never waits
             * on a worker that is descheduled between two items */
            if (is_worker) rn__atomic_fetch_add(&p->done, 1, RN_RELEASE);
            v = rn__atomic_load(&p->part[r].next, RN_RELAXED);
        }
    }
    return ran;
}

static void wake_all(struct rn_pool *p) {
#ifdef RN_POOL_FUTEX
    syscall(SYS_futex, &p->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
#endif
}

static uint64_t clock_us(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) return 0;
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* This thread's CPU time; 0 where the clock is missing. */
static uint64_t thread_cpu_us(void) {
#if defined(CLOCK_THREAD_CPUTIME_ID)
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) return 0;
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
#else
    return 0;
#endif
}

/* Whether a thread that ran `cpu` of the `awake` microseconds it wanted the
 * CPU shares it (no thread clock: 0 cpu, taken as shared, never spin long). */
static int cpu_shared(uint64_t cpu, uint64_t awake) { return 4 * cpu < 3 * awake; }

/* Once per window of waits: did the worker have its CPU while awake? */
static void check_window(pool_worker *w) {
    if (++w->window_waits < RN_POOL_WINDOW_WAITS) return;
    const uint64_t wall = clock_us(), cpu = thread_cpu_us();
    if (cpu == 0) {
        w->busy = RN_POOL_BUSY_WAITS;
    } else if (w->window_cpu != 0 && wall >= w->window_wall && cpu >= w->window_cpu) {
        const uint64_t span = wall - w->window_wall;
        const uint64_t awake = span > w->window_slept ? span - w->window_slept : 0;
        if (cpu_shared(cpu - w->window_cpu, awake)) w->busy = RN_POOL_BUSY_WAITS;
    }
    w->window_waits = 0;
    w->window_wall = wall;
    w->window_cpu = cpu;
    w->window_slept = 0;
}

/* The caller's side of the same test, once per window of regions: a worker
 * spinning on a shared CPU keeps it from the caller, which then runs for
 * less than the wall time while the spinning worker's own clock looks
 * fine. The caller is taken as awake throughout (between regions it
 * computes, or the application does); an application that sleeps between
 * calls reads as a shared CPU, which only keeps the short spin. Sets the
 * pool's busy count, which the workers read; the count runs down by one
 * per region. */
static void check_caller_window(struct rn_pool *p) {
    uint32_t busy = rn__atomic_load(&p->busy, RN_RELAXED);
    if (busy > 0) rn__atomic_store(&p->busy, busy - 1, RN_RELAXED);
    if (++p->window_regions < RN_POOL_WINDOW_WAITS) return;
    const uint64_t wall = clock_us(), cpu = thread_cpu_us();
    /* another calling thread (its clock is not comparable) or no clock */
    const int fresh = p->window_cpu == 0 || wall < p->window_wall || cpu < p->window_cpu;
    if (cpu == 0 || (!fresh && cpu_shared(cpu - p->window_cpu, wall - p->window_wall)))
        rn__atomic_store(&p->busy, (uint32_t)RN_POOL_BUSY_WAITS, RN_RELAXED);
    p->window_regions = 0;
    p->window_wall = wall;
    p->window_cpu = cpu;
}

/* Spin until the generation differs from `seen` (returns the new one) or
 * the worker's spin time is over (returns `seen`). */
static uint32_t spin_for_region(struct rn_pool *p, pool_worker *w, uint32_t seen) {
    uint32_t g;
    if (w->busy > 0 || rn__atomic_load(&p->busy, RN_RELAXED) > 0) {
        if (w->busy > 0) w->busy--;
        for (int i = 0; i < RN_POOL_WORKER_SPINS; i++) {
            g = rn__atomic_load(&p->gen, RN_ACQUIRE);
            if (g != seen) return g;
            rn__cpu_relax();
        }
        return seen;
    }
    const uint64_t start = clock_us();
    uint64_t last = start;
    for (;;) {
        for (int i = 0; i < RN_POOL_CLOCK_EVERY; i++) {
            g = rn__atomic_load(&p->gen, RN_ACQUIRE);
            if (g != seen) return g;
            rn__cpu_relax();
        }
        const uint64_t now = clock_us();
        if (now - last >= RN_POOL_PREEMPT_US) { /* off the CPU: a busy machine */
            w->busy = RN_POOL_BUSY_WAITS;
            return seen;
        }
        if (now - start >= RN_POOL_SPIN_US || now < last) return seen;
        last = now;
    }
}

/* Wait until the generation differs from `seen`; returns the new one. */
static uint32_t wait_for_region(struct rn_pool *p, pool_worker *w, uint32_t seen) {
    check_window(w);
    uint32_t g = spin_for_region(p, w, seen);
    if (g != seen) return g;
    const uint64_t slept_from = clock_us();
    /* sleepers is raised before the last look at gen, and the caller bumps
     * gen before it reads sleepers (both sequentially consistent): either
     * the caller sees a sleeper and wakes, or this thread sees the new gen. */
    rn__atomic_fetch_add(&p->sleepers, 1, RN_SEQ_CST);
#ifdef RN_POOL_FUTEX
    while ((g = rn__atomic_load(&p->gen, RN_SEQ_CST)) == seen)
        syscall(SYS_futex, &p->gen, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    pthread_mutex_lock(&p->lock);
    while ((g = rn__atomic_load(&p->gen, RN_SEQ_CST)) == seen)
        pthread_cond_wait(&p->wake, &p->lock);
    pthread_mutex_unlock(&p->lock);
#endif
    rn__atomic_fetch_sub(&p->sleepers, 1, RN_RELAXED);
    const uint64_t slept_to = clock_us();
    if (slept_to > slept_from) w->window_slept += slept_to - slept_from;
    return rn__atomic_load(&p->gen, RN_ACQUIRE);
}

static void *worker_main(void *arg) {
    pool_worker *w = (pool_worker *)arg;
    struct rn_pool *p = w->pool;
    uint32_t seen = 0;
    for (;;) {
        seen = wait_for_region(p, w, seen);
        if (rn__atomic_load(&p->stop, RN_ACQUIRE)) break;
        claim_and_run(p, seen, (uint32_t)w->index, 1);
    }
    return NULL;
}

static void stop_workers(struct rn_pool *p) {
    rn__atomic_store(&p->stop, 1u, RN_RELEASE);
    rn__atomic_fetch_add(&p->gen, 1u, RN_SEQ_CST);
    wake_all(p);
    for (int32_t i = 0; i < p->started; i++) pthread_join(p->worker[i].tid, NULL);
    p->started = 0;
}

struct rn_pool *rn__pool_create(rn_ctx *ctx, int32_t threads) {
    if (threads < 2 || ctx->in_buffer) return NULL;
    size_t head = rn__align_up(sizeof(struct rn_pool), RN_CACHE_LINE);
    size_t parts = rn__sat_mul((size_t)threads, sizeof(pool_part));
    size_t workers = rn__sat_mul((size_t)threads, sizeof(pool_worker));
    size_t total = rn__sat_add(rn__sat_add(head, parts), workers);
    if (total == SIZE_MAX) return NULL;
    unsigned char *mem = (unsigned char *)rn__calloc(ctx, 1, total);
    if (!mem) return NULL;
    struct rn_pool *p = (struct rn_pool *)mem;
    p->ctx = ctx;
    p->pid = getpid();
    p->part = (pool_part *)(mem + head);
    p->worker = (pool_worker *)(mem + head + parts);
#ifndef RN_POOL_FUTEX
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        rn__free(ctx, mem);
        return NULL;
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        rn__free(ctx, mem);
        return NULL;
    }
#endif
    for (int32_t i = 0; i < threads - 1; i++) {
        p->worker[i].pool = p;
        p->worker[i].index = i + 1;
        if (pthread_create(&p->worker[i].tid, NULL, worker_main, &p->worker[i]) != 0) break;
        p->started++;
    }
    if (p->started == 0) {
        rn__pool_destroy(p);
        return NULL;
    }
    /* fewer workers than asked (the system refused a thread): a smaller pool */
    p->threads = p->started + 1;
    return p;
}

void rn__pool_destroy(struct rn_pool *p) {
    if (!p) return;
    /* In a child after fork the workers do not exist (only the forking
     * thread is copied), so there is nothing to join; regions there still
     * completed, the calling thread claiming every item. */
    if (getpid() == p->pid) stop_workers(p);
#ifndef RN_POOL_FUTEX
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
#endif
    rn__free(p->ctx, p);
}

int32_t rn__pool_threads(const struct rn_pool *p) { return p ? p->threads : 1; }

void rn__pool_run(struct rn_pool *p, size_t n, rn_task_fn fn, void *arg) {
    /* the counters hold 32-bit indices; no caller comes near this */
    if (n > 0xffffffffu) {
        for (size_t i = 0; i < n; i++) fn(arg, i);
        return;
    }
    const uint32_t parts = (uint32_t)(n < (size_t)p->threads ? n : (size_t)p->threads);
    check_caller_window(p);
    const uint32_t gen = rn__atomic_load(&p->gen, RN_RELAXED) + 1u;
    /* first the counters, every range's (unused ones too): from here on no
     * counter holds the previous generation, so no late worker can claim */
    rn__atomic_store(&p->done, (uint64_t)0, RN_RELAXED);
    for (int32_t r = 0; r < p->threads; r++)
        rn__atomic_store(&p->part[r].next, (uint64_t)gen << 32, RN_RELAXED);
    /* then the description, each store ordering the counters before it */
    rn__atomic_store(&p->fn, fn, RN_RELEASE);
    rn__atomic_store(&p->arg, arg, RN_RELEASE);
    rn__atomic_store(&p->n, (uint64_t)n, RN_RELEASE);
    rn__atomic_store(&p->parts, parts, RN_RELEASE);
    /* publish: everything above (and the caller's job data) happens before
     * any worker's claim in this region */
    rn__atomic_store(&p->gen, gen, RN_SEQ_CST);
    if (rn__atomic_load(&p->sleepers, RN_SEQ_CST) != 0) wake_all(p);

    const uint64_t mine = claim_and_run(p, gen, 0, 0);
    /* every item is claimed; wait for those other threads are still running */
    const uint64_t others = (uint64_t)n - mine;
    int spins = 0;
    while (rn__atomic_load(&p->done, RN_ACQUIRE) < others) {
        if (spins < RN_POOL_CALLER_SPINS) {
            spins++;
            rn__cpu_relax();
        } else {
            sched_yield();
        }
    }
}

#else /* no pool in this build */

typedef int rn__threadpool_unused; /* ISO C wants a declaration in every file */

#endif
