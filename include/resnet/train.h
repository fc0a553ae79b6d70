/*
 * libresnet training: the paper's recipe (section 3.4 and 4.2) as parts a
 * caller can use one by one or together.
 *
 *  - a seeded random generator whose whole state is four uint64_t the caller
 *    owns (so a checkpoint can store it), shuffling and a validation split;
 *  - datasets: uint8 NHWC images with int32 labels, borrowed from the caller,
 *    turned into float batches with the paper's per-pixel mean subtraction
 *    or a per-channel normalisation; views select a subset without copying;
 *  - augmentation: zero padding + random crop + random horizontal flip on
 *    NHWC float images (section 4.2: pad 4, crop 32x32, flip);
 *  - SGD with torch.optim.SGD's exact semantics (momentum, dampening,
 *    Nesterov, weight decay added to the gradient);
 *  - learning-rate schedules as pure functions of (step, epoch, warm-up
 *    state): step decay, cosine, warm-up for a number of iterations or until
 *    the training error falls below a threshold (the paper's ResNet-110);
 *  - metrics: errors and a confusion matrix; evaluation of a dataset;
 *  - a trainer that runs the loop one iteration at a time, and checkpoints
 *    that hold everything needed to continue bit-identically.
 *
 * Images are on the [0, 1] scale once converted (x / 255); normalisation
 * statistics are expressed on that scale.
 *
 * Handles (datasets, optimisers, schedules, trainers) are made on a context
 * (a model's, for the optimiser and the trainer), follow its rule of one
 * thread at a time, and are released by their _destroy, which accepts NULL.
 * Calls given a NULL handle return RN_E_INVALID_ARG without a sentence; every
 * other failure leaves its sentence on the handle's context and changes
 * nothing. RESNET_INFERENCE_ONLY builds leave this whole header's functions
 * out of the library.
 */
#ifndef RESNET_TRAIN_H
#define RESNET_TRAIN_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- random numbers ----------------------------------------------------------
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64. The state is
 * four caller-owned integers; the all-zero state is invalid (the generator
 * would stay at zero) and is refused with RN_E_INVALID_ARG, as is NULL.
 * No context, so no sentence. The functions touch only the state (and
 * items) they are given: thread-safe for distinct states. */
RN_API rn_status rn_rng_seed(uint64_t state[4], uint64_t seed);
RN_API rn_status rn_rng_next(uint64_t state[4], uint64_t *value);
/* Uniform in [0, bound), without modulo bias; bound >= 1. */
RN_API rn_status rn_rng_below(uint64_t state[4], uint64_t bound, uint64_t *value);
/* Uniform double in [0, 1) with 53 random bits. */
RN_API rn_status rn_rng_uniform(uint64_t state[4], double *value);
/* Fisher-Yates shuffle of count items (every permutation equally likely);
 * items may be NULL when count is 0. */
RN_API rn_status rn_rng_shuffle(uint64_t state[4], int64_t *items, size_t count);

/* A validation split: a random permutation of 0..n-1 drawn from `seed`, its
 * first n - val_count indices (sorted ascending) into train_idx and the rest
 * (sorted) into val_idx. The paper holds out 5k of CIFAR-10's 50k training
 * images (section 4.2). Either output may be NULL when its count is 0.
 * train_idx receives n - val_count values, val_idx val_count.
 * Errors: RN_E_INVALID_ARG (val_count outside [0, n), a needed output NULL),
 * RN_E_OVERFLOW, RN_E_NO_MEMORY (scratch from ctx). */
RN_API rn_status rn_data_split(rn_ctx *ctx, uint64_t seed, int64_t n, int64_t val_count,
                               int64_t *train_idx, int64_t *val_idx);

/* ---- datasets ------------------------------------------------------------------ */
/* Normalisation of x = pixel / 255. */
#define RN_NORM_NONE       0 /* x */
#define RN_NORM_PIXEL_MEAN 1 /* x - mean[h][w][c]: the paper's per-pixel mean (h*w*c values) */
#define RN_NORM_CHANNEL    2 /* (x - mean[c]) / std[c] (c values each) */

