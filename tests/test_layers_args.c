/*
 * Layers: bad arguments are refused with a status and a sentence, never a
 * crash, and the outputs are left untouched. Covers NULL tensors, shape
 * mismatches, stride <= 0, pad < 0, pad >= kernel for max pool, windows larger
 * than the padded input, labels out of range, num_labels != N, outputs that
 * overlap inputs, out-of-memory for the workspace, and a NULL context.
 */
#include "harness.h"
#include "resnet.h"

#define SENTINEL 12345.0f

static rn_tensor *make(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c) {
    rn_tensor *t = NULL;
    if (rn_tensor_create(ctx, n, h, w, c, &t) != RN_OK) return NULL;
    rn_test_fill_uniform(rn_tensor_data(t), (size_t)rn_tensor_numel(t), -1, 1);
    return t;
}

/* An output filled with SENTINEL, to see that failing calls leave it alone. */
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

static int says(const rn_ctx *ctx, const char *needle) {
    if (strstr(rn_last_error(ctx), needle)) return 1;
    fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", rn_last_error(ctx), needle);
    return 0;
}

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    return ctx;
}

static void test_conv_out_size_refuses_what_does_not_fit(void) {
    CHECK(rn_conv_out_size(5, 3, 1, 1) == 5);
    CHECK(rn_conv_out_size(224, 7, 2, 3) == 112);
    CHECK(rn_conv_out_size(2, 5, 1, 1) == -1); /* kernel larger than padded input */
    CHECK(rn_conv_out_size(5, 3, 0, 1) == -1);
    CHECK(rn_conv_out_size(5, 3, 1, -1) == -1);
    CHECK(rn_conv_out_size(0, 1, 1, 0) == -1);
    CHECK(rn_conv_out_size(5, 0, 1, 0) == -1);
    CHECK(rn_conv_out_size(5, 3, 1, INT64_MAX / 2) == -1); /* would overflow */
}

static void test_conv_forward_refuses_bad_arguments(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, 2, 6, 6, 8), *w = make(ctx, 8, 3, 3, 8), *b = make(ctx, 1, 1, 1, 8);
    rn_tensor *y = make_out(ctx, 2, 4, 4, 8), *wrong_y = make_out(ctx, 2, 5, 5, 8);
    rn_tensor *w_c3 = make(ctx, 8, 3, 3, 3), *b9 = make(ctx, 1, 1, 1, 9);
    rn_tensor *w_big = make(ctx, 8, 9, 9, 8);
    CHECK_STATUS(rn_conv2d_forward(ctx, NULL, w, b, 1, 1, 0, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "x is NULL"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, NULL, b, 1, 1, 0, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b, 1, 1, 0, 0, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b, 1, 1, 0, 0, wrong_y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "rn_conv2d_forward: y has shape (2,5,5,8), expected (2,4,4,8)"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w_c3, b, 1, 1, 0, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "(8,3,3,3)") && says(ctx, "(2,6,6,8)"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b9, 1, 1, 0, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "bias"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b, 0, 1, 0, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "stride"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b, 1, -2, 0, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b, 1, 1, -1, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "padding"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b, 1, 1, 0, -1, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w_big, b, 1, 1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "does not fit"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, b, 1, 1, 0, 0, (rn_tensor *)x), RN_E_INVALID_ARG,
                 ctx); /* x is (2,6,6,8), not y's shape */
    CHECK(untouched(y) && untouched(wrong_y));
    CHECK_STATUS(rn_conv2d_forward(NULL, x, w, b, 1, 1, 0, 0, y), RN_E_INVALID_ARG, NULL);
    CHECK(untouched(y));
    CHECK_OK(rn_conv2d_forward(ctx, x, w, NULL, 1, 1, 0, 0, y), ctx); /* bias is optional */
    CHECK(!untouched(y));
    CHECK(rn_last_error(ctx)[0] == '\0');
    rn_tensor *ts[] = {x, w, b, y, wrong_y, w_c3, b9, w_big};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void test_conv_refuses_output_overlapping_input(void) {
    rn_ctx *ctx = new_ctx();
    /* a 3x3 pad-1 conv with C == OC: y has x's shape, so only the overlap
     * check can refuse y == x */
    float *buf = (float *)calloc(256, sizeof(float));
    rn_tensor *x = NULL, *y = NULL, *w = make(ctx, 4, 3, 3, 4);
    CHECK_OK(rn_tensor_wrap(ctx, 2, 4, 4, 4, buf, &x), ctx);
    CHECK_OK(rn_tensor_wrap(ctx, 2, 4, 4, 4, buf + 8, &y), ctx);
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, NULL, 1, 1, 1, 1, x), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "overlaps"));
    CHECK_STATUS(rn_conv2d_forward(ctx, x, w, NULL, 1, 1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_backward_data(ctx, x, w, 1, 1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    rn_tensor *dw = make(ctx, 4, 3, 3, 4), *dw_alias = NULL;
    CHECK_OK(rn_tensor_wrap(ctx, 4, 3, 3, 4, buf, &dw_alias), ctx);
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, x, y, 1, 1, 1, 1, dw_alias, NULL),
                 RN_E_INVALID_ARG, ctx);
    rn_tensor_destroy(dw_alias), rn_tensor_destroy(dw);
    rn_tensor_destroy(y), rn_tensor_destroy(x), rn_tensor_destroy(w);
    free(buf);
    rn_ctx_destroy(ctx);
}

