/*
 * safetensors: a file written by tests/gen/gen_io_fixtures.py from the
 * format's specification (values restated here), writer round trips, the
 * strict JSON header (hostile headers, truncations), and models saved and
 * loaded by torchvision name with the load rules (module. prefix,
 * num_batches_tracked, F16/BF16, missing/unexpected/mis-shaped tensors
 * refused with the model untouched).
 */
#define _POSIX_C_SOURCE 200809L
#include "test_io_common.h"
#include "io/json.h"

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) rn_test_failed_checks++;
    return ctx;
}

static void check_contains(const char *text, const char *fragment) {
    if (!strstr(text, fragment)) {
        fprintf(stderr, "  \"%s\" lacks \"%s\"\n", text, fragment);
        rn_test_failed_checks++;
    }
}

/* ---- the Python-written fixture ------------------------------------------ */
static void test_safetensors_reads_every_dtype_of_the_fixture(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("st_dtypes.safetensors", &size);
    if (!buf) goto done;
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, buf, size, &st), ctx);
    memset(buf, 0, size); /* the handle copied what it needs */
    free(buf);
    if (!st) goto done;
    CHECK(rn_safetensors_count(st) == 8);
    /* header order is kept */
    const char *order[8] = {"g.empty", "c.bf16", "a.f32", "b.f16",
                            "d.i64",   "e.i32",  "f.u8",  "h \"quoted\"\\\xc3\xa9"};
    for (int32_t i = 0; i < 8; i++) {
        const char *name = NULL;
        CHECK_OK(rn_safetensors_info(st, i, &name, NULL, NULL, NULL), ctx);
        CHECK(name && strcmp(name, order[i]) == 0);
    }
    int32_t idx = -1, dtype, ndim;
    int64_t dims[8];
    float f[6];
    CHECK_OK(rn_safetensors_find(st, "a.f32", &idx), ctx);
    CHECK_OK(rn_safetensors_info(st, idx, NULL, &dtype, &ndim, dims), ctx);
    CHECK(dtype == RN_DTYPE_F32 && ndim == 2 && dims[0] == 2 && dims[1] == 3 && dims[2] == 0);
    CHECK_OK(rn_safetensors_read_f32(st, idx, f, 6), ctx);
    CHECK(f[0] == 1.5f && f[1] == -2.0f && f[2] == 3.25f && f[3] == 0.0f && f[4] == 1e-3f &&
          f[5] == -7e5f);
    CHECK_OK(rn_safetensors_find(st, "b.f16", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, f, 4), ctx);
    CHECK(f[0] == 1.0f && f[1] == -2.5f && f[2] == ldexpf(1.0f, -14) && f[3] == 65504.0f);
    CHECK_OK(rn_safetensors_find(st, "c.bf16", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, f, 4), ctx);
    CHECK(f[0] == 1.0f && f[1] == -3.0f && f[2] == 0.15625f && f[3] == ldexpf(1.0f, 100));
    CHECK_OK(rn_safetensors_find(st, "d.i64", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, f, 3), ctx);
    CHECK(f[0] == -5.0f && f[1] == 0.0f && f[2] == ldexpf(1.0f, 40));
    int64_t raw64[3];
    CHECK_OK(rn_safetensors_read_raw(st, idx, raw64, sizeof raw64), ctx);
    CHECK(raw64[0] == -5 && raw64[2] == (int64_t)1 << 40); /* little-endian host */
    CHECK_OK(rn_safetensors_find(st, "e.i32", &idx), ctx);
    CHECK_OK(rn_safetensors_info(st, idx, NULL, &dtype, &ndim, dims), ctx);
    CHECK(dtype == RN_DTYPE_I32 && ndim == 0);
    CHECK_OK(rn_safetensors_read_f32(st, idx, f, 1), ctx);
    CHECK(f[0] == -77.0f);
    CHECK_OK(rn_safetensors_find(st, "f.u8", &idx), ctx);
    unsigned char u[4];
    CHECK_OK(rn_safetensors_read_raw(st, idx, u, 4), ctx);
    CHECK(u[0] == 0 && u[1] == 1 && u[2] == 128 && u[3] == 255);
    CHECK_OK(rn_safetensors_read_f32(st, idx, f, 4), ctx);
    CHECK(f[3] == 255.0f);
    CHECK_OK(rn_safetensors_find(st, "g.empty", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, NULL, 0), ctx);
    CHECK_OK(rn_safetensors_find(st, order[7], &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, f, 1), ctx);
    CHECK(f[0] == 9.0f);
    const char *value = NULL;
    CHECK_OK(rn_safetensors_metadata(st, "format", &value), ctx);
    CHECK(value && strcmp(value, "pt") == 0);
    CHECK_OK(rn_safetensors_metadata(st, "note", &value), ctx);
    CHECK(value && strcmp(value, "caf\xc3\xa9 \"x\"\n\\") == 0);
    CHECK_STATUS(rn_safetensors_metadata(st, "nope", &value), RN_E_NOT_FOUND, ctx);
    CHECK_STATUS(rn_safetensors_find(st, "A.f32", &idx), RN_E_NOT_FOUND, ctx);
    CHECK_STATUS(rn_safetensors_read_f32(st, 0, f, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_read_raw(st, 2, f, 23), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_info(st, 8, NULL, NULL, NULL, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_info(st, -1, NULL, NULL, NULL, NULL), RN_E_INVALID_ARG, ctx);
    rn_safetensors_close(st);
done:
    rn_ctx_destroy(ctx);
}

static void test_safetensors_refuses_every_truncation(void) {
    rn_ctx *ctx = new_ctx();
    size_t size;
    unsigned char *buf = load_fixture("st_dtypes.safetensors", &size);
    if (!buf) goto done;
    for (size_t n = 0; n < size; n++) {
        unsigned char *copy = (unsigned char *)malloc(n ? n : 1);
        memcpy(copy, buf, n);
        rn_safetensors *st = (rn_safetensors *)copy; /* must stay untouched */
        rn_status s = rn_safetensors_open_mem(ctx, copy, n, &st);
        if (s != RN_E_BAD_FORMAT || st != (rn_safetensors *)copy) {
            fprintf(stderr, "  cut to %zu bytes: status %d\n", n, (int)s);
            rn_test_failed_checks++;
        }
        free(copy);
    }
    free(buf);
done:
    rn_ctx_destroy(ctx);
}

/* ---- hand-made headers ------------------------------------------------------ */
static rn_status open_header(rn_ctx *ctx, const char *json, size_t data_bytes) {
    size_t n = strlen(json);
    unsigned char *buf = (unsigned char *)calloc(1, 8 + n + data_bytes + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, json, n);
    rn_safetensors *st = NULL;
    rn_status s = rn_safetensors_open_mem(ctx, buf, 8 + n + data_bytes, &st);
    rn_safetensors_close(st);
    free(buf);
    return s;
}

static void expect_header(rn_ctx *ctx, const char *json, size_t data_bytes, rn_status want,
                          const char *fragment) {
    rn_status s = open_header(ctx, json, data_bytes);
    if (s != want) {
        fprintf(stderr, "  header %s: status %d, expected %d (%s)\n", json, (int)s, (int)want,
                rn_last_error(ctx));
        rn_test_failed_checks++;
    } else if (fragment) {
        check_contains(rn_last_error(ctx), fragment);
    }
}

#define T8(name) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

static void test_safetensors_refuses_hostile_headers(void) {
    rn_ctx *ctx = new_ctx();
    expect_header(ctx, "{" T8("a") "}", 8, RN_OK, NULL);
    expect_header(ctx, "{}", 0, RN_OK, NULL);
    expect_header(ctx, "  {" T8("a") "}  \n ", 8, RN_OK, NULL); /* whitespace padding */
    /* overlapping tensors are accepted: each lies inside the data */
    expect_header(ctx, "{" T8("a") "," T8("b") "}", 8, RN_OK, NULL);
    expect_header(ctx, "{" T8("a") "," T8("a") "}", 8, RN_E_BAD_FORMAT, "'a' appears twice");
    expect_header(ctx,
                  "{\"layer1.0.conv1.weight\":{\"dtype\":\"F32\",\"shape\":[12500],"
                  "\"data_offsets\":[100,50000]}}",
                  40, RN_E_BAD_FORMAT,
                  "tensor 'layer1.0.conv1.weight': data_offsets [100, 50000] exceed the 40 bytes "
                  "of data (offset 8+71)");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8,
                  RN_E_BAD_FORMAT, "reversed");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 16,
                  RN_E_BAD_FORMAT, "hold 8 bytes, shape [3] of F32 needs 12");
    expect_header(ctx,
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                  "\"data_offsets\":[0,8]}}",
                  8, RN_E_OVERFLOW, "overflows");
    expect_header(ctx,
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                  "\"data_offsets\":[0,4]}}",
                  4, RN_E_UNSUPPORTED, "8 dims");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
                  RN_E_UNSUPPORTED, "F8_E4M3");
    expect_header(ctx, "{\"a\\x\":{}}", 0, RN_E_BAD_FORMAT, "invalid escape");
    expect_header(ctx, "{\"a\\ud800\":{}}", 0, RN_E_BAD_FORMAT, "surrogate");
    expect_header(ctx, "{\"a\\udc00\":{}}", 0, RN_E_BAD_FORMAT, "surrogate");
    expect_header(ctx, "{\"a\\u00\":{}}", 0, RN_E_BAD_FORMAT, "hex digits");
    expect_header(ctx, "{\"a\\u0000\":{}}", 0, RN_E_BAD_FORMAT, "u0000");
    expect_header(ctx, "{\"a\x01\":{}}", 0, RN_E_BAD_FORMAT, "control character");
    expect_header(ctx, "{\"a\xff\":{}}", 0, RN_E_BAD_FORMAT, "UTF-8");
    expect_header(ctx, "{\"a\xc0\xaf\":{}}", 0, RN_E_BAD_FORMAT, "UTF-8"); /* overlong '/' */
    expect_header(ctx, "{\"a", 0, RN_E_BAD_FORMAT, "unterminated");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[[2]],\"data_offsets\":[0,8]}}", 8,
                  RN_E_BAD_FORMAT, "expected an integer");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8,
                  RN_E_BAD_FORMAT, "leading zero");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
                  RN_E_BAD_FORMAT, "fraction");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8,
                  RN_E_BAD_FORMAT, "exponent");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                  RN_E_BAD_FORMAT, "non-negative");
    expect_header(ctx,
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,"
                  "99999999999999999999]}}",
                  8, RN_E_BAD_FORMAT, "too large");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8,
                  RN_E_BAD_FORMAT, "exactly two");
    expect_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, RN_E_BAD_FORMAT,
                  "no \"data_offsets\"");
    expect_header(ctx,
                  "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],"
                  "\"data_offsets\":[0,8]}}",
                  8, RN_E_BAD_FORMAT, "repeated key");
    expect_header(ctx,
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
                  "\"extra\":1}}",
                  8, RN_E_BAD_FORMAT, "unknown key");
    expect_header(ctx, "{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                  RN_E_BAD_FORMAT, "expected a string");
    expect_header(ctx, "{" T8("a") "} x", 8, RN_E_BAD_FORMAT, "only padding");
    expect_header(ctx, "{" T8("a") ",}", 8, RN_E_BAD_FORMAT, "expected a string");
    expect_header(ctx, "[1]", 0, RN_E_BAD_FORMAT, "expected '{'");
    expect_header(ctx, "{\"\":{}}", 0, RN_E_BAD_FORMAT, "empty tensor name");
    expect_header(ctx, "{\"__metadata__\":{\"k\":1}}", 0, RN_E_BAD_FORMAT, "must be strings");
    expect_header(ctx, "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, RN_E_BAD_FORMAT,
                  "'k' appears twice");
    expect_header(ctx, "{\"__metadata__\":{},\"__metadata__\":{}}", 0, RN_E_BAD_FORMAT, "repeated");
    expect_header(ctx, "{\"__metadata__\":{\"k\":{\"nested\":\"x\"}}}", 0, RN_E_BAD_FORMAT,
                  "must be strings");

    /* the 8-byte header length: huge, past the end, too short */
    unsigned char b[16] = {0};
    rn_safetensors *st = NULL;
    b[7] = 0x80;
    CHECK_STATUS(rn_safetensors_open_mem(ctx, b, 16, &st), RN_E_BAD_FORMAT, ctx);
    check_contains(rn_last_error(ctx), "100 MB");
    memset(b, 0, 8);
    b[0] = 9;
    CHECK_STATUS(rn_safetensors_open_mem(ctx, b, 16, &st), RN_E_BAD_FORMAT, ctx);
    check_contains(rn_last_error(ctx), "past the end");
    b[0] = 1;
    CHECK_STATUS(rn_safetensors_open_mem(ctx, b, 16, &st), RN_E_BAD_FORMAT, ctx);
    CHECK(st == NULL);
    rn_ctx_destroy(ctx);
}

