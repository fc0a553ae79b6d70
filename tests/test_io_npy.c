/*
 * .npy reader and writer: numpy-written fixtures (tests/gen/gen_io_fixtures.py)
 * read back with the values restated here, the writer compared byte for byte
 * with numpy.save, file round trips, and hostile headers.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_io_common.h"

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) rn_test_failed_checks++;
    return ctx;
}

static void test_npy_reads_numpy_f4_matrix(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("npy_f4_2x3.npy", &size);
    if (!buf) goto done;
    int32_t dtype = -1, ndim = -1;
    int64_t dims[8];
    CHECK_OK(rn_npy_info_mem(ctx, buf, size, &dtype, &ndim, dims), ctx);
    CHECK(dtype == RN_DTYPE_F32 && ndim == 2 && dims[0] == 2 && dims[1] == 3 && dims[2] == 0);
    float v[6];
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_F32, v, 6), ctx);
    const float want[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7e5f};
    CHECK(memcmp(v, want, sizeof want) == 0);
    /* float -> int refused; the element count must match */
    int32_t iv[6];
    CHECK_STATUS(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_I32, iv, 6), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_F32, v, 5), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "[2,3]") != NULL);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_npy_i8_converts_to_i32_and_f32_with_range_check(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("npy_i8_5.npy", &size);
    if (!buf) goto done;
    int32_t iv[5];
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_I32, iv, 5), ctx);
    CHECK(iv[0] == 0 && iv[1] == -1 && iv[2] == INT32_MAX && iv[3] == INT32_MIN && iv[4] == 42);
    float fv[5];
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_F32, fv, 5), ctx);
    CHECK(fv[1] == -1.0f && fv[4] == 42.0f && fv[3] == -2147483648.0f);
    free(buf);
    buf = load_fixture("npy_i8_big.npy", &size); /* [1, 2^31, 3] */
    if (!buf) goto done;
    int32_t untouched[3] = {-9, -9, -9};
    CHECK_STATUS(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_I32, untouched, 3), RN_E_OVERFLOW, ctx);
    CHECK(strstr(rn_last_error(ctx), "element 1") != NULL);
    CHECK(untouched[0] == -9 && untouched[2] == -9);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_npy_zero_dim_array_has_one_element(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("npy_i4_scalar.npy", &size);
    if (!buf) goto done;
    int32_t dtype, ndim = -1;
    int64_t dims[8];
    CHECK_OK(rn_npy_info_mem(ctx, buf, size, &dtype, &ndim, dims), ctx);
    CHECK(dtype == RN_DTYPE_I32 && ndim == 0);
    int32_t v = 0;
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_I32, &v, 1), ctx);
    CHECK(v == -123456);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_npy_u8_and_empty_arrays(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("npy_u1_2x2x3.npy", &size);
    if (!buf) goto done;
    int32_t dtype, ndim;
    int64_t dims[8];
    CHECK_OK(rn_npy_info_mem(ctx, buf, size, &dtype, &ndim, dims), ctx);
    CHECK(dtype == RN_DTYPE_U8 && ndim == 3 && dims[0] == 2 && dims[1] == 2 && dims[2] == 3);
    int32_t iv[12];
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_I32, iv, 12), ctx);
    for (int i = 0; i < 12; i++) CHECK(iv[i] == i * 20);
    free(buf);
    buf = load_fixture("npy_f4_0x3.npy", &size);
    if (!buf) goto done;
    CHECK_OK(rn_npy_info_mem(ctx, buf, size, &dtype, &ndim, dims), ctx);
    CHECK(ndim == 2 && dims[0] == 0 && dims[1] == 3);
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_F32, NULL, 0), ctx);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_npy_reads_format_versions_2_and_3(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("npy_v2_f4_3.npy", &size);
    if (!buf) goto done;
    CHECK(buf[6] == 2);
    float f[3];
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_F32, f, 3), ctx);
    CHECK(f[0] == 1.0f && f[1] == 2.0f && f[2] == 3.0f);
    free(buf);
    buf = load_fixture("npy_v3_i4_2.npy", &size);
    if (!buf) goto done;
    CHECK(buf[6] == 3);
    int32_t i[2];
    CHECK_OK(rn_npy_read_mem(ctx, buf, size, RN_DTYPE_I32, i, 2), ctx);
    CHECK(i[0] == 7 && i[1] == -7);
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static void test_npy_refuses_big_endian_f8_and_fortran_order(void) {
    rn_ctx *ctx = new_ctx();
    const char *names[3] = {"npy_be_f4.npy", "npy_f8.npy", "npy_fortran.npy"};
    const char *why[3] = {"'>f4'", "'<f8'", "fortran_order"};
    for (int k = 0; k < 3; k++) {
        size_t size;
        unsigned char *buf = load_fixture(names[k], &size);
        if (!buf) continue;
        int32_t dtype, ndim;
        int64_t dims[8];
        CHECK_STATUS(rn_npy_info_mem(ctx, buf, size, &dtype, &ndim, dims), RN_E_UNSUPPORTED, ctx);
        CHECK(strstr(rn_last_error(ctx), why[k]) != NULL);
        CHECK(strstr(rn_last_error(ctx), "<memory>") != NULL);
        free(buf);
    }
    rn_ctx_destroy(ctx);
}

