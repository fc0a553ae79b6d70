/*
 * libresnet models: the builder, the paper's presets, parameters by
 * torchvision name, and plans (shapes + mode + memory) that run forward and
 * backward.
 *
 * Lifecycle (as in XNNPACK and oneDNN):
 *   build a model (preset or block by block) -> rn_model_init (or load weights)
 *   -> rn_plan_create(model, batch, h, w, mode) -> optionally
 *   rn_plan_memory_size + rn_plan_bind_memory -> rn_plan_forward /
 *   rn_plan_backward as often as wanted -> destroy plan, then model.
 *
 * Thread-safety: a model may be shared by several threads that each run
 * their own RN_MODE_INFER plan, provided nothing modifies the model (set
 * tensor, init, fold, optimiser step) meanwhile and each thread uses its own
 * context. Gradients live in the model, so one RN_MODE_TRAIN plan runs at a time.
 *
 * Ownership: a model owns its parameters, BN statistics and gradients (all
 * from its context); a plan owns its description and, unless memory is
 * bound, its arena. Destroy plans (and optimisers and trainers, train.h)
 * before their model, and the model before its context. Values cross this
 * API as copies.
 *
 * Errors: calls given a NULL model or plan return RN_E_INVALID_ARG without a
 * sentence; every other failure leaves its sentence on the model's (or the
 * plan's) context, and changes nothing.
 */
#ifndef RESNET_MODEL_H
#define RESNET_MODEL_H

#include "block.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rn_model rn_model;
typedef struct rn_plan rn_plan;

/* ---- builder --------------------------------------------------------------- */
/* An empty model taking `in_channels` input channels (1..65536); add a stem,
 * stages and a head, in that order. *out belongs to the caller (release with
 * rn_model_destroy). Errors: RN_E_INVALID_ARG (NULL ctx or out, channels out
 * of range), RN_E_NO_MEMORY. */
RN_API rn_status rn_model_create(rn_ctx *ctx, int32_t in_channels, rn_model **out);
/* conv1 (kernel x kernel, stride, pad, no bias) + bn1 + ReLU, then, if
 * max_pool != 0, a 3x3 stride-2 pad-1 max pool. Must come first, once.
 * (The ImageNet stem is 64, 7, 2, 3, 1; the CIFAR one 16, 3, 1, 1, 0.)
 * Errors: RN_E_BAD_STATE when the model already has a stem, a block or a
 * head, or was folded; RN_E_INVALID_ARG for out_channels outside [1, 65536],
 * kernel or stride outside [1, 64], pad outside [0, kernel), max_pool not 0
 * or 1; RN_E_NO_MEMORY. The model is unchanged on failure. */
RN_API rn_status rn_model_add_stem(rn_model *model, int32_t out_channels, int32_t kernel,
                                   int32_t stride, int32_t pad, int32_t max_pool);
/* A stage "layerK" of num_blocks blocks of one type (RN_BLOCK_BASIC: out =
 * width; RN_BLOCK_BOTTLENECK: mid = width, out = 4 * width). The first block
 * has the given stride; shortcut is RN_SHORTCUT_* (RN_SHORTCUT_DEFAULT means
 * B); flags RN_MODEL_*. Needs the stem first. Stages are named layer1,
 * layer2, ... in the order added, their blocks layerK.0, layerK.1, ...
 * Errors: RN_E_BAD_STATE before the stem or after the head; RN_E_INVALID_ARG
 * for num_blocks < 1 and the block arguments rn_block_create refuses (the
 * sentence names the stage); RN_E_NO_MEMORY. The model is unchanged on failure. */
RN_API rn_status rn_model_add_stage(rn_model *model, int32_t block_type, int32_t num_blocks,
                                    int32_t width, int32_t stride, int32_t shortcut,
                                    uint32_t flags);
/* Global average pool + fully connected "fc" to `classes` outputs. Last, once:
 * the model is then complete, and nothing more can be added.
 * Errors: RN_E_BAD_STATE before the stem or after a head; RN_E_INVALID_ARG
 * for classes outside [1, 1000000]; RN_E_NO_MEMORY. */
RN_API rn_status rn_model_add_head(rn_model *model, int32_t classes);