/* ---- writer ------------------------------------------------------------------ */
static void test_safetensors_writer_round_trips_all_dtypes_and_metadata(void) {
    rn_ctx *ctx = new_ctx();
    rn_safetensors_writer *w = NULL;
    CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
    if (!w) goto done;
    const float f[6] = {1, -2, 3.5f, 1e-20f, -0.0f, 7};
    const int64_t d23[2] = {2, 3}, d3[1] = {3}, d0[1] = {0}, d2[1] = {2};
    const int64_t i64[3] = {-1, (int64_t)1 << 50, 3};
    const int32_t i32 = 12345;
    const uint16_t h[2] = {0x3C00, 0xC000};  /* 1.0, -2.0 in binary16 */
    const uint16_t bf[2] = {0x3F80, 0x4040}; /* 1.0, 3.0 in bfloat16 */
    const unsigned char u8[3] = {7, 8, 9};
    CHECK_OK(rn_safetensors_writer_add(w, "f32", RN_DTYPE_F32, 2, d23, f), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "i64", RN_DTYPE_I64, 1, d3, i64), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "i32 scalar", RN_DTYPE_I32, 0, NULL, &i32), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "f16", RN_DTYPE_F16, 1, d2, h), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "bf16", RN_DTYPE_BF16, 1, d2, bf), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "u8 \"q\"\n\\", RN_DTYPE_U8, 1, d3, u8), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "empty", RN_DTYPE_F32, 1, d0, NULL), ctx);
    CHECK_OK(rn_safetensors_writer_set_metadata(w, "format", "np"), ctx);
    CHECK_OK(rn_safetensors_writer_set_metadata(w, "format", "pt"), ctx); /* replaced */
    CHECK_OK(rn_safetensors_writer_set_metadata(w, "ctl", "\x01\t\xe2\x82\xac"), ctx);
    size_t need = 0, written = 0;
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, &need), ctx);
    unsigned char *buf = (unsigned char *)malloc(need);
    CHECK_STATUS(rn_safetensors_writer_save_mem(w, buf, need - 1, &written), RN_E_BUFFER_TOO_SMALL,
                 ctx);
    CHECK(written == 0);
    CHECK_OK(rn_safetensors_writer_save_mem(w, buf, need, &written), ctx);
    CHECK(written == need);
    /* layout: header length a multiple of 8, data back to back by decreasing
     * element size (i64; f32, i32; f16, bf16; u8), in add order within a size */
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
    CHECK(hlen % 8 == 0 && buf[8] == '{');
    CHECK(need == 8 + hlen + 24 + 24 + 4 + 4 + 4 + 3);
    CHECK(memcmp(buf + 8 + hlen, i64, 24) == 0);
    CHECK(memcmp(buf + 8 + hlen + 24, f, 24) == 0);
    CHECK(memcmp(buf + 8 + hlen + 48, &i32, 4) == 0);
    CHECK(memcmp(buf + 8 + hlen + 52, h, 4) == 0 && memcmp(buf + 8 + hlen + 56, bf, 4) == 0);
    CHECK(memcmp(buf + 8 + hlen + 60, u8, 3) == 0);
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, buf, need, &st), ctx);
    free(buf);
    if (!st) goto done;
    CHECK(rn_safetensors_count(st) == 7);
    int32_t idx;
    float out[6];
    CHECK_OK(rn_safetensors_find(st, "f32", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, out, 6), ctx);
    CHECK(memcmp(out, f, sizeof f) == 0);
    int64_t back64[3];
    CHECK_OK(rn_safetensors_find(st, "i64", &idx), ctx);
    CHECK_OK(rn_safetensors_read_raw(st, idx, back64, sizeof back64), ctx);
    CHECK(memcmp(back64, i64, sizeof i64) == 0);
    CHECK_OK(rn_safetensors_find(st, "f16", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, out, 2), ctx);
    CHECK(out[0] == 1.0f && out[1] == -2.0f);
    CHECK_OK(rn_safetensors_find(st, "bf16", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, out, 2), ctx);
    CHECK(out[0] == 1.0f && out[1] == 3.0f);
    CHECK_OK(rn_safetensors_find(st, "u8 \"q\"\n\\", &idx), ctx);
    CHECK_OK(rn_safetensors_find(st, "i32 scalar", &idx), ctx);
    int32_t dtype, ndim;
    CHECK_OK(rn_safetensors_info(st, idx, NULL, &dtype, &ndim, NULL), ctx);
    CHECK(dtype == RN_DTYPE_I32 && ndim == 0);
    const char *v;
    CHECK_OK(rn_safetensors_metadata(st, "format", &v), ctx);
    CHECK(strcmp(v, "pt") == 0);
    CHECK_OK(rn_safetensors_metadata(st, "ctl", &v), ctx);
    CHECK(strcmp(v, "\x01\t\xe2\x82\xac") == 0);
    rn_safetensors_close(st);

    /* the file version is atomic and reads back the same */
    const char *path = scratch_path("w.safetensors");
    CHECK_OK(rn_safetensors_writer_save_file(w, path), ctx);
    CHECK(count_scratch_entries(".tmp") == 0);
    st = NULL;
    CHECK_OK(rn_safetensors_open_file(ctx, path, &st), ctx);
    CHECK(rn_safetensors_count(st) == 7);
    rn_safetensors_close(st);
    rn_safetensors_writer_destroy(w);
