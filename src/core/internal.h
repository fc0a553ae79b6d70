/*
 * Internal core: the context layout, allocation, error reporting, overflow-
 * checked size arithmetic and the parallel-for hook. Every layer of the
 * library includes this; nothing outside src/ does.
 */
#ifndef RN_INTERNAL_H
#define RN_INTERNAL_H

#include "rn_deps.h"
#include "resnet/core.h"
#include "resnet/tensor.h"

struct rn_pool; /* src/core/threadpool.c */

#define RN_ERROR_CAP 512
#define RN_ALIGN 64

struct rn_ctx {
    rn_alloc_fn alloc;
    rn_free_fn free_fn;
    void *alloc_user;
    /* caller-arena contexts: bump allocation inside [arena_base, arena_end) */
    unsigned char *arena_base, *arena_top, *arena_end, *arena_last;
    size_t arena_peak;
    int32_t in_buffer; /* 1 when the ctx itself lives in the caller's buffer */
    int32_t num_threads;
    int32_t max_isa;    /* the cap requested */
    int32_t active_isa; /* rn__cpu_isa_for_cap(max_isa): the kernels this context runs */
    int32_t log_level;
    int32_t winograd;   /* RN_OPT_WINOGRAD */
    int32_t train_bf16; /* RN_OPT_TRAIN_BF16; 1 only while rn__cpu_bf16(active_isa) */
    rn_log_fn log_fn;
    void *log_user;
    /* threads (parallel.c): the caller's parallel-for if set, else the
     * library's pool, created on the first region that wants threads */
    rn_parallel_for_fn pfor;
    void *pfor_user;
    struct rn_pool *pool;
    int32_t pool_failed; /* creating the pool failed: run serially until resized */
    uint32_t in_region;  /* 1 while a region runs (nested regions run serially) */
    char last_error[RN_ERROR_CAP];
};

struct rn_tensor {
    rn_ctx *ctx;
    int64_t dims[4]; /* n, h, w, c */
    float *data;
    int32_t owns;
};

/* Assertions for internal invariants: compiled out unless RN_DEBUG_ASSERT.
 * When on, a failed check traps (a debugger stops there); user input never
 * reaches one, because public entry points validate first. */
#ifdef RN_DEBUG_ASSERT
#define RN_ASSERT(cond)                \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)
#else
#define RN_ASSERT(cond) ((void)0)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define RN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define RN_INTERN __attribute__((visibility("hidden")))
/* A hint to bring the line holding *p into cache ahead of its use; it never
 * faults, whatever p points to. */
#define RN_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
/* The same for a line about to be written. */
#define RN_PREFETCH_W(p) __builtin_prefetch((const void *)(p), 1, 3)
#else
#define RN_PRINTF(a, b)
#define RN_INTERN
#define RN_PREFETCH(p) ((void)(p))
#define RN_PREFETCH_W(p) ((void)(p))
#endif

/* Allocation through the context (aligned to RN_ALIGN). NULL on failure,
 * without setting an error: callers report RN_E_NO_MEMORY with context. */
void *rn__alloc(rn_ctx *ctx, size_t size);
void *rn__calloc(rn_ctx *ctx, size_t count, size_t size); /* zeroed, overflow-checked */
void rn__free(rn_ctx *ctx, void *ptr);
/* In a caller-arena context frees only give memory back in reverse order, so
 * a call that fails half-way through building an object records the arena's
 * state first and puts it back after freeing what it took: the arena's usage
 * is then what it was before the call. Both are no-ops for heap contexts. */
typedef struct rn__arena_mark {
    unsigned char *top, *last;
} rn__arena_mark;
rn__arena_mark rn__arena_save(const rn_ctx *ctx);
void rn__arena_restore(rn_ctx *ctx, rn__arena_mark mark);

/* Record `status` and a formatted sentence as the context's last error, send
 * it to the log callback, and return status (so: return rn__error(...)). */
rn_status rn__error(const rn_ctx *ctx, rn_status status, const char *fmt, ...) RN_PRINTF(3, 4);
void rn__log(const rn_ctx *ctx, int32_t level, const char *fmt, ...) RN_PRINTF(3, 4);
/* Clear the last error (done at the start of public calls that succeed). */
void rn__clear_error(const rn_ctx *ctx);
/* Return from the calling function with a call's status when it is not RN_OK. */
#define RN_TRY(call)                  \
    do {                              \
        rn_status st_ = (call);       \
        if (st_ != RN_OK) return st_; \
    } while (0)
/* RN_OK for RN_LAYOUT_NHWC and RN_LAYOUT_NCHW; else RN_E_INVALID_ARG with a sentence naming fn. */
rn_status rn__check_layout(const rn_ctx *ctx, const char *fn, int32_t layout);

