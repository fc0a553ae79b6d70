/*
 * The presets against independent counts: parameter totals from the paper /
 * torchvision (sum(p.numel())), multiply-accumulates from torchvision's
 * published tables and the paper's Table 1, tensor names, dims and state_dict
 * order from torchvision itself (tests/gen/gen_state_dict_names.py writes
 * tests/data/nn/ARCH_state_dict.txt), and the builder's options.
 */
#define _POSIX_C_SOURCE 200112L
#include "harness.h"
#include "resnet.h"

static rn_model *preset(rn_ctx *ctx, const char *name, int32_t classes, int32_t in_channels,
                        int32_t shortcut, int32_t base, uint32_t flags) {
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_preset(ctx, name, classes, in_channels, shortcut, base, flags, &m),
             ctx);
    return m;
}

static int64_t params_of(rn_model *m) {
    int64_t n = -1;
    if (m) rn_model_num_parameters(m, &n);
    return n;
}

static void test_parameter_counts_equal_torchvision_and_paper(void) {
    /* torchvision sum(p.numel()) for 1000 classes; the CIFAR ones are the
     * paper's Table 6 networks (0.27M, 0.46M, 0.66M, 0.85M, 1.7M, 19.4M) with
     * option A, counted exactly */
    static const struct {
        const char *name;
        int64_t params;
    } expected[] = {
        {"resnet18", 11689512},
        {"resnet34", 21797672},
        {"resnet50", 25557032},
        {"resnet101", 44549160},
        {"resnet152", 60192808},
        {"resnet20", 269722},
        {"resnet32", 464154},
        {"resnet44", 658586},
        {"resnet56", 853018},
        {"resnet110", 1727962},
        {"resnet1202", 19421274},
        /* plain nets: the same layers without shortcuts; option A adds none,
         * so the CIFAR plain nets equal their residual twins; ImageNet plain
         * nets lack the three option-B projections of resnet18/34 */
        {"plain20", 269722},
        {"plain32", 464154},
        {"plain44", 658586},
        {"plain56", 853018},
        {"plain110", 1727962},
        /* resnet8: stem 3x3x3x16 + BN; layer1.0 two 3x3 16->16 + 2 BN; layer2.0
         * 3x3 16->32, 3x3 32->32, projection 1x1 16->32 + 3 BN; layer3.0 the
         * same at 32->64; fc 64x10 + 10. Keras's MLPerf Tiny reference has
         * conv biases and projections without BN instead: 78,146 trainable. */
        {"resnet8", (27 * 16 + 32) + 2 * (144 * 16 + 32) +
                        (144 * 32 + 288 * 32 + 16 * 32 + 3 * 64) +
                        (288 * 64 + 576 * 64 + 32 * 64 + 3 * 128) + (64 * 10 + 10)},
        {"plain18", 11689512 - (64 * 128 + 256 + 128 * 256 + 512 + 256 * 512 + 1024)},
        {"plain34", 21797672 - (64 * 128 + 256 + 128 * 256 + 512 + 256 * 512 + 1024)},
    };
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        rn_model *m = preset(ctx, expected[i].name, 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
        int64_t got = params_of(m);
        if (got != expected[i].params)
            fprintf(stderr, "  %s: %lld parameters, expected %lld\n", expected[i].name,
                    (long long)got, (long long)expected[i].params);
        CHECK(got == expected[i].params);
        rn_model_destroy(m);
    }
    rn_ctx_destroy(ctx);
}

static int64_t macs_of(rn_ctx *ctx, const char *name, uint32_t flags, int64_t hw) {
    rn_model *m = preset(ctx, name, 0, 0, RN_SHORTCUT_DEFAULT, 0, flags);
    int64_t macs = -1;
    if (m) CHECK_OK(rn_model_macs(m, hw, hw, &macs), ctx);
    rn_model_destroy(m);
    return macs;
}