done:
    rn_ctx_destroy(ctx);
}

static void test_safetensors_writer_refuses_bad_tensors(void) {
    rn_ctx *ctx = new_ctx();
    rn_safetensors_writer *w = NULL;
    CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
    if (!w) goto done;
    const float f[2] = {1, 2};
    const int64_t d2[1] = {2}, neg[1] = {-1}, huge[3] = {INT64_MAX, INT64_MAX, 4};
    CHECK_OK(rn_safetensors_writer_add(w, "a", RN_DTYPE_F32, 1, d2, f), ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "a", RN_DTYPE_F32, 1, d2, f), RN_E_INVALID_ARG, ctx);
    check_contains(rn_last_error(ctx), "already added");
    CHECK_STATUS(rn_safetensors_writer_add(w, "__metadata__", RN_DTYPE_F32, 1, d2, f),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "", RN_DTYPE_F32, 1, d2, f), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "bad\xff", RN_DTYPE_F32, 1, d2, f), RN_E_INVALID_ARG,
                 ctx);
    check_contains(rn_last_error(ctx), "UTF-8");
    CHECK_STATUS(rn_safetensors_writer_add(w, "b", 99, 1, d2, f), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 9, d2, f), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 1, neg, f), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 3, huge, f), RN_E_OVERFLOW, ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 1, NULL, f), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 1, d2, NULL), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_safetensors_writer_add(w, NULL, RN_DTYPE_F32, 1, d2, f), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_add(NULL, "b", RN_DTYPE_F32, 1, d2, f), RN_E_INVALID_ARG,
                 NULL);
    CHECK_STATUS(rn_safetensors_writer_set_metadata(w, NULL, "v"), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_set_metadata(w, "k", NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_set_metadata(w, "k", "\xc3"), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_set_metadata(NULL, "k", "v"), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_writer_save_mem(w, NULL, 0, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_save_mem(NULL, NULL, 0, &(size_t){0}), RN_E_INVALID_ARG,
                 NULL);
    CHECK_STATUS(rn_safetensors_writer_save_file(w, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_save_file(NULL, "x"), RN_E_INVALID_ARG, NULL);
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/missing-dir/x.safetensors", scratch_dir());
    CHECK_STATUS(rn_safetensors_writer_save_file(w, bad), RN_E_IO, ctx);
    check_contains(rn_last_error(ctx), "missing-dir");
    CHECK_STATUS(rn_safetensors_writer_create(ctx, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_writer_create(NULL, &w), RN_E_INVALID_ARG, NULL);
    /* one good tensor remains */
    size_t need = 0;
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, &need), ctx);
    unsigned char buf[256];
    CHECK(need <= sizeof buf);
    CHECK_OK(rn_safetensors_writer_save_mem(w, buf, sizeof buf, &need), ctx);
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, buf, need, &st), ctx);
    CHECK(rn_safetensors_count(st) == 1);
    rn_safetensors_close(st);
    rn_safetensors_writer_destroy(w);
    rn_safetensors_writer_destroy(NULL);
