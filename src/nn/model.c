/*
 * The model builder: an empty model, then the stem ("conv1", "bn1", optional
 * max pool), stages "layer1".."layerK" of blocks, and the head (global
 * average pool + "fc"). Each component's tensors live in one allocation and
 * are appended to the model's slot list in torchvision's state_dict order.
 * Every call either completes or leaves the model exactly as it was.
 */
#include "nn-internal.h"

rn_status rn_model_create(rn_ctx *ctx, int32_t in_channels, rn_model **out) {
    if (!ctx || !out) return rn__error(ctx, RN_E_INVALID_ARG, "rn_model_create: NULL argument");
    if (in_channels < 1 || in_channels > RN_NN_MAX_CHANNELS)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "rn_model_create: in_channels %d is outside [1, %d]", (int)in_channels,
                         RN_NN_MAX_CHANNELS);
    rn_model *m = (rn_model *)rn__calloc(ctx, 1, sizeof *m);
    if (!m) return rn__error(ctx, RN_E_NO_MEMORY, "rn_model_create: out of memory for the model");
    m->ctx = ctx;
    m->in_channels = m->channels = in_channels;
    *out = m;
    return RN_OK;
}

void rn_model_destroy(rn_model *m) {
    if (!m) return;
    rn_ctx *ctx = m->ctx;
    rn__nn_derived_free_all(m);
    rn__free(ctx, m->slot_panels);
    /* reverse order of allocation, so arena contexts get their memory back */
    for (int32_t i = m->nchunks - 1; i >= 0; i--) rn__free(ctx, m->chunks[i]);
    rn__free(ctx, m->chunks);
    rn__free(ctx, m->blocks);
    rn__free(ctx, m->slots);
    rn__free(ctx, m->grads);
    rn__nn_qnet_free(ctx, m->q);
    rn__free(ctx, m);
}

/* The arrays a component adds to: grown copies, swapped in only when all
 * allocations succeeded. */
typedef struct growth {
    rn_tensor_slot *slots;
    void **chunks;
    nn_block *blocks;
    void *chunk;
    int32_t reused; /* the model's own arrays had room (rn__nn_model_reserve) */
} growth;

static void growth_free(rn_ctx *ctx, growth *g) {
    rn__free(ctx, g->chunk);
    if (g->reused) return;
    rn__free(ctx, g->blocks);
    rn__free(ctx, g->chunks);
    rn__free(ctx, g->slots);
}

/* Allocates the grown slot, chunk and (if nblocks > 0) block arrays and the
 * component's chunk; r holds the counting pass and is left ready for the
 * assigning pass into the new slot array. */
static rn_status grow(rn_model *m, nn_reg *r, int32_t nblocks, growth *g, const char *fn) {
    rn_ctx *ctx = m->ctx;
    rn_memset(g, 0, sizeof *g);
    size_t nslots = (size_t)m->nslots + (size_t)r->nslots;
    if (nslots > INT32_MAX - 1)
        return rn__error(ctx, RN_E_OVERFLOW, "%s: more than 2^31 tensors", fn);
    if (nslots <= (size_t)m->cap_slots && m->nchunks < m->cap_chunks &&
        (int64_t)m->nblocks + nblocks <= (int64_t)m->cap_blocks) {
        /* room reserved: append in place (nothing is visible before commit) */
        g->reused = 1;
        g->slots = m->slots, g->chunks = m->chunks, g->blocks = nblocks > 0 ? m->blocks : NULL;
        g->chunk = rn__nn_reg_alloc(ctx, r, g->slots + m->nslots);
        if (!g->chunk)
            return rn__error(ctx, RN_E_NO_MEMORY,
                             "%s: out of memory for %zu parameter floats and %zu tensor slots", fn,
                             r->nvalues + r->ngrads, nslots);
        return RN_OK;
    }
    g->slots = (rn_tensor_slot *)rn__calloc(ctx, nslots, sizeof(rn_tensor_slot));
    g->chunks = (void **)rn__calloc(ctx, (size_t)m->nchunks + 1, sizeof(void *));
    if (g->slots && g->chunks && nblocks > 0)
        g->blocks =
            (nn_block *)rn__calloc(ctx, (size_t)m->nblocks + (size_t)nblocks, sizeof(nn_block));
    if (g->slots && g->chunks && (nblocks == 0 || g->blocks))
        g->chunk = rn__nn_reg_alloc(ctx, r, g->slots + m->nslots);
    if (!g->slots || !g->chunks || (nblocks > 0 && !g->blocks) || !g->chunk) {
        growth_free(ctx, g);
        return rn__error(ctx, RN_E_NO_MEMORY,
                         "%s: out of memory for %zu parameter floats and %zu tensor slots", fn,
                         r->nvalues + r->ngrads, nslots);
    }
    if (m->nslots) rn_memcpy(g->slots, m->slots, (size_t)m->nslots * sizeof(rn_tensor_slot));
    if (m->nchunks) rn_memcpy(g->chunks, m->chunks, (size_t)m->nchunks * sizeof(void *));
    if (g->blocks && m->nblocks)
        rn_memcpy(g->blocks, m->blocks, (size_t)m->nblocks * sizeof(nn_block));
    return RN_OK;
}