static void test_macs_equal_published_counts(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    /* torchvision's model tables (v1.5, convs + fc) and the CIFAR ResNet-20 count */
    CHECK(macs_of(ctx, "resnet18", 0, 224) == 1814073344LL);
    CHECK(macs_of(ctx, "resnet50", 0, 224) == 4089184256LL);
    CHECK(macs_of(ctx, "resnet20", 0, 32) == 40551040LL);
    /* the paper's Table 1 "FLOPs" (multiply-adds) of the v1 networks, to the
     * one decimal it prints: 1.8, 3.6, 3.8, 7.6, 11.3 x 10^9 */
    static const struct {
        const char *name;
        int tenths;
    } table1[] = {{"resnet18", 18},
                  {"resnet34", 36},
                  {"resnet50", 38},
                  {"resnet101", 76},
                  {"resnet152", 113}};
    for (size_t i = 0; i < 5; i++) {
        int64_t macs = macs_of(ctx, table1[i].name, RN_MODEL_STRIDE_ON_1X1, 224);
        /* within the table's last printed digit (it rounds some, truncates others) */
        int64_t diff = macs - (int64_t)table1[i].tenths * 100000000;
        if (diff <= -100000000 || diff >= 100000000)
            fprintf(stderr, "  %s: %lld MACs, paper %d.%d e9\n", table1[i].name, (long long)macs,
                    table1[i].tenths / 10, table1[i].tenths % 10);
        CHECK(diff > -100000000 && diff < 100000000);
    }
    rn_ctx_destroy(ctx);
}

/* Multiply-accumulates of an ImageNet bottleneck ResNet counted here layer by
 * layer from the paper's Table 1 (7x7/2 stem, 3x3/2 pool, stages of 64..512
 * mid channels, x4 out, a projection on each stage's first block, fc 2048 ->
 * 1000); v1 strides the first 1x1 of a block, v1.5 its 3x3. */
static int64_t bottleneck_macs(const int32_t blocks[4], int v1, int64_t size) {
    int64_t h = (size + 6 - 7) / 2 + 1, total = h * h * 64 * 3 * 49, cin = 64;
    h = (h + 2 - 3) / 2 + 1;
    for (int s = 0; s < 4; s++) {
        int64_t w = 64 << s;
        for (int32_t b = 0; b < blocks[s]; b++) {
            int64_t stride = s > 0 && b == 0 ? 2 : 1, ho = (h - 1) / stride + 1;
            int64_t h1 = v1 ? ho : h; /* where conv1 produces its output */
            total += h1 * h1 * cin * w + ho * ho * w * w * 9 + ho * ho * w * 4 * w;
            if (b == 0) total += ho * ho * cin * 4 * w;
            cin = 4 * w, h = ho;
        }
    }
    return total + 2048 * 1000;
}