done:
    rn_ctx_destroy(ctx);
}

static void test_safetensors_reader_functions_refuse_null_arguments(void) {
    rn_ctx *ctx = new_ctx();
    unsigned char b[16] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    rn_safetensors *st = NULL;
    CHECK_STATUS(rn_safetensors_open_mem(NULL, b, 10, &st), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_open_mem(ctx, NULL, 10, &st), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_open_mem(ctx, b, 10, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_open_file(NULL, "x", &st), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_open_file(ctx, NULL, &st), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_open_file(ctx, "x", NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_safetensors_open_file(ctx, scratch_path("absent.safetensors"), &st), RN_E_IO,
                 ctx);
    check_contains(rn_last_error(ctx), "absent.safetensors");
    CHECK(rn_safetensors_count(NULL) == 0);
    rn_safetensors_close(NULL);
    int32_t i;
    float f[1];
    const char *v;
    CHECK_STATUS(rn_safetensors_info(NULL, 0, NULL, NULL, NULL, NULL), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_find(NULL, "a", &i), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_read_f32(NULL, 0, f, 1), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_read_raw(NULL, 0, f, 4), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_metadata(NULL, "k", &v), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_safetensors_model_dims(NULL, &i, &i), RN_E_INVALID_ARG, NULL);
    CHECK_OK(rn_safetensors_open_mem(ctx, b, 10, &st), ctx);
    if (st) {
        CHECK(rn_safetensors_count(st) == 0);
        CHECK_STATUS(rn_safetensors_find(st, NULL, &i), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_safetensors_find(st, "a", NULL), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_safetensors_find(st, "a", &i), RN_E_NOT_FOUND, ctx);
        CHECK_STATUS(rn_safetensors_metadata(st, NULL, &v), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_safetensors_metadata(st, "k", NULL), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_safetensors_read_f32(st, 0, f, 1), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_safetensors_model_dims(st, &i, &i), RN_E_NOT_FOUND, ctx);
        rn_safetensors_close(st);
    }
    rn_ctx_destroy(ctx);
}

/* ---- models ------------------------------------------------------------------- */
static rn_model *small_model(rn_ctx *ctx, uint64_t seed) {
    rn_model *m = NULL;
    /* CIFAR ResNet-20, 10 classes, 3 input channels */
    if (rn_model_create_preset(ctx, "resnet20", 10, 3, RN_SHORTCUT_DEFAULT, 0, 0, &m) != RN_OK ||
        rn_model_init(m, seed) != RN_OK) {
        fprintf(stderr, "  cannot build resnet20: %s\n", rn_last_error(ctx));
        rn_test_failed_checks++;
        rn_model_destroy(m);
        return NULL;
    }
    /* give the BN buffers and biases values that init leaves at 0 or 1 */
    int32_t n = rn_model_tensor_count(m);
    for (int32_t i = 0; i < n; i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, NULL);
        if (ndim != 1) continue;
        float v[512];
        for (int64_t k = 0; k < dims[0] && k < 512; k++) v[k] = 0.5f + 0.001f * (float)(k + i);
        rn_model_set_tensor(m, name, v, (size_t)dims[0]);
    }
    return m;
}

static size_t tensor_count_of(const rn_model *m, int32_t i, const char **name, int32_t *ndim,
                              int64_t dims[4]) {
    rn_model_tensor_info(m, i, name, ndim, dims, NULL);
    size_t c = 1;
    for (int32_t d = 0; d < *ndim; d++) c *= (size_t)dims[d];
    return c;
}

/* 1 when every tensor of a equals b's. */
static int models_equal(const rn_model *a, const rn_model *b) {
    int32_t n = rn_model_tensor_count(a);
    int same = n == rn_model_tensor_count(b);
    for (int32_t i = 0; same && i < n; i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        size_t c = tensor_count_of(a, i, &name, &ndim, dims);
        float *x = (float *)malloc(c * sizeof(float)), *y = (float *)malloc(c * sizeof(float));
        same = rn_model_get_tensor(a, name, x, c) == RN_OK &&
               rn_model_get_tensor(b, name, y, c) == RN_OK && memcmp(x, y, c * sizeof(float)) == 0;
        free(x);
        free(y);
    }
    return same;
}

static void test_model_save_then_load_restores_every_tensor(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *a = small_model(ctx, 1), *b = small_model(ctx, 2);
    if (!a || !b) goto done;
    CHECK(!models_equal(a, b));
    size_t need = 0, written = 0;
    CHECK_OK(rn_model_save_safetensors_mem(a, NULL, 0, &need), ctx);
    unsigned char *buf = (unsigned char *)malloc(need);
    CHECK_STATUS(rn_model_save_safetensors_mem(a, buf, need - 1, &written), RN_E_BUFFER_TOO_SMALL,
                 ctx);
    CHECK_OK(rn_model_save_safetensors_mem(a, buf, need, &written), ctx);
    CHECK(written == need);
    /* the file holds the model's names, dims and values, as F32, in order */
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, buf, need, &st), ctx);
    if (st) {
        int32_t n = rn_model_tensor_count(a);
        CHECK(rn_safetensors_count(st) == n);
        for (int32_t i = 0; i < n && i < rn_safetensors_count(st); i++) {
            const char *name, *fname;
            int32_t ndim, fndim, dtype;
            int64_t dims[4], fdims[8];
            size_t c = tensor_count_of(a, i, &name, &ndim, dims);
            CHECK_OK(rn_safetensors_info(st, i, &fname, &dtype, &fndim, fdims), ctx);
            CHECK(strcmp(name, fname) == 0 && dtype == RN_DTYPE_F32 && fndim == ndim);
            for (int32_t d = 0; d < ndim; d++) CHECK(fdims[d] == dims[d]);
            float *x = (float *)malloc(c * 4), *y = (float *)malloc(c * 4);
            CHECK_OK(rn_model_get_tensor(a, name, x, c), ctx);
            CHECK_OK(rn_safetensors_read_f32(st, i, y, c), ctx);
            CHECK(memcmp(x, y, c * 4) == 0);
            free(x);
            free(y);
        }
        const char *fmt;
        CHECK_OK(rn_safetensors_metadata(st, "format", &fmt), ctx);
        CHECK(strcmp(fmt, "pt") == 0);
        int32_t classes = 0, in_ch = 0;
        CHECK_OK(rn_safetensors_model_dims(st, &classes, &in_ch), ctx);
        CHECK(classes == 10 && in_ch == 3);
        rn_safetensors_close(st);
    }
    CHECK_OK(rn_model_load_safetensors_mem(b, buf, need), ctx);
    CHECK(models_equal(a, b));
    free(buf);
    /* the file path, atomically */
    rn_model *c = small_model(ctx, 3);
    const char *path = scratch_path("model.safetensors");
    CHECK_OK(rn_model_save_safetensors_file(a, path), ctx);
    CHECK(count_scratch_entries(".tmp") == 0);
    if (c) {
        CHECK_OK(rn_model_load_safetensors_file(c, path), ctx);
        CHECK(models_equal(a, c));
    }
    rn_model_destroy(c);
