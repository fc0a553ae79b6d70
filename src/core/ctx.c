/*
 * The context: allocator (heap, caller callbacks, or a bump arena inside the
 * caller's buffer), options, threads (the pool's lifetime; parallel.c runs
 * the regions), log callback and the last-error sentence.
 */
#include "internal.h"

/* ---- heap allocator: over-allocate and keep the raw pointer before the block */
static void *heap_alloc(void *user, size_t size, size_t align) {
    (void)user;
    size_t total;
    if (!rn__add_size(size, align + sizeof(void *), &total)) return NULL;
    unsigned char *raw = (unsigned char *)malloc(total);
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t)raw + sizeof(void *) + (align - 1)) & ~(uintptr_t)(align - 1);
    ((void **)p)[-1] = raw;
    return (void *)p;
}
static void heap_free(void *user, void *ptr) {
    (void)user;
    if (ptr) free(((void **)ptr)[-1]);
}

static void ctx_defaults(rn_ctx *ctx) {
    ctx->num_threads = 1;
    ctx->log_level = RN_LOG_WARN;
    ctx->winograd = 1;
    ctx->max_isa = rn__cpu_best_isa();
    /* RN_MAX_ISA caps the kernels for testing and bug triage (like oneDNN's
     * ONEDNN_MAX_CPU_ISA); read once per context, never written. */
    const char *env = getenv("RN_MAX_ISA");
    if (env) {
        int32_t cap = -1;
        if (!strcmp(env, "scalar"))
            cap = RN_ISA_SCALAR;
        else if (!strcmp(env, "avx2"))
            cap = RN_ISA_AVX2;
        else if (!strcmp(env, "avx512"))
            cap = RN_ISA_AVX512;
        else if (!strcmp(env, "neon"))
            cap = RN_ISA_NEON;
        if (cap >= 0) ctx->max_isa = cap;
    }
    ctx->active_isa = rn__cpu_isa_for_cap(ctx->max_isa);
    ctx->last_error[0] = '\0';
}

rn_status rn_ctx_create_with_allocator(rn_alloc_fn alloc, rn_free_fn free_fn, void *user,
                                       rn_ctx **out) {
    if (!alloc || !free_fn || !out) return RN_E_INVALID_ARG;
    rn_ctx *ctx = (rn_ctx *)alloc(user, sizeof(rn_ctx), RN_ALIGN);
    if (!ctx) return RN_E_NO_MEMORY;
    rn_memset(ctx, 0, sizeof *ctx);
    ctx->alloc = alloc;
    ctx->free_fn = free_fn;
    ctx->alloc_user = user;
    ctx_defaults(ctx);
    *out = ctx;
    return RN_OK;
}

rn_status rn_ctx_create(rn_ctx **out) {
    return rn_ctx_create_with_allocator(heap_alloc, heap_free, NULL, out);
}

rn_status rn_ctx_create_in_buffer(void *buffer, size_t size, rn_ctx **out) {
    if (!buffer || !out) return RN_E_INVALID_ARG;
    uintptr_t b = (uintptr_t)buffer;
    uintptr_t start = (b + (RN_ALIGN - 1)) & ~(uintptr_t)(RN_ALIGN - 1);
    size_t head = (size_t)(start - b) + rn__align_up(sizeof(rn_ctx), RN_ALIGN);
    if (size < head) return RN_E_BUFFER_TOO_SMALL;
    rn_ctx *ctx = (rn_ctx *)start;
    rn_memset(ctx, 0, sizeof *ctx);
    ctx->in_buffer = 1;
    ctx->arena_base = (unsigned char *)buffer + head;
    ctx->arena_top = ctx->arena_base;
    ctx->arena_end = (unsigned char *)buffer + size;
    ctx_defaults(ctx);
    *out = ctx;
    return RN_OK;
}

