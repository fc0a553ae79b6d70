/*
 * Hostile use of the whole public API: every function declared RN_API is
 * called with bad arguments (NULL handles and pointers, wrong shapes, buffers
 * too small, out-of-range options, calls out of order, names that do not
 * exist, sizes that overflow) and must return the status the headers promise,
 * leave its outputs untouched, and, where a context is reachable, send a
 * fresh sentence to that context's log callback and rn_last_error. It must
 * never crash: the ASan + UBSan stage of tools/test.sh runs this file too.
 *
 * Coverage is checked, not hoped for: every MISUSE/COVER records the name of
 * the function it calls, and the last test reads the public headers (the same
 * rule as tools/list_api.sh: a line starting with RN_API declares the rn_
 * function before its first parenthesis) and fails for any declared function
 * that no test called.
 *
 * "Fresh sentence" is observed through the log callback (every rn__error
 * reaches it at RN_LOG_ERROR), so a stale message from an earlier call cannot
 * pass for the one this call should have written.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>

#include "harness.h"
#include "resnet.h"

/* ---- recording which functions were called ------------------------------- */
#define MAX_NAMES 512
#define NAME_CAP 64
static char covered[MAX_NAMES][NAME_CAP];
static int num_covered;

/* The function name at the start of a stringified call "rn_x(a, b)". */
static void name_of(const char *text, char *name) {
    size_t n = 0;
    while (*text == ' ' || *text == '(') text++;
    while (n + 1 < NAME_CAP &&
           (text[n] == '_' || (text[n] >= 'a' && text[n] <= 'z') ||
            (text[n] >= 'A' && text[n] <= 'Z') || (text[n] >= '0' && text[n] <= '9'))) {
        name[n] = text[n];
        n++;
    }
    name[n] = '\0';
}

static void cover(const char *call_text) {
    char name[NAME_CAP];
    name_of(call_text, name);
    for (int i = 0; i < num_covered; i++)
        if (!strcmp(covered[i], name)) return;
    if (num_covered < MAX_NAMES) strcpy(covered[num_covered++], name);
}

static int is_covered(const char *name) {
    for (int i = 0; i < num_covered; i++)
        if (!strcmp(covered[i], name)) return 1;
    return 0;
}

/* ---- error sentences, observed through the log callback ------------------- */
static int log_errors;
static void on_log(void *user, int32_t level, const char *message) {
    (void)user;
    if (level == RN_LOG_ERROR && message && message[0]) log_errors++;
}

static int misuse_calls; /* bad calls made, for the record in docs/reliability.md */

static void verify(const char *file, int line, const char *text, int got, int want,
                   const rn_ctx *ctx, int errors_before) {
    const char *why = NULL;
    char buf[160];
    misuse_calls++;
    if (got != want) {
        snprintf(buf, sizeof buf, "returned %d (%s), expected %d", got, rn_status_string(got),
                 want);
        why = buf;
    } else if (ctx && log_errors == errors_before) {
        why = "failed without sending a sentence to the context's log";
    } else if (ctx && rn_last_error(ctx)[0] == '\0') {
        why = "failed with an empty rn_last_error";
    }
    if (why) {
        fprintf(stderr, "  %s:%d: %s %s; last error: \"%s\"\n", file, line, text, why,
                rn_last_error(ctx));
        rn_test_failed_checks++;
    }
}

/* `call` must return `want`; when `ctx` is not NULL it must also have sent a
 * fresh error sentence (ctx is NULL where the call can reach no context). */
#define MISUSE(call, want, ctx)                                               \
    do {                                                                      \
        int before_ = log_errors;                                             \
        cover(#call);                                                         \
        int got_ = (int)(call);                                               \
        verify(__FILE__, __LINE__, #call, got_, (int)(want), (ctx), before_); \
    } while (0)
/* Functions that return no status (destroy, counts, names) are called too. */
#define COVER(call)   \
    do {              \
        cover(#call); \
        call;         \
    } while (0)
#define COVERED(expr) (cover(#expr), (expr))

static int says(const rn_ctx *ctx, const char *needle) {
    if (strstr(rn_last_error(ctx), needle)) return 1;
    fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", rn_last_error(ctx), needle);
    return 0;
}

/* ---- fixtures --------------------------------------------------------------- */
#define SENTINEL 12345.0f
static char sentinel_object;
#define SENTINEL_PTR ((void *)&sentinel_object)
static const char *no_dir_path = "rn-misuse-no-such-dir/sub/file.bin";
static const char *missing_path = "rn-misuse-no-such-file.bin";

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    if (ctx) CHECK_OK(rn_ctx_set_log_callback(ctx, on_log, NULL), ctx);
    return ctx;
}

/* CIFAR ResNet-20 at width 4 (filters 4, 8, 16): small and fast, yet every
 * kind of layer and an option-A shortcut that widens. */
static rn_model *small_model(rn_ctx *ctx, int32_t classes) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", classes, 0, RN_SHORTCUT_DEFAULT, 4, 0, &m),
             ctx);
    if (m) CHECK_OK(rn_model_init(m, 7), ctx);
    return m;
}

static rn_tensor *make(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c) {
    rn_tensor *t = NULL;
    CHECK_OK(rn_tensor_create(ctx, n, h, w, c, &t), ctx);
    if (t) rn_test_fill_uniform(rn_tensor_data(t), (size_t)rn_tensor_numel(t), -1, 1);
    return t;
}
static rn_tensor *make_out(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c) {
    rn_tensor *t = make(ctx, n, h, w, c);
    if (t) rn_tensor_fill(t, SENTINEL);
    return t;
}
static int untouched(const rn_tensor *t) {
    for (int64_t i = 0; i < rn_tensor_numel(t); i++)
        if (rn_tensor_data_const(t)[i] != SENTINEL) return 0;
    return 1;
}
static int all_sentinel(const float *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != SENTINEL) return 0;
    return 1;
}
static void fill_sentinel(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = SENTINEL;
}

static void *always_fail_alloc(void *user, size_t size, size_t align) {
    (void)user, (void)size, (void)align;
    return NULL;
}
static void plain_free(void *user, void *p) {
    (void)user;
    free(p);
}
static void *plain_alloc(void *user, size_t size, size_t align) {
    (void)user;
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) ? NULL : p;
}