done:
    rn_model_destroy(a);
    rn_model_destroy(b);
    rn_ctx_destroy(ctx);
}

/* Options for building a file from a model's tensors. */
typedef struct {
    const char *prefix;  /* added before every name */
    int32_t dtype;       /* F32, F16 or BF16 (values rounded toward zero) */
    const char *skip;    /* a tensor left out */
    const char *reshape; /* a tensor whose dim 1 is set to 1 */
    const char *extra;   /* an unknown tensor added */
    int add_nbt;         /* num_batches_tracked beside each running_var */
} file_opts;

static unsigned char *model_file(const rn_model *m, const file_opts *o, size_t *size) {
    rn_ctx *ctx = NULL;
    rn_ctx_create(&ctx);
    rn_safetensors_writer *w = NULL;
    rn_safetensors_writer_create(ctx, &w);
    int32_t n = rn_model_tensor_count(m);
    for (int32_t i = 0; i < n; i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        size_t c = tensor_count_of(m, i, &name, &ndim, dims);
        if (o->skip && !strcmp(name, o->skip)) continue;
        float *x = (float *)malloc(c * 4);
        uint16_t *h = (uint16_t *)malloc(c * 2);
        rn_model_get_tensor(m, name, x, c);
        char full[256];
        snprintf(full, sizeof full, "%s%s", o->prefix ? o->prefix : "", name);
        if (o->reshape && !strcmp(name, o->reshape)) dims[1] = 1;
        const void *data = x;
        if (o->dtype == RN_DTYPE_BF16) {
            for (size_t k = 0; k < c; k++) {
                uint32_t u;
                memcpy(&u, &x[k], 4);
                h[k] = (uint16_t)(u >> 16);
            }
            data = h;
        } else if (o->dtype == RN_DTYPE_F16) {
            /* |values| < 2: normal halves keep the top 10 mantissa bits,
             * smaller ones become subnormal multiples of 2^-24 (truncated) */
            for (size_t k = 0; k < c; k++) {
                uint32_t u;
                memcpy(&u, &x[k], 4);
                uint32_t sign = (u >> 16) & 0x8000, e = (u >> 23) & 0xFF, man = (u >> 13) & 0x3FF;
                if (e >= 113)
                    h[k] = (uint16_t)(sign | ((e - 112) << 10) | man);
                else
                    h[k] = (uint16_t)(sign | (uint32_t)(fabsf(x[k]) * 16777216.0f));
            }
            data = h;
        }
        rn_safetensors_writer_add(w, full, o->dtype, ndim, dims, data);
        if (o->add_nbt && strstr(name, "running_var")) {
            char nbt[256];
            snprintf(nbt, sizeof nbt, "%s%.*snum_batches_tracked", o->prefix ? o->prefix : "",
                     (int)(strlen(name) - strlen("running_var")), name);
            const int64_t steps = 1234;
            rn_safetensors_writer_add(w, nbt, RN_DTYPE_I64, 0, NULL, &steps);
        }
        free(x);
        free(h);
    }
    if (o->extra) {
        const float one = 1;
        const int64_t d1[1] = {1};
        rn_safetensors_writer_add(w, o->extra, RN_DTYPE_F32, 1, d1, &one);
    }
    rn_safetensors_writer_save_mem(w, NULL, 0, size);
    unsigned char *buf = (unsigned char *)malloc(*size);
    rn_safetensors_writer_save_mem(w, buf, *size, size);
    rn_safetensors_writer_destroy(w);
    rn_ctx_destroy(ctx);
    return buf;
}

