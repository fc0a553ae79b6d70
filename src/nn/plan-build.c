/*
 * Building a plan's program: the steps (op calls) of a forward pass and, in
 * training, of the backward pass, over numbered buffers whose sizes are
 * known here and whose offsets the memory planner (plan-memory.c) assigns.
 *
 * Every emitter runs twice with identical arguments: a counting pass that
 * only numbers steps and buffers, then a pass that fills the arrays sized by
 * the first. Shapes are checked on the way: a window that does not fit, or a
 * size that would overflow, records the first failure with the layer's name.
 *
 * What training keeps (docs/architecture.md, "Plans"): each conv input, each BN input
 * with its batch mean and inverse std, each ReLU output. A residual block's
 * last BN adds the shortcut and applies the ReLU in its own pass, so the
 * block's output is that BN's output. Inference runs BN in place on the
 * conv output (and, folded, the addition in place), so a block needs its
 * input, one temporary and its output.
 */
#include "nn-internal.h"

int32_t rn__nn_new_bytes(nn_builder *b, size_t bytes) {
    nn_prog *p = b->prog;
    int32_t id = p->nbufs++;
    if (p->bufs) {
        nn_buf *f = &p->bufs[id];
        f->bytes = bytes;
        f->first = INT32_MAX;
        f->last = -1;
        f->offset = 0;
    }
    return id;
}

static void fail(nn_builder *b, rn_status st) {
    if (b->status == RN_OK) b->status = st;
}

int32_t rn__nn_new_buf(nn_builder *b, int64_t floats) {
    size_t bytes = 0;
    if (floats < 0 || floats > RN_TENSOR_MAX_ELEMENTS ||
        !rn__mul_size((size_t)floats, sizeof(float), &bytes)) {
        if (b->status == RN_OK)
            rn__error(b->ctx, RN_E_OVERFLOW,
                      "rn_plan_create: %s: a buffer of %lld floats is too big", b->where,
                      (long long)floats);
        fail(b, RN_E_OVERFLOW);
        bytes = 0;
    }
    return rn__nn_new_bytes(b, bytes);
}

static int32_t new_ws(nn_builder *b, size_t bytes) {
    if (bytes == SIZE_MAX) {
        if (b->status == RN_OK)
            rn__error(b->ctx, RN_E_OVERFLOW, "rn_plan_create: %s: the op workspace is too big",
                      b->where);
        fail(b, RN_E_OVERFLOW);
        bytes = 0;
    }
    return rn__nn_new_bytes(b, bytes);
}

static nn_val new_val(nn_builder *b, int64_t n, int64_t h, int64_t w, int64_t c) {
    nn_val v = {-1, n, h, w, c};
    int64_t count = rn__numel4(n, h, w, c);
    if (count < 0 || h > INT32_MAX || w > INT32_MAX) {
        if (b->status == RN_OK)
            rn__error(b->ctx, RN_E_OVERFLOW,
                      "rn_plan_create: %s: the activation (%lld,%lld,%lld,%lld) is too big",
                      b->where, (long long)n, (long long)h, (long long)w, (long long)c);
        fail(b, RN_E_OVERFLOW);
        count = 1;
    }
    v.buf = rn__nn_new_buf(b, count);
    return v;
}

static int64_t numel(nn_val v) { return v.n * v.h * v.w * v.c; }

nn_step *rn__nn_add_step(nn_builder *b, int32_t op) {
    nn_prog *p = b->prog;
    nn_step *s = p->steps ? &p->steps[p->nsteps] : &b->scratch;
    p->nsteps++;
    rn_memset(s, 0, sizeof *s);
    s->op = op;
    s->x = s->x2 = s->x3 = s->y = s->aux1 = s->aux2 = s->aux3 = s->ws = -1;
    return s;
}

void rn__nn_where(nn_builder *b, const char *s) {
    size_t n = rn_strlen(s);
    if (n >= sizeof b->where) n = sizeof b->where - 1;
    rn_memcpy(b->where, s, n);
    b->where[n] = '\0';
}