rn_status rn_ctx_arena_usage(const rn_ctx *ctx, size_t *used, size_t *peak) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!used || !peak)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_ctx_arena_usage: %s is NULL",
                         !used ? "used" : "peak");
    *used = ctx->in_buffer ? (size_t)(ctx->arena_top - ctx->arena_base) : 0;
    *peak = ctx->in_buffer ? ctx->arena_peak : 0;
    return RN_OK;
}

void rn_ctx_destroy(rn_ctx *ctx) {
    if (!ctx) return;
    rn__parallel_release(ctx);  /* joins the workers, if any were started */
    if (ctx->in_buffer) return; /* the caller owns an arena's memory */
    ctx->free_fn(ctx->alloc_user, ctx);
}

/* Arena allocations carry a header recording the arena state before them, so
 * frees in reverse order (stack discipline, how scratch is used) give the
 * memory back; any other free is a no-op until the arena is dropped. */
typedef struct arena_header {
    unsigned char *prev_top, *prev_last;
} arena_header;
#define RN_ARENA_HEADER rn__align_up(sizeof(arena_header), RN_ALIGN)

void *rn__alloc(rn_ctx *ctx, size_t size) {
    if (size == 0) size = 1;
    if (!ctx->in_buffer) return ctx->alloc(ctx->alloc_user, size, RN_ALIGN);
    uintptr_t top = ((uintptr_t)ctx->arena_top + (RN_ALIGN - 1)) & ~(uintptr_t)(RN_ALIGN - 1);
    uintptr_t end = (uintptr_t)ctx->arena_end;
    if (top > end || end - top < RN_ARENA_HEADER || size > end - top - RN_ARENA_HEADER) return NULL;
    arena_header *h = (arena_header *)top;
    h->prev_top = ctx->arena_top;
    h->prev_last = ctx->arena_last;
    unsigned char *p = (unsigned char *)top + RN_ARENA_HEADER;
    ctx->arena_last = p;
    ctx->arena_top = p + size;
    size_t used = (size_t)(ctx->arena_top - ctx->arena_base);
    if (used > ctx->arena_peak) ctx->arena_peak = used;
    return p;
}

rn__arena_mark rn__arena_save(const rn_ctx *ctx) {
    rn__arena_mark m;
    m.top = ctx->in_buffer ? ctx->arena_top : NULL;
    m.last = ctx->in_buffer ? ctx->arena_last : NULL;
    return m;
}

void rn__arena_restore(rn_ctx *ctx, rn__arena_mark mark) {
    if (!ctx->in_buffer || !mark.top) return;
    ctx->arena_top = mark.top;
    ctx->arena_last = mark.last;
}

void *rn__calloc(rn_ctx *ctx, size_t count, size_t size) {
    size_t total;
    if (!rn__mul_size(count, size, &total)) return NULL;
    void *p = rn__alloc(ctx, total);
    if (p) rn_memset(p, 0, total);
    return p;
}

void rn__free(rn_ctx *ctx, void *ptr) {
    if (!ptr || !ctx) return;
    if (!ctx->in_buffer) {
        ctx->free_fn(ctx->alloc_user, ptr);
        return;
    }
    if ((unsigned char *)ptr == ctx->arena_last) {
        const arena_header *h = (const arena_header *)((unsigned char *)ptr - RN_ARENA_HEADER);
        ctx->arena_top = h->prev_top;
        ctx->arena_last = h->prev_last;
    }
}

rn_status rn_option_bounds(int32_t key, int64_t *lo, int64_t *hi) {
    if (!lo || !hi) return RN_E_INVALID_ARG;
    switch (key) {
    case RN_OPT_NUM_THREADS:
        *lo = 1;
        *hi = 1024;
        return RN_OK;
    case RN_OPT_MAX_ISA:
        *lo = RN_ISA_SCALAR;
        *hi = RN_ISA_NEON;
        return RN_OK;
    case RN_OPT_ACTIVE_ISA:
        *lo = RN_ISA_SCALAR;
        *hi = RN_ISA_NEON;
        return RN_OK;
    case RN_OPT_LOG_LEVEL:
        *lo = RN_LOG_ERROR;
        *hi = RN_LOG_DEBUG;
        return RN_OK;
    case RN_OPT_DETERMINISTIC:
        *lo = 1;
        *hi = 1;
        return RN_OK;
    case RN_OPT_WINOGRAD:
    case RN_OPT_TRAIN_BF16:
        *lo = 0;
        *hi = 1;
        return RN_OK;
    default: return RN_E_NOT_FOUND;
    }
}

