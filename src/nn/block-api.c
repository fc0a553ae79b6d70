/*
 * Standalone blocks (block.h): one residual block with its own tensors,
 * run through the same program builder, planner and runner as a model. The
 * block keeps the program of its last forward shape and mode, and an arena
 * that grows when a larger shape comes; a train forward leaves in it what
 * the backward needs (including copies of x and y, so the caller may reuse
 * its tensors in between).
 */
#include "nn-internal.h"

#define BLOCK_FRESH 0
#define BLOCK_FORWARD_DONE 1

struct rn_block {
    rn_ctx *ctx;
    nn_block b;
    rn_tensor_slot *slots;
    int32_t nslots;
    void *chunk;
    nn_prog prog;
    int32_t have_prog, mode, state;
    int64_t n, h, w, oh, ow;
    void *arena;
    size_t arena_cap;
};

rn_status rn_block_create(rn_ctx *ctx, int32_t block_type, int32_t in_channels, int32_t width,
                          int32_t stride, int32_t shortcut, uint32_t flags, rn_block **out) {
    static const char fn[] = "rn_block_create";
    if (!ctx || !out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    nn_block b;
    const char *why = "";
    rn_status st =
        rn__nn_block_setup(&b, block_type, in_channels, width, stride, shortcut, flags, &why);
    if (st) return rn__error(ctx, st, "%s: %s", fn, why);
    nn_reg r;
    rn_memset(&r, 0, sizeof r);
#ifndef RN_INFERENCE_ONLY
    r.with_grads = 1;
#endif
    rn__nn_reg_block(&r, &b);
    rn_block *blk = (rn_block *)rn__calloc(ctx, 1, sizeof *blk);
    rn_tensor_slot *slots =
        blk ? (rn_tensor_slot *)rn__calloc(ctx, (size_t)r.nslots, sizeof *slots) : NULL;
    void *chunk = slots ? rn__nn_reg_alloc(ctx, &r, slots) : NULL;
    if (!chunk) {
        rn__free(ctx, slots);
        rn__free(ctx, blk);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the block's tensors", fn);
    }
    rn__nn_reg_block(&r, &b);
    blk->ctx = ctx;
    blk->b = b;
    blk->slots = slots;
    blk->nslots = r.nslots;
    blk->chunk = chunk;
    *out = blk;
    return RN_OK;
}

void rn_block_destroy(rn_block *blk) {
    if (!blk) return;
    rn_ctx *ctx = blk->ctx;
    rn__free(ctx, blk->arena);
    rn__nn_prog_free(ctx, &blk->prog);
    rn__free(ctx, blk->chunk);
    rn__free(ctx, blk->slots);
    rn__free(ctx, blk);
}

rn_status rn_block_init(rn_block *blk, uint64_t seed) {
    if (!blk) return RN_E_INVALID_ARG;
    uint64_t stream = 0;
    rn__nn_init_block(&blk->b, seed, &stream);
    return RN_OK;
}

rn_status rn_block_out_channels(const rn_block *blk, int32_t *channels) {
    if (!blk) return RN_E_INVALID_ARG;
    if (!channels)
        return rn__error(blk->ctx, RN_E_INVALID_ARG, "rn_block_out_channels: channels is NULL");
    *channels = blk->b.out;
    return RN_OK;
}

/* ---- forward / backward ------------------------------------------------------ */

typedef struct block_emit {
    const nn_block *b;
    int64_t n, h, w;
} block_emit;

static void emit_block(nn_builder *b, const void *arg) {
    const block_emit *a = (const block_emit *)arg;
    const nn_block *blk = a->b;
    nn_prog *p = b->prog;
    rn_memcpy(b->where, "the block", 10);
    nn_val x = {rn__nn_new_buf(b, a->n * a->h * a->w * blk->in), a->n, a->h, a->w, blk->in};
    nn_step *s = rn__nn_add_step(b, NN_OP_LOAD);
    s->y = x.buf, s->ext = NN_EXT_IMAGE;
    s->n = (size_t)x.n, s->h = (size_t)x.h, s->w = (size_t)x.w, s->c = (size_t)x.c;
    nn_block_saved sv;
    nn_val y = rn__nn_emit_block_forward(b, blk, x, &sv);
    s = rn__nn_add_step(b, NN_OP_STORE);
    s->x = y.buf, s->ext = NN_EXT_OTHER;
    s->n = (size_t)y.n, s->h = (size_t)y.h, s->w = (size_t)y.w, s->c = (size_t)y.c;
    p->fwd_end = p->bwd_end = p->nsteps;
    if (!b->train) return;
    nn_val dy = y;
    dy.buf = rn__nn_new_buf(b, y.n * y.h * y.w * y.c);
    s = rn__nn_add_step(b, NN_OP_LOAD);
    s->y = dy.buf, s->ext = NN_EXT_OTHER;
    s->n = (size_t)y.n, s->h = (size_t)y.h, s->w = (size_t)y.w, s->c = (size_t)y.c;
    nn_val dx = rn__nn_emit_block_backward(b, blk, &sv, dy, 1);
    s = rn__nn_add_step(b, NN_OP_STORE);
    s->x = dx.buf, s->ext = NN_EXT_IMAGE;
    s->n = (size_t)x.n, s->h = (size_t)x.h, s->w = (size_t)x.w, s->c = (size_t)x.c;
    p->bwd_end = p->nsteps;
}

static rn_status prepare(rn_block *blk, int64_t n, int64_t h, int64_t w, int32_t mode,
                         const char *fn) {
    rn_ctx *ctx = blk->ctx;
    if (!blk->have_prog || blk->n != n || blk->h != h || blk->w != w || blk->mode != mode) {
        nn_prog prog;
        block_emit arg = {&blk->b, n, h, w};
        rn_status st = rn__nn_prog_build(ctx, &prog, mode == RN_MODE_TRAIN, 0, emit_block, &arg);
        if (st) {
            /* the program builder is shared with plans and words its refusals
             * for rn_plan_create: name the block call the user made instead */
            static const char plan_fn[] = "rn_plan_create: ";
            const char *why = rn_last_error(ctx);
            size_t skip = sizeof plan_fn - 1;
            if (rn_strncmp(why, plan_fn, skip) != 0) skip = 0;
            char copy[RN_ERROR_CAP];
            size_t len = rn_strlen(why + skip);
            if (len >= sizeof copy) len = sizeof copy - 1;
            rn_memcpy(copy, why + skip, len);
            copy[len] = '\0';
            return rn__error(ctx, st, "%s: %s", fn, copy);
        }
        rn__nn_prog_free(ctx, &blk->prog);
        blk->prog = prog;
        blk->have_prog = 1;
        blk->n = n, blk->h = h, blk->w = w, blk->mode = mode;
        blk->state = BLOCK_FRESH;
    }
    if (blk->arena_cap < blk->prog.arena_bytes) {
        void *arena = rn__alloc(ctx, blk->prog.arena_bytes);
        if (!arena)
            return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for a %zu-byte arena", fn,
                             blk->prog.arena_bytes);
        rn__free(ctx, blk->arena);
        blk->arena = arena;
        blk->arena_cap = blk->prog.arena_bytes;
    }
    return RN_OK;
}

