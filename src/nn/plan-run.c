/*
 * Running a program: each step calls one op driver (src/ops) on arrays at
 * their planned offsets in the arena. Nothing here allocates or fails: the
 * shapes were checked when the program was built, and the arena was sized by
 * the same program.
 */
#include "nn-internal.h"

typedef struct run_env {
    const nn_prog *prog;
    unsigned char *arena;
} run_env;

static float *at(const run_env *e, int32_t id) {
    return id < 0 ? NULL : (float *)(e->arena + e->prog->bufs[id].offset);
}

static void run_step(const rn_ctx *ctx, const nn_step *s, const run_env *e, nn_run_io *io) {
    float *x = at(e, s->x), *x2 = at(e, s->x2), *x3 = at(e, s->x3), *y = at(e, s->y);
    void *ws = s->ws >= 0 ? (void *)at(e, s->ws) : NULL;
    const nn_conv *cv = s->conv;
    const nn_bn *bn = s->bn;
    size_t count = s->n * s->h * s->w * s->c;
    if (io->dist &&
        rn__nn_dist_step(ctx, s, x, x2, x3, y, at(e, s->aux1), at(e, s->aux2), at(e, s->aux3), ws,
                         s->ws >= 0 ? e->prog->bufs[s->ws].bytes : 0, io->labels, io->dist))
        return;
    switch (s->op) {
    case NN_OP_LOAD:
        if (s->ext == NN_EXT_IMAGE && io->layout == RN_LAYOUT_NCHW)
            rn__nchw_to_nhwc(io->in[s->ext], y, s->n, s->h, s->w, s->c);
        else
            rn_memcpy(y, io->in[s->ext], count * sizeof(float));
        break;
    case NN_OP_STORE:
        if (s->ext == NN_EXT_IMAGE && io->layout == RN_LAYOUT_NCHW)
            rn__nhwc_to_nchw(x, io->out[s->ext], s->n, s->h, s->w, s->c);
        else
            rn_memcpy(io->out[s->ext], x, count * sizeof(float));
        break;
    case NN_OP_CONV:
        /* bf16 steps (training plans) run fp32 again while RN_OPT_TRAIN_BF16 is 0 */
        if (s->algo == RN_CONV_ALGO_BF16 && ctx->train_bf16)
            rn__conv_indirect_forward_bf16(ctx, &s->cd, x, cv->w, cv->bias, s->relu, y, ws);
        else if (s->wmode == NN_W_WINOGRAD_W && ctx->winograd)
            rn__conv_winograd_forward_w(ctx, &s->cd, x, cv->w, cv->bias, s->relu, y, ws);
        else if ((s->wmode == NN_W_WINOGRAD || s->wmode == NN_W_WINOGRAD2) && ctx->winograd)
            rn__conv_winograd_forward(ctx, &s->cd, s->wmode == NN_W_WINOGRAD ? 4 : 2, x,
                                      s->dw->data, cv->bias, s->relu, s->residual, y, ws);
        else if (s->wmode == NN_W_PACKED || s->pk)
            rn__conv_forward_panels(ctx, &s->cd, x,
                                    (const float *)(const void *)(s->pk ? s->pk : s->dw)->data,
                                    cv->bias, s->relu, s->residual, y, ws);
        else if (s->residual)
            rn__conv2d_forward_residual(ctx, &s->cd, x, cv->w, cv->bias, s->relu, y, ws);
        else
            rn__conv2d_forward(ctx, &s->cd, x, cv->w, cv->bias, s->relu, y, ws);
        break;
    case NN_OP_BN_TRAIN:
        rn__bn_forward_train(ctx, s->n, s->c, x, bn->gamma, bn->beta, bn->mean, bn->var,
                             RN_BN_MOMENTUM, RN_BN_EPS, x2, y, at(e, s->aux1), at(e, s->aux2),
                             at(e, s->aux3), s->relu);
        break;
    case NN_OP_BN_EVAL:
        rn__bn_forward_eval(ctx, s->n, s->c, x, bn->gamma, bn->beta, bn->mean, bn->var, RN_BN_EPS,
                            x2, y, s->relu);
        break;
    case NN_OP_ADD: rn__add_forward(ctx, s->n, x, x2, y, s->relu); break;
    case NN_OP_SHORTCUT_A:
        rn__shortcut_a_forward(ctx, s->n, s->h, s->w, s->c, s->stride, s->oc, x, y);
        break;
    case NN_OP_MAXPOOL: rn__maxpool_forward(ctx, &s->pd, x, y); break;
    case NN_OP_GAP: rn__gap_forward(ctx, s->n, s->h * s->w, s->c, x, y); break;
    case NN_OP_LINEAR:
        rn__linear_forward(ctx, s->n, s->c, s->oc, x, s->fc_w, s->fc_b, y, ws);
        break;
    case NN_OP_XENT: io->loss = rn__softmax_xent(ctx, s->n, s->c, x, io->labels, y); break;
    case NN_OP_LINEAR_BWD:
        rn__linear_backward(ctx, s->n, s->c, s->oc, x, s->fc_w, x2, y, s->fc_gw, s->fc_gb, ws);
        break;
    case NN_OP_GAP_BWD: rn__gap_backward(ctx, s->n, s->h * s->w, s->c, x2, y); break;
    case NN_OP_MAXPOOL_BWD: rn__maxpool_backward(ctx, &s->pd, x, x2, y); break;
    case NN_OP_RELU_BWD: rn__relu_backward(ctx, s->n, x, x2, x3, y); break;
    case NN_OP_BN_BWD:
        rn__bn_backward(ctx, s->n, s->c, x, x2, x3, at(e, s->aux3), bn->gamma, at(e, s->aux1),
                        at(e, s->aux2), y, bn->ggamma, bn->gbeta);
        break;
    case NN_OP_CONV_BWD_DATA:
        if (s->algo == RN_CONV_ALGO_BF16 && ctx->train_bf16)
            rn__conv_indirect_backward_data_bf16(ctx, &s->cd, x2, cv->w, y, ws);
        else if (s->wmode == NN_W_WINOGRAD_W && ctx->winograd)
            rn__conv_winograd_backward_data(ctx, &s->cd, x2, cv->w, y, ws);
        else
            rn__conv2d_backward_data(ctx, &s->cd, x2, cv->w, y, ws);
        break;
    case NN_OP_CONV_BWD_W:
        if (cv->frozen) break; /* frozen: no weight-gradient work (its gradient stays 0) */
        if (s->wmode == NN_W_WINOGRAD_W && ctx->winograd)
            rn__conv_winograd_backward_weights(ctx, &s->cd, x, x2, cv->gw, ws);
        else
            rn__conv2d_backward_weights(ctx, &s->cd, x, x2, cv->gw, NULL, ws);
        break;
    case NN_OP_Q_LOAD:
        rn__quantize_images(ctx, io->in[s->ext], io->layout == RN_LAYOUT_NCHW, s->n, s->h, s->w,
                            s->c, s->qscale, (int8_t *)y);
        break;
    case NN_OP_Q_CONV: {
        const nn_qconv *q = s->qconv;
        const void *packed = s->wmode == NN_W_PACKED ? e->prog->derived + s->woff : NULL;
        rn__qconv2d_run(ctx, &s->qd, (const int8_t *)x, q->w, q->bias, packed, q->m,
                        (const int8_t *)x2, q->m_r, s->relu, (int8_t *)y, ws);
        break;
    }
    case NN_OP_Q_MAXPOOL: rn__qmaxpool_forward(ctx, &s->pd, (const int8_t *)x, (int8_t *)y); break;
    case NN_OP_Q_SHORTCUT_A:
        rn__qshortcut_a_forward(ctx, s->n, s->h, s->w, s->c, s->stride, s->oc, (const int8_t *)x,
                                (int8_t *)y);
        break;
    case NN_OP_Q_GAP:
        rn__qgap_forward(ctx, s->n, s->h * s->w, s->c, (const int8_t *)x, s->qscale, y);
        break;
    case NN_OP_Q_LINEAR: rn__qlinear_forward(ctx, s->n, s->c, s->oc, x, s->fc_w, s->fc_b, y); break;
    case NN_OP_SHORTCUT_A_BWD:
        rn__shortcut_a_backward(ctx, s->n, s->h, s->w, s->c, s->stride, s->oc, x2, y);
        break;
    default: RN_ASSERT(0); break;
    }
}

void rn__nn_prog_run(const rn_ctx *ctx, const nn_prog *prog, int32_t from, int32_t to,
                     unsigned char *arena, nn_run_io *io) {
    run_env e = {prog, arena};
    for (int32_t i = from; i < to; i++) run_step(ctx, &prog->steps[i], &e, io);
}
