/*
 * libFuzzer harness: .npy bytes through rn_npy_info_mem and rn_npy_read_mem
 * (both target types). Built and run by tools/ci/fuzz.sh.
 */
#include <stdlib.h>

#include "resnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) return 0;
    int32_t dtype, ndim;
    int64_t dims[8];
    if (rn_npy_info_mem(ctx, data, size, &dtype, &ndim, dims) != RN_OK) return 0;
    size_t count = 1;
    for (int32_t i = 0; i < ndim; i++) count *= (size_t)dims[i]; /* info checked overflow */
    if (count > ((size_t)1 << 22)) return 0;
    void *dst = malloc(count ? count * 4 : 1);
    if (!dst) return 0;
    /* both succeed or fail cleanly; info having passed, f32 must succeed */
    if (rn_npy_read_mem(ctx, data, size, RN_DTYPE_F32, dst, count) != RN_OK) __builtin_trap();
    (void)rn_npy_read_mem(ctx, data, size, RN_DTYPE_I32, dst, count);
    free(dst);
    return 0;
}
