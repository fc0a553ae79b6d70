/*
 * libresnet core: status codes, version, the context (allocator, threads,
 * ISA cap, log callback, last error).
 *
 * Every other public header includes this one. The rules that hold for the
 * whole API are stated once here:
 *  - Every fallible call returns rn_status (int32_t): RN_OK (0) or one of the
 *    pinned negative RN_E_* values. rn_status_string() names a status;
 *    rn_last_error() gives the sentence that says what was wrong.
 *  - Outputs are written last and are left untouched when a call fails.
 *  - Handles are opaque and created/destroyed by the library. Destroy
 *    functions accept NULL.
 *  - The library never writes to stdout/stderr, never exits or aborts, starts
 *    threads only for a context whose thread count is above 1 (its own pool,
 *    joined by rn_ctx_destroy, or OpenMP; none with a caller-supplied
 *    parallel-for), and keeps no global mutable state other than a
 *    thread-safe one-time CPU detection.
 *  - Thread-safety: a context and everything created from it may be used by
 *    one thread at a time. Different contexts are independent.
 */
#ifndef RESNET_CORE_H
#define RESNET_CORE_H

#include <stddef.h>
#include <stdint.h>

#define RN_VERSION_MAJOR 0
#define RN_VERSION_MINOR 1
#define RN_VERSION_PATCH 0
#define RN_VERSION_NUMBER (RN_VERSION_MAJOR * 10000 + RN_VERSION_MINOR * 100 + RN_VERSION_PATCH)

/* Export macro. The library is built with -fvisibility=hidden and defines
 * RN_BUILDING_LIBRARY; only declarations marked RN_API are exported. A
 * project that compiles the sources into its own shared library may define
 * RN_API itself (empty, to keep libresnet's functions internal to it, or its
 * own export attribute) before including any libresnet header, for the
 * library's sources and its own alike. */
#if defined(RN_API)
/* the including project's choice */
#elif defined(_WIN32) && defined(RN_SHARED)
#  if defined(RN_BUILDING_LIBRARY)
#    define RN_API __declspec(dllexport)
#  else
#    define RN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define RN_API __attribute__((visibility("default")))
#else
#  define RN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes (values are pinned: they never change) ---------------- */
typedef int32_t rn_status;
#define RN_OK                   0
#define RN_E_INVALID_ARG       -1  /* NULL pointer, bad value, shape mismatch */
#define RN_E_UNSUPPORTED       -2  /* valid request this build cannot serve */
#define RN_E_NO_MEMORY         -3  /* the allocator returned NULL */
#define RN_E_BUFFER_TOO_SMALL  -4  /* caller buffer smaller than needed */
#define RN_E_BAD_STATE         -5  /* call out of order (backward before forward...) */
#define RN_E_BAD_FORMAT        -6  /* malformed or hostile file / buffer */
#define RN_E_VERSION           -7  /* incompatible version or format revision */
#define RN_E_IO                -8  /* the operating system refused a file operation */
#define RN_E_NOT_FOUND         -9  /* a name (parameter, preset, tensor) does not exist */
#define RN_E_OVERFLOW         -10  /* a size computation would overflow */
#define RN_E_NUMERIC          -11  /* NaN or Inf where a finite value was required */
#define RN_E_INTERNAL         -12  /* a bug in libresnet; please report it */

/* Static English name of a status, e.g. "RN_E_INVALID_ARG: invalid argument".
 * Never NULL; unknown values give "unknown status" (a newer library may add
 * codes: treat any negative status as a failure). The string is static: never
 * free it. Thread-safe. */
RN_API const char *rn_status_string(rn_status status);

/* ---- version ------------------------------------------------------------- */
/* The version of the library actually linked or loaded, which may differ from
 * the header's RN_VERSION_*: the same major number means the same ABI
 * (docs/abi.md). Cannot fail; the string is static. Thread-safe. */
RN_API uint32_t rn_version_number(void);     /* RN_VERSION_NUMBER of the built library */
RN_API const char *rn_version_string(void);  /* "MAJOR.MINOR.PATCH" */

/* ---- context -------------------------------------------------------------- */
typedef struct rn_ctx rn_ctx;

/* Allocator callbacks. alloc must return memory aligned to at least `align`
 * (a power of two, at most 4096) or NULL; free accepts NULL. `user` is passed
 * back unchanged. They are called only from inside libresnet calls on the
 * context (or on objects made from it), on the calling thread, never from
 * the worker threads of a parallel loop. */
typedef void *(*rn_alloc_fn)(void *user, size_t size, size_t align);
typedef void (*rn_free_fn)(void *user, void *ptr);

