/*
 * Test support shared by the kernel and op-driver tests: the kernel table of
 * one ISA when this build and CPU have it, a context capped at an ISA with a
 * thread count, and arrays that end exactly at an inaccessible page (where
 * mmap exists), NaN-filled, so a kernel that reads past its input or reads
 * workspace it did not write shows up. Include after defining _DEFAULT_SOURCE.
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

/* The table for `isa` if this build and CPU have exactly it, else NULL. */
static inline const struct rn_kernels *table_if_available(int32_t isa) {
    const struct rn_kernels *t = rn__kernels_for_isa(isa);
    return t->isa == isa ? t : NULL;
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
