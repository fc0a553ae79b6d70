/*
 * ONNX import (rn_model_load_onnx_*): graphs torch.onnx.export wrote from
 * torchvision's ResNet class and the paper's CIFAR network, at small widths
 * (tests/gen/gen_onnx_fixtures.py), against PyTorch's float64 logits on the
 * same input; and hostile input: truncations, corrupted lengths and varints,
 * wrong initializer sizes, unknown data types and ops, each refused with a
 * sentence. Hand-made graphs are written with the library's own protobuf
 * writer (src/io/protobuf.h), checked first to import when left intact.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "resnet.h"
#include "io/protobuf.h"

#define DATA RN_TEST_DATA_DIR "/onnx/"

static const char *const FIXTURES[] = {
    "resnet18_w2_folded_op13", /* BN folded into biased convs, max-pool stem */
    "resnet50_w1_bn_op17",     /* bottlenecks, BatchNormalization nodes */
    "cifar20b_w2_bn_op11",     /* CIFAR layout, projection shortcuts */
    "cifar20a_w2_folded_op13", /* the paper's option A: Slice + Pad */
};

static void *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static float *read_npy(rn_ctx *ctx, const char *path, int64_t dims[8], int32_t *ndim) {
    int32_t dtype;
    if (rn_npy_info_file(ctx, path, &dtype, ndim, dims) != RN_OK) return NULL;
    size_t count = 1;
    for (int32_t i = 0; i < *ndim; i++) count *= (size_t)dims[i];
    float *p = malloc(count * sizeof *p);
    if (p && rn_npy_read_file(ctx, path, RN_DTYPE_F32, p, count) != RN_OK) {
        free(p);
        p = NULL;
    }
    return p;
}

/* max |got - want| / max |want| over the logits of the fixture */
static double fixture_error(rn_ctx *ctx, rn_model *model, const char *name) {
    char path[512];
    int64_t xd[8], yd[8];
    int32_t xn, yn, classes;
    snprintf(path, sizeof path, DATA "%s_input.npy", name);
    float *x = read_npy(ctx, path, xd, &xn);
    snprintf(path, sizeof path, DATA "%s_logits.npy", name);
    float *want = read_npy(ctx, path, yd, &yn);
    double err = INFINITY;
    rn_plan *plan = NULL;
    CHECK(x && want && xn == 4 && yn == 2);
    if (!x || !want) goto end;
    CHECK_OK(rn_model_classes(model, &classes), ctx);
    CHECK(classes == yd[1]);
    size_t nx = (size_t)(xd[0] * xd[1] * xd[2] * xd[3]), ny = (size_t)(yd[0] * yd[1]);
    float *got = malloc(ny * sizeof *got);
    CHECK_OK(rn_plan_create(model, xd[0], xd[2], xd[3], RN_MODE_INFER, &plan), ctx);
    if (got && plan && rn_plan_forward(plan, x, nx, RN_LAYOUT_NCHW, got, ny) == RN_OK) {
        double big = 0, worst = 0;
        for (size_t i = 0; i < ny; i++) big = fmax(big, fabs(want[i]));
        for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(got[i] - want[i]));
        err = worst / big;
    }
    free(got);
end:
    rn_plan_destroy(plan);
    free(x);
    free(want);
    return err;
}

static void test_torch_exports_match_pytorch_float64(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2);
    for (size_t i = 0; i < sizeof FIXTURES / sizeof *FIXTURES; i++) {
        char path[512];
        snprintf(path, sizeof path, DATA "%s.onnx", FIXTURES[i]);
        rn_model *model = NULL;
        CHECK_OK(rn_model_load_onnx_file(ctx, path, &model), ctx);
        if (!model) continue;
        double err = fixture_error(ctx, model, FIXTURES[i]);
        printf("    %-26s logits within %.2e of PyTorch float64 (of the largest)\n", FIXTURES[i],
               err);
        CHECK(err < 1e-4);
        rn_model_destroy(model);
    }
    rn_ctx_destroy(ctx);
}

