/*
 * libFuzzer harness: IDX bytes (raw or gzip) through rn_idx_info_mem and
 * rn_idx_read_mem. Built and run by tools/ci/fuzz.sh.
 */
#include <stdlib.h>

#include "resnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) return 0;
    int32_t dtype, ndim;
    int64_t dims[8];
    if (rn_idx_info_mem(ctx, data, size, &dtype, &ndim, dims) != RN_OK) return 0;
    size_t count = 1;
    for (int32_t i = 0; i < ndim; i++) count *= (size_t)dims[i];
    if (count > ((size_t)1 << 24)) return 0;
    uint8_t *dst = (uint8_t *)malloc(count ? count : 1);
    if (!dst) return 0;
    rn_status s = rn_idx_read_mem(ctx, data, size, dst, count);
    /* info passed: read fails only for non-ubyte data */
    if (s != RN_OK && !(s == RN_E_UNSUPPORTED && dtype != RN_DTYPE_U8)) __builtin_trap();
    free(dst);
    return 0;
}