/* A preset by name: resnet18/34/50/101/152, plain18/34 (ImageNet; the
 * bottlenecks torchvision's v1.5), resnet50v1/101v1/152v1 (the paper's v1
 * bottleneck: RN_MODEL_STRIDE_ON_1X1 always set), resnet20/32/44/56/110/1202,
 * plain20/32/44/56/110 (CIFAR) and resnet8 (the CIFAR layout with one block
 * per stage and option B, in the spirit of MLPerf Tiny's image classification
 * network). classes = 0 keeps 1000 (ImageNet) or 10 (CIFAR); in_channels = 0
 * keeps 3; shortcut = RN_SHORTCUT_DEFAULT keeps the paper's choice (B for
 * ImageNet and resnet8, A for CIFAR, none for plain); base_width = 0 keeps 64
 * (ImageNet) or 16 (CIFAR), other
 * values scale the stem and every stage (stage k has base_width << k filters);
 * flags RN_MODEL_*. Unknown names give RN_E_NOT_FOUND. The weights are not
 * initialised: call rn_model_init or load a file. *out belongs to the caller.
 * Errors: RN_E_INVALID_ARG (NULL argument, negative classes / in_channels /
 * base_width, a base_width that makes the last stage wider than 65536
 * channels, an unknown shortcut or flag), RN_E_NOT_FOUND, RN_E_NO_MEMORY. */
RN_API rn_status rn_model_create_preset(rn_ctx *ctx, const char *name, int32_t classes,
                                        int32_t in_channels, int32_t shortcut,
                                        int32_t base_width, uint32_t flags, rn_model **out);
/* The preset names, for listing: index in [0, rn_preset_count()). The
 * strings are static. Thread-safe. */
RN_API int32_t rn_preset_count(void);
RN_API const char *rn_preset_name(int32_t index); /* NULL when out of range */

/* Release the model. Its plans, optimisers and trainers must be destroyed
 * first. NULL is accepted. */
RN_API void rn_model_destroy(rn_model *model);

/* He (Kaiming-normal, fan_out, ReLU gain) init of convs, BN weight 1 bias 0,
 * running stats 0/1, torchvision's FC init; deterministic for a seed (the
 * ISA and the thread count play no part). With
 * RN_MODEL_ZERO_INIT_RESIDUAL the last BN weight of each block is 0.
 * Errors: RN_E_BAD_STATE for a folded model. */
RN_API rn_status rn_model_init(rn_model *model, uint64_t seed);

/* ---- queries ----------------------------------------------------------------
 * Errors shared by the queries: RN_E_INVALID_ARG for a NULL output. */
/* RN_E_BAD_STATE before the head is added. */
RN_API rn_status rn_model_classes(const rn_model *model, int32_t *classes);
RN_API rn_status rn_model_in_channels(const rn_model *model, int32_t *channels);
/* Number of trainable scalars (what torchvision's sum(p.numel()) counts). */
RN_API rn_status rn_model_num_parameters(const rn_model *model, int64_t *count);
/* Multiply-accumulates of one forward pass for one h x w image (convs + fc).
 * RN_E_BAD_STATE for an incomplete model; RN_E_INVALID_ARG when h or w is
 * outside [1, 2^31) or too small for some layer. */
RN_API rn_status rn_model_macs(const rn_model *model, int64_t h, int64_t w, int64_t *macs);
/* Per-layer report for an h x w input: layers are the stem ("stem": conv1,
 * bn1, ReLU and the max pool if any), each block ("layer2.0"...), the head
 * ("fc": average pool + fc). name receives the name (NUL-terminated,
 * truncated to name_cap); out_dims the output of one image in PyTorch's
 * order (1, C, H, W), (1, classes, 1, 1) for the head; params the trainable
 * scalars; macs the conv and fc multiply-accumulates. Any output may be NULL.
 * count = stem + blocks + head (so far, for a model being built). info needs
 * a complete model (RN_E_BAD_STATE), index in [0, count) and an input that
 * every layer's window fits (RN_E_INVALID_ARG otherwise). */
RN_API rn_status rn_model_layer_count(const rn_model *model, int32_t *count);
RN_API rn_status rn_model_layer_info(const rn_model *model, int32_t index, int64_t h, int64_t w,
                                     char *name, size_t name_cap, int64_t out_dims[4],
                                     int64_t *params, int64_t *macs);

/* ---- tensors by torchvision name ---------------------------------------------
 * Names and dims are exactly torchvision's state_dict ("conv1.weight" with
 * dims (out, in, kh, kw) = OIHW, "layer1.0.bn1.running_var", "fc.bias"...),
 * num_batches_tracked excepted. Values cross this API in PyTorch's layout. */
RN_API int32_t rn_model_tensor_count(const rn_model *model);
/* index in [0, rn_model_tensor_count). name stays valid as long as the
 * model. dims unused beyond ndim are 0. kind: RN_TENSOR_PARAM or
 * RN_TENSOR_BUFFER. Any output may be NULL. */
