/*
 * Standalone blocks (block.h): torchvision's tensor names and order, the
 * residual identity a zero-initialised block starts as, reuse across input
 * shapes, and every wrong way of calling the block API.
 */
#include "harness.h"
#include "resnet.h"

static void test_tensor_names_follow_torchvision_blocks(void) {
    /* torchvision BasicBlock / Bottleneck state_dict keys, in order */
    static const char *const basic[] = {"conv1.weight",
                                        "bn1.weight",
                                        "bn1.bias",
                                        "bn1.running_mean",
                                        "bn1.running_var",
                                        "conv2.weight",
                                        "bn2.weight",
                                        "bn2.bias",
                                        "bn2.running_mean",
                                        "bn2.running_var",
                                        "downsample.0.weight",
                                        "downsample.1.weight",
                                        "downsample.1.bias",
                                        "downsample.1.running_mean",
                                        "downsample.1.running_var"};
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_block *b = NULL;
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 64, 128, 2, RN_SHORTCUT_B, 0, &b), ctx);
    CHECK(rn_block_tensor_count(b) == 15);
    for (int32_t i = 0; i < rn_block_tensor_count(b) && i < 15; i++) {
        const char *name = NULL;
        int32_t ndim = 0, kind = -1;
        int64_t dims[4];
        CHECK_OK(rn_block_tensor_info(b, i, &name, &ndim, dims, &kind), ctx);
        CHECK(name && strcmp(name, basic[i]) == 0);
        CHECK(kind == (strstr(basic[i], "running") ? RN_TENSOR_BUFFER : RN_TENSOR_PARAM));
        if (i == 0) CHECK(ndim == 4 && dims[0] == 128 && dims[1] == 64 && dims[2] == 3);
        if (i == 10) CHECK(ndim == 4 && dims[0] == 128 && dims[1] == 64 && dims[2] == 1);
    }
    rn_block_destroy(b);
    /* bottleneck: conv3 / bn3 before the downsample; identity needs none */
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BOTTLENECK, 256, 64, 1, RN_SHORTCUT_B, 0, &b), ctx);
    CHECK(rn_block_tensor_count(b) == 15);
    const char *name = NULL;
    int64_t dims[4];
    CHECK_OK(rn_block_tensor_info(b, 10, &name, NULL, dims, NULL), ctx);
    CHECK(strcmp(name, "conv3.weight") == 0 && dims[0] == 256 && dims[1] == 64);
    int32_t out = 0;
    CHECK_OK(rn_block_out_channels(b, &out), ctx);
    CHECK(out == 256);
    rn_block_destroy(b);
    /* option A and plain blocks have no projection tensors */
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 16, 32, 2, RN_SHORTCUT_A, 0, &b), ctx);
    CHECK(rn_block_tensor_count(b) == 10);
    rn_block_destroy(b);
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 16, 32, 2, RN_SHORTCUT_NONE, 0, &b), ctx);
    CHECK(rn_block_tensor_count(b) == 10);
    rn_block_destroy(b);
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 16, 16, 1, RN_SHORTCUT_C, 0, &b), ctx);
    CHECK(rn_block_tensor_count(b) == 15);
    rn_block_destroy(b);
    rn_ctx_destroy(ctx);
}

/* zero_init_residual: F(x) = 0, so y = relu(0 + x) exactly, in both modes */
static void test_zero_initialised_block_is_relu_of_its_input(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    static const int32_t types[2] = {RN_BLOCK_BASIC, RN_BLOCK_BOTTLENECK};
    for (int t = 0; t < 2; t++) {
        rn_block *b = NULL;
        int32_t c = types[t] == RN_BLOCK_BASIC ? 8 : 16;
        CHECK_OK(rn_block_create(ctx, types[t], c, c / (t ? 4 : 1), 1, RN_SHORTCUT_B,
                                 RN_MODEL_ZERO_INIT_RESIDUAL, &b),
                 ctx);
        CHECK_OK(rn_block_init(b, 3), ctx);
        rn_tensor *x = NULL, *y = NULL;
        CHECK_OK(rn_tensor_create(ctx, 2, 5, 4, c, &x), ctx);
        CHECK_OK(rn_tensor_create(ctx, 2, 5, 4, c, &y), ctx);
        size_t n = (size_t)rn_tensor_numel(x);
        rn_test_fill_uniform(rn_tensor_data(x), n, -1.0, 1.0);
        for (int32_t mode = RN_MODE_INFER; mode <= RN_MODE_TRAIN; mode++) {
            CHECK_OK(rn_block_forward(b, x, mode, y), ctx);
            int ok = 1;
            for (size_t i = 0; i < n; i++) {
                float v = rn_tensor_data(x)[i];
                ok &= rn_tensor_data(y)[i] == (v > 0.0f ? v : 0.0f);
            }
            CHECK(ok);
        }
        rn_tensor_destroy(x), rn_tensor_destroy(y);
        rn_block_destroy(b);
    }
    rn_ctx_destroy(ctx);
}

static void forward_once(rn_ctx *ctx, rn_block *b, int64_t h, int64_t w, float *first) {
    rn_tensor *x = NULL, *y = NULL;
    CHECK_OK(rn_tensor_create(ctx, 2, h, w, 4, &x), ctx);
    CHECK_OK(rn_tensor_create(ctx, 2, (h + 1) / 2, (w + 1) / 2, 8, &y), ctx);
    rn_test_rng_state = 99;
    rn_test_fill_uniform(rn_tensor_data(x), (size_t)rn_tensor_numel(x), -1.0, 1.0);
    CHECK_OK(rn_block_forward(b, x, RN_MODE_INFER, y), ctx);
    *first = rn_tensor_data(y)[rn_tensor_numel(y) - 1];
    rn_tensor_destroy(x), rn_tensor_destroy(y);
}

