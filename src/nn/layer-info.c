/*
 * Per-layer report of a model for an h x w input (the stem, each block, the
 * head): output dims, trainable parameters and multiply-accumulates, counted
 * as convolution and fc multiply-accumulates only (what the paper's FLOPs
 * and torchvision's tables count).
 */
#include "nn-internal.h"

typedef struct layer_walk {
    int64_t c, h, w;      /* output of the layer just visited */
    int64_t params, macs; /* of that layer */
} layer_walk;

static int64_t window_out(int64_t h, int32_t k, int32_t s, int32_t p) {
    int64_t span = h + 2 * (int64_t)p - k;
    return span < 0 ? 0 : span / s + 1;
}

/* Visits layers 0..index; returns the status of a shape that does not fit. */
static rn_status walk(const rn_model *m, int32_t index, int64_t h, int64_t w, layer_walk *lw,
                      const char *fn) {
    const nn_conv *c = &m->stem_conv;
    int64_t oh = window_out(h, c->k, c->stride, c->pad),
            ow = window_out(w, c->k, c->stride, c->pad);
    if (oh < 1 || ow < 1)
        return rn__error(m->ctx, RN_E_INVALID_ARG,
                         "%s: a %lldx%lld input is too small for the %dx%d stem convolution", fn,
                         (long long)h, (long long)w, (int)c->k, (int)c->k);
    lw->params = (int64_t)c->out * c->in * c->k * c->k + 2 * (int64_t)c->out;
    lw->macs = oh * ow * (int64_t)c->out * c->in * c->k * c->k;
    if (m->stem_pool) oh = window_out(oh, 3, 2, 1), ow = window_out(ow, 3, 2, 1);
    lw->c = c->out, lw->h = oh, lw->w = ow;
    for (int32_t i = 0; i < m->nblocks && i < index; i++) {
        const nn_block *b = &m->blocks[i];
        lw->params = rn__nn_block_params(b);
        lw->macs = rn__nn_block_macs(b, lw->h, lw->w);
        rn__nn_block_out_hw(b, lw->h, lw->w, &lw->h, &lw->w);
        lw->c = b->out;
        if (lw->h < 1 || lw->w < 1)
            return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: a %lldx%lld input is too small for %s",
                             fn, (long long)h, (long long)w, "the model's blocks");
    }
    if (index == m->nblocks + 1) { /* head: global average pool + fc */
        lw->params = (int64_t)m->classes * m->fc_in + m->classes;
        lw->macs = (int64_t)m->classes * m->fc_in;
        lw->c = m->classes, lw->h = lw->w = 1;
    }
    return RN_OK;
}

static rn_status check_model(const rn_model *m, int64_t h, int64_t w, const char *fn) {
    if (!m->has_stem || !m->has_head)
        return rn__error(m->ctx, RN_E_BAD_STATE,
                         "%s: the model is incomplete (it needs a stem and a head)", fn);
    if (h < 1 || w < 1 || h > INT32_MAX || w > INT32_MAX)
        return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: input size %lldx%lld is outside [1, 2^31)",
                         fn, (long long)h, (long long)w);
    return RN_OK;
}

rn_status rn_model_layer_count(const rn_model *m, int32_t *count) {
    if (!m) return RN_E_INVALID_ARG;
    if (!count) return rn__error(m->ctx, RN_E_INVALID_ARG, "rn_model_layer_count: count is NULL");
    *count = m->has_stem + m->nblocks + m->has_head;
    return RN_OK;
}

rn_status rn_model_layer_info(const rn_model *m, int32_t index, int64_t h, int64_t w, char *name,
                              size_t name_cap, int64_t out_dims[4], int64_t *params,
                              int64_t *macs) {
    static const char fn[] = "rn_model_layer_info";
    if (!m) return RN_E_INVALID_ARG;
    rn_status st = check_model(m, h, w, fn);
    if (st) return st;
    if (index < 0 || index > m->nblocks + 1)
        return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: index %d is outside [0, %d)", fn,
                         (int)index, (int)m->nblocks + 2);
    layer_walk lw;
    if ((st = walk(m, index, h, w, &lw, fn)) != RN_OK) return st;
    if (name && name_cap > 0) {
        char buf[32];
        if (index == 0)
            rn_memcpy(buf, "stem", 5);
        else if (index == m->nblocks + 1)
            rn_memcpy(buf, "fc", 3);
        else
            rn__nn_block_name(buf, m->blocks[index - 1].stage, m->blocks[index - 1].index);
        size_t n = rn_strlen(buf);
        if (n >= name_cap) n = name_cap - 1;
        rn_memcpy(name, buf, n);
        name[n] = '\0';
    }
    /* PyTorch's order for one image: (1, C, H, W) */
    if (out_dims) out_dims[0] = 1, out_dims[1] = lw.c, out_dims[2] = lw.h, out_dims[3] = lw.w;
    if (params) *params = lw.params;
    if (macs) *macs = lw.macs;
    return RN_OK;
}

rn_status rn_model_macs(const rn_model *m, int64_t h, int64_t w, int64_t *macs) {
    static const char fn[] = "rn_model_macs";
    if (!m) return RN_E_INVALID_ARG;
    if (!macs) return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: macs is NULL", fn);
    rn_status st = check_model(m, h, w, fn);
    if (st) return st;
    layer_walk lw;
    if ((st = walk(m, 0, h, w, &lw, fn)) != RN_OK) return st;
    int64_t total = lw.macs;
    for (int32_t i = 0; i < m->nblocks; i++) {
        const nn_block *b = &m->blocks[i];
        total += rn__nn_block_macs(b, lw.h, lw.w);
        rn__nn_block_out_hw(b, lw.h, lw.w, &lw.h, &lw.w);
        if (lw.h < 1 || lw.w < 1)
            return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: a %lldx%lld input is too small", fn,
                             (long long)h, (long long)w);
    }
    *macs = total + (int64_t)m->classes * m->fc_in;
    return RN_OK;
}

/* ---- the structure for graph writers (nn.h) ----------------------------------- */
static void conv_shape(const nn_conv *c, nn_conv_shape *out) {
    out->in = c->in, out->out = c->out, out->k = c->k, out->stride = c->stride, out->pad = c->pad;
}

void rn__nn_model_shape(const rn_model *m, nn_model_shape *out) {
    rn_memset(out, 0, sizeof *out);
    out->complete = m->has_stem && m->has_head;
    out->quantized = m->q != NULL;
    out->in_channels = m->in_channels, out->classes = m->classes;
    conv_shape(&m->stem_conv, &out->stem);
    out->stem_pool = m->stem_pool;
    out->nblocks = m->nblocks;
}

void rn__nn_block_shape(const rn_model *m, int32_t i, nn_block_shape *out) {
    const nn_block *b = &m->blocks[i];
    rn_memset(out, 0, sizeof *out);
    rn__nn_block_name(out->name, b->stage, b->index);
    out->in = b->in, out->out = b->out, out->stride = b->stride;
    out->nconv = b->nconv;
    for (int32_t j = 0; j < b->nconv; j++) conv_shape(&b->conv[j], &out->conv[j]);
    out->sc = b->sc;
    if (b->sc == NN_SC_PROJ) conv_shape(&b->ds_conv, &out->proj);
}