typedef struct rn_dataset rn_dataset;

/* A dataset over the caller's n images of h x w x c uint8 (NHWC) and n
 * labels in [0, classes). Both arrays are borrowed: they must stay alive and
 * unchanged for the dataset's life. Labels are checked here. Normalisation
 * starts as RN_NORM_NONE. *out belongs to the caller (rn_dataset_destroy,
 * after its views).
 * Errors: RN_E_INVALID_ARG (NULL argument, a dim < 1 or h, w, c too large,
 * classes < 1 or too many, a label outside [0, classes): the first is
 * named), RN_E_OVERFLOW, RN_E_NO_MEMORY. */
RN_API rn_status rn_dataset_create(rn_ctx *ctx, const uint8_t *images, const int32_t *labels,
                                   int64_t n, int64_t h, int64_t w, int64_t c, int32_t classes,
                                   rn_dataset **out);
/* A view of `count` images of `parent` picked by index (copied; repeats
 * allowed), with the parent's normalisation (copied: changing either later
 * does not affect the other). The parent must outlive it; a view of a view is
 * allowed. RN_E_INVALID_ARG for count < 1 or an index outside the parent. */
RN_API rn_status rn_dataset_create_view(const rn_dataset *parent, const int64_t *indices,
                                        int64_t count, rn_dataset **out);
RN_API void rn_dataset_destroy(rn_dataset *ds);
/* dims = n, h, w, c; any output may be NULL. */
RN_API rn_status rn_dataset_info(const rn_dataset *ds, int64_t dims[4], int32_t *classes);
/* The label of image i in [0, n) (RN_E_INVALID_ARG otherwise). */
RN_API rn_status rn_dataset_label(const rn_dataset *ds, int64_t i, int32_t *label);
/* Set the normalisation: mean has h*w*c values (RN_NORM_PIXEL_MEAN) or c
 * values (RN_NORM_CHANNEL, with c positive std values); unused arrays may be
 * NULL with count 0. The values are copied. RN_E_INVALID_ARG for an unknown
 * norm, a count that does not match the mode, a std that is not finite and
 * > 0; RN_E_NUMERIC for a non-finite mean. */
RN_API rn_status rn_dataset_set_normalization(rn_dataset *ds, int32_t norm, const float *mean,
                                              size_t mean_count, const float *std,
                                              size_t std_count);
/* Compute the statistics of this dataset's own images (in double, over all
 * images: the per-pixel mean, or the per-channel mean and population
 * standard deviation) and use them. Reads every image once; scratch from
 * the context (RN_E_NO_MEMORY). RN_NORM_NONE just clears the statistics. */
RN_API rn_status rn_dataset_compute_normalization(rn_dataset *ds, int32_t norm);
/* The normalisation in use: *norm, and mean/std copied out when not NULL
 * (counts as for set; 0 and NULL where the mode has no such array);
 * RN_E_INVALID_ARG for a count that differs from the dataset's. */
RN_API rn_status rn_dataset_get_normalization(const rn_dataset *ds, int32_t *norm, float *mean,
                                              size_t mean_count, float *std, size_t std_count);
/* Images indices[0..count) normalised into dst (count*h*w*c floats, NHWC)
 * and, if labels is not NULL, their labels (count values).
 * Errors: RN_E_INVALID_ARG for NULL indices or dst, count < 1, dst_count !=
 * count*h*w*c, an index outside [0, n). */
RN_API rn_status rn_dataset_get_batch(const rn_dataset *ds, const int64_t *indices,
                                      int64_t count, float *dst, size_t dst_count,
                                      int32_t *labels);

/* ---- augmentation (section 4.2) -----------------------------------------------
 * params receives 3 values per image: the crop offsets dy, dx in [0, 2*pad]
 * and flip (0 or 1; always 0 unless `flip`). Drawn in that order per image.
 * params_count must be 3 * n; pad in [0, 64], flip 0 or 1. No context, so
 * RN_E_INVALID_ARG without a sentence. */
