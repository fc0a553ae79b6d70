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
 *
 * Errors shared by every function here (sentences on ctx): RN_E_INVALID_ARG
 * for a NULL required tensor or pointer, a shape that does not match (the
 * sentence gives the shape expected), stride < 1, padding < 0, a window
 * that does not fit the input, or an output that overlaps another output or
 * an input; RN_E_OVERFLOW for a dim above 2^31 - 1 or a size that overflows;
 * RN_E_NO_MEMORY when scratch cannot be had. A NULL ctx gives
 * RN_E_INVALID_ARG and no sentence.
 *
 * In place: only the element-wise layers accept an output that is exactly an
 * input (same tensor or same storage): y = x for ReLU and both batch-norm
 * forwards, y = a or b for add, dx = y or dy for ReLU backward, dx = dy for
 * batch-norm backward, da or db = dy for add backward, dlogits = logits.
 *
 * Ownership and threads: every tensor is borrowed for the duration of the
 * call only (nothing is retained), and the call runs on ctx (its allocator,
 * threads and last error). The tensors may come from any context, but none
 * may be used by another thread during the call.
 *
 * RESNET_INFERENCE_ONLY builds leave out every backward function
 * (rn_conv2d_backward_data, rn_conv2d_backward_weights and each *_backward).
 */
#ifndef RESNET_LAYERS_H
#define RESNET_LAYERS_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output size of a convolution or pooling along one axis:
 * floor((in + 2*pad - k) / stride) + 1, or -1 if the window does not fit or
 * an argument is out of range (in, k, stride < 1, pad < 0). Pure; thread-safe. */
RN_API int64_t rn_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad);

/* ---- conv2d (groups = 1, symmetric zero padding, no dilation) ------------
 * x (N,H,W,C), w (OC,KH,KW,C) OHWI, bias (1,1,1,OC) or NULL,
 * y (N,OH,OW,OC) with OH = rn_conv_out_size(H,KH,stride_h,pad_h), same for W.
 * y = torch.nn.functional.conv2d(x, w, bias, stride, padding) in NHWC/OHWI.
 * The GEMM's packed panels are scratch from ctx, freed before return. */
RN_API rn_status rn_conv2d_forward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                                   const rn_tensor *bias, int32_t stride_h, int32_t stride_w,
                                   int32_t pad_h, int32_t pad_w, rn_tensor *y);
/* dx (N,H,W,C) from dy (N,OH,OW,OC) and w: the input gradient (a
 * transposed convolution). dx's shape fixes H and W, which the stride alone
 * cannot recover from dy. */
RN_API rn_status rn_conv2d_backward_data(rn_ctx *ctx, const rn_tensor *dy, const rn_tensor *w,
                                         int32_t stride_h, int32_t stride_w, int32_t pad_h,
                                         int32_t pad_w, rn_tensor *dx);
/* dw (OC,KH,KW,C) and, if not NULL, dbias (1,1,1,OC) from x and dy: the
 * weight gradient summed over the batch, and the bias gradient (dy summed
 * over N, OH, OW). dw's dims give the kernel size. */
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
 * receive the batch mean and 1/sqrt(biased_var + eps) for backward.
 * momentum in [0, 1] (PyTorch's default 0.1), eps finite and >= 0 (1e-5);
 * RN_E_INVALID_ARG otherwise. running_mean and running_var are updated in
 * place; all five outputs must be distinct tensors. */
RN_API rn_status rn_batchnorm_forward_train(rn_ctx *ctx, const rn_tensor *x,
                                            const rn_tensor *gamma, const rn_tensor *beta,
                                            rn_tensor *running_mean, rn_tensor *running_var,
                                            float momentum, float eps, rn_tensor *y,
                                            rn_tensor *save_mean, rn_tensor *save_invstd);
/* Eval mode: y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta.
 * Nothing is updated; eps finite and >= 0. */
RN_API rn_status rn_batchnorm_forward_eval(rn_ctx *ctx, const rn_tensor *x,
                                           const rn_tensor *gamma, const rn_tensor *beta,
                                           const rn_tensor *running_mean,
                                           const rn_tensor *running_var, float eps,
                                           rn_tensor *y);
/* Backward of the train-mode forward (batch statistics): x, gamma,
 * save_mean and save_invstd as given to / returned by that forward; dx
 * (N,H,W,C), dgamma and dbeta (1,1,1,C) are all required. */
RN_API rn_status rn_batchnorm_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *dy,
                                       const rn_tensor *gamma, const rn_tensor *save_mean,
                                       const rn_tensor *save_invstd, rn_tensor *dx,
                                       rn_tensor *dgamma, rn_tensor *dbeta);