/* Create a context that allocates from the C heap. Reads the environment
 * variable RN_MAX_ISA (scalar|avx2|avx512|neon; other values are ignored)
 * once as the initial ISA cap. Options start at their defaults: 1 thread,
 * log level RN_LOG_WARN, no log callback.
 * Ownership: *out belongs to the caller; release it with rn_ctx_destroy.
 * Errors (no sentence: there is no context yet): RN_E_INVALID_ARG if out is
 * NULL, RN_E_NO_MEMORY. *out is untouched on failure. */
RN_API rn_status rn_ctx_create(rn_ctx **out);

/* Create a context whose every allocation goes through the given callbacks
 * (the context itself included); otherwise as rn_ctx_create. The callbacks
 * and `user` must stay valid until rn_ctx_destroy returns.
 * Errors (no sentence): RN_E_INVALID_ARG if alloc, free_fn or out is NULL;
 * RN_E_NO_MEMORY if alloc refuses the context itself. */
RN_API rn_status rn_ctx_create_with_allocator(rn_alloc_fn alloc, rn_free_fn free_fn,
                                              void *user, rn_ctx **out);

/* Create a context that lives inside the caller's buffer and allocates only
 * from it: a bump arena, where freeing gives memory back only when it is the
 * most recent allocation still live (so destroy objects in reverse order of
 * creation). Never calls malloc; running out of the buffer is RN_E_NO_MEMORY
 * from whichever call needed the memory. The buffer may have any alignment
 * (the context aligns what it hands out to 64 bytes).
 * Ownership: the buffer stays the caller's and must outlive the context and
 * everything made from it; rn_ctx_destroy frees nothing, and once every
 * object is destroyed the buffer may simply be reused.
 * Errors (no sentence): RN_E_INVALID_ARG if buffer or out is NULL;
 * RN_E_BUFFER_TOO_SMALL if `size` cannot hold the context itself. */
RN_API rn_status rn_ctx_create_in_buffer(void *buffer, size_t size, rn_ctx **out);

/* Bytes of the caller's arena in use and its high-water mark, not counting
 * the context itself (both 0 for heap and callback contexts). Run the same
 * code on a host and read `peak` to size a device's buffer.
 * Errors (no sentence): RN_E_INVALID_ARG if any argument is NULL. */
RN_API rn_status rn_ctx_arena_usage(const rn_ctx *ctx, size_t *used, size_t *peak);

/* Destroy a context. Every object created from it must be destroyed first.
 * NULL is accepted. Joins the context's worker threads, if it started any.
 * For an in-buffer context nothing is freed (the buffer is the caller's). */
RN_API void rn_ctx_destroy(rn_ctx *ctx);

/* Options (keys are pinned). rn_option_bounds gives the valid range. They
 * take effect from the next call that uses them (the thread count and ISA
 * cap are read at each run, so they may change between runs of a plan). */
#define RN_OPT_NUM_THREADS   1  /* 1..1024, default 1 (the caller opts in to threads; the
                                  * calling thread counts as one; see docs/api.md "Threads") */
#define RN_OPT_MAX_ISA       2  /* RN_ISA_*: cap on the kernels used; default: best available */
#define RN_OPT_ACTIVE_ISA    3  /* read-only: the ISA actually used (min of cap and CPU) */
#define RN_OPT_LOG_LEVEL     4  /* RN_LOG_*: messages above this level are not sent
                                  * (WARN: fallbacks; INFO: choices, e.g. a plan's
                                  * size; DEBUG: events inside runs; docs/api.md) */
