/*
 * int8 models (docs/int8.md): a folded model with a quantized twin of each
 * convolution (int8 OHWI weights per output channel, int32 biases, float
 * scales), the requantization multipliers derived from the scales, and the
 * architecture as a line of text for the int8 file's metadata.
 */
#include "nn-internal.h"

nn_conv *rn__nn_model_conv(const rn_model *m, int32_t i, int32_t *block, int32_t *j) {
    if (i == 0) {
        *block = -1, *j = 0;
        return (nn_conv *)&m->stem_conv;
    }
    int32_t k = 1;
    for (int32_t b = 0; b < m->nblocks; b++) {
        nn_block *blk = &m->blocks[b];
        int32_t n = blk->nconv + (blk->sc == NN_SC_PROJ);
        if (i < k + n) {
            *block = b, *j = i - k < blk->nconv ? i - k : 3;
            return *j == 3 ? &blk->ds_conv : &blk->conv[i - k];
        }
        k += n;
    }
    *block = -2, *j = -1;
    return NULL;
}

int32_t rn__model_conv_count(const rn_model *m) {
    int32_t n = m->has_stem;
    for (int32_t b = 0; b < m->nblocks; b++)
        n += m->blocks[b].nconv + (m->blocks[b].sc == NN_SC_PROJ);
    return n;
}

static size_t put(char *dst, size_t at, size_t cap, const char *s) {
    while (*s) {
        if (at + 1 < cap) dst[at] = *s;
        at++, s++;
    }
    if (cap) dst[at < cap ? at : cap - 1] = '\0';
    return at;
}

void rn__model_conv_view(const rn_model *m, int32_t i, rn_conv_view *v) {
    int32_t b, j;
    const nn_conv *c = rn__nn_model_conv(m, i, &b, &j);
    rn_memset(v, 0, sizeof *v);
    if (b == -1) {
        put(v->name, 0, sizeof v->name, "conv1");
    } else {
        static const char *const leaf[4] = {".conv1", ".conv2", ".conv3", ".downsample.0"};
        rn__nn_block_name(v->name, m->blocks[b].stage, m->blocks[b].index);
        put(v->name, rn_strlen(v->name), sizeof v->name, leaf[j]);
    }
    v->in = c->in, v->out = c->out, v->k = c->k, v->stride = c->stride, v->pad = c->pad;
    if (m->q) {
        const nn_qconv *q = &m->q->conv[i];
        v->w = q->w, v->bias = q->bias, v->w_scale = q->w_scale, v->out_scale = q->out_scale;
    }
}

int32_t rn__model_is_int8(const rn_model *m) { return m->q != NULL; }
float rn__model_input_scale(const rn_model *m) { return m->q ? m->q->in_scale : 0.0f; }

const char *rn__model_int8_note(const rn_model *m) { return m->q ? m->q->note : ""; }

void rn__model_set_int8_note(rn_model *m, const char *note) {
    if (!m->q) return;
    size_t n = rn_strlen(note);
    if (n >= sizeof m->q->note) n = sizeof m->q->note - 1;
    rn_memcpy(m->q->note, note, n);
    m->q->note[n] = '\0';
}

int64_t rn__model_conv_bias_limit(const rn_model *m, int32_t i) {
    (void)m, (void)i;
    return ((int64_t)1 << 30) - 1; /* the int8 op's bound (src/ops/ops.h) */
}

void rn__nn_qnet_free(rn_ctx *ctx, nn_qnet *q) {
    if (!q) return;
    rn__free(ctx, q->mem);
    rn__free(ctx, q);
}

rn_status rn_model_precision(const rn_model *m, int32_t *precision) {
    if (!m) return RN_E_INVALID_ARG;
    if (!precision) return rn__error(m->ctx, RN_E_INVALID_ARG, "rn_model_precision: NULL output");
    *precision = m->q ? RN_PRECISION_INT8 : RN_PRECISION_F32;
    return RN_OK;
}