rn_status rn_ctx_set_int(rn_ctx *ctx, int32_t key, int64_t value) {
    if (!ctx) return RN_E_INVALID_ARG;
    int64_t lo, hi;
    if (rn_option_bounds(key, &lo, &hi) != RN_OK)
        return rn__error(ctx, RN_E_NOT_FOUND, "rn_ctx_set_int: unknown option key %d", (int)key);
    if (key == RN_OPT_ACTIVE_ISA || key == RN_OPT_DETERMINISTIC)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_ctx_set_int: option %d is read-only", (int)key);
    if (value < lo || value > hi)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "rn_ctx_set_int: value %lld for option %d is outside [%lld, %lld]",
                         (long long)value, (int)key, (long long)lo, (long long)hi);
    /* bf16 products only where the kernels have them, so the option never
     * changes arithmetic silently: refused without them, and a cap that
     * would leave them is refused while the option is on */
    if (key == RN_OPT_TRAIN_BF16 && value && !rn__cpu_bf16(ctx->active_isa))
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "rn_ctx_set_int: RN_OPT_TRAIN_BF16 needs AVX512_BF16 kernels, which this "
                         "CPU, this build or the RN_OPT_MAX_ISA cap (%s) does not offer",
                         rn_isa_name(ctx->active_isa));
    if (key == RN_OPT_MAX_ISA && ctx->train_bf16 &&
        !rn__cpu_bf16(rn__cpu_isa_for_cap((int32_t)value)))
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "rn_ctx_set_int: RN_OPT_MAX_ISA %s would leave no bf16 kernels while "
                         "RN_OPT_TRAIN_BF16 is 1; set RN_OPT_TRAIN_BF16 to 0 first",
                         rn_isa_name((int32_t)value));
    switch (key) {
    case RN_OPT_NUM_THREADS:
        /* the pool is sized for the old count: the next region makes one */
        if (ctx->num_threads != (int32_t)value) rn__parallel_release(ctx);
        ctx->num_threads = (int32_t)value;
        break;
    case RN_OPT_MAX_ISA:
        ctx->max_isa = (int32_t)value;
        ctx->active_isa = rn__cpu_isa_for_cap(ctx->max_isa);
        if (ctx->active_isa != ctx->max_isa)
            rn__log(ctx, RN_LOG_WARN,
                    "RN_OPT_MAX_ISA %s: not available on this CPU or in this build; running %s",
                    rn_isa_name(ctx->max_isa), rn_isa_name(ctx->active_isa));
        else
            rn__log(ctx, RN_LOG_INFO, "RN_OPT_MAX_ISA %s: running %s kernels",
                    rn_isa_name(ctx->max_isa), rn_isa_name(ctx->active_isa));
        break;
    case RN_OPT_LOG_LEVEL: ctx->log_level = (int32_t)value; break;
    case RN_OPT_WINOGRAD: ctx->winograd = (int32_t)value; break;
    case RN_OPT_TRAIN_BF16: ctx->train_bf16 = (int32_t)value; break;
    default: break;
    }
    return RN_OK;
}