/* Overflow-checked arithmetic: return 0 on overflow. */
static inline int rn__mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static inline int rn__add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
/* Saturating forms for sizes that are only compared or passed on:
 * SIZE_MAX means "cannot be had" and stays SIZE_MAX through later sums. */
static inline size_t rn__sat_mul(size_t a, size_t b) {
    size_t r;
    return rn__mul_size(a, b, &r) ? r : SIZE_MAX;
}
static inline size_t rn__sat_add(size_t a, size_t b) {
    size_t r;
    return rn__add_size(a, b, &r) ? r : SIZE_MAX;
}
static inline size_t rn__align_up(size_t v, size_t a) { return (v + (a - 1)) & ~(a - 1); }

/* Element count of 4 dims, each >= 1, at most RN_TENSOR_MAX_ELEMENTS in all;
 * returns -1 if a dim is < 1 or the product overflows the limit. */
int64_t rn__numel4(int64_t n, int64_t h, int64_t w, int64_t c);

/* NCHW <-> NHWC (the one copy; src/core/tensor.c): n images of c planes of
 * h x w floats to n x h x w pixels of c channels, and back. src != dst. */
void rn__nchw_to_nhwc(const float *src, float *dst, size_t n, size_t h, size_t w, size_t c);
void rn__nhwc_to_nchw(const float *src, float *dst, size_t n, size_t h, size_t w, size_t c);

/* Describe a tensor's shape as "(n,h,w,c)" into buf (for error sentences). */
const char *rn__shape_str(const rn_tensor *t, char *buf, size_t cap);

/* Parallel for: fn(arg, i) for i in [0, n), on up to ctx->num_threads threads
 * (the caller's parallel-for when one is set, else the library's pool or
 * OpenMP, whichever the build has; serially otherwise, and when already
 * inside a region of the same context). It returns when every item is done.
 * Callers must make the result independent of which thread runs which i
 * and of the order in which items run. */
typedef rn_parallel_task_fn rn_task_fn;
void rn__parallel_for(const rn_ctx *ctx, size_t n, rn_task_fn fn, void *arg);

/* A spin lock on an int32_t that reads 0 when free (acquire on lock, release
 * on unlock), for short critical sections shared by threads that each run
 * their own context (a model's shared derived weights). Builds without
 * atomics have no threads: both do nothing there. */
void rn__spin_lock(int32_t *lock);
void rn__spin_unlock(int32_t *lock);
/* Drop the context's pool (joins its threads): at rn_ctx_destroy, and when
 * the thread count or the parallel-for changes (the next region makes a new
 * one). */
void rn__parallel_release(rn_ctx *ctx);

/* The thread pool (threadpool.c; builds with RN_WITH_POOL only). create
 * returns NULL when no worker could start or for in-buffer contexts (which
 * never allocate outside their buffer); threads counts the caller. */
struct rn_pool *rn__pool_create(rn_ctx *ctx, int32_t threads);
void rn__pool_destroy(struct rn_pool *pool);
int32_t rn__pool_threads(const struct rn_pool *pool);
void rn__pool_run(struct rn_pool *pool, size_t n, rn_task_fn fn, void *arg);

/* CPU detection (cached, thread-safe): the best ISA this CPU runs, and the
 * ISA a context capped at `cap` runs: the highest one at or below both the
 * cap and the CPU's best that this build compiled kernels for (RN_HAVE_*).
 * The kernel tables themselves belong to src/kernels (rn__kernels_for_isa);
 * core never includes them. */
int32_t rn__cpu_best_isa(void);
int32_t rn__cpu_isa_for_cap(int32_t cap);
/* Extensions within the best ISA that select a kernel variant (the int8
 * convolution's), cached like the ISA: AVX512_VNNI on x86 with AVX-512,
 * AVX512_BF16 (the bf16 training convolutions'), the dot-product extension
 * on AArch64 (Linux: from AT_HWCAP). */
#define RN_CPU_AVX512VNNI 1u
#define RN_CPU_DOTPROD 2u
#define RN_CPU_AVX512BF16 4u /* AVX512_BF16 (CPUID 7.1 EAX bit 5) */
uint32_t rn__cpu_features(void);
/* The AVX512_BF16 kernels are compiled with a per-function target (no
 * build flag) by compilers that know the extension, GCC and clang 10+. */
#if defined(RN_HAVE_AVX512) && \
    ((defined(__clang__) && __clang_major__ >= 10) || (!defined(__clang__) && __GNUC__ >= 10))
#define RN_HAVE_AVX512BF16 1
#endif
/* 1 when a context whose active ISA is `isa` runs bf16 kernels
 * (RN_OPT_TRAIN_BF16): AVX-512 with AVX512_BF16 and VNNI (the table that has
 * them, src/kernels/dispatch.c), compiled in. */
int32_t rn__cpu_bf16(int32_t isa);

#endif /* RN_INTERNAL_H */
