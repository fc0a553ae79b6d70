/*
 * The tensor registry: gives every convolution, batch norm and fc tensor its
 * torchvision name, in the order torchvision registers modules (which is the
 * order of its state_dict), and places the values, gradients and names of a
 * component in one allocation. Also the conversion between the library's
 * layout (OHWI conv weights) and PyTorch's (OIHW) for tensors crossing the API.
 */
#include "nn-internal.h"

static size_t str_copy(char *dst, const char *src) {
    size_t n = rn_strlen(src);
    if (dst) rn_memcpy(dst, src, n);
    return n;
}

static size_t int_copy(char *dst, int32_t v) {
    char tmp[12];
    size_t n = 0;
    uint32_t u = v < 0 ? 0u : (uint32_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    for (size_t i = 0; i < n && dst; i++) dst[i] = tmp[n - 1 - i];
    return n;
}

void rn__nn_reg_prefix(nn_reg *r, const char *a, int32_t i, int32_t j) {
    size_t n = 0;
    n += str_copy(r->prefix + n, a);
    if (i >= 0) n += int_copy(r->prefix + n, i);
    r->prefix[n++] = '.';
    if (j >= 0) {
        n += int_copy(r->prefix + n, j);
        r->prefix[n++] = '.';
    }
    r->prefix[n] = '\0';
}

float *rn__nn_reg_tensor(nn_reg *r, const char *name, int32_t kind, int32_t ndim,
                         const int64_t dims[4], float **grad) {
    size_t count = 1;
    for (int32_t i = 0; i < ndim; i++) count *= (size_t)dims[i];
    int32_t has_grad = kind == RN_TENSOR_PARAM && r->with_grads;
    size_t name_len = rn_strlen(r->prefix) + rn_strlen(name) + 1;
    if (!r->slots) { /* counting pass */
        if (!r->no_values) r->nvalues += count;
        if (has_grad) r->ngrads += count;
        r->nname_bytes += name_len;
        r->nslots++;
        if (grad) *grad = NULL;
        return NULL;
    }
    rn_tensor_slot *s = &r->slots[r->nslots++];
    char *nm = r->names;
    size_t n = str_copy(nm, r->prefix);
    n += str_copy(nm + n, name);
    nm[n] = '\0';
    r->names += name_len;
    s->name = nm;
    s->kind = kind;
    s->ndim = ndim;
    for (int32_t i = 0; i < 4; i++) s->dims[i] = i < ndim ? dims[i] : 0;
    s->count = count;
    s->frozen = 0;
    s->value = NULL;
    if (!r->no_values) {
        s->value = r->values;
        r->values += count;
    }
    s->grad = NULL;
    if (has_grad) {
        s->grad = r->grads;
        r->grads += count;
    }
    if (grad) *grad = s->grad;
    return s->value;
}

void rn__nn_reg_conv(nn_reg *r, const char *name, nn_conv *c) {
    char full[48];
    size_t n = str_copy(full, name);
    n += str_copy(full + n, ".weight");
    full[n] = '\0';
    int64_t dims[4] = {c->out, c->in, c->k, c->k};
    c->w = rn__nn_reg_tensor(r, full, RN_TENSOR_PARAM, 4, dims, &c->gw);
    c->bias = NULL;
}

void rn__nn_reg_bn(nn_reg *r, const char *name, nn_bn *bn) {
    static const char *const suffix[4] = {".weight", ".bias", ".running_mean", ".running_var"};
    float **dst[4] = {&bn->gamma, &bn->beta, &bn->mean, &bn->var};
    float **gdst[4] = {&bn->ggamma, &bn->gbeta, NULL, NULL};
    int64_t dims[4] = {bn->c, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        char full[48];
        size_t n = str_copy(full, name);
        n += str_copy(full + n, suffix[i]);
        full[n] = '\0';
        *dst[i] = rn__nn_reg_tensor(r, full, i < 2 ? RN_TENSOR_PARAM : RN_TENSOR_BUFFER, 1, dims,
                                    gdst[i]);
    }
    if (r->slots && !r->no_values) { /* PyTorch's defaults: identity until initialised or loaded */
        for (int32_t i = 0; i < bn->c; i++) bn->gamma[i] = 1.0f, bn->var[i] = 1.0f;
    }
}

/* torchvision's registration order: conv1, bn1, conv2, bn2, (conv3, bn3),
 * downsample (a Sequential of the 1x1 conv "0" and its BN "1"). */
void rn__nn_reg_block(nn_reg *r, nn_block *b) {
    static const char *const conv_names[3] = {"conv1", "conv2", "conv3"};
    static const char *const bn_names[3] = {"bn1", "bn2", "bn3"};
    for (int32_t i = 0; i < b->nconv; i++) {
        rn__nn_reg_conv(r, conv_names[i], &b->conv[i]);
        rn__nn_reg_bn(r, bn_names[i], &b->bn[i]);
    }
    if (b->sc == NN_SC_PROJ) {
        rn__nn_reg_conv(r, "downsample.0", &b->ds_conv);
        rn__nn_reg_bn(r, "downsample.1", &b->ds_bn);
    }
}

void *rn__nn_reg_alloc(rn_ctx *ctx, nn_reg *r, rn_tensor_slot *slots) {
    size_t floats, bytes;
    if (!rn__add_size(r->nvalues, r->ngrads, &floats) ||
        !rn__mul_size(floats, sizeof(float), &bytes) ||
        !rn__add_size(bytes, r->nname_bytes, &bytes))
        return NULL;
    unsigned char *chunk = (unsigned char *)rn__calloc(ctx, 1, bytes);
    if (!chunk) return NULL;
    r->values = (float *)chunk;
    r->grads = r->values + r->nvalues;
    r->names = (char *)(r->grads + r->ngrads);
    r->slots = slots;
    r->nslots = 0;
    return chunk;
}

int32_t rn__nn_slot_find(const rn_tensor_slot *slots, int32_t n, const char *name) {
    /* checkpoints of nn.DataParallel models prefix every name with "module." */
    if (rn_strncmp(name, "module.", 7) == 0) name += 7;
    for (int32_t i = 0; i < n; i++)
        if (rn_strcmp(slots[i].name, name) == 0) return i;
    return -1;
}

rn_status rn__nn_slot_info(const rn_ctx *ctx, const char *fn, const rn_tensor_slot *slots,
                           int32_t n, int32_t index, const char **name, int32_t *ndim,
                           int64_t dims[4], int32_t *kind) {
    if (index < 0 || index >= n)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: index %d is outside [0, %d)", fn, (int)index,
                         (int)n);
    const rn_tensor_slot *s = &slots[index];
    if (name) *name = s->name;
    if (ndim) *ndim = s->ndim;
    if (dims)
        for (int i = 0; i < 4; i++) dims[i] = s->dims[i];
    if (kind) *kind = s->kind;
    return RN_OK;
}

