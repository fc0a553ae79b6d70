/*
 * Plans: a model's program for one (batch, height, width, mode), its arena
 * (bound by the caller or allocated once from the context), and the public
 * forward / backward entry points.
 *
 * The model program: input (NCHW or NHWC) -> NHWC in the arena; stem conv +
 * BN + ReLU (+ max pool); the blocks; global average pool + fc -> logits.
 * Training continues with softmax cross-entropy and the backward pass of
 * each of those in reverse, writing every parameter gradient into the
 * model; after that, a last optional part turns the stem's gradient into
 * the gradient of the input (rn_plan_input_grad).
 */
#include "nn-internal.h"

#define PLAN_FRESH 0
#define PLAN_FORWARD_DONE 1
#define PLAN_BACKWARD_DONE 2

struct rn_plan {
    rn_ctx *ctx;
    rn_model *model;
    int32_t mode, folded, packed;
    int64_t batch, h, w;
    nn_prog prog;
    void *own;                /* arena allocated from ctx, or NULL */
    void *derived;            /* int8 packed weights (prog.derived_bytes), or NULL */
    uint64_t derived_version; /* the model's version they (and the shared ones) were made from */
    unsigned char *arena;     /* aligned start of the arena in use; NULL until needed */
    int32_t state;
    nn_dist *dist; /* data-parallel training (a trainer's), or NULL */
};

typedef struct model_emit {
    const rn_model *m;
    int64_t n, h, w;
    nn_block_saved *saved;   /* one per block (training plans), else NULL */
    nn_block_saved *scratch; /* inference: every block's record, not kept */
} model_emit;

