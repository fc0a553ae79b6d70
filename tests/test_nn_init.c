/*
 * He initialisation as torchvision does it, checked by its statistics on
 * large tensors: Kaiming-normal convolutions with fan_out (variance
 * 2 / (out * kh * kw), Gaussian kurtosis 3), nn.Linear's uniform fc
 * (+-1/sqrt(in), variance bound^2 / 3), BN weight 1 / bias 0 / running stats
 * 0 and 1, zero_init_residual, and determinism for a seed. Tolerances are
 * several standard errors of each statistic for the tensor's size.
 */
#include "harness.h"
#include "resnet.h"

typedef struct moments {
    double mean, var, kurtosis, max_abs;
    size_t n;
} moments;

static moments tensor_moments(rn_model *m, const char *name, size_t n) {
    moments r = {0, 0, 0, 0, n};
    float *v = malloc(n * sizeof(float));
    CHECK(rn_model_get_tensor(m, name, v, n) == RN_OK);
    double s = 0.0, s2 = 0.0, s4 = 0.0;
    for (size_t i = 0; i < n; i++) s += v[i];
    r.mean = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - r.mean;
        s2 += d * d, s4 += d * d * d * d;
        r.max_abs = fmax(r.max_abs, fabs((double)v[i]));
    }
    r.var = s2 / (double)n;
    r.kurtosis = s4 / (double)n / (r.var * r.var);
    free(v);
    return r;
}

static rn_model *make(rn_ctx *ctx, const char *arch, uint32_t flags, uint64_t seed) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, arch, 0, 0, RN_SHORTCUT_DEFAULT, 0, flags, &m), ctx);
    if (m) CHECK_OK(rn_model_init(m, seed), ctx);
    return m;
}

/* Built, not a preset, to keep the tensors large but the model small: a
 * 7x7 stem, a bottleneck (1x1 128 -> 512) and a 3x3 512 -> 256 conv, fc 256 -> 1000. */
static rn_model *probe(rn_ctx *ctx, uint64_t seed) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &m), ctx);
    CHECK_OK(rn_model_add_stem(m, 64, 7, 2, 3, 1), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BOTTLENECK, 1, 128, 1, RN_SHORTCUT_B, 0), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 256, 2, RN_SHORTCUT_B, 0), ctx);
    CHECK_OK(rn_model_add_head(m, 1000), ctx);
    CHECK_OK(rn_model_init(m, seed), ctx);
    return m;
}