void rn__nn_graph(const rn_model *m, int32_t *src, int32_t *res) {
    src[0] = -1, res[0] = -1;
    int32_t a = 0, k = 1; /* a: the conv whose output is the current activation */
    for (int32_t b = 0; b < m->nblocks; b++) {
        const nn_block *blk = &m->blocks[b];
        int32_t last = k + blk->nconv - 1;
        for (int32_t j = 0; j < blk->nconv; j++) {
            src[k + j] = j == 0 ? a : k + j - 1;
            res[k + j] = -1;
        }
        if (blk->sc == NN_SC_PROJ) {
            src[last + 1] = a, res[last + 1] = -1;
            res[last] = last + 1;
        } else if (blk->sc != NN_SC_NONE) {
            res[last] = a;
        }
        a = last;
        k += blk->nconv + (blk->sc == NN_SC_PROJ);
    }
}

int32_t rn__nn_last_activation(const rn_model *m) {
    int32_t k = 1, last = 0;
    for (int32_t b = 0; b < m->nblocks; b++) {
        last = k + m->blocks[b].nconv - 1;
        k += m->blocks[b].nconv + (m->blocks[b].sc == NN_SC_PROJ);
    }
    return last;
}

/* The scales the graph gives each convolution: its input's, its ReLU, and
 * the residual it adds (docs/int8.md, "The network"). */
static rn_status wire(rn_model *m, nn_qnet *q) {
    int32_t *src = (int32_t *)rn__calloc(m->ctx, 2 * (size_t)q->nconv, sizeof(int32_t));
    if (!src) return RN_E_NO_MEMORY;
    int32_t *res = src + q->nconv;
    rn__nn_graph(m, src, res);
    for (int32_t i = 0; i < q->nconv; i++) {
        nn_qconv *c = &q->conv[i];
        int32_t b, j;
        rn__nn_model_conv(m, i, &b, &j);
        c->in_scale = src[i] < 0 ? q->in_scale : q->conv[src[i]].out_scale;
        c->relu = j != 3; /* every conv but the projection shortcut */
        c->m_r =
            res[i] < 0 ? 0.0f : (float)((double)q->conv[res[i]].out_scale / (double)c->out_scale);
    }
    rn__free(m->ctx, src);
    return RN_OK;
}

/* An int8 model's arrays in one allocation: the nn_qconv records, the
 * value pointers, then biases, weight scales and multipliers (chans each),
 * the fc (fc floats) and, unless in place, the weights. */
typedef struct qnet_layout {
    size_t convs, values, chans, fc, total; /* bytes, bytes, counts, bytes */
} qnet_layout;

static qnet_layout layout_of(const rn_model *m, int32_t in_place) {
    int32_t n = rn__model_conv_count(m);
    size_t chans = 0, wbytes = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t b, j;
        const nn_conv *c = rn__nn_model_conv(m, i, &b, &j);
        chans += (size_t)c->out;
        wbytes += (size_t)c->out * (size_t)c->k * (size_t)c->k * (size_t)c->in;
    }
    qnet_layout l;
    l.fc = (size_t)m->classes * (size_t)m->fc_in + (size_t)m->classes;
    l.convs = rn__align_up((size_t)n * sizeof(nn_qconv), 16);
    l.values = rn__align_up(((size_t)m->nslots + 1) * sizeof(float *), 16);
    l.chans = chans;
    l.total = l.convs + l.values + (chans * 3 + l.fc) * sizeof(float) + (in_place ? 0 : wbytes);
    return l;
}

rn_status rn__model_reserve_int8(rn_model *m, int32_t in_place, struct nn_qnet **out,
                                 const char *fn) {
    rn_ctx *ctx = m->ctx;
    size_t total = layout_of(m, in_place).total;
    nn_qnet *q = (nn_qnet *)rn__calloc(ctx, 1, sizeof *q);
    unsigned char *mem = q ? (unsigned char *)rn__calloc(ctx, 1, total) : NULL;
    if (!mem) {
        rn__free(ctx, q);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %zu bytes of int8 weights", fn,
                         total);
    }
    q->mem = mem;
    q->in_place = in_place;
    *out = q;
    return RN_OK;
}

void rn__model_unreserve_int8(rn_model *m, struct nn_qnet *q) { rn__nn_qnet_free(m->ctx, q); }

