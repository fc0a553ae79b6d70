/*
 * CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin), raw or
 * gzip-compressed: a sequence of 3073-byte records, one label byte (0..9)
 * then the 32x32 image as 1024 red, 1024 green and 1024 blue bytes, rows
 * top to bottom (Krizhevsky's dataset page). Images are returned as stored.
 */
#include "io-internal.h"

#define CIFAR_IMAGE 3072
#define CIFAR_RECORD 3073
/* A batch is 30 MB; all six together 184 MB. */
#define CIFAR_MAX_BYTES ((size_t)1 << 30)

/* Check the whole buffer: every record complete, every label in 0..9. */
static rn_status cifar_check(const rn_ctx *ctx, const char *src, const unsigned char *b,
                             size_t size, size_t *records) {
    size_t n = size / CIFAR_RECORD;
    if (size % CIFAR_RECORD)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: CIFAR-10: record %zu is truncated: %zu of "
                         "%d bytes at offset %zu",
                         src, n, size % CIFAR_RECORD, CIFAR_RECORD, n * CIFAR_RECORD);
    for (size_t r = 0; r < n; r++) {
        unsigned label = b[r * CIFAR_RECORD];
        if (label > 9)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: CIFAR-10: record %zu has label %u at "
                             "offset %zu, not in 0..9",
                             src, r, label, r * CIFAR_RECORD);
    }
    *records = n;
    return RN_OK;
}

static rn_status check_read_args(rn_ctx *ctx, const char *fn, uint8_t *images, uint8_t *labels,
                                 size_t max_records, size_t *records) {
    size_t bytes;
    if (!records) return rn__error(ctx, RN_E_INVALID_ARG, "%s: records is NULL", fn);
    if (max_records > 0 && (!images || !labels))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn,
                         !images ? "images" : "labels");
    if (!rn__mul_size(max_records, CIFAR_IMAGE, &bytes))
        return rn__error(ctx, RN_E_OVERFLOW, "%s: max_records %zu overflows the image size", fn,
                         max_records);
    return RN_OK;
}

/* The info (want_data 0) and read functions (fn): the arguments checked, then
 * path (from_file) or buf[0, size) read. */
static rn_status cifar_read(rn_ctx *ctx, const char *fn, int from_file, const char *path,
                            const void *buf, size_t size, uint8_t *images, uint8_t *labels,
                            size_t max_records, size_t *records, int want_data) {
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_read(ctx, fn, from_file, path, buf, NULL, 0));
    if (want_data)
        RN_TRY(check_read_args(ctx, fn, images, labels, max_records, records));
    else if (!records)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: records is NULL", fn);
    rn__clear_error(ctx);
    rn__input in;
    rn_status st = rn__input_open(ctx, path, buf, size, CIFAR_MAX_BYTES, 1, &in);
    if (st) return st;
    const unsigned char *data = in.data;
    size_t total = 0;
    st = cifar_check(ctx, in.name, data, in.size, &total);
    if (st == RN_OK) {
        size_t take = total;
        if (want_data) {
            take = total < max_records ? total : max_records;
            for (size_t r = 0; r < take; r++) {
                labels[r] = data[r * CIFAR_RECORD];
                rn_memcpy(images + r * CIFAR_IMAGE, data + r * CIFAR_RECORD + 1, CIFAR_IMAGE);
            }
        }
        *records = take;
    }
    rn__input_free(ctx, &in);
    return st;
}

rn_status rn_cifar10_info_mem(rn_ctx *ctx, const void *buf, size_t size, size_t *records) {
    return cifar_read(ctx, "rn_cifar10_info_mem", 0, NULL, buf, size, NULL, NULL, 0, records, 0);
}

rn_status rn_cifar10_read_mem(rn_ctx *ctx, const void *buf, size_t size, uint8_t *images,
                              uint8_t *labels, size_t max_records, size_t *records) {
    return cifar_read(ctx, "rn_cifar10_read_mem", 0, NULL, buf, size, images, labels, max_records,
                      records, 1);
}

#ifndef RN_NO_IO
rn_status rn_cifar10_info_file(rn_ctx *ctx, const char *path, size_t *records) {
    return cifar_read(ctx, "rn_cifar10_info_file", 1, path, NULL, 0, NULL, NULL, 0, records, 0);
}

rn_status rn_cifar10_read_file(rn_ctx *ctx, const char *path, uint8_t *images, uint8_t *labels,
                               size_t max_records, size_t *records) {
    return cifar_read(ctx, "rn_cifar10_read_file", 1, path, NULL, 0, images, labels, max_records,
                      records, 1);
}
#else
rn_status rn_cifar10_info_file(rn_ctx *ctx, const char *path, size_t *records) {
    (void)path, (void)records;
    return rn__no_file_io(ctx, "rn_cifar10_info_file");
}
rn_status rn_cifar10_read_file(rn_ctx *ctx, const char *path, uint8_t *images, uint8_t *labels,
                               size_t max_records, size_t *records) {
    (void)path, (void)images, (void)labels, (void)max_records, (void)records;
    return rn__no_file_io(ctx, "rn_cifar10_read_file");
}
#endif