RN_API rn_status rn_augment_draw(uint64_t state[4], int64_t n, int32_t pad, int32_t flip,
                                 int32_t *params, size_t params_count);
/* dst[i][y][x] = padded[i][y + dy][x' + dx] with x' = w-1-x when flipped,
 * x otherwise, and padded the image with `pad` zeros on every side (zero is
 * the mean once normalised). src and dst are n x h x w x c NHWC, distinct.
 * Threads: up to RN_OPT_NUM_THREADS of ctx. RN_E_INVALID_ARG for NULL
 * arrays, bad dims, pad outside [0, 64], params_count != 3 * n, src == dst,
 * or a params entry out of range (the image is named). */
RN_API rn_status rn_augment_apply(rn_ctx *ctx, const float *src, float *dst, int64_t n,
                                  int64_t h, int64_t w, int64_t c, int32_t pad,
                                  const int32_t *params, size_t params_count);

/* ---- metrics --------------------------------------------------------------------
 * Predictions are the arg max of each row of logits (n x classes; the first
 * maximum on ties). confusion (classes x classes int64, row = true label,
 * column = prediction) is added to when not NULL; *errors, when not NULL,
 * receives the number of wrong predictions. Errors (nothing written):
 * RN_E_INVALID_ARG for NULL logits or labels, n or classes < 1,
 * confusion_count != classes * classes, a label outside [0, classes). */
RN_API rn_status rn_metrics_update(rn_ctx *ctx, const float *logits, const int32_t *labels,
                                   int64_t n, int32_t classes, int64_t *confusion,
                                   size_t confusion_count, int64_t *errors);

/* Evaluate a model in RN_MODE_INFER on a whole dataset, in batches of
 * `batch` (the last one padded): mean cross-entropy into *loss, wrong
 * predictions into *errors, counts added to confusion (classes x classes,
 * may be NULL). The dataset's normalisation is used. Any output may be NULL.
 * The loss is computed in double and averaged over the dataset's images.
 * Runs on the model's context (plan and buffers are made and released
 * inside), so it counts as a use of the model: not while it trains.
 * Errors: RN_E_INVALID_ARG (NULL dataset, batch outside [1, 65536], more
 * classes in the dataset than the model has, a channel-count mismatch, a
 * wrong confusion_count), RN_E_BAD_STATE (incomplete model), the errors of
 * rn_plan_create / rn_plan_forward; the outputs are written only on success. */
RN_API rn_status rn_evaluate(rn_model *model, const rn_dataset *ds, int64_t batch,
                             double *loss, int64_t *errors, int64_t *confusion,
                             size_t confusion_count);

/* ---- SGD (torch.optim.SGD) ------------------------------------------------------
 * For every RN_TENSOR_PARAM tensor p with gradient g (as float32 ops, in order):
 *   d = g + weight_decay * p
 *   buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d
 *   d = d + momentum * buf (Nesterov) or d = buf
 *   p = p - lr * d
 * (with momentum 0 there is no buffer and d is used directly). */
typedef struct rn_optimizer rn_optimizer;

#define RN_SGD_LR               1 /* float, [0, 1e6], default 0.1 */
#define RN_SGD_MOMENTUM         2 /* float, [0, 1], default 0.9 */
#define RN_SGD_DAMPENING        3 /* float, [0, 1], default 0 */
#define RN_SGD_WEIGHT_DECAY     4 /* float, [0, 1], default 1e-4 */
#define RN_SGD_NESTEROV         5 /* int 0/1, default 0; needs momentum > 0, dampening 0 */
#define RN_SGD_DECAY_ALL_PARAMS 6 /* int: 1 (default) decays every parameter as the
                                   * paper does; 0 skips 1-D ones (BN weight and bias,
                                   * fc bias) */

