/*
 * libresnet layers: each layer of the paper's networks as a stateless
 * function pair (forward, backward) on rn_tensor (NHWC, float32).
 *
 * Conventions shared by every function here:
 *  - Shapes are checked first; a mismatch returns RN_E_INVALID_ARG and
 *    rn_last_error(ctx) names the tensor and both shapes.
 *  - Outputs are overwritten (never accumulated), and are untouched on failure.
 *  - Gradients are with respect to a scalar loss L: dy = dL/dy, dx = dL/dx, ...
 *  - Scratch memory, when a layer needs it, comes from the context's allocator
 *    and is released before return (RN_E_NO_MEMORY if it cannot be had).
 *  - The semantics are PyTorch's (torch.nn.functional), listed per function.
 *  - Results are bit-identical for any RN_OPT_NUM_THREADS.
 */
#ifndef RESNET_LAYERS_H
#define RESNET_LAYERS_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output size of a convolution or pooling along one axis:
 * floor((in + 2*pad - k) / stride) + 1, or -1 if the window does not fit. */
RN_API int64_t rn_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad);

/* ---- conv2d (groups = 1, symmetric zero padding, no dilation) ------------
 * x (N,H,W,C), w (OC,KH,KW,C) OHWI, bias (1,1,1,OC) or NULL,
 * y (N,OH,OW,OC) with OH = rn_conv_out_size(H,KH,stride_h,pad_h), same for W. */
RN_API rn_status rn_conv2d_forward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                                   const rn_tensor *bias, int32_t stride_h, int32_t stride_w,
                                   int32_t pad_h, int32_t pad_w, rn_tensor *y);
/* dx (N,H,W,C) from dy (N,OH,OW,OC). */
RN_API rn_status rn_conv2d_backward_data(rn_ctx *ctx, const rn_tensor *dy, const rn_tensor *w,
                                         int32_t stride_h, int32_t stride_w, int32_t pad_h,
                                         int32_t pad_w, rn_tensor *dx);
/* dw (OC,KH,KW,C) and, if not NULL, dbias (1,1,1,OC) from x and dy. */
RN_API rn_status rn_conv2d_backward_weights(rn_ctx *ctx, const rn_tensor *x,
                                            const rn_tensor *dy, int32_t stride_h,
                                            int32_t stride_w, int32_t pad_h, int32_t pad_w,
                                            rn_tensor *dw, rn_tensor *dbias);

/* ---- batch norm (per channel over N*H*W) ----------------------------------
 * PyTorch semantics: normalise with the biased batch variance; update
 * running_mean = (1-momentum)*running_mean + momentum*mean and
 * running_var = (1-momentum)*running_var + momentum*unbiased_var
 * (unbiased needs N*H*W > 1: RN_E_INVALID_ARG otherwise, like PyTorch).
 * gamma, beta, running_*, save_* are (1,1,1,C). save_mean/save_invstd
 * receive the batch mean and 1/sqrt(biased_var + eps) for backward. */
RN_API rn_status rn_batchnorm_forward_train(rn_ctx *ctx, const rn_tensor *x,
                                            const rn_tensor *gamma, const rn_tensor *beta,
                                            rn_tensor *running_mean, rn_tensor *running_var,
                                            float momentum, float eps, rn_tensor *y,
                                            rn_tensor *save_mean, rn_tensor *save_invstd);
/* Eval mode: y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta. */
RN_API rn_status rn_batchnorm_forward_eval(rn_ctx *ctx, const rn_tensor *x,
                                           const rn_tensor *gamma, const rn_tensor *beta,
                                           const rn_tensor *running_mean,
                                           const rn_tensor *running_var, float eps,
                                           rn_tensor *y);
/* Backward of the train-mode forward (batch statistics). */
RN_API rn_status rn_batchnorm_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *dy,
                                       const rn_tensor *gamma, const rn_tensor *save_mean,
                                       const rn_tensor *save_invstd, rn_tensor *dx,
                                       rn_tensor *dgamma, rn_tensor *dbeta);

