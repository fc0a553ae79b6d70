/*
 * He initialisation as torchvision does it: convolutions Kaiming-normal with
 * fan_out and the ReLU gain (std = sqrt(2 / (out * kh * kw))), BN weight 1
 * and bias 0, running mean 0 and variance 1, the fc layer nn.Linear's default
 * (weight and bias uniform in +-1/sqrt(in)), and optionally the last BN weight
 * of each residual block 0 (zero_init_residual).
 *
 * Randomness: splitmix64, one stream per tensor seeded from (seed, the
 * tensor's index in state_dict order), normals by Box-Muller. A tensor's
 * values therefore depend only on the seed and its position, never on how
 * many values other tensors drew.
 */
#include "nn-internal.h"

typedef struct nn_rng {
    uint64_t s;
} nn_rng;

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static nn_rng rng_for(uint64_t seed, uint64_t stream) {
    nn_rng r;
    r.s = mix64(seed) ^ mix64(stream * 0xD1B54A32D192ED03ULL + 0x632BE59BD9B4E019ULL);
    return r;
}

/* in (0, 1]: never 0, so the logarithm below is finite */
static double uniform01(nn_rng *r) {
    uint64_t z = mix64(r->s += 0x9E3779B97F4A7C15ULL);
    return (double)((z >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* Box-Muller: two independent standard normals from two uniforms */
static void normal_pair(nn_rng *r, double *z0, double *z1) {
    const double two_pi = 6.283185307179586476925286766559;
    const double quarter_turn = 1.5707963267948966192313216916398;
    double rad = rn_sqrt(-2.0 * rn_log(uniform01(r))), theta = two_pi * uniform01(r);
    *z0 = rad * rn_cos(theta);
    *z1 = rad * rn_cos(theta - quarter_turn); /* = sin(theta) */
}

void rn__nn_init_conv(nn_conv *c, uint64_t seed, uint64_t stream) {
    nn_rng r = rng_for(seed, stream);
    double std = rn_sqrt(2.0 / ((double)c->out * c->k * c->k));
    size_t count = (size_t)c->out * (size_t)c->in * (size_t)c->k * (size_t)c->k;
    for (size_t i = 0; i < count; i += 2) {
        double z0, z1;
        normal_pair(&r, &z0, &z1);
        c->w[i] = (float)(std * z0);
        if (i + 1 < count) c->w[i + 1] = (float)(std * z1);
    }
}

void rn__nn_init_bn(nn_bn *bn, float gamma) {
    for (int32_t i = 0; i < bn->c; i++) {
        bn->gamma[i] = gamma;
        bn->beta[i] = 0.0f;
        bn->mean[i] = 0.0f;
        bn->var[i] = 1.0f;
    }
}

/* stream advances as the registry numbers tensors: 1 per conv, 4 per BN */
void rn__nn_init_block(nn_block *b, uint64_t seed, uint64_t *stream) {
    int32_t zero_last = (b->flags & RN_MODEL_ZERO_INIT_RESIDUAL) && b->sc != NN_SC_NONE;
    for (int32_t i = 0; i < b->nconv; i++) {
        rn__nn_init_conv(&b->conv[i], seed, (*stream)++);
        rn__nn_init_bn(&b->bn[i], zero_last && i == b->nconv - 1 ? 0.0f : 1.0f);
        *stream += 4;
    }
    if (b->sc == NN_SC_PROJ) {
        rn__nn_init_conv(&b->ds_conv, seed, (*stream)++);
        rn__nn_init_bn(&b->ds_bn, 1.0f);
        *stream += 4;
    }
}

static void init_uniform(float *p, size_t n, double bound, uint64_t seed, uint64_t stream) {
    nn_rng r = rng_for(seed, stream);
    for (size_t i = 0; i < n; i++) p[i] = (float)(bound * (2.0 * uniform01(&r) - 1.0));
}

rn_status rn_model_init(rn_model *m, uint64_t seed) {
    if (!m) return RN_E_INVALID_ARG;
    if (m->folded)
        return rn__error(m->ctx, RN_E_BAD_STATE,
                         "rn_model_init: the model was folded for inference; build a new one");
    rn_status wst = rn__nn_model_writable(m, m->ctx, "rn_model_init");
    if (wst) return wst;
    uint64_t stream = 0;
    if (m->has_stem) {
        rn__nn_init_conv(&m->stem_conv, seed, stream++);
        rn__nn_init_bn(&m->stem_bn, 1.0f);
        stream += 4;
    }
    for (int32_t i = 0; i < m->nblocks; i++) rn__nn_init_block(&m->blocks[i], seed, &stream);
    if (m->has_head) {
        double bound = 1.0 / rn_sqrt((double)m->fc_in);
        init_uniform(m->fc_w, (size_t)m->classes * (size_t)m->fc_in, bound, seed, stream++);
        init_uniform(m->fc_b, (size_t)m->classes, bound, seed, stream++);
    }
    rn__model_values_changed(m);
    return RN_OK;
}