static void commit(rn_model *m, const nn_reg *r, growth *g) {
    rn_ctx *ctx = m->ctx;
    g->chunks[m->nchunks++] = g->chunk;
    m->nslots += r->nslots;
    m->version++;
    if (g->reused) return;
    m->cap_slots = m->cap_chunks = m->cap_blocks = 0; /* grown copies: no room to spare */
    rn__free(ctx, m->chunks);
    m->chunks = g->chunks;
    rn__free(ctx, m->slots);
    m->slots = g->slots;
    if (g->blocks) {
        rn__free(ctx, m->blocks);
        m->blocks = g->blocks;
    }
}

void rn__nn_model_reserve(rn_model *m, int32_t nslots, int32_t nchunks, int32_t nblocks) {
    rn_ctx *ctx = m->ctx;
    if (m->slots || m->nchunks || m->nblocks || nslots < 1 || nchunks < 1 || nblocks < 0)
        return; /* only an empty model */
    /* allocated in the reverse of the order rn_model_destroy frees them */
    rn_tensor_slot *slots = (rn_tensor_slot *)rn__calloc(ctx, (size_t)nslots, sizeof *slots);
    nn_block *blocks =
        slots && nblocks ? (nn_block *)rn__calloc(ctx, (size_t)nblocks, sizeof *blocks) : NULL;
    void **chunks = slots && (blocks || !nblocks)
                        ? (void **)rn__calloc(ctx, (size_t)nchunks, sizeof *chunks)
                        : NULL;
    if (!chunks) { /* only a hint: the components will grow copies, or fail themselves */
        rn__free(ctx, blocks);
        rn__free(ctx, slots);
        return;
    }
    m->slots = slots, m->blocks = blocks, m->chunks = chunks;
    m->cap_slots = nslots, m->cap_blocks = nblocks, m->cap_chunks = nchunks;
}

/* The model can still grow (no head, not folded) and, with need_stem, has
 * its stem. */
static rn_status check_open(const rn_model *m, const char *fn, int need_stem) {
    if (m->has_head)
        return rn__error(m->ctx, RN_E_BAD_STATE, "%s: the model already has its head (fc)", fn);
    if (m->folded)
        return rn__error(m->ctx, RN_E_BAD_STATE, "%s: the model was folded for inference", fn);
    if (need_stem && !m->has_stem)
        return rn__error(m->ctx, RN_E_BAD_STATE, "%s: add the stem (rn_model_add_stem) first", fn);
    return RN_OK;
}

