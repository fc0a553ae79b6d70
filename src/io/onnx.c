/*
 * ONNX import: the ResNet graphs torch.onnx.export writes (torchvision's
 * resnet18...152, the CIFAR networks; opsets 11 to 17) mapped onto the model
 * builder. The file is read with the bounded protobuf reader (protobuf.h) in
 * two passes over the GraphProto (count, then fill flat arrays), names are
 * resolved through a hash table into value ids, and the graph is walked from
 * its input: stem, blocks (grouped into stages), head. Anything the walk does
 * not expect is refused with a sentence naming the node and its op; nothing
 * is built until the whole graph has been matched and every weight checked.
 */
#include "protobuf.h"
#include "../nn/nn.h"

#define MAX_FILE ((size_t)1 << (sizeof(size_t) > 4 ? 34 : 31))
#define MAX_NODES 65536
#define MAX_TENSORS 131072
#define MAX_NODE_IO 64 /* inputs or outputs of one node */
#define MAX_ATTR_INTS 16
#define MAX_BLOCKS 4096
#define MAX_ELEMENTS ((int64_t)1 << 31)
#define OPSET_MIN 11
#define OPSET_MAX 17

typedef struct sv {
    const char *s;
    size_t n;
} sv;

typedef struct otensor {
    sv name;
    int32_t dtype, ndim;
    int64_t dims[8];
    int64_t count;
    rn__pb msg;
    size_t offset;
} otensor;

typedef struct oattr {
    sv name, s;
    int has_f, has_i, has_ints, has_t;
    float f;
    int64_t i;
    int32_t nints;
    int64_t ints[MAX_ATTR_INTS];
    int32_t tensor;
} oattr;

typedef struct onode {
    sv op, name, domain;
    int32_t nin, nout, in0, out0, attr0, nattr;
    size_t offset;
    int used;
} onode;

typedef struct ovalue {
    sv name;
    int32_t producer; /* node index, -1 for graph inputs and tensors */
    int32_t tensor;   /* initializer / Constant tensor, or -1 */
    int32_t ncons, cons0;
    int32_t alias; /* an Identity's output: the value it stands for, else -1 */
    int is_input;
} ovalue;

typedef struct graph {
    rn_ctx *ctx;
    const char *src;
    const unsigned char *base;
    int64_t opset;
    int32_t nnodes, ntensors, nvalues, nin_total, nout_total, nattrs;
    onode *nodes;
    otensor *tensors;
    oattr *attrs;
    sv *in_names, *out_names;
    int32_t *in_ids, *out_ids; /* resolved value ids (-1 for "") */
    ovalue *values;
    int32_t *hash;
    size_t hash_cap;
    int32_t *cons;         /* consumer node lists, by value */
    int32_t input, output; /* graph input and output value ids */
    sv output_name;
    int32_t ninputs_declared, noutputs;
    sv input_names[64];
} graph;

/* ---- helpers ---------------------------------------------------------------- */
static int sv_eq(sv a, const char *b) {
    size_t n = rn_strlen(b);
    return a.n == n && rn_memcmp(a.s, b, n) == 0;
}
static int sv_same(sv a, sv b) { return a.n == b.n && (a.n == 0 || rn_memcmp(a.s, b.s, a.n) == 0); }
static int pn(sv a) { return a.n > 120 ? 120 : (int)a.n; } /* printed length */

static rn_status bad(graph *g, size_t at, const char *why, const char *what) {
    return rn__error(g->ctx, RN_E_BAD_FORMAT, "%s: malformed ONNX protobuf at byte %lu (%s): %s",
                     g->src, (unsigned long)at, what, why);
}

static rn_status node_err(graph *g, const onode *n, rn_status st, const char *why) {
    return rn__error(g->ctx, st, "%s: ONNX node '%.*s' (op %.*s): %s", g->src, pn(n->name),
                     n->name.s, pn(n->op), n->op.s, why);
}

/* ---- pass 1 and 2: the protobuf messages ---------------------------------------- */
/* The next field of r into f: 1, or 0 at the end of the message; a malformed
 * field gives -1 with *st the error, which names `what`. */
static int next_field(graph *g, rn__pb *r, rn__pb_field *f, const char *what, rn_status *st) {
    const char *why;
    size_t at;
    int rc = rn__pb_next(r, f, &why, &at);
    if (rc < 0) *st = bad(g, at, why, what);
    return rc;
}

/* The loop head of a message parser: the next field, or on to done_. */
#define NEXT(r, f, what)                                 \
    do {                                                 \
        rn_status st_ = RN_OK;                           \
        int rc_ = next_field(g, &(r), &(f), what, &st_); \
        if (rc_ < 0) return st_;                         \
        if (rc_ == 0) goto done_;                        \
    } while (0)

static rn_status need_bytes(graph *g, const rn__pb_field *f, const char *what) {
    return f->wire == RN_PB_BYTES ? RN_OK
                                  : bad(g, f->offset, "expected a length-delimited field", what);
}

static sv as_sv(const rn__pb_field *f) {
    sv s;
    s.s = (const char *)f->data;
    s.n = f->len;
    return s;
}

/* TensorProto: header only (the data is read when needed). */
static rn_status parse_tensor(graph *g, rn__pb r, otensor *t) {
    static const char what[] = "TensorProto";
    rn__pb_field f;
    size_t start = (size_t)(r.p - r.base);
    rn_memset(t, 0, sizeof *t);
    t->msg = r;
    t->offset = start;
    int has_type = 0;
    for (;;) {
        NEXT(r, f, what);
        switch (f.num) {
        case 1: { /* dims */
            int64_t k = rn__pb_packed_count(&f, RN_PB_VARINT);
            const unsigned char *cur = NULL;
            if (k < 0) return bad(g, f.offset, "bad dims", what);
            for (int64_t i = 0; i < k; i++) {
                if (t->ndim == 8) return bad(g, f.offset, "more than 8 dims", what);
                int64_t d = (int64_t)rn__pb_packed_get(&f, RN_PB_VARINT, i, &cur);
                if (d < 0 || d > MAX_ELEMENTS) return bad(g, f.offset, "dim out of range", what);
                t->dims[t->ndim++] = d;
            }
            break;
        }
        case 2:
            if (f.wire != RN_PB_VARINT) return bad(g, f.offset, "data_type is not a varint", what);
            t->dtype = (int32_t)(f.u > 1000 ? 1000 : f.u);
            has_type = 1;
            break;
        case 3:
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: tensor at byte %lu: segmented tensors "
                             "are not supported",
                             g->src, (unsigned long)f.offset);
        case 8:
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            t->name = as_sv(&f);
            break;
        case 13: break; /* external_data entries: refused through data_location below */
        case 14:
            if (f.u == 1)
                return rn__error(g->ctx, RN_E_UNSUPPORTED,
                                 "%s: tensor at byte %lu keeps its data "
                                 "in an external file, which is not supported (save the model "
                                 "with its weights inside)",
                                 g->src, (unsigned long)f.offset);
            break;
        default: break;
        }
    }
done_:
    if (!has_type) return bad(g, start, "tensor without a data_type", what);
    int64_t count = 1;
    for (int32_t i = 0; i < t->ndim; i++) {
        if (t->dims[i] && count > MAX_ELEMENTS / t->dims[i])
            return bad(g, start, "tensor has more than 2^31 elements", what);
        count *= t->dims[i];
    }
    t->count = count;
    return RN_OK;
}

static rn_status parse_attr(graph *g, rn__pb r, oattr *a) {
    static const char what[] = "AttributeProto";
    rn__pb_field f;
    rn_memset(a, 0, sizeof *a);
    a->tensor = -1;
    for (;;) {
        NEXT(r, f, what);
        switch (f.num) {
        case 1:
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            a->name = as_sv(&f);
            break;
        case 2:
            if (f.wire != RN_PB_FIXED32) return bad(g, f.offset, "f is not a 32-bit float", what);
            a->f = rn__f32_from_bits((uint32_t)f.u);
            a->has_f = 1;
            break;
        case 3:
            if (f.wire != RN_PB_VARINT) return bad(g, f.offset, "i is not a varint", what);
            a->i = (int64_t)f.u;
            a->has_i = 1;
            break;
        case 5:
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            if (g->tensors) { /* pass 2: the tensor slot was reserved in pass 1 */
                otensor *t = &g->tensors[g->ntensors];
                rn_status st = parse_tensor(g, rn__pb_sub(&r, &f), t);
                if (st) return st;
                a->tensor = g->ntensors++;
            }
            a->has_t = 1;
            break;
        case 8: {
            int64_t k = rn__pb_packed_count(&f, RN_PB_VARINT);
            const unsigned char *cur = NULL;
            if (k < 0) return bad(g, f.offset, "bad ints", what);
            for (int64_t i = 0; i < k; i++) {
                int64_t v = (int64_t)rn__pb_packed_get(&f, RN_PB_VARINT, i, &cur);
                if (a->nints < MAX_ATTR_INTS) a->ints[a->nints] = v;
                if (a->nints <= MAX_ATTR_INTS) a->nints++;
            }
            a->has_ints = 1;
            break;
        }
        case 4:
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            a->s = as_sv(&f);
            break;
        default: break; /* floats, graphs: not used by the ops mapped here */
        }
    }
done_:
    return RN_OK;
}