/* The writer must produce numpy.save's bytes exactly (header padding and all). */
static void check_writer_matches(rn_ctx *ctx, const char *fixture, int32_t dtype, int32_t ndim,
                                 const int64_t *dims, const void *data) {
    size_t size;
    unsigned char *want = load_fixture(fixture, &size);
    if (!want) return;
    size_t need = 0;
    CHECK_OK(rn_npy_write_mem(ctx, dtype, ndim, dims, data, NULL, 0, &need), ctx);
    CHECK(need == size);
    unsigned char *got = (unsigned char *)malloc(size + 16);
    size_t written = 0;
    CHECK_OK(rn_npy_write_mem(ctx, dtype, ndim, dims, data, got, size + 16, &written), ctx);
    if (written != size || memcmp(got, want, size) != 0) {
        fprintf(stderr, "  writer output differs from numpy for %s\n", fixture);
        rn_test_failed_checks++;
    }
    free(got);
    free(want);
}

static void test_npy_writer_matches_numpy_save_bytes(void) {
    rn_ctx *ctx = new_ctx();
    const float f[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7e5f};
    const int64_t d23[2] = {2, 3};
    check_writer_matches(ctx, "npy_f4_2x3.npy", RN_DTYPE_F32, 2, d23, f);
    const int64_t i8[5] = {0, -1, 2147483647LL, -2147483648LL, 42};
    const int64_t d5[1] = {5};
    check_writer_matches(ctx, "npy_i8_5.npy", RN_DTYPE_I64, 1, d5, i8);
    const int32_t scalar = -123456;
    check_writer_matches(ctx, "npy_i4_scalar.npy", RN_DTYPE_I32, 0, NULL, &scalar);
    unsigned char u[12];
    for (int i = 0; i < 12; i++) u[i] = (unsigned char)(i * 20);
    const int64_t d223[3] = {2, 2, 3};
    check_writer_matches(ctx, "npy_u1_2x2x3.npy", RN_DTYPE_U8, 3, d223, u);
    const int64_t d03[2] = {0, 3};
    check_writer_matches(ctx, "npy_f4_0x3.npy", RN_DTYPE_F32, 2, d03, NULL);
    float big[2000];
    for (int i = 0; i < 2000; i++) big[i] = (float)i;
    const int64_t d8[8] = {1000, 1, 2, 1, 1, 1, 1, 1};
    check_writer_matches(ctx, "npy_f4_8d.npy", RN_DTYPE_F32, 8, d8, big);
    rn_ctx_destroy(ctx);
}