static void test_v1_presets_stride_the_first_1x1(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    static const struct {
        const char *v1, *v15;
        int32_t blocks[4];
        int64_t params;
    } nets[] = {{"resnet50v1", "resnet50", {3, 4, 6, 3}, 25557032},
                {"resnet101v1", "resnet101", {3, 4, 23, 3}, 44549160},
                {"resnet152v1", "resnet152", {3, 8, 36, 3}, 60192808}};
    for (size_t i = 0; i < 3; i++) {
        /* the same tensors as torchvision's (the stride moves, no weight does) */
        rn_model *m = preset(ctx, nets[i].v1, 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
        CHECK(params_of(m) == nets[i].params);
        int64_t macs = -1;
        if (m) CHECK_OK(rn_model_macs(m, 224, 224, &macs), ctx);
        rn_model_destroy(m);
        int64_t want = bottleneck_macs(nets[i].blocks, 1, 224);
        if (macs != want)
            fprintf(stderr, "  %s: %lld MACs, counted %lld\n", nets[i].v1, (long long)macs,
                    (long long)want);
        CHECK(macs == want);
        /* the same network as the v1.5 preset built with the flag */
        CHECK(macs_of(ctx, nets[i].v15, RN_MODEL_STRIDE_ON_1X1, 224) == want);
        /* and the counter itself tells v1.5 from v1 */
        CHECK(macs_of(ctx, nets[i].v15, 0, 224) == bottleneck_macs(nets[i].blocks, 0, 224));
    }
    /* ResNet-50 v1, as ncnn's and Caffe's models count it */
    CHECK(macs_of(ctx, "resnet50v1", 0, 224) == 3857973248LL);
    CHECK(bottleneck_macs(nets[0].blocks, 0, 224) == 4089184256LL); /* torchvision's table */
    /* conv1 of layer2.0 strides: 128 output channels on a 28x28 map */
    rn_model *m = preset(ctx, "resnet50v1", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    int32_t count = 0;
    CHECK_OK(rn_model_layer_count(m, &count), ctx);
    int64_t dims[4], mac = 0;
    CHECK_OK(rn_model_layer_info(m, 4, 224, 224, NULL, 0, dims, NULL, &mac), ctx);
    CHECK(dims[1] == 512 && dims[2] == 28);
    CHECK(mac == 28LL * 28 * (256 * 128 + 128 * 128 * 9 + 128 * 512 + 256 * 512));
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_layer_info_reports_shapes_and_adds_up_to_the_totals(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = preset(ctx, "resnet18", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    int32_t count = 0;
    CHECK_OK(rn_model_layer_count(m, &count), ctx);
    CHECK(count == 10); /* stem, 8 blocks, head */
    int64_t psum = 0, msum = 0, total_p = 0, total_m = 0;
    for (int32_t i = 0; i < count; i++) {
        char name[16];
        int64_t dims[4], p, mac;
        CHECK_OK(rn_model_layer_info(m, i, 224, 224, name, sizeof name, dims, &p, &mac), ctx);
        psum += p, msum += mac;
        if (i == 0) {
            CHECK(strcmp(name, "stem") == 0);
            CHECK(dims[0] == 1 && dims[1] == 64 && dims[2] == 56 && dims[3] == 56);
            CHECK(p == 64 * 3 * 7 * 7 + 128);
            CHECK(mac == 112LL * 112 * 64 * 3 * 49);
        }
        if (i == 3) {
            CHECK(strcmp(name, "layer2.0") == 0);
            CHECK(dims[1] == 128 && dims[2] == 28 && dims[3] == 28);
        }
        if (i == 8) CHECK(strcmp(name, "layer4.1") == 0 && dims[1] == 512 && dims[2] == 7);
        if (i == 9) {
            CHECK(strcmp(name, "fc") == 0);
            CHECK(dims[1] == 1000 && dims[2] == 1 && dims[3] == 1);
            CHECK(p == 512 * 1000 + 1000 && mac == 512 * 1000);
        }
    }
    CHECK_OK(rn_model_num_parameters(m, &total_p), ctx);
    CHECK_OK(rn_model_macs(m, 224, 224, &total_m), ctx);
    CHECK(psum == total_p && msum == total_m);
    /* a name longer than the room is truncated, NUL-terminated */
    char tiny[4];
    CHECK_OK(rn_model_layer_info(m, 3, 224, 224, tiny, sizeof tiny, NULL, NULL, NULL), ctx);
    CHECK(strcmp(tiny, "lay") == 0);
    CHECK_STATUS(rn_model_layer_info(m, 10, 224, 224, NULL, 0, NULL, NULL, NULL), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_model_layer_info(m, 0, 0, 224, NULL, 0, NULL, NULL, NULL), RN_E_INVALID_ARG,
                 ctx);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void check_dims(rn_model *m, const char *name, int32_t ndim, int64_t d0, int64_t d1,
                       int64_t d2, int64_t d3) {
    int32_t idx = -1, nd = 0, kind = -1;
    int64_t dims[4] = {-1, -1, -1, -1};
    const char *nm = NULL;
    CHECK(rn_model_tensor_find(m, name, &idx) == RN_OK);
    CHECK(rn_model_tensor_info(m, idx, &nm, &nd, dims, &kind) == RN_OK);
    if (nd != ndim || dims[0] != d0 || dims[1] != d1 || dims[2] != d2 || dims[3] != d3)
        fprintf(stderr, "  %s: ndim %d dims [%lld,%lld,%lld,%lld]\n", name, (int)nd,
                (long long)dims[0], (long long)dims[1], (long long)dims[2], (long long)dims[3]);
    CHECK(nd == ndim && dims[0] == d0 && dims[1] == d1 && dims[2] == d2 && dims[3] == d3);
}

static int has_tensor(rn_model *m, const char *name) {
    int32_t idx;
    return rn_model_tensor_find(m, name, &idx) == RN_OK;
}

static void test_tensor_names_and_dims_are_torchvisions(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *r50 = preset(ctx, "resnet50", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    check_dims(r50, "layer2.0.downsample.0.weight", 4, 512, 256, 1, 1);
    check_dims(r50, "layer2.0.downsample.1.running_var", 1, 512, 0, 0, 0);
    check_dims(r50, "layer3.5.conv3.weight", 4, 1024, 256, 1, 1);
    check_dims(r50, "fc.weight", 2, 1000, 2048, 0, 0);
    check_dims(r50, "module.conv1.weight", 4, 64, 3, 7, 7); /* DataParallel prefix */
    rn_model *r18 = preset(ctx, "resnet18", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    CHECK(!has_tensor(r18, "layer1.0.downsample.0.weight"));
    CHECK(has_tensor(r18, "layer2.0.downsample.0.weight"));
    CHECK(!has_tensor(r18, "layer2.1.downsample.0.weight"));
    CHECK(!has_tensor(r18, "layer1.0.conv3.weight"));
    int32_t idx;
    CHECK_STATUS(rn_model_tensor_find(r18, "layer1.0.bn1.num_batches_tracked", &idx),
                 RN_E_NOT_FOUND, ctx);
    rn_model *r20 = preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    check_dims(r20, "fc.weight", 2, 10, 64, 0, 0);
    check_dims(r20, "conv1.weight", 4, 16, 3, 3, 3);
    CHECK(has_tensor(r20, "layer3.2.bn2.running_mean"));
    CHECK(!has_tensor(r20, "layer4.0.conv1.weight"));
    CHECK(!has_tensor(r20, "layer2.0.downsample.0.weight")); /* option A: no parameters */
    int32_t kind = -1;
    CHECK_OK(rn_model_tensor_find(r20, "layer1.0.bn1.running_mean", &idx), ctx);
    CHECK_OK(rn_model_tensor_info(r20, idx, NULL, NULL, NULL, &kind), ctx);
    CHECK(kind == RN_TENSOR_BUFFER);
    CHECK_OK(rn_model_tensor_find(r20, "layer1.0.bn1.bias", &idx), ctx);
    CHECK_OK(rn_model_tensor_info(r20, idx, NULL, NULL, NULL, &kind), ctx);
    CHECK(kind == RN_TENSOR_PARAM);
    rn_model_destroy(r20);
    rn_model_destroy(r18);
    rn_model_destroy(r50);
    rn_ctx_destroy(ctx);
}

/* Every line of the torchvision listing, in order, against the model's slots. */
static void compare_with_listing(const char *arch) {
    char path[512];
    snprintf(path, sizeof path, "%s/nn/%s_state_dict.txt", RN_TEST_DATA_DIR, arch);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = preset(ctx, arch, 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    char line[256];
    int32_t i = 0, mismatches = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128], shape[64];
        if (sscanf(line, "%127s %63s", name, shape) != 2) continue;
        const char *nm = "";
        int32_t nd = 0;
        int64_t dims[4] = {0, 0, 0, 0};
        if (rn_model_tensor_info(m, i, &nm, &nd, dims, NULL) != RN_OK) {
            mismatches++;
            i++;
            continue;
        }
        char mine[64] = "";
        size_t len = 0;
        for (int32_t d = 0; d < nd; d++)
            len += (size_t)snprintf(mine + len, sizeof mine - len, d ? ",%lld" : "%lld",
                                    (long long)dims[d]);
        if (strcmp(nm, name) != 0 || strcmp(mine, shape) != 0) {
            if (mismatches < 5)
                fprintf(stderr, "  %s #%d: torchvision %s [%s], libresnet %s [%s]\n", arch, (int)i,
                        name, shape, nm, mine);
            mismatches++;
        }
        i++;
    }
    fclose(f);
    CHECK(mismatches == 0);
    CHECK(i == rn_model_tensor_count(m));
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static void test_state_dict_order_equals_torchvisions(void) {
    compare_with_listing("resnet18");
    compare_with_listing("resnet50");
    /* resnet8 as tests/gen/gen_resnet8_fixtures.py writes it in PyTorch */
    compare_with_listing("resnet8");
}

static void test_preset_names_enumerate_and_unknown_is_not_found(void) {
    CHECK(rn_preset_count() == 22);
    CHECK(strcmp(rn_preset_name(0), "resnet18") == 0);
    CHECK(rn_preset_name(-1) == NULL && rn_preset_name(rn_preset_count()) == NULL);
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    /* exactly the paper's networks and resnet8 (each one is built by the
     * parameter-count test) */
    static const char *const names[] = {
        "resnet18",  "resnet34",   "resnet50",    "resnet101",  "resnet152", "plain18",
        "plain34",   "resnet8",    "resnet20",    "resnet32",   "resnet44",  "resnet56",
        "resnet110", "resnet1202", "plain20",     "plain32",    "plain44",   "plain56",
        "plain110",  "resnet50v1", "resnet101v1", "resnet152v1"};
    for (int32_t i = 0; i < rn_preset_count(); i++) {
        int found = 0;
        for (size_t j = 0; j < sizeof names / sizeof names[0]; j++)
            found += strcmp(rn_preset_name(i), names[j]) == 0;
        CHECK(found == 1);
    }
    rn_model *m = NULL;
    CHECK_STATUS(rn_model_create_preset(ctx, "resnet19", 0, 0, -1, 0, 0, &m), RN_E_NOT_FOUND, ctx);
    CHECK(m == NULL);
    CHECK(strstr(rn_last_error(ctx), "resnet19") != NULL);
    CHECK_STATUS(rn_model_create_preset(ctx, "plain1202", 0, 0, -1, 0, 0, &m), RN_E_NOT_FOUND, ctx);
    CHECK_STATUS(rn_model_create_preset(ctx, "resnet20", -1, 0, -1, 0, 0, &m), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_model_create_preset(ctx, "resnet20", 0, 0, 7, 0, 0, &m), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_model_create_preset(ctx, "resnet20", 0, 0, -1, 0, 0x80u, &m), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_model_create_preset(ctx, NULL, 0, 0, -1, 0, 0, &m), RN_E_INVALID_ARG, ctx);
    CHECK(m == NULL);
    rn_ctx_destroy(ctx);
}

static void test_options_change_classes_channels_width_and_shortcut(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = preset(ctx, "resnet18", 7, 1, RN_SHORTCUT_DEFAULT, 0, 0);
    check_dims(m, "conv1.weight", 4, 64, 1, 7, 7);
    check_dims(m, "fc.weight", 2, 7, 512, 0, 0);
    int32_t v = 0;
    CHECK_OK(rn_model_classes(m, &v), ctx);
    CHECK(v == 7);
    CHECK_OK(rn_model_in_channels(m, &v), ctx);
    CHECK(v == 1);
    rn_model_destroy(m);

    m = preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 4, 0);
    check_dims(m, "conv1.weight", 4, 4, 3, 3, 3);
    check_dims(m, "layer3.0.conv1.weight", 4, 16, 8, 3, 3);
    check_dims(m, "fc.weight", 2, 10, 16, 0, 0);
    rn_model_destroy(m);

    /* option B on CIFAR: projections where dims change, 1x1 conv + BN */
    m = preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_B, 0, 0);
    check_dims(m, "layer2.0.downsample.0.weight", 4, 32, 16, 1, 1);
    CHECK(!has_tensor(m, "layer1.0.downsample.0.weight"));
    CHECK(params_of(m) == 269722 + 16 * 32 + 64 + 32 * 64 + 128);
    rn_model_destroy(m);
    /* option C: a projection on every block */
    m = preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_C, 0, 0);
    check_dims(m, "layer1.0.downsample.0.weight", 4, 16, 16, 1, 1);
    check_dims(m, "layer3.2.downsample.1.weight", 1, 64, 0, 0, 0);
    rn_model_destroy(m);
    /* the paper's v1 bottleneck: same tensors, stride moved to the first 1x1 */
    m = preset(ctx, "resnet50", 0, 0, RN_SHORTCUT_DEFAULT, 0, RN_MODEL_STRIDE_ON_1X1);
    CHECK(params_of(m) == 25557032);
    rn_model_destroy(m);
    /* the widest stage must stay within the channel limit */
    CHECK_STATUS(rn_model_create_preset(ctx, "resnet50", 0, 0, -1, 8192, 0, &m), RN_E_INVALID_ARG,
                 ctx);
    rn_ctx_destroy(ctx);
}

static void test_builder_matches_the_preset_it_spells_out(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &m), ctx);
    /* order is enforced: stage before stem, head twice, stem after a stage */
    CHECK_STATUS(rn_model_add_stage(m, RN_BLOCK_BASIC, 3, 16, 1, RN_SHORTCUT_A, 0), RN_E_BAD_STATE,
                 ctx);
    CHECK_OK(rn_model_add_stem(m, 16, 3, 1, 1, 0), ctx);
    CHECK_STATUS(rn_model_add_stem(m, 16, 3, 1, 1, 0), RN_E_BAD_STATE, ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 3, 16, 1, RN_SHORTCUT_A, 0), ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 3, 32, 2, RN_SHORTCUT_A, 0), ctx);
    CHECK_STATUS(rn_model_add_stage(m, 5, 3, 64, 2, RN_SHORTCUT_A, 0), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_model_add_stage(m, RN_BLOCK_BASIC, 0, 64, 2, RN_SHORTCUT_A, 0),
                 RN_E_INVALID_ARG, ctx);
    /* option A cannot shrink channels */
    CHECK_STATUS(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 8, 2, RN_SHORTCUT_A, 0), RN_E_INVALID_ARG,
                 ctx);
    CHECK_OK(rn_model_add_stage(m, RN_BLOCK_BASIC, 3, 64, 2, RN_SHORTCUT_A, 0), ctx);
    int32_t count = 0;
    CHECK_STATUS(rn_model_classes(m, &count), RN_E_BAD_STATE, ctx);
    CHECK_OK(rn_model_add_head(m, 10), ctx);
    CHECK_STATUS(rn_model_add_head(m, 10), RN_E_BAD_STATE, ctx);
    CHECK_STATUS(rn_model_add_stage(m, RN_BLOCK_BASIC, 1, 64, 1, RN_SHORTCUT_A, 0), RN_E_BAD_STATE,
                 ctx);
    rn_model *p = preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    CHECK(params_of(m) == params_of(p));
    CHECK(rn_model_tensor_count(m) == rn_model_tensor_count(p));
    for (int32_t i = 0; i < rn_model_tensor_count(p); i++) {
        const char *a = NULL, *b = NULL;
        rn_model_tensor_info(m, i, &a, NULL, NULL, NULL);
        rn_model_tensor_info(p, i, &b, NULL, NULL, NULL);
        CHECK(a && b && strcmp(a, b) == 0);
    }
    rn_model_destroy(p);
    rn_model_destroy(m);
    CHECK_STATUS(rn_model_create(ctx, 0, &m), RN_E_INVALID_ARG, ctx);
    rn_ctx_destroy(ctx);
}