/* Conv weights: library (o, kh, kw, i) <-> PyTorch (o, i, kh, kw); every
 * other tensor has the same order in both. */
static void slot_copy(const rn_tensor_slot *s, const float *src, float *dst, int to_torch) {
    if (s->ndim != 4) {
        rn_memcpy(dst, src, s->count * sizeof(float));
        return;
    }
    size_t o = (size_t)s->dims[0], in = (size_t)s->dims[1], hw = (size_t)(s->dims[2] * s->dims[3]);
    for (size_t a = 0; a < o; a++)
        for (size_t p = 0; p < hw; p++)
            for (size_t c = 0; c < in; c++) {
                const size_t lib = (a * hw + p) * in + c, torch = (a * in + c) * hw + p;
                dst[to_torch ? torch : lib] = src[to_torch ? lib : torch];
            }
}

void rn__nn_slot_read(const rn_tensor_slot *s, const float *src, float *dst) {
    slot_copy(s, src, dst, 1);
}

void rn__nn_slot_write(const rn_tensor_slot *s, const float *src, float *dst) {
    slot_copy(s, src, dst, 0);
}

void rn__nn_block_name(char *dst, int32_t stage, int32_t index) {
    size_t n = str_copy(dst, "layer");
    n += int_copy(dst + n, stage + 1);
    dst[n++] = '.';
    n += int_copy(dst + n, index);
    dst[n] = '\0';
}