/* NodeProto. Pass 1 (g->nodes NULL) only counts. */
static rn_status parse_node(graph *g, rn__pb r, size_t offset) {
    static const char what[] = "NodeProto";
    rn__pb_field f;
    onode *n = g->nodes ? &g->nodes[g->nnodes] : NULL;
    int32_t nin = 0, nout = 0, nattr = 0;
    if (n) {
        rn_memset(n, 0, sizeof *n);
        n->in0 = g->nin_total;
        n->out0 = g->nout_total;
        n->attr0 = g->nattrs;
        n->offset = offset;
    }
    for (;;) {
        NEXT(r, f, what);
        /* every field read here (1-5, 7) is length-delimited */
        if ((f.num <= 5 || f.num == 7) && need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
        switch (f.num) {
        case 1:
        case 2:
            if ((f.num == 1 ? nin : nout) >= MAX_NODE_IO)
                return bad(g, f.offset, "more than 64 inputs or outputs", what);
            if (n) {
                if (f.num == 1)
                    g->in_names[g->nin_total + nin] = as_sv(&f);
                else
                    g->out_names[g->nout_total + nout] = as_sv(&f);
            }
            if (f.num == 1)
                nin++;
            else
                nout++;
            break;
        case 3:
            if (n) n->name = as_sv(&f);
            break;
        case 4:
            if (n) n->op = as_sv(&f);
            break;
        case 7:
            if (n) n->domain = as_sv(&f);
            break;
        case 5:
            if (n) {
                rn_status st = parse_attr(g, rn__pb_sub(&r, &f), &g->attrs[g->nattrs + nattr]);
                if (st) return st;
            } else {
                oattr tmp;
                rn_status st = parse_attr(g, rn__pb_sub(&r, &f), &tmp);
                if (st) return st;
                if (tmp.has_t) g->ntensors++;
            }
            nattr++;
            break;
        default: break;
        }
    }
done_:
    if (n) {
        n->nin = nin;
        n->nout = nout;
        n->nattr = nattr;
    }
    g->nin_total += nin;
    g->nout_total += nout;
    g->nattrs += nattr;
    return RN_OK;
}

/* ValueInfoProto: the name only. */
static rn_status value_info_name(graph *g, rn__pb r, sv *name) {
    static const char what[] = "ValueInfoProto";
    rn__pb_field f;
    name->s = "";
    name->n = 0;
    for (;;) {
        NEXT(r, f, what);
        if (f.num == 1) {
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            *name = as_sv(&f);
        }
    }
done_:
    return RN_OK;
}

static rn_status parse_graph(graph *g, rn__pb r) {
    static const char what[] = "GraphProto";
    rn__pb_field f;
    for (;;) {
        NEXT(r, f, what);
        switch (f.num) {
        case 1:
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            if (g->nnodes >= MAX_NODES)
                return rn__error(g->ctx, RN_E_UNSUPPORTED, "%s: more than %d ONNX nodes", g->src,
                                 MAX_NODES);
            {
                rn_status st = parse_node(g, rn__pb_sub(&r, &f), f.offset);
                if (st) return st;
            }
            g->nnodes++;
            break;
        case 5:
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            if (g->ntensors >= MAX_TENSORS)
                return rn__error(g->ctx, RN_E_UNSUPPORTED, "%s: more than %d ONNX initializers",
                                 g->src, MAX_TENSORS);
            if (g->tensors) {
                rn_status st = parse_tensor(g, rn__pb_sub(&r, &f), &g->tensors[g->ntensors]);
                if (st) return st;
                if (!g->tensors[g->ntensors].name.n)
                    return bad(g, f.offset, "initializer without a name", what);
            }
            g->ntensors++;
            break;
        case 11:
        case 12: {
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            sv name;
            rn_status st = value_info_name(g, rn__pb_sub(&r, &f), &name);
            if (st) return st;
            if (f.num == 11) {
                if (g->ninputs_declared < 64) g->input_names[g->ninputs_declared] = name;
                g->ninputs_declared++;
            } else {
                g->output_name = name;
                g->noutputs++;
            }
            break;
        }
        default: break;
        }
    }
done_:
    return RN_OK;
}

/* ---- name resolution ------------------------------------------------------------ */
static size_t hash_sv(sv s) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.n; i++) h = (h ^ (unsigned char)s.s[i]) * 1099511628211ull;
    return (size_t)h;
}

static int32_t find_value(const graph *g, sv name) {
    size_t mask = g->hash_cap - 1;
    for (size_t i = hash_sv(name) & mask;; i = (i + 1) & mask) {
        int32_t v = g->hash[i];
        if (v < 0) return -1;
        if (sv_same(g->values[v].name, name)) return v;
    }
}

/* A new value (or -1 when the name is already defined). */
static int32_t add_value(graph *g, sv name) {
    size_t mask = g->hash_cap - 1;
    size_t i = hash_sv(name) & mask;
    for (;; i = (i + 1) & mask) {
        int32_t v = g->hash[i];
        if (v < 0) break;
        if (sv_same(g->values[v].name, name)) return -1;
    }
    int32_t id = g->nvalues++;
    ovalue *v = &g->values[id];
    rn_memset(v, 0, sizeof *v);
    v->name = name;
    v->producer = -1;
    v->tensor = -1;
    v->alias = -1;
    g->hash[i] = id;
    return id;
}

static const oattr *attr(const graph *g, const onode *n, const char *name) {
    for (int32_t i = 0; i < n->nattr; i++)
        if (sv_eq(g->attrs[n->attr0 + i].name, name)) return &g->attrs[n->attr0 + i];
    return NULL;
}

static rn_status resolve(graph *g) {
    /* initializers (in order), then the graph input (the declared input
     * that is not an initializer), then node outputs in node order */
    for (int32_t t = 0; t < g->ntensors; t++) {
        if (!g->tensors[t].name.n) continue; /* Constant node values are named by their node */
        int32_t id = add_value(g, g->tensors[t].name);
        if (id < 0)
            return rn__error(g->ctx, RN_E_BAD_FORMAT,
                             "%s: ONNX initializer '%.*s' is defined "
                             "twice",
                             g->src, pn(g->tensors[t].name), g->tensors[t].name.s);
        g->values[id].tensor = t;
    }
    if (g->ninputs_declared > 64)
        return rn__error(g->ctx, RN_E_UNSUPPORTED,
                         "%s: the graph declares %ld inputs; a ResNet "
                         "has one",
                         g->src, (long)g->ninputs_declared);
    g->input = -1;
    for (int32_t i = 0; i < g->ninputs_declared; i++) {
        if (find_value(g, g->input_names[i]) >= 0) continue; /* an initializer listed as input */
        if (g->input >= 0)
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: the graph has more than one input "
                             "('%.*s' and '%.*s'); a ResNet has one",
                             g->src, pn(g->values[g->input].name), g->values[g->input].name.s,
                             pn(g->input_names[i]), g->input_names[i].s);
        g->input = add_value(g, g->input_names[i]);
        if (g->input < 0)
            return rn__error(g->ctx, RN_E_BAD_FORMAT,
                             "%s: ONNX graph input '%.*s' is declared "
                             "twice",
                             g->src, pn(g->input_names[i]), g->input_names[i].s);
        g->values[g->input].is_input = 1;
    }
    if (g->input < 0)
        return rn__error(g->ctx, RN_E_BAD_FORMAT, "%s: the ONNX graph has no input", g->src);
    if (g->noutputs != 1)
        return rn__error(g->ctx, RN_E_UNSUPPORTED,
                         "%s: the ONNX graph has %ld outputs; a ResNet "
                         "has one (the logits)",
                         g->src, (long)g->noutputs);
    for (int32_t k = 0; k < g->nnodes; k++) {
        onode *n = &g->nodes[k];
        if (n->domain.n && !sv_eq(n->domain, "ai.onnx"))
            return node_err(g, n, RN_E_UNSUPPORTED,
                            "operators outside the default ONNX domain "
                            "are not supported");
        for (int32_t i = 0; i < n->nin; i++) {
            sv name = g->in_names[n->in0 + i];
            int32_t id = -1;
            if (name.n) {
                id = find_value(g, name);
                if (id >= 0 && g->values[id].alias >= 0) id = g->values[id].alias;
                if (id < 0) {
                    char buf[200];
                    const char *pre = "input '";
                    size_t m = rn_strlen(pre);
                    rn_memcpy(buf, pre, m);
                    size_t c = name.n > 120 ? 120 : name.n;
                    rn_memcpy(buf + m, name.s, c);
                    rn_memcpy(buf + m + c, "' is not defined before the node", 33);
                    return node_err(g, n, RN_E_BAD_FORMAT, buf);
                }
            }
            g->in_ids[n->in0 + i] = id;
        }
        int identity = sv_eq(n->op, "Identity");
        int constant = sv_eq(n->op, "Constant");
        int32_t ctensor = -1;
        if (constant) {
            const oattr *a = attr(g, n, "value");
            if (!a || a->tensor < 0 || n->nout != 1)
                return node_err(g, n, RN_E_UNSUPPORTED,
                                "a Constant is read only with a tensor "
                                "'value' and one output");
            ctensor = a->tensor;
        }
        for (int32_t i = 0; i < n->nout; i++) {
            sv name = g->out_names[n->out0 + i];
            if (!name.n) {
                g->out_ids[n->out0 + i] = -1;
                continue;
            }
            if (identity && i == 0 && n->nin == 1 && g->in_ids[n->in0] >= 0) {
                int32_t id = add_value(g, name); /* an alias of the input's value */
                if (id < 0)
                    return node_err(g, n, RN_E_BAD_FORMAT, "its output name is already defined");
                g->values[id].alias = g->in_ids[n->in0];
                g->out_ids[n->out0 + i] = g->in_ids[n->in0];
                n->used = 1;
                continue;
            }
            int32_t id = add_value(g, name);
            if (id < 0)
                return node_err(g, n, RN_E_BAD_FORMAT, "its output name is already defined");
            g->values[id].producer = k;
            g->values[id].tensor = constant ? ctensor : -1;
            g->out_ids[n->out0 + i] = id;
        }
        if (constant) n->used = 1;
    }
    g->output = find_value(g, g->output_name);
    if (g->output >= 0 && g->values[g->output].alias >= 0) g->output = g->values[g->output].alias;
    if (g->output < 0)
        return rn__error(g->ctx, RN_E_BAD_FORMAT,
                         "%s: the ONNX graph output '%.*s' is not "
                         "produced by any node",
                         g->src, pn(g->output_name), g->output_name.s);
    /* consumers, as lists per value */
    for (int32_t k = 0; k < g->nnodes; k++) {
        const onode *n = &g->nodes[k];
        if (sv_eq(n->op, "Identity")) continue;
        for (int32_t i = 0; i < n->nin; i++)
            if (g->in_ids[n->in0 + i] >= 0) g->values[g->in_ids[n->in0 + i]].ncons++;
    }
    int32_t off = 0;
    for (int32_t v = 0; v < g->nvalues; v++) {
        g->values[v].cons0 = off;
        off += g->values[v].ncons;
        g->values[v].ncons = 0;
    }
    for (int32_t k = 0; k < g->nnodes; k++) {
        const onode *n = &g->nodes[k];
        if (sv_eq(n->op, "Identity")) continue;
        for (int32_t i = 0; i < n->nin; i++) {
            int32_t v = g->in_ids[n->in0 + i];
            if (v < 0) continue;
            ovalue *val = &g->values[v];
            /* a node reading one value twice is listed once */
            if (val->ncons && g->cons[val->cons0 + val->ncons - 1] == k) continue;
            g->cons[val->cons0 + val->ncons++] = k;
        }
    }
    return RN_OK;
}

static int32_t in_id_c(const graph *g, const onode *n, int32_t i) {
    return i < n->nin ? g->in_ids[n->in0 + i] : -1;
}

/* ---- tensor data ------------------------------------------------------------------ */
#define ONNX_FLOAT 1
#define ONNX_INT32 6
#define ONNX_INT64 7
#define ONNX_FLOAT16 10
#define ONNX_DOUBLE 11
#define ONNX_BFLOAT16 16

static const char *dtype_name(int32_t t) {
    static const char *names[] = {"UNDEFINED",  "FLOAT",   "UINT8",  "INT8",   "UINT16",
                                  "INT16",      "INT32",   "INT64",  "STRING", "BOOL",
                                  "FLOAT16",    "DOUBLE",  "UINT32", "UINT64", "COMPLEX64",
                                  "COMPLEX128", "BFLOAT16"};
    return t >= 0 && t <= 16 ? names[t] : NULL;
}