nn_val rn__nn_emit_logits(nn_builder *b, const rn_model *m, nn_val g, int32_t op, size_t ws_bytes) {
    nn_prog *p = b->prog;
    nn_val logits = {rn__nn_new_buf(b, g.n * m->classes), g.n, 1, 1, m->classes};
    int32_t ws = op == NN_OP_LINEAR ? rn__nn_new_bytes(b, ws_bytes) : -1;
    nn_step *s = rn__nn_add_step(b, op);
    s->x = g.buf, s->y = logits.buf, s->ws = ws, s->n = (size_t)g.n, s->c = (size_t)g.c;
    s->oc = (size_t)m->classes, s->fc_w = m->fc_w, s->fc_b = m->fc_b;
    s = rn__nn_add_step(b, NN_OP_STORE);
    s->x = logits.buf, s->ext = NN_EXT_OTHER, s->n = (size_t)g.n, s->h = s->w = 1;
    s->c = (size_t)m->classes;
    p->logits_buf = logits.buf;
    p->fwd_end = p->bwd_end = p->nsteps;
    return logits;
}

static rn_conv_desc conv_desc(nn_builder *b, const nn_conv *c, nn_val x) {
    rn_conv_desc d;
    rn_memset(&d, 0, sizeof d);
    d.n = (int32_t)x.n, d.h = (int32_t)x.h, d.w = (int32_t)x.w, d.c = (int32_t)x.c;
    d.oc = c->out, d.kh = d.kw = c->k, d.sh = d.sw = c->stride, d.ph = d.pw = c->pad;
    if (!rn__conv_desc_init(&d)) {
        if (b->status == RN_OK)
            rn__error(b->ctx, RN_E_INVALID_ARG,
                      "rn_plan_create: input too small: at %s a %dx%d convolution (stride %d, "
                      "pad %d) does not fit its %lldx%lld input",
                      b->where, (int)c->k, (int)c->k, (int)c->stride, (int)c->pad, (long long)x.h,
                      (long long)x.w);
        fail(b, RN_E_INVALID_ARG);
        d.oh = d.ow = 1;
    }
    return d;
}

/* How a plan holds the weights of a chosen algorithm (NN_W_*). */
static int32_t weight_form(int32_t algo) {
    return algo == RN_CONV_ALGO_WINOGRAD     ? NN_W_WINOGRAD
           : algo == RN_CONV_ALGO_WINOGRAD2  ? NN_W_WINOGRAD2
           : algo == RN_CONV_ALGO_PACKED     ? NN_W_PACKED
           : algo == RN_CONV_ALGO_WINOGRAD_W ? NN_W_WINOGRAD_W
                                             : NN_W_PLAIN;
}

/* The algorithm of one pass of a convolution step (src/ops/conv2d-algo.c
 * decides): inference plans of a model offer derived forms, which are the
 * model's to share (plan-derived.c): a form the model already holds costs
 * nothing, a new one claims the model's budget in program order (input side
 * first, where Winograd pays most per byte: ResNet-18/50 layer1 saves 0.5 ms
 * for 0.6 MB) and falls back to the plain algorithm once it is spent. In a
 * model packed for inference every forward step that does not take Winograd
 * runs the conv's panels, which need no budget. Training plans offer the
 * per-call Winograd of the backward passes (offer 0: the plain algorithms
 * only). Fills the step's algo, wmode, dw, pk and returns the workspace
 * bytes; logs the choice once (the filling pass) at RN_LOG_INFO. */
