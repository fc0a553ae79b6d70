/*
 * Batch-norm folding for inference: each BN after a convolution becomes a
 * per-channel scale of the conv weights and a bias,
 *   w' = w * gamma / sqrt(var + eps),  b' = beta - mean * gamma / sqrt(var + eps),
 * so inference runs one conv with a bias (and ReLU) epilogue instead of a
 * conv and a BN pass. The folded BN is left as an identity with bias b'
 * (weight 1, mean 0, var 1 - eps), so the tensors still read under their
 * torchvision names and give the same result in PyTorch's eval mode.
 */
#include "nn-internal.h"

void rn__nn_fold(nn_conv *c, nn_bn *bn) {
    size_t per_out = (size_t)c->k * (size_t)c->k * (size_t)c->in;
    for (int32_t o = 0; o < c->out; o++) {
        double s = (double)bn->gamma[o] / rn_sqrt((double)bn->var[o] + (double)RN_BN_EPS);
        float *w = c->w + (size_t)o * per_out;
        for (size_t i = 0; i < per_out; i++) w[i] = (float)((double)w[i] * s);
        bn->beta[o] = (float)((double)bn->beta[o] - (double)bn->mean[o] * s);
        bn->gamma[o] = 1.0f;
        bn->mean[o] = 0.0f;
        bn->var[o] = 1.0f - RN_BN_EPS;
    }
    c->bias = bn->beta;
}

rn_status rn_model_fold_batchnorm(rn_model *m) {
    if (!m) return RN_E_INVALID_ARG;
    if (m->folded) return RN_OK; /* folding twice would scale by the identity BN: nothing to do */
    rn_status wst = rn__nn_model_writable(m, m->ctx, "rn_model_fold_batchnorm");
    if (wst) return wst;
    if (m->has_stem) rn__nn_fold(&m->stem_conv, &m->stem_bn);
    for (int32_t i = 0; i < m->nblocks; i++) {
        nn_block *b = &m->blocks[i];
        for (int32_t j = 0; j < b->nconv; j++) rn__nn_fold(&b->conv[j], &b->bn[j]);
        if (b->sc == NN_SC_PROJ) rn__nn_fold(&b->ds_conv, &b->ds_bn);
    }
    m->folded = 1;
    rn__model_values_changed(m);
    return RN_OK;
}
