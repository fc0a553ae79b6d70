/*
 * IDX reader: numpy-built raw and Python-gzipped fixtures (values restated
 * here from tests/gen/gen_io_fixtures.py), hostile headers and truncations,
 * and a smoke test on the real Fashion-MNIST files when the Debian package
 * dataset-fashion-mnist is installed.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_io_common.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) rn_test_failed_checks++;
    return ctx;
}

static void check_images(const uint8_t *v) {
    /* images[i][r][c] = (i * 31 + r * 7 + c * 3) % 256 */
    for (int i = 0; i < 3; i++)
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 5; c++)
                CHECK(v[(i * 4 + r) * 5 + c] == (i * 31 + r * 7 + c * 3) % 256);
}

static void test_idx_reads_raw_and_gzip_ubyte_files(void) {
    rn_ctx *ctx = new_ctx();
    const char *names[2] = {"idx_images_3x4x5.idx", "idx_images_3x4x5.idx.gz"};
    for (int k = 0; k < 2; k++) {
        size_t size;
        unsigned char *buf = load_fixture(names[k], &size);
        if (!buf) continue;
        int32_t dtype = -1, ndim = -1;
        int64_t dims[8];
        CHECK_OK(rn_idx_info_mem(ctx, buf, size, &dtype, &ndim, dims), ctx);
        CHECK(dtype == RN_DTYPE_U8 && ndim == 3 && dims[0] == 3 && dims[1] == 4 && dims[2] == 5);
        CHECK(dims[3] == 0);
        uint8_t v[60];
        CHECK_OK(rn_idx_read_mem(ctx, buf, size, v, 60), ctx);
        check_images(v);
        CHECK_STATUS(rn_idx_read_mem(ctx, buf, size, v, 59), RN_E_INVALID_ARG, ctx);
        CHECK(strstr(rn_last_error(ctx), "[3,4,5]") != NULL);
        free(buf);
    }
    size_t size;
    unsigned char *buf = load_fixture("idx_labels_3.idx.gz", &size);
    if (buf) {
        uint8_t l[3];
        CHECK_OK(rn_idx_read_mem(ctx, buf, size, l, 3), ctx);
        CHECK(l[0] == 3 && l[1] == 1 && l[2] == 4);
        free(buf);
    }
    rn_ctx_destroy(ctx);
}

static void test_idx_reports_other_types_and_refuses_to_read_them(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("idx_int_2x2.idx", &size);
    if (!buf) goto done;
    int32_t dtype, ndim;
    int64_t dims[8];
    CHECK_OK(rn_idx_info_mem(ctx, buf, size, &dtype, &ndim, dims), ctx);
    CHECK(dtype == RN_DTYPE_I32 && ndim == 2 && dims[0] == 2 && dims[1] == 2);
    uint8_t v[16] = {0};
    CHECK_STATUS(rn_idx_read_mem(ctx, buf, size, v, 4), RN_E_UNSUPPORTED, ctx);
    CHECK(strstr(rn_last_error(ctx), "0x0c") != NULL);
    CHECK(v[0] == 0);
    free(buf);
    /* every IDX type code is recognised */
    const unsigned char codes[6] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
    const int32_t want[6] = {RN_DTYPE_U8,  RN_DTYPE_I8,  RN_DTYPE_I16,
                             RN_DTYPE_I32, RN_DTYPE_F32, RN_DTYPE_F64};
    const int esize[6] = {1, 1, 2, 4, 4, 8};
    for (int k = 0; k < 6; k++) {
        unsigned char b[8 + 16] = {0, 0, codes[k], 1, 0, 0, 0, 2};
        CHECK_OK(rn_idx_info_mem(ctx, b, 8 + 2 * (size_t)esize[k], &dtype, &ndim, dims), ctx);
        CHECK(dtype == want[k] && ndim == 1 && dims[0] == 2);
    }
done:
    rn_ctx_destroy(ctx);
}

static void expect_bad(rn_ctx *ctx, const unsigned char *b, size_t n, rn_status want,
                       const char *fragment) {
    unsigned char *copy = (unsigned char *)malloc(n ? n : 1);
    memcpy(copy, b, n);
    int32_t dtype = -7, ndim = -7;
    int64_t dims[8] = {-7};
    CHECK_STATUS(rn_idx_info_mem(ctx, copy, n, &dtype, &ndim, dims), want, ctx);
    CHECK(dtype == -7 && ndim == -7 && dims[0] == -7);
    if (fragment && !strstr(rn_last_error(ctx), fragment)) {
        fprintf(stderr, "  error \"%s\" lacks \"%s\"\n", rn_last_error(ctx), fragment);
        rn_test_failed_checks++;
    }
    free(copy);
}