static void test_model_load_accepts_module_prefix_nbt_and_half_precision(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *a = small_model(ctx, 1), *b = small_model(ctx, 2);
    if (!a || !b) goto done;
    const int32_t dtypes[3] = {RN_DTYPE_F32, RN_DTYPE_F16, RN_DTYPE_BF16};
    for (int k = 0; k < 3; k++) {
        file_opts o = {"module.", dtypes[k], NULL, NULL, NULL, 1};
        size_t size;
        unsigned char *buf = model_file(a, &o, &size);
        CHECK_OK(rn_model_load_safetensors_mem(b, buf, size), ctx);
        /* every value equals a's within the dtype's rounding */
        double tol = k == 0 ? 0 : k == 1 ? 1.0 / 1024 : 1.0 / 128;
        int32_t n = rn_model_tensor_count(a);
        double worst = 0;
        for (int32_t i = 0; i < n; i++) {
            const char *name;
            int32_t ndim;
            int64_t dims[4];
            size_t c = tensor_count_of(a, i, &name, &ndim, dims);
            float *x = (float *)malloc(c * 4), *y = (float *)malloc(c * 4);
            rn_model_get_tensor(a, name, x, c);
            rn_model_get_tensor(b, name, y, c);
            /* relative error, with the F16 subnormal step 2^-24 as the floor */
            for (size_t e = 0; e < c; e++) {
                double err = fabs((double)x[e] - (double)y[e]) /
                             (fabs((double)x[e]) + (k == 1 ? 1024.0 / 16777216.0 : 1e-30));
                if (err > worst) worst = err;
            }
            free(x);
            free(y);
        }
        CHECK(worst <= tol);
        if (k == 1) CHECK(worst > 0); /* F16 really was converted */
        int32_t classes = 0, in_ch = 0;
        rn_safetensors *st = NULL;
        CHECK_OK(rn_safetensors_open_mem(ctx, buf, size, &st), ctx);
        CHECK_OK(rn_safetensors_model_dims(st, &classes, &in_ch), ctx);
        CHECK(classes == 10 && in_ch == 3);
        rn_safetensors_close(st);
        free(buf);
    }
done:
    rn_model_destroy(a);
    rn_model_destroy(b);
    rn_ctx_destroy(ctx);
}