/* The tensor's elements as doubles into dst[count] (count must be its element count). */
static rn_status tensor_read(graph *g, const otensor *t, double *dst, int64_t count,
                             const char *what) {
    static const char wmsg[] = "TensorProto data";
    if (count != t->count)
        return rn__error(g->ctx, RN_E_BAD_FORMAT,
                         "%s: ONNX tensor '%.*s' (%s) has %lld elements, "
                         "%lld expected",
                         g->src, pn(t->name), t->name.s, what, (long long)t->count,
                         (long long)count);
    const char *tn = dtype_name(t->dtype);
    if (!tn)
        return rn__error(g->ctx, RN_E_BAD_FORMAT,
                         "%s: ONNX tensor '%.*s' (%s) has unknown data "
                         "type %ld",
                         g->src, pn(t->name), t->name.s, what, (long)t->dtype);
    size_t esize = t->dtype == ONNX_FLOAT                                    ? 4
                   : t->dtype == ONNX_DOUBLE                                 ? 8
                   : t->dtype == ONNX_INT64                                  ? 8
                   : t->dtype == ONNX_INT32                                  ? 4
                   : (t->dtype == ONNX_FLOAT16 || t->dtype == ONNX_BFLOAT16) ? 2
                                                                             : 0;
    if (!esize)
        return rn__error(g->ctx, RN_E_UNSUPPORTED,
                         "%s: ONNX tensor '%.*s' (%s) has data type %s, "
                         "not one this importer reads (FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT32, "
                         "INT64)",
                         g->src, pn(t->name), t->name.s, what, tn);
    rn__pb r = t->msg;
    rn__pb_field f;
    int64_t got = 0;
    int sources = 0;
    for (;;) {
        rn_status st = RN_OK;
        int rc = next_field(g, &r, &f, wmsg, &st);
        if (rc < 0) return st;
        if (rc == 0) break;
        uint32_t ew;
        int field_ok;
        switch (f.num) {
        case 9: /* raw_data */
            if (f.wire != RN_PB_BYTES) return bad(g, f.offset, "raw_data is not bytes", wmsg);
            if (sources || got)
                return rn__error(g->ctx, RN_E_BAD_FORMAT,
                                 "%s: ONNX tensor '%.*s' (%s) holds its "
                                 "data twice (raw_data and another field)",
                                 g->src, pn(t->name), t->name.s, what);
            if (f.len != (size_t)count * esize)
                return rn__error(g->ctx, RN_E_BAD_FORMAT,
                                 "%s: ONNX tensor '%.*s' (%s): raw_data "
                                 "holds %lu bytes, %lld elements of %s need %llu",
                                 g->src, pn(t->name), t->name.s, what, (unsigned long)f.len,
                                 (long long)count, tn, (unsigned long long)count * esize);
            for (int64_t i = 0; i < count; i++) {
                const unsigned char *p = f.data + (size_t)i * esize;
                double v;
                switch (t->dtype) {
                case ONNX_FLOAT: v = rn__f32_from_bits(rn__le32(p)); break;
                case ONNX_DOUBLE: {
                    uint64_t u = rn__le64(p);
                    rn_memcpy(&v, &u, sizeof v);
                    break;
                }
                case ONNX_INT64: v = (double)(int64_t)rn__le64(p); break;
                case ONNX_INT32: v = (double)(int32_t)rn__le32(p); break;
                case ONNX_FLOAT16: v = rn__f16_to_f32(rn__le16(p)); break;
                default: v = rn__bf16_to_f32(rn__le16(p)); break;
                }
                dst[i] = v;
            }
            got = count;
            sources = 1;
            continue;
        case 4:
            ew = RN_PB_FIXED32;
            field_ok = t->dtype == ONNX_FLOAT;
            break;
        case 10:
            ew = RN_PB_FIXED64;
            field_ok = t->dtype == ONNX_DOUBLE;
            break;
        case 7:
            ew = RN_PB_VARINT;
            field_ok = t->dtype == ONNX_INT64;
            break;
        case 5:
            ew = RN_PB_VARINT;
            field_ok =
                t->dtype == ONNX_INT32 || t->dtype == ONNX_FLOAT16 || t->dtype == ONNX_BFLOAT16;
            break;
        default: continue;
        }
        if (!field_ok)
            return rn__error(g->ctx, RN_E_BAD_FORMAT,
                             "%s: ONNX tensor '%.*s' (%s): data field %lu "
                             "does not hold %s values",
                             g->src, pn(t->name), t->name.s, what, (unsigned long)f.num, tn);
        int64_t k = rn__pb_packed_count(&f, ew);
        if (k < 0) return bad(g, f.offset, "malformed packed values", wmsg);
        if (got > count || k > count - got)
            return rn__error(g->ctx, RN_E_BAD_FORMAT,
                             "%s: ONNX tensor '%.*s' (%s) holds more than "
                             "its %lld elements",
                             g->src, pn(t->name), t->name.s, what, (long long)count);
        const unsigned char *cur = NULL;
        for (int64_t i = 0; i < k; i++) {
            uint64_t u = rn__pb_packed_get(&f, ew, i, &cur);
            double v;
            switch (t->dtype) {
            case ONNX_FLOAT: v = rn__f32_from_bits((uint32_t)u); break;
            case ONNX_DOUBLE: rn_memcpy(&v, &u, sizeof v); break;
            case ONNX_INT64: v = (double)(int64_t)u; break;
            case ONNX_INT32: v = (double)(int32_t)(uint32_t)u; break;
            case ONNX_FLOAT16: v = rn__f16_to_f32((uint16_t)u); break;
            default: v = rn__bf16_to_f32((uint16_t)u); break;
            }
            dst[got + i] = v;
        }
        if (sources && k)
            got = count + 1; /* raw_data and typed values: refused below */
        else
            got += k;
    }
    if (got != count)
        return rn__error(g->ctx, RN_E_BAD_FORMAT,
                         "%s: ONNX tensor '%.*s' (%s) holds %lld values "
                         "for its %lld elements",
                         g->src, pn(t->name), t->name.s, what, (long long)got, (long long)count);
    return RN_OK;
}

/* ---- small constant expressions (the pads torch computes for F.pad) ---------------------
 * Integer tensors of at most 64 elements and 4 dims, evaluated through the
 * few shape ops exporters use (ConstantOfShape, Concat, Reshape, Slice,
 * Transpose, Cast) with a depth limit instead of unbounded recursion. */
#define SMALL_MAX 64
#define EVAL_DEPTH 32

typedef struct small {
    int32_t ndim;
    int64_t dims[4];
    int64_t n;
    int64_t v[SMALL_MAX];
} small;

static rn_status tensor_small(graph *g, const otensor *t, small *out, const char *what) {
    if (t->ndim > 4 || t->count > SMALL_MAX)
        return rn__error(g->ctx, RN_E_UNSUPPORTED,
                         "%s: ONNX tensor '%.*s' (%s) is larger than "
                         "the constant expressions this importer evaluates",
                         g->src, pn(t->name), t->name.s, what);
    out->ndim = t->ndim;
    for (int32_t i = 0; i < t->ndim; i++) out->dims[i] = t->dims[i];
    out->n = t->count;
    if (t->dtype == ONNX_INT64 || t->dtype == ONNX_INT32) {
        /* exact integers: raw little-endian or the typed varint fields */
        rn__pb r = t->msg;
        rn__pb_field f;
        int64_t got = 0;
        size_t es = t->dtype == ONNX_INT64 ? 8 : 4;
        for (;;) {
            rn_status st = RN_OK;
            int rc = next_field(g, &r, &f, "TensorProto data", &st);
            if (rc < 0) return st;
            if (rc == 0) break;
            if (f.num == 9 && f.wire == RN_PB_BYTES) {
                if (got || f.len != (size_t)t->count * es) {
                    got = -1;
                    break;
                }
                for (int64_t i = 0; i < t->count; i++)
                    out->v[i] = es == 8 ? (int64_t)rn__le64(f.data + 8 * i)
                                        : (int64_t)(int32_t)rn__le32(f.data + 4 * i);
                got = t->count;
            } else if ((f.num == 7 && es == 8) || (f.num == 5 && es == 4)) {
                int64_t k = rn__pb_packed_count(&f, RN_PB_VARINT);
                const unsigned char *cur = NULL;
                if (k < 0 || k > t->count - got) {
                    got = -1;
                    break;
                }
                for (int64_t i = 0; i < k; i++) {
                    uint64_t u = rn__pb_packed_get(&f, RN_PB_VARINT, i, &cur);
                    out->v[got + i] = es == 8 ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u;
                }
                got += k;
            }
        }
        if (got != t->count)
            return rn__error(g->ctx, RN_E_BAD_FORMAT,
                             "%s: ONNX tensor '%.*s' (%s): its data does "
                             "not hold its %lld elements",
                             g->src, pn(t->name), t->name.s, what, (long long)t->count);
        return RN_OK;
    }
    double d[SMALL_MAX];
    rn_status st = tensor_read(g, t, d, t->count, what);
    if (st) return st;
    for (int64_t i = 0; i < t->count; i++) {
        if (!(d[i] > -1e15 && d[i] < 1e15))
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: ONNX tensor '%.*s' (%s): a value is "
                             "not an integer",
                             g->src, pn(t->name), t->name.s, what);
        out->v[i] = (int64_t)d[i];
        if ((double)out->v[i] != d[i])
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: ONNX tensor '%.*s' (%s): a value is "
                             "not an integer",
                             g->src, pn(t->name), t->name.s, what);
    }
    return RN_OK;
}

/* out = in gathered along each axis by idx[axis] (lists of source indices). */
static rn_status gather(graph *g, const onode *n, const small *in, int64_t idx[4][SMALL_MAX],
                        const int64_t *len, const int32_t *perm, small *out) {
    int64_t count = 1;
    for (int32_t k = 0; k < in->ndim; k++) {
        if (len[perm[k]] && count > SMALL_MAX / len[perm[k]])
            return node_err(g, n, RN_E_UNSUPPORTED,
                            "the result is too large for a constant "
                            "expression");
        count *= len[perm[k]];
    }
    if (count > SMALL_MAX)
        return node_err(g, n, RN_E_UNSUPPORTED,
                        "the result is too large for a constant expression");
    int64_t stride[4];
    int64_t sacc = 1;
    for (int32_t k = in->ndim - 1; k >= 0; k--) {
        stride[k] = sacc;
        sacc *= in->dims[k];
    }
    small r;
    r.ndim = in->ndim;
    for (int32_t k = 0; k < in->ndim; k++) r.dims[k] = len[perm[k]];
    r.n = count;
    for (int64_t o = 0; o < count; o++) {
        int64_t rem = o, src = 0;
        for (int32_t k = in->ndim - 1; k >= 0; k--) {
            int64_t i = r.dims[k] ? rem % r.dims[k] : 0;
            rem = r.dims[k] ? rem / r.dims[k] : 0;
            src += idx[perm[k]][i] * stride[perm[k]];
        }
        r.v[o] = in->v[src];
    }
    *out = r;
    return RN_OK;
}

static rn_status eval_const(graph *g, int32_t v, small *out, int depth);

static rn_status eval_input(graph *g, const onode *n, int32_t i, small *out, int depth) {
    int32_t v = in_id_c(g, n, i);
    if (v < 0) return node_err(g, n, RN_E_UNSUPPORTED, "a needed input is missing");
    return eval_const(g, v, out, depth + 1);
}