RN_API rn_status rn_model_tensor_info(const rn_model *model, int32_t index, const char **name,
                                      int32_t *ndim, int64_t dims[4], int32_t *kind);
/* Index of a name ("module." prefix accepted), or RN_E_NOT_FOUND. */
RN_API rn_status rn_model_tensor_find(const rn_model *model, const char *name, int32_t *index);
/* Copy a tensor out of (get) or into (set) the model: count must equal its
 * element count (RN_E_INVALID_ARG giving the dims otherwise); RN_E_NOT_FOUND
 * for an unknown name. The caller's array is only read or written during the
 * call. A set takes effect at the next run of every plan of the model. */
RN_API rn_status rn_model_get_tensor(const rn_model *model, const char *name, float *dst,
                                     size_t count);
RN_API rn_status rn_model_set_tensor(rn_model *model, const char *name, const float *src,
                                     size_t count);
/* The gradient of a RN_TENSOR_PARAM after rn_plan_backward, in PyTorch layout.
 * Gradients exist from the model's first RN_MODE_TRAIN plan on (before that:
 * RN_E_BAD_STATE); BN running statistics have none (RN_E_INVALID_ARG). */
RN_API rn_status rn_model_get_grad(const rn_model *model, const char *name, float *dst,
                                   size_t count);

/* Fold every BN into the conv before it (weights scaled, bias added) for
 * inference. Irreversible: the model then refuses RN_MODE_TRAIN plans and
 * rn_model_init, plans created before folding refuse to run, and folding
 * again does nothing. The folded tensors keep their names: a conv weight
 * holds w * gamma / sqrt(var + eps), its BN becomes an identity carrying the
 * bias (weight 1, bias beta - mean * gamma / sqrt(var + eps), running mean 0,
 * running var 1 - eps), so a saved folded model computes the same in
 * PyTorch's eval mode. Fails for a NULL model, and with RN_E_BAD_STATE for
 * one whose weights cannot change (read in place from a blob, int8, or
 * packed for inference before it was folded). */
RN_API rn_status rn_model_fold_batchnorm(rn_model *model);

/* Make the model inference-only, holding each convolution's weights only in
 * the packed form its RN_MODE_INFER plans read (panels of 32 output
 * channels, rows in (ky, kx, in) order), written over the plain weights
 * (where the output channels are a multiple of 32, as in every ResNet;
 * elsewhere the panels are a new allocation beside the unused weights).
 * Every plan then runs every convolution from that form (or Winograd, whose
 * transformed weights are made from it), with no packing per call and no
 * budget for the packed form (the Winograd forms keep their 22 MiB): peak
 * memory is the weights plus the plans' arenas and the Winograd forms
 * (docs/api.md, "Derived weights"). Results are those of a plan of the
 * unpacked model up to rounding in the 1x1 convolutions (the others are
 * bit-identical). Call it after loading and folding; irreversible.
 * From then on the model serves RN_MODE_INFER plans only: RN_MODE_TRAIN
 * plans, rn_model_set_tensor, rn_model_init, rn_model_fold_batchnorm (unless
 * folded before), loading weights, saving or exporting them, optimisers,
 * trainers and rn_calibrator_create fail with RN_E_BAD_STATE, and plans
 * created before the call refuse to run. rn_model_get_tensor still works
 * (the panels are unpacked exactly). Packing twice does nothing. Errors:
 * RN_E_BAD_STATE for an incomplete model, an int8 one or one read in place
 * from a blob; RN_E_NO_MEMORY (the model is then unchanged). */
RN_API rn_status rn_model_pack_for_inference(rn_model *model);

/* ---- fine-tuning: freezing ----------------------------------------------------
 * A frozen parameter is left alone by optimisers (no update, no weight decay,
 * no momentum), and a frozen convolution weight costs training plans no
 * weight-gradient work (the step is skipped at run time; its gradient reads
 * as zero). Batch norms keep normalising with batch statistics in train mode
 * (and updating their running statistics), as in PyTorch with
 * requires_grad=False; freeze them by name like any parameter.
 * set_frozen: every RN_TENSOR_PARAM whose name starts with `prefix` ("" for
 * all; "module." accepted) gets frozen = 1 or 0 (thawed).
 * freeze_stages: thaws everything, then freezes the stem (conv1, bn1) and
 * stages layer1 .. layer<stages> (0: the stem alone, -1: nothing frozen).
 * tensor_frozen: the flag of a tensor (0 for BN running statistics).
 * Errors: RN_E_NOT_FOUND when no parameter matches (the model is unchanged),
 * RN_E_INVALID_ARG (NULL, frozen not 0/1, stages outside [-1, stages]),
 * RN_E_BAD_STATE for a model without its head. Takes effect at the next
 * optimiser step and training run. */
