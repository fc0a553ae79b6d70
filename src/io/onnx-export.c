/*
 * ONNX export (opset 13, IR version 7): the model as the graph
 * torch.onnx.export would write with batch norms kept, initializers under
 * torchvision's state_dict names. Input "input" (float, [batch, C, height,
 * width] with symbolic batch and spatial dims), output "logits" (float,
 * [batch, classes]). Nodes: Conv, BatchNormalization (epsilon 1e-5), Relu,
 * MaxPool, Add, option-A shortcuts as Slice (axes 2, 3, step = stride) +
 * Pad (constant zeros on the channels), GlobalAveragePool, Flatten, Gemm.
 * Written with the protobuf writer of protobuf.h, from the model's
 * structure as nn.h describes it (rn__nn_model_shape, rn__nn_block_shape).
 */
#include "protobuf.h"
#include "../nn/nn.h"

#define ONNX_OPSET 13
#define ONNX_IR_VERSION 7

typedef struct exporter {
    rn_ctx *ctx;
    rn__pbw graph, tmp, attr;
    int32_t counter;
} exporter;

static void tensor_bytes(exporter *e, const char *name, int32_t dtype, int32_t ndim,
                         const int64_t *dims, const void *raw, size_t bytes) {
    rn__pbw t;
    rn__pbw_init(&t, e->ctx);
    for (int32_t i = 0; i < ndim; i++) rn__pbw_varint_field(&t, 1, (uint64_t)dims[i]);
    rn__pbw_varint_field(&t, 2, (uint64_t)dtype);
    rn__pbw_string_field(&t, 8, name);
    rn__pbw_bytes_field(&t, 9, raw, bytes);
    rn__pbw_message_field(&e->graph, 5, &t);
    rn__pbw_free(&t);
}

static void int64_init(exporter *e, const char *name, int32_t n, const int64_t *v) {
    unsigned char raw[8 * 8];
    int64_t dims[1] = {n};
    for (int32_t i = 0; i < n; i++) rn__put_le64(raw + 8 * i, (uint64_t)v[i]);
    tensor_bytes(e, name, 7, 1, dims, raw, 8 * (size_t)n);
}

/* attribute helpers: written into e->attr, then added to the node being built */
static void attr_ints(rn__pbw *node, exporter *e, const char *name, int32_t n, const int64_t *v) {
    rn__pbw_string_field(&e->attr, 1, name);
    for (int32_t i = 0; i < n; i++) rn__pbw_varint_field(&e->attr, 8, (uint64_t)v[i]);
    rn__pbw_varint_field(&e->attr, 20, 7); /* INTS */
    rn__pbw_message_field(node, 5, &e->attr);
}
static void attr_int(rn__pbw *node, exporter *e, const char *name, int64_t v) {
    rn__pbw_string_field(&e->attr, 1, name);
    rn__pbw_varint_field(&e->attr, 3, (uint64_t)v);
    rn__pbw_varint_field(&e->attr, 20, 2); /* INT */
    rn__pbw_message_field(node, 5, &e->attr);
}
static void attr_float(rn__pbw *node, exporter *e, const char *name, float v) {
    rn__pbw_string_field(&e->attr, 1, name);
    rn__pbw_fixed32_field(&e->attr, 2, rn__f32_bits(v));
    rn__pbw_varint_field(&e->attr, 20, 1); /* FLOAT */
    rn__pbw_message_field(node, 5, &e->attr);
}
static void attr_string(rn__pbw *node, exporter *e, const char *name, const char *v) {
    rn__pbw_string_field(&e->attr, 1, name);
    rn__pbw_string_field(&e->attr, 4, v);
    rn__pbw_varint_field(&e->attr, 20, 3); /* STRING */
    rn__pbw_message_field(node, 5, &e->attr);
}

/* Starts a node in e->tmp: inputs (NULL-terminated), one output, name, op. */
static void node_begin(exporter *e, const char *op, const char *name, const char *const *inputs,
                       const char *output) {
    for (const char *const *p = inputs; *p; p++) rn__pbw_string_field(&e->tmp, 1, *p);
    rn__pbw_string_field(&e->tmp, 2, output);
    rn__pbw_string_field(&e->tmp, 3, name);
    rn__pbw_string_field(&e->tmp, 4, op);
}
static void node_end(exporter *e) { rn__pbw_message_field(&e->graph, 1, &e->tmp); }

static void join(char *dst, size_t cap, const char *a, const char *b) {
    rn__concat(dst, cap, a, b);
}