static void expect_load_refused(rn_ctx *ctx, rn_model *target, const rn_model *src,
                                const rn_model *reference, const file_opts *o,
                                const char *fragment) {
    size_t size;
    unsigned char *buf = model_file(src, o, &size);
    CHECK_STATUS(rn_model_load_safetensors_mem(target, buf, size), RN_E_BAD_FORMAT, ctx);
    check_contains(rn_last_error(ctx), fragment);
    CHECK(models_equal(target, reference)); /* untouched */
    free(buf);
}

static void test_model_load_names_the_first_misfit_and_leaves_model_untouched(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *a = small_model(ctx, 1), *b = small_model(ctx, 2), *b_copy = small_model(ctx, 2);
    if (!a || !b || !b_copy) goto done;
    file_opts missing = {NULL, RN_DTYPE_F32, "layer2.1.bn2.running_mean", NULL, NULL, 0};
    expect_load_refused(ctx, b, a, b_copy, &missing,
                        "<memory>: tensor 'layer2.1.bn2.running_mean': missing (the model expects "
                        "shape [32])");
    file_opts reshaped = {NULL, RN_DTYPE_F32, NULL, "conv1.weight", NULL, 0};
    expect_load_refused(
        ctx, b, a, b_copy, &reshaped,
        "tensor 'conv1.weight': shape [16,1,3,3] in file, model expects [16,3,3,3]");
    file_opts extra = {NULL, RN_DTYPE_F32, NULL, NULL, "layer9.0.conv1.weight", 0};
    expect_load_refused(ctx, b, a, b_copy, &extra,
                        "tensor 'layer9.0.conv1.weight': unexpected tensor");
    file_opts twice = {NULL, RN_DTYPE_F32, NULL, NULL, "module.fc.bias", 0};
    expect_load_refused(ctx, b, a, b_copy, &twice, "'module.fc.bias': names the same model tensor");
    file_opts ints = {NULL, RN_DTYPE_I32, NULL, NULL, NULL, 0};
    expect_load_refused(ctx, b, a, b_copy, &ints, "dtype I32");
    /* a model with one input channel refuses the 3-channel file at conv1 */
    rn_model *gray = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 10, 1, RN_SHORTCUT_DEFAULT, 0, 0, &gray), ctx);
    if (gray) {
        size_t size;
        file_opts plain = {NULL, RN_DTYPE_F32, NULL, NULL, NULL, 0};
        unsigned char *buf = model_file(a, &plain, &size);
        CHECK_STATUS(rn_model_load_safetensors_mem(gray, buf, size), RN_E_BAD_FORMAT, ctx);
        check_contains(rn_last_error(ctx), "shape [16,3,3,3] in file, model expects [16,1,3,3]");
        free(buf);
    }
    rn_model_destroy(gray);
    /* not a safetensors file at all */
    CHECK_STATUS(rn_model_load_safetensors_mem(b, "garbage!", 8), RN_E_BAD_FORMAT, ctx);
    CHECK(models_equal(b, b_copy));