static void test_conv_weights_are_kaiming_normal_with_fan_out(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = probe(ctx, 1);
    /* 3x3, 512 -> 256: fan_out 2304 (fan_in would halve the variance); 1179648 values */
    moments a = tensor_moments(m, "layer2.0.conv1.weight", 256 * 512 * 9);
    double want = 2.0 / (256.0 * 9.0);
    CHECK(fabs(a.mean) < 5.0 * sqrt(want / (double)a.n));
    CHECK(fabs(a.var / want - 1.0) < 0.01); /* standard error 0.13% */
    CHECK(fabs(a.kurtosis - 3.0) < 0.05);   /* Gaussian, not uniform (1.8) */
    /* 1x1, 128 -> 512: fan_out 512 (fan_in would give 4x the variance) */
    moments b = tensor_moments(m, "layer1.0.conv3.weight", 512 * 128);
    want = 2.0 / 512.0;
    CHECK(fabs(b.var / want - 1.0) < 0.03); /* standard error 0.55% */
    /* the stem: 7x7, 3 -> 64, fan_out 3136 */
    moments c = tensor_moments(m, "conv1.weight", 64 * 3 * 49);
    want = 2.0 / (64.0 * 49.0);
    CHECK(fabs(c.var / want - 1.0) < 0.06); /* 9408 values: standard error 1.5% */
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_fc_is_uniform_within_one_over_sqrt_fan_in(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = probe(ctx, 2);
    double bound = 1.0 / sqrt(256.0);
    moments w = tensor_moments(m, "fc.weight", 1000 * 256);
    CHECK(w.max_abs <= bound && w.max_abs > 0.999 * bound);
    CHECK(fabs(w.var / (bound * bound / 3.0) - 1.0) < 0.01);
    CHECK(fabs(w.kurtosis - 1.8) < 0.02); /* uniform */
    moments b = tensor_moments(m, "fc.bias", 1000);
    CHECK(b.max_abs <= bound && b.max_abs > 0.9 * bound);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static int all_equal(rn_model *m, const char *name, size_t n, float value) {
    float *v = malloc(n * sizeof(float));
    int ok = rn_model_get_tensor(m, name, v, n) == RN_OK;
    for (size_t i = 0; ok && i < n; i++) ok = v[i] == value;
    free(v);
    return ok;
}

static void test_batch_norm_starts_as_identity(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, "resnet20", 0, 3);
    for (int32_t i = 0; i < rn_model_tensor_count(m); i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, NULL);
        if (ndim != 1 || strncmp(name, "fc", 2) == 0) continue;
        float want = strstr(name, ".weight") || strstr(name, "running_var") ? 1.0f : 0.0f;
        if (!all_equal(m, name, (size_t)dims[0], want)) fprintf(stderr, "  %s\n", name);
        CHECK(all_equal(m, name, (size_t)dims[0], want));
    }
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_zero_init_residual_zeroes_the_last_bn_of_each_residual_block(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = make(ctx, "resnet20", RN_MODEL_ZERO_INIT_RESIDUAL, 4);
    CHECK(all_equal(m, "layer1.0.bn2.weight", 16, 0.0f));
    CHECK(all_equal(m, "layer3.2.bn2.weight", 64, 0.0f));
    CHECK(all_equal(m, "layer1.0.bn1.weight", 16, 1.0f));
    CHECK(all_equal(m, "bn1.weight", 16, 1.0f));
    rn_model_destroy(m);
    /* bottlenecks: bn3; the projection's BN keeps weight 1 */
    CHECK_OK(rn_model_create(ctx, 3, &m), ctx);
    CHECK_OK(rn_model_add_stem(m, 8, 3, 1, 1, 0), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BOTTLENECK, 2, 4, 2, RN_SHORTCUT_B,
                                RN_MODEL_ZERO_INIT_RESIDUAL),
             ctx);
    CHECK_OK(rn_model_add_head(m, 10), ctx);
    CHECK_OK(rn_model_init(m, 4), ctx);
    CHECK(all_equal(m, "layer1.0.bn3.weight", 16, 0.0f));
    CHECK(all_equal(m, "layer1.1.bn3.weight", 16, 0.0f));
    CHECK(all_equal(m, "layer1.1.bn2.weight", 4, 1.0f));
    CHECK(all_equal(m, "layer1.0.downsample.1.weight", 16, 1.0f));
    rn_model_destroy(m);
    /* a plain net has no residual to start from: zeroing would cut the signal */
    m = make(ctx, "plain20", RN_MODEL_ZERO_INIT_RESIDUAL, 4);
    CHECK(all_equal(m, "layer1.0.bn2.weight", 16, 1.0f));
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_init_is_deterministic_for_a_seed(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *a = make(ctx, "resnet20", 0, 42), *b = make(ctx, "resnet20", 0, 42);
    rn_model *c = make(ctx, "resnet20", 0, 43);
    int same_ab = 1, same_ac = 1;
    for (int32_t i = 0; i < rn_model_tensor_count(a); i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        rn_model_tensor_info(a, i, &name, &ndim, dims, NULL);
        size_t n = 1;
        for (int32_t d = 0; d < ndim; d++) n *= (size_t)dims[d];
        float *va = malloc(n * 4), *vb = malloc(n * 4), *vc = malloc(n * 4);
        rn_model_get_tensor(a, name, va, n);
        rn_model_get_tensor(b, name, vb, n);
        rn_model_get_tensor(c, name, vc, n);
        same_ab &= memcmp(va, vb, n * 4) == 0;
        if (strstr(name, "conv") || strncmp(name, "fc", 2) == 0)
            same_ac &= memcmp(va, vc, n * 4) == 0;
        free(va), free(vb), free(vc);
    }
    CHECK(same_ab);
    CHECK(!same_ac);
    /* two convs of the same shape draw different values (one stream per tensor) */
    float w1[16 * 16 * 9], w2[16 * 16 * 9];
    CHECK_OK(rn_model_get_tensor(a, "layer1.0.conv1.weight", w1, 16 * 16 * 9), ctx);
    CHECK_OK(rn_model_get_tensor(a, "layer1.0.conv2.weight", w2, 16 * 16 * 9), ctx);
    CHECK(memcmp(w1, w2, sizeof w1) != 0);
    rn_model_destroy(a), rn_model_destroy(b), rn_model_destroy(c);
    CHECK_STATUS(rn_model_init(NULL, 1), RN_E_INVALID_ARG, NULL);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"conv_weights_are_kaiming_normal_with_fan_out",
     test_conv_weights_are_kaiming_normal_with_fan_out},
    {"fc_is_uniform_within_one_over_sqrt_fan_in", test_fc_is_uniform_within_one_over_sqrt_fan_in},
    {"batch_norm_starts_as_identity", test_batch_norm_starts_as_identity},
    {"zero_init_residual_zeroes_the_last_bn_of_each_residual_block",
     test_zero_init_residual_zeroes_the_last_bn_of_each_residual_block},
    {"init_is_deterministic_for_a_seed", test_init_is_deterministic_for_a_seed},
};

RN_TEST_MAIN(cases)
