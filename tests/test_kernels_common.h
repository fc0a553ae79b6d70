/*
 * Test support shared by the kernel and op-driver tests: the kernel table of
 * one ISA when this build and CPU have it, a context capped at an ISA with a
 * thread count, and arrays that end exactly at an inaccessible page (where
 * mmap exists), NaN-filled, so a kernel that reads past its input or reads
 * workspace it did not write shows up; one test per ISA, skipped where the
 * ISA cannot run. Include after tests/harness.h, with _DEFAULT_SOURCE defined.
 */
#ifndef RN_TEST_KERNELS_COMMON_H
#define RN_TEST_KERNELS_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define RN_TEST_GUARD_PAGES 1
#endif

/* The cap the environment's RN_MAX_ISA puts on every context, or -1: the
 * kernel tests honour it too, so that CI can run them under each cap. */
static inline int32_t env_isa_cap(void) {
    const char *env = getenv("RN_MAX_ISA");
    static const char *const names[] = {"scalar", "avx2", "avx512", "neon"};
    for (int32_t i = 0; env && i < 4; i++)
        if (!strcmp(env, names[i])) return i;
    return -1;
}

/* The table for `isa` if this build and CPU have exactly it and RN_MAX_ISA
 * allows it, else NULL. */
static inline const struct rn_kernels *table_if_available(int32_t isa) {
    const int32_t cap = env_isa_cap();
    if (cap >= 0 && isa > cap) return NULL;
    const struct rn_kernels *t = rn__kernels_for_isa(isa);
    return t->isa == isa ? t : NULL;
}

/* The table for `isa`, or NULL after marking the running test skipped (the
 * caller returns): a kernel test for an ISA that cannot run here is reported
 * as skipped, never as passed. */
static inline const struct rn_kernels *table_or_skip(int32_t isa) {
    const struct rn_kernels *t = table_if_available(isa);
    if (!t)
        SKIP("%s kernels: not in this build, not on this CPU, or above RN_MAX_ISA",
             rn_isa_name(isa));
    return t;
}

/* One test per ISA for a function void fn(int32_t isa): fn_scalar ... fn_neon,
 * listed in a case table by RN_ISA_CASES("name", fn) as name_scalar ...
 * name_neon (the suffixes tests/harness.h's "isa=X" filter selects). */
#define RN_PER_ISA(fn)                                   \
    static void fn##_scalar(void) { fn(RN_ISA_SCALAR); } \
    static void fn##_avx2(void) { fn(RN_ISA_AVX2); }     \
    static void fn##_avx512(void) { fn(RN_ISA_AVX512); } \
    static void fn##_neon(void) { fn(RN_ISA_NEON); }
/* The same for the SIMD ISAs only, where the scalar table is the reference. */
#define RN_PER_SIMD_ISA(fn)                              \
    static void fn##_avx2(void) { fn(RN_ISA_AVX2); }     \
    static void fn##_avx512(void) { fn(RN_ISA_AVX512); } \
    static void fn##_neon(void) { fn(RN_ISA_NEON); }
#define RN_SIMD_ISA_CASES(name, fn) \
    {name "_avx2", fn##_avx2}, {name "_avx512", fn##_avx512}, { name "_neon", fn##_neon }
#define RN_ISA_CASES(name, fn)                                                                 \
    {name "_scalar", fn##_scalar}, {name "_avx2", fn##_avx2}, {name "_avx512", fn##_avx512}, { \
        name "_neon", fn##_neon                                                                \
    }

static inline rn_ctx *ctx_for(int32_t isa, int32_t threads) {
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) return NULL;
    if (rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, isa) != RN_OK ||
        rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads) != RN_OK) {
        rn_ctx_destroy(ctx);
        return NULL;
    }
    return ctx;
}

typedef struct guarded {
    void *map;
    size_t len;
} guarded;

/* `bytes` ending at an inaccessible page, every byte 0xFF (a float NaN). */
static inline void *guarded_alloc(guarded *g, size_t bytes) {
    if (!bytes) bytes = 1;
#ifdef RN_TEST_GUARD_PAGES
    size_t page = (size_t)sysconf(_SC_PAGESIZE), data = (bytes + page - 1) / page * page;
    g->len = data + page;
    g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED || mprotect((char *)g->map + data, page, PROT_NONE) != 0) {
        g->map = NULL;
        return NULL;
    }
    memset(g->map, 0xFF, data);
    return (char *)g->map + data - bytes;
#else
    g->map = malloc(bytes);
    if (g->map) memset(g->map, 0xFF, bytes);
    return g->map;
#endif
}

static inline float *guarded_floats(guarded *g, size_t n) {
    return (float *)guarded_alloc(g, (n ? n : 1) * sizeof(float)); /* stays float-aligned */
}

static inline void guarded_free(guarded *g) {
#ifdef RN_TEST_GUARD_PAGES
    if (g->map) munmap(g->map, g->len);
#else
    free(g->map);
#endif
    g->map = NULL;
}

#endif