static rn_status eval_const(graph *g, int32_t v, small *out, int depth) {
    if (depth > EVAL_DEPTH)
        return rn__error(g->ctx, RN_E_UNSUPPORTED,
                         "%s: a constant expression deeper than %d "
                         "nodes",
                         g->src, EVAL_DEPTH);
    const ovalue *val = &g->values[v];
    if (val->tensor >= 0) return tensor_small(g, &g->tensors[val->tensor], out, "constant");
    if (val->producer < 0)
        return rn__error(g->ctx, RN_E_UNSUPPORTED, "%s: ONNX value '%.*s' should be a constant",
                         g->src, pn(val->name), val->name.s);
    onode *n = &g->nodes[val->producer];
    rn_status st;
    small a, b;
    n->used = 1;
    if (n->nout != 1) return node_err(g, n, RN_E_UNSUPPORTED, "one output expected");
    if (sv_eq(n->op, "Cast")) return eval_input(g, n, 0, out, depth);
    if (sv_eq(n->op, "ConstantOfShape")) {
        if ((st = eval_input(g, n, 0, &a, depth))) return st;
        int64_t count = 1;
        if (a.ndim != 1 || a.n > 4) return node_err(g, n, RN_E_UNSUPPORTED, "a shape of 1-4 dims");
        for (int64_t i = 0; i < a.n; i++) {
            if (a.v[i] < 0 || a.v[i] > SMALL_MAX || count * a.v[i] > SMALL_MAX)
                return node_err(g, n, RN_E_UNSUPPORTED, "too large for a constant expression");
            count *= a.v[i];
        }
        int64_t fill = 0;
        const oattr *va = attr(g, n, "value");
        if (va && va->tensor >= 0) {
            if ((st = tensor_small(g, &g->tensors[va->tensor], &b, "ConstantOfShape value")))
                return st;
            if (b.n != 1) return node_err(g, n, RN_E_BAD_FORMAT, "value must hold one element");
            fill = b.v[0];
        }
        out->ndim = (int32_t)a.n;
        for (int64_t i = 0; i < a.n; i++) out->dims[i] = a.v[i];
        out->n = count;
        for (int64_t i = 0; i < count; i++) out->v[i] = fill;
        return RN_OK;
    }
    if (sv_eq(n->op, "Concat")) {
        const oattr *ax = attr(g, n, "axis");
        if (!ax || !(ax->i == 0 || ax->i == -1))
            return node_err(g, n, RN_E_UNSUPPORTED, "only 1-D constants are concatenated");
        small r;
        r.ndim = 1;
        r.n = 0;
        for (int32_t i = 0; i < n->nin; i++) {
            if ((st = eval_input(g, n, i, &a, depth))) return st;
            if (a.ndim != 1 || a.n > SMALL_MAX - r.n)
                return node_err(g, n, RN_E_UNSUPPORTED,
                                "only short 1-D constants are "
                                "concatenated");
            for (int64_t j = 0; j < a.n; j++) r.v[r.n++] = a.v[j];
        }
        r.dims[0] = r.n;
        *out = r;
        return RN_OK;
    }
    if (sv_eq(n->op, "Reshape")) {
        if ((st = eval_input(g, n, 0, &a, depth)) || (st = eval_input(g, n, 1, &b, depth)))
            return st;
        if (b.ndim != 1 || b.n < 1 || b.n > 4)
            return node_err(g, n, RN_E_UNSUPPORTED, "the shape must have 1 to 4 values");
        int64_t known = 1, infer = -1;
        for (int64_t i = 0; i < b.n; i++) {
            int64_t d = b.v[i];
            if (d == 0) d = i < a.ndim ? a.dims[i] : -2;
            if (d == -1 && infer < 0) {
                infer = i;
                continue;
            }
            if (d < 0 || d > SMALL_MAX) return node_err(g, n, RN_E_BAD_FORMAT, "bad shape");
            out->dims[i] = d;
            known *= d;
        }
        if (infer >= 0) {
            if (known == 0 || a.n % known) return node_err(g, n, RN_E_BAD_FORMAT, "bad shape");
            out->dims[infer] = a.n / known;
            known = a.n;
        }
        if (known != a.n) return node_err(g, n, RN_E_BAD_FORMAT, "the shape does not fit the data");
        out->ndim = (int32_t)b.n;
        out->n = a.n;
        for (int64_t i = 0; i < a.n; i++) out->v[i] = a.v[i];
        return RN_OK;
    }
    if (sv_eq(n->op, "Transpose")) {
        if ((st = eval_input(g, n, 0, &a, depth))) return st;
        int32_t perm[4];
        const oattr *pa = attr(g, n, "perm");
        for (int32_t k = 0; k < a.ndim; k++) perm[k] = a.ndim - 1 - k;
        if (pa) {
            int used[4] = {0, 0, 0, 0};
            if (pa->nints != a.ndim) return node_err(g, n, RN_E_BAD_FORMAT, "bad perm");
            for (int32_t k = 0; k < a.ndim; k++) {
                if (pa->ints[k] < 0 || pa->ints[k] >= a.ndim || used[pa->ints[k]])
                    return node_err(g, n, RN_E_BAD_FORMAT, "bad perm");
                used[pa->ints[k]] = 1;
                perm[k] = (int32_t)pa->ints[k];
            }
        }
        int64_t idx[4][SMALL_MAX], len[4];
        for (int32_t k = 0; k < a.ndim; k++) {
            len[k] = a.dims[k];
            for (int64_t i = 0; i < a.dims[k]; i++) idx[k][i] = i;
        }
        return gather(g, n, &a, idx, len, perm, out);
    }
    if (sv_eq(n->op, "Slice")) {
        small starts, ends, axes, steps;
        if (n->nin < 3)
            return node_err(g, n, RN_E_UNSUPPORTED,
                            "Slice with starts and ends "
                            "inputs (opset 10 and later)");
        if ((st = eval_input(g, n, 0, &a, depth)) || (st = eval_input(g, n, 1, &starts, depth)) ||
            (st = eval_input(g, n, 2, &ends, depth)))
            return st;
        if (starts.n != ends.n || starts.n > a.ndim)
            return node_err(g, n, RN_E_BAD_FORMAT, "starts and ends differ in length");
        axes.n = steps.n = starts.n;
        for (int64_t i = 0; i < starts.n; i++) {
            axes.v[i] = i;
            steps.v[i] = 1;
        }
        if (n->nin > 3 && in_id_c(g, n, 3) >= 0 && (st = eval_input(g, n, 3, &axes, depth)))
            return st;
        if (n->nin > 4 && in_id_c(g, n, 4) >= 0 && (st = eval_input(g, n, 4, &steps, depth)))
            return st;
        if (axes.n != starts.n || steps.n != starts.n)
            return node_err(g, n, RN_E_BAD_FORMAT, "axes or steps differ in length");
        int64_t idx[4][SMALL_MAX], len[4];
        int32_t perm[4] = {0, 1, 2, 3};
        for (int32_t k = 0; k < a.ndim; k++) {
            len[k] = a.dims[k];
            for (int64_t i = 0; i < a.dims[k]; i++) idx[k][i] = i;
        }
        for (int64_t j = 0; j < starts.n; j++) {
            int64_t ax = axes.v[j] < 0 ? axes.v[j] + a.ndim : axes.v[j];
            int64_t step = steps.v[j], d = ax >= 0 && ax < a.ndim ? a.dims[ax] : 0;
            if (ax < 0 || ax >= a.ndim || step == 0 || step < -SMALL_MAX || step > SMALL_MAX)
                return node_err(g, n, RN_E_BAD_FORMAT, "bad axis or step");
            int64_t s0 = starts.v[j], e0 = ends.v[j];
            if (s0 < 0) s0 = s0 < -d ? 0 : s0 + d;
            if (e0 < 0) e0 = e0 < -d ? -1 : e0 + d;
            if (step > 0) {
                s0 = s0 > d ? d : s0 < 0 ? 0 : s0;
                e0 = e0 > d ? d : e0 < 0 ? 0 : e0;
            } else {
                s0 = s0 > d - 1 ? d - 1 : s0;
                e0 = e0 > d - 1 ? d - 1 : e0;
                if (ends.v[j] < -d) e0 = -1;
            }
            len[ax] = 0;
            for (int64_t i = s0; step > 0 ? i < e0 : i > e0; i += step) idx[ax][len[ax]++] = i;
        }
        return gather(g, n, &a, idx, len, perm, out);
    }
    return node_err(g, n, RN_E_UNSUPPORTED,
                    "not part of a ResNet this importer maps (it "
                    "evaluates only small constant shape expressions here)");
}

/* ---- matching the ResNet structure --------------------------------------------------- */
typedef struct conv_rec {
    int32_t node, bn; /* node indices (bn -1 when folded) */
    int32_t w, b;     /* tensor indices (b -1 without bias) */
    int32_t scale, bias, mean, var;
    double eps;
    int32_t out, in, k, stride, pad;
    int32_t y; /* value id of the output (after the BN) */
} conv_rec;

typedef struct block_rec {
    int32_t type, nconv, has_proj, stride, in_ch, out_ch, width, stride_on_1x1, option_a;
    int32_t a_stride, a_lo, a_hi;
    conv_rec c[3], proj;
} block_rec;

typedef struct match {
    conv_rec stem;
    int32_t max_pool, in_channels;
    int32_t nblocks;
    block_rec *blocks;
    int32_t fc_w, fc_b, fc_trans, classes, features;
} match;

static const onode *sole_consumer(graph *g, int32_t v) {
    const ovalue *val = &g->values[v];
    if (val->ncons != 1) return NULL;
    return &g->nodes[g->cons[val->cons0]];
}

static int32_t in_id(const graph *g, const onode *n, int32_t i) {
    return i < n->nin ? g->in_ids[n->in0 + i] : -1;
}
static int32_t out_id(const graph *g, const onode *n, int32_t i) {
    return i < n->nout ? g->out_ids[n->out0 + i] : -1;
}
static int32_t const_tensor(const graph *g, int32_t v) { return v >= 0 ? g->values[v].tensor : -1; }

static rn_status one_output(graph *g, const onode *n) {
    if (n->nout < 1 || out_id(g, n, 0) < 0)
        return node_err(g, n, RN_E_BAD_FORMAT, "it has no output");
    for (int32_t i = 1; i < n->nout; i++) {
        int32_t v = out_id(g, n, i);
        if (v >= 0 && g->values[v].ncons)
            return node_err(g, n, RN_E_UNSUPPORTED, "only its first output may be used");
    }
    return RN_OK;
}

/* ints attribute with a default of `count` copies of def; refuses other lengths. */
static rn_status ints_attr(graph *g, const onode *n, const char *name, int32_t count, int64_t def,
                           int64_t *out) {
    const oattr *a = attr(g, n, name);
    for (int32_t i = 0; i < count; i++) out[i] = def;
    if (!a) return RN_OK;
    if (!a->has_ints || a->nints != count) {
        char buf[120];
        rn__concat(buf, sizeof buf, name, ": unexpected number of values");
        return node_err(g, n, RN_E_UNSUPPORTED, buf);
    }
    for (int32_t i = 0; i < count; i++) out[i] = a->ints[i];
    return RN_OK;
}

static rn_status check_no_auto_pad(graph *g, const onode *n) {
    const oattr *a = attr(g, n, "auto_pad");
    if (a && !sv_eq(a->s, "NOTSET"))
        return node_err(g, n, RN_E_UNSUPPORTED, "auto_pad is not supported (explicit pads only)");
    return RN_OK;
}