rn_status rn__model_make_int8(rn_model *m, float in_scale, const rn_conv_view *v, int32_t in_place,
                              const float *fc_w, const float *fc_b, struct nn_qnet *reserved,
                              const char *fn) {
    rn_ctx *ctx = m->ctx;
    int32_t n = rn__model_conv_count(m);
    const qnet_layout l = layout_of(m, in_place);
    const size_t convs = l.convs, values = l.values, chans = l.chans, fc = l.fc;
    nn_qnet *q = reserved;
    rn_status st = q ? RN_OK : rn__model_reserve_int8(m, in_place, &q, fn);
    if (st) return st;
    unsigned char *mem = (unsigned char *)q->mem;
    q->conv = (nn_qconv *)mem;
    q->nconv = n;
    q->in_scale = in_scale;
    q->in_place = in_place;
    const float **vals = (const float **)(void *)(mem + convs);
    int32_t *bias = (int32_t *)(void *)(mem + convs + values);
    float *ws = (float *)(bias + chans), *mul = ws + chans, *fcv = mul + chans;
    int8_t *wq = (int8_t *)(fcv + fc);
    for (int32_t i = 0; i < n; i++) {
        int32_t b, j;
        nn_conv *c = rn__nn_model_conv(m, i, &b, &j);
        size_t oc = (size_t)c->out, per = (size_t)c->k * (size_t)c->k * (size_t)c->in;
        nn_qconv *qc = &q->conv[i];
        rn_memcpy(bias, v[i].bias, oc * sizeof(int32_t));
        rn_memcpy(ws, v[i].w_scale, oc * sizeof(float));
        qc->bias = bias, qc->w_scale = ws, qc->m = mul;
        if (in_place) {
            qc->w = v[i].w;
        } else {
            rn_memcpy(wq, v[i].w, oc * per);
            qc->w = wq;
            wq += oc * per;
        }
        qc->out_scale = v[i].out_scale;
        bias += oc, ws += oc, mul += oc;
    }
    if (wire(m, q)) {
        if (!reserved) rn__nn_qnet_free(ctx, q);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    }
    for (int32_t i = 0; i < n; i++) {
        int32_t b, j;
        const nn_conv *c = rn__nn_model_conv(m, i, &b, &j);
        nn_qconv *qc = &q->conv[i];
        float *mul_c = (float *)(uintptr_t)qc->m;
        /* at most 2^16 (false for Inf and NaN): then |acc * m| < 2^47 and
         * |r * m_r| < 2^23, so requantization never meets Inf or NaN */
        int32_t finite = qc->m_r <= 65536.0f;
        for (int32_t o = 0; o < c->out; o++) {
            mul_c[o] =
                (float)((double)qc->in_scale * (double)qc->w_scale[o] / (double)qc->out_scale);
            if (!(mul_c[o] <= 65536.0f)) finite = 0;
        }
        if (!finite) {
            /* scales each finite and positive can still give a multiplier that
             * overflows requantization (a tiny output scale under huge input
             * ones): Inf, and NaN from Inf - Inf; no calibration gives one */
            if (!reserved) rn__nn_qnet_free(ctx, q);
            return rn__error(ctx, RN_E_NUMERIC,
                             "%s: convolution %d: its scales give a requantization multiplier "
                             "above 65536 (input, weight and output scales too far apart)",
                             fn, (int)i);
        }
    }
    /* the fc: the only tensors with float values (the last two slots) */
    size_t fw = (size_t)m->classes * (size_t)m->fc_in;
    rn_memcpy(fcv, fc_w, fw * sizeof(float));
    rn_memcpy(fcv + fw, fc_b, (size_t)m->classes * sizeof(float));
    vals[m->nslots - 2] = fcv;
    vals[m->nslots - 1] = fcv + fw;
    rn__model_bind_values(m, vals);
    m->q = q;
    m->folded = 1;
    m->version++;
    return RN_OK;
}

/* ---- the architecture as text ------------------------------------------------------ */
static const char *const sc_names[4] = {"A", "B", "C", "none"};