/* The structure the graph was mapped onto: torchvision's names and shapes. */
static void test_mapped_structure_has_torchvision_names(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    rn_model *model = NULL;
    CHECK_OK(rn_model_load_onnx_file(ctx, DATA "resnet50_w1_bn_op17.onnx", &model), ctx);
    if (model) {
        int32_t idx, ndim, layers;
        int64_t dims[4];
        /* ResNet-50: 3 + 4 + 6 + 3 bottlenecks, a projection in each stage's first */
        CHECK_OK(rn_model_tensor_find(model, "layer3.5.conv3.weight", &idx), ctx);
        CHECK_OK(rn_model_tensor_find(model, "layer4.0.downsample.0.weight", &idx), ctx);
        CHECK_OK(rn_model_tensor_info(model, idx, NULL, &ndim, dims, NULL), ctx);
        CHECK(ndim == 4 && dims[0] == 32 && dims[1] == 16 && dims[2] == 1);
        CHECK_STATUS(rn_model_tensor_find(model, "layer4.3.conv1.weight", &idx), RN_E_NOT_FOUND,
                     ctx);
        CHECK_OK(rn_model_layer_count(model, &layers), ctx);
        CHECK(layers == 1 + 16 + 1);
        rn_model_destroy(model);
    }
    model = NULL;
    CHECK_OK(rn_model_load_onnx_file(ctx, DATA "cifar20a_w2_folded_op13.onnx", &model), ctx);
    if (model) {
        int32_t idx, layers;
        /* option A: no projection tensors anywhere */
        CHECK_STATUS(rn_model_tensor_find(model, "layer2.0.downsample.0.weight", &idx),
                     RN_E_NOT_FOUND, ctx);
        CHECK_OK(rn_model_tensor_find(model, "layer3.2.bn2.running_var", &idx), ctx);
        CHECK_OK(rn_model_layer_count(model, &layers), ctx);
        CHECK(layers == 1 + 9 + 1);
        rn_model_destroy(model);
    }
    rn_ctx_destroy(ctx);
}

static void test_memory_and_file_versions_agree(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    size_t size;
    void *buf = read_all(DATA "cifar20b_w2_bn_op11.onnx", &size);
    CHECK(buf != NULL);
    rn_model *a = NULL, *b = NULL;
    CHECK_OK(rn_model_load_onnx_mem(ctx, buf, size, &a), ctx);
    CHECK_OK(rn_model_load_onnx_file(ctx, DATA "cifar20b_w2_bn_op11.onnx", &b), ctx);
    if (a && b) {
        int32_t n = rn_model_tensor_count(a);
        CHECK(n == rn_model_tensor_count(b));
        for (int32_t i = 0; i < n; i++) {
            const char *name;
            int64_t dims[4];
            int32_t ndim;
            rn_model_tensor_info(a, i, &name, &ndim, dims, NULL);
            size_t count = 1;
            for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
            float *x = malloc(count * 4), *y = malloc(count * 4);
            CHECK_OK(rn_model_get_tensor(a, name, x, count), ctx);
            CHECK_OK(rn_model_get_tensor(b, name, y, count), ctx);
            CHECK(memcmp(x, y, count * 4) == 0);
            free(x);
            free(y);
        }
    }
    rn_model_destroy(a);
    rn_model_destroy(b);
    free(buf);
    rn_ctx_destroy(ctx);
}

/* Every prefix of a real file is refused with a sentence (never a crash). */
static void test_truncated_files_are_refused(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    size_t size;
    unsigned char *buf = read_all(DATA "cifar20a_w2_folded_op13.onnx", &size);
    CHECK(buf != NULL);
    int refused = 0, tried = 0;
    for (size_t cut = 0; buf && cut < size; cut += 1 + cut / 16) {
        unsigned char *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        rn_model *m = NULL;
        rn_status st = rn_model_load_onnx_mem(ctx, copy, cut, &m);
        tried++;
        if (st != RN_OK && m == NULL && rn_last_error(ctx)[0]) refused++;
        rn_model_destroy(m);
        free(copy);
    }
    CHECK(tried > 50 && refused == tried);
    free(buf);
    rn_ctx_destroy(ctx);
}

/* Single-byte corruptions: anything may be refused, nothing may crash, and
 * what loads is a complete model. (ASan/UBSan runs of the suite watch.) */