/* conv (named conv_name, weight conv_name.weight) + BN (bn_name.*) from x into y. */
static void conv_bn(exporter *e, const nn_conv_shape *c, const char *conv_name, const char *bn_name,
                    const char *x, char *y, size_t ycap) {
    char w[96], mid[112], in[5][96];
    join(w, sizeof w, conv_name, ".weight");
    join(mid, sizeof mid, conv_name, ":out");
    const char *cin[] = {x, w, NULL};
    node_begin(e, "Conv", conv_name, cin, mid);
    int64_t k[2] = {c->k, c->k}, s[2] = {c->stride, c->stride};
    int64_t p[4] = {c->pad, c->pad, c->pad, c->pad}, d[2] = {1, 1};
    attr_ints(&e->tmp, e, "dilations", 2, d);
    attr_int(&e->tmp, e, "group", 1);
    attr_ints(&e->tmp, e, "kernel_shape", 2, k);
    attr_ints(&e->tmp, e, "pads", 4, p);
    attr_ints(&e->tmp, e, "strides", 2, s);
    node_end(e);
    static const char *suffix[4] = {".weight", ".bias", ".running_mean", ".running_var"};
    for (int i = 0; i < 4; i++) join(in[i], sizeof in[i], bn_name, suffix[i]);
    join(y, ycap, bn_name, ":out");
    const char *bin[] = {mid, in[0], in[1], in[2], in[3], NULL};
    node_begin(e, "BatchNormalization", bn_name, bin, y);
    attr_float(&e->tmp, e, "epsilon", RN_BN_EPS);
    attr_float(&e->tmp, e, "momentum", 1.0f - RN_BN_MOMENTUM); /* ONNX's convention */
    node_end(e);
}

static void relu(exporter *e, const char *name, const char *x, char *y, size_t ycap) {
    join(y, ycap, name, ":out");
    const char *in[] = {x, NULL};
    node_begin(e, "Relu", name, in, y);
    node_end(e);
}

static void value_info(exporter *e, uint32_t field, const char *name, int32_t ndim,
                       const char *const *params, const int64_t *values) {
    rn__pbw vi, type, tensor, shape, dim;
    rn__pbw_init(&vi, e->ctx);
    rn__pbw_init(&type, e->ctx);
    rn__pbw_init(&tensor, e->ctx);
    rn__pbw_init(&shape, e->ctx);
    rn__pbw_init(&dim, e->ctx);
    for (int32_t i = 0; i < ndim; i++) {
        if (params[i])
            rn__pbw_string_field(&dim, 2, params[i]);
        else
            rn__pbw_varint_field(&dim, 1, (uint64_t)values[i]);
        rn__pbw_message_field(&shape, 1, &dim);
    }
    rn__pbw_varint_field(&tensor, 1, 1); /* FLOAT */
    rn__pbw_message_field(&tensor, 2, &shape);
    rn__pbw_message_field(&type, 1, &tensor);
    rn__pbw_string_field(&vi, 1, name);
    rn__pbw_message_field(&vi, 2, &type);
    rn__pbw_message_field(&e->graph, field, &vi);
    int failed = vi.failed || type.failed || tensor.failed || shape.failed || dim.failed;
    if (failed) e->graph.failed = 1;
    rn__pbw_free(&vi);
    rn__pbw_free(&type);
    rn__pbw_free(&tensor);
    rn__pbw_free(&shape);
    rn__pbw_free(&dim);
}