/* Conv [+ BatchNormalization] starting at node n reading value x. */
static rn_status match_conv(graph *g, const onode *n, int32_t x, conv_rec *c) {
    rn_memset(c, 0, sizeof *c);
    c->bn = c->b = c->scale = c->bias = c->mean = c->var = -1;
    c->node = (int32_t)(n - g->nodes);
    if (!sv_eq(n->op, "Conv"))
        return node_err(g, n, RN_E_UNSUPPORTED, "expected a Conv here (a ResNet convolution)");
    if (in_id(g, n, 0) != x) return node_err(g, n, RN_E_UNSUPPORTED, "unexpected data input");
    if (n->nin < 2 || n->nin > 3)
        return node_err(g, n, RN_E_BAD_FORMAT, "Conv takes 2 or 3 inputs");
    rn_status st = one_output(g, n);
    if (st) return st;
    c->w = const_tensor(g, in_id(g, n, 1));
    if (c->w < 0) return node_err(g, n, RN_E_UNSUPPORTED, "its weight is not a constant tensor");
    if (n->nin == 3 && in_id(g, n, 2) >= 0) {
        c->b = const_tensor(g, in_id(g, n, 2));
        if (c->b < 0) return node_err(g, n, RN_E_UNSUPPORTED, "its bias is not a constant tensor");
    }
    const otensor *w = &g->tensors[c->w];
    if (w->ndim != 4 || w->dims[2] != w->dims[3] || w->dims[0] < 1 || w->dims[1] < 1 ||
        w->dims[0] > 65536 || w->dims[1] > 65536 || w->dims[2] < 1 || w->dims[2] > 64)
        return node_err(g, n, RN_E_UNSUPPORTED,
                        "its weight is not [out, in, k, k] with a square "
                        "kernel of at most 64");
    if (c->b >= 0 && (g->tensors[c->b].ndim != 1 || g->tensors[c->b].dims[0] != w->dims[0]))
        return node_err(g, n, RN_E_BAD_FORMAT,
                        "its bias does not have one value per output "
                        "channel");
    int64_t ks[2], strides[2], pads[4], dil[2], group;
    if ((st = ints_attr(g, n, "kernel_shape", 2, w->dims[2], ks)) ||
        (st = ints_attr(g, n, "strides", 2, 1, strides)) ||
        (st = ints_attr(g, n, "pads", 4, 0, pads)) ||
        (st = ints_attr(g, n, "dilations", 2, 1, dil)) || (st = check_no_auto_pad(g, n)))
        return st;
    const oattr *ga = attr(g, n, "group");
    group = ga ? ga->i : 1;
    if (ks[0] != w->dims[2] || ks[1] != w->dims[3])
        return node_err(g, n, RN_E_BAD_FORMAT, "kernel_shape differs from the weight's");
    if (group != 1)
        return node_err(g, n, RN_E_UNSUPPORTED, "grouped convolutions are not ResNet's");
    if (dil[0] != 1 || dil[1] != 1)
        return node_err(g, n, RN_E_UNSUPPORTED, "dilated convolutions are not supported");
    if (strides[0] != strides[1] || strides[0] < 1 || strides[0] > 64)
        return node_err(g, n, RN_E_UNSUPPORTED, "strides must be equal, in [1, 64]");
    if (pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3] || pads[0] < 0 ||
        pads[0] >= w->dims[2])
        return node_err(g, n, RN_E_UNSUPPORTED,
                        "pads must be equal on every side and smaller "
                        "than the kernel");
    c->out = (int32_t)w->dims[0];
    c->in = (int32_t)w->dims[1];
    c->k = (int32_t)w->dims[2];
    c->stride = (int32_t)strides[0];
    c->pad = (int32_t)pads[0];
    c->y = out_id(g, n, 0);
    g->nodes[c->node].used = 1;
    const onode *b = sole_consumer(g, c->y);
    if (b && sv_eq(b->op, "BatchNormalization")) {
        if (in_id(g, b, 0) != c->y || b->nin != 5)
            return node_err(g, b, RN_E_UNSUPPORTED, "expected X, scale, B, mean, var inputs");
        if ((st = one_output(g, b))) return st;
        const oattr *tm = attr(g, b, "training_mode");
        if (tm && tm->i)
            return node_err(g, b, RN_E_UNSUPPORTED,
                            "training_mode batch norm is not an "
                            "inference graph");
        int32_t *dst[4] = {&c->scale, &c->bias, &c->mean, &c->var};
        for (int32_t i = 0; i < 4; i++) {
            *dst[i] = const_tensor(g, in_id(g, b, i + 1));
            if (*dst[i] < 0)
                return node_err(g, b, RN_E_UNSUPPORTED, "its parameters are not constant tensors");
            const otensor *t = &g->tensors[*dst[i]];
            if (t->ndim != 1 || t->dims[0] != c->out)
                return node_err(g, b, RN_E_BAD_FORMAT,
                                "a parameter does not have one value per "
                                "channel");
        }
        const oattr *e = attr(g, b, "epsilon");
        c->eps = e && e->has_f ? e->f : 1e-5;
        if (!(c->eps >= 0) || c->eps > 1)
            return node_err(g, b, RN_E_BAD_FORMAT, "epsilon outside [0, 1]");
        c->bn = (int32_t)(b - g->nodes);
        g->nodes[c->bn].used = 1;
        c->y = out_id(g, b, 0);
    }
    return RN_OK;
}

static rn_status expect_relu(graph *g, int32_t x, int32_t *y, const onode *from) {
    const onode *r = sole_consumer(g, x);
    if (!r) return node_err(g, from, RN_E_UNSUPPORTED, "its output should feed one Relu");
    if (!sv_eq(r->op, "Relu")) return node_err(g, r, RN_E_UNSUPPORTED, "expected a Relu here");
    rn_status st = one_output(g, r);
    if (st) return st;
    g->nodes[r - g->nodes].used = 1;
    *y = out_id(g, r, 0);
    return RN_OK;
}

/* The head from value x: GlobalAveragePool / ReduceMean, Flatten / Reshape, Gemm / MatMul [+Add]. */
static rn_status match_head(graph *g, const onode *pool, int32_t x, int32_t channels, match *m) {
    rn_status st;
    if ((st = one_output(g, pool))) return st;
    if (in_id(g, pool, 0) != x) return node_err(g, pool, RN_E_UNSUPPORTED, "unexpected input");
    int keep = 1;
    if (sv_eq(pool->op, "ReduceMean")) {
        const oattr *ax = attr(g, pool, "axes");
        const oattr *kd = attr(g, pool, "keepdims");
        if (!ax || ax->nints != 2 ||
            !((ax->ints[0] == 2 || ax->ints[0] == -2) && (ax->ints[1] == 3 || ax->ints[1] == -1)))
            return node_err(g, pool, RN_E_UNSUPPORTED,
                            "a ReduceMean is read only over axes "
                            "[2, 3] (the global average pool)");
        if (pool->nin != 1)
            return node_err(g, pool, RN_E_UNSUPPORTED, "axes must be an attribute (opset < 18)");
        keep = kd ? kd->i != 0 : 1;
    }
    g->nodes[pool - g->nodes].used = 1;
    int32_t v = out_id(g, pool, 0);
    const onode *n = sole_consumer(g, v);
    if (!n) return node_err(g, pool, RN_E_UNSUPPORTED, "its output should feed one node");
    if (sv_eq(n->op, "Flatten") || sv_eq(n->op, "Reshape")) {
        if ((st = one_output(g, n))) return st;
        if (sv_eq(n->op, "Flatten")) {
            const oattr *a = attr(g, n, "axis");
            if (a && a->i != 1) return node_err(g, n, RN_E_UNSUPPORTED, "axis must be 1");
        } else {
            int32_t t = const_tensor(g, in_id(g, n, 1));
            if (t < 0 || g->tensors[t].ndim != 1 || g->tensors[t].dims[0] != 2)
                return node_err(g, n, RN_E_UNSUPPORTED,
                                "the shape must be a constant of 2 "
                                "values");
            double shape[2];
            if ((st = tensor_read(g, &g->tensors[t], shape, 2, "Reshape shape"))) return st;
            if (!(shape[1] == -1 || shape[1] == channels) || !(shape[0] >= -1))
                return node_err(g, n, RN_E_UNSUPPORTED,
                                "the shape must be [N, features] or "
                                "[N, -1]");
        }
        g->nodes[n - g->nodes].used = 1;
        v = out_id(g, n, 0);
        n = sole_consumer(g, v);
        if (!n)
            return node_err(g, pool, RN_E_UNSUPPORTED,
                            "the flattened features should feed "
                            "one Gemm or MatMul");
    } else if (keep) {
        return node_err(g, n, RN_E_UNSUPPORTED, "expected Flatten or Reshape after the pooling");
    }
    if ((st = one_output(g, n))) return st;
    m->fc_b = -1;
    if (sv_eq(n->op, "Gemm")) {
        const oattr *ta = attr(g, n, "transA"), *tb = attr(g, n, "transB");
        const oattr *al = attr(g, n, "alpha"), *be = attr(g, n, "beta");
        if ((ta && ta->i) || (al && al->f != 1.0f) || (be && be->f != 1.0f))
            return node_err(g, n, RN_E_UNSUPPORTED, "only transA = 0, alpha = beta = 1");
        m->fc_trans = tb && tb->i ? 0 : 1; /* 0: weight stored [classes, features] */
        if (in_id(g, n, 0) != v) return node_err(g, n, RN_E_UNSUPPORTED, "unexpected input");
        m->fc_w = const_tensor(g, in_id(g, n, 1));
        if (n->nin >= 3 && in_id(g, n, 2) >= 0) {
            m->fc_b = const_tensor(g, in_id(g, n, 2));
            if (m->fc_b < 0) return node_err(g, n, RN_E_UNSUPPORTED, "its bias is not constant");
        }
    } else if (sv_eq(n->op, "MatMul")) {
        m->fc_trans = 1;
        if (in_id(g, n, 0) != v) return node_err(g, n, RN_E_UNSUPPORTED, "unexpected input");
        m->fc_w = const_tensor(g, in_id(g, n, 1));
    } else {
        return node_err(g, n, RN_E_UNSUPPORTED, "expected Gemm or MatMul (the fc layer)");
    }
    if (m->fc_w < 0) return node_err(g, n, RN_E_UNSUPPORTED, "its weight is not constant");
    const otensor *w = &g->tensors[m->fc_w];
    if (w->ndim != 2) return node_err(g, n, RN_E_BAD_FORMAT, "its weight is not 2-D");
    int64_t features = m->fc_trans ? w->dims[0] : w->dims[1];
    int64_t classes = m->fc_trans ? w->dims[1] : w->dims[0];
    if (features != channels)
        return node_err(g, n, RN_E_BAD_FORMAT,
                        "its weight does not take the pooled features "
                        "(a different channel count)");
    if (classes < 1 || classes > 1000000)
        return node_err(g, n, RN_E_UNSUPPORTED, "the class count is outside [1, 1000000]");
    m->classes = (int32_t)classes;
    m->features = (int32_t)features;
    g->nodes[n - g->nodes].used = 1;
    v = out_id(g, n, 0);
    if (sv_eq(n->op, "MatMul") && v != g->output) {
        const onode *a = sole_consumer(g, v);
        if (!a || !sv_eq(a->op, "Add"))
            return node_err(g, n, RN_E_UNSUPPORTED, "expected the logits or an Add of the bias");
        if ((st = one_output(g, a))) return st;
        int32_t other = in_id(g, a, 0) == v ? in_id(g, a, 1) : in_id(g, a, 0);
        m->fc_b = const_tensor(g, other);
        if (m->fc_b < 0) return node_err(g, a, RN_E_UNSUPPORTED, "the bias is not constant");
        g->nodes[a - g->nodes].used = 1;
        v = out_id(g, a, 0);
    }
    if (m->fc_b >= 0) {
        const otensor *b = &g->tensors[m->fc_b];
        if (b->count != classes)
            return node_err(g, n, RN_E_BAD_FORMAT,
                            "the fc bias does not have one value per "
                            "class");
    }
    if (v != g->output)
        return node_err(g, n, RN_E_UNSUPPORTED, "the fc output is not the graph output");
    return RN_OK;
}