static rn_status check_tensor(const rn_block *blk, const rn_tensor *t, int64_t n, int64_t h,
                              int64_t w, int64_t c, const char *fn, const char *what) {
    if (t->dims[0] == n && t->dims[1] == h && t->dims[2] == w && t->dims[3] == c) return RN_OK;
    char buf[80];
    return rn__error(
        blk->ctx, RN_E_INVALID_ARG, "%s: %s has shape %s, expected (%lld,%lld,%lld,%lld)", fn, what,
        rn__shape_str(t, buf, sizeof buf), (long long)n, (long long)h, (long long)w, (long long)c);
}

rn_status rn_block_forward(rn_block *blk, const rn_tensor *x, int32_t mode, rn_tensor *y) {
    static const char fn[] = "rn_block_forward";
    if (!blk) return RN_E_INVALID_ARG;
    rn_ctx *ctx = blk->ctx;
    if (!x || !y) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL tensor", fn);
    if (mode != RN_MODE_INFER && mode != RN_MODE_TRAIN)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: mode %d is neither RN_MODE_INFER (0) nor RN_MODE_TRAIN (1)", fn,
                         (int)mode);
#ifdef RN_INFERENCE_ONLY
    if (mode == RN_MODE_TRAIN)
        return rn__error(ctx, RN_E_UNSUPPORTED, "%s: this build is inference-only", fn);