static void test_conv_backward_refuses_bad_arguments(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, 2, 6, 6, 3), *w = make(ctx, 4, 3, 3, 3), *dy = make(ctx, 2, 3, 3, 4);
    rn_tensor *dx = make_out(ctx, 2, 6, 6, 3), *dw = make_out(ctx, 4, 3, 3, 3);
    rn_tensor *db = make_out(ctx, 1, 1, 1, 4), *bad_dy = make(ctx, 2, 4, 4, 4);
    rn_tensor *bad_dx = make_out(ctx, 2, 6, 6, 5), *bad_db = make_out(ctx, 1, 1, 4, 1);
    /* stride 2 pad 1: out (2,3,3,4) */
    CHECK_STATUS(rn_conv2d_backward_data(ctx, NULL, w, 2, 2, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_backward_data(ctx, dy, NULL, 2, 2, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_backward_data(ctx, dy, w, 2, 2, 1, 1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_backward_data(ctx, bad_dy, w, 2, 2, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "dy has shape (2,4,4,4), expected (2,3,3,4)"));
    CHECK_STATUS(rn_conv2d_backward_data(ctx, dy, w, 2, 2, 1, 1, bad_dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_backward_data(ctx, dy, w, 0, 2, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_backward_data(ctx, dy, w, 2, 2, -1, 1, dx), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(dx) && untouched(bad_dx));
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, NULL, dy, 2, 2, 1, 1, dw, db), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, x, NULL, 2, 2, 1, 1, dw, db), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, x, dy, 2, 2, 1, 1, NULL, db), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, x, bad_dy, 2, 2, 1, 1, dw, db), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, x, dy, 2, 2, 1, 1, dw, bad_db), RN_E_INVALID_ARG,
                 ctx);
    CHECK(says(ctx, "dbias has shape (1,1,4,1), expected (1,1,1,4)"));
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, x, dy, 1, 0, 1, 1, dw, db), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_conv2d_backward_weights(ctx, x, dy, 2, 2, 1, -3, dw, db), RN_E_INVALID_ARG,
                 ctx);
    CHECK(untouched(dw) && untouched(db) && untouched(bad_db));
    CHECK_OK(rn_conv2d_backward_weights(ctx, x, dy, 2, 2, 1, 1, dw, NULL), ctx);
    CHECK(untouched(db));
    rn_tensor *ts[] = {x, w, dy, dx, dw, db, bad_dy, bad_dx, bad_db};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

/* A context in a small caller buffer holds the tensors but not the im2col
 * workspace: the call reports RN_E_NO_MEMORY and leaves y alone. */