RN_API rn_status rn_model_set_frozen(rn_model *model, const char *prefix, int32_t frozen);
RN_API rn_status rn_model_freeze_stages(rn_model *model, int32_t stages);
RN_API rn_status rn_model_tensor_frozen(const rn_model *model, const char *name, int32_t *frozen);

/* ---- plans ------------------------------------------------------------------ */
/* Shapes, mode and memory for batch x h x w inputs. Picks kernels and sizes
 * every buffer. Allocates its own small description (and, for a model's
 * first RN_MODE_TRAIN plan, the model's gradients) but no arena: that comes
 * from the context at the first run unless memory is bound. Errors: an
 * input too small for a layer's window names the layer; train-mode batch
 * norm over a single value per channel (batch x height x width = 1 at some
 * layer) is refused as in PyTorch; RN_E_BAD_STATE for an incomplete model or
 * a train plan on a folded one; RN_E_INVALID_ARG for an unknown mode or a
 * size < 1; RN_E_OVERFLOW; RN_E_NO_MEMORY; RN_E_UNSUPPORTED for a train plan
 * in an inference-only build. *out belongs to the caller: release it with
 * rn_plan_destroy before the model. A model may have any number of plans. */
RN_API rn_status rn_plan_create(rn_model *model, int64_t batch, int64_t h, int64_t w,
                                int32_t mode, rn_plan **out);
/* The same, with the plan's allocations, threads and errors on `ctx` instead
 * of the model's: how several threads each run an RN_MODE_INFER plan of one
 * shared model (one context per thread). ctx must outlive the plan. */
RN_API rn_status rn_plan_create_with_ctx(rn_ctx *ctx, rn_model *model, int64_t batch, int64_t h,
                                         int64_t w, int32_t mode, rn_plan **out);
/* Bytes a run needs (activations, saved state, scratch, and 63 bytes to
 * align the caller's buffer), from the same planning code that assigns the
 * offsets the run uses. RN_E_INVALID_ARG for a NULL output. */
RN_API rn_status rn_plan_memory_size(const rn_plan *plan, size_t *bytes);
/* Run inside the caller's buffer (64-byte aligned is best; any alignment is
 * accepted). Too small gives RN_E_BUFFER_TOO_SMALL and names the size needed.
 * The buffer must outlive the plan or the next bind; the library never frees
 * it. Binding (again) releases any arena the plan took from its context and
 * forgets what a train forward saved, so a backward then needs a new
 * forward. A bound plan allocates nothing while it runs. */
RN_API rn_status rn_plan_bind_memory(rn_plan *plan, void *buffer, size_t size);
/* Forward pass. input: batch*C*h*w floats in `layout` (RN_LAYOUT_NCHW like
 * PyTorch, or RN_LAYOUT_NHWC); logits: batch*classes floats, row-major.
 * An RN_MODE_INFER plan uses the BN running statistics; an RN_MODE_TRAIN plan
 * uses batch statistics, updates the running ones and keeps what backward
 * needs. The first run of an unbound plan takes its arena from the context.
 * Errors: RN_E_INVALID_ARG (NULL buffer, unknown layout, a count that differs
 * from the plan's: the sentence gives both), RN_E_BAD_STATE (the model was
 * folded after the plan was made), RN_E_NO_MEMORY (first run, unbound).
 * logits is untouched on failure. */
RN_API rn_status rn_plan_forward(rn_plan *plan, const float *input, size_t input_count,
                                 int32_t layout, float *logits, size_t logits_count);
/* Train plans only, once after each rn_plan_forward: mean softmax
 * cross-entropy of the last logits against `labels` (batch values in
 * [0, classes)), written to *loss if not NULL, then backward through the
 * whole network; gradients are stored in the model (overwritten, not
 * accumulated). A train forward also updated the BN running statistics
 * (momentum 0.1, unbiased variance), as PyTorch does. loss may be NULL.
 * Errors: RN_E_BAD_STATE for an RN_MODE_INFER plan, without a forward since
 * the last backward or bind, or after the model was folded;
 * RN_E_INVALID_ARG for NULL labels, num_labels != batch or a label out of
 * range (the first one is named). */
RN_API rn_status rn_plan_backward(rn_plan *plan, const int32_t *labels, size_t num_labels,
                                  float *loss);