/* An SGD optimiser for every trainable tensor of `model` (which must be
 * complete and stay alive), with the paper's settings (lr 0.1, momentum
 * 0.9, weight decay 1e-4). It lives on the model's context; *out belongs to
 * the caller (rn_optimizer_destroy, before the model). Momentum buffers are
 * allocated at the first step. RN_E_BAD_STATE for a model without a head. */
RN_API rn_status rn_sgd_create(rn_model *model, rn_optimizer **out);
RN_API void rn_optimizer_destroy(rn_optimizer *opt);
/* Options by key, RN_SGD_* above: floats through _float, integers through
 * _int. RN_E_NOT_FOUND for an unknown key; RN_E_INVALID_ARG for a value
 * outside its range, a float key given to _int (or the reverse), or a
 * setting that breaks Nesterov's needs (momentum > 0, dampening 0). A
 * trainer overwrites RN_SGD_LR with its schedule's rate at every step. */
RN_API rn_status rn_optimizer_set_float(rn_optimizer *opt, int32_t key, double value);
RN_API rn_status rn_optimizer_get_float(const rn_optimizer *opt, int32_t key, double *value);
RN_API rn_status rn_optimizer_set_int(rn_optimizer *opt, int32_t key, int64_t value);
RN_API rn_status rn_optimizer_get_int(const rn_optimizer *opt, int32_t key, int64_t *value);
/* One update from the gradients in the model (after rn_plan_backward).
 * Every gradient is checked first: a NaN or Inf gives RN_E_NUMERIC naming
 * the tensor, and nothing is changed. RN_E_BAD_STATE before the model has
 * gradients (its first RN_MODE_TRAIN plan), or if the model's tensors changed
 * since the optimiser was made; RN_E_NO_MEMORY for the first momentum
 * buffers. The model's plans see the new values at their next run. */
RN_API rn_status rn_optimizer_step(rn_optimizer *opt);
/* Momentum buffers by parameter name, in PyTorch layout (as
 * optimizer.state_dict()["state"][i]["momentum_buffer"]). Before a
 * parameter's first step it has none: get gives RN_E_BAD_STATE, and *has
 * from rn_optimizer_has_buffer is 0. set creates or replaces it. count must
 * equal the parameter's element count. RN_E_NOT_FOUND for a name the model
 * lacks, RN_E_INVALID_ARG for a BN running statistic (no buffer) or a wrong
 * count. */
RN_API rn_status rn_optimizer_has_buffer(const rn_optimizer *opt, const char *name,
                                         int32_t *has);
RN_API rn_status rn_optimizer_get_buffer(const rn_optimizer *opt, const char *name, float *dst,
                                         size_t count);
RN_API rn_status rn_optimizer_set_buffer(rn_optimizer *opt, const char *name, const float *src,
                                         size_t count);
/* Forget every momentum buffer (the next step starts them again). Fails only
 * for a NULL optimiser. */
RN_API rn_status rn_optimizer_reset(rn_optimizer *opt);

/* ---- learning-rate schedules ---------------------------------------------------
 * lr(step, epoch, warmup_done): `step` counts iterations done before the one
 * the rate is for (0 first), `epoch` the epochs done before it. The main
 * schedule is constant (the base rate), step decay or cosine; a warm-up
 * replaces it at the start. */
typedef struct rn_lr_schedule rn_lr_schedule;

#define RN_SCHED_UNIT_EPOCH 0 /* milestones / length counted in epochs */
#define RN_SCHED_UNIT_ITER  1 /* counted in iterations (the paper's 32k, 48k) */

#define RN_WARMUP_NONE        0
#define RN_WARMUP_ITERS       1 /* warmup_lr while step < value */
#define RN_WARMUP_LINEAR      2 /* warmup_lr rising linearly to the schedule's rate
                                 * over `value` iterations */
#define RN_WARMUP_TRAIN_ERROR 3 /* warmup_lr until the training error is below value
                                 * (e.g. 0.8, section 4.2 for ResNet-110): the caller
                                 * passes warmup_done (the trainer tracks it) */