static void test_corrupted_bytes_never_crash(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    size_t size;
    unsigned char *buf = read_all(DATA "resnet18_w2_folded_op13.onnx", &size);
    CHECK(buf != NULL);
    unsigned long long state = 12345;
    int loaded = 0;
    for (int k = 0; buf && k < 300; k++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t at = (size_t)(state >> 33) % size;
        unsigned char old = buf[at];
        buf[at] = (unsigned char)(state >> 20);
        rn_model *m = NULL;
        rn_status st = rn_model_load_onnx_mem(ctx, buf, size, &m);
        if (st == RN_OK) {
            int32_t classes;
            CHECK(rn_model_classes(m, &classes) == RN_OK);
            loaded++;
        } else {
            CHECK(m == NULL && rn_last_error(ctx)[0]);
        }
        rn_model_destroy(m);
        buf[at] = old;
    }
    printf("    %d of 300 corrupted copies still loaded (weights or names hit)\n", loaded);
    free(buf);
    rn_ctx_destroy(ctx);
}

/* ---- hand-made graphs ------------------------------------------------------------- */
/* What to break in the small graph below. */
enum {
    OK_GRAPH,
    BAD_DTYPE,
    STRING_DTYPE,
    SHORT_RAW,
    EXTRA_OP,
    OLD_OPSET,
    EXTERNAL,
    NO_GRAPH,
    GROUPED_CONV,
    UNDEFINED_INPUT
};

static void tensor_f32(rn__pbw *w, rn_ctx *ctx, const char *name, int ndim, const int64_t *dims,
                       const float *v, int breakage) {
    rn__pbw t;
    rn__pbw_init(&t, ctx);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        rn__pbw_varint_field(&t, 1, (uint64_t)dims[i]);
        count *= (size_t)dims[i];
    }
    rn__pbw_varint_field(&t, 2, breakage == BAD_DTYPE ? 99 : breakage == STRING_DTYPE ? 8 : 1);
    rn__pbw_string_field(&t, 8, name);
    unsigned char raw[4 * 64];
    for (size_t i = 0; i < count; i++) rn__put_le32(raw + 4 * i, rn__f32_bits(v[i]));
    rn__pbw_bytes_field(&t, 9, raw, 4 * count - (breakage == SHORT_RAW ? 4 : 0));
    if (breakage == EXTERNAL) rn__pbw_varint_field(&t, 14, 1);
    rn__pbw_message_field(w, 5, &t);
    rn__pbw_free(&t);
}

static void node(rn__pbw *g, rn_ctx *ctx, const char *op, const char *name, const char *in0,
                 const char *in1, const char *in2, const char *out, const char *attr_name,
                 int64_t attr_i) {
    rn__pbw n, a;
    rn__pbw_init(&n, ctx);
    rn__pbw_init(&a, ctx);
    if (in0) rn__pbw_string_field(&n, 1, in0);
    if (in1) rn__pbw_string_field(&n, 1, in1);
    if (in2) rn__pbw_string_field(&n, 1, in2);
    rn__pbw_string_field(&n, 2, out);
    rn__pbw_string_field(&n, 3, name);
    rn__pbw_string_field(&n, 4, op);
    if (attr_name) {
        rn__pbw_string_field(&a, 1, attr_name);
        if (strcmp(attr_name, "pads") == 0) { /* INTS, unpacked as onnx writes them */
            for (int i = 0; i < 4; i++) rn__pbw_varint_field(&a, 8, (uint64_t)attr_i);
            rn__pbw_varint_field(&a, 20, 7);
        } else {
            rn__pbw_varint_field(&a, 3, (uint64_t)attr_i);
            rn__pbw_varint_field(&a, 20, 2);
        }
        rn__pbw_message_field(&n, 5, &a);
    }
    rn__pbw_message_field(g, 1, &n);
    rn__pbw_free(&n);
    rn__pbw_free(&a);
}

/* conv 3x3 (1 -> 2 channels, pad 1, bias) + Relu, GlobalAveragePool,
 * Flatten, Gemm to 3 classes: a stem and a head, no blocks. */
