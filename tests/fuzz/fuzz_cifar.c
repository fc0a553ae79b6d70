/*
 * libFuzzer harness: CIFAR-10 batch bytes (raw or gzip) through
 * rn_cifar10_info_mem and rn_cifar10_read_mem. Built and run by
 * tools/ci/fuzz.sh.
 */
#include <stdlib.h>

#include "resnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    static uint8_t images[4 * 3072], labels[4];
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) return 0;
    size_t records = 0, got = 0;
    rn_status s = rn_cifar10_info_mem(ctx, data, size, &records);
    rn_status r = rn_cifar10_read_mem(ctx, data, size, images, labels, 4, &got);
    if (s != r) __builtin_trap(); /* info and read agree on every input */
    if (s == RN_OK && got != (records < 4 ? records : 4)) __builtin_trap();
    for (size_t i = 0; s == RN_OK && i < got; i++)
        if (labels[i] > 9) __builtin_trap();
    return 0;
}