size_t rn__nn_conv_algo(nn_builder *b, nn_step *s, int32_t pass, int32_t offer) {
    const rn_conv_desc *d = &s->cd;
    rn_model *m = b->model;
    const nn_derived *pk =
        m && pass == RN_CONV_PASS_FORWARD && s->conv ? rn__nn_derived_panels(m, s->conv) : NULL;
    uint32_t use = 0;
    if (b->status == RN_OK && (offer || pk))
        use = b->train ? RN_CONV_USE_TRAIN : b->derive ? RN_CONV_USE_DERIVED : 0;
    rn_conv_choice ch = rn__conv_choose(b->ctx, d, pass, use);
    nn_derived *dw = NULL;
    if (ch.derived_bytes) {
        const int32_t form = weight_form(ch.algo);
        dw = !m                          ? NULL
             : pk && form == NN_W_PACKED ? (nn_derived *)(uintptr_t)pk
                                         : rn__nn_derived_find(m, s->conv, form);
        const size_t bytes = rn__align_up(ch.derived_bytes, RN_ALIGN);
        const size_t budget = m ? rn__conv_derived_budget(m->packed) : 0;
        if (!m || (!dw &&
                   (m->derived_bytes > budget || bytes > budget - m->derived_bytes - b->new_bytes ||
                    b->new_bytes > budget - m->derived_bytes))) {
            ch = rn__conv_choose(b->ctx, d, pass, 0);
            dw = NULL;
        } else if (!dw) {
            b->new_bytes += bytes;
        }
    }
    const int wino = ch.algo == RN_CONV_ALGO_WINOGRAD || ch.algo == RN_CONV_ALGO_WINOGRAD2;
    if (pk && !wino) {
        /* the panels replace the weights: they run every other case */
        const size_t need = rn__conv_panels_workspace(d);
        ch.algo = RN_CONV_ALGO_PACKED;
        dw = (nn_derived *)(uintptr_t)pk;
        if (need > ch.workspace) ch.workspace = need;
    } else if (pk) {
        /* Winograd, whose fallback (RN_OPT_WINOGRAD 0 at run time) runs the panels */
        const size_t need = rn__conv_panels_workspace(d);
        if (need > ch.workspace) ch.workspace = need;
    }
    s->algo = ch.algo;
    /* a bf16 step holds the weights as its fp32 fallback does (plan-run.c) */
    s->wmode = weight_form(ch.algo == RN_CONV_ALGO_BF16 ? ch.fallback : ch.algo);
    s->dw = dw; /* NULL for a form still to be made (rn__nn_prog_share) */
    s->pk = pk;
    if (b->prog->steps && b->status == RN_OK)
        rn__log(b->ctx, RN_LOG_INFO,
                "rn_plan_create: %s: conv %dx%dx%dx%d>%d k%dx%d s%d p%d %s: %s%s", b->where,
                (int)d->n, (int)d->h, (int)d->w, (int)d->c, (int)d->oc, (int)d->kh, (int)d->kw,
                (int)d->sh, (int)d->ph, rn__conv_pass_name(pass), rn__conv_algo_name(ch.algo),
                rn__conv_runs_rows(b->ctx, d, pass, ch.algo) ? " (rows)" : "");
    return ch.workspace;
}

nn_val rn__nn_emit_conv(nn_builder *b, const nn_conv *c, nn_val x, int32_t relu) {
    rn_conv_desc d = conv_desc(b, c, x);
    nn_val y = new_val(b, x.n, d.oh, d.ow, c->out);
    nn_step *s = rn__nn_add_step(b, NN_OP_CONV);
    s->x = x.buf, s->y = y.buf, s->conv = c, s->cd = d, s->relu = relu;
    s->ws = new_ws(b, rn__nn_conv_algo(b, s, RN_CONV_PASS_FORWARD, 1));
    return y;
}

/* A convolution that adds its result into acc (which holds the shortcut),
 * then ReLU: the residual addition of a folded inference block without a
 * pass of its own (the GEMM, the panels' or indirect tiles, or the Winograd
 * output transform accumulate: plan-run.c). */
static void emit_conv_residual(nn_builder *b, const nn_conv *c, nn_val x, nn_val acc) {
    rn_conv_desc d = conv_desc(b, c, x);
    if ((int64_t)d.oh != acc.h || (int64_t)d.ow != acc.w || (int64_t)c->out != acc.c) {
        if (b->status == RN_OK)
            rn__error(b->ctx, RN_E_INVALID_ARG,
                      "rn_plan_create: at %s the shortcut gives %lldx%lldx%lld but the residual "
                      "branch %dx%dx%d",
                      b->where, (long long)acc.h, (long long)acc.w, (long long)acc.c, (int)d.oh,
                      (int)d.ow, (int)c->out);
        fail(b, RN_E_INVALID_ARG);
    }
    nn_step *s = rn__nn_add_step(b, NN_OP_CONV);
    s->x = x.buf, s->y = acc.buf, s->conv = c, s->cd = d, s->relu = 1, s->residual = 1;
    s->ws = new_ws(b, rn__nn_conv_algo(b, s, RN_CONV_PASS_FORWARD, 1));
}

/* Batch norm of x, then the residual res (buffer id, -1 for none) added,
 * then the ReLU if relu. A ReLU without a residual saves the apply
 * coefficients in *ab_buf (when not NULL): the backward pass recomputes the
 * mask from them and x instead of reading the output again. */