/* ---- core ------------------------------------------------------------------- */
static void test_context_refuses_null_out_range_and_read_only_options(void) {
    CHECK(strcmp(COVERED(rn_status_string(-999)), "unknown status") == 0);
    CHECK(strcmp(rn_status_string(INT32_MIN), "unknown status") == 0);
    /* no arguments to misuse: called for coverage and checked against the header */
    CHECK(COVERED(rn_version_number()) == RN_VERSION_NUMBER);
    CHECK(COVERED(rn_version_string()) != NULL);

    rn_ctx *c = (rn_ctx *)SENTINEL_PTR;
    MISUSE(rn_ctx_create(NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_create_with_allocator(NULL, plain_free, NULL, &c), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_create_with_allocator(plain_alloc, NULL, NULL, &c), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_create_with_allocator(plain_alloc, plain_free, NULL, NULL), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_ctx_create_with_allocator(always_fail_alloc, plain_free, NULL, &c), RN_E_NO_MEMORY,
           NULL);
    static unsigned char arena[1 << 14];
    MISUSE(rn_ctx_create_in_buffer(NULL, sizeof arena, &c), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_create_in_buffer(arena, 0, &c), RN_E_BUFFER_TOO_SMALL, NULL);
    MISUSE(rn_ctx_create_in_buffer(arena, 16, &c), RN_E_BUFFER_TOO_SMALL, NULL);
    MISUSE(rn_ctx_create_in_buffer(arena, sizeof arena, NULL), RN_E_INVALID_ARG, NULL);
    CHECK(c == (rn_ctx *)SENTINEL_PTR);

    rn_ctx *ctx = new_ctx();
    size_t used = 7, peak = 7;
    MISUSE(rn_ctx_arena_usage(NULL, &used, &peak), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_arena_usage(ctx, NULL, &peak), RN_E_INVALID_ARG, ctx);
    CHECK(used == 7 && peak == 7);
    COVER(rn_ctx_destroy(NULL));

    MISUSE(rn_ctx_set_int(NULL, RN_OPT_NUM_THREADS, 1), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 1025), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, INT64_MAX), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, INT64_MIN), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "outside"));
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, 99), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, -1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_LOG_LEVEL, RN_LOG_DEBUG + 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, 2), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, -1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_ACTIVE_ISA, RN_ISA_SCALAR), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, RN_OPT_DETERMINISTIC, 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_set_int(ctx, 0, 1), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_ctx_set_int(ctx, -7, 1), RN_E_NOT_FOUND, ctx);
    int64_t v = 99;
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_NUM_THREADS, &v), ctx);
    CHECK(v == 1); /* every refused set left the option alone */
    v = 99;
    MISUSE(rn_ctx_get_int(NULL, RN_OPT_NUM_THREADS, &v), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_get_int(ctx, RN_OPT_NUM_THREADS, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_ctx_get_int(ctx, 12345, &v), RN_E_NOT_FOUND, ctx);
    CHECK(v == 99);
    int64_t lo = 5, hi = 5;
    MISUSE(rn_option_bounds(999, &lo, &hi), RN_E_NOT_FOUND, NULL);
    MISUSE(rn_option_bounds(RN_OPT_NUM_THREADS, NULL, &hi), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_option_bounds(RN_OPT_NUM_THREADS, &lo, NULL), RN_E_INVALID_ARG, NULL);
    CHECK(lo == 5 && hi == 5);
    CHECK(strcmp(COVERED(rn_isa_name(-1)), "unknown") == 0);
    CHECK(strcmp(rn_isa_name(INT32_MAX), "unknown") == 0);
    MISUSE(rn_ctx_set_log_callback(NULL, on_log, NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_ctx_set_parallel_for(NULL, NULL, NULL), RN_E_INVALID_ARG, NULL);
    CHECK(strcmp(COVERED(rn_last_error(NULL)), "") == 0);
    rn_ctx_destroy(ctx);
}

/* ---- tensors ---------------------------------------------------------------- */
static void test_tensors_refuse_bad_dims_overflow_and_mismatched_buffers(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *t = (rn_tensor *)SENTINEL_PTR;
    MISUSE(rn_tensor_create(NULL, 1, 1, 1, 1, &t), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_tensor_create(ctx, 0, 1, 1, 1, &t), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_create(ctx, 1, 1, 1, -5, &t), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_create(ctx, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, &t), RN_E_OVERFLOW,
           ctx);
    MISUSE(rn_tensor_create(ctx, 1 << 20, 1 << 20, 1, 2, &t), RN_E_OVERFLOW, ctx); /* 2^41 */
    MISUSE(rn_tensor_create(ctx, 1, 1, 1, RN_TENSOR_MAX_ELEMENTS + 1, &t), RN_E_OVERFLOW, ctx);
    MISUSE(rn_tensor_create(ctx, 1, 1, 1, 1, NULL), RN_E_INVALID_ARG, ctx);
    float buf[8] = {0};
    MISUSE(rn_tensor_wrap(NULL, 1, 1, 1, 4, buf, &t), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_tensor_wrap(ctx, 1, 1, 1, 4, NULL, &t), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_wrap(ctx, 1, 1, 1, 4, (float *)(void *)((char *)buf + 1), &t),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_wrap(ctx, 1, 0, 1, 4, buf, &t), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_wrap(ctx, 1, 1, 1, 4, buf, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(t == (rn_tensor *)SENTINEL_PTR);
    COVER(rn_tensor_destroy(NULL));

    rn_tensor *a = make_out(ctx, 1, 2, 2, 3), *b = make(ctx, 1, 2, 3, 2);
    int64_t dims[4] = {-1, -1, -1, -1};
    MISUSE(rn_tensor_shape(NULL, dims), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_tensor_shape(a, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(dims[0] == -1);
    CHECK(COVERED(rn_tensor_numel(NULL)) == 0);
    CHECK(COVERED(rn_tensor_data(NULL)) == NULL);
    CHECK(COVERED(rn_tensor_data_const(NULL)) == NULL);
    MISUSE(rn_tensor_fill(NULL, 1.0f), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_tensor_copy(NULL, b), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_tensor_copy(a, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_copy(a, b), RN_E_INVALID_ARG, ctx); /* same count, other shape */
    CHECK(says(ctx, "(1,2,3,2)"));
    float src[12], dst[12];
    rn_test_fill_uniform(src, 12, -1, 1);
    fill_sentinel(dst, 12);
    MISUSE(rn_tensor_read(NULL, src, 12, RN_LAYOUT_NHWC), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_tensor_read(a, NULL, 12, RN_LAYOUT_NHWC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_read(a, src, 11, RN_LAYOUT_NHWC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_read(a, src, 13, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_read(a, src, 12, 2), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_read(a, src, 12, -1), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(a));
    MISUSE(rn_tensor_write(NULL, dst, 12, RN_LAYOUT_NHWC), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_tensor_write(a, NULL, 12, RN_LAYOUT_NHWC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_write(a, dst, 11, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_tensor_write(a, dst, 12, 7), RN_E_INVALID_ARG, ctx);
    CHECK(all_sentinel(dst, 12));
    MISUSE(rn_nchw_to_nhwc(NULL, dst, 1, 3, 2, 2), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_nchw_to_nhwc(src, NULL, 1, 3, 2, 2), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_nchw_to_nhwc(src, src, 1, 3, 2, 2), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_nchw_to_nhwc(src, dst, 0, 3, 2, 2), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_nchw_to_nhwc(src, dst, INT64_MAX, INT64_MAX, 2, 2), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_nhwc_to_nchw(src, src, 1, 2, 2, 3), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_nhwc_to_nchw(src, dst, 1, 2, -2, 3), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_nhwc_to_nchw(src, dst, 1, 1 << 30, 1 << 30, 1 << 30), RN_E_INVALID_ARG, NULL);
    CHECK(all_sentinel(dst, 12));
    rn_tensor_destroy(a), rn_tensor_destroy(b);
    rn_ctx_destroy(ctx);
}

/* ---- layers ----------------------------------------------------------------- */
static void test_layers_refuse_null_context_bad_shapes_and_bad_windows(void) {
    rn_ctx *ctx = new_ctx();
    CHECK(COVERED(rn_conv_out_size(5, 3, 0, 1)) == -1);
    CHECK(rn_conv_out_size(2, 7, 1, 1) == -1);
    CHECK(rn_conv_out_size(INT64_MAX, 3, 1, INT64_MAX) == -1);

    rn_tensor *x = make(ctx, 2, 6, 6, 4), *w = make(ctx, 8, 3, 3, 4), *bias = make(ctx, 1, 1, 1, 8);
    rn_tensor *y = make_out(ctx, 2, 6, 6, 8), *bad = make_out(ctx, 2, 5, 5, 8);
    rn_tensor *dx = make_out(ctx, 2, 6, 6, 4), *dw = make_out(ctx, 8, 3, 3, 4);
    MISUSE(rn_conv2d_forward(NULL, x, w, bias, 1, 1, 1, 1, y), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_conv2d_forward(ctx, NULL, w, bias, 1, 1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_forward(ctx, x, w, bias, 0, 1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_forward(ctx, x, w, bias, 1, 1, -1, 1, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_forward(ctx, x, w, bias, 1, 1, 1, 1, bad), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_forward(ctx, x, w, dw, 1, 1, 1, 1, y), RN_E_INVALID_ARG, ctx); /* bias */
    MISUSE(rn_conv2d_forward(ctx, y, w, bias, 1, 1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_backward_data(NULL, y, w, 1, 1, 1, 1, dx), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_conv2d_backward_data(ctx, bad, w, 1, 1, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_backward_data(ctx, y, w, 1, INT32_MIN, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_backward_weights(NULL, x, y, 1, 1, 1, 1, dw, NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_conv2d_backward_weights(ctx, x, bad, 1, 1, 1, 1, dw, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_conv2d_backward_weights(ctx, x, y, 1, 1, 1, 1, dw, dx), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(y) && untouched(bad) && untouched(dx) && untouched(dw));

    /* batch norm over (2,6,6,4); a single value per channel cannot be trained */
    rn_tensor *g = make(ctx, 1, 1, 1, 4), *be = make(ctx, 1, 1, 1, 4);
    rn_tensor *rm = make_out(ctx, 1, 1, 1, 4), *rv = make_out(ctx, 1, 1, 1, 4);
    rn_tensor *sm = make_out(ctx, 1, 1, 1, 4), *si = make_out(ctx, 1, 1, 1, 4);
    rn_tensor *g5 = make(ctx, 1, 1, 1, 5), *by = make_out(ctx, 2, 6, 6, 4);
    rn_tensor *one = make(ctx, 1, 1, 1, 4), *one_y = make_out(ctx, 1, 1, 1, 4);
    MISUSE(rn_batchnorm_forward_train(NULL, x, g, be, rm, rv, 0.1f, 1e-5f, by, sm, si),
           RN_E_INVALID_ARG, NULL);
    MISUSE(rn_batchnorm_forward_train(ctx, x, g5, be, rm, rv, 0.1f, 1e-5f, by, sm, si),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_batchnorm_forward_train(ctx, one, g, be, rm, rv, 0.1f, 1e-5f, one_y, sm, si),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_batchnorm_forward_train(ctx, x, g, be, rm, rv, 0.1f, 1e-5f, by, NULL, si),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_batchnorm_forward_eval(NULL, x, g, be, rm, rv, 1e-5f, by), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_batchnorm_forward_eval(ctx, x, g, be, g5, rv, 1e-5f, by), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_batchnorm_forward_eval(ctx, x, g, be, rm, rv, 1e-5f, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_batchnorm_backward(NULL, x, x, g, sm, si, dx, sm, si), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_batchnorm_backward(ctx, x, y, g, sm, si, dx, rm, rv), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_batchnorm_backward(ctx, x, x, g, sm, si, dx, g5, rv), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(rm) && untouched(rv) && untouched(sm) && untouched(si) && untouched(by));
    CHECK(untouched(dx) && untouched(one_y));

    MISUSE(rn_relu_forward(NULL, x, by), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_relu_forward(ctx, x, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_relu_backward(NULL, x, x, by), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_relu_backward(ctx, x, y, by), RN_E_INVALID_ARG, ctx);

    rn_tensor *p = make_out(ctx, 2, 3, 3, 4);
    MISUSE(rn_maxpool_forward(NULL, x, 2, 2, 2, 2, 0, 0, p), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_maxpool_forward(ctx, x, 2, 2, 2, 2, 2, 0, p), RN_E_INVALID_ARG, ctx); /* pad>=k */
    MISUSE(rn_maxpool_forward(ctx, x, 0, 2, 2, 2, 0, 0, p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_maxpool_forward(ctx, x, 9, 9, 1, 1, 1, 1, p), RN_E_INVALID_ARG, ctx); /* too big */
    MISUSE(rn_maxpool_forward(ctx, x, 2, 2, 1, 1, 0, 0, p), RN_E_INVALID_ARG, ctx); /* 5x5 */
    MISUSE(rn_maxpool_backward(NULL, x, p, 2, 2, 2, 2, 0, 0, dx), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_maxpool_backward(ctx, x, p, 2, 2, 2, 2, 0, 0, bad), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(p));

    rn_tensor *gp = make_out(ctx, 2, 1, 1, 4), *gp5 = make_out(ctx, 2, 1, 1, 5);
    MISUSE(rn_global_avgpool_forward(NULL, x, gp), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_global_avgpool_forward(ctx, x, gp5), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_global_avgpool_backward(NULL, gp, dx), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_global_avgpool_backward(ctx, gp5, dx), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(gp) && untouched(gp5) && untouched(dx));

    rn_tensor *fx = make(ctx, 2, 1, 1, 4), *fw = make(ctx, 3, 1, 1, 4), *fb = make(ctx, 1, 1, 1, 3);
    rn_tensor *fy = make_out(ctx, 2, 1, 1, 3), *fw5 = make(ctx, 3, 1, 1, 5);
    rn_tensor *fdx = make_out(ctx, 2, 1, 1, 4), *fdw = make_out(ctx, 3, 1, 1, 4);
    MISUSE(rn_linear_forward(NULL, fx, fw, fb, fy), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_linear_forward(ctx, fx, fw5, fb, fy), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_linear_forward(ctx, fx, fw, g, fy), RN_E_INVALID_ARG, ctx); /* bias of 4 */
    MISUSE(rn_linear_backward(NULL, fx, fw, fy, fdx, fdw, NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_linear_backward(ctx, fx, fw, fy, fdx, fw5, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_linear_backward(ctx, fx, fw, fy, fdx, NULL, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(fy) && untouched(fdx) && untouched(fdw));

    MISUSE(rn_add_forward(NULL, x, x, by), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_add_forward(ctx, x, y, by), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_add_forward(ctx, x, NULL, by), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_add_backward(NULL, x, by, dx), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_add_backward(ctx, x, by, y), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(by) && untouched(dx));

    rn_tensor *sa = make_out(ctx, 2, 3, 3, 8), *sa2 = make_out(ctx, 2, 3, 3, 2);
    MISUSE(rn_shortcut_a_forward(NULL, x, 2, sa), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_shortcut_a_forward(ctx, x, 0, sa), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_shortcut_a_forward(ctx, x, 2, sa2), RN_E_INVALID_ARG, ctx); /* OC < C */
    MISUSE(rn_shortcut_a_forward(ctx, x, 1, sa), RN_E_INVALID_ARG, ctx);  /* spatial dims */
    MISUSE(rn_shortcut_a_backward(NULL, sa, 2, dx), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_shortcut_a_backward(ctx, sa, -2, dx), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_shortcut_a_backward(ctx, sa, 2, fdx), RN_E_INVALID_ARG, ctx); /* 1x1 */
    CHECK(untouched(sa) && untouched(sa2) && untouched(dx));

    rn_tensor *logits = make(ctx, 2, 1, 1, 3), *dl = make_out(ctx, 2, 1, 1, 3);
    int32_t labels[2] = {0, 3}, good[2] = {0, 2};
    float loss = SENTINEL;
    MISUSE(rn_softmax_xent_forward(NULL, logits, good, 2, &loss), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_softmax_xent_forward(ctx, logits, labels, 2, &loss), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "3"));
    MISUSE(rn_softmax_xent_forward(ctx, logits, good, 3, &loss), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_softmax_xent_forward(ctx, logits, NULL, 2, &loss), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_softmax_xent_forward(ctx, logits, good, 2, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_softmax_xent_backward(NULL, logits, good, 2, dl), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_softmax_xent_backward(ctx, logits, good, 2, gp), RN_E_INVALID_ARG, ctx);
    labels[1] = -1;
    MISUSE(rn_softmax_xent_backward(ctx, logits, labels, 2, dl), RN_E_INVALID_ARG, ctx);
    CHECK(loss == SENTINEL && untouched(dl));

    rn_tensor *all[] = {x,  w,  bias, y,   bad, dx,    dw,  g,      be,  rm, rv,
                        sm, si, g5,   by,  one, one_y, p,   gp,     gp5, fx, fw,
                        fb, fy, fw5,  fdx, fdw, sa,    sa2, logits, dl};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rn_tensor_destroy(all[i]);
    rn_ctx_destroy(ctx);
}

/* ---- blocks ----------------------------------------------------------------- */
static void test_blocks_refuse_bad_options_shapes_names_and_backward_first(void) {
    rn_ctx *ctx = new_ctx();
    rn_block *b = (rn_block *)SENTINEL_PTR;
    MISUSE(rn_block_create(NULL, RN_BLOCK_BASIC, 4, 4, 1, RN_SHORTCUT_B, 0, &b), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_block_create(ctx, 7, 4, 4, 1, RN_SHORTCUT_B, 0, &b), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_create(ctx, RN_BLOCK_BASIC, 0, 4, 1, RN_SHORTCUT_B, 0, &b), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_block_create(ctx, RN_BLOCK_BASIC, 4, -4, 1, RN_SHORTCUT_B, 0, &b), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 4, 0, RN_SHORTCUT_B, 0, &b), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 4, 1, 9, 0, &b), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 4, 1, RN_SHORTCUT_B, 0x80u, &b),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 4, 1, RN_SHORTCUT_B, 0, NULL), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_block_create(ctx, RN_BLOCK_BOTTLENECK, INT32_MAX, INT32_MAX, 1, RN_SHORTCUT_B, 0, &b),
           RN_E_INVALID_ARG, ctx); /* channel counts are bounded (65536) before any product */
    CHECK(b == (rn_block *)SENTINEL_PTR);
    COVER(rn_block_destroy(NULL));

    b = NULL;
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_B, 0, &b), ctx);
    if (!b) {
        rn_ctx_destroy(ctx);
        return;
    }
    CHECK_OK(rn_block_init(b, 3), ctx);
    MISUSE(rn_block_init(NULL, 3), RN_E_INVALID_ARG, NULL);
    int32_t oc = -1;
    MISUSE(rn_block_out_channels(NULL, &oc), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_block_out_channels(b, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(oc == -1);

    rn_tensor *x = make(ctx, 2, 6, 6, 4), *x5 = make(ctx, 2, 6, 6, 5);
    rn_tensor *y = make_out(ctx, 2, 3, 3, 8), *ybad = make_out(ctx, 2, 6, 6, 8);
    rn_tensor *dx = make_out(ctx, 2, 6, 6, 4);
    MISUSE(rn_block_backward(b, y, dx), RN_E_BAD_STATE, ctx); /* before any forward */
    MISUSE(rn_block_forward(NULL, x, RN_MODE_TRAIN, y), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_block_forward(b, NULL, RN_MODE_TRAIN, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_forward(b, x5, RN_MODE_TRAIN, y), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_forward(b, x, RN_MODE_TRAIN, ybad), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_forward(b, x, 2, y), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(y) && untouched(ybad));
    /* train-mode batch norm over one value per channel (a 2x2 input, stride
     * 2, batch 1) is refused like PyTorch, by the function that was called */
    rn_tensor *x1 = make(ctx, 1, 2, 2, 4), *y1 = make_out(ctx, 1, 1, 1, 8);
    MISUSE(rn_block_forward(b, x1, RN_MODE_TRAIN, y1), RN_E_INVALID_ARG, ctx);
    CHECK(strncmp(rn_last_error(ctx), "rn_block_forward: ", 18) == 0);
    CHECK(says(ctx, "one value per channel"));
    CHECK(strstr(rn_last_error(ctx), "rn_plan_create") == NULL);
    CHECK(untouched(y1));
    CHECK_OK(rn_block_forward(b, x1, RN_MODE_INFER, y1), ctx); /* eval mode has no variance */
    rn_tensor_destroy(x1);
    rn_tensor_destroy(y1);
    CHECK_OK(rn_block_forward(b, x, RN_MODE_INFER, y), ctx);
    MISUSE(rn_block_backward(b, y, dx), RN_E_BAD_STATE, ctx); /* eval forward saves nothing */
    MISUSE(rn_block_backward(NULL, y, dx), RN_E_INVALID_ARG, NULL);
    CHECK_OK(rn_block_forward(b, x, RN_MODE_TRAIN, y), ctx);
    MISUSE(rn_block_backward(b, ybad, dx), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_backward(b, y, x5), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(dx));

    CHECK(COVERED(rn_block_tensor_count(NULL)) == 0);
    const char *name = (const char *)SENTINEL_PTR;
    int32_t ndim = -1, kind = -1;
    int64_t dims[4] = {-1, -1, -1, -1};
    MISUSE(rn_block_tensor_info(NULL, 0, &name, &ndim, dims, &kind), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_block_tensor_info(b, -1, &name, &ndim, dims, &kind), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_tensor_info(b, rn_block_tensor_count(b), &name, &ndim, dims, &kind),
           RN_E_INVALID_ARG, ctx);
    CHECK(name == (const char *)SENTINEL_PTR && ndim == -1 && kind == -1 && dims[0] == -1);

    float w[8 * 4 * 3 * 3], before[8 * 4 * 3 * 3];
    const size_t nw = sizeof w / sizeof w[0];
    fill_sentinel(w, nw);
    MISUSE(rn_block_get_tensor(NULL, "conv1.weight", w, nw), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_block_get_tensor(b, "conv9.weight", w, nw), RN_E_NOT_FOUND, ctx);
    CHECK(says(ctx, "conv9.weight"));
    MISUSE(rn_block_get_tensor(b, NULL, w, nw), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_get_tensor(b, "conv1.weight", NULL, nw), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_get_tensor(b, "conv1.weight", w, nw - 1), RN_E_INVALID_ARG, ctx);
    CHECK(all_sentinel(w, nw));
    CHECK_OK(rn_block_get_tensor(b, "conv1.weight", before, nw), ctx);
    MISUSE(rn_block_set_tensor(NULL, "conv1.weight", w, nw), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_block_set_tensor(b, "conv1.weight", w, nw + 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_set_tensor(b, "downsample.7.weight", w, nw), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_block_set_tensor(b, "conv1.weight", NULL, nw), RN_E_INVALID_ARG, ctx);
    float after[8 * 4 * 3 * 3];
    CHECK_OK(rn_block_get_tensor(b, "conv1.weight", after, nw), ctx);
    CHECK(memcmp(before, after, sizeof before) == 0);
    MISUSE(rn_block_get_grad(NULL, "conv1.weight", w, nw), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_block_get_grad(b, "bn1.running_mean", w, 8), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_block_get_grad(b, "bn7.weight", w, 8), RN_E_NOT_FOUND, ctx);
    CHECK_OK(rn_block_backward(b, y, dx), ctx);
    MISUSE(rn_block_get_grad(b, "conv1.weight", w, 3), RN_E_INVALID_ARG, ctx);
    CHECK(all_sentinel(w, nw));

    rn_tensor_destroy(x), rn_tensor_destroy(x5), rn_tensor_destroy(y);
    rn_tensor_destroy(ybad), rn_tensor_destroy(dx);
    rn_block_destroy(b);
    rn_ctx_destroy(ctx);
}

/* ---- models: builder, presets, queries, tensors by name ------------------------ */
static void test_model_builder_refuses_bad_order_and_bad_options(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = (rn_model *)SENTINEL_PTR;
    MISUSE(rn_model_create(NULL, 3, &m), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_create(ctx, 0, &m), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create(ctx, -3, &m), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create(ctx, 3, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(m == (rn_model *)SENTINEL_PTR);
    m = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &m), ctx);
    if (!m) {
        rn_ctx_destroy(ctx);
        return;
    }
    MISUSE(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 4, 1, RN_SHORTCUT_B, 0), RN_E_BAD_STATE, ctx);
    MISUSE(rn_model_add_head(m, 10), RN_E_BAD_STATE, ctx);
    MISUSE(rn_model_add_stem(NULL, 4, 3, 1, 1, 0), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_add_stem(m, 0, 3, 1, 1, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_stem(m, 4, 0, 1, 1, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_stem(m, 4, 3, 0, 1, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_stem(m, 4, 3, 1, -1, 0), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_model_add_stem(m, 4, 3, 1, 1, 0), ctx);
    MISUSE(rn_model_add_stem(m, 4, 3, 1, 1, 0), RN_E_BAD_STATE, ctx);
    MISUSE(rn_model_add_stage(NULL, RN_BLOCK_BASIC, 1, 4, 1, RN_SHORTCUT_B, 0), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_model_add_stage(m, 5, 1, 4, 1, RN_SHORTCUT_B, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_stage(m, RN_BLOCK_BASIC, 0, 4, 1, RN_SHORTCUT_B, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 0, 1, RN_SHORTCUT_B, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 4, 0, RN_SHORTCUT_B, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 4, 1, 11, 0), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 4, 1, RN_SHORTCUT_B, 0), ctx);
    MISUSE(rn_model_add_head(NULL, 10), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_add_head(m, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_add_head(m, -10), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_model_add_head(m, 10), ctx);
    MISUSE(rn_model_add_head(m, 10), RN_E_BAD_STATE, ctx);
    MISUSE(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 4, 1, RN_SHORTCUT_B, 0), RN_E_BAD_STATE, ctx);
    rn_model_destroy(m);

    /* a complete model whose 7x7 unpadded stem does not fit a 3x3 input */
    m = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &m), ctx);
    CHECK_OK(rn_model_add_stem(m, 4, 7, 2, 0, 1), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 4, 1, RN_SHORTCUT_B, 0), ctx);
    CHECK_OK(rn_model_add_head(m, 10), ctx);
    CHECK_OK(rn_model_init(m, 1), ctx);
    rn_plan *p = (rn_plan *)SENTINEL_PTR;
    MISUSE(rn_plan_create(m, 1, 3, 3, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "conv1"));
    int64_t macs = -1;
    MISUSE(rn_model_macs(m, 3, 3, &macs), RN_E_INVALID_ARG, ctx);
    CHECK(macs == -1 && p == (rn_plan *)SENTINEL_PTR);
    rn_model_destroy(m);

    /* an incomplete model cannot be planned, counted or trained */
    m = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &m), ctx);
    MISUSE(rn_plan_create(m, 1, 8, 8, RN_MODE_INFER, &p), RN_E_BAD_STATE, ctx);
    MISUSE(rn_model_macs(m, 8, 8, &macs), RN_E_BAD_STATE, ctx);
    rn_optimizer *opt = (rn_optimizer *)SENTINEL_PTR;
    MISUSE(rn_sgd_create(m, &opt), RN_E_BAD_STATE, ctx);
    CHECK(opt == (rn_optimizer *)SENTINEL_PTR && p == (rn_plan *)SENTINEL_PTR);
    rn_model_destroy(m);
    COVER(rn_model_destroy(NULL));
    rn_ctx_destroy(ctx);
}

static void test_presets_refuse_unknown_names_and_absurd_widths(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = (rn_model *)SENTINEL_PTR;
    MISUSE(rn_model_create_preset(NULL, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &m),
           RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_create_preset(ctx, "resnet19", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &m),
           RN_E_NOT_FOUND, ctx);
    CHECK(says(ctx, "resnet19"));
    MISUSE(rn_model_create_preset(ctx, "", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &m), RN_E_NOT_FOUND,
           ctx);
    MISUSE(rn_model_create_preset(ctx, NULL, 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &m), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_model_create_preset(ctx, "resnet20", -1, 0, RN_SHORTCUT_DEFAULT, 0, 0, &m),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create_preset(ctx, "resnet20", 0, -3, RN_SHORTCUT_DEFAULT, 0, 0, &m),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create_preset(ctx, "resnet20", 0, 0, 8, 0, 0, &m), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, -16, 0, &m),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0x100u, &m),
           RN_E_INVALID_ARG, ctx);
    /* stage 3 would have base_width << 2 filters: more than int32, and than the bound */
    MISUSE(rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, INT32_MAX, 0, &m),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create_preset(ctx, "resnet152", 0, 0, RN_SHORTCUT_DEFAULT, 1 << 15, 0, &m),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, NULL),
           RN_E_INVALID_ARG, ctx);
    CHECK(m == (rn_model *)SENTINEL_PTR);
    CHECK(COVERED(rn_preset_count()) > 0);
    CHECK(COVERED(rn_preset_name(-1)) == NULL);
    CHECK(rn_preset_name(rn_preset_count()) == NULL);
    CHECK(rn_preset_name(INT32_MAX) == NULL);
    rn_ctx_destroy(ctx);
}

static void test_model_queries_and_named_tensors_refuse_bad_names_sizes_and_indices(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = small_model(ctx, 10);
    if (!m) {
        rn_ctx_destroy(ctx);
        return;
    }
    MISUSE(rn_model_init(NULL, 1), RN_E_INVALID_ARG, NULL);
    int32_t i32 = -1;
    int64_t i64 = -1;
    MISUSE(rn_model_classes(NULL, &i32), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_classes(m, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_in_channels(NULL, &i32), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_in_channels(m, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_num_parameters(NULL, &i64), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_num_parameters(m, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_macs(NULL, 32, 32, &i64), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_macs(m, 0, 32, &i64), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_macs(m, 32, -1, &i64), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_macs(m, 32, 32, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_macs(m, INT64_MAX, INT64_MAX, &i64), RN_E_INVALID_ARG, ctx); /* > 2^31 */
    MISUSE(rn_model_layer_count(NULL, &i32), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_layer_count(m, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(i32 == -1 && i64 == -1);
    char name[16] = "unchanged";
    int64_t od[4] = {-1, -1, -1, -1};
    MISUSE(rn_model_layer_info(NULL, 0, 32, 32, name, sizeof name, od, &i64, &i64),
           RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_layer_info(m, -1, 32, 32, name, sizeof name, od, &i64, &i64), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_model_layer_info(m, 1000, 32, 32, name, sizeof name, od, &i64, &i64),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_layer_info(m, 0, 0, 32, name, sizeof name, od, &i64, &i64), RN_E_INVALID_ARG,
           ctx);
    CHECK(strcmp(name, "unchanged") == 0 && od[0] == -1 && i64 == -1);

    CHECK(COVERED(rn_model_tensor_count(NULL)) == 0);
    const char *tname = (const char *)SENTINEL_PTR;
    int32_t ndim = -1, kind = -1;
    int64_t dims[4] = {-1, -1, -1, -1};
    MISUSE(rn_model_tensor_info(NULL, 0, &tname, &ndim, dims, &kind), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_tensor_info(m, -1, &tname, &ndim, dims, &kind), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_tensor_info(m, rn_model_tensor_count(m), &tname, &ndim, dims, &kind),
           RN_E_INVALID_ARG, ctx);
    CHECK(tname == (const char *)SENTINEL_PTR && ndim == -1 && dims[0] == -1 && kind == -1);
    int32_t index = -1;
    MISUSE(rn_model_tensor_find(NULL, "fc.weight", &index), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_tensor_find(m, "fc.weights", &index), RN_E_NOT_FOUND, ctx);
    CHECK(says(ctx, "fc.weights"));
    MISUSE(rn_model_tensor_find(m, "layer4.0.conv1.weight", &index), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_model_tensor_find(m, "", &index), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_model_tensor_find(m, "module.", &index), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_model_tensor_find(m, NULL, &index), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_tensor_find(m, "fc.weight", NULL), RN_E_INVALID_ARG, ctx);
    CHECK(index == -1);

    /* fc.weight of resnet20 at width 4 is (10, 16) */
    enum { FC = 10 * 16 };
    float before[FC], buf[FC + 1], after[FC];
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", before, FC), ctx);
    fill_sentinel(buf, FC + 1);
    MISUSE(rn_model_get_tensor(NULL, "fc.weight", buf, FC), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_get_tensor(m, "fc.weight", buf, FC - 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_get_tensor(m, "fc.weight", buf, FC + 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_get_tensor(m, "fc.weight", buf, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_get_tensor(m, "fc.weight", NULL, FC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_get_tensor(m, "fc.bias.grad", buf, 10), RN_E_NOT_FOUND, ctx);
    CHECK(all_sentinel(buf, FC + 1));
    /* a tensor of the wrong size set into the model */
    MISUSE(rn_model_set_tensor(NULL, "fc.weight", buf, FC), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_set_tensor(m, "fc.weight", buf, FC + 1), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "fc.weight"));
    MISUSE(rn_model_set_tensor(m, "fc.weight", buf, 16 * 16), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_set_tensor(m, "fc.bias", buf, FC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_set_tensor(m, "fc.weight", NULL, FC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_set_tensor(m, NULL, buf, FC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_set_tensor(m, "layer1.0.bn1.num_batches_tracked", buf, 1), RN_E_NOT_FOUND, ctx);
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", after, FC), ctx);
    CHECK(memcmp(before, after, sizeof before) == 0);

    MISUSE(rn_model_get_grad(NULL, "fc.weight", buf, FC), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_get_grad(m, "fc.weight", buf, FC), RN_E_BAD_STATE, ctx); /* no train plan */
    rn_plan *tp = NULL;
    CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_TRAIN, &tp), ctx);
    MISUSE(rn_model_get_grad(m, "bn1.running_mean", buf, 4), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_get_grad(m, "fc.weight", buf, FC - 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_get_grad(m, "fc.gamma", buf, FC), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_model_get_grad(m, "fc.weight", NULL, FC), RN_E_INVALID_ARG, ctx);
    CHECK(all_sentinel(buf, FC + 1));
    rn_plan_destroy(tp);
    MISUSE(rn_model_fold_batchnorm(NULL), RN_E_INVALID_ARG, NULL);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* ---- plans ------------------------------------------------------------------ */
static void test_plans_refuse_zero_and_overflowing_shapes_and_wrong_buffers(void) {
    rn_ctx *ctx = new_ctx(), *other = new_ctx();
    rn_model *m = small_model(ctx, 10);
    if (!m) {
        rn_ctx_destroy(ctx), rn_ctx_destroy(other);
        return;
    }
    rn_plan *p = (rn_plan *)SENTINEL_PTR;
    MISUSE(rn_plan_create(NULL, 1, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_plan_create(m, 0, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_create(m, -1, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_create(m, 1, 0, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_create(m, 1, 8, INT64_MIN, RN_MODE_INFER, &p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_create(m, 1, 8, 8, 2, &p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_create(m, 1, 8, 8, -1, &p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_create(m, INT64_MAX, 8, 8, RN_MODE_INFER, &p), RN_E_OVERFLOW, ctx);
    MISUSE(rn_plan_create(m, 1, INT64_MAX, INT64_MAX, RN_MODE_INFER, &p), RN_E_OVERFLOW, ctx);
    MISUSE(rn_plan_create(m, 1 << 20, 1 << 15, 1 << 15, RN_MODE_INFER, &p), RN_E_OVERFLOW, ctx);
    MISUSE(rn_plan_create(m, 1 << 30, 1 << 20, 1 << 20, RN_MODE_TRAIN, &p), RN_E_OVERFLOW, ctx);
    MISUSE(rn_plan_create(m, 1, 8, 8, RN_MODE_INFER, NULL), RN_E_INVALID_ARG, ctx);
    /* train-mode batch norm over one value per channel, as PyTorch refuses */
    MISUSE(rn_plan_create(m, 1, 1, 1, RN_MODE_TRAIN, &p), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_create_with_ctx(NULL, m, 1, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_plan_create_with_ctx(other, NULL, 1, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG,
           other);
    MISUSE(rn_plan_create_with_ctx(other, m, 0, 8, 8, RN_MODE_INFER, &p), RN_E_INVALID_ARG, other);
    MISUSE(rn_plan_create_with_ctx(other, m, 1, 8, 8, 3, &p), RN_E_INVALID_ARG, other);
    CHECK(p == (rn_plan *)SENTINEL_PTR);
    COVER(rn_plan_destroy(NULL));

    p = NULL;
    CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_INFER, &p), ctx);
    if (!p) {
        rn_model_destroy(m), rn_ctx_destroy(ctx), rn_ctx_destroy(other);
        return;
    }
    size_t bytes = 7;
    MISUSE(rn_plan_memory_size(NULL, &bytes), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_plan_memory_size(p, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(bytes == 7);
    CHECK_OK(rn_plan_memory_size(p, &bytes), ctx);
    unsigned char small[64];
    MISUSE(rn_plan_bind_memory(NULL, small, sizeof small), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_plan_bind_memory(p, NULL, bytes), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_bind_memory(p, small, sizeof small), RN_E_BUFFER_TOO_SMALL, ctx);
    char needed[32];
    snprintf(needed, sizeof needed, "%zu", bytes);
    CHECK(says(ctx, needed));
    if (bytes > 1) {
        unsigned char *almost = (unsigned char *)malloc(bytes - 1);
        MISUSE(rn_plan_bind_memory(p, almost, bytes - 1), RN_E_BUFFER_TOO_SMALL, ctx);
        free(almost);
    }

    enum { IN = 2 * 3 * 8 * 8, OUT = 2 * 10 };
    float in[IN + 1], logits[OUT + 1];
    rn_test_fill_uniform(in, IN + 1, -1, 1);
    fill_sentinel(logits, OUT + 1);
    MISUSE(rn_plan_forward(NULL, in, IN, RN_LAYOUT_NCHW, logits, OUT), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_plan_forward(p, NULL, IN, RN_LAYOUT_NCHW, logits, OUT), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_forward(p, in, IN, RN_LAYOUT_NCHW, NULL, OUT), RN_E_INVALID_ARG, ctx);
    /* an input of the wrong size for the plan */
    MISUSE(rn_plan_forward(p, in, IN - 1, RN_LAYOUT_NCHW, logits, OUT), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_forward(p, in, IN + 1, RN_LAYOUT_NCHW, logits, OUT), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_forward(p, in, IN / 2, RN_LAYOUT_NHWC, logits, OUT), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_forward(p, in, IN, RN_LAYOUT_NCHW, logits, OUT - 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_forward(p, in, IN, RN_LAYOUT_NCHW, logits, OUT + 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_forward(p, in, IN, 5, logits, OUT), RN_E_INVALID_ARG, ctx);
    CHECK(all_sentinel(logits, OUT + 1));
    int32_t labels[2] = {1, 2};
    float loss = SENTINEL, grad[IN];
    fill_sentinel(grad, IN);
    MISUSE(rn_plan_backward(NULL, labels, 2, &loss), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_plan_backward(p, labels, 2, &loss), RN_E_BAD_STATE, ctx); /* infer plan */
    CHECK_OK(rn_plan_forward(p, in, IN, RN_LAYOUT_NCHW, logits, OUT), ctx);
    MISUSE(rn_plan_backward(p, labels, 2, &loss), RN_E_BAD_STATE, ctx);
    MISUSE(rn_plan_input_grad(p, grad, IN, RN_LAYOUT_NCHW), RN_E_BAD_STATE, ctx);
    rn_plan_destroy(p);

    rn_plan *tp = NULL;
    CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_TRAIN, &tp), ctx);
    /* backward before forward */
    MISUSE(rn_plan_backward(tp, labels, 2, &loss), RN_E_BAD_STATE, ctx);
    MISUSE(rn_plan_input_grad(NULL, grad, IN, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_plan_input_grad(tp, grad, IN, RN_LAYOUT_NCHW), RN_E_BAD_STATE, ctx);
    CHECK_OK(rn_plan_forward(tp, in, IN, RN_LAYOUT_NCHW, logits, OUT), ctx);
    MISUSE(rn_plan_input_grad(tp, grad, IN, RN_LAYOUT_NCHW), RN_E_BAD_STATE, ctx);
    MISUSE(rn_plan_backward(tp, NULL, 2, &loss), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_backward(tp, labels, 1, &loss), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_backward(tp, labels, 3, &loss), RN_E_INVALID_ARG, ctx);
    labels[1] = 10;
    MISUSE(rn_plan_backward(tp, labels, 2, &loss), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "10"));
    labels[1] = -1;
    MISUSE(rn_plan_backward(tp, labels, 2, &loss), RN_E_INVALID_ARG, ctx);
    CHECK(loss == SENTINEL);
    labels[1] = 9;
    CHECK_OK(rn_plan_backward(tp, labels, 2, &loss), ctx);
    MISUSE(rn_plan_backward(tp, labels, 2, &loss), RN_E_BAD_STATE, ctx); /* once per forward */
    MISUSE(rn_plan_input_grad(tp, NULL, IN, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_input_grad(tp, grad, IN - 1, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_plan_input_grad(tp, grad, IN, 4), RN_E_INVALID_ARG, ctx);
    CHECK(all_sentinel(grad, IN));

    /* folding: old plans refuse to run, train plans and init are refused */
    rn_plan *ip = NULL;
    CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_INFER, &ip), ctx);
    CHECK_OK(rn_model_fold_batchnorm(m), ctx);
    fill_sentinel(logits, OUT + 1);
    MISUSE(rn_plan_forward(ip, in, IN, RN_LAYOUT_NCHW, logits, OUT), RN_E_BAD_STATE, ctx);
    MISUSE(rn_plan_forward(tp, in, IN, RN_LAYOUT_NCHW, logits, OUT), RN_E_BAD_STATE, ctx);
    CHECK(all_sentinel(logits, OUT + 1));
    rn_plan *fp = (rn_plan *)SENTINEL_PTR;
    MISUSE(rn_plan_create(m, 2, 8, 8, RN_MODE_TRAIN, &fp), RN_E_BAD_STATE, ctx);
    CHECK(fp == (rn_plan *)SENTINEL_PTR);
    MISUSE(rn_model_init(m, 5), RN_E_BAD_STATE, ctx);
    rn_plan_destroy(ip);
    rn_plan_destroy(tp);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    rn_ctx_destroy(other);
}

/* ---- train: random numbers, splits, datasets, augmentation, metrics ------------- */
enum { DS_N = 4, DS_H = 8, DS_W = 8, DS_C = 3, DS_PIX = DS_H * DS_W * DS_C };
static uint8_t ds_images[DS_N * DS_PIX];
static int32_t ds_labels[DS_N] = {0, 1, 2, 9};

static rn_dataset *small_dataset(rn_ctx *ctx) {
    for (size_t i = 0; i < sizeof ds_images; i++) ds_images[i] = (uint8_t)(i * 37u);
    rn_dataset *ds = NULL;
    CHECK_OK(rn_dataset_create(ctx, ds_images, ds_labels, DS_N, DS_H, DS_W, DS_C, 10, &ds), ctx);
    return ds;
}

static void test_rng_and_split_refuse_null_zero_state_and_bad_counts(void) {
    uint64_t s[4] = {0, 0, 0, 0}, v = 77;
    double u = 0.5;
    int64_t items[3] = {0, 1, 2};
    MISUSE(rn_rng_seed(NULL, 1), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_rng_next(s, &v), RN_E_INVALID_ARG, NULL); /* the all-zero state */
    MISUSE(rn_rng_below(s, 3, &v), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_rng_uniform(s, &u), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_rng_shuffle(s, items, 3), RN_E_INVALID_ARG, NULL);
    CHECK_OK(rn_rng_seed(s, 1), NULL);
    MISUSE(rn_rng_next(NULL, &v), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_rng_next(s, NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_rng_below(s, 0, &v), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_rng_uniform(s, NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_rng_shuffle(s, NULL, 3), RN_E_INVALID_ARG, NULL);
    CHECK(v == 77 && u == 0.5 && items[0] == 0 && items[1] == 1 && items[2] == 2);

    rn_ctx *ctx = new_ctx();
    int64_t tr[4] = {-1, -1, -1, -1}, va[4] = {-1, -1, -1, -1};
    MISUSE(rn_data_split(NULL, 1, 4, 1, tr, va), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_data_split(ctx, 1, -4, 1, tr, va), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_data_split(ctx, 1, 4, 5, tr, va), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_data_split(ctx, 1, 4, -1, tr, va), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_data_split(ctx, 1, 4, 1, NULL, va), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_data_split(ctx, 1, 4, 1, tr, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_data_split(ctx, 1, INT64_MAX, 1, tr, va), RN_E_OVERFLOW, ctx);
    CHECK(tr[0] == -1 && va[0] == -1);
    rn_ctx_destroy(ctx);
}

static void test_datasets_refuse_bad_labels_indices_and_normalisations(void) {
    rn_ctx *ctx = new_ctx();
    for (size_t i = 0; i < sizeof ds_images; i++) ds_images[i] = (uint8_t)i;
    rn_dataset *ds = (rn_dataset *)SENTINEL_PTR;
    int32_t bad_labels[DS_N] = {0, 1, 10, 2};
    MISUSE(rn_dataset_create(NULL, ds_images, ds_labels, DS_N, DS_H, DS_W, DS_C, 10, &ds),
           RN_E_INVALID_ARG, NULL);
    MISUSE(rn_dataset_create(ctx, NULL, ds_labels, DS_N, DS_H, DS_W, DS_C, 10, &ds),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create(ctx, ds_images, NULL, DS_N, DS_H, DS_W, DS_C, 10, &ds),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create(ctx, ds_images, ds_labels, 0, DS_H, DS_W, DS_C, 10, &ds),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create(ctx, ds_images, ds_labels, DS_N, DS_H, -1, DS_C, 10, &ds),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create(ctx, ds_images, ds_labels, DS_N, DS_H, DS_W, DS_C, 0, &ds),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create(ctx, ds_images, bad_labels, DS_N, DS_H, DS_W, DS_C, 10, &ds),
           RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "10"));
    MISUSE(rn_dataset_create(ctx, ds_images, ds_labels, DS_N, INT64_MAX, DS_W, DS_C, 10, &ds),
           RN_E_INVALID_ARG, ctx); /* h, w, c are bounded */
    MISUSE(rn_dataset_create(ctx, ds_images, ds_labels, INT64_MAX, DS_H, DS_W, DS_C, 10, &ds),
           RN_E_OVERFLOW, ctx); /* n * h * w * c bytes */
    MISUSE(rn_dataset_create(ctx, ds_images, ds_labels, DS_N, DS_H, DS_W, DS_C, 10, NULL),
           RN_E_INVALID_ARG, ctx);
    CHECK(ds == (rn_dataset *)SENTINEL_PTR);
    COVER(rn_dataset_destroy(NULL));
    ds = small_dataset(ctx);
    if (!ds) {
        rn_ctx_destroy(ctx);
        return;
    }
    rn_dataset *view = (rn_dataset *)SENTINEL_PTR;
    int64_t idx_bad[2] = {0, DS_N}, idx_neg[2] = {-1, 0}, idx_ok[2] = {3, 3};
    MISUSE(rn_dataset_create_view(NULL, idx_ok, 2, &view), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_dataset_create_view(ds, NULL, 2, &view), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create_view(ds, idx_bad, 2, &view), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create_view(ds, idx_neg, 2, &view), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create_view(ds, idx_ok, 0, &view), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create_view(ds, idx_ok, -2, &view), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_create_view(ds, idx_ok, 2, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(view == (rn_dataset *)SENTINEL_PTR);

    MISUSE(rn_dataset_info(NULL, NULL, NULL), RN_E_INVALID_ARG, NULL);
    int32_t label = -7;
    MISUSE(rn_dataset_label(NULL, 0, &label), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_dataset_label(ds, -1, &label), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_label(ds, DS_N, &label), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_label(ds, 0, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(label == -7);

    float mean[DS_PIX], stdv[DS_C] = {0.5f, 0.0f, 0.5f}, cmean[DS_C] = {0.5f, 0.5f, 0.5f};
    for (int i = 0; i < DS_PIX; i++) mean[i] = 0.25f;
    MISUSE(rn_dataset_set_normalization(NULL, RN_NORM_NONE, NULL, 0, NULL, 0), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_dataset_set_normalization(ds, 7, NULL, 0, NULL, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_set_normalization(ds, RN_NORM_PIXEL_MEAN, mean, DS_PIX - 1, NULL, 0),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_set_normalization(ds, RN_NORM_PIXEL_MEAN, NULL, DS_PIX, NULL, 0),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_set_normalization(ds, RN_NORM_CHANNEL, cmean, DS_C, stdv, DS_C),
           RN_E_INVALID_ARG, ctx); /* std 0 */
    stdv[1] = 0.5f;
    MISUSE(rn_dataset_set_normalization(ds, RN_NORM_CHANNEL, cmean, DS_C, stdv, DS_C - 1),
           RN_E_INVALID_ARG, ctx);
    cmean[2] = (float)NAN;
    MISUSE(rn_dataset_set_normalization(ds, RN_NORM_CHANNEL, cmean, DS_C, stdv, DS_C), RN_E_NUMERIC,
           ctx);
    MISUSE(rn_dataset_compute_normalization(NULL, RN_NORM_CHANNEL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_dataset_compute_normalization(ds, 3), RN_E_INVALID_ARG, ctx);
    int32_t norm = -1;
    float got[DS_PIX];
    fill_sentinel(got, DS_PIX);
    MISUSE(rn_dataset_get_normalization(NULL, &norm, NULL, 0, NULL, 0), RN_E_INVALID_ARG, NULL);
    CHECK_OK(rn_dataset_set_normalization(ds, RN_NORM_PIXEL_MEAN, mean, DS_PIX, NULL, 0), ctx);
    MISUSE(rn_dataset_get_normalization(ds, &norm, got, DS_PIX - 1, NULL, 0), RN_E_INVALID_ARG,
           ctx);
    CHECK(norm == -1 && all_sentinel(got, DS_PIX));

    float batch[2 * DS_PIX];
    int32_t blabels[2] = {-5, -5};
    fill_sentinel(batch, 2 * DS_PIX);
    MISUSE(rn_dataset_get_batch(NULL, idx_ok, 2, batch, 2 * DS_PIX, blabels), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_dataset_get_batch(ds, idx_bad, 2, batch, 2 * DS_PIX, blabels), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_get_batch(ds, idx_ok, 2, batch, 2 * DS_PIX - 1, blabels), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_dataset_get_batch(ds, idx_ok, 0, batch, 0, blabels), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_get_batch(ds, NULL, 2, batch, 2 * DS_PIX, blabels), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_dataset_get_batch(ds, idx_ok, 2, NULL, 2 * DS_PIX, blabels), RN_E_INVALID_ARG, ctx);
    CHECK(all_sentinel(batch, 2 * DS_PIX) && blabels[0] == -5 && blabels[1] == -5);

    /* augmentation: 3 parameters per image, crop offsets within [0, 2 * pad] */
    uint64_t s[4];
    CHECK_OK(rn_rng_seed(s, 3), NULL);
    int32_t params[6] = {-9, -9, -9, -9, -9, -9};
    MISUSE(rn_augment_draw(NULL, 2, 4, 1, params, 6), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_augment_draw(s, -2, 4, 1, params, 6), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_augment_draw(s, 2, -1, 1, params, 6), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_augment_draw(s, 2, 4, 2, params, 6), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_augment_draw(s, 2, 4, 1, params, 5), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_augment_draw(s, 2, 4, 1, NULL, 6), RN_E_INVALID_ARG, NULL);
    CHECK(params[0] == -9 && params[5] == -9);
    int32_t aug[6] = {0, 0, 0, 9, 0, 1}; /* dy 9 > 2 * pad for pad 4 */
    float out[2 * DS_PIX];
    fill_sentinel(out, 2 * DS_PIX);
    rn_test_fill_uniform(batch, 2 * DS_PIX, 0, 1);
    MISUSE(rn_augment_apply(NULL, batch, out, 2, DS_H, DS_W, DS_C, 4, aug, 6), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_augment_apply(ctx, batch, out, 2, DS_H, DS_W, DS_C, 4, aug, 6), RN_E_INVALID_ARG,
           ctx);
    aug[3] = 0;
    MISUSE(rn_augment_apply(ctx, batch, batch, 2, DS_H, DS_W, DS_C, 4, aug, 6), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_augment_apply(ctx, batch, out, 2, DS_H, DS_W, DS_C, 4, aug, 5), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_augment_apply(ctx, batch, out, 2, DS_H, 0, DS_C, 4, aug, 6), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_augment_apply(ctx, batch, out, 2, DS_H, DS_W, DS_C, -4, aug, 6), RN_E_INVALID_ARG,
           ctx);
    aug[5] = 2; /* flip is 0 or 1 */
    MISUSE(rn_augment_apply(ctx, batch, out, 2, DS_H, DS_W, DS_C, 4, aug, 6), RN_E_INVALID_ARG,
           ctx);
    CHECK(all_sentinel(out, 2 * DS_PIX));

    float logits[2 * 3] = {1, 2, 3, 3, 2, 1};
    int32_t lab[2] = {0, 3};
    int64_t conf[9], errors = -1;
    for (int i = 0; i < 9; i++) conf[i] = -1;
    MISUSE(rn_metrics_update(NULL, logits, lab, 2, 3, conf, 9, &errors), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_metrics_update(ctx, logits, lab, 2, 3, conf, 9, &errors), RN_E_INVALID_ARG, ctx);
    lab[1] = 2;
    MISUSE(rn_metrics_update(ctx, logits, lab, 2, 0, conf, 9, &errors), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_metrics_update(ctx, logits, lab, 0, 3, conf, 9, &errors), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_metrics_update(ctx, logits, lab, 2, 3, conf, 8, &errors), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_metrics_update(ctx, NULL, lab, 2, 3, conf, 9, &errors), RN_E_INVALID_ARG, ctx);
    CHECK(errors == -1 && conf[0] == -1 && conf[8] == -1);

    /* evaluation: the dataset must fit the model */
    rn_model *m = small_model(ctx, 10), *m5 = small_model(ctx, 5);
    rn_model *gray = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 10, 1, RN_SHORTCUT_DEFAULT, 4, 0, &gray), ctx);
    double loss = -1;
    int64_t cm[100];
    for (int i = 0; i < 100; i++) cm[i] = -1;
    errors = -1;
    MISUSE(rn_evaluate(NULL, ds, 2, &loss, &errors, cm, 100), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_evaluate(m, NULL, 2, &loss, &errors, cm, 100), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_evaluate(m, ds, 0, &loss, &errors, cm, 100), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_evaluate(m, ds, -3, &loss, &errors, cm, 100), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_evaluate(m, ds, 2, &loss, &errors, cm, 99), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_evaluate(m5, ds, 2, &loss, &errors, NULL, 0), RN_E_INVALID_ARG, ctx); /* label 9 */
    MISUSE(rn_evaluate(gray, ds, 2, &loss, &errors, NULL, 0), RN_E_INVALID_ARG, ctx);
    CHECK(loss == -1 && errors == -1 && cm[0] == -1 && cm[99] == -1);
    rn_model_destroy(m), rn_model_destroy(m5), rn_model_destroy(gray);
    rn_dataset_destroy(ds);
    rn_ctx_destroy(ctx);
}

/* ---- train: SGD and schedules ------------------------------------------------------ */
static void test_sgd_refuses_bad_options_early_steps_and_non_finite_gradients(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = small_model(ctx, 10);
    if (!m) {
        rn_ctx_destroy(ctx);
        return;
    }
    rn_optimizer *opt = (rn_optimizer *)SENTINEL_PTR;
    MISUSE(rn_sgd_create(NULL, &opt), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_sgd_create(m, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(opt == (rn_optimizer *)SENTINEL_PTR);
    COVER(rn_optimizer_destroy(NULL));
    opt = NULL;
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    if (!opt) {
        rn_model_destroy(m), rn_ctx_destroy(ctx);
        return;
    }
    MISUSE(rn_optimizer_set_float(NULL, RN_SGD_LR, 0.1), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_set_float(opt, RN_SGD_LR, -0.1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_float(opt, RN_SGD_LR, 2e6), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_float(opt, RN_SGD_LR, NAN), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_float(opt, RN_SGD_MOMENTUM, 1.5), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_float(opt, RN_SGD_DAMPENING, -0.5), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_float(opt, RN_SGD_WEIGHT_DECAY, INFINITY), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_float(opt, 99, 0.1), RN_E_NOT_FOUND, ctx);
    double d = -1;
    MISUSE(rn_optimizer_get_float(NULL, RN_SGD_LR, &d), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_get_float(opt, RN_SGD_LR, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_get_float(opt, 99, &d), RN_E_NOT_FOUND, ctx);
    CHECK(d == -1);
    CHECK_OK(rn_optimizer_get_float(opt, RN_SGD_LR, &d), ctx);
    CHECK(d > 0.0999 && d < 0.1001); /* refused values left the paper's default */
    MISUSE(rn_optimizer_set_int(NULL, RN_SGD_NESTEROV, 1), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_set_int(opt, RN_SGD_NESTEROV, 2), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_int(opt, RN_SGD_DECAY_ALL_PARAMS, -1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_int(opt, 99, 1), RN_E_NOT_FOUND, ctx);
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_DAMPENING, 0.5), ctx);
    MISUSE(rn_optimizer_set_int(opt, RN_SGD_NESTEROV, 1), RN_E_INVALID_ARG, ctx); /* dampening */
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_DAMPENING, 0.0), ctx);
    int64_t iv = -1;
    MISUSE(rn_optimizer_get_int(NULL, RN_SGD_NESTEROV, &iv), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_get_int(opt, RN_SGD_NESTEROV, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_get_int(opt, 99, &iv), RN_E_NOT_FOUND, ctx);
    CHECK(iv == -1);

    /* a step before the model has gradients */
    MISUSE(rn_optimizer_step(NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_step(opt), RN_E_BAD_STATE, ctx);
    enum { FC = 10 * 16 };
    float buf[FC];
    int32_t has = -1;
    fill_sentinel(buf, FC);
    MISUSE(rn_optimizer_has_buffer(NULL, "fc.weight", &has), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_has_buffer(opt, "fc.weightx", &has), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_optimizer_has_buffer(opt, "fc.weight", NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_has_buffer(opt, "bn1.running_var", &has), RN_E_INVALID_ARG, ctx);
    CHECK(has == -1);
    MISUSE(rn_optimizer_get_buffer(NULL, "fc.weight", buf, FC), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_get_buffer(opt, "fc.weight", buf, FC), RN_E_BAD_STATE, ctx);
    MISUSE(rn_optimizer_get_buffer(opt, "fc.weight", buf, FC - 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_get_buffer(opt, "nope", buf, FC), RN_E_NOT_FOUND, ctx);
    CHECK(all_sentinel(buf, FC));
    MISUSE(rn_optimizer_set_buffer(NULL, "fc.weight", buf, FC), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_optimizer_set_buffer(opt, "fc.weight", buf, FC + 1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_buffer(opt, "fc.weight", NULL, FC), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_buffer(opt, "bn1.running_mean", buf, 4), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_optimizer_set_buffer(opt, "fc.weights", buf, FC), RN_E_NOT_FOUND, ctx);
    CHECK_OK(rn_optimizer_has_buffer(opt, "fc.weight", &has), ctx);
    CHECK(has == 0);
    MISUSE(rn_optimizer_reset(NULL), RN_E_INVALID_ARG, NULL);

    /* a NaN gradient: the step names the tensor and changes nothing */
    rn_plan *tp = NULL;
    CHECK_OK(rn_plan_create(m, 2, 8, 8, RN_MODE_TRAIN, &tp), ctx);
    float fcw[FC], after[FC];
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", fcw, FC), ctx);
    float nan_bias[10];
    for (int i = 0; i < 10; i++) nan_bias[i] = (float)NAN;
    CHECK_OK(rn_model_set_tensor(m, "fc.bias", nan_bias, 10), ctx);
    float in[2 * 3 * 8 * 8], logits[20], loss = 0;
    int32_t labels[2] = {1, 2};
    rn_test_fill_uniform(in, sizeof in / sizeof in[0], -1, 1);
    CHECK_OK(rn_plan_forward(tp, in, sizeof in / sizeof in[0], RN_LAYOUT_NCHW, logits, 20), ctx);
    CHECK_OK(rn_plan_backward(tp, labels, 2, &loss), ctx);
    MISUSE(rn_optimizer_step(opt), RN_E_NUMERIC, ctx);
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", after, FC), ctx);
    CHECK(memcmp(fcw, after, sizeof fcw) == 0);
    CHECK_OK(rn_optimizer_has_buffer(opt, "fc.weight", &has), ctx);
    CHECK(has == 0);
    rn_plan_destroy(tp);
    rn_optimizer_destroy(opt);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_schedules_refuse_bad_milestones_lengths_and_rates(void) {
    rn_ctx *ctx = new_ctx();
    rn_lr_schedule *s = (rn_lr_schedule *)SENTINEL_PTR;
    MISUSE(rn_lr_schedule_create(NULL, 0.1, &s), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_lr_schedule_create(ctx, -0.1, &s), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_create(ctx, NAN, &s), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_create(ctx, INFINITY, &s), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_create(ctx, 0.1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(s == (rn_lr_schedule *)SENTINEL_PTR);
    COVER(rn_lr_schedule_destroy(NULL));
    s = NULL;
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &s), ctx);
    if (!s) {
        rn_ctx_destroy(ctx);
        return;
    }
    MISUSE(rn_lr_schedule_set_constant(NULL), RN_E_INVALID_ARG, NULL);
    int64_t ms[65], down[2] = {100, 50}, ok[2] = {32000, 48000};
    for (int i = 0; i < 65; i++) ms[i] = i + 1;
    MISUSE(rn_lr_schedule_set_step(NULL, RN_SCHED_UNIT_ITER, ok, 2, 0.1), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_lr_schedule_set_step(s, 2, ok, 2, 0.1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, down, 2, 0.1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, ms, 65, 0.1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, ms, -1, 0.1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, NULL, 2, 0.1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, ok, 2, -0.1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, ok, 2, NAN), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_cosine(NULL, RN_SCHED_UNIT_EPOCH, 10, 0), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_lr_schedule_set_cosine(s, RN_SCHED_UNIT_EPOCH, 0, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_cosine(s, 9, 10, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_cosine(s, RN_SCHED_UNIT_EPOCH, 10, 0.5), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_cosine(s, RN_SCHED_UNIT_EPOCH, 10, NAN), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_warmup(NULL, RN_WARMUP_ITERS, 10, 0.01), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_lr_schedule_set_warmup(s, 9, 10, 0.01), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_warmup(s, RN_WARMUP_ITERS, -10, 0.01), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_warmup(s, RN_WARMUP_TRAIN_ERROR, 1.5, 0.01), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_set_warmup(s, RN_WARMUP_ITERS, 10, -0.01), RN_E_INVALID_ARG, ctx);
    int32_t kind = -1;
    double value = -1, lr = -1;
    MISUSE(rn_lr_schedule_get_warmup(NULL, &kind, &value), RN_E_INVALID_ARG, NULL);
    CHECK(kind == -1 && value == -1);
    MISUSE(rn_lr_schedule_lr(NULL, 0, 0, 0, &lr), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_lr_schedule_lr(s, -1, 0, 0, &lr), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_lr(s, 0, -1, 0, &lr), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_lr_schedule_lr(s, 0, 0, 0, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(lr == -1);
    /* every refusal left the constant schedule in place */
    CHECK_OK(rn_lr_schedule_lr(s, 50000, 200, 0, &lr), ctx);
    CHECK(lr == 0.1);
    rn_lr_schedule_destroy(s);
    rn_ctx_destroy(ctx);
}

/* ---- train: the trainer and its checkpoints ---------------------------------------- */
static void test_trainer_and_checkpoints_refuse_mismatches_late_options_and_garbage(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = small_model(ctx, 10), *other = small_model(ctx, 10);
    rn_dataset *ds = small_dataset(ctx);
    rn_optimizer *opt = NULL, *other_opt = NULL;
    rn_lr_schedule *sched = NULL;
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    CHECK_OK(rn_sgd_create(other, &other_opt), ctx);
    CHECK_OK(rn_lr_schedule_create(ctx, 0.1, &sched), ctx);
    rn_model *gray = NULL, *five = small_model(ctx, 5);
    rn_optimizer *gray_opt = NULL, *five_opt = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 10, 1, RN_SHORTCUT_DEFAULT, 4, 0, &gray), ctx);
    CHECK_OK(rn_sgd_create(gray, &gray_opt), ctx);
    CHECK_OK(rn_sgd_create(five, &five_opt), ctx);
    if (!m || !ds || !opt || !sched || !gray_opt || !five_opt) goto done;

    rn_trainer *tr = (rn_trainer *)SENTINEL_PTR;
    MISUSE(rn_trainer_create(NULL, opt, sched, ds, &tr), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_trainer_create(m, NULL, sched, ds, &tr), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_create(m, opt, NULL, ds, &tr), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_create(m, opt, sched, NULL, &tr), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_create(m, opt, sched, ds, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_create(m, other_opt, sched, ds, &tr), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_create(gray, gray_opt, sched, ds, &tr), RN_E_INVALID_ARG, ctx); /* 1 vs 3 */
    MISUSE(rn_trainer_create(five, five_opt, sched, ds, &tr), RN_E_INVALID_ARG, ctx); /* classes */
    CHECK(tr == (rn_trainer *)SENTINEL_PTR);
    COVER(rn_trainer_destroy(NULL));
    tr = NULL;
    CHECK_OK(rn_trainer_create(m, opt, sched, ds, &tr), ctx);
    if (!tr) goto done;
    MISUSE(rn_trainer_set_int(NULL, RN_TRAIN_BATCH, 2), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_BATCH, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_BATCH, 65537), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_AUG_PAD, 65), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_AUG_FLIP, 2), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_SHUFFLE, -1), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_int(tr, 99, 1), RN_E_NOT_FOUND, ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_SHARDS, 257), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_BUCKET, 0), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_reducer(NULL, 0, 1, NULL, NULL, NULL), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_trainer_set_reducer(tr, 1, 1, NULL, NULL, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_reducer(tr, 0, 257, NULL, NULL, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_set_reducer(tr, 0, 2, NULL, NULL, NULL), RN_E_INVALID_ARG, ctx);
    int64_t v = -1;
    MISUSE(rn_trainer_get_int(NULL, RN_TRAIN_BATCH, &v), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_trainer_get_int(tr, RN_TRAIN_BATCH, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_trainer_get_int(tr, 99, &v), RN_E_NOT_FOUND, ctx);
    CHECK(v == -1);
    CHECK_OK(rn_trainer_get_int(tr, RN_TRAIN_BATCH, &v), ctx);
    CHECK(v == 128); /* refused values left the default */
    CHECK_OK(rn_trainer_set_int(tr, RN_TRAIN_BATCH, 2), ctx);

    float loss = SENTINEL;
    int32_t epoch_end = -1;
    MISUSE(rn_trainer_step(NULL, &loss, &epoch_end), RN_E_INVALID_ARG, NULL);
    int64_t e = -1, st = -1, b = -1, bpe = -1;
    double ml = -1, lr = -1;
    int32_t wd = -1;
    MISUSE(rn_trainer_progress(NULL, &e, &st, &b, &bpe), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_trainer_epoch_stats(NULL, &ml, &e, &st), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_trainer_lr(NULL, &lr, &wd), RN_E_INVALID_ARG, NULL);
    CHECK(loss == SENTINEL && epoch_end == -1 && e == -1 && st == -1 && b == -1 && bpe == -1);
    CHECK(ml == -1 && lr == -1 && wd == -1);

    /* checkpoints: sizes, paths and garbage */
    size_t need = 0;
    CHECK_OK(rn_checkpoint_save_mem(tr, NULL, 0, &need), ctx);
    unsigned char *ck = (unsigned char *)malloc(need + 16);
    size_t written = 7;
    MISUSE(rn_checkpoint_save_mem(NULL, ck, need, &written), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_checkpoint_save_mem(tr, ck, need - 1, &written), RN_E_BUFFER_TOO_SMALL, ctx);
    MISUSE(rn_checkpoint_save_mem(tr, ck, need, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(written == 7);
    MISUSE(rn_checkpoint_save_file(NULL, "x.safetensors"), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_checkpoint_save_file(tr, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_checkpoint_save_file(tr, no_dir_path), RN_E_IO, ctx);
    CHECK_OK(rn_checkpoint_save_mem(tr, ck, need, &written), ctx);

    /* one step, then: options are frozen and a checkpoint of step 0 from a
     * trainer with another batch size is refused before anything changes */
    CHECK_OK(rn_trainer_step(tr, &loss, &epoch_end), ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_BATCH, 4), RN_E_BAD_STATE, ctx);
    MISUSE(rn_trainer_set_int(tr, RN_TRAIN_SEED, 4), RN_E_BAD_STATE, ctx);
    const unsigned char garbage[32] = "this is not a checkpoint at all";
    MISUSE(rn_checkpoint_load_mem(NULL, ck, written), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_checkpoint_load_mem(tr, NULL, written), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_checkpoint_load_mem(tr, garbage, sizeof garbage), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_checkpoint_load_mem(tr, ck, written / 2), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_checkpoint_load_file(NULL, "x.safetensors"), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_checkpoint_load_file(tr, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_checkpoint_load_file(tr, missing_path), RN_E_IO, ctx);
    /* a model file is not a checkpoint */
    size_t mneed = 0;
    CHECK_OK(rn_model_save_safetensors_mem(m, NULL, 0, &mneed), ctx);
    unsigned char *mf = (unsigned char *)malloc(mneed);
    CHECK_OK(rn_model_save_safetensors_mem(m, mf, mneed, &mneed), ctx);
    MISUSE(rn_checkpoint_load_mem(tr, mf, mneed), RN_E_BAD_FORMAT, ctx);
    free(mf);
    rn_trainer *tr4 = NULL;
    rn_optimizer *opt4 = NULL;
    CHECK_OK(rn_sgd_create(m, &opt4), ctx);
    CHECK_OK(rn_trainer_create(m, opt4, sched, ds, &tr4), ctx);
    CHECK_OK(rn_trainer_set_int(tr4, RN_TRAIN_BATCH, 4), ctx);
    MISUSE(rn_checkpoint_load_mem(tr4, ck, written), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "batch size"));
    CHECK_OK(rn_trainer_progress(tr, &e, &st, &b, &bpe), ctx);
    CHECK(st == 1); /* the refused loads left the trainer where it was */
    rn_trainer_destroy(tr4);
    rn_optimizer_destroy(opt4);
    free(ck);
    rn_trainer_destroy(tr);

    /* a model whose weights are NaN: the step is refused as non-finite */
    float nan_bias[10];
    for (int i = 0; i < 10; i++) nan_bias[i] = (float)NAN;
    CHECK_OK(rn_model_set_tensor(other, "fc.bias", nan_bias, 10), ctx);
    rn_trainer *bad = NULL;
    CHECK_OK(rn_trainer_create(other, other_opt, sched, ds, &bad), ctx);
    CHECK_OK(rn_trainer_set_int(bad, RN_TRAIN_BATCH, 2), ctx);
    MISUSE(rn_trainer_step(bad, &loss, &epoch_end), RN_E_NUMERIC, ctx);
    CHECK(says(ctx, "step 1 (epoch 1, batch 1"));
    rn_trainer_destroy(bad);
done:
    rn_optimizer_destroy(opt), rn_optimizer_destroy(other_opt);
    rn_optimizer_destroy(gray_opt), rn_optimizer_destroy(five_opt);
    rn_lr_schedule_destroy(sched);
    rn_dataset_destroy(ds);
    rn_model_destroy(m), rn_model_destroy(other), rn_model_destroy(gray), rn_model_destroy(five);
    rn_ctx_destroy(ctx);
}

/* ---- io --------------------------------------------------------------------------- */
static const unsigned char not_a_file[24] = "\x93NUMPZ garbage garbage";

static void test_npy_refuses_garbage_wrong_counts_and_bad_paths(void) {
    rn_ctx *ctx = new_ctx();
    int32_t dtype = -1, ndim = -1;
    int64_t dims[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    MISUSE(rn_npy_info_mem(NULL, not_a_file, sizeof not_a_file, &dtype, &ndim, dims),
           RN_E_INVALID_ARG, NULL);
    MISUSE(rn_npy_info_mem(ctx, NULL, 100, &dtype, &ndim, dims), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_info_mem(ctx, not_a_file, sizeof not_a_file, &dtype, &ndim, dims),
           RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_npy_info_mem(ctx, not_a_file, 0, &dtype, &ndim, dims), RN_E_BAD_FORMAT, ctx);
    CHECK(dtype == -1 && ndim == -1 && dims[0] == -1);

    /* a valid 2x3 float array, written by the library itself */
    const float data[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3}, neg[2] = {2, -3};
    unsigned char file[256];
    size_t size = 9;
    MISUSE(rn_npy_write_mem(NULL, RN_DTYPE_F32, 2, shape, data, file, sizeof file, &size),
           RN_E_INVALID_ARG, NULL);
    MISUSE(rn_npy_write_mem(ctx, 99, 2, shape, data, file, sizeof file, &size), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_npy_write_mem(ctx, RN_DTYPE_F32, 9, shape, data, file, sizeof file, &size),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_write_mem(ctx, RN_DTYPE_F32, -1, shape, data, file, sizeof file, &size),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, neg, data, file, sizeof file, &size),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, NULL, data, file, sizeof file, &size),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, shape, NULL, file, sizeof file, &size),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, shape, data, file, 40, &size),
           RN_E_BUFFER_TOO_SMALL, ctx);
    MISUSE(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, shape, data, file, sizeof file, NULL),
           RN_E_INVALID_ARG, ctx);
    CHECK(size == 9);
    CHECK_OK(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, shape, data, file, sizeof file, &size), ctx);
    float out[7];
    int32_t iout[6] = {-1, -1, -1, -1, -1, -1};
    fill_sentinel(out, 7);
    MISUSE(rn_npy_read_mem(NULL, file, size, RN_DTYPE_F32, out, 6), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_npy_read_mem(ctx, file, size, RN_DTYPE_F32, out, 5), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_read_mem(ctx, file, size, RN_DTYPE_F32, out, 7), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_read_mem(ctx, file, size, RN_DTYPE_F32, NULL, 6), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_read_mem(ctx, file, size, RN_DTYPE_U8, out, 6), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_read_mem(ctx, file, size, RN_DTYPE_I32, iout, 6), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_read_mem(ctx, file, size - 1, RN_DTYPE_F32, out, 6), RN_E_BAD_FORMAT, ctx);
    CHECK(all_sentinel(out, 7) && iout[0] == -1);

    MISUSE(rn_npy_info_file(ctx, NULL, &dtype, &ndim, dims), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_info_file(ctx, missing_path, &dtype, &ndim, dims), RN_E_IO, ctx);
    CHECK(says(ctx, missing_path));
    MISUSE(rn_npy_read_file(ctx, missing_path, RN_DTYPE_F32, out, 6), RN_E_IO, ctx);
    MISUSE(rn_npy_read_file(NULL, missing_path, RN_DTYPE_F32, out, 6), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_npy_write_file(ctx, no_dir_path, RN_DTYPE_F32, 2, shape, data), RN_E_IO, ctx);
    MISUSE(rn_npy_write_file(ctx, NULL, RN_DTYPE_F32, 2, shape, data), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_npy_write_file(ctx, "rn-misuse-unwritten.npy", RN_DTYPE_F32, 2, neg, data),
           RN_E_INVALID_ARG, ctx);
    CHECK(dtype == -1 && all_sentinel(out, 7));
    rn_ctx_destroy(ctx);
}

static void test_safetensors_refuse_garbage_duplicates_indices_and_small_buffers(void) {
    rn_ctx *ctx = new_ctx();
    rn_safetensors *st = (rn_safetensors *)SENTINEL_PTR;
    MISUSE(rn_safetensors_open_mem(NULL, not_a_file, sizeof not_a_file, &st), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_safetensors_open_mem(ctx, NULL, 100, &st), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_open_mem(ctx, not_a_file, sizeof not_a_file, &st), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_safetensors_open_mem(ctx, not_a_file, 4, &st), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_safetensors_open_file(ctx, missing_path, &st), RN_E_IO, ctx);
    MISUSE(rn_safetensors_open_file(ctx, NULL, &st), RN_E_INVALID_ARG, ctx);
    CHECK(st == (rn_safetensors *)SENTINEL_PTR);
    COVER(rn_safetensors_close(NULL));
    CHECK(COVERED(rn_safetensors_count(NULL)) == 0);

    rn_safetensors_writer *w = (rn_safetensors_writer *)SENTINEL_PTR;
    MISUSE(rn_safetensors_writer_create(NULL, &w), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_safetensors_writer_create(ctx, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(w == (rn_safetensors_writer *)SENTINEL_PTR);
    COVER(rn_safetensors_writer_destroy(NULL));
    w = NULL;
    CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
    if (!w) {
        rn_ctx_destroy(ctx);
        return;
    }
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3}, neg[2] = {-2, 3};
    CHECK_OK(rn_safetensors_writer_add(w, "a", RN_DTYPE_F32, 2, shape, a), ctx);
    MISUSE(rn_safetensors_writer_add(NULL, "b", RN_DTYPE_F32, 2, shape, a), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_safetensors_writer_add(w, "a", RN_DTYPE_F32, 2, shape, a), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "a"));
    MISUSE(rn_safetensors_writer_add(w, "", RN_DTYPE_F32, 2, shape, a), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, "__metadata__", RN_DTYPE_F32, 2, shape, a),
           RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, NULL, RN_DTYPE_F32, 2, shape, a), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, "b", 99, 2, shape, a), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, -1, shape, a), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 9, shape, a), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 2, NULL, a), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 2, neg, a), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_add(w, "b", RN_DTYPE_F32, 2, shape, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_set_metadata(NULL, "k", "v"), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_safetensors_writer_set_metadata(w, NULL, "v"), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_set_metadata(w, "k", NULL), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_safetensors_writer_set_metadata(w, "format", "pt"), ctx);
    size_t need = 0, written = 5;
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, &need), ctx);
    unsigned char *file = (unsigned char *)malloc(need);
    MISUSE(rn_safetensors_writer_save_mem(NULL, file, need, &written), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_safetensors_writer_save_mem(w, file, need - 1, &written), RN_E_BUFFER_TOO_SMALL, ctx);
    MISUSE(rn_safetensors_writer_save_mem(w, file, need, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(written == 5);
    MISUSE(rn_safetensors_writer_save_file(NULL, "x.safetensors"), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_safetensors_writer_save_file(w, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_safetensors_writer_save_file(w, no_dir_path), RN_E_IO, ctx);
    CHECK_OK(rn_safetensors_writer_save_mem(w, file, need, &written), ctx);
    rn_safetensors_writer_destroy(w);

    st = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, file, written, &st), ctx);
    if (st) {
        const char *name = (const char *)SENTINEL_PTR;
        int32_t dtype = -1, ndim = -1, index = -1;
        int64_t dims[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
        MISUSE(rn_safetensors_info(NULL, 0, &name, &dtype, &ndim, dims), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_safetensors_info(st, -1, &name, &dtype, &ndim, dims), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_info(st, 1, &name, &dtype, &ndim, dims), RN_E_INVALID_ARG, ctx);
        CHECK(name == (const char *)SENTINEL_PTR && dtype == -1 && ndim == -1 && dims[0] == -1);
        MISUSE(rn_safetensors_find(NULL, "a", &index), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_safetensors_find(st, "b", &index), RN_E_NOT_FOUND, ctx);
        MISUSE(rn_safetensors_find(st, NULL, &index), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_find(st, "a", NULL), RN_E_INVALID_ARG, ctx);
        CHECK(index == -1);
        float out[7];
        fill_sentinel(out, 7);
        MISUSE(rn_safetensors_read_f32(NULL, 0, out, 6), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_safetensors_read_f32(st, 0, out, 5), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_read_f32(st, 0, out, 7), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_read_f32(st, 1, out, 6), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_read_f32(st, 0, NULL, 6), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_read_raw(NULL, 0, out, 24), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_safetensors_read_raw(st, 0, out, 23), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_read_raw(st, -1, out, 24), RN_E_INVALID_ARG, ctx);
        CHECK(all_sentinel(out, 7));
        const char *value = (const char *)SENTINEL_PTR;
        MISUSE(rn_safetensors_metadata(NULL, "format", &value), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_safetensors_metadata(st, "formats", &value), RN_E_NOT_FOUND, ctx);
        MISUSE(rn_safetensors_metadata(st, NULL, &value), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_safetensors_metadata(st, "format", NULL), RN_E_INVALID_ARG, ctx);
        CHECK(value == (const char *)SENTINEL_PTR);
        int32_t classes = -1, inc = -1;
        MISUSE(rn_safetensors_model_dims(NULL, &classes, &inc), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_safetensors_model_dims(st, &classes, &inc), RN_E_NOT_FOUND, ctx); /* no fc */
        CHECK(classes == -1 && inc == -1);
        rn_safetensors_close(st);
    }
    free(file);
    rn_ctx_destroy(ctx);
}

static void test_model_files_refuse_other_models_garbage_and_small_buffers(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = small_model(ctx, 10), *wide = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 10, 0, RN_SHORTCUT_DEFAULT, 8, 0, &wide), ctx);
    if (!m || !wide) goto done;
    CHECK_OK(rn_model_init(wide, 2), ctx);
    size_t need = 0, written = 3;
    CHECK_OK(rn_model_save_safetensors_mem(m, NULL, 0, &need), ctx);
    unsigned char *file = (unsigned char *)malloc(need);
    MISUSE(rn_model_save_safetensors_mem(NULL, file, need, &written), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_save_safetensors_mem(m, file, need - 1, &written), RN_E_BUFFER_TOO_SMALL, ctx);
    MISUSE(rn_model_save_safetensors_mem(m, file, need, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(written == 3);
    MISUSE(rn_model_save_safetensors_file(NULL, "x.safetensors"), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_save_safetensors_file(m, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_save_safetensors_file(m, no_dir_path), RN_E_IO, ctx);

    /* the file of a wider model: every shape differs, nothing is set */
    size_t wneed = 0;
    CHECK_OK(rn_model_save_safetensors_mem(wide, NULL, 0, &wneed), ctx);
    unsigned char *wfile = (unsigned char *)malloc(wneed);
    CHECK_OK(rn_model_save_safetensors_mem(wide, wfile, wneed, &wneed), ctx);
    enum { FC = 10 * 16 };
    float before[FC], after[FC];
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", before, FC), ctx);
    MISUSE(rn_model_load_safetensors_mem(NULL, wfile, wneed), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_load_safetensors_mem(m, wfile, wneed), RN_E_BAD_FORMAT, ctx);
    CHECK(says(ctx, "conv1.weight"));
    MISUSE(rn_model_load_safetensors_mem(m, NULL, wneed), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_load_safetensors_mem(m, not_a_file, sizeof not_a_file), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_model_load_safetensors_file(NULL, "x.safetensors"), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_load_safetensors_file(m, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_load_safetensors_file(m, missing_path), RN_E_IO, ctx);
    /* a file with one tensor missing */
    {
        rn_safetensors *st = NULL;
        rn_safetensors_writer *w = NULL;
        CHECK_OK(rn_model_save_safetensors_mem(m, file, need, &written), ctx);
        CHECK_OK(rn_safetensors_open_mem(ctx, file, written, &st), ctx);
        CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
        int32_t n = rn_safetensors_count(st);
        float *vals = (float *)malloc(65536 * sizeof(float));
        for (int32_t i = 0; st && w && i < n; i++) {
            const char *name;
            int32_t dtype, ndim;
            int64_t dims[8];
            CHECK_OK(rn_safetensors_info(st, i, &name, &dtype, &ndim, dims), ctx);
            if (!strcmp(name, "layer2.1.bn2.running_var")) continue;
            size_t count = 1;
            for (int32_t k = 0; k < ndim; k++) count *= (size_t)dims[k];
            if (count > 65536) continue;
            CHECK_OK(rn_safetensors_read_f32(st, i, vals, count), ctx);
            CHECK_OK(rn_safetensors_writer_add(w, name, RN_DTYPE_F32, ndim, dims, vals), ctx);
        }
        size_t pneed = 0;
        CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, &pneed), ctx);
        unsigned char *partial = (unsigned char *)malloc(pneed);
        CHECK_OK(rn_safetensors_writer_save_mem(w, partial, pneed, &pneed), ctx);
        MISUSE(rn_model_load_safetensors_mem(m, partial, pneed), RN_E_BAD_FORMAT, ctx);
        CHECK(says(ctx, "layer2.1.bn2.running_var"));
        free(partial);
        free(vals);
        rn_safetensors_writer_destroy(w);
        rn_safetensors_close(st);
    }
    /* blobs: NULLs, small buffers, misalignment, unknown flags, a plain file */
    {
        size_t bneed = 0, bwritten = 9;
        MISUSE(rn_model_save_blob_mem(NULL, NULL, 0, &bneed), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_save_blob_mem(wide, NULL, 0, NULL), RN_E_INVALID_ARG, ctx);
        CHECK_OK(rn_model_save_blob_mem(wide, NULL, 0, &bneed), ctx);
        unsigned char *blob = (unsigned char *)malloc(bneed + 4);
        MISUSE(rn_model_save_blob_mem(wide, blob, bneed - 1, &bwritten), RN_E_BUFFER_TOO_SMALL,
               ctx);
        CHECK(bwritten == 9);
        MISUSE(rn_model_save_blob_file(NULL, "x.safetensors"), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_save_blob_file(wide, NULL), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_save_blob_file(wide, no_dir_path), RN_E_IO, ctx);
        CHECK_OK(rn_model_save_blob_mem(wide, blob, bneed, &bneed), ctx);
        rn_model *o = m;
        MISUSE(rn_model_create_from_blob(NULL, blob, bneed, 0, &o), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_create_from_blob(ctx, NULL, bneed, 0, &o), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_create_from_blob(ctx, blob, bneed, 0, NULL), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_create_from_blob(ctx, blob, bneed, 0x10u, &o), RN_E_INVALID_ARG, ctx);
        memmove(blob + 2, blob, bneed);
        MISUSE(rn_model_create_from_blob(ctx, blob + 2, bneed, 0, &o), RN_E_INVALID_ARG, ctx);
        CHECK(says(ctx, "4-byte aligned"));
        MISUSE(rn_model_create_from_blob(ctx, wfile, wneed, 0, &o), RN_E_BAD_FORMAT, ctx);
        MISUSE(rn_model_create_from_blob(ctx, not_a_file, sizeof not_a_file, 0, &o),
               RN_E_BAD_FORMAT, ctx);
        CHECK(o == m);
        free(blob);
    }
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", after, FC), ctx);
    CHECK(memcmp(before, after, sizeof before) == 0);
    /* ONNX import: a safetensors file (or garbage) is no ONNX graph; *out untouched */
    {
        rn_model *o = m;
        MISUSE(rn_model_load_onnx_mem(NULL, wfile, wneed, &o), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_load_onnx_mem(ctx, wfile, wneed, NULL), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_load_onnx_mem(ctx, NULL, 8, &o), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_load_onnx_mem(ctx, not_a_file, sizeof not_a_file, &o), RN_E_BAD_FORMAT,
               ctx);
        MISUSE(rn_model_load_onnx_file(NULL, "x.onnx", &o), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_load_onnx_file(ctx, NULL, &o), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_load_onnx_file(ctx, missing_path, &o), RN_E_IO, ctx);
        CHECK(o == m);
        size_t oneed = 0, owritten = 5;
        unsigned char small_buf[16];
        MISUSE(rn_model_save_onnx_mem(NULL, NULL, 0, &oneed), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_save_onnx_mem(m, NULL, 0, NULL), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_save_onnx_mem(m, small_buf, sizeof small_buf, &owritten),
               RN_E_BUFFER_TOO_SMALL, ctx);
        CHECK(owritten == 5);
        MISUSE(rn_model_save_onnx_file(NULL, "x.onnx"), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_save_onnx_file(m, NULL), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_save_onnx_file(m, no_dir_path), RN_E_IO, ctx);
        /* non-strict load: garbage, NULLs and missing files are refused */
        int32_t counts[3] = {7, 7, 7};
        char report[8];
        MISUSE(rn_model_load_safetensors_partial_mem(NULL, wfile, wneed, counts, report, 8),
               RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_load_safetensors_partial_mem(m, NULL, wneed, counts, report, 8),
               RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_load_safetensors_partial_mem(m, not_a_file, sizeof not_a_file, counts,
                                                     report, 8),
               RN_E_BAD_FORMAT, ctx);
        MISUSE(rn_model_load_safetensors_partial_file(NULL, "x", counts, report, 8),
               RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_load_safetensors_partial_file(m, NULL, counts, report, 8), RN_E_INVALID_ARG,
               ctx);
        MISUSE(rn_model_load_safetensors_partial_file(m, missing_path, counts, report, 8), RN_E_IO,
               ctx);
        CHECK(counts[0] == 7 && counts[1] == 7 && counts[2] == 7);
        /* freezing */
        int32_t fz = 9;
        MISUSE(rn_model_set_frozen(NULL, "", 1), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_set_frozen(m, NULL, 1), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_set_frozen(m, "layer1.", 3), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_set_frozen(m, "nothing.", 1), RN_E_NOT_FOUND, ctx);
        MISUSE(rn_model_freeze_stages(NULL, 1), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_freeze_stages(m, -2), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_freeze_stages(m, 99), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_tensor_frozen(NULL, "fc.bias", &fz), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_model_tensor_frozen(m, "fc.bias", NULL), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_model_tensor_frozen(m, "fc.nothing", &fz), RN_E_NOT_FOUND, ctx);
        CHECK(fz == 9);
        /* features: train plans, wrong counts, NULLs */
        rn_plan *ip = NULL;
        CHECK_OK(rn_plan_create(m, 1, 8, 8, RN_MODE_INFER, &ip), ctx);
        static float fx[3 * 8 * 8], ff[64];
        MISUSE(rn_plan_features(NULL, fx, 192, RN_LAYOUT_NCHW, ff, 16), RN_E_INVALID_ARG, NULL);
        MISUSE(rn_plan_features(ip, NULL, 192, RN_LAYOUT_NCHW, ff, 16), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_plan_features(ip, fx, 191, RN_LAYOUT_NCHW, ff, 16), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_plan_features(ip, fx, 192, 7, ff, 16), RN_E_INVALID_ARG, ctx);
        MISUSE(rn_plan_features(ip, fx, 192, RN_LAYOUT_NCHW, ff, 15), RN_E_INVALID_ARG, ctx);
        rn_plan_destroy(ip);
    }
    free(wfile);
    free(file);
done:
    rn_model_destroy(m), rn_model_destroy(wide);
    rn_ctx_destroy(ctx);
}

static void test_idx_and_cifar_refuse_garbage_bad_labels_and_wrong_counts(void) {
    rn_ctx *ctx = new_ctx();
    int32_t dtype = -1, ndim = -1;
    int64_t dims[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    /* IDX: magic 0 0 0x08 (ubyte) 2 dims, 2 x 3, six bytes */
    const unsigned char idx[4 + 8 + 6] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
    uint8_t out[8];
    memset(out, 0xAB, sizeof out);
    MISUSE(rn_idx_info_mem(NULL, idx, sizeof idx, &dtype, &ndim, dims), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_idx_info_mem(ctx, NULL, sizeof idx, &dtype, &ndim, dims), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_idx_info_mem(ctx, not_a_file, sizeof not_a_file, &dtype, &ndim, dims),
           RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_idx_info_mem(ctx, idx, sizeof idx - 1, &dtype, &ndim, dims), RN_E_BAD_FORMAT, ctx);
    CHECK(dtype == -1 && ndim == -1 && dims[0] == -1);
    MISUSE(rn_idx_read_mem(NULL, idx, sizeof idx, out, 6), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_idx_read_mem(ctx, idx, sizeof idx, out, 5), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_idx_read_mem(ctx, idx, sizeof idx, out, 7), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_idx_read_mem(ctx, idx, sizeof idx, NULL, 6), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_idx_read_mem(ctx, idx, sizeof idx + 0 - 2, out, 6), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_idx_info_file(ctx, missing_path, &dtype, &ndim, dims), RN_E_IO, ctx);
    MISUSE(rn_idx_info_file(ctx, NULL, &dtype, &ndim, dims), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_idx_read_file(ctx, missing_path, out, 6), RN_E_IO, ctx);
    MISUSE(rn_idx_read_file(NULL, missing_path, out, 6), RN_E_INVALID_ARG, NULL);
    for (int i = 0; i < 8; i++) CHECK(out[i] == 0xAB);

    /* CIFAR-10: records of 1 + 3072 bytes with labels 0..9 */
    enum { REC = 3073 };
    unsigned char *cif = (unsigned char *)calloc(2, REC);
    uint8_t *images = (uint8_t *)malloc(2 * 3072);
    uint8_t labels[2] = {0xAB, 0xAB};
    size_t records = 77;
    memset(images, 0xAB, 2 * 3072);
    cif[0] = 3, cif[REC] = 10; /* the second record's label is out of range */
    MISUSE(rn_cifar10_info_mem(NULL, cif, 2 * REC, &records), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_cifar10_info_mem(ctx, NULL, 2 * REC, &records), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_cifar10_info_mem(ctx, cif, 2 * REC, &records), RN_E_BAD_FORMAT, ctx);
    CHECK(says(ctx, "10"));
    cif[REC] = 9;
    MISUSE(rn_cifar10_info_mem(ctx, cif, 2 * REC - 1, &records), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_cifar10_info_mem(ctx, cif, 2 * REC, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_cifar10_read_mem(NULL, cif, 2 * REC, images, labels, 2, &records), RN_E_INVALID_ARG,
           NULL);
    MISUSE(rn_cifar10_read_mem(ctx, cif, 2 * REC, NULL, labels, 2, &records), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_cifar10_read_mem(ctx, cif, 2 * REC, images, NULL, 2, &records), RN_E_INVALID_ARG,
           ctx);
    MISUSE(rn_cifar10_read_mem(ctx, cif, 2 * REC + 5, images, labels, 2, &records), RN_E_BAD_FORMAT,
           ctx);
    MISUSE(rn_cifar10_info_file(ctx, missing_path, &records), RN_E_IO, ctx);
    MISUSE(rn_cifar10_info_file(NULL, missing_path, &records), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_cifar10_read_file(ctx, missing_path, images, labels, 2, &records), RN_E_IO, ctx);
    MISUSE(rn_cifar10_read_file(ctx, NULL, images, labels, 2, &records), RN_E_INVALID_ARG, ctx);
    CHECK(records == 77 && labels[0] == 0xAB && labels[1] == 0xAB);
    for (int i = 0; i < 2 * 3072; i++)
        if (images[i] != 0xAB) {
            CHECK(images[i] == 0xAB);
            break;
        }
    free(cif);
    free(images);
    rn_ctx_destroy(ctx);
}

/* ---- coverage --------------------------------------------------------------------- */
#ifndef RN_TEST_DATA_DIR
#define RN_TEST_DATA_DIR "tests/data"
#endif
static int tests_run;    /* misuse tests run so far */
static size_t num_cases; /* entries of the table, the coverage test included */

/* Read a whole text file (NULL if it cannot be read). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = (char *)malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *bigger = (char *)realloc(buf, 2 * cap + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger, cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

/* Every function declared in one header: a line that starts with RN_API
 * declares the identifier right before its first '(' (tools/list_api.sh). */
static int check_header(const char *path, int *declared) {
    char *text = slurp(path);
    if (!text) {
        fprintf(stderr, "  cannot read %s\n", path);
        return 0;
    }
    int ok = 1;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *paren = strchr(line, '(');
        if (!strncmp(line, "RN_API", 6) && paren) {
            char *end = paren;
            while (end > line && end[-1] == ' ') end--;
            char *start = end;
            while (start > line && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                                    (start[-1] >= 'A' && start[-1] <= 'Z') ||
                                    (start[-1] >= '0' && start[-1] <= '9')))
                start--;
            char name[NAME_CAP];
            size_t len = (size_t)(end - start);
            if (len > 3 && len < NAME_CAP && !strncmp(start, "rn_", 3)) {
                memcpy(name, start, len);
                name[len] = '\0';
                (*declared)++;
                if (!is_covered(name)) {
                    fprintf(stderr, "  %s is declared in %s but no misuse test calls it\n", name,
                            path);
                    ok = 0;
                }
            }
        }
        line = next;
    }
    free(text);
    return ok;
}

static void test_int8_calls_refuse_nulls_wrong_models_and_garbage(void) {
    rn_ctx *ctx = new_ctx();
    rn_model *m = small_model(ctx, 10), *q = NULL;
    rn_calibrator *cal = NULL;
    int32_t prec = 9;
    int64_t seen = 9;
    static float x[2 * 3 * 8 * 8];
    static const unsigned char not_a_file[16] = {1, 2, 3};
    if (!m) goto done;
    MISUSE(rn_model_precision(NULL, &prec), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_precision(m, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(prec == 9);
    MISUSE(rn_calibrator_create(NULL, &cal), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_calibrator_create(m, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_calibrator_create(m, &cal), ctx);
    if (!cal) goto done;
    MISUSE(rn_calibrator_add_batch(NULL, x, 384, 2, 8, 8, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_calibrator_add_batch(cal, NULL, 384, 2, 8, 8, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_calibrator_add_batch(cal, x, 383, 2, 8, 8, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_calibrator_add_batch(cal, x, 384, 2, 8, 8, 5), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_calibrator_add_batch(cal, x, 384, 0, 8, 8, RN_LAYOUT_NCHW), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_calibrator_count(NULL, &seen), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_calibrator_count(cal, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_calibrator_quantize(NULL, RN_CALIB_MAX, 0, &q), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_calibrator_quantize(cal, RN_CALIB_MAX, 0, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_calibrator_quantize(cal, RN_CALIB_MAX, 0, &q), RN_E_BAD_STATE, ctx);
    CHECK_OK(rn_calibrator_add_batch(cal, x, 384, 2, 8, 8, RN_LAYOUT_NCHW), ctx);
    MISUSE(rn_calibrator_quantize(cal, -1, 0, &q), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_calibrator_quantize(cal, RN_CALIB_PERCENTILE, 50, &q), RN_E_INVALID_ARG, ctx);
    CHECK(q == NULL);
    CHECK_OK(rn_calibrator_quantize(cal, RN_CALIB_MAX, 0, &q), ctx);
    MISUSE(rn_calibrator_create(q, &cal), RN_E_BAD_STATE, ctx);
    COVER(rn_calibrator_destroy(NULL));
    MISUSE(rn_model_load_int8_mem(NULL, not_a_file, 16, 0, &q), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_load_int8_mem(ctx, NULL, 16, 0, &q), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_load_int8_mem(ctx, not_a_file, 16, 0, NULL), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_load_int8_mem(ctx, not_a_file, 16, 0, &q), RN_E_BAD_FORMAT, ctx);
    MISUSE(rn_model_load_int8_mem(ctx, not_a_file, 16, 3, &q), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_load_int8_file(NULL, "x", &q), RN_E_INVALID_ARG, NULL);
    MISUSE(rn_model_load_int8_file(ctx, NULL, &q), RN_E_INVALID_ARG, ctx);
    MISUSE(rn_model_load_int8_file(ctx, no_dir_path, &q), RN_E_IO, ctx);
done:
    rn_calibrator_destroy(cal);
    rn_model_destroy(q);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_every_declared_function_is_called_with_bad_arguments(void) {
    if ((size_t)tests_run + 1 != num_cases) {
        printf("     (coverage is only checked when every test runs)\n");
        return;
    }
    const char *include = RN_TEST_DATA_DIR "/../../include";
    char path[1024];
    snprintf(path, sizeof path, "%s/resnet.h", include);
    char *umbrella = slurp(path);
    CHECK(umbrella != NULL);
    if (!umbrella) return;
    int declared = 0, headers = 0;
    CHECK(check_header(path, &declared));
    /* the layer headers, as the umbrella header includes them */
    for (char *p = umbrella; (p = strstr(p, "#include \"resnet/")) != NULL;) {
        p += strlen("#include \"");
        char *q = strchr(p, '"');
        if (!q) break;
        snprintf(path, sizeof path, "%s/%.*s", include, (int)(q - p), p);
        CHECK(check_header(path, &declared));
        headers++;
        p = q;
    }
    free(umbrella);
    CHECK(headers >= 7);
    CHECK(declared >= 170); /* 173 when this test was written */
    printf("     %d declared functions, %d called with bad arguments (%d bad calls)\n", declared,
           num_covered, misuse_calls);
}

static void counted(void (*fn)(void)) {
    fn();
    tests_run++;
}
#define WRAP(fn) \
    static void run_##fn(void) { counted(test_##fn); }
WRAP(context_refuses_null_out_range_and_read_only_options)
WRAP(tensors_refuse_bad_dims_overflow_and_mismatched_buffers)
WRAP(layers_refuse_null_context_bad_shapes_and_bad_windows)
WRAP(blocks_refuse_bad_options_shapes_names_and_backward_first)
WRAP(model_builder_refuses_bad_order_and_bad_options)
WRAP(presets_refuse_unknown_names_and_absurd_widths)
WRAP(model_queries_and_named_tensors_refuse_bad_names_sizes_and_indices)
WRAP(plans_refuse_zero_and_overflowing_shapes_and_wrong_buffers)
WRAP(rng_and_split_refuse_null_zero_state_and_bad_counts)
WRAP(datasets_refuse_bad_labels_indices_and_normalisations)
WRAP(sgd_refuses_bad_options_early_steps_and_non_finite_gradients)
WRAP(schedules_refuse_bad_milestones_lengths_and_rates)
WRAP(trainer_and_checkpoints_refuse_mismatches_late_options_and_garbage)
WRAP(npy_refuses_garbage_wrong_counts_and_bad_paths)
WRAP(safetensors_refuse_garbage_duplicates_indices_and_small_buffers)
WRAP(model_files_refuse_other_models_garbage_and_small_buffers)
WRAP(idx_and_cifar_refuse_garbage_bad_labels_and_wrong_counts)
#define CASE(fn) \
    { #fn, run_##fn }

static const rn_test_case cases[] = {
    {"int8_calls_refuse_nulls_wrong_models_and_garbage",
     test_int8_calls_refuse_nulls_wrong_models_and_garbage},
    CASE(context_refuses_null_out_range_and_read_only_options),
    CASE(tensors_refuse_bad_dims_overflow_and_mismatched_buffers),
    CASE(layers_refuse_null_context_bad_shapes_and_bad_windows),
    CASE(blocks_refuse_bad_options_shapes_names_and_backward_first),
    CASE(model_builder_refuses_bad_order_and_bad_options),
    CASE(presets_refuse_unknown_names_and_absurd_widths),
    CASE(model_queries_and_named_tensors_refuse_bad_names_sizes_and_indices),
    CASE(plans_refuse_zero_and_overflowing_shapes_and_wrong_buffers),
    CASE(rng_and_split_refuse_null_zero_state_and_bad_counts),
    CASE(datasets_refuse_bad_labels_indices_and_normalisations),
    CASE(sgd_refuses_bad_options_early_steps_and_non_finite_gradients),
    CASE(schedules_refuse_bad_milestones_lengths_and_rates),
    CASE(trainer_and_checkpoints_refuse_mismatches_late_options_and_garbage),
    CASE(npy_refuses_garbage_wrong_counts_and_bad_paths),
    CASE(safetensors_refuse_garbage_duplicates_indices_and_small_buffers),
    CASE(model_files_refuse_other_models_garbage_and_small_buffers),
    CASE(idx_and_cifar_refuse_garbage_bad_labels_and_wrong_counts),
    {"every_declared_function_is_called_with_bad_arguments",
     test_every_declared_function_is_called_with_bad_arguments},
};
int main(int argc, char **argv) {
    num_cases = sizeof cases / sizeof cases[0];
    return rn_test_main(cases, num_cases, argc, argv);
}