static void test_idx_refuses_hostile_headers(void) {
    rn_ctx *ctx = new_ctx();
    const unsigned char magic[9] = {0, 1, 8, 1, 0, 0, 0, 1, 0};
    expect_bad(ctx, magic, 9, RN_E_BAD_FORMAT, "magic");
    const unsigned char type[9] = {0, 0, 0x0A, 1, 0, 0, 0, 1, 0};
    expect_bad(ctx, type, 9, RN_E_BAD_FORMAT, "0x0a");
    const unsigned char nodims[4] = {0, 0, 8, 0};
    expect_bad(ctx, nodims, 4, RN_E_BAD_FORMAT, "dim count");
    unsigned char many[4 + 36] = {0, 0, 8, 9};
    expect_bad(ctx, many, sizeof many, RN_E_UNSUPPORTED, "9 dims");
    /* 2^32-1 four times overflows any size_t */
    unsigned char huge[4 + 16] = {0, 0, 8, 4};
    memset(huge + 4, 0xFF, 16);
    expect_bad(ctx, huge, sizeof huge, RN_E_OVERFLOW, "overflow");
    /* 2 ubytes promised, 3 present / 1 present */
    const unsigned char extra[11] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3};
    expect_bad(ctx, extra, 11, RN_E_BAD_FORMAT, "needs 2 data bytes at offset 8");
    expect_bad(ctx, extra, 9, RN_E_BAD_FORMAT, "the file has 1");
    expect_bad(ctx, extra, 6, RN_E_BAD_FORMAT, "truncated");
    rn_ctx_destroy(ctx);
}

static void test_idx_refuses_every_truncation_raw_and_gzip(void) {
    rn_ctx *ctx = new_ctx();
    const char *names[2] = {"idx_images_3x4x5.idx", "idx_images_3x4x5.idx.gz"};
    for (int k = 0; k < 2; k++) {
        size_t size;
        unsigned char *buf = load_fixture(names[k], &size);
        if (!buf) continue;
        for (size_t n = 0; n < size; n++) {
            unsigned char *copy = (unsigned char *)malloc(n ? n : 1);
            memcpy(copy, buf, n);
            uint8_t v[60];
            rn_status st = rn_idx_read_mem(ctx, copy, n, v, 60);
            if (st != RN_E_BAD_FORMAT) {
                fprintf(stderr, "  %s cut to %zu: status %d\n", names[k], n, (int)st);
                rn_test_failed_checks++;
            }
            free(copy);
        }
        free(buf);
    }
    rn_ctx_destroy(ctx);
}