static void test_block_runs_any_input_size_in_turn(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_block *a = NULL, *b = NULL;
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_A, 0, &a), ctx);
    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_A, 0, &b), ctx);
    CHECK_OK(rn_block_init(a, 8), ctx);
    CHECK_OK(rn_block_init(b, 8), ctx);
    float big_a, small_a, big_b, small_b;
    forward_once(ctx, a, 9, 7, &big_a); /* a: big then small */
    forward_once(ctx, a, 3, 2, &small_a);
    forward_once(ctx, b, 3, 2, &small_b); /* b: small then big */
    forward_once(ctx, b, 9, 7, &big_b);
    CHECK(big_a == big_b && small_a == small_b);
    rn_block_destroy(a), rn_block_destroy(b);
    rn_ctx_destroy(ctx);
}

static void test_bad_block_calls_are_refused_with_a_sentence(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_block *b = NULL;
    CHECK_STATUS(rn_block_create(ctx, 2, 8, 8, 1, RN_SHORTCUT_A, 0, &b), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_create(ctx, RN_BLOCK_BASIC, 0, 8, 1, RN_SHORTCUT_A, 0, &b),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_create(ctx, RN_BLOCK_BASIC, 8, 0, 1, RN_SHORTCUT_A, 0, &b),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_create(ctx, RN_BLOCK_BASIC, 8, 8, 0, RN_SHORTCUT_A, 0, &b),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_create(ctx, RN_BLOCK_BASIC, 8, 8, 1, 4, 0, &b), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_create(ctx, RN_BLOCK_BASIC, 8, 8, 1, RN_SHORTCUT_A, 4u, &b),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_create(ctx, RN_BLOCK_BASIC, 16, 8, 2, RN_SHORTCUT_A, 0, &b),
                 RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "option A") != NULL);
    CHECK_STATUS(rn_block_create(ctx, RN_BLOCK_BASIC, 8, 8, 1, RN_SHORTCUT_A, 0, NULL),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_create(NULL, RN_BLOCK_BASIC, 8, 8, 1, RN_SHORTCUT_A, 0, &b),
                 RN_E_INVALID_ARG, NULL);
    CHECK(b == NULL);

    CHECK_OK(rn_block_create(ctx, RN_BLOCK_BASIC, 4, 8, 2, RN_SHORTCUT_B, 0, &b), ctx);
    rn_tensor *x, *y, *wrong_c, *wrong_y, *dy, *dx;
    CHECK_OK(rn_tensor_create(ctx, 2, 6, 6, 4, &x), ctx);
    CHECK_OK(rn_tensor_create(ctx, 2, 3, 3, 8, &y), ctx);
    CHECK_OK(rn_tensor_create(ctx, 2, 6, 6, 5, &wrong_c), ctx);
    CHECK_OK(rn_tensor_create(ctx, 2, 6, 6, 8, &wrong_y), ctx);
    CHECK_OK(rn_tensor_create(ctx, 2, 3, 3, 8, &dy), ctx);
    CHECK_OK(rn_tensor_create(ctx, 2, 6, 6, 4, &dx), ctx);
    CHECK_STATUS(rn_block_forward(b, wrong_c, RN_MODE_INFER, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_forward(b, x, RN_MODE_INFER, wrong_y), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "(2,3,3,8)") != NULL); /* the shape expected */
    CHECK_STATUS(rn_block_forward(b, x, 5, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_forward(b, NULL, RN_MODE_INFER, y), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_forward(NULL, x, RN_MODE_INFER, y), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_block_backward(b, dy, dx), RN_E_BAD_STATE, ctx);
    CHECK_OK(rn_block_forward(b, x, RN_MODE_INFER, y), ctx);
    CHECK_STATUS(rn_block_backward(b, dy, dx), RN_E_BAD_STATE, ctx); /* inference kept nothing */
    CHECK_OK(rn_block_forward(b, x, RN_MODE_TRAIN, y), ctx);
    CHECK_STATUS(rn_block_backward(b, dx, dx), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_backward(b, dy, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_block_backward(b, dy, dx), ctx);
    CHECK_STATUS(rn_block_backward(b, dy, dx), RN_E_BAD_STATE, ctx); /* once per forward */

    float v[8 * 4 * 9];
    CHECK_STATUS(rn_block_get_tensor(b, "conv9.weight", v, 8), RN_E_NOT_FOUND, ctx);
    CHECK_STATUS(rn_block_get_tensor(b, "conv1.weight", v, 8), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "288") != NULL);
    CHECK_STATUS(rn_block_set_tensor(b, "conv1.weight", NULL, 288), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_get_grad(b, "bn1.running_mean", v, 8), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_block_get_grad(b, "conv1.weight", v, 288), ctx);
    CHECK_STATUS(rn_block_tensor_info(b, 15, NULL, NULL, NULL, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_block_out_channels(b, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(rn_block_tensor_count(NULL) == 0);
    rn_tensor_destroy(x), rn_tensor_destroy(y), rn_tensor_destroy(wrong_c);
    rn_tensor_destroy(wrong_y), rn_tensor_destroy(dy), rn_tensor_destroy(dx);
    rn_block_destroy(b);
    rn_block_destroy(NULL);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"tensor_names_follow_torchvision_blocks", test_tensor_names_follow_torchvision_blocks},
    {"zero_initialised_block_is_relu_of_its_input",
     test_zero_initialised_block_is_relu_of_its_input},
    {"block_runs_any_input_size_in_turn", test_block_runs_any_input_size_in_turn},
    {"bad_block_calls_are_refused_with_a_sentence",
     test_bad_block_calls_are_refused_with_a_sentence},
};

RN_TEST_MAIN(cases)
