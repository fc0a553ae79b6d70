/*
 * Derived weights owned by the model (nn-internal.h, "derived weights"):
 * convolution weights packed into panels or transformed for Winograd once
 * per model and shared by all its inference plans, whatever their batch,
 * image size or context; and rn_model_pack_for_inference, which replaces
 * the plain weights of every convolution that can run from panels by the
 * panels themselves.
 *
 * Threads: several threads may create and run inference plans of one model,
 * each with its own context (docs/api.md, "Thread-safety"). Every look-up,
 * creation and refresh of an entry happens under the model's lock, a spin
 * lock (rn__spin_lock, src/core); plans read an entry's data
 * without it, which is safe because the data changes only after the
 * model's values changed, and nothing may run the model's plans while they
 * do. Builds without atomics have no threads and no lock.
 */
#include "nn-internal.h"

void rn__nn_model_lock(rn_model *m) { rn__spin_lock(&m->derived_lock); }

void rn__nn_model_unlock(rn_model *m) { rn__spin_unlock(&m->derived_lock); }

nn_derived *rn__nn_derived_find(const rn_model *m, const nn_conv *c, int32_t form) {
    for (nn_derived *e = m->derived; e; e = e->next)
        if (e->conv == c && e->form == form) return e;
    return NULL;
}

const nn_derived *rn__nn_derived_panels(const rn_model *m, const nn_conv *c) {
    if (!m->packed || c->w) return NULL;
    const nn_derived *e = rn__nn_derived_find(m, c, NN_W_PACKED);
    return e && e->fixed ? e : NULL;
}

static size_t derived_form_bytes(const rn_conv_desc *d, int32_t form) {
    return form == NN_W_WINOGRAD    ? rn__conv_winograd_weights_size(d, 4)
           : form == NN_W_WINOGRAD2 ? rn__conv_winograd_weights_size(d, 2)
                                    : rn__conv_panels_size(d);
}

/* Fills e->data from the weights w (OHWI). */
static void derived_fill(const rn_ctx *ctx, nn_derived *e, const float *w) {
    if (e->form == NN_W_WINOGRAD || e->form == NN_W_WINOGRAD2)
        rn__conv_winograd_transform_weights(ctx, &e->cd, e->form == NN_W_WINOGRAD ? 4 : 2, w,
                                            e->data);
    else
        rn__conv_pack_panels(ctx, &e->cd, w, (float *)(void *)e->data);
}

/* The OHWI weights of c: its own, or (a packed model) unpacked from its
 * panels into tmp (count floats), or NULL if tmp could not be allocated. */
static const float *derived_source(const rn_model *m, rn_ctx *ctx, const nn_conv *c,
                                   const rn_conv_desc *d, float **tmp) {
    *tmp = NULL;
    if (c->w) return c->w;
    const nn_derived *pk = rn__nn_derived_panels(m, c);
    RN_ASSERT(pk);
    const size_t count = (size_t)c->out * (size_t)c->k * (size_t)c->k * (size_t)c->in;
    *tmp = (float *)rn__alloc(ctx, count * sizeof(float));
    if (*tmp) rn__conv_unpack_panels(d, (const float *)(const void *)pk->data, *tmp);
    return *tmp;
}

nn_derived *rn__nn_derived_make(rn_model *m, rn_ctx *ctx, const nn_conv *c, const rn_conv_desc *d,
                                int32_t form, const char *fn) {
    const size_t bytes = derived_form_bytes(d, form);
    nn_derived *e = (nn_derived *)rn__calloc(m->ctx, 1, sizeof *e);
    unsigned char *data = e && bytes ? (unsigned char *)rn__alloc(m->ctx, bytes) : NULL;
    float *tmp = NULL;
    const float *w = data ? derived_source(m, ctx, c, d, &tmp) : NULL;
    if (!w) {
        rn__free(m->ctx, data);
        rn__free(m->ctx, e);
        rn__error(ctx, RN_E_NO_MEMORY,
                  "%s: out of memory for %zu bytes of packed convolution weights", fn, bytes);
        return NULL;
    }
    e->conv = c, e->form = form, e->bytes = bytes, e->cd = *d, e->data = data;
    derived_fill(ctx, e, w);
    rn__free(ctx, tmp);
    e->version = m->version;
    e->next = m->derived;
    m->derived = e;
    m->derived_bytes += rn__align_up(bytes, RN_ALIGN);
    return e;
}

void rn__nn_derived_refresh(rn_model *m, const rn_ctx *ctx, nn_derived *e) {
    /* only entries made from plain weights are ever stale: a packed model
     * refuses every change to its values */
    RN_ASSERT(!e->fixed && e->conv->w);
    derived_fill(ctx, e, e->conv->w);
    e->version = m->version;
}

void rn__nn_derived_free_all(rn_model *m) {
    nn_derived *e = m->derived;
    while (e) {
        nn_derived *next = e->next;
        if (!e->in_place) rn__free(m->ctx, e->data);
        rn__free(m->ctx, e);
        e = next;
    }
    m->derived = NULL;
    m->derived_bytes = 0;
}