static void test_idx_gzip_errors_name_the_file(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("idx_images_3x4x5.idx.gz", &size);
    if (!buf) goto done;
    const char *path = scratch_path("bad-crc.idx.gz");
    buf[size - 6] ^= 0x40; /* CRC-32 */
    CHECK(write_whole(path, buf, size));
    uint8_t v[60];
    CHECK_STATUS(rn_idx_read_file(ctx, path, v, 60), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "bad-crc.idx.gz") && strstr(rn_last_error(ctx), "CRC-32"));
    buf[size - 6] ^= 0x40;
    CHECK(write_whole(path, buf, size));
    CHECK_OK(rn_idx_read_file(ctx, path, v, 60), ctx);
    check_images(v);
    free(buf);
    /* a bad header inside a good gzip names the decompressed data */
    buf = load_fixture("idx_labels_3.idx.gz", &size);
    if (!buf) goto done;
    CHECK_STATUS(rn_idx_read_mem(ctx, buf, size, v, 4), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "<memory> (decompressed)") != NULL);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_idx_functions_refuse_null_arguments(void) {
    rn_ctx *ctx = new_ctx();
    unsigned char b[9] = {0, 0, 8, 1, 0, 0, 0, 1, 5};
    int32_t dt, nd;
    int64_t dims[8];
    uint8_t v[1];
    CHECK_STATUS(rn_idx_info_mem(NULL, b, 9, &dt, &nd, dims), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_idx_info_mem(ctx, NULL, 9, &dt, &nd, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_info_mem(ctx, b, 9, NULL, &nd, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_info_mem(ctx, b, 9, &dt, NULL, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_info_mem(ctx, b, 9, &dt, &nd, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_read_mem(NULL, b, 9, v, 1), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_idx_read_mem(ctx, NULL, 9, v, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_read_mem(ctx, b, 9, NULL, 1), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_idx_read_mem(ctx, b, 9, v, 1), ctx);
    CHECK(v[0] == 5);
    CHECK_STATUS(rn_idx_info_file(NULL, "x", &dt, &nd, dims), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_idx_info_file(ctx, NULL, &dt, &nd, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_info_file(ctx, "x", &dt, &nd, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_read_file(NULL, "x", v, 1), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_idx_read_file(ctx, NULL, v, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_read_file(ctx, "x", NULL, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_idx_info_file(ctx, scratch_path("missing.idx"), &dt, &nd, dims), RN_E_IO, ctx);
    CHECK(strstr(rn_last_error(ctx), "missing.idx") != NULL);
    rn_ctx_destroy(ctx);
}

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* The real dataset as Debian installs it (gzip files); skipped when absent. */
static void test_idx_reads_fashion_mnist_when_installed(void) {
    const char *train_labels = FASHION_DIR "/train-labels-idx1-ubyte.gz";
    if (!file_exists(train_labels)) {
        SKIP("%s not installed", FASHION_DIR);
        return;
    }
    rn_ctx *ctx = new_ctx();
    int32_t dt, nd;
    int64_t dims[8];
    CHECK_OK(rn_idx_info_file(ctx, FASHION_DIR "/train-images-idx3-ubyte.gz", &dt, &nd, dims), ctx);
    CHECK(dt == RN_DTYPE_U8 && nd == 3 && dims[0] == 60000 && dims[1] == 28 && dims[2] == 28);
    CHECK_OK(rn_idx_info_file(ctx, FASHION_DIR "/t10k-images-idx3-ubyte.gz", &dt, &nd, dims), ctx);
    CHECK(dt == RN_DTYPE_U8 && nd == 3 && dims[0] == 10000 && dims[1] == 28 && dims[2] == 28);
    uint8_t *labels = (uint8_t *)malloc(60000);
    CHECK_OK(rn_idx_info_file(ctx, train_labels, &dt, &nd, dims), ctx);
    CHECK(nd == 1 && dims[0] == 60000);
    CHECK_OK(rn_idx_read_file(ctx, train_labels, labels, 60000), ctx);
    int counts[10] = {0}, bad = 0;
    for (int i = 0; i < 60000; i++) {
        if (labels[i] > 9)
            bad++;
        else
            counts[labels[i]]++;
    }
    CHECK(bad == 0);
    for (int c = 0; c < 10; c++) CHECK(counts[c] == 6000); /* the dataset is balanced */
    CHECK_OK(rn_idx_read_file(ctx, FASHION_DIR "/t10k-labels-idx1-ubyte.gz", labels, 10000), ctx);
    for (int i = 0; i < 10000; i++) bad += labels[i] > 9;
    CHECK(bad == 0);
    uint8_t *images = (uint8_t *)malloc(10000 * 784);
    CHECK_OK(rn_idx_read_file(ctx, FASHION_DIR "/t10k-images-idx3-ubyte.gz", images, 10000 * 784),
             ctx);
    /* images are not blank: some pixels are ink, some background */
    size_t zeros = 0;
    for (size_t i = 0; i < 10000 * 784; i++) zeros += images[i] == 0;
    CHECK(zeros > 10000 * 784 / 10 && zeros < 10000 * 784 * 9 / 10);
    free(images);
    free(labels);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"idx_reads_raw_and_gzip_ubyte_files", test_idx_reads_raw_and_gzip_ubyte_files},
    {"idx_reports_other_types_and_refuses_to_read_them",
     test_idx_reports_other_types_and_refuses_to_read_them},
    {"idx_refuses_hostile_headers", test_idx_refuses_hostile_headers},
    {"idx_refuses_every_truncation_raw_and_gzip", test_idx_refuses_every_truncation_raw_and_gzip},
    {"idx_gzip_errors_name_the_file", test_idx_gzip_errors_name_the_file},
    {"idx_functions_refuse_null_arguments", test_idx_functions_refuse_null_arguments},
    {"idx_reads_fashion_mnist_when_installed", test_idx_reads_fashion_mnist_when_installed},
};
RN_TEST_MAIN(cases)