static void emit_model(nn_builder *b, const void *arg) {
    const model_emit *a = (const model_emit *)arg;
    const rn_model *m = a->m;
    nn_prog *p = b->prog;
    if (m->q) {
        rn__nn_emit_int8_model(b, m, a->n, a->h, a->w);
        return;
    }

    rn__nn_where(b, "the input");
    nn_val x = {rn__nn_new_buf(b, a->n * a->h * a->w * m->in_channels), a->n, a->h, a->w,
                m->in_channels};
    nn_step *s = rn__nn_add_step(b, NN_OP_LOAD);
    s->y = x.buf, s->ext = NN_EXT_IMAGE;
    s->n = (size_t)x.n, s->h = (size_t)x.h, s->w = (size_t)x.w, s->c = (size_t)x.c;

    rn__nn_where(b, "conv1");
    nn_val c = rn__nn_emit_conv(b, &m->stem_conv, x, b->folded), act = c;
    int32_t mean = -1, invstd = -1, ab = -1;
    if (!b->folded) act = rn__nn_emit_bn(b, &m->stem_bn, c, 1, &mean, &invstd, &ab);
    nn_val t = act;
    rn_pool_desc pd;
    rn_memset(&pd, 0, sizeof pd);
    if (m->stem_pool) {
        rn__nn_where(b, "maxpool");
        pd.n = (int32_t)act.n, pd.h = (int32_t)act.h, pd.w = (int32_t)act.w, pd.c = (int32_t)act.c;
        pd.kh = pd.kw = 3, pd.sh = pd.sw = 2, pd.ph = pd.pw = 1;
        if (!rn__pool_desc_init(&pd)) { /* cannot happen with pad 1 < kernel 3 */
            if (b->status == RN_OK)
                b->status = rn__error(b->ctx, RN_E_INVALID_ARG,
                                      "rn_plan_create: input too small for the max pool");
            pd.oh = pd.ow = 1;
        }
        t.n = act.n, t.h = pd.oh, t.w = pd.ow, t.c = act.c;
        t.buf = rn__nn_new_buf(b, t.n * t.h * t.w * t.c);
        s = rn__nn_add_step(b, NN_OP_MAXPOOL);
        s->x = act.buf, s->y = t.buf, s->pd = pd;
    }
    for (int32_t i = 0; i < m->nblocks; i++) {
        rn__nn_block_name(b->where, m->blocks[i].stage, m->blocks[i].index);
        t = rn__nn_emit_block_forward(b, &m->blocks[i], t, a->saved ? &a->saved[i] : a->scratch);
    }
    rn__nn_where(b, "fc");
    nn_val g = {rn__nn_new_buf(b, t.n * t.c), t.n, 1, 1, t.c};
    s = rn__nn_add_step(b, NN_OP_GAP);
    s->x = t.buf, s->y = g.buf, s->n = (size_t)t.n, s->h = (size_t)t.h, s->w = (size_t)t.w;
    s->c = (size_t)t.c;
    size_t lin_ws = rn__linear_workspace(b->ctx, (size_t)t.n, (size_t)t.c, (size_t)m->classes);
    nn_val logits = rn__nn_emit_logits(b, m, g, NN_OP_LINEAR, lin_ws);
    if (!b->train) return;

    nn_val dl = {rn__nn_new_buf(b, t.n * m->classes), t.n, 1, 1, m->classes};
    s = rn__nn_add_step(b, NN_OP_XENT);
    s->x = logits.buf, s->y = dl.buf, s->n = (size_t)t.n, s->c = (size_t)m->classes;
    nn_val dg = {rn__nn_new_buf(b, t.n * t.c), t.n, 1, 1, t.c};
    int32_t ws = rn__nn_new_bytes(b, lin_ws);
    s = rn__nn_add_step(b, NN_OP_LINEAR_BWD);
    s->x = g.buf, s->x2 = dl.buf, s->y = dg.buf, s->ws = ws, s->n = (size_t)t.n;
    s->c = (size_t)t.c, s->oc = (size_t)m->classes, s->fc_w = m->fc_w;
    s->fc_gw = m->fc_gw, s->fc_gb = m->fc_gb;
    nn_val dy = t;
    dy.buf = rn__nn_new_buf(b, t.n * t.h * t.w * t.c);
    s = rn__nn_add_step(b, NN_OP_GAP_BWD);
    s->x2 = dg.buf, s->y = dy.buf, s->n = (size_t)t.n, s->h = (size_t)t.h, s->w = (size_t)t.w;
    s->c = (size_t)t.c;
    for (int32_t i = m->nblocks - 1; i >= 0; i--) {
        rn__nn_block_name(b->where, m->blocks[i].stage, m->blocks[i].index);
        dy = rn__nn_emit_block_backward(b, &m->blocks[i], &a->saved[i], dy, 1);
    }
    rn__nn_where(b, "conv1");
    if (m->stem_pool) {
        nn_val da = act;
        da.buf = rn__nn_new_buf(b, act.n * act.h * act.w * act.c);
        s = rn__nn_add_step(b, NN_OP_MAXPOOL_BWD);
        s->x = act.buf, s->x2 = dy.buf, s->y = da.buf, s->pd = pd;
        dy = da;
    }
    nn_val dc = c;
    dc.buf = rn__nn_new_buf(b, c.n * c.h * c.w * c.c);
    s = rn__nn_add_step(b, NN_OP_BN_BWD);
    /* the ReLU's mask recomputed from c and the saved coefficients */
    s->x = c.buf, s->x2 = dy.buf, s->aux1 = mean, s->aux2 = invstd, s->aux3 = ab;
    s->y = dc.buf, s->bn = &m->stem_bn, s->n = (size_t)(c.n * c.h * c.w), s->c = (size_t)c.c;
    rn_conv_desc cd;
    rn_memset(&cd, 0, sizeof cd);
    cd.n = (int32_t)x.n, cd.h = (int32_t)x.h, cd.w = (int32_t)x.w, cd.c = (int32_t)x.c;
    cd.oc = m->stem_conv.out, cd.kh = cd.kw = m->stem_conv.k;
    cd.sh = cd.sw = m->stem_conv.stride, cd.ph = cd.pw = m->stem_conv.pad;
    if (!rn__conv_desc_init(&cd)) cd.oh = cd.ow = 1; /* reported by the forward emitter */
    /* the stem's backward passes take the plain algorithms: no Winograd */
    s = rn__nn_add_step(b, NN_OP_CONV_BWD_W);
    s->x = x.buf, s->x2 = dc.buf, s->conv = &m->stem_conv, s->cd = cd;
    s->ws = rn__nn_new_bytes(b, rn__nn_conv_algo(b, s, RN_CONV_PASS_BACKWARD_WEIGHTS, 0));
    p->bwd_end = p->nsteps;

    /* the input gradient, run only on request */
    nn_val dx = x;
    dx.buf = rn__nn_new_buf(b, x.n * x.h * x.w * x.c);
    s = rn__nn_add_step(b, NN_OP_CONV_BWD_DATA);
    s->x2 = dc.buf, s->y = dx.buf, s->conv = &m->stem_conv, s->cd = cd;
    s->ws = rn__nn_new_bytes(b, rn__nn_conv_algo(b, s, RN_CONV_PASS_BACKWARD_DATA, 0));
    s = rn__nn_add_step(b, NN_OP_STORE);
    s->x = dx.buf, s->ext = NN_EXT_IMAGE;
    s->n = (size_t)x.n, s->h = (size_t)x.h, s->w = (size_t)x.w, s->c = (size_t)x.c;
}