static unsigned char *small_graph(rn_ctx *ctx, int breakage, size_t *size) {
    rn__pbw g, m, o, vi;
    rn__pbw_init(&g, ctx);
    rn__pbw_init(&m, ctx);
    rn__pbw_init(&o, ctx);
    rn__pbw_init(&vi, ctx);
    float w[18], b[2] = {0.5f, -0.25f}, fw[6] = {1, -2, 0.5f, 3, -1, 2}, fb[3] = {0.1f, 0, -0.1f};
    for (int i = 0; i < 18; i++) w[i] = (float)((i * 7) % 5 - 2) * 0.25f;
    int64_t wd[4] = {2, 1, 3, 3}, bd[1] = {2}, fwd[2] = {3, 2}, fbd[1] = {3};
    node(&g, ctx, "Conv", "stem_conv", "x", "w", breakage == UNDEFINED_INPUT ? "nowhere" : "b", "c",
         breakage == GROUPED_CONV ? "group" : "pads", breakage == GROUPED_CONV ? 2 : 1);
    node(&g, ctx, "Relu", "stem_relu", "c", NULL, NULL, "r", NULL, 0);
    if (breakage == EXTRA_OP) {
        node(&g, ctx, "Sigmoid", "squash", "r", NULL, NULL, "s", NULL, 0);
        node(&g, ctx, "GlobalAveragePool", "pool", "s", NULL, NULL, "p", NULL, 0);
    } else {
        node(&g, ctx, "GlobalAveragePool", "pool", "r", NULL, NULL, "p", NULL, 0);
    }
    node(&g, ctx, "Flatten", "flat", "p", NULL, NULL, "f", "axis", 1);
    node(&g, ctx, "Gemm", "fc", "f", "fw", "fb", "y", "transB", 1);
    tensor_f32(&g, ctx, "w", 4, wd, w, breakage);
    tensor_f32(&g, ctx, "b", 1, bd, b, OK_GRAPH);
    tensor_f32(&g, ctx, "fw", 2, fwd, fw, OK_GRAPH);
    tensor_f32(&g, ctx, "fb", 1, fbd, fb, OK_GRAPH);
    rn__pbw_string_field(&vi, 1, "x");
    rn__pbw_message_field(&g, 11, &vi);
    rn__pbw_string_field(&vi, 1, "y");
    rn__pbw_message_field(&g, 12, &vi);
    rn__pbw_varint_field(&m, 1, 8);
    rn__pbw_varint_field(&o, 2, breakage == OLD_OPSET ? 9 : 13);
    rn__pbw_message_field(&m, 8, &o);
    if (breakage != NO_GRAPH) rn__pbw_message_field(&m, 7, &g);
    unsigned char *out = m.failed ? NULL : malloc(m.len);
    if (out) memcpy(out, m.buf, m.len);
    *size = m.len;
    rn__pbw_free(&g);
    rn__pbw_free(&m);
    rn__pbw_free(&o);
    rn__pbw_free(&vi);
    return out;
}

static void test_hand_made_graph_computes_the_network(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    size_t size;
    unsigned char *buf = small_graph(ctx, OK_GRAPH, &size);
    rn_model *m = NULL;
    CHECK_OK(rn_model_load_onnx_mem(ctx, buf, size, &m), ctx);
    if (m) {
        /* 1 x 1 x 4 x 4 input; the reference is computed here in double */
        float x[16], y[3];
        for (int i = 0; i < 16; i++) x[i] = (float)((i * 5) % 7 - 3) * 0.5f;
        float w[18], b[2] = {0.5f, -0.25f}, fw[6] = {1, -2, 0.5f, 3, -1, 2},
                     fb[3] = {0.1f, 0, -0.1f};
        for (int i = 0; i < 18; i++) w[i] = (float)((i * 7) % 5 - 2) * 0.25f;
        double pooled[2] = {0, 0};
        for (int o = 0; o < 2; o++)
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) {
                    double acc = b[o];
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int rr = r + i - 1, cc = c + j - 1;
                            if (rr >= 0 && rr < 4 && cc >= 0 && cc < 4)
                                acc += (double)w[o * 9 + i * 3 + j] * x[rr * 4 + cc];
                        }
                    pooled[o] += (acc > 0 ? acc : 0) / 16;
                }
        rn_plan *plan = NULL;
        CHECK_OK(rn_plan_create(m, 1, 4, 4, RN_MODE_INFER, &plan), ctx);
        CHECK_OK(rn_plan_forward(plan, x, 16, RN_LAYOUT_NCHW, y, 3), ctx);
        for (int k = 0; k < 3; k++)
            CHECK_CLOSE(y[k], fb[k] + fw[2 * k] * pooled[0] + fw[2 * k + 1] * pooled[1], 1e-5);
        rn_plan_destroy(plan);
        rn_model_destroy(m);
    }
    free(buf);
    rn_ctx_destroy(ctx);
}