static rn_status build(const rn_model *m, rn__pbw *model) {
    rn_ctx *ctx = rn__model_ctx(m);
    nn_model_shape ms;
    rn__nn_model_shape(m, &ms);
    exporter e;
    e.ctx = ctx;
    e.counter = 0;
    rn__pbw_init(&e.graph, ctx);
    rn__pbw_init(&e.tmp, ctx);
    rn__pbw_init(&e.attr, ctx);
    rn_status st = RN_OK;
    char x[128], y[128];
    rn__pbw_string_field(&e.graph, 2, "libresnet");
    /* stem */
    conv_bn(&e, &ms.stem, "conv1", "bn1", "input", y, sizeof y);
    relu(&e, "relu", y, x, sizeof x);
    if (ms.stem_pool) {
        const char *in[] = {x, NULL};
        node_begin(&e, "MaxPool", "maxpool", in, "maxpool:out");
        int64_t k[2] = {3, 3}, s[2] = {2, 2}, p[4] = {1, 1, 1, 1};
        attr_int(&e.tmp, &e, "ceil_mode", 0);
        attr_ints(&e.tmp, &e, "kernel_shape", 2, k);
        attr_ints(&e.tmp, &e, "pads", 4, p);
        attr_ints(&e.tmp, &e, "strides", 2, s);
        node_end(&e);
        join(x, sizeof x, "maxpool", ":out");
    }
    for (int32_t i = 0; i < ms.nblocks; i++) {
        nn_block_shape bs;
        rn__nn_block_shape(m, i, &bs);
        const nn_block_shape *b = &bs;
        const char *blk = b->name;
        char conv[64], bn[64], cur[128], nxt[128], shortcut[128];
        rn_memcpy(cur, x, sizeof cur);
        for (int32_t j = 0; j < b->nconv; j++) {
            char leaf[8] = ".conv1", bleaf[8] = ".bn1";
            leaf[5] = bleaf[3] = (char)('1' + j);
            join(conv, sizeof conv, blk, leaf);
            join(bn, sizeof bn, blk, bleaf);
            conv_bn(&e, &b->conv[j], conv, bn, cur, nxt, sizeof nxt);
            if (j + 1 < b->nconv) {
                char rname[64];
                leaf[1] = 'r', leaf[2] = 'e', leaf[3] = 'l', leaf[4] = 'u';
                join(rname, sizeof rname, blk, leaf);
                relu(&e, rname, nxt, cur, sizeof cur);
            } else {
                rn_memcpy(cur, nxt, sizeof cur);
            }
        }
        if (b->sc == NN_SC_PROJ) {
            join(conv, sizeof conv, blk, ".downsample.0");
            join(bn, sizeof bn, blk, ".downsample.1");
            conv_bn(&e, &b->proj, conv, bn, x, shortcut, sizeof shortcut);
        } else if (b->sc == NN_SC_PAD) {
            char names[4][96], sl[96];
            static const char *parts[4] = {".shortcut.starts", ".shortcut.ends", ".shortcut.axes",
                                           ".shortcut.steps"};
            for (int k = 0; k < 4; k++) join(names[k], sizeof names[k], blk, parts[k]);
            int64_t starts[2] = {0, 0}, ends[2] = {INT64_MAX, INT64_MAX}, axes[2] = {2, 3};
            int64_t steps[2] = {b->stride, b->stride};
            int64_t lo = (b->out - b->in) / 2, hi = b->out - b->in - lo;
            int64_t pads[8] = {0, lo, 0, 0, 0, hi, 0, 0};
            int64_init(&e, names[0], 2, starts);
            int64_init(&e, names[1], 2, ends);
            int64_init(&e, names[2], 2, axes);
            int64_init(&e, names[3], 2, steps);
            join(sl, sizeof sl, blk, ".shortcut.slice:out");
            const char *sin[] = {x, names[0], names[1], names[2], names[3], NULL};
            join(conv, sizeof conv, blk, ".shortcut.slice");
            node_begin(&e, "Slice", conv, sin, sl);
            node_end(&e);
            join(names[0], sizeof names[0], blk, ".shortcut.pads");
            int64_init(&e, names[0], 8, pads);
            join(shortcut, sizeof shortcut, blk, ".shortcut.pad:out");
            join(conv, sizeof conv, blk, ".shortcut.pad");
            const char *pin[] = {sl, names[0], NULL};
            node_begin(&e, "Pad", conv, pin, shortcut);
            attr_string(&e.tmp, &e, "mode", "constant");
            node_end(&e);
        } else {
            rn_memcpy(shortcut, x, sizeof shortcut);
        }
        if (b->sc != NN_SC_NONE) {
            char add[64];
            join(add, sizeof add, blk, ".add");
            join(nxt, sizeof nxt, blk, ".add:out");
            const char *ain[] = {cur, shortcut, NULL};
            node_begin(&e, "Add", add, ain, nxt);
            node_end(&e);
            rn_memcpy(cur, nxt, sizeof cur);
        }
        char rname[64];
        join(rname, sizeof rname, blk, ".relu");
        relu(&e, rname, cur, x, sizeof x);
    }
    {
        const char *in[] = {x, NULL};
        node_begin(&e, "GlobalAveragePool", "avgpool", in, "avgpool:out");
        node_end(&e);
        const char *fin[] = {"avgpool:out", NULL};
        node_begin(&e, "Flatten", "flatten", fin, "flatten:out");
        attr_int(&e.tmp, &e, "axis", 1);
        node_end(&e);
        const char *gin[] = {"flatten:out", "fc.weight", "fc.bias", NULL};
        node_begin(&e, "Gemm", "fc", gin, "logits");
        attr_float(&e.tmp, &e, "alpha", 1.0f);
        attr_float(&e.tmp, &e, "beta", 1.0f);
        attr_int(&e.tmp, &e, "transB", 1);
        node_end(&e);
    }
    /* initializers: every model tensor under its name, PyTorch layout */
    int32_t n = rn_model_tensor_count(m);
    size_t maxc = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t ndim = 0;
        int64_t dims[4];
        if (rn_model_tensor_info(m, i, NULL, &ndim, dims, NULL) != RN_OK) ndim = 0;
        size_t c = 1;
        for (int32_t d = 0; d < ndim; d++) c *= (size_t)dims[d];
        if (c > maxc) maxc = c;
    }
    float *v = rn__calloc(ctx, maxc ? maxc : 1, sizeof(float));
    unsigned char *raw = rn__calloc(ctx, maxc ? maxc : 1, 4);
    if (!v || !raw) st = rn__error(ctx, RN_E_NO_MEMORY, "rn_model_save_onnx: out of memory");
    for (int32_t i = 0; !st && i < n; i++) {
        const char *name = NULL;
        int32_t ndim = 0;
        int64_t dims[4];
        if ((st = rn_model_tensor_info(m, i, &name, &ndim, dims, NULL))) break;
        size_t c = 1;
        for (int32_t d = 0; d < ndim; d++) c *= (size_t)dims[d];
        if ((st = rn_model_get_tensor(m, name, v, c))) break;
        for (size_t j = 0; j < c; j++) rn__put_le32(raw + 4 * j, rn__f32_bits(v[j]));
        tensor_bytes(&e, name, 1, ndim, dims, raw, 4 * c);
    }
    rn__free(ctx, v);
    rn__free(ctx, raw);
    {
        const char *in_params[4] = {"batch", NULL, "height", "width"};
        int64_t in_values[4] = {0, ms.in_channels, 0, 0};
        const char *out_params[2] = {"batch", NULL};
        int64_t out_values[2] = {0, ms.classes};
        value_info(&e, 11, "input", 4, in_params, in_values);
        value_info(&e, 12, "logits", 2, out_params, out_values);
    }
    if (!st) {
        rn__pbw opset;
        rn__pbw_init(&opset, ctx);
        rn__pbw_varint_field(model, 1, ONNX_IR_VERSION);
        rn__pbw_string_field(model, 2, "libresnet");
        rn__pbw_string_field(model, 3, rn_version_string());
        rn__pbw_message_field(model, 7, &e.graph);
        rn__pbw_string_field(&opset, 1, "");
        rn__pbw_varint_field(&opset, 2, ONNX_OPSET);
        rn__pbw_message_field(model, 8, &opset);
        if (opset.failed) model->failed = 1;
        rn__pbw_free(&opset);
    }
    if (!st && (model->failed || e.graph.failed || e.tmp.failed || e.attr.failed))
        st = rn__error(ctx, RN_E_NO_MEMORY, "rn_model_save_onnx: out of memory for the graph");
    rn__pbw_free(&e.graph);
    rn__pbw_free(&e.tmp);
    rn__pbw_free(&e.attr);
    return st;
}