/* ---- ReLU: y = max(x, 0); backward uses the output: dx = dy * (y > 0). ---
 * Every tensor has the same shape; in place allowed (see above). */
RN_API rn_status rn_relu_forward(rn_ctx *ctx, const rn_tensor *x, rn_tensor *y);
RN_API rn_status rn_relu_backward(rn_ctx *ctx, const rn_tensor *y, const rn_tensor *dy,
                                  rn_tensor *dx);

/* ---- max pool (padded cells are ignored, as in PyTorch) --------------------
 * The gradient goes to the first maximum in window order (row, then column).
 * Every window must contain at least one real cell (pad < kernel, else
 * RN_E_INVALID_ARG). y (N,OH,OW,C) with OH = rn_conv_out_size(H, kernel_h,
 * stride_h, pad_h). Backward takes the forward's x, dy (N,OH,OW,C) and writes
 * every element of dx (N,H,W,C). The ImageNet stem uses kernel 3, stride 2,
 * pad 1. */
RN_API rn_status rn_maxpool_forward(rn_ctx *ctx, const rn_tensor *x, int32_t kernel_h,
                                    int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                                    int32_t pad_h, int32_t pad_w, rn_tensor *y);
RN_API rn_status rn_maxpool_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *dy,
                                     int32_t kernel_h, int32_t kernel_w, int32_t stride_h,
                                     int32_t stride_w, int32_t pad_h, int32_t pad_w,
                                     rn_tensor *dx);

/* ---- global average pool: x (N,H,W,C) -> y (N,1,1,C) ----------------------
 * Backward spreads dy (N,1,1,C) evenly: dx[n,h,w,c] = dy[n,0,0,c] / (H*W),
 * with dx's shape giving H and W. */
RN_API rn_status rn_global_avgpool_forward(rn_ctx *ctx, const rn_tensor *x, rn_tensor *y);
RN_API rn_status rn_global_avgpool_backward(rn_ctx *ctx, const rn_tensor *dy, rn_tensor *dx);

/* ---- fully connected: y = x w^T + b ----------------------------------------
 * x (N,1,1,IN) (or any (N,H,W,C) with H*W*C = IN, read in NHWC order),
 * w (OUT,1,1,IN), b (1,1,1,OUT) or NULL, y (N,1,1,OUT). */
RN_API rn_status rn_linear_forward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                                   const rn_tensor *b, rn_tensor *y);
/* dy (N,1,1,OUT) -> dw (OUT,1,1,IN) summed over the batch, db (1,1,1,OUT),
 * dx shaped as x. dx may be NULL (not needed for the first layer); db may be
 * NULL; dw is required. */
RN_API rn_status rn_linear_backward(rn_ctx *ctx, const rn_tensor *x, const rn_tensor *w,
                                    const rn_tensor *dy, rn_tensor *dx, rn_tensor *dw,
                                    rn_tensor *db);

/* ---- residual add: y = a + b; backward: da = db = dy (a copy). ------------
 * All tensors have one shape; in place allowed (see above). */
RN_API rn_status rn_add_forward(rn_ctx *ctx, const rn_tensor *a, const rn_tensor *b,
                                rn_tensor *y);
RN_API rn_status rn_add_backward(rn_ctx *ctx, const rn_tensor *dy, rn_tensor *da,
                                 rn_tensor *db);

/* ---- option-A shortcut (paper section 3.3, CIFAR networks) ------------------
 * y[n, i, j, lo + c] = x[n, i*stride, j*stride, c] and zero elsewhere, with
 * y (N, ceil(H/stride), ceil(W/stride), OC), OC >= C and lo = (OC - C) / 2:
 * the extra channels are zero-padded half before and half after, as
 * x[:, :, ::s, ::s] padded with F.pad(..., (0,0,0,0,lo,OC-C-lo)) in PyTorch.
 * stride >= 1; y's channel count OC fixes the padding. Backward: dx (N,H,W,C)
 * receives dy's middle channels at the subsampled positions, zero elsewhere. */
RN_API rn_status rn_shortcut_a_forward(rn_ctx *ctx, const rn_tensor *x, int32_t stride,
                                       rn_tensor *y);
RN_API rn_status rn_shortcut_a_backward(rn_ctx *ctx, const rn_tensor *dy, int32_t stride,
                                        rn_tensor *dx);

/* ---- softmax cross-entropy, mean over the batch -----------------------------
 * logits (N,1,1,K); labels: N class indices in [0, K). loss receives
 * mean_n(logsumexp(logits_n) - logits_n[label_n]). Backward gives
 * dlogits = (softmax(logits) - onehot(label)) / N. num_labels must be N and
 * every label in [0, K) (RN_E_INVALID_ARG naming the first bad one); labels
 * are read only during the call. *loss is written only on success. */
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
