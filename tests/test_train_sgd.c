/*
 * SGD against torch.optim.SGD: three steps from fixed gradients on a tiny
 * model's parameters, for the paper's settings, Nesterov, dampening, no
 * momentum and undecayed 1-D tensors (fixtures by
 * tests/gen/gen_train_fixtures.py). Tolerance 2e-6 relative to max(1, |ref|):
 * PyTorch's vectorised add may fuse d + wd * p into one FMA where the library
 * rounds twice, a difference of an ulp or two per operation.
 * Also: buffers by name, argument and state errors, a NaN gradient that
 * changes nothing.
 */
#define _POSIX_C_SOURCE 200112L
#include "harness.h"
#include "resnet.h"
#include "nn/nn.h"
#include "train/train-internal.h"

static const char *const PARAMS[] = {
    "conv1.weight",
    "bn1.weight",
    "bn1.bias",
    "layer1.0.conv1.weight",
    "layer1.0.bn1.weight",
    "layer1.0.bn1.bias",
    "layer1.0.conv2.weight",
    "layer1.0.bn2.weight",
    "layer1.0.bn2.bias",
    "fc.weight",
    "fc.bias",
};
#define NPARAMS (sizeof PARAMS / sizeof PARAMS[0])

/* A 3x3 stem of `width` channels, one basic block of that width, a head of
 * 3 classes; its gradient buffers allocated. */
static rn_model *basic_model(rn_ctx *ctx, int32_t in_channels, int32_t width) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create(ctx, in_channels, &m), ctx);
    CHECK_OK(rn_model_add_stem(m, width, 3, 1, 1, 0), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, width, 1, RN_SHORTCUT_A, 0), ctx);
    CHECK_OK(rn_model_add_head(m, 3), ctx);
    CHECK_OK(rn__model_ensure_grads(m), ctx);
    return m;
}

/* The model of TINY_PARAMS in the generator script. */
static rn_model *tiny_model(rn_ctx *ctx) { return basic_model(ctx, 1, 2); }

static float *read_tensor(rn_ctx *ctx, rn_safetensors *st, const char *name, size_t count) {
    int32_t idx = -1;
    CHECK_OK(rn_safetensors_find(st, name, &idx), ctx);
    float *v = calloc(count, sizeof(float));
    if (idx >= 0) CHECK_OK(rn_safetensors_read_f32(st, idx, v, count), ctx);
    return v;
}

static double meta_num(rn_safetensors *st, const char *key) {
    const char *v = "nan";
    CHECK(rn_safetensors_metadata(st, key, &v) == RN_OK);
    return strtod(v, NULL);
}

/* The gradient of a parameter, from PyTorch layout into the model's array. */
static void set_grad(rn_model *m, const char *name, const float *torch_layout) {
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(m, &slots);
    for (int32_t i = 0; i < n; i++)
        if (strcmp(slots[i].name, name) == 0)
            rn__nn_slot_write(&slots[i], torch_layout, slots[i].grad);
}

