/*
 * Stochastic gradient descent with torch.optim.SGD's exact semantics (the
 * update the paper's recipe uses: momentum 0.9, weight decay 1e-4, section
 * 3.4), over the model's tensor slots in the library's layout. Each
 * operation is its own float32 statement, in PyTorch's order, so compilers
 * that contract a*b+c into one FMA (clang does within an expression) make
 * no difference: the same binary gives the same bits on every machine.
 */
#include "train-internal.h"

#define RN_SGD_MAX_LR 1e6

static rn_status check_model(rn_ctx *ctx, const rn_optimizer *opt, const char *fn) {
    const rn_tensor_slot *slots;
    rn_status ps = rn__model_check_unpacked(opt->model, fn);
    if (ps) return ps;
    if (rn__model_slots(opt->model, &slots) != opt->nslots)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model's tensors changed since the optimiser was created", fn);
    return RN_OK;
}

/* The trainable tensor `name` for the buffer functions, or -1 with *st set:
 * a NULL name or p, a name that is not a trainable tensor of the model, or
 * (count != SIZE_MAX) a count other than the tensor's. */
static int32_t param_slot(const rn_optimizer *opt, const char *fn, const char *name, const void *p,
                          size_t count, const rn_tensor_slot **slot, rn_status *st) {
    if (!name || !p) {
        *st = rn__error(opt->ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
        return -1;
    }
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(opt->model, &slots);
    int32_t i = -1;
    if (rn_model_tensor_find(opt->model, name, &i) != RN_OK || i < 0 || i >= n ||
        slots[i].kind != RN_TENSOR_PARAM) {
        *st = rn__error(opt->ctx, i < 0 || i >= n ? RN_E_NOT_FOUND : RN_E_INVALID_ARG,
                        "%s: '%s' is not a trainable tensor of the model", fn, name);
        return -1;
    }
    if (count != SIZE_MAX && count != slots[i].count) {
        *st = rn__error(opt->ctx, RN_E_INVALID_ARG, "%s: '%s' has %zu values, count is %zu", fn,
                        name, slots[i].count, count);
        return -1;
    }
    *slot = &slots[i];
    return i;
}

rn_status rn_sgd_create(rn_model *model, rn_optimizer **out) {
    static const char fn[] = "rn_sgd_create";
    if (!model) return RN_E_INVALID_ARG;
    rn_ctx *ctx = rn__model_ctx(model);
    if (!out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL out", fn);
    int32_t classes;
    if (rn_model_classes(model, &classes) != RN_OK)
        return rn__error(ctx, RN_E_BAD_STATE, "%s: the model is not complete (no head yet)", fn);
    rn_status ps = rn__model_check_unpacked(model, fn);
    if (ps) return ps;
    if (rn__model_in_place(model))
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: the model's weights are read in place from a "
                         "constant blob (rn_model_create_from_blob) and cannot be trained",
                         fn);
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(model, &slots);
    rn_optimizer *opt = (rn_optimizer *)rn__calloc(ctx, 1, sizeof *opt);
    float **buf = (float **)rn__calloc(ctx, (size_t)n + 1, sizeof(float *));
    int32_t *has = (int32_t *)rn__calloc(ctx, (size_t)n + 1, sizeof(int32_t));
    if (!opt || !buf || !has) {
        rn__free(ctx, has);
        rn__free(ctx, buf);
        rn__free(ctx, opt);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    }
    opt->ctx = ctx;
    opt->model = model;
    opt->lr = 0.1;
    opt->momentum = 0.9;
    opt->dampening = 0.0;
    opt->weight_decay = 1e-4;
    opt->nesterov = 0;
    opt->decay_all = 1;
    opt->nslots = n;
    opt->buf = buf;
    opt->has_buf = has;
    *out = opt;
    rn__clear_error(ctx);
    return RN_OK;
}

void rn_optimizer_destroy(rn_optimizer *opt) {
    if (!opt) return;
    rn_ctx *ctx = opt->ctx;
    for (int32_t i = opt->nslots - 1; i >= 0; i--) rn__free(ctx, opt->buf[i]);
    rn__free(ctx, opt->has_buf);
    rn__free(ctx, opt->buf);
    rn__free(ctx, opt);
}

/* The field of a float option, NULL for any other key. */
static double *float_option(rn_optimizer *opt, int32_t key) {
    switch (key) {
    case RN_SGD_LR: return &opt->lr;
    case RN_SGD_MOMENTUM: return &opt->momentum;
    case RN_SGD_DAMPENING: return &opt->dampening;
    case RN_SGD_WEIGHT_DECAY: return &opt->weight_decay;
    default: return NULL;
    }
}

static int is_int_option(int32_t key) {
    return key == RN_SGD_NESTEROV || key == RN_SGD_DECAY_ALL_PARAMS;
}

/* The error for a key that fn (an accessor of one type) does not take: an
 * option of the other type, to be used through `other`, or no option. */
static rn_status wrong_key(const rn_optimizer *opt, const char *fn, int32_t key,
                           const char *other) {
    if (is_int_option(key) || (key >= RN_SGD_LR && key <= RN_SGD_WEIGHT_DECAY))
        return rn__error(opt->ctx, RN_E_INVALID_ARG, "%s: option %d is %s: use %s", fn, (int)key,
                         is_int_option(key) ? "an integer" : "a float", other);
    return rn__error(opt->ctx, RN_E_NOT_FOUND, "%s: no optimiser option %d", fn, (int)key);
}

rn_status rn_optimizer_set_float(rn_optimizer *opt, int32_t key, double value) {
    static const char fn[] = "rn_optimizer_set_float";
    if (!opt) return RN_E_INVALID_ARG;
    double *field = float_option(opt, key);
    if (!field) return wrong_key(opt, fn, key, "rn_optimizer_set_int");
    double lo = 0, hi = key == RN_SGD_LR ? RN_SGD_MAX_LR : 1;
    if (!(value >= lo && value <= hi))
        return rn__error(opt->ctx, RN_E_INVALID_ARG,
                         "%s: value %g of option %d is outside [%g, %g]", fn, value, (int)key, lo,
                         hi);
    if (opt->nesterov &&
        ((key == RN_SGD_MOMENTUM && value <= 0) || (key == RN_SGD_DAMPENING && value != 0)))
        return rn__error(opt->ctx, RN_E_INVALID_ARG,
                         "%s: Nesterov momentum requires momentum > 0 and dampening 0", fn);
    *field = value;
    rn__clear_error(opt->ctx);
    return RN_OK;
}

rn_status rn_optimizer_get_float(const rn_optimizer *opt, int32_t key, double *value) {
    static const char fn[] = "rn_optimizer_get_float";
    if (!opt) return RN_E_INVALID_ARG;
    if (!value) return rn__error(opt->ctx, RN_E_INVALID_ARG, "%s: NULL value", fn);
    /* float_option only takes the field's address; nothing is written */
    const double *field = float_option((rn_optimizer *)opt, key);
    if (!field) return wrong_key(opt, fn, key, "rn_optimizer_get_int");
    *value = *field;
    return RN_OK;
}

rn_status rn_optimizer_set_int(rn_optimizer *opt, int32_t key, int64_t value) {
    static const char fn[] = "rn_optimizer_set_int";
    if (!opt) return RN_E_INVALID_ARG;
    if (!is_int_option(key)) return wrong_key(opt, fn, key, "rn_optimizer_set_float");
    if (value != 0 && value != 1)
        return rn__error(opt->ctx, RN_E_INVALID_ARG, "%s: option %d must be 0 or 1, got %lld", fn,
                         (int)key, (long long)value);
    if (key == RN_SGD_NESTEROV) {
        /* torch.optim.SGD refuses the same combination */
        if (value && (opt->momentum <= 0 || opt->dampening != 0))
            return rn__error(opt->ctx, RN_E_INVALID_ARG,
                             "%s: Nesterov momentum requires momentum > 0 and dampening 0 "
                             "(momentum %g, dampening %g)",
                             fn, opt->momentum, opt->dampening);
        opt->nesterov = (int32_t)value;
    } else {
        opt->decay_all = (int32_t)value;
    }
    rn__clear_error(opt->ctx);
    return RN_OK;
}

rn_status rn_optimizer_get_int(const rn_optimizer *opt, int32_t key, int64_t *value) {
    static const char fn[] = "rn_optimizer_get_int";
    if (!opt) return RN_E_INVALID_ARG;
    if (!value) return rn__error(opt->ctx, RN_E_INVALID_ARG, "%s: NULL value", fn);
    if (!is_int_option(key)) return wrong_key(opt, fn, key, "rn_optimizer_get_float");
    *value = key == RN_SGD_NESTEROV ? opt->nesterov : opt->decay_all;
    return RN_OK;
}

rn_status rn__optimizer_alloc_buffer(rn_optimizer *opt, int32_t i) {
    if (opt->buf[i]) return RN_OK;
    const rn_tensor_slot *slots;
    rn__model_slots(opt->model, &slots);
    opt->buf[i] = (float *)rn__calloc(opt->ctx, slots[i].count, sizeof(float));
    if (!opt->buf[i])
        return rn__error(opt->ctx, RN_E_NO_MEMORY,
                         "out of memory for the momentum buffer of '%s' (%zu floats)",
                         slots[i].name, slots[i].count);
    return RN_OK;
}

/* The update of one tensor, element by element. */
static void sgd_update(float *p, const float *g, float *buf, int32_t first, size_t n, float lr,
                       float wd, float momentum, float one_minus_damp, int32_t nesterov) {
    for (size_t j = 0; j < n; j++) {
        float d = g[j];
        if (wd != 0.0f) {
            float decay = wd * p[j];
            d = d + decay;
        }
        if (buf) {
            float b;
            if (first) {
                b = d;
            } else {
                float kept = buf[j] * momentum;
                float added = one_minus_damp * d;
                b = kept + added;
            }
            buf[j] = b;
            if (nesterov) {
                float look = momentum * b;
                d = d + look;
            } else {
                d = b;
            }
        }
        float delta = lr * d;
        p[j] = p[j] - delta;
    }
}

/* Tensors from this many elements are checked and updated by up to
 * RN_SGD_BLOCKS parallel tasks (ResNet-50: 25.6 M parameters, five float
 * arrays of traffic per element, serial otherwise while the other threads
 * wait); every element's arithmetic is the same whichever task runs it. */
#define RN_SGD_PARALLEL_MIN ((size_t)1 << 16)
#define RN_SGD_BLOCKS 64

typedef struct sgd_job {
    const rn_tensor_slot *s;
    float *buf;
    int32_t first, nesterov;
    float lr, wd, momentum, one_minus_damp;
    size_t block;                     /* elements per task */
    unsigned char bad[RN_SGD_BLOCKS]; /* finiteness check: a non-finite gradient in the block */
} sgd_job;

static size_t sgd_blocks(const rn_tensor_slot *s, size_t *block) {
    if (s->count < RN_SGD_PARALLEL_MIN) {
        *block = s->count;
        return 1;
    }
    *block = (s->count + RN_SGD_BLOCKS - 1) / RN_SGD_BLOCKS;
    return (s->count + *block - 1) / *block;
}

static void finite_task(void *arg, size_t t) {
    sgd_job *j = (sgd_job *)arg;
    const size_t lo = t * j->block, hi = lo + j->block < j->s->count ? lo + j->block : j->s->count;
    const float *g = j->s->grad;
    unsigned char bad = 0;
    for (size_t k = lo; k < hi; k++) bad |= !isfinite(g[k]);
    j->bad[t] = bad;
}

static void update_task(void *arg, size_t t) {
    const sgd_job *j = (const sgd_job *)arg;
    const size_t lo = t * j->block, hi = lo + j->block < j->s->count ? lo + j->block : j->s->count;
    sgd_update(j->s->value + lo, j->s->grad + lo, j->buf ? j->buf + lo : NULL, j->first, hi - lo,
               j->lr, j->wd, j->momentum, j->one_minus_damp, j->nesterov);
}

rn_status rn_optimizer_step(rn_optimizer *opt) {
    static const char fn[] = "rn_optimizer_step";
    if (!opt) return RN_E_INVALID_ARG;
    rn_ctx *ctx = opt->ctx;
    rn_status st = check_model(ctx, opt, fn);
    if (st) return st;
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(opt->model, &slots);
    for (int32_t i = 0; i < n; i++) {
        if (slots[i].kind != RN_TENSOR_PARAM || slots[i].frozen) continue;
        if (!slots[i].grad)
            return rn__error(ctx, RN_E_BAD_STATE,
                             "%s: the model has no gradients yet (run a RN_MODE_TRAIN plan's "
                             "forward and backward first)",
                             fn);
        sgd_job job;
        rn_memset(&job, 0, sizeof job);
        job.s = &slots[i];
        const size_t blocks = sgd_blocks(&slots[i], &job.block);
        rn__parallel_for(ctx, blocks, finite_task, &job);
        size_t t = 0;
        while (t < blocks && !job.bad[t]) t++;
        if (t == blocks) continue;
        const float *g = slots[i].grad;
        for (size_t j = t * job.block; j < slots[i].count; j++)
            if (!isfinite(g[j]))
                return rn__error(ctx, RN_E_NUMERIC,
                                 "%s: the gradient of '%s' is %s at element %zu; nothing was "
                                 "updated",
                                 fn, slots[i].name, g[j] != g[j] ? "NaN" : "infinite", j);
    }
    int32_t use_momentum = opt->momentum != 0.0;
    if (use_momentum)
        for (int32_t i = 0; i < n; i++)
            if (slots[i].kind == RN_TENSOR_PARAM && !slots[i].frozen &&
                (st = rn__optimizer_alloc_buffer(opt, i)))
                return st;
    /* PyTorch turns each Python float into the tensor's dtype before use */
    float lr = (float)opt->lr, momentum = (float)opt->momentum;
    float one_minus_damp = (float)(1.0 - opt->dampening);
    for (int32_t i = 0; i < n; i++) {
        const rn_tensor_slot *s = &slots[i];
        if (s->kind != RN_TENSOR_PARAM || s->frozen) continue; /* frozen: not updated */
        sgd_job job;
        rn_memset(&job, 0, sizeof job);
        job.s = s;
        job.buf = use_momentum ? opt->buf[i] : NULL;
        job.first = use_momentum && !opt->has_buf[i];
        job.nesterov = opt->nesterov;
        job.lr = lr, job.momentum = momentum, job.one_minus_damp = one_minus_damp;
        job.wd = (opt->decay_all || s->ndim > 1) ? (float)opt->weight_decay : 0.0f;
        rn__parallel_for(ctx, sgd_blocks(s, &job.block), update_task, &job);
        if (use_momentum) opt->has_buf[i] = 1;
    }
    rn__model_values_changed(opt->model);
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_optimizer_has_buffer(const rn_optimizer *opt, const char *name, int32_t *has) {
    if (!opt) return RN_E_INVALID_ARG;
    const rn_tensor_slot *s;
    rn_status st = RN_OK;
    int32_t i = param_slot(opt, "rn_optimizer_has_buffer", name, has, SIZE_MAX, &s, &st);
    if (i < 0) return st;
    *has = opt->has_buf[i];
    return RN_OK;
}

rn_status rn_optimizer_get_buffer(const rn_optimizer *opt, const char *name, float *dst,
                                  size_t count) {
    static const char fn[] = "rn_optimizer_get_buffer";
    if (!opt) return RN_E_INVALID_ARG;
    const rn_tensor_slot *s;
    rn_status st = RN_OK;
    int32_t i = param_slot(opt, fn, name, dst, count, &s, &st);
    if (i < 0) return st;
    if (!opt->has_buf[i])
        return rn__error(opt->ctx, RN_E_BAD_STATE,
                         "%s: '%s' has no momentum buffer yet (before its first step)", fn, name);
    rn__nn_slot_read(s, opt->buf[i], dst);
    return RN_OK;
}

rn_status rn_optimizer_set_buffer(rn_optimizer *opt, const char *name, const float *src,
                                  size_t count) {
    if (!opt) return RN_E_INVALID_ARG;
    const rn_tensor_slot *s;
    rn_status st = RN_OK;
    int32_t i = param_slot(opt, "rn_optimizer_set_buffer", name, src, count, &s, &st);
    if (i < 0) return st;
    if ((st = rn__optimizer_alloc_buffer(opt, i))) return st;
    rn__nn_slot_write(s, src, opt->buf[i]);
    opt->has_buf[i] = 1;
    rn__clear_error(opt->ctx);
    return RN_OK;
}

rn_status rn_optimizer_reset(rn_optimizer *opt) {
    if (!opt) return RN_E_INVALID_ARG;
    for (int32_t i = 0; i < opt->nslots; i++) opt->has_buf[i] = 0;
    return RN_OK;
}
