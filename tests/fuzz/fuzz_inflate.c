/*
 * libFuzzer harness: the library's own DEFLATE and gzip decoder
 * (src/io/inflate.c) on arbitrary bytes, as a raw stream and as a gzip file.
 * Built and run by tools/ci/fuzz.sh.
 */
#include <stdlib.h>

#include "io/io-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    static unsigned char out[1 << 20];
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) return 0;
    size_t got = 0, used = 0;
    if (rn__inflate(ctx, "<fuzz>", 0, data, size, out, sizeof out, &got, &used) == RN_OK &&
        (got > sizeof out || used > size))
        __builtin_trap();
    unsigned char *z = NULL;
    size_t n = 0;
    if (rn__gunzip(ctx, "<fuzz>", data, size, 1 << 20, &z, &n) == RN_OK) {
        /* what gunzip accepts carries a CRC-32 that matches its output */
        if (rn__crc32(0, z, n) != rn__le32(data + size - 8)) __builtin_trap();
        rn__free(ctx, z);
    }
    return 0;
}