static void refused(rn_ctx *ctx, int breakage, rn_status want, const char *phrase) {
    size_t size;
    unsigned char *buf = small_graph(ctx, breakage, &size);
    rn_model *m = NULL;
    CHECK_STATUS(rn_model_load_onnx_mem(ctx, buf, size, &m), want, ctx);
    CHECK(m == NULL);
    if (!strstr(rn_last_error(ctx), phrase)) {
        fprintf(stderr, "  breakage %d: '%s' lacks '%s'\n", breakage, rn_last_error(ctx), phrase);
        CHECK(0);
    }
    free(buf);
}

static void test_bad_graphs_are_refused_with_a_sentence(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    refused(ctx, BAD_DTYPE, RN_E_BAD_FORMAT, "unknown data type 99");
    refused(ctx, STRING_DTYPE, RN_E_UNSUPPORTED, "data type STRING");
    refused(ctx, SHORT_RAW, RN_E_BAD_FORMAT, "raw_data holds 68 bytes");
    refused(ctx, EXTRA_OP, RN_E_UNSUPPORTED, "'squash' (op Sigmoid)");
    refused(ctx, OLD_OPSET, RN_E_UNSUPPORTED, "opset 9");
    refused(ctx, EXTERNAL, RN_E_UNSUPPORTED, "external file");
    refused(ctx, NO_GRAPH, RN_E_BAD_FORMAT, "no graph");
    refused(ctx, GROUPED_CONV, RN_E_UNSUPPORTED, "'stem_conv' (op Conv): grouped");
    refused(ctx, UNDEFINED_INPUT, RN_E_BAD_FORMAT, "input 'nowhere' is not defined");
    rn_ctx_destroy(ctx);
}