rn_status rn_ctx_get_int(const rn_ctx *ctx, int32_t key, int64_t *value) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!value) return rn__error(ctx, RN_E_INVALID_ARG, "rn_ctx_get_int: value is NULL");
    switch (key) {
    case RN_OPT_NUM_THREADS: *value = ctx->num_threads; return RN_OK;
    case RN_OPT_MAX_ISA: *value = ctx->max_isa; return RN_OK;
    case RN_OPT_ACTIVE_ISA: *value = ctx->active_isa; return RN_OK;
    case RN_OPT_LOG_LEVEL: *value = ctx->log_level; return RN_OK;
    case RN_OPT_DETERMINISTIC: *value = 1; return RN_OK;
    case RN_OPT_WINOGRAD: *value = ctx->winograd; return RN_OK;
    case RN_OPT_TRAIN_BF16: *value = ctx->train_bf16; return RN_OK;
    default:
        return rn__error(ctx, RN_E_NOT_FOUND, "rn_ctx_get_int: unknown option key %d", (int)key);
    }
}

const char *rn_isa_name(int32_t isa) {
    switch (isa) {
    case RN_ISA_SCALAR: return "scalar";
    case RN_ISA_AVX2: return "avx2";
    case RN_ISA_AVX512: return "avx512";
    case RN_ISA_NEON: return "neon";
    default: return "unknown";
    }
}

rn_status rn_ctx_set_log_callback(rn_ctx *ctx, rn_log_fn fn, void *user) {
    if (!ctx) return RN_E_INVALID_ARG;
    ctx->log_fn = fn;
    ctx->log_user = user;
    /* what the context runs, once, for the new callback */
    const char *env = getenv("RN_MAX_ISA");
    if (env && strcmp(env, "scalar") && strcmp(env, "avx2") && strcmp(env, "avx512") &&
        strcmp(env, "neon"))
        rn__log(ctx, RN_LOG_WARN,
                "RN_MAX_ISA=\"%s\" names no ISA (scalar, avx2, avx512, neon): ignored", env);
    rn__log(ctx, RN_LOG_INFO, "libresnet %d.%d.%d: %s kernels (CPU: %s, cap: %s), %d thread%s",
            RN_VERSION_MAJOR, RN_VERSION_MINOR, RN_VERSION_PATCH, rn_isa_name(ctx->active_isa),
            rn_isa_name(rn__cpu_best_isa()), rn_isa_name(ctx->max_isa), (int)ctx->num_threads,
            ctx->num_threads == 1 ? "" : "s");
    return RN_OK;
}

rn_status rn_ctx_set_parallel_for(rn_ctx *ctx, rn_parallel_for_fn fn, void *user) {
    if (!ctx) return RN_E_INVALID_ARG;
    rn__parallel_release(ctx); /* with fn set, no thread of ours may stay */
    ctx->pfor = fn;
    ctx->pfor_user = fn ? user : NULL;
    return RN_OK;
}

const char *rn_last_error(const rn_ctx *ctx) { return ctx ? ctx->last_error : ""; }

static void format_into(char *buf, size_t cap, const char *fmt, va_list ap) {
#ifdef RN_HAVE_VSNPRINTF
    vsnprintf(buf, cap, fmt, ap);
#else
    (void)ap;
    size_t n = rn_strlen(fmt);
    if (n >= cap) n = cap - 1;
    rn_memcpy(buf, fmt, n);
    buf[n] = '\0';
#endif
}

/* The last error is diagnostic state, not part of the context's logical
 * value, so const entry points may set it (hence the cast). */
rn_status rn__error(const rn_ctx *cctx, rn_status status, const char *fmt, ...) {
    if (!cctx) return status;
    rn_ctx *ctx = (rn_ctx *)cctx;
    va_list ap;
    va_start(ap, fmt);
    format_into(ctx->last_error, RN_ERROR_CAP, fmt, ap);
    va_end(ap);
    if (ctx->log_fn) ctx->log_fn(ctx->log_user, RN_LOG_ERROR, ctx->last_error);
    return status;
}

void rn__log(const rn_ctx *ctx, int32_t level, const char *fmt, ...) {
    if (!ctx || !ctx->log_fn || level > ctx->log_level) return;
    char buf[RN_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    format_into(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_user, level, buf);
}

void rn__clear_error(const rn_ctx *ctx) {
    if (ctx) ((rn_ctx *)ctx)->last_error[0] = '\0';
}