static rn_status create(rn_ctx *ctx, rn_model *m, int64_t batch, int64_t h, int64_t w, int32_t mode,
                        rn_plan **out) {
    static const char fn[] = "rn_plan_create";
    if (!out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: out is NULL", fn);
    if (!m->has_stem || !m->has_head)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model is incomplete (it needs a stem and a head)", fn);
    if (mode != RN_MODE_INFER && mode != RN_MODE_TRAIN)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: mode %d is neither RN_MODE_INFER (0) nor RN_MODE_TRAIN (1)", fn,
                         (int)mode);
    if (batch < 1 || h < 1 || w < 1)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: batch %lld, height %lld and width %lld must all be >= 1", fn,
                         (long long)batch, (long long)h, (long long)w);
    if (batch > INT32_MAX || h > INT32_MAX || w > INT32_MAX ||
        rn__numel4(batch, h, w, m->in_channels) < 0)
        return rn__error(ctx, RN_E_OVERFLOW,
                         "%s: an input of batch %lld x %d channels x %lld x %lld is too big", fn,
                         (long long)batch, (int)m->in_channels, (long long)h, (long long)w);
    if (mode == RN_MODE_TRAIN && m->packed)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model was packed for inference (rn_model_pack_for_inference); "
                         "its plain weights are gone and it cannot train",
                         fn);
    if (mode == RN_MODE_TRAIN && m->folded)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model's batch norms were folded for inference; it cannot train",
                         fn);
#ifdef RN_INFERENCE_ONLY
    if (mode == RN_MODE_TRAIN)
        return rn__error(ctx, RN_E_UNSUPPORTED, "%s: this build is inference-only", fn);
#endif
    if (mode == RN_MODE_TRAIN) {
        rn_status gst = rn__nn_model_ensure_grads(m, ctx, fn);
        if (gst) return gst;
    }
    /* what each block saves for its backward: only training plans keep it
     * (an inference plan reuses one record on the stack, so a context in a
     * caller's buffer is left no hole under the plan) */
    rn_plan *p = (rn_plan *)rn__calloc(ctx, 1, sizeof *p);
    nn_block_saved *saved =
        p && mode == RN_MODE_TRAIN
            ? (nn_block_saved *)rn__calloc(ctx, (size_t)m->nblocks + 1, sizeof(nn_block_saved))
            : NULL;
    if (!p || (mode == RN_MODE_TRAIN && !saved)) {
        rn__free(ctx, saved);
        rn__free(ctx, p);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the plan", fn);
    }
    nn_block_saved scratch;
    model_emit arg = {m, batch, h, w, saved, &scratch};
    rn_status st =
        rn__nn_prog_build_derived(ctx, &p->prog, mode == RN_MODE_TRAIN, m->folded,
                                  mode == RN_MODE_INFER && !m->no_derived, m, emit_model, &arg);
    rn__free(ctx, saved);
    if (st == RN_OK && p->prog.derived_bytes) {
        /* weights packed / transformed once here, again when the model changes */
        p->derived = rn__alloc(ctx, p->prog.derived_bytes);
        if (!p->derived) {
            rn__nn_prog_free(ctx, &p->prog);
            st = rn__error(ctx, RN_E_NO_MEMORY,
                           "%s: out of memory for %zu bytes of packed convolution weights", fn,
                           p->prog.derived_bytes);
        } else {
            p->prog.derived = (unsigned char *)p->derived;
            rn__nn_prog_derive(ctx, &p->prog);
            p->derived_version = m->version;
        }
    }
    if (st) {
        rn__free(ctx, p);
        return st;
    }
    p->derived_version = m->version;
    p->ctx = ctx, p->model = m, p->mode = mode, p->folded = m->folded, p->packed = m->packed;
    p->batch = batch, p->h = h, p->w = w, p->state = PLAN_FRESH;
    *out = p;
    rn__log(ctx, RN_LOG_INFO,
            "%s: %s plan for batch %lld at %lldx%lld: %zu steps, %zu-byte arena, %zu bytes of "
            "its own derived weights, %zu shared by the model's plans, %s kernels",
            fn, mode == RN_MODE_TRAIN ? "training" : "inference", (long long)batch, (long long)h,
            (long long)w, (size_t)p->prog.nsteps, p->prog.arena_bytes, p->prog.derived_bytes,
            p->prog.shared_bytes, rn_isa_name(ctx->active_isa));
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_plan_create(rn_model *m, int64_t batch, int64_t h, int64_t w, int32_t mode,
                         rn_plan **out) {
    if (!m) return RN_E_INVALID_ARG;
    return create(m->ctx, m, batch, h, w, mode, out);
}