/* A constant schedule at base_lr (in [0, 1e6]); *out belongs to the caller
 * (rn_lr_schedule_destroy, after any trainer using it). Each set_* below
 * replaces the main schedule (set_warmup the warm-up); on failure the
 * schedule is unchanged. */
RN_API rn_status rn_lr_schedule_create(rn_ctx *ctx, double base_lr, rn_lr_schedule **out);
RN_API void rn_lr_schedule_destroy(rn_lr_schedule *s);
/* Constant base rate (the state after create). */
RN_API rn_status rn_lr_schedule_set_constant(rn_lr_schedule *s);
/* base * gamma^k where k is the number of milestones <= the step or epoch
 * (strictly increasing, at most 64 of them): PyTorch's MultiStepLR.
 * Milestones >= 1 and gamma in (0, 1], else RN_E_INVALID_ARG. */
RN_API rn_status rn_lr_schedule_set_step(rn_lr_schedule *s, int32_t unit,
                                         const int64_t *milestones, int32_t count,
                                         double gamma);
/* min_lr + (base - min_lr) * (1 + cos(pi * t / total)) / 2 with t the step or
 * epoch, clamped to total: PyTorch's CosineAnnealingLR over one half period.
 * total >= 1, min_lr in [0, base]. */
RN_API rn_status rn_lr_schedule_set_cosine(rn_lr_schedule *s, int32_t unit, int64_t total,
                                           double min_lr);
/* kind RN_WARMUP_*: value is a whole number of iterations >= 1 (ITERS,
 * LINEAR) or an error threshold in (0, 1] (TRAIN_ERROR); warmup_lr in
 * [0, 1e6]. RN_WARMUP_NONE removes the warm-up. */
RN_API rn_status rn_lr_schedule_set_warmup(rn_lr_schedule *s, int32_t kind, double value,
                                           double warmup_lr);
/* The warm-up kind and threshold (for RN_WARMUP_TRAIN_ERROR callers). Either may be NULL. */
RN_API rn_status rn_lr_schedule_get_warmup(const rn_lr_schedule *s, int32_t *kind,
                                           double *value);
/* The rate for (step, epoch, warmup_done) into *lr: a pure function of them.
 * RN_E_INVALID_ARG for NULL lr or a negative step or epoch. */
RN_API rn_status rn_lr_schedule_lr(const rn_lr_schedule *s, int64_t step, int64_t epoch,
                                   int32_t warmup_done, double *lr);

/* ---- trainer ----------------------------------------------------------------------
 * One iteration = a batch of the shuffled training set, normalised,
 * augmented, a RN_MODE_TRAIN forward + backward, a finite-loss check, the
 * schedule's rate into the optimiser, an optimiser step. Every epoch visits
 * each image once in a fresh random order. Everything random comes from two
 * generators seeded from RN_TRAIN_SEED (data order, augmentation), and all
 * of the trainer's state goes into checkpoints, so a run saved and resumed
 * ends bit-identical to one that was not interrupted. The model, optimiser,
 * schedule and dataset are borrowed and must outlive the trainer; the
 * trainer's plans, threads and errors use the model's context. */
typedef struct rn_trainer rn_trainer;

#define RN_TRAIN_BATCH     1 /* 1..65536, default 128 */
#define RN_TRAIN_SEED      2 /* any int64, default 0: restarts both generators */
#define RN_TRAIN_AUG_PAD   3 /* 0..64, default 4 (0: no crop) */
#define RN_TRAIN_AUG_FLIP  4 /* 0/1, default 1 */
#define RN_TRAIN_DROP_LAST 5 /* 0/1, default 0: a short last batch (PyTorch's default) */
#define RN_TRAIN_SHUFFLE   6 /* 0/1, default 1 */
#define RN_TRAIN_SHARDS    7 /* 0..256, default 0 (= the ranks of rn_trainer_set_reducer) */
#define RN_TRAIN_SYNC_BN   8 /* 0/1, default 0: batch norm over each rank's images only */
#define RN_TRAIN_BUCKET    9 /* 1..2^30 floats of gradient per reduction, default 262144 */