static size_t put_i(char *dst, size_t at, size_t cap, int64_t v) {
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do tmp[n++] = (char)('0' + u % 10), u /= 10;
    while (u);
    if (v < 0) at = put(dst, at, cap, "-");
    char out[24];
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return put(dst, at, cap, out);
}

size_t rn__model_arch_string(const rn_model *m, char *buf, size_t cap) {
    size_t at = 0;
    at = put(buf, at, cap, "in ");
    at = put_i(buf, at, cap, m->in_channels);
    at = put(buf, at, cap, "; stem ");
    const nn_conv *s = &m->stem_conv;
    int64_t stem[5] = {s->out, s->k, s->stride, s->pad, m->stem_pool};
    for (int i = 0; i < 5; i++) {
        if (i) at = put(buf, at, cap, " ");
        at = put_i(buf, at, cap, stem[i]);
    }
    for (int32_t b = 0; b < m->nblocks;) {
        const nn_block *f = &m->blocks[b];
        int32_t e = b;
        while (e < m->nblocks && m->blocks[e].stage == f->stage) e++;
        int32_t sc = f->shortcut < 0 ? RN_SHORTCUT_B : f->shortcut;
        at = put(buf, at, cap,
                 f->type == RN_BLOCK_BOTTLENECK ? "; stage bottleneck " : "; stage basic ");
        at = put_i(buf, at, cap, e - b);
        at = put(buf, at, cap, " ");
        at = put_i(buf, at, cap, f->width);
        at = put(buf, at, cap, " ");
        at = put_i(buf, at, cap, f->stride);
        at = put(buf, at, cap, " ");
        at = put(buf, at, cap, sc >= 0 && sc < 4 ? sc_names[sc] : "B");
        at = put(buf, at, cap, " ");
        at = put_i(buf, at, cap, (int64_t)f->flags);
        b = e;
    }
    at = put(buf, at, cap, "; head ");
    at = put_i(buf, at, cap, m->classes);
    return at;
}

typedef struct lexer {
    const char *p;
} lexer;

static void skip_space(lexer *l) {
    while (*l->p == ' ') l->p++;
}

/* The next word (up to a space, ';' or the end) into w; 0 at ';' or the end. */
static int word(lexer *l, char *w, size_t cap) {
    skip_space(l);
    size_t n = 0;
    while (*l->p && *l->p != ' ' && *l->p != ';') {
        if (n + 1 >= cap) return 0;
        w[n++] = *l->p++;
    }
    w[n] = '\0';
    return n > 0;
}

static int number(lexer *l, int64_t lo, int64_t hi, int32_t *out) {
    char w[16];
    if (!word(l, w, sizeof w)) return 0;
    int64_t v = 0;
    for (const char *c = w; *c; c++) {
        if (*c < '0' || *c > '9' || v > 100000000) return 0;
        v = v * 10 + (*c - '0');
    }
    if (v < lo || v > hi) return 0;
    *out = (int32_t)v;
    return 1;
}

static int end_item(lexer *l) {
    skip_space(l);
    if (*l->p == ';') {
        l->p++;
        return 1;
    }
    return *l->p == '\0';
}