rn_status rn_plan_create_with_ctx(rn_ctx *ctx, rn_model *m, int64_t batch, int64_t h, int64_t w,
                                  int32_t mode, rn_plan **out) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!m) return rn__error(ctx, RN_E_INVALID_ARG, "rn_plan_create_with_ctx: model is NULL");
    return create(ctx, m, batch, h, w, mode, out);
}

void rn_plan_destroy(rn_plan *p) {
    if (!p) return;
    rn_ctx *ctx = p->ctx;
    rn__free(ctx, p->own);
    rn__free(ctx, p->derived);
    rn__nn_prog_free(ctx, &p->prog);
    rn__free(ctx, p);
}

/* The arena plus slack to align any caller buffer to RN_ALIGN. */
static size_t needed_bytes(const rn_plan *p) { return p->prog.arena_bytes + (RN_ALIGN - 1); }

rn_status rn_plan_memory_size(const rn_plan *p, size_t *bytes) {
    if (!p) return RN_E_INVALID_ARG;
    if (!bytes) return rn__error(p->ctx, RN_E_INVALID_ARG, "rn_plan_memory_size: bytes is NULL");
    *bytes = needed_bytes(p);
    return RN_OK;
}

rn_status rn_plan_bind_memory(rn_plan *p, void *buffer, size_t size) {
    static const char fn[] = "rn_plan_bind_memory";
    if (!p) return RN_E_INVALID_ARG;
    if (!buffer) return rn__error(p->ctx, RN_E_INVALID_ARG, "%s: buffer is NULL", fn);
    if (size < needed_bytes(p))
        return rn__error(p->ctx, RN_E_BUFFER_TOO_SMALL,
                         "%s: the buffer has %zu bytes, the plan needs %zu (rn_plan_memory_size)",
                         fn, size, needed_bytes(p));
    rn__free(p->ctx, p->own);
    p->own = NULL;
    p->arena = (unsigned char *)rn__align_up((size_t)(uintptr_t)buffer, RN_ALIGN);
    p->state = PLAN_FRESH; /* whatever a train forward saved is gone */
    rn__clear_error(p->ctx);
    return RN_OK;
}

static rn_status ensure_arena(rn_plan *p, const char *fn) {
    if (p->arena) return RN_OK;
    p->own = rn__alloc(p->ctx, p->prog.arena_bytes);
    if (!p->own)
        return rn__error(p->ctx, RN_E_NO_MEMORY, "%s: out of memory for the plan's %zu-byte arena",
                         fn, p->prog.arena_bytes);
    p->arena = (unsigned char *)p->own;
    rn__log(p->ctx, RN_LOG_DEBUG, "%s: %zu-byte arena allocated from the context", fn,
            p->prog.arena_bytes);
    return RN_OK;
}

static rn_status check_model(const rn_plan *p, const char *fn) {
    if (p->model->folded != p->folded)
        return rn__error(p->ctx, RN_E_BAD_STATE,
                         "%s: the model was folded after this plan was created; create a new plan",
                         fn);
    if (p->model->packed != p->packed)
        return rn__error(p->ctx, RN_E_BAD_STATE,
                         "%s: the model was packed for inference after this plan was created; "
                         "create a new plan",
                         fn);
    return RN_OK;
}

/* Before a forward pass: the model still the one planned for (check set), the
 * arena there, and the packed / transformed weights made again when the
 * model's weights changed since. */
