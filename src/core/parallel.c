/*
 * The parallel-for hook. OpenMP is its body when the library is built with
 * RESNET_OPENMP; otherwise, or inside an enclosing parallel region (no nested
 * oversubscription), the loop runs serially. Threads come only from here.
 */
#include "internal.h"
#ifdef RN_WITH_OPENMP
#include <omp.h>
#endif

void rn__parallel_for(const rn_ctx *ctx, size_t n, rn_task_fn fn, void *arg) {
#ifdef RN_WITH_OPENMP
    int threads = ctx ? ctx->num_threads : 1;
    if (threads > 1 && n > 1 && !omp_in_parallel()) {
        if ((size_t)threads > n) threads = (int)n;
        long long count = (long long)n;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (long long i = 0; i < count; i++) fn(arg, (size_t)i);
        return;
    }
#else
    (void)ctx;
#endif
    for (size_t i = 0; i < n; i++) fn(arg, i);
}
