/*
 * The public backward functions of include/resnet/layers.h: validate
 * (layers-validate.h), take scratch from the context's allocator, call the
 * internal driver of src/ops/ops.h, give the scratch back. Nothing is written
 * before validation succeeds, so outputs are untouched on failure.
 */
#include "layers-validate.h"
#include "resnet/layers.h"

rn_status rn_conv2d_backward_data(rn_ctx *ctx, const rn_tensor *dy, const rn_tensor *w,
                                  int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                                  rn_tensor *dx) {
    static const char fn[] = "rn_conv2d_backward_data";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "dy", dy));
    RN_TRY(rn__check_tensor(ctx, fn, "w", w));
    RN_TRY(rn__check_tensor(ctx, fn, "dx", dx));
    rn_conv_desc d;
    RN_TRY(rn__make_conv_desc(ctx, fn, "dx", dx, "w", w, stride_h, stride_w, pad_h, pad_w, &d));
    RN_TRY(rn__check_shape(ctx, fn, "dy", dy, d.n, d.oh, d.ow, d.oc));
    rn_role outs[] = {{"dx", dx, 0}};
    rn_role ins[] = {{"dy", dy, 0}, {"w", w, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    void *ws;
    RN_TRY(rn__alloc_workspace(ctx, fn, rn__conv2d_backward_data_workspace(ctx, &d), &ws));
    rn__conv2d_backward_data(ctx, &d, dy->data, w->data, dx->data, ws);
    rn__free(ctx, ws);
    return rn__done(ctx);
}

rn_status rn_conv2d_backward_weights(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *dy,
                                     int32_t stride_h, int32_t stride_w, int32_t pad_h,
                                     int32_t pad_w, rn_tensor *dw, rn_tensor *dbias) {
    static const char fn[] = "rn_conv2d_backward_weights";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    RN_TRY(rn__check_tensor(ctx, fn, "dy", dy));
    RN_TRY(rn__check_tensor(ctx, fn, "dw", dw));
    rn_conv_desc d;
    RN_TRY(rn__make_conv_desc(ctx, fn, "x", x, "dw", dw, stride_h, stride_w, pad_h, pad_w, &d));
    RN_TRY(rn__check_shape(ctx, fn, "dy", dy, d.n, d.oh, d.ow, d.oc));
    if (dbias) RN_TRY(rn__check_shape(ctx, fn, "dbias", dbias, 1, 1, 1, d.oc));
    rn_role outs[] = {{"dw", dw, 0}, {"dbias", dbias, 0}};
    rn_role ins[] = {{"x", x, 0}, {"dy", dy, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    void *ws;
    RN_TRY(rn__alloc_workspace(ctx, fn, rn__conv2d_backward_weights_workspace(ctx, &d), &ws));
    rn__conv2d_backward_weights(ctx, &d, x->data, dy->data, dw->data, dbias ? dbias->data : NULL,
                                ws);
    rn__free(ctx, ws);
    return rn__done(ctx);
}

rn_status rn_batchnorm_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *dy,
                                const rn_tensor *gamma, const rn_tensor *save_mean,
                                const rn_tensor *save_invstd, rn_tensor *dx, rn_tensor *dgamma,
                                rn_tensor *dbeta) {
    static const char fn[] = "rn_batchnorm_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    int64_t c = x->dims[3];
    RN_TRY(rn__check_same_shape(ctx, fn, "dy", dy, x));
    RN_TRY(rn__check_shape(ctx, fn, "gamma", gamma, 1, 1, 1, c));
    RN_TRY(rn__check_shape(ctx, fn, "save_mean", save_mean, 1, 1, 1, c));
    RN_TRY(rn__check_shape(ctx, fn, "save_invstd", save_invstd, 1, 1, 1, c));
    RN_TRY(rn__check_same_shape(ctx, fn, "dx", dx, x));
    RN_TRY(rn__check_shape(ctx, fn, "dgamma", dgamma, 1, 1, 1, c));
    RN_TRY(rn__check_shape(ctx, fn, "dbeta", dbeta, 1, 1, 1, c));
    rn_role outs[] = {{"dx", dx, 1}, {"dgamma", dgamma, 0}, {"dbeta", dbeta, 0}};
    rn_role ins[] = {{"x", x, 0},
                     {"dy", dy, 1},
                     {"gamma", gamma, 0},
                     {"save_mean", save_mean, 0},
                     {"save_invstd", save_invstd, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__bn_backward(ctx, rn__rows_of(x), (size_t)c, x->data, dy->data, NULL, NULL, gamma->data,
                    save_mean->data, save_invstd->data, dx->data, dgamma->data, dbeta->data);
    return rn__done(ctx);
}

rn_status rn_relu_backward(rn_ctx *ctx, const rn_tensor *y, const rn_tensor *dy, rn_tensor *dx) {
    static const char fn[] = "rn_relu_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "y", y));
    RN_TRY(rn__check_same_shape(ctx, fn, "dy", dy, y));
    RN_TRY(rn__check_same_shape(ctx, fn, "dx", dx, y));
    rn_role outs[] = {{"dx", dx, 1}};
    rn_role ins[] = {{"y", y, 1}, {"dy", dy, 1}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__relu_backward(ctx, (size_t)rn_tensor_numel(y), y->data, dy->data, NULL, dx->data);
    return rn__done(ctx);
}

rn_status rn_maxpool_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *dy,
                              int32_t kernel_h, int32_t kernel_w, int32_t stride_h,
                              int32_t stride_w, int32_t pad_h, int32_t pad_w, rn_tensor *dx) {
    static const char fn[] = "rn_maxpool_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    rn_pool_desc d;
    RN_TRY(
        rn__make_pool_desc(ctx, fn, x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, &d));
    RN_TRY(rn__check_shape(ctx, fn, "dy", dy, d.n, d.oh, d.ow, d.c));
    RN_TRY(rn__check_same_shape(ctx, fn, "dx", dx, x));
    rn_role outs[] = {{"dx", dx, 0}};
    rn_role ins[] = {{"x", x, 0}, {"dy", dy, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__maxpool_backward(ctx, &d, x->data, dy->data, dx->data);
    return rn__done(ctx);
}

rn_status rn_global_avgpool_backward(rn_ctx *ctx, const rn_tensor *dy, rn_tensor *dx) {
    static const char fn[] = "rn_global_avgpool_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "dy", dy));
    RN_TRY(rn__check_tensor(ctx, fn, "dx", dx));
    if (dy->dims[1] != 1 || dy->dims[2] != 1 || dx->dims[0] != dy->dims[0] ||
        dx->dims[3] != dy->dims[3]) {
        char a[96], b[96];
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: dy has shape %s and dx has shape %s, expected dy (N,1,1,C) and dx "
                         "(N,H,W,C)",
                         fn, rn__shape_str(dy, a, sizeof a), rn__shape_str(dx, b, sizeof b));
    }
    rn_role outs[] = {{"dx", dx, 0}};
    rn_role ins[] = {{"dy", dy, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__gap_backward(ctx, (size_t)dx->dims[0], (size_t)dx->dims[1] * (size_t)dx->dims[2],
                     (size_t)dx->dims[3], dy->data, dx->data);
    return rn__done(ctx);
}

rn_status rn_linear_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                             const rn_tensor *dy, rn_tensor *dx, rn_tensor *dw, rn_tensor *db) {
    static const char fn[] = "rn_linear_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "x", x));
    RN_TRY(rn__check_linear_w(ctx, fn, "w", w, x));
    size_t n = (size_t)x->dims[0], in = (size_t)w->dims[3], out = (size_t)w->dims[0];
    RN_TRY(rn__check_shape(ctx, fn, "dy", dy, x->dims[0], 1, 1, w->dims[0]));
    if (dx) RN_TRY(rn__check_same_shape(ctx, fn, "dx", dx, x));
    RN_TRY(rn__check_same_shape(ctx, fn, "dw", dw, w));
    if (db) RN_TRY(rn__check_shape(ctx, fn, "db", db, 1, 1, 1, w->dims[0]));
    rn_role outs[] = {{"dx", dx, 0}, {"dw", dw, 0}, {"db", db, 0}};
    rn_role ins[] = {{"x", x, 0}, {"w", w, 0}, {"dy", dy, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    void *ws;
    RN_TRY(rn__alloc_workspace(ctx, fn, rn__linear_workspace(ctx, n, in, out), &ws));
    rn__linear_backward(ctx, n, in, out, x->data, w->data, dy->data, dx ? dx->data : NULL, dw->data,
                        db ? db->data : NULL, ws);
    rn__free(ctx, ws);
    return rn__done(ctx);
}

rn_status rn_add_backward(rn_ctx *ctx, const rn_tensor *dy, rn_tensor *da, rn_tensor *db) {
    static const char fn[] = "rn_add_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "dy", dy));
    RN_TRY(rn__check_same_shape(ctx, fn, "da", da, dy));
    RN_TRY(rn__check_same_shape(ctx, fn, "db", db, dy));
    rn_role outs[] = {{"da", da, 1}, {"db", db, 1}};
    rn_role ins[] = {{"dy", dy, 1}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    size_t bytes = (size_t)rn_tensor_numel(dy) * sizeof(float);
    rn_memmove(da->data, dy->data, bytes);
    rn_memmove(db->data, dy->data, bytes);
    return rn__done(ctx);
}

rn_status rn_shortcut_a_backward(rn_ctx *ctx, const rn_tensor *dy, int32_t stride, rn_tensor *dx) {
    static const char fn[] = "rn_shortcut_a_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_tensor(ctx, fn, "dy", dy));
    RN_TRY(rn__check_tensor(ctx, fn, "dx", dx));
    RN_TRY(rn__check_shortcut(ctx, fn, "dy", dy, dx, stride));
    rn_role outs[] = {{"dx", dx, 0}};
    rn_role ins[] = {{"dy", dy, 0}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__shortcut_a_backward(ctx, (size_t)dx->dims[0], (size_t)dx->dims[1], (size_t)dx->dims[2],
                            (size_t)dx->dims[3], (size_t)stride, (size_t)dy->dims[3], dy->data,
                            dx->data);
    return rn__done(ctx);
}

rn_status rn_softmax_xent_backward(rn_ctx *ctx, const rn_tensor *logits, const int32_t *labels,
                                   size_t num_labels, rn_tensor *dlogits) {
    static const char fn[] = "rn_softmax_xent_backward";
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_xent(ctx, fn, logits, labels, num_labels));
    RN_TRY(rn__check_same_shape(ctx, fn, "dlogits", dlogits, logits));
    rn_role outs[] = {{"dlogits", dlogits, 1}};
    rn_role ins[] = {{"logits", logits, 1}};
    RN_TRY(rn__check_no_overlap(ctx, fn, outs, RN_NROLES(outs), ins, RN_NROLES(ins)));
    rn__softmax_xent(ctx, (size_t)logits->dims[0], (size_t)logits->dims[3], logits->data, labels,
                     dlogits->data);
    return rn__done(ctx);
}