static rn_status ready(rn_plan *p, const char *fn, int check) {
    rn_status st = check ? check_model(p, fn) : RN_OK;
    if (st == RN_OK) st = ensure_arena(p, fn);
    if (st) return st;
    rn_model *m = p->model;
    if ((p->derived || p->prog.shared) && p->derived_version != m->version) {
        rn__log(p->ctx, RN_LOG_DEBUG, "%s: the model's weights changed: derived weights rebuilt",
                fn);
        if (p->derived) rn__nn_prog_derive(p->ctx, &p->prog);
        if (p->prog.shared) {
            /* the first plan to run after the change remakes the model's
             * entries; the others find them current */
            rn__nn_model_lock(m);
            for (int32_t i = 0; i < p->prog.nsteps; i++) {
                nn_derived *e = p->prog.steps[i].dw;
                if (e && !e->fixed && e->version != m->version)
                    rn__nn_derived_refresh(m, p->ctx, e);
            }
            rn__nn_model_unlock(m);
        }
        p->derived_version = m->version;
    }
    return RN_OK;
}

/* The run's inputs and outputs for a forward pass over `input`. */
static nn_run_io forward_io(const rn_plan *p, const float *input, int32_t layout) {
    nn_run_io io;
    rn_memset(&io, 0, sizeof io);
    io.in[NN_EXT_IMAGE] = input;
    io.layout = layout;
    io.dist = p->dist;
    return io;
}

static size_t input_floats(const rn_plan *p) {
    return (size_t)p->batch * (size_t)p->model->in_channels * (size_t)p->h * (size_t)p->w;
}

rn_status rn_plan_forward(rn_plan *p, const float *input, size_t input_count, int32_t layout,
                          float *logits, size_t logits_count) {
    static const char fn[] = "rn_plan_forward";
    if (!p) return RN_E_INVALID_ARG;
    rn_ctx *ctx = p->ctx;
    if (!input || !logits) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    RN_TRY(rn__check_layout(ctx, fn, layout));
    if (input_count != input_floats(p))
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: input has %zu floats, the plan expects %zu (batch %lld x %d "
                         "channels x %lld x %lld)",
                         fn, input_count, input_floats(p), (long long)p->batch,
                         (int)p->model->in_channels, (long long)p->h, (long long)p->w);
    size_t want = (size_t)p->batch * (size_t)p->model->classes;
    if (logits_count != want)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: logits has room for %zu floats, the plan writes %zu (batch %lld x "
                         "%d classes)",
                         fn, logits_count, want, (long long)p->batch, (int)p->model->classes);
    RN_TRY(ready(p, fn, 1));
    nn_run_io io = forward_io(p, input, layout);
    io.out[NN_EXT_OTHER] = logits;
    rn__nn_prog_run(ctx, &p->prog, 0, p->prog.fwd_end, p->arena, &io);
    p->state = p->mode == RN_MODE_TRAIN ? PLAN_FORWARD_DONE : PLAN_FRESH;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_plan_backward(rn_plan *p, const int32_t *labels, size_t num_labels, float *loss) {
    static const char fn[] = "rn_plan_backward";
    if (!p) return RN_E_INVALID_ARG;
    rn_ctx *ctx = p->ctx;
    if (p->mode != RN_MODE_TRAIN)
        return rn__error(ctx, RN_E_BAD_STATE, "%s: this is an RN_MODE_INFER plan", fn);
    if (p->state != PLAN_FORWARD_DONE)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: no train forward pass to differentiate: call rn_plan_forward first "
                         "(once per backward)",
                         fn);
    if (!labels) return rn__error(ctx, RN_E_INVALID_ARG, "%s: labels is NULL", fn);
    if (num_labels != (size_t)p->batch)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %zu labels for a batch of %lld", fn,
                         num_labels, (long long)p->batch);
    for (size_t i = 0; i < num_labels; i++)
        if (labels[i] < 0 || labels[i] >= p->model->classes)
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: labels[%zu] = %d is outside [0, %d)", fn,
                             i, (int)labels[i], (int)p->model->classes);
    rn_status st = check_model(p, fn);
    if (st) return st;
    nn_run_io io;
    rn_memset(&io, 0, sizeof io);
    io.labels = labels;
    io.dist = p->dist;
    rn__nn_prog_run(ctx, &p->prog, p->prog.fwd_end, p->prog.bwd_end, p->arena, &io);
    p->state = PLAN_BACKWARD_DONE;
    if (loss) *loss = io.loss;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_plan_input_grad(rn_plan *p, float *dst, size_t count, int32_t layout) {
    static const char fn[] = "rn_plan_input_grad";
    if (!p) return RN_E_INVALID_ARG;
    rn_ctx *ctx = p->ctx;
    if (!dst) return rn__error(ctx, RN_E_INVALID_ARG, "%s: dst is NULL", fn);
    RN_TRY(rn__check_layout(ctx, fn, layout));
    if (p->state != PLAN_BACKWARD_DONE)
        return rn__error(ctx, RN_E_BAD_STATE, "%s: needs a train plan right after rn_plan_backward",
                         fn);
    if (count != input_floats(p))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: dst has %zu floats, the input had %zu", fn,
                         count, input_floats(p));
    nn_run_io io;
    rn_memset(&io, 0, sizeof io);
    io.out[NN_EXT_IMAGE] = dst;
    io.layout = layout;
    rn__nn_prog_run(ctx, &p->prog, p->prog.bwd_end, p->prog.nsteps, p->arena, &io);
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn__plan_forward_observe(rn_plan *p, const float *input, size_t input_count,
                                   int32_t layout, nn_observe_fn fn, void *user) {
    static const char fn_name[] = "rn_calibrator_add_batch";
    if (input_count != input_floats(p))
        return rn__error(p->ctx, RN_E_INVALID_ARG, "%s: input has %zu floats, expected %zu",
                         fn_name, input_count, input_floats(p));
    RN_TRY(ready(p, fn_name, 0));
    nn_run_io io = forward_io(p, input, layout); /* no dist: an RN_MODE_INFER plan */
    for (int32_t i = 0; i < p->prog.fwd_end; i++) {
        const nn_step *s = &p->prog.steps[i];
        if (s->op == NN_OP_STORE) break; /* the logits are not needed */
        rn__nn_prog_run(p->ctx, &p->prog, i, i + 1, p->arena, &io);
        if (s->y >= 0)
            fn(user, s, (const float *)(p->arena + p->prog.bufs[s->y].offset),
               p->prog.bufs[s->y].bytes / sizeof(float));
    }
    return RN_OK;
}