static void test_conv_reports_no_memory_for_workspace(void) {
    static unsigned char arena[64 * 1024];
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create_in_buffer(arena, sizeof arena, &ctx), ctx);
    rn_tensor *x = make(ctx, 1, 24, 24, 8), *w = make(ctx, 8, 3, 3, 8),
              *y = make_out(ctx, 1, 24, 24, 8);
    CHECK(x && w && y);
    if (x && w && y) {
        CHECK_STATUS(rn_conv2d_forward(ctx, x, w, NULL, 1, 1, 1, 1, y), RN_E_NO_MEMORY, ctx);
        CHECK(says(ctx, "workspace"));
        CHECK(untouched(y));
    }
    rn_tensor_destroy(y), rn_tensor_destroy(w), rn_tensor_destroy(x);
    rn_ctx_destroy(ctx);
}

static void test_batchnorm_refuses_bad_arguments(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, 2, 3, 3, 4), *g = make(ctx, 1, 1, 1, 4), *b = make(ctx, 1, 1, 1, 4);
    rn_tensor *rm = make_out(ctx, 1, 1, 1, 4), *rv = make_out(ctx, 1, 1, 1, 4);
    rn_tensor *y = make_out(ctx, 2, 3, 3, 4), *sm = make_out(ctx, 1, 1, 1, 4);
    rn_tensor *si = make_out(ctx, 1, 1, 1, 4), *g5 = make(ctx, 1, 1, 1, 5);
    rn_tensor *g_wrong_axis = make(ctx, 4, 1, 1, 1), *y_bad = make_out(ctx, 2, 3, 4, 4);
    rn_tensor *x1 = make(ctx, 1, 1, 1, 4), *y1 = make_out(ctx, 1, 1, 1, 4);
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, NULL, g, b, rm, rv, 0.1f, 1e-5f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, NULL, b, rm, rv, 0.1f, 1e-5f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "gamma is NULL"));
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, NULL, 0.1f, 1e-5f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, 0.1f, 1e-5f, y, sm, NULL),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g5, b, rm, rv, 0.1f, 1e-5f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "gamma has shape (1,1,1,5), expected (1,1,1,4)"));
    CHECK_STATUS(
        rn_batchnorm_forward_train(ctx, x, g_wrong_axis, b, rm, rv, 0.1f, 1e-5f, y, sm, si),
        RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, 0.1f, 1e-5f, y_bad, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "y has shape (2,3,4,4), expected (2,3,3,4)"));
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, 1.5f, 1e-5f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "momentum"));
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, NAN, 1e-5f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, 0.1f, -1.0f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "eps"));
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, rv, 0.1f, INFINITY, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    /* one value per channel: no unbiased variance, refused like PyTorch */
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x1, g, b, rm, rv, 0.1f, 1e-5f, y1, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "more than one value per channel"));
    /* running_mean and running_var the same tensor */
    CHECK_STATUS(rn_batchnorm_forward_train(ctx, x, g, b, rm, rm, 0.1f, 1e-5f, y, sm, si),
                 RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "overlap"));
    CHECK(untouched(rm) && untouched(rv) && untouched(y) && untouched(sm) && untouched(si));
    CHECK(untouched(y1) && untouched(y_bad));
    CHECK_STATUS(rn_batchnorm_forward_eval(ctx, x, g, b, rm, NULL, 1e-5f, y), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_batchnorm_forward_eval(ctx, x, g, b, rm, g5, 1e-5f, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_forward_eval(ctx, x, g, b, rm, rv, NAN, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_forward_eval(ctx, x, g, b, rm, rv, 1e-5f, y_bad), RN_E_INVALID_ARG,
                 ctx);
    CHECK(untouched(y));
    /* in place is allowed for the elementwise output */
    rn_tensor *z = make(ctx, 2, 3, 3, 4);
    rn_tensor_fill(rv, 1.0f);
    CHECK_OK(rn_batchnorm_forward_eval(ctx, z, g, b, rm, rv, 1e-5f, z), ctx);
    rn_tensor *dx = make_out(ctx, 2, 3, 3, 4), *dg = make_out(ctx, 1, 1, 1, 4);
    rn_tensor *dbeta = make_out(ctx, 1, 1, 1, 4);
    CHECK_STATUS(rn_batchnorm_backward(ctx, x, NULL, g, sm, si, dx, dg, dbeta), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_batchnorm_backward(ctx, x, y_bad, g, sm, si, dx, dg, dbeta), RN_E_INVALID_ARG,
                 ctx);
    CHECK(says(ctx, "dy has shape (2,3,4,4), expected (2,3,3,4)"));
    CHECK_STATUS(rn_batchnorm_backward(ctx, x, x, g, g5, si, dx, dg, dbeta), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_batchnorm_backward(ctx, x, x, g, sm, si, dx, NULL, dbeta), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_batchnorm_backward(ctx, x, x, g, sm, si, y_bad, dg, dbeta), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_batchnorm_backward(ctx, x, x, g, sm, si, dx, dg, dg), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(dx) && untouched(dg) && untouched(dbeta));
    rn_tensor *ts[] = {x,     g,  b,  rm, rv, y,  sm,   si, g5, g_wrong_axis,
                       y_bad, x1, y1, z,  dx, dg, dbeta};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void test_relu_and_add_refuse_mismatched_shapes(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *a = make(ctx, 2, 3, 3, 4), *b = make(ctx, 2, 3, 3, 4), *c = make(ctx, 2, 3, 4, 3);
    rn_tensor *y = make_out(ctx, 2, 3, 3, 4), *y2 = make_out(ctx, 2, 3, 3, 4);
    CHECK_STATUS(rn_relu_forward(ctx, NULL, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_relu_forward(ctx, a, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_relu_forward(ctx, c, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "y has shape (2,3,3,4), expected (2,3,4,3)"));
    CHECK_STATUS(rn_relu_backward(ctx, a, c, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_relu_backward(ctx, a, b, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_relu_backward(ctx, NULL, b, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_add_forward(ctx, a, c, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "b has shape (2,3,4,3), expected (2,3,3,4)"));
    CHECK_STATUS(rn_add_forward(ctx, a, NULL, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_add_forward(ctx, a, b, c), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_add_backward(ctx, a, y, c), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_add_backward(ctx, a, y, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_add_backward(ctx, a, y, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "overlap"));
    CHECK(untouched(y) && untouched(y2));
    CHECK_STATUS(rn_relu_forward(NULL, a, y), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_add_forward(NULL, a, b, y), RN_E_INVALID_ARG, NULL);
    CHECK(untouched(y));
    /* exact in-place use is allowed: y = relu(y), a = a + b */
    CHECK_OK(rn_relu_forward(ctx, y2, y2), ctx);
    CHECK_OK(rn_add_forward(ctx, a, b, a), ctx);
    rn_tensor *ts[] = {a, b, c, y, y2};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void test_maxpool_refuses_bad_windows(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, 1, 5, 5, 2), *y = make_out(ctx, 1, 3, 3, 2);
    rn_tensor *y_bad = make_out(ctx, 1, 2, 3, 2), *dx = make_out(ctx, 1, 5, 5, 2);
    CHECK_STATUS(rn_maxpool_forward(ctx, NULL, 3, 3, 2, 2, 1, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 3, 3, 2, 2, 1, 1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 3, 3, 2, 2, 1, 1, y_bad), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "y has shape (1,2,3,2), expected (1,3,3,2)"));
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 0, 3, 2, 2, 0, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "kernel"));
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 3, 3, 0, 2, 1, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 3, 3, 2, -1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 3, 3, 2, 2, -1, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 3, 3, 2, 2, 3, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "smaller than the kernel"));
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 2, 2, 2, 2, 1, 2, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_forward(ctx, x, 9, 3, 1, 1, 1, 1, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "does not fit"));
    CHECK(untouched(y) && untouched(y_bad));
    CHECK_STATUS(rn_maxpool_backward(ctx, x, y_bad, 3, 3, 2, 2, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "dy has shape (1,2,3,2), expected (1,3,3,2)"));
    CHECK_STATUS(rn_maxpool_backward(ctx, x, y, 3, 3, 2, 2, 1, 1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_backward(ctx, x, y, 3, 3, 2, 2, 1, 1, y_bad), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_backward(ctx, NULL, y, 3, 3, 2, 2, 1, 1, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_backward(ctx, x, y, 3, 3, 2, 2, 3, 3, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_maxpool_backward(ctx, x, y, 3, 3, 2, 2, 1, 1, (rn_tensor *)x), RN_E_INVALID_ARG,
                 ctx);
    CHECK(says(ctx, "overlaps"));
    CHECK(untouched(dx));
    rn_tensor *ts[] = {x, y, y_bad, dx};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void test_global_avgpool_refuses_bad_shapes(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, 2, 4, 4, 3), *y = make_out(ctx, 2, 1, 1, 3);
    rn_tensor *y_bad = make_out(ctx, 2, 1, 1, 4), *dx = make_out(ctx, 2, 4, 4, 3);
    rn_tensor *dx_bad = make_out(ctx, 3, 4, 4, 3), *dy_bad = make(ctx, 2, 2, 1, 3);
    CHECK_STATUS(rn_global_avgpool_forward(ctx, NULL, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_global_avgpool_forward(ctx, x, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_global_avgpool_forward(ctx, x, y_bad), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "y has shape (2,1,1,4), expected (2,1,1,3)"));
    CHECK_STATUS(rn_global_avgpool_backward(ctx, y, dx_bad), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "(3,4,4,3)"));
    CHECK_STATUS(rn_global_avgpool_backward(ctx, dy_bad, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_global_avgpool_backward(ctx, NULL, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_global_avgpool_backward(ctx, y, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(y) && untouched(y_bad) && untouched(dx) && untouched(dx_bad));
    rn_tensor *ts[] = {x, y, y_bad, dx, dx_bad, dy_bad};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void test_linear_refuses_bad_shapes(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, 2, 2, 2, 3), *w = make(ctx, 5, 1, 1, 12), *b = make(ctx, 1, 1, 1, 5);
    rn_tensor *y = make_out(ctx, 2, 1, 1, 5), *w_bad = make(ctx, 5, 1, 1, 11);
    rn_tensor *w_4d = make(ctx, 5, 2, 2, 3), *b_bad = make(ctx, 1, 1, 1, 4);
    rn_tensor *y_bad = make_out(ctx, 2, 1, 1, 6);
    rn_tensor *dx = make_out(ctx, 2, 2, 2, 3), *dw = make_out(ctx, 5, 1, 1, 12);
    rn_tensor *db = make_out(ctx, 1, 1, 1, 5);
    CHECK_STATUS(rn_linear_forward(ctx, NULL, w, b, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_forward(ctx, x, NULL, b, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_forward(ctx, x, w, b, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_forward(ctx, x, w_bad, b, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "w has shape (5,1,1,11), expected (OUT,1,1,12)"));
    CHECK_STATUS(rn_linear_forward(ctx, x, w_4d, b, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_forward(ctx, x, w, b_bad, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_forward(ctx, x, w, b, y_bad), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "y has shape (2,1,1,6), expected (2,1,1,5)"));
    CHECK(untouched(y) && untouched(y_bad));
    CHECK_STATUS(rn_linear_backward(ctx, x, w, y_bad, dx, dw, db), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_backward(ctx, x, w, NULL, dx, dw, db), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_backward(ctx, x, w, b, dx, dw, db), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_backward(ctx, x, w, y, dx, NULL, db), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_backward(ctx, x, w, y, w_4d, dw, db), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_backward(ctx, x, w, y, dx, w_bad, db), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_linear_backward(ctx, x, w, y, dx, dw, b_bad), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(dx) && untouched(dw) && untouched(db));
    /* dx and db are optional */
    CHECK_OK(rn_linear_backward(ctx, x, w, y, NULL, dw, NULL), ctx);
    CHECK(untouched(dx) && untouched(db) && !untouched(dw));
    rn_tensor *ts[] = {x, w, b, y, w_bad, w_4d, b_bad, y_bad, dx, dw, db};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void test_shortcut_a_refuses_bad_shapes_and_stride(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *x = make(ctx, 2, 5, 5, 4), *y = make_out(ctx, 2, 3, 3, 8);
    rn_tensor *y_floor = make_out(ctx, 2, 2, 2, 8), *y_narrow = make_out(ctx, 2, 3, 3, 3);
    rn_tensor *dx = make_out(ctx, 2, 5, 5, 4);
    CHECK_STATUS(rn_shortcut_a_forward(ctx, NULL, 2, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_shortcut_a_forward(ctx, x, 2, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_shortcut_a_forward(ctx, x, 0, y), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "stride"));
    CHECK_STATUS(rn_shortcut_a_forward(ctx, x, -2, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_shortcut_a_forward(ctx, x, 2, y_floor), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "(2,2,2,8)") && says(ctx, "(2,3,3,OC)"));
    CHECK_STATUS(rn_shortcut_a_forward(ctx, x, 2, y_narrow), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "OC >= 4"));
    CHECK(untouched(y) && untouched(y_floor) && untouched(y_narrow));
    CHECK_STATUS(rn_shortcut_a_backward(ctx, y_floor, 2, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_shortcut_a_backward(ctx, y, 0, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_shortcut_a_backward(ctx, y, 2, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_shortcut_a_backward(ctx, NULL, 2, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_shortcut_a_backward(ctx, y_narrow, 2, dx), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(dx));
    rn_tensor *ts[] = {x, y, y_floor, y_narrow, dx};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) rn_tensor_destroy(ts[i]);
    rn_ctx_destroy(ctx);
}

static void test_softmax_xent_refuses_bad_labels(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *logits = make(ctx, 3, 1, 1, 4), *g = make_out(ctx, 3, 1, 1, 4);
    rn_tensor *g_bad = make_out(ctx, 3, 1, 1, 5), *spatial = make(ctx, 3, 2, 1, 4);
    const int32_t ok[3] = {0, 3, 1}, high[3] = {0, 4, 1}, negative[3] = {0, -1, 1};
    float loss = SENTINEL;
    CHECK_STATUS(rn_softmax_xent_forward(ctx, NULL, ok, 3, &loss), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_softmax_xent_forward(ctx, logits, NULL, 3, &loss), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "labels is NULL"));
    CHECK_STATUS(rn_softmax_xent_forward(ctx, logits, ok, 3, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_softmax_xent_forward(ctx, logits, ok, 2, &loss), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "num_labels is 2"));
    CHECK_STATUS(rn_softmax_xent_forward(ctx, logits, high, 3, &loss), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "labels[1] = 4 is outside [0, 4)"));
    CHECK_STATUS(rn_softmax_xent_forward(ctx, logits, negative, 3, &loss), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_softmax_xent_forward(ctx, spatial, ok, 3, &loss), RN_E_INVALID_ARG, ctx);
    CHECK(says(ctx, "expected (N,1,1,K)"));
    CHECK(loss == SENTINEL);
    CHECK_STATUS(rn_softmax_xent_backward(ctx, logits, high, 3, g), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_softmax_xent_backward(ctx, logits, ok, 4, g), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_softmax_xent_backward(ctx, logits, ok, 3, g_bad), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_softmax_xent_backward(ctx, logits, ok, 3, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(untouched(g) && untouched(g_bad));
    CHECK_OK(rn_softmax_xent_forward(ctx, logits, ok, 3, &loss), ctx);
    CHECK(loss != SENTINEL && loss > 0.0f);
    rn_tensor_destroy(logits), rn_tensor_destroy(g), rn_tensor_destroy(g_bad);
    rn_tensor_destroy(spatial);
    rn_ctx_destroy(ctx);
}

static void test_every_layer_refuses_null_context(void) {
    rn_ctx *ctx = new_ctx();
    rn_tensor *t = make(ctx, 1, 1, 1, 2), *u = make_out(ctx, 1, 1, 1, 2);
    const int32_t label = 0;
    float loss = SENTINEL;
    CHECK(rn_conv2d_backward_data(NULL, t, t, 1, 1, 0, 0, u) == RN_E_INVALID_ARG);
    CHECK(rn_conv2d_backward_weights(NULL, t, t, 1, 1, 0, 0, u, NULL) == RN_E_INVALID_ARG);
    CHECK(rn_batchnorm_forward_train(NULL, t, t, t, u, u, 0.1f, 1e-5f, u, u, u) ==
          RN_E_INVALID_ARG);
    CHECK(rn_batchnorm_forward_eval(NULL, t, t, t, t, t, 1e-5f, u) == RN_E_INVALID_ARG);
    CHECK(rn_batchnorm_backward(NULL, t, t, t, t, t, u, u, u) == RN_E_INVALID_ARG);
    CHECK(rn_relu_backward(NULL, t, t, u) == RN_E_INVALID_ARG);
    CHECK(rn_maxpool_forward(NULL, t, 1, 1, 1, 1, 0, 0, u) == RN_E_INVALID_ARG);
    CHECK(rn_maxpool_backward(NULL, t, t, 1, 1, 1, 1, 0, 0, u) == RN_E_INVALID_ARG);
    CHECK(rn_global_avgpool_forward(NULL, t, u) == RN_E_INVALID_ARG);
    CHECK(rn_global_avgpool_backward(NULL, t, u) == RN_E_INVALID_ARG);
    CHECK(rn_linear_forward(NULL, t, t, NULL, u) == RN_E_INVALID_ARG);
    CHECK(rn_linear_backward(NULL, t, t, t, NULL, u, NULL) == RN_E_INVALID_ARG);
    CHECK(rn_add_backward(NULL, t, u, u) == RN_E_INVALID_ARG);
    CHECK(rn_shortcut_a_forward(NULL, t, 1, u) == RN_E_INVALID_ARG);
    CHECK(rn_shortcut_a_backward(NULL, t, 1, u) == RN_E_INVALID_ARG);
    CHECK(rn_softmax_xent_forward(NULL, t, &label, 1, &loss) == RN_E_INVALID_ARG);
    CHECK(rn_softmax_xent_backward(NULL, t, &label, 1, u) == RN_E_INVALID_ARG);
    CHECK(untouched(u) && loss == SENTINEL);
    rn_tensor_destroy(t), rn_tensor_destroy(u);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"conv_out_size_refuses_what_does_not_fit", test_conv_out_size_refuses_what_does_not_fit},
    {"conv_forward_refuses_bad_arguments", test_conv_forward_refuses_bad_arguments},
    {"conv_refuses_output_overlapping_input", test_conv_refuses_output_overlapping_input},
    {"conv_backward_refuses_bad_arguments", test_conv_backward_refuses_bad_arguments},
    {"conv_reports_no_memory_for_workspace", test_conv_reports_no_memory_for_workspace},
    {"batchnorm_refuses_bad_arguments", test_batchnorm_refuses_bad_arguments},
    {"relu_and_add_refuse_mismatched_shapes", test_relu_and_add_refuse_mismatched_shapes},
    {"maxpool_refuses_bad_windows", test_maxpool_refuses_bad_windows},
    {"global_avgpool_refuses_bad_shapes", test_global_avgpool_refuses_bad_shapes},
    {"linear_refuses_bad_shapes", test_linear_refuses_bad_shapes},
    {"shortcut_a_refuses_bad_shapes_and_stride", test_shortcut_a_refuses_bad_shapes_and_stride},
    {"softmax_xent_refuses_bad_labels", test_softmax_xent_refuses_bad_labels},
    {"every_layer_refuses_null_context", test_every_layer_refuses_null_context},
};
RN_TEST_MAIN(cases)