static void test_npy_write_mem_refuses_small_buffer_and_bad_args(void) {
    rn_ctx *ctx = new_ctx();
    const float f[2] = {1, 2};
    const int64_t dims[1] = {2};
    unsigned char buf[256];
    size_t written = 777;
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F32, 1, dims, f, buf, 100, &written),
                 RN_E_BUFFER_TOO_SMALL, ctx);
    CHECK(written == 777);
    CHECK(strstr(rn_last_error(ctx), "136") != NULL); /* 128-byte header + 8 data bytes */
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F16, 1, dims, f, buf, 256, &written),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F32, 9, dims, f, buf, 256, &written),
                 RN_E_INVALID_ARG, ctx);
    const int64_t neg[1] = {-2};
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F32, 1, neg, f, buf, 256, &written),
                 RN_E_INVALID_ARG, ctx);
    const int64_t huge[3] = {INT64_MAX, INT64_MAX, 2};
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F32, 3, huge, f, NULL, 0, &written), RN_E_OVERFLOW,
                 ctx);
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F32, 1, NULL, f, buf, 256, &written),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F32, 1, dims, NULL, buf, 256, &written),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_write_mem(ctx, RN_DTYPE_F32, 1, dims, f, buf, 256, NULL), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_npy_write_mem(NULL, RN_DTYPE_F32, 1, dims, f, buf, 256, &written),
                 RN_E_INVALID_ARG, NULL);
    CHECK(written == 777);
    rn_ctx_destroy(ctx);
}