void rn__plan_set_dist(rn_plan *p, nn_dist *d) { p->dist = p->mode == RN_MODE_TRAIN ? d : NULL; }

rn_status rn_plan_features(rn_plan *p, const float *input, size_t input_count, int32_t layout,
                           float *features, size_t features_count) {
    static const char fn[] = "rn_plan_features";
    if (!p) return RN_E_INVALID_ARG;
    rn_ctx *ctx = p->ctx;
    if (!input || !features) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (p->mode != RN_MODE_INFER)
        return rn__error(ctx, RN_E_BAD_STATE, "%s: features come from RN_MODE_INFER plans", fn);
    RN_TRY(rn__check_layout(ctx, fn, layout));
    if (input_count != input_floats(p))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: input has %zu floats, the plan expects %zu",
                         fn, input_count, input_floats(p));
    size_t want = (size_t)p->batch * (size_t)p->model->fc_in;
    if (features_count != want)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: features has room for %zu floats, the plan writes %zu (batch %lld "
                         "x %d features)",
                         fn, features_count, want, (long long)p->batch, (int)p->model->fc_in);
    /* the pooled features are the input of the fc step */
    int32_t fc = -1;
    for (int32_t i = 0; i < p->prog.fwd_end; i++)
        if (p->prog.steps[i].op == NN_OP_LINEAR || p->prog.steps[i].op == NN_OP_Q_LINEAR) fc = i;
    if (fc < 0) return rn__error(ctx, RN_E_INTERNAL, "%s: the plan has no fc step", fn);
    RN_TRY(ready(p, fn, 1));
    nn_run_io io = forward_io(p, input, layout);
    rn__nn_prog_run(ctx, &p->prog, 0, fc, p->arena, &io);
    const nn_buf *b = &p->prog.bufs[p->prog.steps[fc].x];
    rn_memcpy(features, p->arena + b->offset, want * sizeof(float));
    p->state = PLAN_FRESH;
    rn__clear_error(ctx);
    return RN_OK;
}