static void run_config(const char *cfg) {
    char path[512];
    snprintf(path, sizeof path, "%s/train/sgd_%s.safetensors", RN_TEST_DATA_DIR, cfg);
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_file(ctx, path, &st), ctx);
    if (!st) {
        rn_ctx_destroy(ctx);
        return;
    }
    rn_model *m = tiny_model(ctx);
    rn_optimizer *opt = NULL;
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_LR, meta_num(st, "lr")), ctx);
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_MOMENTUM, meta_num(st, "momentum")), ctx);
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_DAMPENING, meta_num(st, "dampening")), ctx);
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_WEIGHT_DECAY, meta_num(st, "weight_decay")), ctx);
    CHECK_OK(rn_optimizer_set_int(opt, RN_SGD_NESTEROV, (int64_t)meta_num(st, "nesterov")), ctx);
    CHECK_OK(rn_optimizer_set_int(opt, RN_SGD_DECAY_ALL_PARAMS, (int64_t)meta_num(st, "decay_all")),
             ctx);
    int steps = (int)meta_num(st, "steps");
    int has_momentum = meta_num(st, "momentum") != 0.0;
    /* BN running statistics are not parameters: the optimiser must not touch them */
    float rm[2] = {0.25f, -0.5f}, rv[2] = {2.0f, 0.5f}, got[2];
    CHECK_OK(rn_model_set_tensor(m, "bn1.running_mean", rm, 2), ctx);
    CHECK_OK(rn_model_set_tensor(m, "bn1.running_var", rv, 2), ctx);
    for (size_t p = 0; p < NPARAMS; p++) {
        int32_t idx;
        int64_t dims[4];
        int32_t ndim;
        CHECK_OK(rn_model_tensor_find(m, PARAMS[p], &idx), ctx);
        rn_model_tensor_info(m, idx, NULL, &ndim, dims, NULL);
        size_t count = 1;
        for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
        float *init = read_tensor(ctx, st, PARAMS[p], count);
        CHECK_OK(rn_model_set_tensor(m, PARAMS[p], init, count), ctx);
        free(init);
    }
    for (int s = 0; s < steps; s++) {
        for (size_t p = 0; p < NPARAMS; p++) {
            char name[128];
            int32_t idx;
            int64_t dims[4];
            int32_t ndim;
            rn_model_tensor_find(m, PARAMS[p], &idx);
            rn_model_tensor_info(m, idx, NULL, &ndim, dims, NULL);
            size_t count = 1;
            for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
            snprintf(name, sizeof name, "%s.grad%d", PARAMS[p], s);
            float *g = read_tensor(ctx, st, name, count);
            set_grad(m, PARAMS[p], g);
            free(g);
        }
        CHECK_OK(rn_optimizer_step(opt), ctx);
    }
    double worst = 0;
    for (size_t p = 0; p < NPARAMS; p++) {
        char name[128];
        int32_t idx;
        int64_t dims[4];
        int32_t ndim;
        rn_model_tensor_find(m, PARAMS[p], &idx);
        rn_model_tensor_info(m, idx, NULL, &ndim, dims, NULL);
        size_t count = 1;
        for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
        snprintf(name, sizeof name, "%s.final", PARAMS[p]);
        float *want = read_tensor(ctx, st, name, count), *have = calloc(count, sizeof(float));
        CHECK_OK(rn_model_get_tensor(m, PARAMS[p], have, count), ctx);
        for (size_t i = 0; i < count; i++) {
            CHECK_CLOSE(have[i], want[i], 2e-6);
            double e = fabs(have[i] - want[i]);
            if (e > worst) worst = e;
        }
        int32_t has = -1;
        CHECK_OK(rn_optimizer_has_buffer(opt, PARAMS[p], &has), ctx);
        CHECK(has == has_momentum);
        if (has_momentum) {
            snprintf(name, sizeof name, "%s.buf", PARAMS[p]);
            float *wbuf = read_tensor(ctx, st, name, count);
            CHECK_OK(rn_optimizer_get_buffer(opt, PARAMS[p], have, count), ctx);
            for (size_t i = 0; i < count; i++) CHECK_CLOSE(have[i], wbuf[i], 2e-6);
            free(wbuf);
        } else {
            CHECK_STATUS(rn_optimizer_get_buffer(opt, PARAMS[p], have, count), RN_E_BAD_STATE, ctx);
        }
        free(have);
        free(want);
    }
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_mean", got, 2), ctx);
    CHECK(got[0] == rm[0] && got[1] == rm[1]);
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_var", got, 2), ctx);
    CHECK(got[0] == rv[0] && got[1] == rv[1]);
    printf("     sgd_%s: max |libresnet - torch| = %.3g\n", cfg, worst);
    rn_optimizer_destroy(opt);
    rn_model_destroy(m);
    rn_safetensors_close(st);
    rn_ctx_destroy(ctx);
}

static void test_sgd_paper_settings_match_torch(void) { run_config("paper"); }
static void test_sgd_nesterov_matches_torch(void) { run_config("nesterov"); }
static void test_sgd_dampening_matches_torch(void) { run_config("dampening"); }
static void test_sgd_without_momentum_matches_torch_and_keeps_no_buffer(void) {
    run_config("plain");
}
static void test_sgd_skipping_decay_of_1d_tensors_matches_torch_param_groups(void) {
    run_config("skip1d");
}

/* One step by hand: p = 1, g = 0.5, wd = 0.1, lr = 0.1, momentum 0.9:
 * d = 0.5 + 0.1 = 0.6, buf = 0.6 (first step), p = 1 - 0.06 = 0.94;
 * second step with the same g: d = 0.5 + 0.094 = 0.594,
 * buf = 0.54 + 0.594 = 1.134, p = 0.94 - 0.1134 = 0.8266. */