static void test_npy_functions_refuse_null_arguments(void) {
    rn_ctx *ctx = new_ctx();
    unsigned char b[16] = {0};
    int32_t dt, nd;
    int64_t dims[8];
    float f[1];
    CHECK_STATUS(rn_npy_info_mem(NULL, b, 16, &dt, &nd, dims), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_npy_info_mem(ctx, NULL, 16, &dt, &nd, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_info_mem(ctx, b, 16, NULL, &nd, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_info_mem(ctx, b, 16, &dt, NULL, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_info_mem(ctx, b, 16, &dt, &nd, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_read_mem(NULL, b, 16, RN_DTYPE_F32, f, 1), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_npy_read_mem(ctx, NULL, 16, RN_DTYPE_F32, f, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_read_mem(ctx, b, 16, RN_DTYPE_F32, NULL, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_read_mem(ctx, b, 16, RN_DTYPE_U8, f, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_info_file(NULL, "x", &dt, &nd, dims), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_npy_info_file(ctx, NULL, &dt, &nd, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_info_file(ctx, "x", NULL, &nd, dims), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_read_file(NULL, "x", RN_DTYPE_F32, f, 1), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_npy_read_file(ctx, NULL, RN_DTYPE_F32, f, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_read_file(ctx, "x", RN_DTYPE_F32, NULL, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_read_file(ctx, "x", 99, f, 1), RN_E_INVALID_ARG, ctx);
    const int64_t d1[1] = {1};
    CHECK_STATUS(rn_npy_write_file(NULL, "x", RN_DTYPE_F32, 1, d1, f), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_npy_write_file(ctx, NULL, RN_DTYPE_F32, 1, d1, f), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_write_file(ctx, "x", RN_DTYPE_F32, 1, NULL, f), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_npy_write_file(ctx, "x", RN_DTYPE_F32, 1, d1, NULL), RN_E_INVALID_ARG, ctx);
    rn_ctx_destroy(ctx);
}

static void test_npy_file_round_trip_is_atomic_and_leaves_no_temporary(void) {
    rn_ctx *ctx = new_ctx();
    const char *path = scratch_path("round.npy");
    int32_t data[6] = {1, -2, 3, -4, 5, -6};
    const int64_t dims[2] = {3, 2};
    CHECK_OK(rn_npy_write_file(ctx, path, RN_DTYPE_I32, 2, dims, data), ctx);
    int32_t dt, nd;
    int64_t got_dims[8];
    CHECK_OK(rn_npy_info_file(ctx, path, &dt, &nd, got_dims), ctx);
    CHECK(dt == RN_DTYPE_I32 && nd == 2 && got_dims[0] == 3 && got_dims[1] == 2);
    float f[6];
    CHECK_OK(rn_npy_read_file(ctx, path, RN_DTYPE_F32, f, 6), ctx);
    for (int i = 0; i < 6; i++) CHECK(f[i] == (float)data[i]);
    /* overwrite in place: the new content replaces the old one whole */
    const int64_t d1[1] = {1};
    CHECK_OK(rn_npy_write_file(ctx, path, RN_DTYPE_I32, 1, d1, data), ctx);
    CHECK_OK(rn_npy_info_file(ctx, path, &dt, &nd, got_dims), ctx);
    CHECK(nd == 1 && got_dims[0] == 1);
    CHECK(count_scratch_entries(".tmp") == 0);
    rn_ctx_destroy(ctx);
}

static void test_npy_file_errors_name_path_and_reason(void) {
    rn_ctx *ctx = new_ctx();
    int32_t dt, nd;
    int64_t dims[8];
    const char *missing = scratch_path("does-not-exist.npy");
    CHECK_STATUS(rn_npy_info_file(ctx, missing, &dt, &nd, dims), RN_E_IO, ctx);
    CHECK(strstr(rn_last_error(ctx), "does-not-exist.npy") != NULL);
    CHECK(strstr(rn_last_error(ctx), "No such file") != NULL);
    /* a directory is not a file */
    CHECK_STATUS(rn_npy_info_file(ctx, scratch_dir(), &dt, &nd, dims), RN_E_IO, ctx);
    /* writing into a missing directory fails with the OS reason */
    const float f[1] = {1};
    const int64_t d1[1] = {1};
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/no/such/dir.npy", scratch_dir());
    CHECK_STATUS(rn_npy_write_file(ctx, bad, RN_DTYPE_F32, 1, d1, f), RN_E_IO, ctx);
    CHECK(strstr(rn_last_error(ctx), "No such file") != NULL);
    /* renaming over a directory fails after the data was written: the
     * temporary is removed and the directory is intact */
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/target-dir", scratch_dir());
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_STATUS(rn_npy_write_file(ctx, dir, RN_DTYPE_F32, 1, d1, f), RN_E_IO, ctx);
    CHECK(strstr(rn_last_error(ctx), "rename") != NULL);
    CHECK(count_scratch_entries(".tmp") == 0);
    CHECK(count_scratch_entries("target-dir") == 1);
    /* a corrupt file names the path */
    const char *corrupt = scratch_path("corrupt.npy");
    CHECK(write_whole(corrupt, "\x93NUMPY\x01\x00\xff\xff", 10));
    CHECK_STATUS(rn_npy_info_file(ctx, corrupt, &dt, &nd, dims), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "corrupt.npy") != NULL);
    rn_ctx_destroy(ctx);
}

/* Build a v1.0 .npy from a header text and data bytes. */
static size_t make_npy(unsigned char *out, const char *header, const void *data, size_t n) {
    size_t h = strlen(header);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)(h & 0xFF);
    out[9] = (unsigned char)(h >> 8);
    memcpy(out + 10, header, h);
    if (n) memcpy(out + 10 + h, data, n);
    return 10 + h + n;
}

static void expect_bad(rn_ctx *ctx, const char *header, size_t data_bytes, rn_status want,
                       const char *fragment) {
    unsigned char buf[1024];
    unsigned char data[64] = {0};
    size_t n = make_npy(buf, header, data, data_bytes);
    int32_t dt, nd;
    int64_t dims[8];
    CHECK_STATUS(rn_npy_info_mem(ctx, buf, n, &dt, &nd, dims), want, ctx);
    if (fragment && !strstr(rn_last_error(ctx), fragment)) {
        fprintf(stderr, "  header %s: error \"%s\" lacks \"%s\"\n", header, rn_last_error(ctx),
                fragment);
        rn_test_failed_checks++;
    }
}

static void test_npy_refuses_hostile_headers(void) {
    rn_ctx *ctx = new_ctx();
    /* the reference: a good header with 8 data bytes */
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, RN_OK, NULL);
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 7,
               RN_E_BAD_FORMAT, "needs 8 data bytes");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 9,
               RN_E_BAD_FORMAT, "needs 8 data bytes");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }\n", 8,
               RN_E_BAD_FORMAT, "(n,)");
    expect_bad(ctx, "{'descr': '<f4', 'shape': (2,), }\n", 8, RN_E_BAD_FORMAT, "fortran_order");
    expect_bad(ctx, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8,
               RN_E_BAD_FORMAT, "repeated");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8,
               RN_E_BAD_FORMAT, "unknown key");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", 8, RN_E_BAD_FORMAT,
               "offset 61");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 8,
               RN_E_BAD_FORMAT, "64 bits");
    expect_bad(ctx,
               "{'descr': '<f4', 'fortran_order': False, 'shape': "
               "(4294967296, 4294967296, 4294967296)}",
               8, RN_E_OVERFLOW, "overflow");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4,
               RN_E_UNSUPPORTED, "8 dims");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,)}", 8, RN_E_BAD_FORMAT,
               "True or False");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", 8,
               RN_E_BAD_FORMAT, "padding");
    expect_bad(ctx, "{'descr': '<f4\x01', 'fortran_order': False, 'shape': (2,)}", 8,
               RN_E_BAD_FORMAT, "0x01");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, RN_E_BAD_FORMAT,
               "end of the header");
    expect_bad(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'sha", 8,
               RN_E_BAD_FORMAT, "unterminated");
    expect_bad(ctx, "{'descr': 'S10', 'fortran_order': False, 'shape': (2,)}", 8, RN_E_UNSUPPORTED,
               "'S10'");
    expect_bad(ctx, "", 0, RN_E_BAD_FORMAT, "expected '{'");
    /* header length beyond the file, bad magic, bad versions */
    unsigned char buf[64];
    int32_t dt, nd;
    int64_t dims[8];
    memcpy(buf, "\x93NUMPY\x01\x00\xff\x7f", 10);
    CHECK_STATUS(rn_npy_info_mem(ctx, buf, 10, &dt, &nd, dims), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "past the end") != NULL);
    memcpy(buf, "\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
    CHECK_STATUS(rn_npy_info_mem(ctx, buf, 12, &dt, &nd, dims), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "limit") != NULL);
    memcpy(buf, "\x93NUMPY\x04\x00\x00\x00", 10);
    CHECK_STATUS(rn_npy_info_mem(ctx, buf, 10, &dt, &nd, dims), RN_E_VERSION, ctx);
    memcpy(buf, "\x93NUMPX\x01\x00\x00\x00", 10);
    CHECK_STATUS(rn_npy_info_mem(ctx, buf, 10, &dt, &nd, dims), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "magic") != NULL);
    rn_ctx_destroy(ctx);
}

