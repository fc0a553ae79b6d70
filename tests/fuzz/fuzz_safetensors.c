/*
 * libFuzzer harness: safetensors bytes through rn_safetensors_open_mem and
 * every accessor; a file that opens is written again with the writer and
 * must reopen to the same tensors (a differential check of reader and
 * writer). Built and run by tools/ci/fuzz.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "resnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) return 0;
    rn_safetensors *st = NULL;
    if (rn_safetensors_open_mem(ctx, data, size, &st) != RN_OK) return 0;
    int32_t classes, in_ch;
    const char *value;
    (void)rn_safetensors_model_dims(st, &classes, &in_ch);
    (void)rn_safetensors_metadata(st, "format", &value);
    rn_safetensors_writer *w = NULL;
    if (rn_safetensors_writer_create(ctx, &w) != RN_OK) __builtin_trap();
    int32_t n = rn_safetensors_count(st);
    for (int32_t i = 0; i < n; i++) {
        const char *name;
        int32_t dtype, ndim, found;
        int64_t dims[8];
        if (rn_safetensors_info(st, i, &name, &dtype, &ndim, dims) != RN_OK) __builtin_trap();
        if (rn_safetensors_find(st, name, &found) != RN_OK || found != i) __builtin_trap();
        size_t count = 1;
        for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
        /* the data lies inside the input, so count is bounded by its size */
        float *f = (float *)malloc(count ? count * sizeof(float) : 1);
        unsigned char *raw = (unsigned char *)malloc(count ? count * 8 : 1);
        size_t es = dtype == RN_DTYPE_F32 || dtype == RN_DTYPE_I32   ? 4
                    : dtype == RN_DTYPE_I64 || dtype == RN_DTYPE_F64 ? 8
                    : dtype == RN_DTYPE_U8 || dtype == RN_DTYPE_I8   ? 1
                                                                     : 2;
        if (!f || !raw || rn_safetensors_read_f32(st, i, f, count) != RN_OK ||
            rn_safetensors_read_raw(st, i, raw, count * es) != RN_OK)
            __builtin_trap();
        if (rn_safetensors_writer_add(w, name, dtype, ndim, dims, raw) != RN_OK) __builtin_trap();
        free(f);
        free(raw);
    }
    size_t need = 0;
    if (rn_safetensors_writer_save_mem(w, NULL, 0, &need) != RN_OK) __builtin_trap();
    unsigned char *again = (unsigned char *)malloc(need);
    rn_safetensors *st2 = NULL;
    if (!again || rn_safetensors_writer_save_mem(w, again, need, &need) != RN_OK ||
        rn_safetensors_open_mem(ctx, again, need, &st2) != RN_OK || rn_safetensors_count(st2) != n)
        __builtin_trap();
    for (int32_t i = 0; i < n; i++) {
        const char *a, *b;
        int32_t da, db, na, nb;
        int64_t xa[8], xb[8];
        rn_safetensors_info(st, i, &a, &da, &na, xa);
        rn_safetensors_info(st2, i, &b, &db, &nb, xb);
        if (strcmp(a, b) || da != db || na != nb || memcmp(xa, xb, sizeof xa)) __builtin_trap();
    }
    rn_safetensors_close(st2);
    free(again);
    rn_safetensors_writer_destroy(w);
    rn_safetensors_close(st);
    return 0;
}