static nn_val emit_bn(nn_builder *b, const nn_bn *bn, nn_val x, int32_t res, int32_t relu,
                      int32_t *mean_buf, int32_t *invstd_buf, int32_t *ab_buf) {
    size_t rows = (size_t)(x.n * x.h * x.w);
    if (ab_buf) *ab_buf = -1;
    if (!b->train) {
        nn_step *s = rn__nn_add_step(b, NN_OP_BN_EVAL);
        s->x = s->y = x.buf, s->bn = bn, s->n = rows, s->c = (size_t)x.c, s->relu = relu;
        s->x2 = res;
        *mean_buf = *invstd_buf = -1;
        return x;
    }
    if (rows < 2) {
        /* torch.nn.BatchNorm2d refuses too: no variance from one value */
        if (b->status == RN_OK)
            rn__error(b->ctx, RN_E_INVALID_ARG,
                      "rn_plan_create: at %s train-mode batch norm would see one value per "
                      "channel (batch x height x width = 1); use a larger batch or input",
                      b->where);
        fail(b, RN_E_INVALID_ARG);
    }
    nn_val y = new_val(b, x.n, x.h, x.w, x.c);
    *mean_buf = rn__nn_new_buf(b, x.c);
    *invstd_buf = rn__nn_new_buf(b, x.c);
    const int32_t ab = ab_buf && relu && res < 0 ? rn__nn_new_buf(b, 2 * x.c) : -1;
    if (ab_buf) *ab_buf = ab;
    nn_step *s = rn__nn_add_step(b, NN_OP_BN_TRAIN);
    s->x = x.buf, s->y = y.buf, s->aux1 = *mean_buf, s->aux2 = *invstd_buf, s->aux3 = ab;
    s->bn = bn, s->n = rows, s->c = (size_t)x.c, s->relu = relu, s->x2 = res;
    return y;
}

nn_val rn__nn_emit_bn(nn_builder *b, const nn_bn *bn, nn_val x, int32_t relu, int32_t *mean_buf,
                      int32_t *invstd_buf, int32_t *ab_buf) {
    return emit_bn(b, bn, x, -1, relu, mean_buf, invstd_buf, ab_buf);
}

static void emit_add(nn_builder *b, nn_val a, nn_val other, int32_t relu) {
    nn_step *s = rn__nn_add_step(b, NN_OP_ADD);
    s->x = s->y = a.buf, s->x2 = other.buf, s->n = (size_t)numel(a), s->relu = relu;
}

/* The shortcut of a block with one (x is the block's input): the
 * identity, option A's padded copy, or the projection. */
static nn_val emit_shortcut(nn_builder *b, const nn_block *blk, nn_val x, nn_block_saved *sv) {
    nn_val sc = x;
    if (blk->sc == NN_SC_PAD) {
        sc = new_val(b, x.n, (x.h + blk->stride - 1) / blk->stride,
                     (x.w + blk->stride - 1) / blk->stride, blk->out);
        nn_step *s = rn__nn_add_step(b, NN_OP_SHORTCUT_A);
        s->x = x.buf, s->y = sc.buf;
        s->n = (size_t)x.n, s->h = (size_t)x.h, s->w = (size_t)x.w, s->c = (size_t)x.c;
        s->stride = (size_t)blk->stride, s->oc = (size_t)blk->out;
    } else if (blk->sc == NN_SC_PROJ) {
        if (b->folded) {
            sc = rn__nn_emit_conv(b, &blk->ds_conv, x, 0);
            sv->ds_out = sc;
            sv->ds_mean = sv->ds_invstd = -1;
        } else {
            sv->ds_out = rn__nn_emit_conv(b, &blk->ds_conv, x, 0);
            sc = rn__nn_emit_bn(b, &blk->ds_bn, sv->ds_out, 0, &sv->ds_mean, &sv->ds_invstd, NULL);
        }
    }
    return sc;
}

/* The residual branch's output t and the shortcut sc must have one shape. */
static void check_residual(nn_builder *b, nn_val sc, nn_val t) {
    if (sc.h == t.h && sc.w == t.w && sc.c == t.c) return;
    if (b->status == RN_OK)
        rn__error(b->ctx, RN_E_INVALID_ARG,
                  "rn_plan_create: at %s the shortcut gives %lldx%lldx%lld but the residual "
                  "branch %lldx%lldx%lld",
                  b->where, (long long)sc.h, (long long)sc.w, (long long)sc.c, (long long)t.h,
                  (long long)t.w, (long long)t.c);
    fail(b, RN_E_INVALID_ARG);
}