rn_status rn__nn_model_unpacked(const rn_model *m, const rn_ctx *err_ctx, const char *fn) {
    if (!m->packed) return RN_OK;
    return rn__error(err_ctx, RN_E_BAD_STATE,
                     "%s: the model was packed for inference (rn_model_pack_for_inference): its "
                     "convolution weights are kept only in the packed form its inference plans "
                     "read, and this call needs them as plain values",
                     fn);
}

rn_status rn__model_check_unpacked(const rn_model *m, const char *fn) {
    return rn__nn_model_unpacked(m, m->ctx, fn);
}

/* A descriptor of convolution c (a k x k input: only c, oc and the window
 * matter to the panels). */
static int panel_desc(const nn_conv *c, rn_conv_desc *d) {
    rn_memset(d, 0, sizeof *d);
    d->n = 1, d->h = d->w = c->k, d->c = c->in, d->oc = c->out;
    d->kh = d->kw = c->k, d->sh = d->sw = c->stride, d->ph = d->pw = c->pad;
    return rn__conv_desc_init(d) && rn__conv_panels_size(d) > 0;
}

rn_status rn_model_pack_for_inference(rn_model *m) {
    static const char fn[] = "rn_model_pack_for_inference";
    if (!m) return RN_E_INVALID_ARG;
    rn_ctx *ctx = m->ctx;
    if (m->packed) return RN_OK;
    if (!m->has_stem || !m->has_head)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model is incomplete (it needs a stem and a head)", fn);
    if (m->q)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model is int8: its plans already run its own packed int8 "
                         "weights (docs/int8.md)",
                         fn);
    if (m->in_place)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model's weights are read in place from a constant blob "
                         "(rn_model_create_from_blob), which cannot be rewritten as panels",
                         fn);
    const int32_t nconv = rn__model_conv_count(m);
    nn_derived **slot_panels =
        (nn_derived **)rn__calloc(ctx, (size_t)m->nslots + 1, sizeof *slot_panels);
    nn_derived **made =
        slot_panels ? (nn_derived **)rn__calloc(ctx, (size_t)nconv + 1, sizeof *made) : NULL;
    size_t tmp_bytes = 0;
    rn_status st = made ? RN_OK : RN_E_NO_MEMORY;
    /* everything allocated first, so that a failure leaves the model as it was */
    for (int32_t i = 0; st == RN_OK && i < nconv; i++) {
        int32_t b, j;
        nn_conv *c = rn__nn_model_conv(m, i, &b, &j);
        rn_conv_desc d;
        if (!panel_desc(c, &d)) continue; /* no panel form: it keeps its weights */
        nn_derived *e = (nn_derived *)rn__calloc(ctx, 1, sizeof *e);
        if (!e) {
            st = RN_E_NO_MEMORY;
            break;
        }
        made[i] = e;
        e->conv = c, e->form = NN_W_PACKED, e->fixed = 1, e->cd = d;
        e->bytes = rn__conv_panels_size(&d);
        const size_t tmp = rn__conv_panels_in_place_tmp(&d);
        if (tmp) {
            e->in_place = 1;
            e->data = (unsigned char *)c->w;
            if (tmp > tmp_bytes) tmp_bytes = tmp;
        } else if (!(e->data = (unsigned char *)rn__alloc(ctx, e->bytes))) {
            st = RN_E_NO_MEMORY;
        }
    }
    float *tmp = st == RN_OK && tmp_bytes ? (float *)rn__alloc(ctx, tmp_bytes) : NULL;
    if (st == RN_OK && tmp_bytes && !tmp) st = RN_E_NO_MEMORY;
    if (st) {
        for (int32_t i = nconv - 1; made && i >= 0; i--)
            if (made[i]) {
                if (!made[i]->in_place) rn__free(ctx, made[i]->data);
                rn__free(ctx, made[i]);
            }
        rn__free(ctx, made);
        rn__free(ctx, slot_panels);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the packed weights", fn);
    }
    /* the shared entries made from the plain weights go: no plan made before
     * this call may run again (rn_plan_forward refuses it) */
    rn__nn_model_lock(m);
    rn__nn_derived_free_all(m);
    for (int32_t i = 0; i < nconv; i++) {
        nn_derived *e = made[i];
        if (!e) continue;
        nn_conv *c = (nn_conv *)(uintptr_t)e->conv;
        if (e->in_place)
            rn__conv_pack_panels_in_place(ctx, &e->cd, c->w, tmp);
        else
            rn__conv_pack_panels(ctx, &e->cd, c->w, (float *)(void *)e->data);
        for (int32_t s = 0; s < m->nslots; s++)
            if (m->slots[s].value == c->w) {
                m->slots[s].value = NULL;
                slot_panels[s] = e;
            }
        c->w = NULL;
        e->version = m->version;
        e->next = m->derived;
        m->derived = e;
    }
    m->slot_panels = slot_panels;
    m->packed = 1;
    m->version++;
    rn__nn_model_unlock(m);
    rn__free(ctx, tmp);
    rn__free(ctx, made);
    rn__clear_error(ctx);
    return RN_OK;
}