#define RN_OPT_DETERMINISTIC 5  /* read-only, always 1: results do not depend on threads */
#define RN_OPT_WINOGRAD      6  /* 1 (default): plans run 3x3 stride-1 convolutions as
                                  * Winograd where that is faster for their shape (fewer
                                  * multiplications; docs/performance.md): inference plans'
                                  * forward passes as F(4x4,3x3) (error about 3e-6 of the
                                  * largest output instead of 1e-6) or F(2x2,3x3) (about the
                                  * direct path's), training plans' (and train-mode blocks')
                                  * two backward passes as F(4x4,3x3), their forward passes
                                  * staying direct; 0: every convolution direct (the
                                  * arithmetic of the layer API).
                                  * Read when a plan is created (which convolutions take it)
                                  * and at each run (0 then runs those convolutions direct
                                  * too). */
#define RN_OPT_TRAIN_BF16    7  /* 0 (default) or 1: training plans run the forward passes
                                  * of their 3x3 convolutions (and the backward-data passes
                                  * Winograd does not take) with bf16 products and fp32
                                  * sums (mixed precision: weights, gradients, batch norm
                                  * and the optimizer stay fp32); faster, with bf16's error (the
                                  * gates its rounding flips move a ResNet-20 step's
                                  * gradients by 0.1-0.4 relative; docs/performance.md).
                                  * Needs AVX512_BF16: setting 1 where the CPU, the build or
                                  * RN_OPT_MAX_ISA lacks it fails with RN_E_UNSUPPORTED, as
                                  * does lowering RN_OPT_MAX_ISA below it while 1. Read when
                                  * a plan is created and at each run (0 then runs those
                                  * convolutions in fp32). Inference plans never use it. */

#define RN_ISA_SCALAR 0
#define RN_ISA_AVX2   1
#define RN_ISA_AVX512 2
#define RN_ISA_NEON   3

#define RN_LOG_ERROR 0
#define RN_LOG_WARN  1
#define RN_LOG_INFO  2
#define RN_LOG_DEBUG 3

/* Set or read an option.
 * Errors: RN_E_NOT_FOUND for an unknown key (so a program can probe for keys
 * a newer library adds); set: RN_E_INVALID_ARG for a value outside
 * rn_option_bounds or a read-only key (RN_OPT_ACTIVE_ISA,
 * RN_OPT_DETERMINISTIC); RN_E_INVALID_ARG without a sentence for a NULL ctx
 * or value. On failure the option (or *value) is unchanged. */
RN_API rn_status rn_ctx_set_int(rn_ctx *ctx, int32_t key, int64_t value);
RN_API rn_status rn_ctx_get_int(const rn_ctx *ctx, int32_t key, int64_t *value);
/* The inclusive range of an option's values. Needs no context, so it gives no
 * sentence: RN_E_NOT_FOUND for an unknown key, RN_E_INVALID_ARG for NULL
 * outputs. Thread-safe. */
RN_API rn_status rn_option_bounds(int32_t key, int64_t *min_value, int64_t *max_value);

/* Name of an ISA constant ("scalar", "avx2", "avx512", "neon"), or "unknown".
 * The string is static. Thread-safe. */
RN_API const char *rn_isa_name(int32_t isa);

/* Log callback: receives every message at or below RN_OPT_LOG_LEVEL (errors
 * are also stored for rn_last_error). `message` is valid only during the call.
 * It is called synchronously, on the thread of the libresnet call that logs,
 * and should not call libresnet with the same context. fn NULL removes the
 * callback; `user` must stay valid while it is set.
 * Errors: RN_E_INVALID_ARG (no sentence) if ctx is NULL. */
typedef void (*rn_log_fn)(void *user, int32_t level, const char *message);
RN_API rn_status rn_ctx_set_log_callback(rn_ctx *ctx, rn_log_fn fn, void *user);

/* A caller-supplied thread pool (as XNNPACK takes a pthreadpool). fn must
 * call task(task_arg, i) once for every i in [0, n), on any threads, in any
 * order, and return only when every call has returned. With fn set, every
 * parallel region of a call on this context goes to fn (from the thread
 * that made the libresnet call) when RN_OPT_NUM_THREADS > 1, and libresnet
 * starts no thread of its own (a pool it had started is joined here).
 * Set RN_OPT_NUM_THREADS to the pool's width: the work is split more finely
 * for more threads. Results stay bit-identical whatever threads fn uses.
 * fn must not call libresnet with this context; libresnet never calls fn
 * from inside a task (a region nested in another runs on the task's own
 * thread). fn NULL goes back to the library's threads; `user` must stay
 * valid while fn is set. Works for in-buffer contexts too (they never start
 * threads of their own).
 * Errors: RN_E_INVALID_ARG (no sentence) if ctx is NULL. */
typedef void (*rn_parallel_task_fn)(void *task_arg, size_t i);
typedef void (*rn_parallel_for_fn)(void *user, size_t n, rn_parallel_task_fn task,
                                   void *task_arg);
RN_API rn_status rn_ctx_set_parallel_for(rn_ctx *ctx, rn_parallel_for_fn fn, void *user);

/* The sentence describing the most recent failure on this context ("" if
 * none), naming the function, the argument, the shapes or the file offset.
 * Owned by the context: valid until the next call on the context, so copy it
 * to keep it. Calls on a handle (tensor, block, model, plan, ...) report on
 * the context the handle was made from; a call refused for a NULL handle has
 * no context to report on and leaves no sentence. NULL ctx gives "". */
RN_API const char *rn_last_error(const rn_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_CORE_H */