static rn_status check_model(const rn_model *m, const char *fn) {
    rn_ctx *ctx = rn__model_ctx(m);
    rn_status ps = rn__model_check_unpacked(m, fn);
    if (ps) return ps;
    nn_model_shape ms;
    rn__nn_model_shape(m, &ms);
    if (!ms.complete)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model is incomplete (stem and head "
                         "needed)",
                         fn);
    if (ms.quantized)
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "%s: the model is int8; ONNX export writes "
                         "float models (export the float model it was quantized from)",
                         fn);
    return RN_OK;
}

rn_status rn_model_save_onnx_mem(const rn_model *m, void *buf, size_t cap, size_t *written) {
    static const char fn[] = "rn_model_save_onnx_mem";
    if (!m) return RN_E_INVALID_ARG;
    rn_ctx *ctx = rn__model_ctx(m);
    if (!written) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL written", fn);
    rn_status st = check_model(m, fn);
    if (st) return st;
    rn__pbw model;
    rn__pbw_init(&model, ctx);
    st = build(m, &model);
    if (!st && buf && cap < model.len)
        st = rn__error(ctx, RN_E_BUFFER_TOO_SMALL,
                       "%s: the graph needs %lu bytes, the buffer "
                       "has %lu",
                       fn, (unsigned long)model.len, (unsigned long)cap);
    if (!st) {
        if (buf) rn_memcpy(buf, model.buf, model.len);
        *written = model.len;
    }
    rn__pbw_free(&model);
    return st;
}

rn_status rn_model_save_onnx_file(const rn_model *m, const char *path) {
    static const char fn[] = "rn_model_save_onnx_file";
    if (!m) return RN_E_INVALID_ARG;
    rn_ctx *ctx = rn__model_ctx(m);
    if (!path) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL path", fn);
#ifdef RN_NO_IO
    return rn__error(ctx, RN_E_UNSUPPORTED, "%s: built without file I/O", fn);
#else
    rn_status st = check_model(m, fn);
    if (st) return st;
    rn__pbw model;
    rn__pbw_init(&model, ctx);
    st = build(m, &model);
    if (!st) {
        const void *chunks[1] = {model.buf};
        size_t sizes[1] = {model.len};
        st = rn__write_file_atomic(ctx, path, chunks, sizes, 1);
    }
    rn__pbw_free(&model);
    return st;
#endif
}
