/*
 * CIFAR-10 binary reader: a 3-record fixture written by
 * tests/gen/gen_io_fixtures.py (record k: label (3k) % 10, pixel p
 * (11k + 5p) % 256), raw and gzipped, plus truncated records and bad labels.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_io_common.h"

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) rn_test_failed_checks++;
    return ctx;
}

static int record_ok(const uint8_t *images, const uint8_t *labels, size_t k) {
    if (labels[k] != (3 * k) % 10) return 0;
    for (size_t p = 0; p < 3072; p++)
        if (images[k * 3072 + p] != (11 * k + 5 * p) % 256) return 0;
    return 1;
}

static void test_cifar_reads_records_raw_and_gzip(void) {
    rn_ctx *ctx = new_ctx();
    const char *names[2] = {"cifar_3.bin", "cifar_3.bin.gz"};
    uint8_t *images = (uint8_t *)malloc(3 * 3072);
    uint8_t labels[3];
    for (int k = 0; k < 2; k++) {
        size_t size, records = 0;
        unsigned char *buf = load_fixture(names[k], &size);
        if (!buf) continue;
        CHECK_OK(rn_cifar10_info_mem(ctx, buf, size, &records), ctx);
        CHECK(records == 3);
        records = 0;
        CHECK_OK(rn_cifar10_read_mem(ctx, buf, size, images, labels, 3, &records), ctx);
        CHECK(records == 3);
        for (size_t r = 0; r < 3; r++) CHECK(record_ok(images, labels, r));
        /* fewer records asked for: only those are written */
        memset(images, 0xEE, 3 * 3072);
        labels[2] = 0xEE;
        CHECK_OK(rn_cifar10_read_mem(ctx, buf, size, images, labels, 2, &records), ctx);
        CHECK(records == 2 && record_ok(images, labels, 0) && record_ok(images, labels, 1));
        CHECK(labels[2] == 0xEE && images[2 * 3072] == 0xEE);
        free(buf);
    }
    CHECK_OK(
        rn_cifar10_read_file(ctx, fixture_path("cifar_3.bin"), images, labels, 3, &(size_t){0}),
        ctx);
    size_t records = 0;
    CHECK_OK(rn_cifar10_info_file(ctx, fixture_path("cifar_3.bin.gz"), &records), ctx);
    CHECK(records == 3);
    free(images);
    rn_ctx_destroy(ctx);
}

static void test_cifar_truncated_record_is_named_with_offset(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("cifar_3.bin", &size);
    if (!buf) goto done;
    size_t records = 77;
    CHECK_STATUS(rn_cifar10_info_mem(ctx, buf, 2 * 3073 + 100, &records), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "record 2 is truncated: 100 of 3073 bytes at offset 6146"));
    CHECK(records == 77);
    /* every size that is not a whole number of records is refused */
    for (size_t n = 1; n < size; n++) {
        if (n % 3073 == 0) continue;
        unsigned char *copy = (unsigned char *)malloc(n);
        memcpy(copy, buf, n);
        if (rn_cifar10_info_mem(ctx, copy, n, &records) != RN_E_BAD_FORMAT) {
            fprintf(stderr, "  %zu bytes accepted\n", n);
            rn_test_failed_checks++;
            free(copy);
            break;
        }
        free(copy);
    }
    CHECK_OK(rn_cifar10_info_mem(ctx, buf, 0, &records), ctx); /* empty: no records */
    CHECK(records == 0);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_cifar_label_above_9_is_named_and_outputs_untouched(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("cifar_3.bin", &size);
    if (!buf) goto done;
    buf[3073] = 10; /* record 1 */
    uint8_t images[3 * 3072], labels[3] = {0xAB, 0xAB, 0xAB};
    size_t records = 77;
    CHECK_STATUS(rn_cifar10_read_mem(ctx, buf, size, images, labels, 3, &records), RN_E_BAD_FORMAT,
                 ctx);
    CHECK(strstr(rn_last_error(ctx), "record 1 has label 10 at offset 3073") != NULL);
    CHECK(records == 77 && labels[0] == 0xAB);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_cifar_functions_refuse_null_arguments(void) {
    rn_ctx *ctx = new_ctx();
    unsigned char b[3073] = {0};
    uint8_t img[3072], lab[1];
    size_t rec;
    CHECK_STATUS(rn_cifar10_info_mem(NULL, b, 3073, &rec), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_cifar10_info_mem(ctx, NULL, 3073, &rec), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_info_mem(ctx, b, 3073, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_mem(NULL, b, 3073, img, lab, 1, &rec), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_cifar10_read_mem(ctx, NULL, 3073, img, lab, 1, &rec), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_mem(ctx, b, 3073, NULL, lab, 1, &rec), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_mem(ctx, b, 3073, img, NULL, 1, &rec), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_mem(ctx, b, 3073, img, lab, 1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_mem(ctx, b, 3073, img, lab, SIZE_MAX, &rec), RN_E_OVERFLOW, ctx);
    /* max_records 0 needs no buffers: a check of the file alone */
    CHECK_OK(rn_cifar10_read_mem(ctx, b, 3073, NULL, NULL, 0, &rec), ctx);
    CHECK(rec == 0);
    CHECK_STATUS(rn_cifar10_info_file(NULL, "x", &rec), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_cifar10_info_file(ctx, NULL, &rec), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_info_file(ctx, "x", NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_file(NULL, "x", img, lab, 1, &rec), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_cifar10_read_file(ctx, NULL, img, lab, 1, &rec), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_file(ctx, "x", NULL, lab, 1, &rec), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_file(ctx, "x", img, lab, 1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_cifar10_read_file(ctx, scratch_path("nope.bin"), img, lab, 1, &rec), RN_E_IO,
                 ctx);
    CHECK(strstr(rn_last_error(ctx), "nope.bin") != NULL);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"cifar_reads_records_raw_and_gzip", test_cifar_reads_records_raw_and_gzip},
    {"cifar_truncated_record_is_named_with_offset",
     test_cifar_truncated_record_is_named_with_offset},
    {"cifar_label_above_9_is_named_and_outputs_untouched",
     test_cifar_label_above_9_is_named_and_outputs_untouched},
    {"cifar_functions_refuse_null_arguments", test_cifar_functions_refuse_null_arguments},
};
RN_TEST_MAIN(cases)