/* Options may be changed only before the first step (RN_E_BAD_STATE after).
 * create: the optimiser must be the model's; the dataset's channels must be
 * the model's input channels and its classes at most the model's
 * (RN_E_INVALID_ARG otherwise); RN_E_BAD_STATE for a model without a head.
 * *out belongs to the caller: destroy it before anything it borrows.
 * set_int / get_int: RN_E_NOT_FOUND for an unknown key, RN_E_INVALID_ARG for
 * a value out of range. */
RN_API rn_status rn_trainer_create(rn_model *model, rn_optimizer *opt,
                                   const rn_lr_schedule *schedule, const rn_dataset *train,
                                   rn_trainer **out);
RN_API void rn_trainer_destroy(rn_trainer *tr);
RN_API rn_status rn_trainer_set_int(rn_trainer *tr, int32_t key, int64_t value);
RN_API rn_status rn_trainer_get_int(const rn_trainer *tr, int32_t key, int64_t *value);
/* One iteration. *loss (may be NULL) receives the batch's mean loss and
 * *epoch_end (may be NULL) 1 when it was the epoch's last batch. A NaN or
 * Inf loss gives RN_E_NUMERIC naming the step, epoch and batch; the update
 * is then not applied (BN running statistics have moved, as in PyTorch).
 * Other errors: RN_E_INVALID_ARG when drop_last leaves no full batch, the
 * errors of the plan and optimiser calls inside (named with the step),
 * RN_E_NO_MEMORY for the trainer's batch buffers and plans (made at the
 * first step and kept). Threads: up to RN_OPT_NUM_THREADS of the model's
 * context. */
RN_API rn_status rn_trainer_step(rn_trainer *tr, float *loss, int32_t *epoch_end);
/* Counters: epochs completed, iterations done, batches done in the current
 * epoch, batches per epoch. Any output may be NULL. */
RN_API rn_status rn_trainer_progress(const rn_trainer *tr, int64_t *epoch, int64_t *step,
                                     int64_t *batch_in_epoch, int64_t *batches_per_epoch);
/* The current epoch's training statistics (after its last batch: the whole
 * epoch's, until the next step begins a new one): mean loss, wrong
 * predictions of the train-mode forward, images seen. Any may be NULL. */
RN_API rn_status rn_trainer_epoch_stats(const rn_trainer *tr, double *mean_loss,
                                        int64_t *errors, int64_t *seen);
/* The rate the next step will use, and whether a RN_WARMUP_TRAIN_ERROR
 * warm-up has ended. Either may be NULL. */
RN_API rn_status rn_trainer_lr(const rn_trainer *tr, double *lr, int32_t *warmup_done);