nn_val rn__nn_emit_block_forward(nn_builder *b, const nn_block *blk, nn_val x, nn_block_saved *sv) {
    rn_memset(sv, 0, sizeof *sv);
    sv->x = x;
    for (int32_t i = 0; i < 3; i++) sv->ab[i] = -1;
    nn_val t = x;
    /* Folded inference: a last convolution of stride 1 (the bottleneck's
     * 1x1 conv3, the basic block's 3x3 conv2) runs after the shortcut and
     * adds into it: the GEMM, the panels' tiles or the Winograd output
     * transform accumulate into the shortcut, so the sum and its ReLU cost
     * no pass over the block's output. The identity shortcut is the block's
     * input, which nothing reads after the block; option A's padded copy
     * and the projection are buffers of their own. A 1x1 must be unpadded
     * (a direct GEMM: rn__conv2d_forward_residual); a 3x3 takes Winograd,
     * the panels or the indirect path, which all add the shortcut after the
     * bias: the bits of the separate add pass. */
    const nn_conv *lc = &blk->conv[blk->nconv - 1];
    const int32_t fuse = b->folded && !b->train && blk->sc != NN_SC_NONE && lc->stride == 1 &&
                         ((lc->k == 1 && lc->pad == 0) || lc->k == 3);
    const int32_t last = blk->nconv - 1;
    for (int32_t i = 0; i < blk->nconv - fuse; i++) {
        /* the ReLU follows every BN but the last, which waits for the addition */
        int32_t relu = i < last || blk->sc == NN_SC_NONE;
        sv->conv_in[i] = t;
        if (b->folded) {
            t = rn__nn_emit_conv(b, &blk->conv[i], t, relu);
            sv->conv_out[i] = sv->bn_out[i] = t;
            sv->mean[i] = sv->invstd[i] = -1;
        } else if (i == last && blk->sc != NN_SC_NONE) {
            /* the last BN adds the shortcut and applies the ReLU in its own
             * pass: y = relu(BN(c) + shortcut), the block's output */
            nn_val c = rn__nn_emit_conv(b, &blk->conv[i], t, 0);
            sv->conv_out[i] = c;
            nn_val sc = emit_shortcut(b, blk, x, sv);
            check_residual(b, sc, c);
            t = emit_bn(b, &blk->bn[i], c, sc.buf, 1, &sv->mean[i], &sv->invstd[i], NULL);
            sv->bn_out[i] = sv->y = t;
            return t;
        } else {
            nn_val c = rn__nn_emit_conv(b, &blk->conv[i], t, 0);
            sv->conv_out[i] = c;
            t = rn__nn_emit_bn(b, &blk->bn[i], c, relu, &sv->mean[i], &sv->invstd[i], &sv->ab[i]);
            sv->bn_out[i] = t;
        }
    }
    if (blk->sc == NN_SC_NONE) {
        sv->y = t;
        return t;
    }
    nn_val sc = emit_shortcut(b, blk, x, sv);
    if (fuse) {
        sv->conv_in[last] = t;
        emit_conv_residual(b, lc, t, sc);
        sv->conv_out[last] = sv->bn_out[last] = sc;
        sv->mean[last] = sv->invstd[last] = -1;
        sv->y = sc;
        return sc;
    }
    check_residual(b, sc, t);
    /* y = relu(F(x) + shortcut), written over F(x) */
    emit_add(b, t, sc, 1);
    sv->y = t;
    return t;
}

/* relu_y: the ReLU output to mask with, or -1; ab: the forward's saved
 * coefficients to recompute that mask from instead, or -1. */
static void emit_bn_backward(nn_builder *b, const nn_bn *bn, nn_val x, nn_val dy, int32_t relu_y,
                             int32_t ab, int32_t mean, int32_t invstd, nn_val dx) {
    nn_step *s = rn__nn_add_step(b, NN_OP_BN_BWD);
    s->x = x.buf, s->x2 = dy.buf, s->x3 = ab >= 0 ? -1 : relu_y, s->aux3 = ab;
    s->aux1 = mean, s->aux2 = invstd, s->y = dx.buf;
    s->bn = bn, s->n = (size_t)(x.n * x.h * x.w), s->c = (size_t)x.c;
}

static void emit_conv_backward_weights(nn_builder *b, const nn_conv *c, nn_val x, nn_val dy) {
    rn_conv_desc d = conv_desc(b, c, x);
    nn_step *s = rn__nn_add_step(b, NN_OP_CONV_BWD_W);
    s->x = x.buf, s->x2 = dy.buf, s->conv = c, s->cd = d;
    s->ws = new_ws(b, rn__nn_conv_algo(b, s, RN_CONV_PASS_BACKWARD_WEIGHTS, 1));
}