static void test_malformed_protobuf_is_refused(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    static const struct {
        const char *what;
        unsigned char bytes[16];
        size_t n;
        const char *phrase;
    } cases[] = {
        {"truncated varint", {0x08, 0xff}, 2, "truncated or overlong varint"},
        {"overlong varint",
         {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
         11,
         "truncated or overlong varint"},
        {"length past the end", {0x3a, 0x10, 0x0a}, 3, "runs past the end"},
        {"huge length", {0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f}, 7, "runs past the end"},
        {"group wire type", {0x0b, 0x0c}, 2, "wire type"},
        {"field number 0", {0x00, 0x01}, 2, "field number"},
        {"node length past its graph", {0x3a, 0x03, 0x0a, 0x05, 0x0a}, 5, "runs past the end"},
        {"truncated fixed32 in a graph", {0x3a, 0x02, 0x15, 0x00}, 4, "truncated 32-bit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rn_model *m = NULL;
        CHECK_STATUS(rn_model_load_onnx_mem(ctx, cases[i].bytes, cases[i].n, &m), RN_E_BAD_FORMAT,
                     ctx);
        if (!strstr(rn_last_error(ctx), cases[i].phrase)) {
            fprintf(stderr, "  %s: '%s'\n", cases[i].what, rn_last_error(ctx));
            CHECK(0);
        }
    }
    rn_model *m = NULL;
    CHECK_STATUS(rn_model_load_onnx_mem(ctx, NULL, 0, &m), RN_E_BAD_FORMAT, ctx);
    CHECK_STATUS(rn_model_load_onnx_mem(ctx, "x", 1, NULL), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_model_load_onnx_file(ctx, DATA "no-such-file.onnx", &m), RN_E_IO, ctx);
    rn_ctx_destroy(ctx);
}

/* ---- export ------------------------------------------------------------------------ */
/* Random weights and batch-norm statistics so that no layer is an identity. */
static void randomise(rn_ctx *ctx, rn_model *m) {
    int32_t n = rn_model_tensor_count(m);
    for (int32_t i = 0; i < n; i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        rn_model_tensor_info(m, i, &name, &ndim, dims, NULL);
        size_t count = 1;
        for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
        float *v = malloc(count * sizeof *v);
        int var = strstr(name, "running_var") != NULL,
            scale = ndim == 1 && strstr(name, "bn") && strstr(name, ".weight");
        double fan = ndim == 4 ? (double)(dims[1] * dims[2] * dims[3]) : 1;
        for (size_t j = 0; j < count; j++) {
            double u = rn_test_uniform();
            v[j] = (float)(var         ? 0.5 + u
                           : scale     ? 0.5 + u
                           : ndim == 4 ? (2 * u - 1) * sqrt(6.0 / fan)
                                       : 0.4 * (u - 0.5));
        }
        CHECK_OK(rn_model_set_tensor(m, name, v, count), ctx);
        free(v);
    }
}

static void test_export_reads_back_to_the_same_logits(void) {
    rn_ctx *ctx;
    rn_ctx_create(&ctx);
    static const struct {
        const char *arch;
        int32_t width, shortcut, h;
    } nets[] = {
        {"resnet20", 4, RN_SHORTCUT_DEFAULT, 16}, /* option A */
        {"resnet50", 2, RN_SHORTCUT_DEFAULT, 40}, /* bottlenecks, B */
        {"resnet18", 2, RN_SHORTCUT_C, 33},       /* a projection in every block */
    };
    for (size_t k = 0; k < sizeof nets / sizeof *nets; k++) {
        rn_model *m = NULL, *back = NULL;
        CHECK_OK(
            rn_model_create_preset(ctx, nets[k].arch, 6, 3, nets[k].shortcut, nets[k].width, 0, &m),
            ctx);
        if (!m) continue;
        randomise(ctx, m);
        size_t need = 0, written = 0;
        CHECK_OK(rn_model_save_onnx_mem(m, NULL, 0, &need), ctx);
        unsigned char *buf = malloc(need);
        CHECK_STATUS(rn_model_save_onnx_mem(m, buf, need - 1, &written), RN_E_BUFFER_TOO_SMALL,
                     ctx);
        CHECK_OK(rn_model_save_onnx_mem(m, buf, need, &written), ctx);
        CHECK(written == need);
        CHECK_OK(rn_model_load_onnx_mem(ctx, buf, written, &back), ctx);
        if (back) {
            CHECK(rn_model_tensor_count(back) == rn_model_tensor_count(m));
            enum { N = 2 };
            int64_t h = nets[k].h;
            size_t nx = (size_t)(N * 3 * h * h);
            float *x = malloc(nx * sizeof *x), a[N * 6], b[N * 6];
            rn_test_fill_uniform(x, nx, -1, 1);
            rn_plan *pa = NULL, *pb = NULL;
            CHECK_OK(rn_plan_create(m, N, h, h, RN_MODE_INFER, &pa), ctx);
            CHECK_OK(rn_plan_create(back, N, h, h, RN_MODE_INFER, &pb), ctx);
            CHECK_OK(rn_plan_forward(pa, x, nx, RN_LAYOUT_NCHW, a, N * 6), ctx);
            CHECK_OK(rn_plan_forward(pb, x, nx, RN_LAYOUT_NCHW, b, N * 6), ctx);
            double big = 0, worst = 0;
            for (int i = 0; i < N * 6; i++) big = fmax(big, fabs(a[i]));
            for (int i = 0; i < N * 6; i++) worst = fmax(worst, fabs(a[i] - b[i]));
            printf("    %s (width %d): read back within %.1e of the largest logit\n", nets[k].arch,
                   (int)nets[k].width, worst / big);
            CHECK(big > 0 && worst <= 1e-6 * big);
            rn_plan_destroy(pa);
            rn_plan_destroy(pb);
            free(x);
        }
        rn_model_destroy(back);
        rn_model_destroy(m);
        free(buf);
    }
    rn_model *empty = NULL;
    size_t need;
    CHECK_OK(rn_model_create(ctx, 3, &empty), ctx);
    CHECK_STATUS(rn_model_save_onnx_mem(empty, NULL, 0, &need), RN_E_BAD_STATE, ctx);
    rn_model_destroy(empty);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"export_reads_back_to_the_same_logits", test_export_reads_back_to_the_same_logits},
    {"torch_exports_match_pytorch_float64", test_torch_exports_match_pytorch_float64},
    {"mapped_structure_has_torchvision_names", test_mapped_structure_has_torchvision_names},
    {"memory_and_file_versions_agree", test_memory_and_file_versions_agree},
    {"truncated_files_are_refused", test_truncated_files_are_refused},
    {"corrupted_bytes_never_crash", test_corrupted_bytes_never_crash},
    {"hand_made_graph_computes_the_network", test_hand_made_graph_computes_the_network},
    {"bad_graphs_are_refused_with_a_sentence", test_bad_graphs_are_refused_with_a_sentence},
    {"malformed_protobuf_is_refused", test_malformed_protobuf_is_refused},
};
RN_TEST_MAIN(cases)