/* Option A from the block input x: Slice(s) taking every s-th row and column,
 * then a constant zero Pad of the channels; *y receives the Pad's output. */
static rn_status match_option_a(graph *g, const onode *n, int32_t x, block_rec *b, int32_t *y) {
    rn_status st;
    int64_t step[2] = {1, 1};
    int32_t cur = x;
    for (int32_t k = 0; sv_eq(n->op, "Slice"); k++) {
        small starts, ends, axes, steps;
        if (k == 4) return node_err(g, n, RN_E_UNSUPPORTED, "too many Slices in a shortcut");
        if (in_id(g, n, 0) != cur || n->nin < 5 || in_id(g, n, 3) < 0 || in_id(g, n, 4) < 0)
            return node_err(g, n, RN_E_UNSUPPORTED,
                            "a shortcut Slice needs data, starts, ends, "
                            "axes and steps");
        if ((st = one_output(g, n)) || (st = eval_input(g, n, 1, &starts, 0)) ||
            (st = eval_input(g, n, 2, &ends, 0)) || (st = eval_input(g, n, 3, &axes, 0)) ||
            (st = eval_input(g, n, 4, &steps, 0)))
            return st;
        if (starts.n != ends.n || axes.n != starts.n || steps.n != starts.n)
            return node_err(g, n, RN_E_BAD_FORMAT, "starts, ends, axes and steps differ in length");
        for (int64_t i = 0; i < axes.n; i++) {
            int64_t ax = axes.v[i] < 0 ? axes.v[i] + 4 : axes.v[i];
            if ((ax != 2 && ax != 3) || starts.v[i] != 0 || ends.v[i] < 2147483647 ||
                steps.v[i] < 1 || steps.v[i] > 64)
                return node_err(g, n, RN_E_UNSUPPORTED,
                                "a shortcut Slice must take every s-th "
                                "row or column from the first (option A)");
            step[ax - 2] *= steps.v[i];
        }
        g->nodes[n - g->nodes].used = 1;
        cur = out_id(g, n, 0);
        n = sole_consumer(g, cur);
        if (!n)
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: a shortcut Slice should feed one "
                             "node",
                             g->src);
    }
    if (!sv_eq(n->op, "Pad"))
        return node_err(g, n, RN_E_UNSUPPORTED, "expected the Pad of an option-A shortcut");
    const oattr *mode = attr(g, n, "mode");
    if (in_id(g, n, 0) != cur || n->nin < 2 || (mode && !sv_eq(mode->s, "constant")))
        return node_err(g, n, RN_E_UNSUPPORTED,
                        "an option-A Pad is a constant pad of the sliced "
                        "input");
    small pads, value;
    if ((st = one_output(g, n)) || (st = eval_input(g, n, 1, &pads, 0))) return st;
    if (n->nin > 2 && in_id(g, n, 2) >= 0) {
        if ((st = eval_input(g, n, 2, &value, 0))) return st;
        if (value.n != 1 || value.v[0] != 0)
            return node_err(g, n, RN_E_UNSUPPORTED, "an option-A Pad pads with zeros");
    }
    if (pads.n != 8 || pads.v[0] || pads.v[2] || pads.v[3] || pads.v[4] || pads.v[6] || pads.v[7] ||
        pads.v[1] < 0 || pads.v[5] < 0 || pads.v[1] > 65536 || pads.v[5] > 65536)
        return node_err(g, n, RN_E_UNSUPPORTED, "an option-A Pad adds channels only");
    if (step[0] != step[1])
        return node_err(g, n, RN_E_UNSUPPORTED,
                        "the shortcut subsamples rows and columns "
                        "differently");
    g->nodes[n - g->nodes].used = 1;
    b->option_a = 1;
    b->a_stride = (int32_t)step[0];
    b->a_lo = (int32_t)pads.v[1];
    b->a_hi = (int32_t)pads.v[5];
    *y = out_id(g, n, 0);
    return RN_OK;
}

static rn_status match_graph(graph *g, match *m) {
    rn_status st;
    const onode *n = sole_consumer(g, g->input);
    if (!n)
        return rn__error(g->ctx, RN_E_UNSUPPORTED,
                         "%s: the graph input should feed one Conv "
                         "(the stem)",
                         g->src);
    if ((st = match_conv(g, n, g->input, &m->stem))) return st;
    m->in_channels = m->stem.in;
    int32_t x;
    if ((st = expect_relu(g, m->stem.y, &x, &g->nodes[m->stem.node]))) return st;
    const onode *next = sole_consumer(g, x);
    if (next && sv_eq(next->op, "MaxPool")) {
        int64_t ks[2], strides[2], pads[4], dil[2];
        if ((st = one_output(g, next)) || (st = ints_attr(g, next, "kernel_shape", 2, 0, ks)) ||
            (st = ints_attr(g, next, "strides", 2, 1, strides)) ||
            (st = ints_attr(g, next, "pads", 4, 0, pads)) ||
            (st = ints_attr(g, next, "dilations", 2, 1, dil)) || (st = check_no_auto_pad(g, next)))
            return st;
        const oattr *ceil = attr(g, next, "ceil_mode");
        int ok = ks[0] == 3 && ks[1] == 3 && strides[0] == 2 && strides[1] == 2 && dil[0] == 1 &&
                 dil[1] == 1 && !(ceil && ceil->i);
        for (int i = 0; i < 4; i++) ok = ok && pads[i] == 1;
        if (!ok)
            return node_err(g, next, RN_E_UNSUPPORTED,
                            "the stem's max pool must be 3x3, stride 2, "
                            "pad 1 (floor mode)");
        g->nodes[next - g->nodes].used = 1;
        m->max_pool = 1;
        x = out_id(g, next, 0);
    }
    int32_t channels = m->stem.out;
    for (;;) {
        const ovalue *val = &g->values[x];
        if (val->ncons == 1) {
            const onode *c = &g->nodes[g->cons[val->cons0]];
            if (sv_eq(c->op, "GlobalAveragePool") || sv_eq(c->op, "ReduceMean"))
                return match_head(g, c, x, channels, m);
        }
        if (val->ncons < 2 || val->ncons > 3) {
            if (val->ncons == 1)
                return node_err(g, &g->nodes[g->cons[val->cons0]], RN_E_UNSUPPORTED,
                                "expected a residual block (two or three consumers of a block "
                                "input) or the global average pool");
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: ONNX value '%.*s' has %ld consumers; "
                             "a residual block's input has two or three",
                             g->src, pn(val->name), val->name.s, (long)val->ncons);
        }
        if (m->nblocks == MAX_BLOCKS)
            return rn__error(g->ctx, RN_E_UNSUPPORTED, "%s: more than %d residual blocks", g->src,
                             MAX_BLOCKS);
        block_rec *b = &m->blocks[m->nblocks];
        rn_memset(b, 0, sizeof *b);
        const onode *add = NULL;
        int32_t main_y = -1, short_y = -1;
        for (int32_t i = 0; i < val->ncons; i++) {
            const onode *c = &g->nodes[g->cons[val->cons0 + i]];
            if (sv_eq(c->op, "Add")) {
                if (add && add != c)
                    return node_err(g, c, RN_E_UNSUPPORTED, "a block input feeds two Adds");
                add = c;
                short_y = x;
                continue;
            }
            if (sv_eq(c->op, "Slice") || sv_eq(c->op, "Pad")) {
                if (b->has_proj || b->option_a || short_y >= 0)
                    return node_err(g, c, RN_E_UNSUPPORTED, "a block with two shortcuts");
                if ((st = match_option_a(g, c, x, b, &short_y))) return st;
                const onode *after = sole_consumer(g, short_y);
                if (!after || !sv_eq(after->op, "Add"))
                    return node_err(g, c, RN_E_UNSUPPORTED,
                                    "the shortcut should end in the "
                                    "block's Add");
                if (add && add != after)
                    return node_err(g, after, RN_E_UNSUPPORTED,
                                    "the block's paths end in two "
                                    "different Adds");
                add = after;
                continue;
            }
            conv_rec cr;
            if ((st = match_conv(g, c, x, &cr))) return st;
            const onode *after = sole_consumer(g, cr.y);
            if (after && sv_eq(after->op, "Add")) {
                if (b->has_proj || b->option_a || short_y >= 0)
                    return node_err(g, c, RN_E_UNSUPPORTED, "a block with two shortcuts");
                b->proj = cr;
                b->has_proj = 1;
                short_y = cr.y;
                if (add && add != after)
                    return node_err(g, after, RN_E_UNSUPPORTED,
                                    "the block's paths end in two "
                                    "different Adds");
                add = after;
                continue;
            }
            if (b->nconv) return node_err(g, c, RN_E_UNSUPPORTED, "a block with two main paths");
            b->c[0] = cr;
            b->nconv = 1;
            int32_t y = cr.y;
            for (;;) {
                const onode *nx = sole_consumer(g, y);
                if (!nx)
                    return node_err(g, &g->nodes[b->c[b->nconv - 1].node], RN_E_UNSUPPORTED,
                                    "its output should feed one node");
                if (sv_eq(nx->op, "Add")) {
                    if (add && add != nx)
                        return node_err(g, nx, RN_E_UNSUPPORTED,
                                        "the block's paths end in two "
                                        "different Adds");
                    add = nx;
                    main_y = y;
                    break;
                }
                if (b->nconv == 3)
                    return node_err(g, nx, RN_E_UNSUPPORTED,
                                    "a block with more than three "
                                    "convolutions on its main path");
                int32_t r;
                if ((st = expect_relu(g, y, &r, &g->nodes[b->c[b->nconv - 1].node]))) return st;
                const onode *cn = sole_consumer(g, r);
                if (!cn)
                    return rn__error(g->ctx, RN_E_UNSUPPORTED,
                                     "%s: a Relu inside a block should "
                                     "feed one Conv",
                                     g->src);
                if ((st = match_conv(g, cn, r, &b->c[b->nconv]))) return st;
                y = b->c[b->nconv].y;
                b->nconv++;
            }
        }
        if (!add || main_y < 0 || short_y < 0)
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: ONNX value '%.*s' starts no residual "
                             "block (a main path of convolutions and a shortcut meeting in an "
                             "Add)",
                             g->src, pn(val->name), val->name.s);
        if (add->nin != 2 || !((in_id(g, add, 0) == main_y && in_id(g, add, 1) == short_y) ||
                               (in_id(g, add, 1) == main_y && in_id(g, add, 0) == short_y)))
            return node_err(g, add, RN_E_UNSUPPORTED,
                            "the Add does not join the block's main "
                            "path and shortcut");
        if ((st = one_output(g, add))) return st;
        g->nodes[add - g->nodes].used = 1;
        int32_t y;
        if ((st = expect_relu(g, out_id(g, add, 0), &y, add))) return st;
        /* the block's shape */
        const conv_rec *c = b->c;
        b->in_ch = channels;
        if (c[0].in != channels)
            return node_err(g, &g->nodes[c[0].node], RN_E_BAD_FORMAT,
                            "its input channels differ "
                            "from the block input's");
        for (int32_t i = 1; i < b->nconv; i++)
            if (c[i].in != c[i - 1].out)
                return node_err(g, &g->nodes[c[i].node], RN_E_BAD_FORMAT,
                                "its input channels "
                                "differ from the previous convolution's output");
        const onode *first = &g->nodes[c[0].node];
        if (b->nconv == 2) {
            b->type = RN_BLOCK_BASIC;
            b->width = b->out_ch = c[1].out;
            b->stride = c[0].stride;
            if (c[0].k != 3 || c[0].pad != 1 || c[1].k != 3 || c[1].pad != 1 || c[1].stride != 1 ||
                c[0].out != c[1].out)
                return node_err(g, first, RN_E_UNSUPPORTED,
                                "a basic block is 3x3 (stride s, "
                                "pad 1) then 3x3 (stride 1, pad 1) of one width");
        } else if (b->nconv == 3) {
            b->type = RN_BLOCK_BOTTLENECK;
            b->width = c[0].out;
            b->out_ch = c[2].out;
            b->stride_on_1x1 = c[0].stride != 1;
            b->stride = b->stride_on_1x1 ? c[0].stride : c[1].stride;
            if (c[0].k != 1 || c[0].pad || c[1].k != 3 || c[1].pad != 1 || c[2].k != 1 ||
                c[2].pad || c[2].stride != 1 || (c[0].stride != 1 && c[1].stride != 1) ||
                c[1].out != b->width || b->out_ch != 4 * b->width)
                return node_err(g, first, RN_E_UNSUPPORTED,
                                "a bottleneck block is 1x1, 3x3 "
                                "(pad 1), 1x1 to four times the width, one of the first two "
                                "strided");
        } else {
            return node_err(g, first, RN_E_UNSUPPORTED,
                            "a residual block has two or three "
                            "convolutions on its main path");
        }
        if (b->has_proj) {
            if (b->proj.k != 1 || b->proj.pad || b->proj.stride != b->stride ||
                b->proj.out != b->out_ch)
                return node_err(g, &g->nodes[b->proj.node], RN_E_UNSUPPORTED,
                                "a projection "
                                "shortcut is a 1x1 convolution with the block's stride and output "
                                "channels");
        } else if (b->option_a) {
            int32_t extra = b->out_ch - b->in_ch;
            if (b->type != RN_BLOCK_BASIC || b->a_stride != b->stride || extra < 0 ||
                b->a_lo != extra / 2 || b->a_hi != extra - extra / 2)
                return node_err(g, first, RN_E_UNSUPPORTED,
                                "an option-A shortcut takes the "
                                "block's stride and pads the new channels half before, half "
                                "after");
        } else if (b->stride != 1 || b->in_ch != b->out_ch) {
            return node_err(g, first, RN_E_UNSUPPORTED,
                            "the block changes the shape but its "
                            "shortcut is the identity");
        }
        channels = b->out_ch;
        m->nblocks++;
        x = y;
    }
}