rn_status rn_model_add_stem(rn_model *m, int32_t out_channels, int32_t kernel, int32_t stride,
                            int32_t pad, int32_t max_pool) {
    static const char fn[] = "rn_model_add_stem";
    if (!m) return RN_E_INVALID_ARG;
    rn_ctx *ctx = m->ctx;
    rn_status st = check_open(m, fn, 0);
    if (st) return st;
    if (m->has_stem || m->nblocks)
        return rn__error(ctx, RN_E_BAD_STATE, "%s: the stem must come first, once", fn);
    if (out_channels < 1 || out_channels > RN_NN_MAX_CHANNELS)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: out_channels %d is outside [1, %d]", fn,
                         (int)out_channels, RN_NN_MAX_CHANNELS);
    if (kernel < 1 || kernel > RN_NN_MAX_KERNEL)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: kernel %d is outside [1, %d]", fn, (int)kernel,
                         RN_NN_MAX_KERNEL);
    if (stride < 1 || stride > RN_NN_MAX_STRIDE)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: stride %d is outside [1, %d]", fn, (int)stride,
                         RN_NN_MAX_STRIDE);
    if (pad < 0 || pad >= kernel)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: pad %d is outside [0, kernel %d)", fn,
                         (int)pad, (int)kernel);
    if (max_pool != 0 && max_pool != 1)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: max_pool must be 0 or 1, got %d", fn,
                         (int)max_pool);
    nn_conv conv = {m->in_channels, out_channels, kernel, stride, pad, NULL, NULL, NULL, 0};
    nn_bn bn;
    rn_memset(&bn, 0, sizeof bn);
    bn.c = out_channels;
    nn_reg r;
    rn_memset(&r, 0, sizeof r);
    r.no_values = m->in_place;
    rn__nn_reg_conv(&r, "conv1", &conv);
    rn__nn_reg_bn(&r, "bn1", &bn);
    growth g;
    if ((st = grow(m, &r, 0, &g, fn)) != RN_OK) return st;
    rn__nn_reg_conv(&r, "conv1", &conv);
    rn__nn_reg_bn(&r, "bn1", &bn);
    commit(m, &r, &g);
    m->stem_conv = conv;
    m->stem_bn = bn;
    m->stem_pool = max_pool;
    m->has_stem = 1;
    m->channels = out_channels;
    return RN_OK;
}

rn_status rn_model_add_stage(rn_model *m, int32_t block_type, int32_t num_blocks, int32_t width,
                             int32_t stride, int32_t shortcut, uint32_t flags) {
    static const char fn[] = "rn_model_add_stage";
    if (!m) return RN_E_INVALID_ARG;
    rn_ctx *ctx = m->ctx;
    rn_status st = check_open(m, fn, 1);
    if (st) return st;
    if (num_blocks < 1 || num_blocks > RN_NN_MAX_BLOCKS - m->nblocks)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: num_blocks %d is outside [1, %d] (the model has %d blocks)", fn,
                         (int)num_blocks, (int)(RN_NN_MAX_BLOCKS - m->nblocks), (int)m->nblocks);
    nn_block first, rest;
    const char *why = "";
    st = rn__nn_block_setup(&first, block_type, m->channels, width, stride, shortcut, flags, &why);
    if (st == RN_OK && num_blocks > 1)
        st = rn__nn_block_setup(&rest, block_type, first.out, width, 1, shortcut, flags, &why);
    if (st) return rn__error(ctx, st, "%s: layer%d: %s", fn, (int)m->nstages + 1, why);

    nn_reg r;
    rn_memset(&r, 0, sizeof r);
    r.no_values = m->in_place;
    for (int32_t i = 0; i < num_blocks; i++) {
        nn_block b = i == 0 ? first : rest;
        rn__nn_reg_prefix(&r, "layer", m->nstages + 1, i);
        rn__nn_reg_block(&r, &b);
    }
    growth g;
    if ((st = grow(m, &r, num_blocks, &g, fn)) != RN_OK) return st;
    for (int32_t i = 0; i < num_blocks; i++) {
        nn_block *b = &g.blocks[m->nblocks + i];
        *b = i == 0 ? first : rest;
        b->stage = m->nstages;
        b->index = i;
        rn__nn_reg_prefix(&r, "layer", m->nstages + 1, i);
        rn__nn_reg_block(&r, b);
    }
    commit(m, &r, &g);
    m->nblocks += num_blocks;
    m->nstages++;
    m->channels = first.out;
    return RN_OK;
}

