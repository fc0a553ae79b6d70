/*
 * A model's tensors by torchvision name: enumeration in state_dict order,
 * lookup ("module." prefix accepted), and values and gradients copied in
 * PyTorch's layout (OIHW conv weights) across the API.
 */
#include "nn-internal.h"

int32_t rn_model_tensor_count(const rn_model *m) { return m ? m->nslots : 0; }

rn_status rn_model_tensor_info(const rn_model *m, int32_t index, const char **name, int32_t *ndim,
                               int64_t dims[4], int32_t *kind) {
    if (!m) return RN_E_INVALID_ARG;
    return rn__nn_slot_info(m->ctx, "rn_model_tensor_info", m->slots, m->nslots, index, name, ndim,
                            dims, kind);
}

/* The slot `name` for the value functions, or NULL with *st set: a NULL name
 * or p (RN_E_INVALID_ARG), an unknown name (RN_E_NOT_FOUND). */
static const rn_tensor_slot *lookup(const rn_model *m, const char *name, const void *p,
                                    const char *fn, rn_status *st) {
    if (!name || !p) {
        *st = rn__error(m->ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
        return NULL;
    }
    int32_t i = rn__nn_slot_find(m->slots, m->nslots, name);
    if (i < 0) {
        *st =
            rn__error(m->ctx, RN_E_NOT_FOUND, "%s: the model has no tensor named \"%s\"", fn, name);
        return NULL;
    }
    return &m->slots[i];
}

rn_status rn_model_tensor_find(const rn_model *m, const char *name, int32_t *index) {
    if (!m) return RN_E_INVALID_ARG;
    if (!name || !index)
        return rn__error(m->ctx, RN_E_INVALID_ARG, "rn_model_tensor_find: NULL argument");
    int32_t i = rn__nn_slot_find(m->slots, m->nslots, name);
    if (i < 0)
        return rn__error(m->ctx, RN_E_NOT_FOUND,
                         "rn_model_tensor_find: the model has no tensor named \"%s\"", name);
    *index = i;
    return RN_OK;
}

static rn_status check_count(const rn_model *m, const rn_tensor_slot *s, size_t count,
                             const char *fn) {
    if (count == s->count) return RN_OK;
    return rn__error(m->ctx, RN_E_INVALID_ARG,
                     "%s: \"%s\" has %zu elements (dims [%lld,%lld,%lld,%lld] up to ndim %d), "
                     "count is %zu",
                     fn, s->name, s->count, (long long)s->dims[0], (long long)s->dims[1],
                     (long long)s->dims[2], (long long)s->dims[3], (int)s->ndim, count);
}

rn_status rn_model_get_tensor(const rn_model *m, const char *name, float *dst, size_t count) {
    static const char fn[] = "rn_model_get_tensor";
    if (!m) return RN_E_INVALID_ARG;
    rn_status st = RN_OK;
    const rn_tensor_slot *s = lookup(m, name, dst, fn, &st);
    if (!s) return st;
    if ((st = check_count(m, s, count, fn))) return st;
    const nn_derived *pk = m->slot_panels ? m->slot_panels[s - m->slots] : NULL;
    if (pk) {
        /* a packed model's conv weight: the panels hold it exactly */
        float *tmp = (float *)rn__alloc(m->ctx, s->count * sizeof(float));
        if (!tmp)
            return rn__error(m->ctx, RN_E_NO_MEMORY, "%s: out of memory for %zu floats", fn,
                             s->count);
        rn__conv_unpack_panels(&pk->cd, (const float *)(const void *)pk->data, tmp);
        rn__nn_slot_read(s, tmp, dst);
        rn__free(m->ctx, tmp);
        return RN_OK;
    }
    if (!s->value)
        return rn__error(m->ctx, RN_E_BAD_STATE,
                         "%s: \"%s\": the model is int8 and keeps no float copy of its "
                         "convolutions and batch norms (their int8 form: docs/int8.md)",
                         fn, name);
    rn__nn_slot_read(s, s->value, dst);
    return RN_OK;
}

rn_status rn_model_set_tensor(rn_model *m, const char *name, const float *src, size_t count) {
    static const char fn[] = "rn_model_set_tensor";
    if (!m) return RN_E_INVALID_ARG;
    rn_status st = RN_OK;
    const rn_tensor_slot *s = lookup(m, name, src, fn, &st);
    if (!s) return st;
    if ((st = check_count(m, s, count, fn))) return st;
    if ((st = rn__nn_model_writable(m, m->ctx, fn))) return st;
    rn__nn_slot_write(s, src, s->value);
    rn__model_values_changed(m);
    return RN_OK;
}

rn_status rn_model_get_grad(const rn_model *m, const char *name, float *dst, size_t count) {
    static const char fn[] = "rn_model_get_grad";
    if (!m) return RN_E_INVALID_ARG;
    rn_status st = RN_OK;
    const rn_tensor_slot *s = lookup(m, name, dst, fn, &st);
    if (!s) return st;
    if (s->kind != RN_TENSOR_PARAM)
        return rn__error(m->ctx, RN_E_INVALID_ARG,
                         "%s: \"%s\" is a buffer (BN running statistic), it has no gradient", fn,
                         s->name);
    if (!s->grad)
        return rn__error(m->ctx, RN_E_BAD_STATE,
                         "%s: no gradients yet: they come with the first RN_MODE_TRAIN plan", fn);
    if ((st = check_count(m, s, count, fn))) return st;
    rn__nn_slot_read(s, s->grad, dst);
    return RN_OK;
}