/* ---- building ------------------------------------------------------------------------ */
typedef struct stage_rec {
    int32_t first, count, type, width, stride, shortcut;
    uint32_t flags;
} stage_rec;

static rn_status plan_stages(graph *g, const match *m, stage_rec *stages, int32_t *nstages) {
    int32_t ns = 0;
    for (int32_t i = 0; i < m->nblocks; i++) {
        const block_rec *b = &m->blocks[i];
        const block_rec *p = i ? &m->blocks[i - 1] : NULL;
        int fresh = !p || b->stride != 1 || b->type != p->type || b->width != p->width ||
                    b->in_ch != b->out_ch;
        if (fresh) {
            stage_rec *s = &stages[ns++];
            s->first = i;
            s->count = 1;
            s->type = b->type;
            s->width = b->width;
            s->stride = b->stride;
            s->flags = b->stride_on_1x1 ? RN_MODEL_STRIDE_ON_1X1 : 0;
            s->shortcut = RN_SHORTCUT_B;
        } else {
            stages[ns - 1].count++;
        }
    }
    /* B: a projection exactly where the shape changes; C: every block projects */
    for (int32_t k = 0; k < ns; k++) {
        stage_rec *s = &stages[k];
        int32_t nproj = 0, na = 0;
        for (int32_t i = s->first; i < s->first + s->count; i++) {
            nproj += m->blocks[i].has_proj;
            na += m->blocks[i].option_a;
        }
        const block_rec *b0 = &m->blocks[s->first];
        int changes = b0->stride != 1 || b0->in_ch != b0->out_ch;
        if (na && !nproj && na == (changes ? 1 : 0) && b0->option_a)
            s->shortcut = RN_SHORTCUT_A;
        else if (na)
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: stage %ld mixes option-A and other "
                             "shortcuts",
                             g->src, (long)k + 1);
        else if (nproj == s->count && (s->count > 1 || !changes))
            s->shortcut = RN_SHORTCUT_C;
        else if (nproj == (changes ? 1 : 0) && (!changes || b0->has_proj))
            s->shortcut = RN_SHORTCUT_B;
        else
            return rn__error(g->ctx, RN_E_UNSUPPORTED,
                             "%s: stage %ld mixes projection and "
                             "identity shortcuts in a way no shortcut option describes",
                             g->src, (long)k + 1);
    }
    *nstages = ns;
    return RN_OK;
}

/* Convolution weight and its batch norm into the model's tensors conv / bn. */
static rn_status set_conv(graph *g, rn_model *model, const conv_rec *c, const char *conv,
                          const char *bn, double *scratch, float *f) {
    rn_status st;
    const otensor *w = &g->tensors[c->w];
    size_t wn = (size_t)w->count, ch = (size_t)c->out, per = wn / ch;
    double *wd = scratch, *p = scratch + wn; /* p: 5 x out: bias, scale, beta, mean, var */
    if ((st = tensor_read(g, w, wd, w->count, "convolution weight"))) return st;
    for (size_t i = 0; i < ch; i++) {
        p[i] = 0;
        p[ch + i] = 1;
        p[2 * ch + i] = 0;
        p[3 * ch + i] = 0;
        p[4 * ch + i] = 1 - (double)RN_BN_EPS;
    }
    if (c->b >= 0 && (st = tensor_read(g, &g->tensors[c->b], p, c->out, "convolution bias")))
        return st;
    double eps = RN_BN_EPS;
    if (c->bn >= 0) {
        const char *what[4] = {"batch-norm scale", "batch-norm bias", "batch-norm mean",
                               "batch-norm variance"};
        int32_t ids[4] = {c->scale, c->bias, c->mean, c->var};
        for (int i = 0; i < 4; i++)
            if ((st = tensor_read(g, &g->tensors[ids[i]], p + (size_t)(i + 1) * ch, c->out,
                                  what[i])))
                return st;
        eps = c->eps;
    } else {
        /* folded: identity batch norm carrying the convolution's bias */
        for (size_t i = 0; i < ch; i++) {
            p[2 * ch + i] = p[i];
            p[i] = 0;
        }
        eps = RN_BN_EPS;
    }
    /* y = (conv + bias - mean) / sqrt(var + eps) * scale + beta with the
     * model's eps: mean absorbs the bias, var absorbs the eps difference, or
     * (when that would go negative) the scale goes into the weight. */
    int fold = 0;
    for (size_t i = 0; i < ch; i++) {
        double v = p[4 * ch + i];
        if (!(v >= 0) || !(v < 1e30))
            return node_err(g, &g->nodes[c->bn >= 0 ? c->bn : c->node], RN_E_BAD_FORMAT,
                            "a variance is negative or not finite");
        if (v + eps - (double)RN_BN_EPS < 0) fold = 1;
    }
    for (size_t i = 0; i < ch; i++) {
        double mean = p[3 * ch + i] - p[i], var = p[4 * ch + i], scale = p[ch + i];
        double beta = p[2 * ch + i];
        if (fold) {
            double s = scale / rn_sqrt(var + eps);
            for (size_t j = 0; j < per; j++) wd[i * per + j] *= s;
            p[ch + i] = 1;
            p[2 * ch + i] = beta - mean * s;
            p[3 * ch + i] = 0;
            p[4 * ch + i] = 1 - (double)RN_BN_EPS;
        } else {
            p[3 * ch + i] = mean;
            p[4 * ch + i] = var + eps - (double)RN_BN_EPS;
        }
    }
    for (size_t j = 0; j < wn; j++) f[j] = (float)wd[j];
    for (size_t j = 0; j < wn; j++)
        if (!(f[j] - f[j] == 0))
            return node_err(g, &g->nodes[c->node], RN_E_NUMERIC,
                            "its weight holds a NaN or "
                            "infinity");
    char name[96];
    if ((st = rn_model_set_tensor(model, rn__concat(name, sizeof name, conv, ".weight"), f, wn)))
        return st;
    static const char *suffix[4] = {".weight", ".bias", ".running_mean", ".running_var"};
    for (int i = 0; i < 4; i++) {
        for (size_t j = 0; j < ch; j++) f[j] = (float)p[(size_t)(i + 1) * ch + j];
        for (size_t j = 0; j < ch; j++)
            if (!(f[j] - f[j] == 0))
                return node_err(g, &g->nodes[c->bn >= 0 ? c->bn : c->node], RN_E_NUMERIC,
                                "a parameter holds a NaN or infinity");
        if ((st = rn_model_set_tensor(model, rn__concat(name, sizeof name, bn, suffix[i]), f, ch)))
            return st;
    }
    return RN_OK;
}

static void block_name(char *buf, size_t cap, int32_t stage, int32_t index, const char *leaf) {
    char a[24], b[24];
    rn__fmt_u64((uint64_t)stage, a);
    rn__fmt_u64((uint64_t)index, b);
    char t[96];
    rn__concat(t, sizeof t, "layer", a);
    rn__concat(buf, cap, t, ".");
    rn__concat(t, sizeof t, buf, b);
    rn__concat(buf, cap, t, leaf);
}