rn_status rn_model_add_head(rn_model *m, int32_t classes) {
    static const char fn[] = "rn_model_add_head";
    if (!m) return RN_E_INVALID_ARG;
    rn_ctx *ctx = m->ctx;
    rn_status st = check_open(m, fn, 1);
    if (st) return st;
    if (classes < 1 || classes > RN_NN_MAX_CLASSES)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: classes %d is outside [1, %d]", fn,
                         (int)classes, RN_NN_MAX_CLASSES);
    nn_reg r;
    rn_memset(&r, 0, sizeof r);
    r.no_values = m->in_place;
    int64_t wdims[4] = {classes, m->channels, 0, 0}, bdims[4] = {classes, 0, 0, 0};
    float *gw, *gb;
    rn__nn_reg_tensor(&r, "fc.weight", RN_TENSOR_PARAM, 2, wdims, &gw);
    rn__nn_reg_tensor(&r, "fc.bias", RN_TENSOR_PARAM, 1, bdims, &gb);
    growth g;
    if ((st = grow(m, &r, 0, &g, fn)) != RN_OK) return st;
    m->fc_w = rn__nn_reg_tensor(&r, "fc.weight", RN_TENSOR_PARAM, 2, wdims, &m->fc_gw);
    m->fc_b = rn__nn_reg_tensor(&r, "fc.bias", RN_TENSOR_PARAM, 1, bdims, &m->fc_gb);
    commit(m, &r, &g);
    m->fc_in = m->channels;
    m->classes = classes;
    m->has_head = 1;
    return RN_OK;
}

/* The layers' pointers into the slots, walked in registration order (the
 * order of the slots): their values, or (grads set) their gradients, which
 * come with the first train plan, so inference never pays for them. */
static void bind_conv(rn_model *m, int32_t *k, nn_conv *c, int grads) {
    const rn_tensor_slot *s = &m->slots[(*k)++];
    if (grads)
        c->gw = s->grad;
    else
        c->w = s->value;
}

static void bind_bn(rn_model *m, int32_t *k, nn_bn *bn, int grads) {
    const rn_tensor_slot *s = &m->slots[*k];
    *k += 4;
    if (grads) /* the running statistics (s[2], s[3]) have none */
        bn->ggamma = s[0].grad, bn->gbeta = s[1].grad;
    else
        bn->gamma = s[0].value, bn->beta = s[1].value, bn->mean = s[2].value, bn->var = s[3].value;
}

static void bind_layers(rn_model *m, int grads) {
    int32_t k = 0;
    if (m->has_stem) bind_conv(m, &k, &m->stem_conv, grads), bind_bn(m, &k, &m->stem_bn, grads);
    for (int32_t i = 0; i < m->nblocks; i++) {
        nn_block *b = &m->blocks[i];
        for (int32_t j = 0; j < b->nconv; j++)
            bind_conv(m, &k, &b->conv[j], grads), bind_bn(m, &k, &b->bn[j], grads);
        if (b->sc == NN_SC_PROJ)
            bind_conv(m, &k, &b->ds_conv, grads), bind_bn(m, &k, &b->ds_bn, grads);
    }
    if (m->has_head) {
        const rn_tensor_slot *s = &m->slots[k];
        k += 2;
        if (grads)
            m->fc_gw = s[0].grad, m->fc_gb = s[1].grad;
        else
            m->fc_w = s[0].value, m->fc_b = s[1].value;
    }
    RN_ASSERT(k == m->nslots);
}

rn_status rn__nn_model_writable(const rn_model *m, const rn_ctx *err_ctx, const char *fn) {
    if (m->packed)
        return rn__error(err_ctx, RN_E_BAD_STATE,
                         "%s: the model was packed for inference (rn_model_pack_for_inference): "
                         "its convolution weights are kept only in the packed form its inference "
                         "plans read and can no longer change",
                         fn);
    if (m->q)
        return rn__error(err_ctx, RN_E_BAD_STATE,
                         "%s: the model is int8 (docs/int8.md) and its weights are read-only; "
                         "quantize the float model again to change them",
                         fn);
    if (!m->in_place) return RN_OK;
    return rn__error(err_ctx, RN_E_BAD_STATE,
                     "%s: the model's weights are read in place from a constant blob "
                     "(rn_model_create_from_blob) and cannot change; create the model with "
                     "rn_model_create_preset and load the file to train or modify it",
                     fn);
}