done:
    rn_model_destroy(a);
    rn_model_destroy(b);
    rn_model_destroy(b_copy);
    rn_ctx_destroy(ctx);
}

static void test_model_io_functions_refuse_null_arguments(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = small_model(ctx, 1);
    size_t w;
    CHECK_STATUS(rn_model_load_safetensors_mem(NULL, "x", 1), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_model_load_safetensors_file(NULL, "x"), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_model_save_safetensors_mem(NULL, NULL, 0, &w), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_model_save_safetensors_file(NULL, "x"), RN_E_INVALID_ARG, NULL);
    if (m) {
        CHECK_STATUS(rn_model_load_safetensors_mem(m, NULL, 1), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_model_load_safetensors_file(m, NULL), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_model_save_safetensors_mem(m, NULL, 0, NULL), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_model_save_safetensors_file(m, NULL), RN_E_INVALID_ARG, ctx);
        CHECK_STATUS(rn_model_load_safetensors_file(m, scratch_path("none.safetensors")), RN_E_IO,
                     ctx);
    }
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* The scanner's integer limit, for every limit below 10 and around 49 / 50:
 * a value is accepted exactly when it is at most the limit (the expected
 * outcome is the comparison of two small numbers, done here). Before the fix
 * the check max - d wrapped for a digit above the limit, so "7" passed a
 * limit of 5. */
static void test_json_uint_refuses_values_above_small_limits(void) {
    rn_ctx *ctx = new_ctx();
    static const char *const texts[] = {"0",  "1",  "5",  "7",  "9", "10",
                                        "48", "49", "50", "51", "99"};
    static const uint64_t limits[] = {0, 1, 4, 5, 6, 8, 9, 10, 49, 50};
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++)
        for (size_t ti = 0; ti < sizeof texts / sizeof texts[0]; ti++) {
            const uint64_t want = (uint64_t)strtoull(texts[ti], NULL, 10);
            rn_json j;
            rn__json_init(&j, ctx, "<test>", texts[ti], strlen(texts[ti]), 8);
            uint64_t v = 12345;
            rn_status st = rn__json_uint(&j, limits[li], &v);
            if (want <= limits[li]) {
                CHECK(st == RN_OK && v == want);
            } else if (st != RN_E_BAD_FORMAT || v != 12345) {
                fprintf(stderr, "  \"%s\" with limit %llu: status %d, value %llu\n", texts[ti],
                        (unsigned long long)limits[li], (int)st, (unsigned long long)v);
                CHECK(0);
            }
        }
    rn_json j;
    uint64_t v = 0;
    rn__json_init(&j, ctx, "<test>", "18446744073709551615", 20, 8);
    CHECK(rn__json_uint(&j, UINT64_MAX, &v) == RN_OK && v == UINT64_MAX);
    rn__json_init(&j, ctx, "<test>", "18446744073709551616", 20, 8);
    CHECK(rn__json_uint(&j, UINT64_MAX, &v) == RN_E_BAD_FORMAT);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"json_uint_refuses_values_above_small_limits",
     test_json_uint_refuses_values_above_small_limits},
    {"safetensors_reads_every_dtype_of_the_fixture",
     test_safetensors_reads_every_dtype_of_the_fixture},
    {"safetensors_refuses_every_truncation", test_safetensors_refuses_every_truncation},
    {"safetensors_refuses_hostile_headers", test_safetensors_refuses_hostile_headers},
    {"safetensors_writer_round_trips_all_dtypes_and_metadata",
     test_safetensors_writer_round_trips_all_dtypes_and_metadata},
    {"safetensors_writer_refuses_bad_tensors", test_safetensors_writer_refuses_bad_tensors},
    {"safetensors_reader_functions_refuse_null_arguments",
     test_safetensors_reader_functions_refuse_null_arguments},
    {"model_save_then_load_restores_every_tensor", test_model_save_then_load_restores_every_tensor},
    {"model_load_accepts_module_prefix_nbt_and_half_precision",
     test_model_load_accepts_module_prefix_nbt_and_half_precision},
    {"model_load_names_the_first_misfit_and_leaves_model_untouched",
     test_model_load_names_the_first_misfit_and_leaves_model_untouched},
    {"model_io_functions_refuse_null_arguments", test_model_io_functions_refuse_null_arguments},
};
RN_TEST_MAIN(cases)
