/*
 * The program of an int8 model's inference plan (docs/int8.md): quantize the
 * float input, the stem convolution (+ ReLU) and max pool on int8, each
 * block as int8 convolutions whose last one adds the shortcut (identity,
 * option A on int8, or the int8 projection) and applies the ReLU in its
 * epilogue, then the average pool back to float and the float fc layer.
 * Buffers hold int8 activations (one byte each) up to the pool.
 */
#include "nn-internal.h"

nn_val rn__nn_new_val(nn_builder *b, int64_t n, int64_t h, int64_t w, int64_t c, size_t elem) {
    nn_val v = {-1, n, h, w, c};
    int64_t count = rn__numel4(n, h, w, c);
    size_t bytes = 0;
    if (count < 0 || h > INT32_MAX || w > INT32_MAX || !rn__mul_size((size_t)count, elem, &bytes)) {
        if (b->status == RN_OK)
            b->status = rn__error(b->ctx, RN_E_OVERFLOW,
                                  "rn_plan_create: %s: the activation (%lld,%lld,%lld,%lld) is "
                                  "too big",
                                  b->where, (long long)n, (long long)h, (long long)w, (long long)c);
        bytes = 0;
    }
    v.buf = rn__nn_new_bytes(b, bytes);
    return v;
}

/* One int8 convolution; r: the residual's buffer or -1. The convolution
 * that adds a residual writes its output over it: each output element reads
 * the residual at its own index only (every kernel's epilogue loads a row of
 * r before it stores that row of y), so the block needs no third
 * activation-sized buffer (a shape mismatch is refused before any run). */
static nn_val emit_qconv(nn_builder *b, const rn_model *m, const nn_conv *c, const nn_qconv *q,
                         nn_val x, int32_t r) {
    rn_qconv_desc d;
    rn_memset(&d, 0, sizeof d);
    d.n = (int32_t)x.n, d.h = (int32_t)x.h, d.w = (int32_t)x.w, d.cin = (int32_t)x.c;
    d.cout = c->out, d.k = c->k, d.stride = c->stride, d.pad = c->pad;
    if (c->k > RN_QCONV_MAX_K || (int64_t)c->k * c->k * x.c > 65536) {
        if (b->status == RN_OK)
            b->status = rn__error(b->ctx, RN_E_UNSUPPORTED,
                                  "rn_plan_create: at %s an int8 %dx%d convolution over %lld "
                                  "channels: int8 kernels take windows up to %dx%d and at most "
                                  "65536 products per output",
                                  b->where, (int)c->k, (int)c->k, (long long)x.c, RN_QCONV_MAX_K,
                                  RN_QCONV_MAX_K);
        d.oh = d.ow = 1;
    } else if (!rn__qconv_desc_init(&d)) {
        if (b->status == RN_OK)
            b->status = rn__error(b->ctx, RN_E_INVALID_ARG,
                                  "rn_plan_create: input too small: at %s a %dx%d convolution "
                                  "(stride %d, pad %d) does not fit its %lldx%lld input",
                                  b->where, (int)c->k, (int)c->k, (int)c->stride, (int)c->pad,
                                  (long long)x.h, (long long)x.w);
        d.oh = d.ow = 1;
    }
    nn_val y = {r, x.n, d.oh, d.ow, c->out};
    if (r < 0) y = rn__nn_new_val(b, x.n, d.oh, d.ow, c->out, 1);
    nn_step *s = rn__nn_add_step(b, NN_OP_Q_CONV);
    s->x = x.buf, s->x2 = r, s->y = y.buf, s->qconv = q, s->qd = d, s->relu = q->relu;
    /* weights packed once for the ISA's kernel (src/ops/conv2d-algo.c decides),
     * unless the caller keeps them in place (firmware: no copy in RAM) or the
     * plan's budget for derived weights is spent */
    uint32_t use = b->derive && !m->q->in_place && b->status == RN_OK ? RN_CONV_USE_DERIVED : 0;
    rn_conv_choice ch = rn__qconv_choose(b->ctx, &d, use);
    nn_prog *p = b->prog;
    size_t bytes = rn__align_up(ch.derived_bytes, RN_ALIGN);
    if (ch.derived_bytes && bytes > rn__qconv_derived_budget() - p->derived_bytes) {
        ch = rn__qconv_choose(b->ctx, &d, 0);
        bytes = 0;
    }
    s->algo = ch.algo;
    s->wmode = ch.derived_bytes ? NN_W_PACKED : NN_W_PLAIN;
    if (ch.derived_bytes) {
        s->woff = p->derived_bytes;
        p->derived_bytes += bytes;
    }
    s->ws = rn__nn_new_bytes(b, ch.workspace);
    if (b->prog->steps && b->status == RN_OK)
        rn__log(b->ctx, RN_LOG_INFO, "rn_plan_create: %s: int8 conv %dx%dx%dx%d>%d k%d s%d p%d %s",
                b->where, (int)d.n, (int)d.h, (int)d.w, (int)d.cin, (int)d.cout, (int)d.k,
                (int)d.stride, (int)d.pad, s->wmode == NN_W_PACKED ? "packed" : "in place");
    return y;
}