static void test_sgd_two_steps_by_hand(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = tiny_model(ctx);
    rn_optimizer *opt = NULL;
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_WEIGHT_DECAY, 0.1), ctx);
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(m, &slots);
    for (int32_t i = 0; i < n; i++) {
        for (size_t j = 0; j < slots[i].count; j++) slots[i].value[j] = 1.0f;
        if (slots[i].grad)
            for (size_t j = 0; j < slots[i].count; j++) slots[i].grad[j] = 0.5f;
    }
    CHECK_OK(rn_optimizer_step(opt), ctx);
    float w[3 * 2];
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", w, 6), ctx);
    CHECK_CLOSE(w[0], 0.94, 1e-6);
    CHECK_OK(rn_optimizer_step(opt), ctx);
    CHECK_OK(rn_model_get_tensor(m, "fc.weight", w, 6), ctx);
    CHECK_CLOSE(w[5], 0.8266, 1e-6);
    float buf[6];
    CHECK_OK(rn_optimizer_get_buffer(opt, "fc.weight", buf, 6), ctx);
    CHECK_CLOSE(buf[3], 1.134, 1e-6);
    /* running statistics stay where BN init put them (buffers are not params) */
    float rv[2];
    CHECK_OK(rn_model_get_tensor(m, "bn1.running_var", rv, 2), ctx);
    CHECK(rv[0] == 1.0f);
    rn_optimizer_destroy(opt);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_sgd_nan_gradient_is_refused_and_changes_nothing(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = tiny_model(ctx);
    rn_optimizer *opt = NULL;
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    CHECK_OK(rn_model_init(m, 3), ctx);
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(m, &slots);
    for (int32_t i = 0; i < n; i++)
        if (slots[i].grad)
            for (size_t j = 0; j < slots[i].count; j++) slots[i].grad[j] = 0.25f;
    float before[18], after[18];
    CHECK_OK(rn_model_get_tensor(m, "conv1.weight", before, 18), ctx);
    for (int32_t i = 0; i < n; i++)
        if (strcmp(slots[i].name, "layer1.0.bn2.bias") == 0) slots[i].grad[1] = NAN;
    CHECK_STATUS(rn_optimizer_step(opt), RN_E_NUMERIC, ctx);
    CHECK(strstr(rn_last_error(ctx), "layer1.0.bn2.bias") != NULL);
    CHECK_OK(rn_model_get_tensor(m, "conv1.weight", after, 18), ctx);
    CHECK(memcmp(before, after, sizeof before) == 0);
    int32_t has = 1;
    CHECK_OK(rn_optimizer_has_buffer(opt, "conv1.weight", &has), ctx);
    CHECK(has == 0);
    rn_optimizer_destroy(opt);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_sgd_nan_in_a_large_tensor_names_its_first_element(void) {
    /* a 2-thread context and a tensor large enough (147,456 elements) to be
     * checked and updated in parallel blocks: the refusal still names the
     * first non-finite element, not one a faster block found */
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2), ctx);
    rn_model *m = basic_model(ctx, 3, 128);
    rn_optimizer *opt = NULL;
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    CHECK_OK(rn_model_init(m, 3), ctx);
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(m, &slots);
    float *w = NULL;
    for (int32_t i = 0; i < n; i++) {
        if (!slots[i].grad) continue;
        for (size_t j = 0; j < slots[i].count; j++) slots[i].grad[j] = 0.25f;
        if (strcmp(slots[i].name, "layer1.0.conv2.weight") == 0) {
            CHECK(slots[i].count == 128 * 128 * 9);
            slots[i].grad[140000] = NAN;     /* a late block */
            slots[i].grad[70001] = INFINITY; /* the first one, in an earlier block */
            w = slots[i].value;
        }
    }
    CHECK(w != NULL);
    float before = w ? w[5] : 0.0f;
    CHECK_STATUS(rn_optimizer_step(opt), RN_E_NUMERIC, ctx);
    CHECK(strstr(rn_last_error(ctx), "layer1.0.conv2.weight") != NULL);
    CHECK(strstr(rn_last_error(ctx), "infinite at element 70001") != NULL);
    if (w) CHECK(w[5] == before);
    rn_optimizer_destroy(opt);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_sgd_options_and_buffers_validate_their_arguments(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 4, 0, &m), ctx);
    rn_optimizer *opt = NULL;
    CHECK_STATUS(rn_sgd_create(NULL, &opt), RN_E_INVALID_ARG, NULL);
    CHECK_STATUS(rn_sgd_create(m, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_OK(rn_sgd_create(m, &opt), ctx);
    double v = 0;
    int64_t iv = -1;
    CHECK_OK(rn_optimizer_get_float(opt, RN_SGD_LR, &v), ctx);
    CHECK(v == 0.1);
    CHECK_OK(rn_optimizer_get_float(opt, RN_SGD_MOMENTUM, &v), ctx);
    CHECK(v == 0.9);
    CHECK_OK(rn_optimizer_get_float(opt, RN_SGD_WEIGHT_DECAY, &v), ctx);
    CHECK(v == 1e-4);
    CHECK_OK(rn_optimizer_get_int(opt, RN_SGD_DECAY_ALL_PARAMS, &iv), ctx);
    CHECK(iv == 1);
    CHECK_STATUS(rn_optimizer_set_float(opt, RN_SGD_LR, -1.0), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_optimizer_set_float(opt, RN_SGD_LR, NAN), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_optimizer_set_float(opt, RN_SGD_MOMENTUM, 1.5), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_optimizer_set_float(opt, 99, 0.1), RN_E_NOT_FOUND, ctx);
    CHECK_STATUS(rn_optimizer_set_float(opt, RN_SGD_NESTEROV, 1), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_optimizer_set_int(opt, RN_SGD_NESTEROV, 2), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_optimizer_set_int(opt, RN_SGD_LR, 1), RN_E_INVALID_ARG, ctx);
    /* torch.optim.SGD: "Nesterov momentum requires a momentum and zero dampening" */
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_DAMPENING, 0.1), ctx);
    CHECK_STATUS(rn_optimizer_set_int(opt, RN_SGD_NESTEROV, 1), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "Nesterov") != NULL);
    CHECK_OK(rn_optimizer_set_float(opt, RN_SGD_DAMPENING, 0.0), ctx);
    CHECK_OK(rn_optimizer_set_int(opt, RN_SGD_NESTEROV, 1), ctx);
    CHECK_STATUS(rn_optimizer_set_float(opt, RN_SGD_MOMENTUM, 0.0), RN_E_INVALID_ARG, ctx);
    /* no gradients before the first train plan */
    CHECK_STATUS(rn_optimizer_step(opt), RN_E_BAD_STATE, ctx);
    /* buffers: unknown names, BN statistics, wrong counts, set then get */
    float b[16];
    for (int i = 0; i < 16; i++) b[i] = (float)i;
    CHECK_STATUS(rn_optimizer_get_buffer(opt, "nope.weight", b, 16), RN_E_NOT_FOUND, ctx);
    CHECK_STATUS(rn_optimizer_set_buffer(opt, "bn1.running_mean", b, 4), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_optimizer_set_buffer(opt, "bn1.weight", b, 5), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "bn1.weight") != NULL);
    CHECK_STATUS(rn_optimizer_get_buffer(opt, "bn1.weight", b, 4), RN_E_BAD_STATE, ctx);
    CHECK_OK(rn_optimizer_set_buffer(opt, "bn1.weight", b, 4), ctx);
    float back[4] = {0};
    CHECK_OK(rn_optimizer_get_buffer(opt, "bn1.weight", back, 4), ctx);
    CHECK(memcmp(back, b, sizeof back) == 0);
    /* a conv buffer crosses the API in PyTorch's OIHW layout and comes back the same */
    float w[4 * 3 * 9], w2[4 * 3 * 9];
    for (int i = 0; i < 108; i++) w[i] = (float)i;
    CHECK_OK(rn_optimizer_set_buffer(opt, "conv1.weight", w, 108), ctx);
    CHECK_OK(rn_optimizer_get_buffer(opt, "conv1.weight", w2, 108), ctx);
    CHECK(memcmp(w, w2, sizeof w) == 0);
    CHECK_OK(rn_optimizer_reset(opt), ctx);
    CHECK_STATUS(rn_optimizer_get_buffer(opt, "bn1.weight", back, 4), RN_E_BAD_STATE, ctx);
    rn_optimizer_destroy(opt);
    rn_optimizer_destroy(NULL);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"sgd_paper_settings_match_torch", test_sgd_paper_settings_match_torch},
    {"sgd_nesterov_matches_torch", test_sgd_nesterov_matches_torch},
    {"sgd_dampening_matches_torch", test_sgd_dampening_matches_torch},
    {"sgd_without_momentum_matches_torch_and_keeps_no_buffer",
     test_sgd_without_momentum_matches_torch_and_keeps_no_buffer},
    {"sgd_skipping_decay_of_1d_tensors_matches_torch_param_groups",
     test_sgd_skipping_decay_of_1d_tensors_matches_torch_param_groups},
    {"sgd_two_steps_by_hand", test_sgd_two_steps_by_hand},
    {"sgd_nan_gradient_is_refused_and_changes_nothing",
     test_sgd_nan_gradient_is_refused_and_changes_nothing},
    {"sgd_nan_in_a_large_tensor_names_its_first_element",
     test_sgd_nan_in_a_large_tensor_names_its_first_element},
    {"sgd_options_and_buffers_validate_their_arguments",
     test_sgd_options_and_buffers_validate_their_arguments},
};

RN_TEST_MAIN(cases)
