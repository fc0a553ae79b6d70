/*
 * The public forward functions of include/resnet/layers.h (and
 * rn_conv_out_size): each validates its arguments (layers-validate.h), takes
 * scratch from the context's allocator, calls the internal driver of
 * src/ops/ops.h and gives the scratch back. Nothing is written before
 * validation succeeds, so outputs are untouched on failure.
 */
#include "layers-validate.h"
#include "resnet/layers.h"

int64_t rn_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad) {
    if (in < 1 || k < 1 || stride < 1 || pad < 0) return -1;
    if (pad > (INT64_MAX - in) / 2) return -1;
    int64_t span = in + 2 * pad - k;
    if (span < 0) return -1;
    return span / stride + 1;
}

rn_status rn_conv2d_forward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                            const rn_tensor *bias, int32_t stride_h, int32_t stride_w,
                            int32_t pad_h, int32_t pad_w, rn_tensor *y) {
    static const char fn[] = "rn_conv2d_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    RN_TRY(rn__check_tensor(ctx, fn, "w", w));
    rn_conv_desc d;
    RN_TRY(rn__make_conv_desc(ctx, fn, "x", x, "w", w, stride_h, stride_w, pad_h, pad_w, &d));
    if (bias) RN_TRY(rn__check_shape(ctx, fn, "bias", bias, 1, 1, 1, d.oc));
    RN_TRY(rn__check_shape(ctx, fn, "y", y, d.n, d.oh, d.ow, d.oc));
    rn_role outs[] = {{"y", y, 0}};
    rn_role ins[] = {{"x", x, 0}, {"w", w, 0}, {"bias", bias, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    void *ws;
    RN_TRY(rn__alloc_workspace(ctx, fn, rn__conv2d_forward_workspace(ctx, &d), &ws));
    rn__conv2d_forward(ctx, &d, x->data, w->data, bias ? bias->data : NULL, 0, y->data, ws);
    rn__free(ctx, ws);
    return rn__done(ctx);
}

/* The tensors both batch-norm forwards take: x, four per-channel vectors and
 * y shaped like x. */
static rn_status check_bn_tensors(rn_ctx *ctx, const char *fn, const rn_tensor *x,
                                  const rn_tensor *gamma, const rn_tensor *beta,
                                  const rn_tensor *running_mean, const rn_tensor *running_var,
                                  const rn_tensor *y) {
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    int64_t c = x->dims[3];
    RN_TRY(rn__check_shape(ctx, fn, "gamma", gamma, 1, 1, 1, c));
    RN_TRY(rn__check_shape(ctx, fn, "beta", beta, 1, 1, 1, c));
    RN_TRY(rn__check_shape(ctx, fn, "running_mean", running_mean, 1, 1, 1, c));
    RN_TRY(rn__check_shape(ctx, fn, "running_var", running_var, 1, 1, 1, c));
    return rn__check_same_shape(ctx, fn, "y", y, x);
}

rn_status rn_batchnorm_forward_train(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *gamma,
                                     const rn_tensor *beta, rn_tensor *running_mean,
                                     rn_tensor *running_var, float momentum, float eps,
                                     rn_tensor *y, rn_tensor *save_mean, rn_tensor *save_invstd) {
    static const char fn[] = "rn_batchnorm_forward_train";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(check_bn_tensors(ctx, fn, x, gamma, beta, running_mean, running_var, y));
    int64_t c = x->dims[3];
    RN_TRY(rn__check_shape(ctx, fn, "save_mean", save_mean, 1, 1, 1, c));
    RN_TRY(rn__check_shape(ctx, fn, "save_invstd", save_invstd, 1, 1, 1, c));
    RN_TRY(rn__check_bn_scalars(ctx, fn, momentum, eps, 1));
    size_t count = rn__rows_of(x);
    if (count < 2) {
        char s[96];
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: x has shape %s: training needs more than one value per channel "
                         "(N*H*W > 1) for the unbiased running variance",
                         fn, rn__shape_str(x, s, sizeof s));
    }
    rn_role outs[] = {{"y", y, 1},
                      {"running_mean", running_mean, 0},
                      {"running_var", running_var, 0},
                      {"save_mean", save_mean, 0},
                      {"save_invstd", save_invstd, 0}};
    rn_role ins[] = {{"x", x, 1}, {"gamma", gamma, 0}, {"beta", beta, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__bn_forward_train(ctx, count, (size_t)c, x->data, gamma->data, beta->data,
                         running_mean->data, running_var->data, momentum, eps, NULL, y->data,
                         save_mean->data, save_invstd->data, NULL, 0);
    return rn__done(ctx);
}

rn_status rn_batchnorm_forward_eval(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *gamma,
                                    const rn_tensor *beta, const rn_tensor *running_mean,
                                    const rn_tensor *running_var, float eps, rn_tensor *y) {
    static const char fn[] = "rn_batchnorm_forward_eval";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(check_bn_tensors(ctx, fn, x, gamma, beta, running_mean, running_var, y));
    int64_t c = x->dims[3];
    RN_TRY(rn__check_bn_scalars(ctx, fn, 0.0f, eps, 0));
    rn_role outs[] = {{"y", y, 1}};
    rn_role ins[] = {{"x", x, 1},
                     {"gamma", gamma, 0},
                     {"beta", beta, 0},
                     {"running_mean", running_mean, 0},
                     {"running_var", running_var, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__bn_forward_eval(ctx, rn__rows_of(x), (size_t)c, x->data, gamma->data, beta->data,
                        running_mean->data, running_var->data, eps, NULL, y->data, 0);
    return rn__done(ctx);
}

rn_status rn_relu_forward(rn_ctx *ctx, const rn_tensor *x, rn_tensor *y) {
    static const char fn[] = "rn_relu_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    RN_TRY(rn__check_same_shape(ctx, fn, "y", y, x));
    rn_role outs[] = {{"y", y, 1}};
    rn_role ins[] = {{"x", x, 1}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__relu_forward(ctx, (size_t)rn_tensor_numel(x), x->data, y->data);
    return rn__done(ctx);
}

rn_status rn_maxpool_forward(rn_ctx *ctx, const rn_tensor *x, int32_t kernel_h, int32_t kernel_w,
                             int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                             rn_tensor *y) {
    static const char fn[] = "rn_maxpool_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    rn_pool_desc d;
    RN_TRY(
        rn__make_pool_desc(ctx, fn, x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, &d));
    RN_TRY(rn__check_shape(ctx, fn, "y", y, d.n, d.oh, d.ow, d.c));
    rn_role outs[] = {{"y", y, 0}};
    rn_role ins[] = {{"x", x, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__maxpool_forward(ctx, &d, x->data, y->data);
    return rn__done(ctx);
}

rn_status rn_global_avgpool_forward(rn_ctx *ctx, const rn_tensor *x, rn_tensor *y) {
    static const char fn[] = "rn_global_avgpool_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    RN_TRY(rn__check_shape(ctx, fn, "y", y, x->dims[0], 1, 1, x->dims[3]));
    rn_role outs[] = {{"y", y, 0}};
    rn_role ins[] = {{"x", x, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__gap_forward(ctx, (size_t)x->dims[0], (size_t)x->dims[1] * (size_t)x->dims[2],
                    (size_t)x->dims[3], x->data, y->data);
    return rn__done(ctx);
}

rn_status rn_linear_forward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w, const rn_tensor *b,
                            rn_tensor *y) {
    static const char fn[] = "rn_linear_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    RN_TRY(rn__check_linear_w(ctx, fn, "w", w, x));
    size_t n = (size_t)x->dims[0], in = (size_t)w->dims[3], out = (size_t)w->dims[0];
    if (b) RN_TRY(rn__check_shape(ctx, fn, "b", b, 1, 1, 1, w->dims[0]));
    RN_TRY(rn__check_shape(ctx, fn, "y", y, x->dims[0], 1, 1, w->dims[0]));
    rn_role outs[] = {{"y", y, 0}};
    rn_role ins[] = {{"x", x, 0}, {"w", w, 0}, {"b", b, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    void *ws;
    RN_TRY(rn__alloc_workspace(ctx, fn, rn__linear_workspace(ctx, n, in, out), &ws));
    rn__linear_forward(ctx, n, in, out, x->data, w->data, b ? b->data : NULL, y->data, ws);
    rn__free(ctx, ws);
    return rn__done(ctx);
}

rn_status rn_add_forward(rn_ctx *ctx, const rn_tensor *a, const rn_tensor *b, rn_tensor *y) {
    static const char fn[] = "rn_add_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "a", a));
    RN_TRY(rn__check_same_shape(ctx, fn, "b", b, a));
    RN_TRY(rn__check_same_shape(ctx, fn, "y", y, a));
    rn_role outs[] = {{"y", y, 1}};
    rn_role ins[] = {{"a", a, 1}, {"b", b, 1}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__add_forward(ctx, (size_t)rn_tensor_numel(a), a->data, b->data, y->data, 0);
    return rn__done(ctx);
}

rn_status rn_shortcut_a_forward(rn_ctx *ctx, const rn_tensor *x, int32_t stride, rn_tensor *y) {
    static const char fn[] = "rn_shortcut_a_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    RN_TRY(rn__check_tensor(ctx, fn, "y", y));
    RN_TRY(rn__check_shortcut(ctx, fn, "y", y, x, stride));
    rn_role outs[] = {{"y", y, 0}};
    rn_role ins[] = {{"x", x, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__shortcut_a_forward(ctx, (size_t)x->dims[0], (size_t)x->dims[1], (size_t)x->dims[2],
                           (size_t)x->dims[3], (size_t)stride, (size_t)y->dims[3], x->data,
                           y->data);
    return rn__done(ctx);
}

rn_status rn_softmax_xent_forward(rn_ctx *ctx, const rn_tensor *logits, const int32_t *labels,
                                  size_t num_labels, float *loss) {
    static const char fn[] = "rn_softmax_xent_forward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_xent(ctx, fn, logits, labels, num_labels));
    if (!loss) return rn__error(ctx, RN_E_INVALID_ARG, "%s: loss is NULL", fn);
    *loss = rn__softmax_xent(ctx, (size_t)logits->dims[0], (size_t)logits->dims[3], logits->data,
                             labels, NULL);
    return rn__done(ctx);
}