#endif
    int64_t n = x->dims[0], h = x->dims[1], w = x->dims[2], oh, ow;
    rn_status st = check_tensor(blk, x, n, h, w, blk->b.in, fn, "x");
    if (st) return st;
    if (n > INT32_MAX || h > INT32_MAX || w > INT32_MAX)
        return rn__error(ctx, RN_E_OVERFLOW, "%s: x dims exceed 2^31", fn);
    rn__nn_block_out_hw(&blk->b, h, w, &oh, &ow);
    if ((st = check_tensor(blk, y, n, oh, ow, blk->b.out, fn, "y")) != RN_OK) return st;
    if ((st = prepare(blk, n, h, w, mode, fn)) != RN_OK) return st;
    nn_run_io io;
    rn_memset(&io, 0, sizeof io);
    io.in[NN_EXT_IMAGE] = x->data;
    io.out[NN_EXT_OTHER] = y->data;
    io.layout = RN_LAYOUT_NHWC;
    rn__nn_prog_run(ctx, &blk->prog, 0, blk->prog.fwd_end, (unsigned char *)blk->arena, &io);
    blk->oh = oh, blk->ow = ow;
    blk->state = mode == RN_MODE_TRAIN ? BLOCK_FORWARD_DONE : BLOCK_FRESH;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_block_backward(rn_block *blk, const rn_tensor *dy, rn_tensor *dx) {
    static const char fn[] = "rn_block_backward";
    if (!blk) return RN_E_INVALID_ARG;
    rn_ctx *ctx = blk->ctx;
    if (!dy || !dx) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL tensor", fn);
    if (blk->state != BLOCK_FORWARD_DONE)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: no RN_MODE_TRAIN forward to differentiate (one backward per forward)",
                         fn);
    rn_status st = check_tensor(blk, dy, blk->n, blk->oh, blk->ow, blk->b.out, fn, "dy");
    if (st == RN_OK) st = check_tensor(blk, dx, blk->n, blk->h, blk->w, blk->b.in, fn, "dx");
    if (st) return st;
    nn_run_io io;
    rn_memset(&io, 0, sizeof io);
    io.in[NN_EXT_OTHER] = dy->data;
    io.out[NN_EXT_IMAGE] = dx->data;
    io.layout = RN_LAYOUT_NHWC;
    rn__nn_prog_run(ctx, &blk->prog, blk->prog.fwd_end, blk->prog.bwd_end,
                    (unsigned char *)blk->arena, &io);
    blk->state = BLOCK_FRESH;
    rn__clear_error(ctx);
    return RN_OK;
}

/* ---- tensors ------------------------------------------------------------------ */

int32_t rn_block_tensor_count(const rn_block *blk) { return blk ? blk->nslots : 0; }

rn_status rn_block_tensor_info(const rn_block *blk, int32_t index, const char **name, int32_t *ndim,
                               int64_t dims[4], int32_t *kind) {
    if (!blk) return RN_E_INVALID_ARG;
    return rn__nn_slot_info(blk->ctx, "rn_block_tensor_info", blk->slots, blk->nslots, index, name,
                            ndim, dims, kind);
}

static const rn_tensor_slot *find(const rn_block *blk, const char *name, const void *data,
                                  size_t count, const char *fn) {
    if (!name || !data) {
        rn__error(blk->ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
        return NULL;
    }
    int32_t i = rn__nn_slot_find(blk->slots, blk->nslots, name);
    if (i < 0) {
        rn__error(blk->ctx, RN_E_NOT_FOUND, "%s: the block has no tensor named \"%s\"", fn, name);
        return NULL;
    }
    const rn_tensor_slot *s = &blk->slots[i];
    if (count != s->count) {
        rn__error(blk->ctx, RN_E_INVALID_ARG, "%s: \"%s\" has %zu elements, count is %zu", fn,
                  s->name, s->count, count);
        return NULL;
    }
    return s;
}

/* the status find() recorded, recovered from what it checked */
static rn_status find_status(const rn_block *blk, const char *name, const void *data) {
    if (!name || !data) return RN_E_INVALID_ARG;
    return rn__nn_slot_find(blk->slots, blk->nslots, name) < 0 ? RN_E_NOT_FOUND : RN_E_INVALID_ARG;
}

rn_status rn_block_get_tensor(const rn_block *blk, const char *name, float *dst, size_t count) {
    if (!blk) return RN_E_INVALID_ARG;
    const rn_tensor_slot *s = find(blk, name, dst, count, "rn_block_get_tensor");
    if (!s) return find_status(blk, name, dst);
    rn__nn_slot_read(s, s->value, dst);
    return RN_OK;
}

rn_status rn_block_set_tensor(rn_block *blk, const char *name, const float *src, size_t count) {
    if (!blk) return RN_E_INVALID_ARG;
    const rn_tensor_slot *s = find(blk, name, src, count, "rn_block_set_tensor");
    if (!s) return find_status(blk, name, src);
    rn__nn_slot_write(s, src, s->value);
    return RN_OK;
}

rn_status rn_block_get_grad(const rn_block *blk, const char *name, float *dst, size_t count) {
    static const char fn[] = "rn_block_get_grad";
    if (!blk) return RN_E_INVALID_ARG;
    const rn_tensor_slot *s = find(blk, name, dst, count, fn);
    if (!s) return find_status(blk, name, dst);
    if (s->kind != RN_TENSOR_PARAM)
        return rn__error(blk->ctx, RN_E_INVALID_ARG,
                         "%s: \"%s\" is a BN running statistic, it has no gradient", fn, s->name);
    if (!s->grad)
        return rn__error(blk->ctx, RN_E_UNSUPPORTED,
                         "%s: this build is inference-only and keeps no gradients", fn);
    rn__nn_slot_read(s, s->grad, dst);
    return RN_OK;
}