/* RN_MODE_INFER plans: the pooled features (the global average pool's
 * output, the fc layer's input) instead of the logits, for embeddings,
 * retrieval and linear probes. features: batch * F floats, row-major, F =
 * the fc's input width (the last stage's channels). The same checks and
 * errors as rn_plan_forward, plus RN_E_BAD_STATE for an RN_MODE_TRAIN plan.
 * The fc layer is not run. */
RN_API rn_status rn_plan_features(rn_plan *plan, const float *input, size_t input_count,
                                  int32_t layout, float *features, size_t features_count);
/* After rn_plan_backward: the gradient of the loss with respect to the input
 * batch (count = batch*C*h*w floats in `layout`). Computed on request, as it
 * costs one more backward-data pass through the stem convolution. May be
 * called again until the next forward. RN_E_BAD_STATE unless rn_plan_backward
 * succeeded since the last forward or bind; RN_E_INVALID_ARG for NULL dst, an
 * unknown layout or a wrong count. */
RN_API rn_status rn_plan_input_grad(rn_plan *plan, float *dst, size_t count, int32_t layout);
/* Release the plan and the arena it took from its context (a bound buffer
 * stays the caller's). NULL is accepted. */
RN_API void rn_plan_destroy(rn_plan *plan);

/* ---- int8 models (docs/int8.md) -----------------------------------------------
 * An int8 model is an rn_model whose precision is RN_PRECISION_INT8: batch
 * norms folded, every convolution's weights int8 per output channel, every
 * activation int8 with one scale per tensor. Its plans (RN_MODE_INFER only)
 * take float images and give float logits as a float model's do; the
 * arithmetic is integer except for the documented float32 requantization,
 * so every ISA and thread count gives the same logits. It keeps no float
 * copy of its convolutions and batch norms: rn_model_get_tensor reads
 * "fc.weight" and "fc.bias" and refuses the others, nothing can be set,
 * initialised, folded or trained (RN_E_BAD_STATE). Made by calibrating a
 * float model (below) or loaded from an int8 file (io.h). */
#define RN_PRECISION_F32  0
#define RN_PRECISION_INT8 1
RN_API rn_status rn_model_precision(const rn_model *model, int32_t *precision);

/* Post-training quantization. The calibrator runs a folded copy of `model`
 * (which is left as it is; it may be destroyed once the calibrator exists)
 * on the caller's batches and keeps, for each activation the int8 network
 * holds (the input, and each convolution's output after its bias, residual
 * and ReLU), its largest magnitude and a histogram of magnitudes. Then
 * rn_calibrator_quantize picks each activation's scale by `method`:
 *   RN_CALIB_MAX         the largest magnitude seen;
 *   RN_CALIB_PERCENTILE  the given percentile (param in (50, 100], e.g.
 *                        99.99) of the magnitudes;
 *   RN_CALIB_ENTROPY     the threshold whose 128-level quantization of the
 *                        histogram loses the least information (smallest
 *                        Kullback-Leibler divergence; param unused).
 * and quantizes the weights per output channel (docs/int8.md). The default
 * the `resnet quantize` command uses, and why, is in docs/int8.md.
 * create: the model must be a complete float model (RN_E_BAD_STATE
 * otherwise); the calibrator lives on the model's context; *out belongs to
 * the caller (rn_calibrator_destroy, NULL accepted).
 * add_batch: batch images of h x w in `layout` (count = batch * C * h * w
 * floats), preprocessed as for the float model; any number of calls, the
 * sizes may change between them. RN_E_INVALID_ARG for a wrong count or
 * layout, and the errors of rn_plan_create.
 * quantize: RN_E_BAD_STATE before any batch; RN_E_INVALID_ARG for an unknown
 * method or a percentile out of range; *out is a new int8 model on the
 * calibrator's context (rn_model_destroy). May be called again (another
 * method), and more batches may be added between calls. */
typedef struct rn_calibrator rn_calibrator;
#define RN_CALIB_MAX        0
#define RN_CALIB_PERCENTILE 1
#define RN_CALIB_ENTROPY    2
RN_API rn_status rn_calibrator_create(const rn_model *model, rn_calibrator **out);
RN_API rn_status rn_calibrator_add_batch(rn_calibrator *cal, const float *input,
                                         size_t input_count, int64_t batch, int64_t h, int64_t w,
                                         int32_t layout);
/* Images seen so far. */
RN_API rn_status rn_calibrator_count(const rn_calibrator *cal, int64_t *images);
RN_API rn_status rn_calibrator_quantize(rn_calibrator *cal, int32_t method, double param,
                                        rn_model **out);
RN_API void rn_calibrator_destroy(rn_calibrator *cal);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_MODEL_H */
