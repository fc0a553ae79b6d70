/*
 * Freezing parameters for fine-tuning: a flag on each tensor slot, read by
 * the optimiser (frozen tensors are not updated: no weight decay, no
 * momentum), and on each convolution, read by training plans (a frozen
 * convolution's weight-gradient step is skipped, so it costs no
 * weight-gradient work; its gradient stays zero). Batch norms of frozen
 * layers still normalise with batch statistics in train mode, as PyTorch
 * does for parameters with requires_grad=False.
 */
#include "nn-internal.h"

static int starts_with(const char *s, const char *prefix) {
    size_t n = rn_strlen(prefix);
    return rn_strncmp(s, prefix, n) == 0;
}

/* a followed by b into buf of cap bytes (truncated, terminated) */
static void cat2(char *buf, size_t cap, const char *a, const char *b) {
    size_t n = 0;
    for (; *a && n + 1 < cap; a++) buf[n++] = *a;
    for (; *b && n + 1 < cap; b++) buf[n++] = *b;
    buf[n] = '\0';
}

/* Each convolution's frozen flag from its weight slot. */
static void sync_convs(rn_model *m) {
    char name[96];
    int32_t i;
    i = rn__nn_slot_find(m->slots, m->nslots, "conv1.weight");
    m->stem_conv.frozen = i >= 0 && m->slots[i].frozen;
    for (int32_t b = 0; b < m->nblocks; b++) {
        nn_block *blk = &m->blocks[b];
        char base[32];
        rn__nn_block_name(base, blk->stage, blk->index);
        for (int32_t j = 0; j < blk->nconv; j++) {
            char leaf[16] = ".conv1.weight";
            leaf[5] = (char)('1' + j);
            cat2(name, sizeof name, base, leaf);
            i = rn__nn_slot_find(m->slots, m->nslots, name);
            blk->conv[j].frozen = i >= 0 && m->slots[i].frozen;
        }
        if (blk->sc == NN_SC_PROJ) {
            cat2(name, sizeof name, base, ".downsample.0.weight");
            i = rn__nn_slot_find(m->slots, m->nslots, name);
            blk->ds_conv.frozen = i >= 0 && m->slots[i].frozen;
        }
    }
}

static int32_t set_prefix(rn_model *m, const char *prefix, int32_t frozen) {
    int32_t hit = 0;
    for (int32_t i = 0; i < m->nslots; i++) {
        rn_tensor_slot *s = &m->slots[i];
        if (s->kind != RN_TENSOR_PARAM || !starts_with(s->name, prefix)) continue;
        s->frozen = frozen;
        if (frozen && s->grad) rn_memset(s->grad, 0, s->count * sizeof(float));
        hit++;
    }
    return hit;
}

rn_status rn_model_set_frozen(rn_model *m, const char *prefix, int32_t frozen) {
    static const char fn[] = "rn_model_set_frozen";
    if (!m) return RN_E_INVALID_ARG;
    if (!prefix) return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: NULL prefix", fn);
    if (frozen != 0 && frozen != 1)
        return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: frozen must be 0 or 1, not %d", fn,
                         (int)frozen);
    if (!m->has_head)
        return rn__error(m->ctx, RN_E_BAD_STATE,
                         "%s: the model is incomplete (add the head "
                         "first)",
                         fn);
    const char *p = starts_with(prefix, "module.") ? prefix + 7 : prefix;
    int32_t n = 0;
    for (int32_t i = 0; i < m->nslots; i++)
        if (m->slots[i].kind == RN_TENSOR_PARAM && starts_with(m->slots[i].name, p)) n++;
    if (!n)
        return rn__error(m->ctx, RN_E_NOT_FOUND, "%s: no parameter name starts with \"%s\"", fn,
                         prefix);
    set_prefix(m, p, frozen);
    sync_convs(m);
    return RN_OK;
}

rn_status rn_model_freeze_stages(rn_model *m, int32_t stages) {
    static const char fn[] = "rn_model_freeze_stages";
    if (!m) return RN_E_INVALID_ARG;
    if (!m->has_head)
        return rn__error(m->ctx, RN_E_BAD_STATE,
                         "%s: the model is incomplete (add the head "
                         "first)",
                         fn);
    if (stages < -1 || stages > m->nstages)
        return rn__error(m->ctx, RN_E_INVALID_ARG,
                         "%s: stages %d is outside [-1, %d] (the "
                         "model has %d stages)",
                         fn, (int)stages, (int)m->nstages, (int)m->nstages);
    set_prefix(m, "", 0);
    if (stages >= 0) {
        set_prefix(m, "conv1.", 1);
        set_prefix(m, "bn1.", 1);
    }
    for (int32_t k = 1; k <= stages; k++) {
        char name[32];
        rn__nn_block_name(name, k - 1, 0); /* "layer<k>.0" */
        name[rn_strlen(name) - 1] = '\0';  /* "layer<k>." */
        set_prefix(m, name, 1);
    }
    sync_convs(m);
    return RN_OK;
}

rn_status rn_model_tensor_frozen(const rn_model *m, const char *name, int32_t *frozen) {
    static const char fn[] = "rn_model_tensor_frozen";
    if (!m) return RN_E_INVALID_ARG;
    if (!name || !frozen) return rn__error(m->ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    const char *p = starts_with(name, "module.") ? name + 7 : name;
    int32_t i = rn__nn_slot_find(m->slots, m->nslots, p);
    if (i < 0) return rn__error(m->ctx, RN_E_NOT_FOUND, "%s: no tensor \"%s\"", fn, name);
    *frozen = m->slots[i].frozen;
    return RN_OK;
}