void rn__nn_emit_int8_model(nn_builder *b, const rn_model *m, int64_t n, int64_t h, int64_t w) {
    const nn_qnet *q = m->q;
    rn__nn_where(b, "the input");
    nn_val x = rn__nn_new_val(b, n, h, w, m->in_channels, 1);
    nn_step *s = rn__nn_add_step(b, NN_OP_Q_LOAD);
    s->y = x.buf, s->ext = NN_EXT_IMAGE, s->qscale = (float)(1.0 / (double)q->in_scale);
    s->n = (size_t)n, s->h = (size_t)h, s->w = (size_t)w, s->c = (size_t)m->in_channels;

    rn__nn_where(b, "conv1");
    nn_val t = emit_qconv(b, m, &m->stem_conv, &q->conv[0], x, -1);
    if (m->stem_pool) {
        rn__nn_where(b, "maxpool");
        rn_pool_desc pd;
        rn_memset(&pd, 0, sizeof pd);
        pd.n = (int32_t)t.n, pd.h = (int32_t)t.h, pd.w = (int32_t)t.w, pd.c = (int32_t)t.c;
        pd.kh = pd.kw = 3, pd.sh = pd.sw = 2, pd.ph = pd.pw = 1;
        if (!rn__pool_desc_init(&pd)) pd.oh = pd.ow = 1; /* cannot happen: pad 1 < kernel 3 */
        nn_val o = rn__nn_new_val(b, t.n, pd.oh, pd.ow, t.c, 1);
        s = rn__nn_add_step(b, NN_OP_Q_MAXPOOL);
        s->x = t.buf, s->y = o.buf, s->pd = pd;
        t = o;
    }
    int32_t k = 1;
    for (int32_t i = 0; i < m->nblocks; i++) {
        const nn_block *blk = &m->blocks[i];
        rn__nn_block_name(b->where, blk->stage, blk->index);
        nn_val xin = t, sc = t;
        int32_t r = -1;
        if (blk->sc == NN_SC_PAD) {
            sc = rn__nn_new_val(b, t.n, (t.h + blk->stride - 1) / blk->stride,
                                (t.w + blk->stride - 1) / blk->stride, blk->out, 1);
            s = rn__nn_add_step(b, NN_OP_Q_SHORTCUT_A);
            s->x = t.buf, s->y = sc.buf;
            s->n = (size_t)t.n, s->h = (size_t)t.h, s->w = (size_t)t.w, s->c = (size_t)t.c;
            s->stride = (size_t)blk->stride, s->oc = (size_t)blk->out;
        } else if (blk->sc == NN_SC_PROJ) {
            sc = emit_qconv(b, m, &blk->ds_conv, &q->conv[k + blk->nconv], t, -1);
        }
        if (blk->sc != NN_SC_NONE) r = sc.buf;
        for (int32_t j = 0; j < blk->nconv; j++)
            t = emit_qconv(b, m, &blk->conv[j], &q->conv[k + j], t, j == blk->nconv - 1 ? r : -1);
        if (r >= 0 && (sc.h != t.h || sc.w != t.w || sc.c != t.c) && b->status == RN_OK)
            b->status = rn__error(b->ctx, RN_E_INVALID_ARG,
                                  "rn_plan_create: at %s the shortcut gives %lldx%lldx%lld but the "
                                  "residual branch %lldx%lldx%lld",
                                  b->where, (long long)sc.h, (long long)sc.w, (long long)sc.c,
                                  (long long)t.h, (long long)t.w, (long long)t.c);
        (void)xin;
        k += blk->nconv + (blk->sc == NN_SC_PROJ);
    }
    rn__nn_where(b, "fc");
    const nn_qconv *last = &q->conv[rn__nn_last_activation(m)];
    nn_val g = {rn__nn_new_buf(b, t.n * t.c), t.n, 1, 1, t.c};
    s = rn__nn_add_step(b, NN_OP_Q_GAP);
    s->x = t.buf, s->y = g.buf, s->n = (size_t)t.n, s->h = (size_t)t.h, s->w = (size_t)t.w;
    s->c = (size_t)t.c;
    s->qscale = (float)((double)last->out_scale / ((double)t.h * (double)t.w));
    rn__nn_emit_logits(b, m, g, NN_OP_Q_LINEAR, 0);
}