void rn__model_bind_values(rn_model *m, const float *const *values) {
    for (int32_t i = 0; i < m->nslots; i++) m->slots[i].value = (float *)(uintptr_t)values[i];
    bind_layers(m, 0);
    m->version++;
}

int32_t rn__model_preset(const rn_model *m, const char **name, int32_t *classes,
                         int32_t *in_channels, int32_t *shortcut, int32_t *width, uint32_t *flags) {
    if (!m->preset) return 0;
    *name = m->preset;
    *classes = m->preset_classes, *in_channels = m->preset_in;
    *shortcut = m->preset_shortcut, *width = m->preset_width, *flags = m->preset_flags;
    return 1;
}

int32_t rn__model_in_place(const rn_model *m) { return m->in_place; }

rn_status rn__nn_model_ensure_grads(rn_model *m, const rn_ctx *err_ctx, const char *fn) {
    if (m->grads) return RN_OK;
    rn_status wst = rn__nn_model_writable(m, err_ctx, fn);
    if (wst) return wst;
    size_t total = 0;
    for (int32_t i = 0; i < m->nslots; i++)
        if (m->slots[i].kind == RN_TENSOR_PARAM) total += m->slots[i].count;
    m->grads = (float *)rn__calloc(m->ctx, total ? total : 1, sizeof(float));
    if (!m->grads)
        return rn__error(err_ctx, RN_E_NO_MEMORY, "%s: out of memory for %zu gradient floats", fn,
                         total);
    float *g = m->grads;
    for (int32_t i = 0; i < m->nslots; i++)
        if (m->slots[i].kind == RN_TENSOR_PARAM) {
            m->slots[i].grad = g;
            g += m->slots[i].count;
        }
    bind_layers(m, 1);
    return RN_OK;
}

/* ---- queries ------------------------------------------------------------------ */

rn_status rn_model_classes(const rn_model *m, int32_t *classes) {
    if (!m || !classes)
        return m ? rn__error(m->ctx, RN_E_INVALID_ARG, "rn_model_classes: NULL argument")
                 : RN_E_INVALID_ARG;
    if (!m->has_head)
        return rn__error(m->ctx, RN_E_BAD_STATE, "rn_model_classes: the model has no head yet");
    *classes = m->classes;
    return RN_OK;
}

rn_status rn_model_in_channels(const rn_model *m, int32_t *channels) {
    if (!m || !channels)
        return m ? rn__error(m->ctx, RN_E_INVALID_ARG, "rn_model_in_channels: NULL argument")
                 : RN_E_INVALID_ARG;
    *channels = m->in_channels;
    return RN_OK;
}

rn_status rn_model_num_parameters(const rn_model *m, int64_t *count) {
    if (!m || !count)
        return m ? rn__error(m->ctx, RN_E_INVALID_ARG, "rn_model_num_parameters: NULL argument")
                 : RN_E_INVALID_ARG;
    int64_t total = 0;
    for (int32_t i = 0; i < m->nslots; i++)
        if (m->slots[i].kind == RN_TENSOR_PARAM) total += (int64_t)m->slots[i].count;
    *count = total;
    return RN_OK;
}

/* ---- internal view (nn.h) ------------------------------------------------------ */

int32_t rn__model_slots(const rn_model *m, const rn_tensor_slot **slots) {
    *slots = m->slots;
    return m->nslots;
}

rn_ctx *rn__model_ctx(const rn_model *m) { return m->ctx; }

rn_status rn__model_ensure_grads(rn_model *m) {
    return rn__nn_model_ensure_grads(m, m->ctx, "rn__model_ensure_grads");
}

void rn__model_values_changed(rn_model *m) { m->version++; }
