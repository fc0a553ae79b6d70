/* Core: status names, version, context options and allocators, tensors. */
#define _POSIX_C_SOURCE 200112L
#include "harness.h"
#include "resnet.h"

static void test_status_strings_are_named(void) {
    CHECK(strstr(rn_status_string(RN_E_INVALID_ARG), "RN_E_INVALID_ARG") != NULL);
    CHECK(strstr(rn_status_string(RN_E_NO_MEMORY), "RN_E_NO_MEMORY") != NULL);
    CHECK(strcmp(rn_status_string(12345), "unknown status") == 0);
    CHECK(RN_E_INVALID_ARG == -1 && RN_E_INTERNAL == -12); /* pinned values */
}

static void test_version_matches_header(void) {
    CHECK(rn_version_number() == RN_VERSION_NUMBER);
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", RN_VERSION_MAJOR, RN_VERSION_MINOR, RN_VERSION_PATCH);
    CHECK(strcmp(rn_version_string(), buf) == 0);
}

static void test_ctx_options_bounds_and_readonly(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    int64_t v = 0;
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_NUM_THREADS, &v), ctx);
    CHECK(v == 1);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2), ctx);
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_NUM_THREADS, &v), ctx);
    CHECK(v == 2);
    CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 0), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "outside") != NULL);
    CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_ACTIVE_ISA, 0), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_ctx_set_int(ctx, 999, 0), RN_E_NOT_FOUND, ctx);
    /* capping the ISA to scalar makes scalar active */
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, RN_ISA_SCALAR), ctx);
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &v), ctx);
    CHECK(v == RN_ISA_SCALAR);
    CHECK(strcmp(rn_isa_name(RN_ISA_AVX512), "avx512") == 0);
    rn_ctx_destroy(ctx);
    CHECK_STATUS(rn_ctx_create(NULL), RN_E_INVALID_ARG, NULL);
    rn_ctx_destroy(NULL);
    CHECK(strcmp(rn_last_error(NULL), "") == 0);
}

static int log_calls;
static void count_log(void *user, int32_t level, const char *msg) {
    (void)user;
    (void)msg;
    if (level == RN_LOG_ERROR) log_calls++;
}

static void test_errors_reach_log_callback(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_ctx_set_log_callback(ctx, count_log, NULL), ctx);
    log_calls = 0;
    rn_tensor *t = NULL;
    CHECK_STATUS(rn_tensor_create(ctx, 0, 1, 1, 1, &t), RN_E_INVALID_ARG, ctx);
    CHECK(log_calls == 1);
    CHECK(t == NULL);
    rn_ctx_destroy(ctx);
}

static int allocs, frees;
static void *counting_alloc(void *user, size_t size, size_t align) {
    (void)user;
    allocs++;
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) ? NULL : p;
}
static void counting_free(void *user, void *p) {
    (void)user;
    if (p) frees++;
    free(p);
}

static void test_custom_allocator_sees_every_allocation(void) {
    rn_ctx *ctx = NULL;
    allocs = frees = 0;
    CHECK_OK(rn_ctx_create_with_allocator(counting_alloc, counting_free, NULL, &ctx), ctx);
    rn_tensor *t = NULL;
    CHECK_OK(rn_tensor_create(ctx, 2, 3, 4, 5, &t), ctx);
    CHECK(allocs == 3); /* ctx, tensor header, data */
    rn_tensor_destroy(t);
    rn_ctx_destroy(ctx);
    CHECK(allocs == frees);
}