/* ---- data-parallel training -------------------------------------------------------
 * Several processes ("ranks"), each with a trainer over the same model
 * initialisation, dataset, seed and options, train one model together: a
 * step takes the same global batch (RN_TRAIN_BATCH images, in the order a
 * single process takes them) on every rank, and each rank runs forward and
 * backward on its share, images [B*r/R, B*(r+1)/R) of a global batch of B.
 * The library has no communication of its own: the caller plugs in an
 * engine (MPI in libresnet_mpi, or its own) as two callbacks.
 *
 *   start(user, data, count, type) begins summing the `count` elements at
 *   `data` (float for RN_REDUCE_F32, double for RN_REDUCE_F64) over all
 *   ranks, in place, and returns a ticket >= 0 (or a negative code on
 *   failure). The data must not be touched until the ticket is waited for.
 *   Every rank makes the same calls in the same order with the same counts.
 *   wait(user, ticket) returns 0 once that sum is in place (and the ticket
 *   is spent), anything else on failure; an engine should give up on a rank
 *   that died or stopped answering after a timeout rather than wait forever.
 *
 * Every rank must receive the same bits. For results equal to a single
 * process, the engine adds the ranks' arrays in a fixed order: the pairwise
 * tree, level by level, rank 2i's value + rank 2i+1's, an odd last carried
 * up (for two ranks any sum does: a + b == b + a). RN_REDUCE_F64 reductions
 * (batch-norm statistics, the loss and error counts) have one non-zero
 * contribution per element and are exact in any order.
 *
 * What is reduced: gradients (float, in buckets of about RN_TRAIN_BUCKET
 * floats, started as backward produces them: the engine may overlap them
 * with the rest of backward; the step waits for all before the optimiser
 * step), and with RN_TRAIN_SYNC_BN the batch-norm statistics of every layer
 * (double, forward and backward, each waited for at once).
 *
 * Fixed order: the global batch is cut into RN_TRAIN_SHARDS shards of whole
 * images (0: one per rank; a multiple of the ranks), each shard's sums are
 * taken as a batch of its images alone would take them, and shards meet in
 * the pairwise tree. So with RN_TRAIN_SYNC_BN, R ranks give the same
 * weights, bit for bit, as one process with RN_TRAIN_SHARDS = R (R and the
 * shards powers of two, every shard at least one image). Without
 * RN_TRAIN_SYNC_BN each rank normalises by its own images' statistics
 * (PyTorch DDP's default), which no single process reproduces, and the
 * batch-norm running statistics are each rank's own.
 *
 * rn_trainer_set_reducer: rank in [0, ranks), ranks in [1, 256]; start and
 * wait may be NULL only when ranks is 1 (the default: no engine). May be
 * called between any two steps (before or after a checkpoint load). A failing callback
 * makes the step fail with RN_E_IO naming the code it returned; the step
 * is then lost (the batch-norm running statistics may have moved) and the
 * training should stop. */
#define RN_REDUCE_F32 0
#define RN_REDUCE_F64 1
typedef int32_t (*rn_reduce_start_fn)(void *user, void *data, size_t count, int32_t type);
typedef int32_t (*rn_reduce_wait_fn)(void *user, int32_t ticket);
RN_API rn_status rn_trainer_set_reducer(rn_trainer *tr, int32_t rank, int32_t ranks,
                                        rn_reduce_start_fn start, rn_reduce_wait_fn wait,
                                        void *user);

/* ---- checkpoints --------------------------------------------------------------------
 * One safetensors file: every model tensor under its torchvision name (in
 * PyTorch layout, BN running statistics included), the momentum buffers as
 * "optimizer.<name>.momentum_buffer", the dataset's normalisation as
 * "data.mean" / "data.std", and metadata (format version, epoch, step,
 * batch position, generator states, warm-up state, epoch statistics, batch
 * size, dataset size). The model part loads in PyTorch (strict=False).
 * Saving to a file is atomic (temporary file, fsync, rename): a failure
 * leaves the previous file as it was. Loading checks the whole file against
 * the trainer (names, shapes, version, batch size, dataset size and
 * normalisation) before changing anything; on failure nothing is changed.
 * save_mem with buf NULL sets only *written (the size needed); a smaller
 * cap gives RN_E_BUFFER_TOO_SMALL. The file functions give RN_E_IO (with the
 * errno text) when the system refuses. Errors on load: RN_E_BAD_FORMAT for a
 * malformed file or one whose tensors do not fit the model, RN_E_VERSION for
 * another checkpoint format, RN_E_INVALID_ARG for one made with other
 * settings or data (batch size, dataset size, normalisation; the sentence
 * names it). These four are part of the io layer: absent when it is built
 * out. */
RN_API rn_status rn_checkpoint_save_mem(const rn_trainer *tr, void *buf, size_t cap,
                                        size_t *written);
RN_API rn_status rn_checkpoint_save_file(const rn_trainer *tr, const char *path);
RN_API rn_status rn_checkpoint_load_mem(rn_trainer *tr, const void *buf, size_t size);
RN_API rn_status rn_checkpoint_load_file(rn_trainer *tr, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_TRAIN_H */