/* ---- ReLU: y = max(x, 0); backward uses the output: dx = dy * (y > 0). --- */
RN_API rn_status rn_relu_forward(rn_ctx *ctx, const rn_tensor *x, rn_tensor *y);
RN_API rn_status rn_relu_backward(rn_ctx *ctx, const rn_tensor *y, const rn_tensor *dy,
                                  rn_tensor *dx);

/* ---- max pool (padded cells are ignored, as in PyTorch) --------------------
 * The gradient goes to the first maximum in window order (row, then column).
 * Every window must contain at least one real cell (pad < kernel). */
RN_API rn_status rn_maxpool_forward(rn_ctx *ctx, const rn_tensor *x, int32_t kernel_h,
                                    int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                                    int32_t pad_h, int32_t pad_w, rn_tensor *y);
RN_API rn_status rn_maxpool_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *dy,
                                     int32_t kernel_h, int32_t kernel_w, int32_t stride_h,
                                     int32_t stride_w, int32_t pad_h, int32_t pad_w,
                                     rn_tensor *dx);

/* ---- global average pool: x (N,H,W,C) -> y (N,1,1,C) ---------------------- */
RN_API rn_status rn_global_avgpool_forward(rn_ctx *ctx, const rn_tensor *x, rn_tensor *y);
RN_API rn_status rn_global_avgpool_backward(rn_ctx *ctx, const rn_tensor *dy, rn_tensor *dx);

/* ---- fully connected: y = x w^T + b ----------------------------------------
 * x (N,1,1,IN) (or any (N,H,W,C) with H*W*C = IN, read in NHWC order),
 * w (OUT,1,1,IN), b (1,1,1,OUT) or NULL, y (N,1,1,OUT). */
RN_API rn_status rn_linear_forward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                                   const rn_tensor *b, rn_tensor *y);
/* dx may be NULL (not needed for the first layer); db may be NULL. */
RN_API rn_status rn_linear_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                                    const rn_tensor *dy, rn_tensor *dx, rn_tensor *dw,
                                    rn_tensor *db);

/* ---- residual add: y = a + b; backward: da = db = dy (a copy). ------------ */
RN_API rn_status rn_add_forward(rn_ctx *ctx, const rn_tensor *a, const rn_tensor *b,
                                rn_tensor *y);
RN_API rn_status rn_add_backward(rn_ctx *ctx, const rn_tensor *dy, rn_tensor *da,
                                 rn_tensor *db);

/* ---- option-A shortcut (paper section 3.3, CIFAR networks) ------------------
 * y[n, i, j, lo + c] = x[n, i*stride, j*stride, c] and zero elsewhere, with
 * y (N, ceil(H/stride), ceil(W/stride), OC), OC >= C and lo = (OC - C) / 2:
 * the extra channels are zero-padded half before and half after, as
 * x[:, :, ::s, ::s] padded with F.pad(..., (0,0,0,0,lo,OC-C-lo)) in PyTorch. */
RN_API rn_status rn_shortcut_a_forward(rn_ctx *ctx, const rn_tensor *x, int32_t stride,
                                       rn_tensor *y);
RN_API rn_status rn_shortcut_a_backward(rn_ctx *ctx, const rn_tensor *dy, int32_t stride,
                                        rn_tensor *dx);

/* ---- softmax cross-entropy, mean over the batch -----------------------------
 * logits (N,1,1,K); labels: N class indices in [0, K). loss receives
 * mean_n(logsumexp(logits_n) - logits_n[label_n]). Backward gives
 * dlogits = (softmax(logits) - onehot(label)) / N. */
RN_API rn_status rn_softmax_xent_forward(rn_ctx *ctx, const rn_tensor *logits,
                                         const int32_t *labels, size_t num_labels,
                                         float *loss);
RN_API rn_status rn_softmax_xent_backward(rn_ctx *ctx, const rn_tensor *logits,
                                          const int32_t *labels, size_t num_labels,
                                          rn_tensor *dlogits);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_LAYERS_H */