static void test_ctx_in_buffer_never_exceeds_buffer(void) {
    static unsigned char buf[4096];
    rn_ctx *ctx = NULL;
    CHECK_STATUS(rn_ctx_create_in_buffer(buf, 16, &ctx), RN_E_BUFFER_TOO_SMALL, NULL);
    CHECK_OK(rn_ctx_create_in_buffer(buf, sizeof buf, &ctx), ctx);
    rn_tensor *t = NULL;
    CHECK_OK(rn_tensor_create(ctx, 1, 4, 4, 4, &t), ctx);
    size_t used = 0, peak = 0;
    CHECK_OK(rn_ctx_arena_usage(ctx, &used, &peak), ctx);
    CHECK(used > 64 * sizeof(float) && used <= sizeof buf);
    rn_tensor *big = NULL;
    CHECK_STATUS(rn_tensor_create(ctx, 1, 64, 64, 64, &big), RN_E_NO_MEMORY, ctx);
    CHECK(big == NULL);
    rn_tensor_destroy(t);
    CHECK_OK(rn_ctx_arena_usage(ctx, &used, &peak), ctx);
    CHECK(used == 0);
    rn_ctx_destroy(ctx);
}

static void test_tensor_shape_errors_and_overflow(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_tensor *t = NULL;
    CHECK_STATUS(rn_tensor_create(ctx, 1, -1, 1, 1, &t), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_tensor_create(ctx, 1 << 20, 1 << 20, 1 << 20, 1, &t), RN_E_OVERFLOW, ctx);
    CHECK_STATUS(rn_tensor_create(ctx, INT64_MAX, INT64_MAX, 2, 2, &t), RN_E_OVERFLOW, ctx);
    CHECK_STATUS(rn_tensor_create(ctx, 1, 1, 1, 1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(t == NULL);
    float data[6];
    CHECK_STATUS(rn_tensor_wrap(ctx, 1, 1, 1, 6, NULL, &t), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_tensor_wrap(ctx, 1, 1, 2, 3, data, &t), ctx);
    CHECK(rn_tensor_data(t) == data);
    CHECK_OK(rn_tensor_fill(t, 2.5f), ctx);
    CHECK(data[5] == 2.5f);
    rn_tensor *u = NULL;
    CHECK_OK(rn_tensor_create(ctx, 1, 2, 1, 3, &u), ctx);
    CHECK_STATUS(rn_tensor_copy(u, t), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "(1,2,1,3)") != NULL);
    rn_tensor_destroy(u);
    rn_tensor_destroy(t);
    rn_ctx_destroy(ctx);
}

static void test_nchw_roundtrip_matches_index_formula(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { N = 2, C = 3, H = 4, W = 5 };
    float nchw[N * C * H * W], back[N * C * H * W];
    for (int i = 0; i < N * C * H * W; i++) nchw[i] = (float)i;
    rn_tensor *t = NULL;
    CHECK_OK(rn_tensor_create(ctx, N, H, W, C, &t), ctx);
    CHECK_OK(rn_tensor_read(t, nchw, N * C * H * W, RN_LAYOUT_NCHW), ctx);
    const float *d = rn_tensor_data_const(t);
    /* element (n=1, c=2, h=3, w=4) sits at NHWC index ((1*H+3)*W+4)*C+2 */
    CHECK(d[((1 * H + 3) * W + 4) * C + 2] == nchw[((1 * C + 2) * H + 3) * W + 4]);
    CHECK_OK(rn_tensor_write(t, back, N * C * H * W, RN_LAYOUT_NCHW), ctx);
    CHECK(memcmp(back, nchw, sizeof back) == 0);
    CHECK_STATUS(rn_tensor_write(t, back, 7, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_tensor_write(t, back, N * C * H * W, 9), RN_E_INVALID_ARG, ctx);
    rn_tensor_destroy(t);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"status_strings_are_named", test_status_strings_are_named},
    {"version_matches_header", test_version_matches_header},
    {"ctx_options_bounds_and_readonly", test_ctx_options_bounds_and_readonly},
    {"errors_reach_log_callback", test_errors_reach_log_callback},
    {"custom_allocator_sees_every_allocation", test_custom_allocator_sees_every_allocation},
    {"ctx_in_buffer_never_exceeds_buffer", test_ctx_in_buffer_never_exceeds_buffer},
    {"tensor_shape_errors_and_overflow", test_tensor_shape_errors_and_overflow},
    {"nchw_roundtrip_matches_index_formula", test_nchw_roundtrip_matches_index_formula},
};
RN_TEST_MAIN(cases)