static rn_status build(graph *g, const match *m, const stage_rec *stages, int32_t ns,
                       rn_model **out) {
    rn_ctx *ctx = g->ctx;
    rn_model *model = NULL;
    rn_status st;
    if ((st = rn_model_create(ctx, m->in_channels, &model))) return st;
    if ((st = rn_model_add_stem(model, m->stem.out, m->stem.k, m->stem.stride, m->stem.pad,
                                m->max_pool)))
        goto fail;
    for (int32_t k = 0; k < ns; k++)
        if ((st = rn_model_add_stage(model, stages[k].type, stages[k].count, stages[k].width,
                                     stages[k].stride, stages[k].shortcut, stages[k].flags)))
            goto fail;
    if ((st = rn_model_add_head(model, m->classes))) goto fail;
    /* scratch: the largest tensor as doubles (+ 5 per-channel arrays) and as floats */
    size_t maxn = (size_t)m->classes * (size_t)m->features + (size_t)m->classes;
    for (int32_t t = 0; t < g->ntensors; t++)
        if ((size_t)g->tensors[t].count > maxn) maxn = (size_t)g->tensors[t].count;
    maxn += 5 * 65536;
    double *scratch = rn__calloc(ctx, maxn, sizeof(double));
    float *f = rn__calloc(ctx, maxn, sizeof(float));
    if (!scratch || !f) {
        rn__free(ctx, scratch);
        rn__free(ctx, f);
        st = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the ONNX weights", g->src);
        goto fail;
    }
    st = set_conv(g, model, &m->stem, "conv1", "bn1", scratch, f);
    for (int32_t k = 0; !st && k < ns; k++) {
        for (int32_t i = 0; !st && i < stages[k].count; i++) {
            const block_rec *b = &m->blocks[stages[k].first + i];
            for (int32_t j = 0; !st && j < b->nconv; j++) {
                char conv[96], bn[96], leaf[16] = ".conv1", bleaf[16] = ".bn1";
                leaf[5] = bleaf[3] = (char)('1' + j);
                block_name(conv, sizeof conv, k + 1, i, leaf);
                block_name(bn, sizeof bn, k + 1, i, bleaf);
                st = set_conv(g, model, &b->c[j], conv, bn, scratch, f);
            }
            if (!st && b->has_proj) {
                char conv[96], bn[96];
                block_name(conv, sizeof conv, k + 1, i, ".downsample.0");
                block_name(bn, sizeof bn, k + 1, i, ".downsample.1");
                st = set_conv(g, model, &b->proj, conv, bn, scratch, f);
            }
        }
    }
    if (!st) {
        const otensor *w = &g->tensors[m->fc_w];
        size_t K = (size_t)m->classes, F = (size_t)m->features;
        st = tensor_read(g, w, scratch, w->count, "fc weight");
        for (size_t c = 0; !st && c < K; c++)
            for (size_t j = 0; j < F; j++)
                f[c * F + j] = (float)(m->fc_trans ? scratch[j * K + c] : scratch[c * F + j]);
        if (!st) st = rn_model_set_tensor(model, "fc.weight", f, K * F);
        for (size_t j = 0; !st && j < K; j++) scratch[j] = 0;
        if (!st && m->fc_b >= 0)
            st = tensor_read(g, &g->tensors[m->fc_b], scratch, (int64_t)K, "fc bias");
        for (size_t j = 0; !st && j < K; j++) f[j] = (float)scratch[j];
        if (!st) st = rn_model_set_tensor(model, "fc.bias", f, K);
    }
    rn__free(ctx, scratch);
    rn__free(ctx, f);
    if (st) goto fail;
    *out = model;
    return RN_OK;
fail:
    rn_model_destroy(model);
    return st;
}

/* ---- the model-level reader ------------------------------------------------------------- */
static rn_status parse_model(graph *g, const unsigned char *buf, size_t size, rn__pb *graph_msg) {
    static const char what[] = "ModelProto";
    rn__pb r = {buf, buf + size, buf};
    rn__pb_field f;
    int have_graph = 0;
    g->opset = -1;
    for (;;) {
        NEXT(r, f, what);
        if (f.num == 7) {
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            if (have_graph) return bad(g, f.offset, "two graphs", what);
            *graph_msg = rn__pb_sub(&r, &f);
            have_graph = 1;
        } else if (f.num == 8) { /* OperatorSetIdProto */
            if (need_bytes(g, &f, what)) return RN_E_BAD_FORMAT;
            rn__pb o = rn__pb_sub(&r, &f);
            rn__pb_field of;
            sv domain = {"", 0};
            int64_t version = -1;
            for (;;) {
                rn_status st = RN_OK;
                int rc = next_field(g, &o, &of, "OperatorSetIdProto", &st);
                if (rc < 0) return st;
                if (rc == 0) break;
                if (of.num == 1 && of.wire == RN_PB_BYTES) domain = as_sv(&of);
                if (of.num == 2 && of.wire == RN_PB_VARINT) version = (int64_t)of.u;
            }
            if (domain.n == 0 || sv_eq(domain, "ai.onnx")) g->opset = version;
        } else if (f.num == 1 && f.wire != RN_PB_VARINT) {
            return bad(g, f.offset, "ir_version is not a varint", what);
        }
    }
done_:
    if (!have_graph)
        return rn__error(g->ctx, RN_E_BAD_FORMAT, "%s: not an ONNX model (no graph)", g->src);
    return RN_OK;
}

static rn_status check_opset(graph *g) {
    if (g->opset < OPSET_MIN || g->opset > OPSET_MAX)
        return rn__error(g->ctx, RN_E_UNSUPPORTED,
                         "%s: ONNX opset %lld is not supported (opsets "
                         "%d to %d are read)",
                         g->src, (long long)g->opset, OPSET_MIN, OPSET_MAX);
    return RN_OK;
}

static void free_graph(graph *g) {
    rn_ctx *ctx = g->ctx;
    rn__free(ctx, g->nodes);
    rn__free(ctx, g->tensors);
    rn__free(ctx, g->attrs);
    rn__free(ctx, g->in_names);
    rn__free(ctx, g->out_names);
    rn__free(ctx, g->in_ids);
    rn__free(ctx, g->out_ids);
    rn__free(ctx, g->values);
    rn__free(ctx, g->hash);
    rn__free(ctx, g->cons);
}

static rn_status load_onnx(rn_ctx *ctx, const char *src, const void *buf, size_t size,
                           rn_model **out) {
    static const char fn[] = "rn_model_load_onnx";
    if (!ctx) return RN_E_INVALID_ARG;
    if (!out || (!buf && size)) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (!size) return rn__error(ctx, RN_E_BAD_FORMAT, "%s: empty input, not an ONNX model", src);
    graph g;
    rn_memset(&g, 0, sizeof g);
    g.ctx = ctx;
    g.src = src;
    g.base = buf;
    rn__pb gm;
    rn_status st = parse_model(&g, buf, size, &gm);
    if (st) return st;
    /* pass 1: counts (and the whole graph's wire format checked) */
    if ((st = parse_graph(&g, gm)) || (st = check_opset(&g))) return st;
    int32_t nnodes = g.nnodes, ntensors = g.ntensors, nin = g.nin_total, nout = g.nout_total;
    int32_t nattrs = g.nattrs;
    if (ntensors > MAX_TENSORS)
        return rn__error(ctx, RN_E_UNSUPPORTED, "%s: more than %d ONNX tensors", src, MAX_TENSORS);
    size_t nvalues = (size_t)ntensors + (size_t)nout + 2;
    size_t cap = 16;
    while (cap < 2 * nvalues) cap *= 2;
    g.nodes = rn__calloc(ctx, (size_t)nnodes + 1, sizeof *g.nodes);
    g.tensors = rn__calloc(ctx, (size_t)ntensors + 1, sizeof *g.tensors);
    g.attrs = rn__calloc(ctx, (size_t)nattrs + 1, sizeof *g.attrs);
    g.in_names = rn__calloc(ctx, (size_t)nin + 1, sizeof *g.in_names);
    g.out_names = rn__calloc(ctx, (size_t)nout + 1, sizeof *g.out_names);
    g.in_ids = rn__calloc(ctx, (size_t)nin + 1, sizeof *g.in_ids);
    g.out_ids = rn__calloc(ctx, (size_t)nout + 1, sizeof *g.out_ids);
    g.values = rn__calloc(ctx, nvalues, sizeof *g.values);
    g.hash = rn__calloc(ctx, cap, sizeof *g.hash);
    g.cons = rn__calloc(ctx, (size_t)nin + 1, sizeof *g.cons);
    match m;
    rn_memset(&m, 0, sizeof m);
    m.blocks = rn__calloc(ctx, MAX_BLOCKS, sizeof *m.blocks);
    stage_rec *stages = rn__calloc(ctx, MAX_BLOCKS, sizeof *stages);
    if (!g.nodes || !g.tensors || !g.attrs || !g.in_names || !g.out_names || !g.in_ids ||
        !g.out_ids || !g.values || !g.hash || !g.cons || !m.blocks || !stages) {
        st = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the ONNX graph (%ld nodes)", src,
                       (long)nnodes);
        goto end;
    }
    g.hash_cap = cap;
    for (size_t i = 0; i < cap; i++) g.hash[i] = -1;
    /* pass 2: fill (Constant tensors follow the initializers) */
    g.nnodes = g.nin_total = g.nout_total = g.nattrs = 0;
    g.ntensors = 0;
    g.ninputs_declared = g.noutputs = 0;
    {
        /* initializers first so that their indices come before the Constants' */
        rn__pb r = gm;
        rn__pb_field f;
        const char *why;
        size_t at;
        int rc;
        while ((rc = rn__pb_next(&r, &f, &why, &at)) > 0) {
            if (f.num != 5) continue;
            if ((st = parse_tensor(&g, rn__pb_sub(&r, &f), &g.tensors[g.ntensors]))) goto end;
            if (!g.tensors[g.ntensors].name.n) {
                st = bad(&g, f.offset, "initializer without a name", "GraphProto");
                goto end;
            }
            g.ntensors++;
        }
        /* then nodes (their Constant tensors) and the declared inputs and outputs */
        r = gm;
        while ((rc = rn__pb_next(&r, &f, &why, &at)) > 0) {
            if (f.num == 1) {
                if ((st = parse_node(&g, rn__pb_sub(&r, &f), f.offset))) goto end;
                g.nnodes++;
            } else if (f.num == 11 || f.num == 12) {
                sv name;
                if ((st = value_info_name(&g, rn__pb_sub(&r, &f), &name))) goto end;
                if (f.num == 11) {
                    if (g.ninputs_declared < 64) g.input_names[g.ninputs_declared] = name;
                    g.ninputs_declared++;
                } else {
                    g.output_name = name;
                    g.noutputs++;
                }
            }
        }
    }
    if (g.nnodes != nnodes || g.ntensors != ntensors) {
        st = rn__error(ctx, RN_E_INTERNAL, "%s: the two passes over the ONNX graph disagree", src);
        goto end;
    }
    if ((st = resolve(&g))) goto end;
    if ((st = match_graph(&g, &m))) goto end;
    for (int32_t k = 0; k < g.nnodes; k++) {
        if (!g.nodes[k].used) {
            st = node_err(&g, &g.nodes[k], RN_E_UNSUPPORTED,
                          "not part of a ResNet this importer "
                          "maps (stem, basic or bottleneck blocks, global average pool, fc)");
            goto end;
        }
    }
    int32_t ns = 0;
    if ((st = plan_stages(&g, &m, stages, &ns))) goto end;
    st = build(&g, &m, stages, ns, out);
end:
    rn__free(ctx, m.blocks);
    rn__free(ctx, stages);
    free_graph(&g);
    return st;
}

rn_status rn_model_load_onnx_mem(rn_ctx *ctx, const void *buf, size_t size, rn_model **out) {
    return load_onnx(ctx, RN_IO_MEMORY_NAME, buf, size, out);
}

rn_status rn_model_load_onnx_file(rn_ctx *ctx, const char *path, rn_model **out) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!path || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_model_load_onnx_file: NULL argument");
#ifdef RN_NO_IO
    return rn__error(ctx, RN_E_UNSUPPORTED, "rn_model_load_onnx_file: built without file I/O");
#else
    void *data;
    size_t size;
    rn_status st = rn__read_file(ctx, path, MAX_FILE, &data, &size);
    if (st) return st;
    st = load_onnx(ctx, path, data, size, out);
    rn__free(ctx, data);
    return st;
#endif
}