/* Every prefix of a valid file is refused, and the outputs stay untouched. */
static void test_npy_refuses_every_truncation(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("npy_f4_2x3.npy", &size);
    if (!buf) goto done;
    for (size_t n = 0; n < size; n++) {
        unsigned char *copy = (unsigned char *)malloc(n ? n : 1); /* ASan sees any over-read */
        memcpy(copy, buf, n);
        int32_t dt = -5, nd = -5;
        int64_t dims[8] = {-5};
        float v[6] = {-5};
        rn_status st = rn_npy_info_mem(ctx, copy, n, &dt, &nd, dims);
        rn_status st2 = rn_npy_read_mem(ctx, copy, n, RN_DTYPE_F32, v, 6);
        if (st != RN_E_BAD_FORMAT || st2 != RN_E_BAD_FORMAT || dt != -5 || nd != -5 ||
            dims[0] != -5 || v[0] != -5) {
            fprintf(stderr, "  truncation to %zu bytes: status %d/%d\n", n, (int)st, (int)st2);
            rn_test_failed_checks++;
        }
        free(copy);
    }
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"npy_reads_numpy_f4_matrix", test_npy_reads_numpy_f4_matrix},
    {"npy_i8_converts_to_i32_and_f32_with_range_check",
     test_npy_i8_converts_to_i32_and_f32_with_range_check},
    {"npy_zero_dim_array_has_one_element", test_npy_zero_dim_array_has_one_element},
    {"npy_u8_and_empty_arrays", test_npy_u8_and_empty_arrays},
    {"npy_reads_format_versions_2_and_3", test_npy_reads_format_versions_2_and_3},
    {"npy_refuses_big_endian_f8_and_fortran_order",
     test_npy_refuses_big_endian_f8_and_fortran_order},
    {"npy_writer_matches_numpy_save_bytes", test_npy_writer_matches_numpy_save_bytes},
    {"npy_write_mem_refuses_small_buffer_and_bad_args",
     test_npy_write_mem_refuses_small_buffer_and_bad_args},
    {"npy_functions_refuse_null_arguments", test_npy_functions_refuse_null_arguments},
    {"npy_file_round_trip_is_atomic_and_leaves_no_temporary",
     test_npy_file_round_trip_is_atomic_and_leaves_no_temporary},
    {"npy_file_errors_name_path_and_reason", test_npy_file_errors_name_path_and_reason},
    {"npy_refuses_hostile_headers", test_npy_refuses_hostile_headers},
    {"npy_refuses_every_truncation", test_npy_refuses_every_truncation},
};
RN_TEST_MAIN(cases)