static size_t bytes_allocated;
static void *sum_alloc(void *user, size_t size, size_t align) {
    (void)user;
    bytes_allocated += size;
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) ? NULL : p;
}
static void sum_free(void *user, void *p) {
    (void)user;
    free(p);
}

static void test_resnet1202_creation_allocates_no_activations(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create_with_allocator(sum_alloc, sum_free, NULL, &ctx), ctx);
    bytes_allocated = 0;
    rn_model *m = preset(ctx, "resnet1202", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0);
    int64_t params = params_of(m);
    /* values + gradients of every tensor (BN statistics are buffers: no
     * gradient) plus names and slots: well under 3 floats per parameter,
     * whereas one batch of activations alone would be far bigger */
    CHECK(params == 19421274);
    CHECK(bytes_allocated < (size_t)params * 3 * sizeof(float));
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"parameter_counts_equal_torchvision_and_paper",
     test_parameter_counts_equal_torchvision_and_paper},
    {"macs_equal_published_counts", test_macs_equal_published_counts},
    {"v1_presets_stride_the_first_1x1", test_v1_presets_stride_the_first_1x1},
    {"layer_info_reports_shapes_and_adds_up_to_the_totals",
     test_layer_info_reports_shapes_and_adds_up_to_the_totals},
    {"tensor_names_and_dims_are_torchvisions", test_tensor_names_and_dims_are_torchvisions},
    {"state_dict_order_equals_torchvisions", test_state_dict_order_equals_torchvisions},
    {"preset_names_enumerate_and_unknown_is_not_found",
     test_preset_names_enumerate_and_unknown_is_not_found},
    {"options_change_classes_channels_width_and_shortcut",
     test_options_change_classes_channels_width_and_shortcut},
    {"builder_matches_the_preset_it_spells_out", test_builder_matches_the_preset_it_spells_out},
    {"resnet1202_creation_allocates_no_activations",
     test_resnet1202_creation_allocates_no_activations},
};

RN_TEST_MAIN(cases)