static nn_val emit_conv_backward_data(nn_builder *b, const nn_conv *c, nn_val x, nn_val dy) {
    rn_conv_desc d = conv_desc(b, c, x);
    nn_val dx = new_val(b, x.n, x.h, x.w, x.c);
    nn_step *s = rn__nn_add_step(b, NN_OP_CONV_BWD_DATA);
    s->x2 = dy.buf, s->y = dx.buf, s->conv = c, s->cd = d;
    s->ws = new_ws(b, rn__nn_conv_algo(b, s, RN_CONV_PASS_BACKWARD_DATA, 1));
    return dx;
}

/* The step emitted last (in the counting pass, the scratch step it wrote),
 * or NULL. */
static nn_step *last_step(nn_builder *b) {
    nn_prog *p = b->prog;
    if (p->nsteps == 0) return NULL;
    return p->steps ? &p->steps[p->nsteps - 1] : &b->scratch;
}

nn_val rn__nn_emit_block_backward(nn_builder *b, const nn_block *blk, const nn_block_saved *sv,
                                  nn_val dy, int32_t need_dx) {
    int32_t last = blk->nconv - 1, masked_in_bn = 1;
    nn_val d = dy;
    if (blk->sc == NN_SC_IDENTITY || blk->sc == NN_SC_PAD) {
        /* both branches need dz = dy * (y > 0): computed once, in place.
         * Where dy is the sum the next block's backward just emitted (its
         * two branches' gradients added in place, dy = dy + other), that
         * addition becomes this pass: dz = (y > 0 ? dy + other : 0), the
         * same bits in one pass over the map instead of two. */
        nn_step *prev = last_step(b);
        if (prev && prev->op == NN_OP_ADD && !prev->relu && prev->x == dy.buf &&
            prev->y == dy.buf && prev->x3 < 0) {
            prev->op = NN_OP_RELU_BWD;
            prev->x3 = prev->x2, prev->x2 = dy.buf, prev->x = sv->y.buf;
        } else {
            nn_step *s = rn__nn_add_step(b, NN_OP_RELU_BWD);
            s->x = sv->y.buf, s->x2 = dy.buf, s->y = dy.buf, s->n = (size_t)numel(dy);
        }
        masked_in_bn = 0;
    }
    nn_val dz = d;
    for (int32_t i = last; i >= 0; i--) {
        nn_val c = sv->conv_out[i];
        nn_val dc = new_val(b, c.n, c.h, c.w, c.c);
        int32_t relu_y = i < last ? sv->bn_out[i].buf : masked_in_bn ? sv->y.buf : -1;
        /* a ReLU without a residual (relu_y is this BN's own output) has
         * its mask recomputed from c (sv->ab[i]) */
        emit_bn_backward(b, &blk->bn[i], c, d, relu_y, sv->ab[i], sv->mean[i], sv->invstd[i], dc);
        emit_conv_backward_weights(b, &blk->conv[i], sv->conv_in[i], dc);
        if (i > 0 || need_dx) d = emit_conv_backward_data(b, &blk->conv[i], sv->conv_in[i], dc);
    }
    if (!need_dx) d.buf = -1;
    if (blk->sc == NN_SC_IDENTITY) {
        if (need_dx) emit_add(b, d, dz, 0);
    } else if (blk->sc == NN_SC_PAD) {
        if (need_dx) {
            nn_val x = sv->x, t = new_val(b, x.n, x.h, x.w, x.c);
            nn_step *s = rn__nn_add_step(b, NN_OP_SHORTCUT_A_BWD);
            s->x2 = dz.buf, s->y = t.buf;
            s->n = (size_t)x.n, s->h = (size_t)x.h, s->w = (size_t)x.w, s->c = (size_t)x.c;
            s->stride = (size_t)blk->stride, s->oc = (size_t)blk->out;
            emit_add(b, d, t, 0);
        }
    } else if (blk->sc == NN_SC_PROJ) {
        nn_val o = sv->ds_out, dd = new_val(b, o.n, o.h, o.w, o.c);
        emit_bn_backward(b, &blk->ds_bn, o, dy, sv->y.buf, -1, sv->ds_mean, sv->ds_invstd, dd);
        emit_conv_backward_weights(b, &blk->ds_conv, sv->x, dd);
        if (need_dx) emit_add(b, d, emit_conv_backward_data(b, &blk->ds_conv, sv->x, dd), 0);
    }
    return d;
}

