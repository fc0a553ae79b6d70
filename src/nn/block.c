/*
 * The residual blocks of the paper (section 3): their layer shapes, the
 * shortcut each option gives, and their parameter and multiply-accumulate
 * counts. Basic: 3x3(stride) - 3x3; bottleneck: 1x1 - 3x3(stride) - 1x1 x4
 * (torchvision v1.5) or 1x1(stride) - 3x3 - 1x1 x4 (paper v1). A BN follows
 * every convolution; the ReLU comes after the addition.
 */
#include "nn-internal.h"

static void conv_shape(nn_conv *c, int32_t in, int32_t out, int32_t k, int32_t stride) {
    c->in = in, c->out = out, c->k = k, c->stride = stride, c->pad = (k - 1) / 2;
    c->w = c->gw = NULL;
    c->bias = NULL;
}

static void bn_shape(nn_bn *bn, int32_t c) {
    bn->c = c;
    bn->gamma = bn->beta = bn->mean = bn->var = bn->ggamma = bn->gbeta = NULL;
}

rn_status rn__nn_block_setup(nn_block *b, int32_t type, int32_t in, int32_t width, int32_t stride,
                             int32_t shortcut, uint32_t flags, const char **why) {
    rn_memset(b, 0, sizeof *b);
    if (type != RN_BLOCK_BASIC && type != RN_BLOCK_BOTTLENECK) {
        *why = "block_type must be RN_BLOCK_BASIC or RN_BLOCK_BOTTLENECK";
        return RN_E_INVALID_ARG;
    }
    int32_t expansion = type == RN_BLOCK_BASIC ? 1 : 4;
    if (in < 1 || in > RN_NN_MAX_CHANNELS) {
        *why = "in_channels must be in [1, 65536]";
        return RN_E_INVALID_ARG;
    }
    if (width < 1 || width > RN_NN_MAX_CHANNELS / expansion) {
        *why = "width must be in [1, 65536] (bottleneck: [1, 16384])";
        return RN_E_INVALID_ARG;
    }
    if (stride < 1 || stride > RN_NN_MAX_STRIDE) {
        *why = "stride must be in [1, 64]";
        return RN_E_INVALID_ARG;
    }
    if (shortcut < RN_SHORTCUT_DEFAULT || shortcut > RN_SHORTCUT_NONE) {
        *why = "shortcut must be RN_SHORTCUT_DEFAULT, _A, _B, _C or _NONE";
        return RN_E_INVALID_ARG;
    }
    if (flags & ~(RN_MODEL_ZERO_INIT_RESIDUAL | RN_MODEL_STRIDE_ON_1X1)) {
        *why = "flags has bits other than RN_MODEL_ZERO_INIT_RESIDUAL | RN_MODEL_STRIDE_ON_1X1";
        return RN_E_INVALID_ARG;
    }
    /* torchvision's (and the paper's ImageNet) choice when none is given */
    if (shortcut == RN_SHORTCUT_DEFAULT) shortcut = RN_SHORTCUT_B;
    b->type = type, b->in = in, b->width = width, b->out = width * expansion;
    b->stride = stride, b->shortcut = shortcut, b->flags = flags;
    if (type == RN_BLOCK_BASIC) {
        b->nconv = 2;
        conv_shape(&b->conv[0], in, width, 3, stride);
        conv_shape(&b->conv[1], width, width, 3, 1);
    } else {
        int32_t on_1x1 = (flags & RN_MODEL_STRIDE_ON_1X1) != 0;
        b->nconv = 3;
        conv_shape(&b->conv[0], in, width, 1, on_1x1 ? stride : 1);
        conv_shape(&b->conv[1], width, width, 3, on_1x1 ? 1 : stride);
        conv_shape(&b->conv[2], width, b->out, 1, 1);
    }
    for (int32_t i = 0; i < b->nconv; i++) bn_shape(&b->bn[i], b->conv[i].out);
    int32_t dims_change = stride != 1 || in != b->out;
    switch (shortcut) {
    case RN_SHORTCUT_A:
        if (dims_change && b->out < in) {
            *why = "option A cannot shrink channels (out < in): zero-padding only adds them";
            return RN_E_INVALID_ARG;
        }
        b->sc = dims_change ? NN_SC_PAD : NN_SC_IDENTITY;
        break;
    case RN_SHORTCUT_B: b->sc = dims_change ? NN_SC_PROJ : NN_SC_IDENTITY; break;
    case RN_SHORTCUT_C: b->sc = NN_SC_PROJ; break;
    default: b->sc = NN_SC_NONE; break;
    }
    if (b->sc == NN_SC_PROJ) {
        conv_shape(&b->ds_conv, in, b->out, 1, stride);
        bn_shape(&b->ds_bn, b->out);
    }
    return RN_OK;
}

static int64_t conv_out(int64_t h, const nn_conv *c) {
    return (h + 2 * (int64_t)c->pad - c->k) / c->stride + 1;
}

void rn__nn_block_out_hw(const nn_block *b, int64_t h, int64_t w, int64_t *oh, int64_t *ow) {
    for (int32_t i = 0; i < b->nconv; i++)
        h = conv_out(h, &b->conv[i]), w = conv_out(w, &b->conv[i]);
    *oh = h, *ow = w;
}

static int64_t conv_params(const nn_conv *c) { return (int64_t)c->out * c->in * c->k * c->k; }

int64_t rn__nn_block_params(const nn_block *b) {
    int64_t p = 0;
    for (int32_t i = 0; i < b->nconv; i++) p += conv_params(&b->conv[i]) + 2 * (int64_t)b->bn[i].c;
    if (b->sc == NN_SC_PROJ) p += conv_params(&b->ds_conv) + 2 * (int64_t)b->ds_bn.c;
    return p;
}

int64_t rn__nn_block_macs(const nn_block *b, int64_t h, int64_t w) {
    int64_t macs = 0, h0 = h, w0 = w;
    for (int32_t i = 0; i < b->nconv; i++) {
        h = conv_out(h, &b->conv[i]), w = conv_out(w, &b->conv[i]);
        macs += h * w * conv_params(&b->conv[i]);
    }
    if (b->sc == NN_SC_PROJ)
        macs += conv_out(h0, &b->ds_conv) * conv_out(w0, &b->ds_conv) * conv_params(&b->ds_conv);
    return macs;
}