static rn_status from_arch(rn_ctx *ctx, const char *arch, const char *src, size_t max_bytes,
                           int32_t no_values, const int32_t *reserve, rn_model **out) {
    lexer l = {arch};
    /* a lower bound of the weight bytes the file must hold (int8 convs,
     * float fc), checked before each allocation: a hostile "arch" cannot
     * make the builder allocate more than a few times its file's size */
    double need = 0, ch = 0;
    char w[16];
    int32_t in = 0, v[5];
    rn_model *m = NULL;
    rn_status st = RN_OK;
    if (!word(&l, w, sizeof w) || rn_strcmp(w, "in") || !number(&l, 1, RN_NN_MAX_CHANNELS, &in) ||
        !end_item(&l))
        goto bad;
    if ((st = rn_model_create(ctx, in, &m))) return st;
    m->in_place = no_values; /* the registry allocates no storage for the tensors */
    if (reserve) rn__nn_model_reserve(m, reserve[0], reserve[1], reserve[2]);
    if (!word(&l, w, sizeof w) || rn_strcmp(w, "stem")) goto bad;
    for (int i = 0; i < 5; i++)
        if (!number(&l, 0, RN_NN_MAX_CHANNELS, &v[i])) goto bad;
    if (!end_item(&l)) goto bad;
    need = (double)in * v[0] * (double)v[1] * (double)v[1];
    ch = v[0];
    if (need > (double)max_bytes) goto big;
    if ((st = rn_model_add_stem(m, v[0], v[1], v[2], v[3], v[4]))) goto fail;
    for (;;) {
        if (!word(&l, w, sizeof w)) goto bad;
        if (!rn_strcmp(w, "head")) break;
        if (rn_strcmp(w, "stage")) goto bad;
        char type[16], sc[8];
        int32_t nb, width, stride, flags, shortcut = -1;
        if (!word(&l, type, sizeof type) || !number(&l, 1, RN_NN_MAX_BLOCKS, &nb) ||
            !number(&l, 1, RN_NN_MAX_CHANNELS, &width) ||
            !number(&l, 1, RN_NN_MAX_STRIDE, &stride) || !word(&l, sc, sizeof sc) ||
            !number(&l, 0, 3, &flags) || !end_item(&l))
            goto bad;
        for (int32_t i = 0; i < 4; i++)
            if (!rn_strcmp(sc, sc_names[i])) shortcut = i;
        int32_t bt = !rn_strcmp(type, "basic")        ? RN_BLOCK_BASIC
                     : !rn_strcmp(type, "bottleneck") ? RN_BLOCK_BOTTLENECK
                                                      : -1;
        if (shortcut < 0 || bt < 0) goto bad;
        double wd = width, o = bt == RN_BLOCK_BASIC ? wd : 4.0 * wd;
        /* each block's conv1 (and a bottleneck's conv3) */
        double first = bt == RN_BLOCK_BASIC ? 9.0 * ch * o : ch * wd + wd * o;
        double rest = bt == RN_BLOCK_BASIC ? 9.0 * o * o : o * wd + wd * o;
        need += first + (double)(nb - 1) * rest;
        ch = o;
        if (need > (double)max_bytes) goto big;
        if ((st = rn_model_add_stage(m, bt, nb, width, stride, shortcut, (uint32_t)flags)))
            goto fail;
    }
    int32_t classes;
    if (!number(&l, 1, RN_NN_MAX_CLASSES, &classes) || !end_item(&l) || *l.p) goto bad;
    need += 4.0 * classes * ch;
    if (need > (double)max_bytes) goto big;
    if ((st = rn_model_add_head(m, classes))) goto fail;
    *out = m;
    return RN_OK;
bad:
    rn_model_destroy(m);
    return rn__error(ctx, RN_E_BAD_FORMAT,
                     "%s: metadata \"arch\": cannot read the architecture near \"%.24s\"", src,
                     l.p);
big:
    rn_model_destroy(m);
    return rn__error(ctx, RN_E_BAD_FORMAT,
                     "%s: metadata \"arch\" describes a network larger "
                     "than the %zu bytes that hold it",
                     src, max_bytes);
fail:
    rn_model_destroy(m);
    return rn__error(ctx, RN_E_BAD_FORMAT,
                     "%s: metadata \"arch\" describes a model the builder "
                     "refuses",
                     src);
}

rn_status rn__model_from_arch_string(rn_ctx *ctx, const char *arch, const char *src,
                                     size_t max_bytes, int32_t no_values, rn_model **out) {
    if (!ctx->in_buffer) return from_arch(ctx, arch, src, max_bytes, no_values, NULL, out);
    /* in a caller's arena, a model grown component by component leaves each
     * outgrown slot, chunk and block array behind: built once to count them,
     * given back, and built again into arrays of the final sizes */
    rn__arena_mark mark = rn__arena_save(ctx);
    rn_model *m = NULL;
    rn_status st = from_arch(ctx, arch, src, max_bytes, no_values, NULL, &m);
    if (st) return st;
    const int32_t reserve[3] = {m->nslots, m->nchunks, m->nblocks};
    rn_model_destroy(m);
    rn__arena_restore(ctx, mark);
    return from_arch(ctx, arch, src, max_bytes, no_values, reserve, out);
}