void rn__nn_prog_free(rn_ctx *ctx, nn_prog *prog) {
    rn__free(ctx, prog->bufs);
    rn__free(ctx, prog->steps);
    prog->steps = NULL;
    prog->bufs = NULL;
}

rn_status rn__nn_prog_build(rn_ctx *ctx, nn_prog *prog, int32_t train, int32_t folded,
                            nn_emit_fn emit, const void *arg) {
    return rn__nn_prog_build_derived(ctx, prog, train, folded, 0, NULL, emit, arg);
}

void rn__nn_prog_derive(const rn_ctx *ctx, const nn_prog *prog) {
    (void)ctx;
    for (int32_t i = 0; i < prog->nsteps; i++) {
        const nn_step *s = &prog->steps[i];
        if (s->op == NN_OP_Q_CONV && s->wmode == NN_W_PACKED)
            rn__qconv2d_pack(&s->qd, s->qconv->w, s->qconv->bias, prog->derived + s->woff);
    }
}

/* Points every derived step at the model's entry, making the ones still
 * missing and remaking the stale ones (the model's values changed since)
 * from the model's current weights (the caller holds the lock). */
static rn_status share_derived(rn_ctx *ctx, rn_model *m, nn_prog *prog) {
    for (int32_t i = 0; i < prog->nsteps; i++) {
        nn_step *s = &prog->steps[i];
        if (s->op != NN_OP_CONV ||
            (s->wmode != NN_W_PACKED && s->wmode != NN_W_WINOGRAD && s->wmode != NN_W_WINOGRAD2))
            continue;
        prog->shared = 1;
        if (!s->dw) s->dw = rn__nn_derived_find(m, s->conv, s->wmode);
        if (!s->dw)
            s->dw = rn__nn_derived_make(m, ctx, s->conv, &s->cd, s->wmode, "rn_plan_create");
        if (!s->dw) return RN_E_NO_MEMORY;
        if (!s->dw->fixed && s->dw->version != m->version) rn__nn_derived_refresh(m, ctx, s->dw);
    }
    return RN_OK;
}

rn_status rn__nn_prog_build_derived(rn_ctx *ctx, nn_prog *prog, int32_t train, int32_t folded,
                                    int32_t derive, rn_model *model, nn_emit_fn emit,
                                    const void *arg) {
    nn_builder b;
    rn_memset(&b, 0, sizeof b);
    rn_memset(prog, 0, sizeof *prog);
    b.ctx = ctx, b.prog = prog, b.train = train, b.folded = folded, b.status = RN_OK;
    b.derive = derive;
    b.model = derive && model && !model->q ? model : NULL;
    if (b.model) rn__nn_model_lock(b.model);
    emit(&b, arg);
    if (b.status) {
        if (b.model) rn__nn_model_unlock(b.model);
        return b.status;
    }
    int32_t nsteps = prog->nsteps, nbufs = prog->nbufs;
    prog->steps = (nn_step *)rn__calloc(ctx, (size_t)nsteps, sizeof(nn_step));
    prog->bufs = prog->steps ? (nn_buf *)rn__calloc(ctx, (size_t)nbufs, sizeof(nn_buf)) : NULL;
    if (!prog->steps || !prog->bufs) {
        rn__nn_prog_free(ctx, prog);
        if (b.model) rn__nn_model_unlock(b.model);
        return rn__error(ctx, RN_E_NO_MEMORY,
                         "rn_plan_create: out of memory for a program of %d steps over %d buffers",
                         (int)nsteps, (int)nbufs);
    }
    prog->nsteps = prog->nbufs = 0;
    prog->derived_bytes = 0;
    b.new_bytes = 0;
    b.where[0] = '\0';
    emit(&b, arg);
    RN_ASSERT(prog->nsteps == nsteps && prog->nbufs == nbufs && b.status == RN_OK);
    rn_status st = b.model ? share_derived(ctx, b.model, prog) : RN_OK;
    if (b.model) prog->shared_bytes = b.model->derived_bytes;
    if (b.model) rn__nn_model_unlock(b.model);
    if (st == RN_OK) st = rn__nn_prog_plan_memory(ctx, prog);
    if (st) rn__nn_prog_free(ctx, prog);
    return st;
}
