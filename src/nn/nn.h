/*
 * Internal view of a model for the layers above nn (train, io): the flat
 * list of its tensors in the library's own layout (OHWI for convs), with the
 * gradient beside each trainable one. Elementwise code (the optimiser,
 * checkpoints) works on these arrays directly.
 */
#ifndef RN_NN_H
#define RN_NN_H

#include "../core/internal.h"
#include "resnet/model.h"

/* PyTorch's BatchNorm2d defaults: eps 1e-5, momentum 0.1 (torch.nn.BatchNorm2d). */
#define RN_BN_EPS 1e-5f
#define RN_BN_MOMENTUM 0.1f

typedef struct rn_tensor_slot {
    const char *name; /* torchvision name, e.g. "layer1.0.conv1.weight" */
    int32_t kind;     /* RN_TENSOR_PARAM or RN_TENSOR_BUFFER */
    int32_t ndim;     /* PyTorch dims: 4 for conv weights, 2 for fc, 1 otherwise */
    int64_t dims[4];  /* PyTorch order (OIHW for conv weights) */
    size_t count;     /* number of floats */
    float *value;     /* library layout (OHWI for conv weights) */
    float *grad;      /* same layout as value; NULL for buffers, and for every
                        * tensor until the model's first RN_MODE_TRAIN plan */
    int32_t frozen;   /* RN_TENSOR_PARAM left alone by optimisers (rn_model_set_frozen) */
} rn_tensor_slot;

/* The model's slots in state_dict order. The array moves while the model is
 * being built (each add_* appends); once the head is added it is stable for
 * the model's life. */
int32_t rn__model_slots(const rn_model *model, const rn_tensor_slot **slots);
/* Allocate the gradient arrays now (they otherwise come with the first
 * RN_MODE_TRAIN plan), so every RN_TENSOR_PARAM slot's grad is non-NULL:
 * for code that needs them before any plan (an optimiser). RN_OK, or
 * RN_E_NO_MEMORY with the model's context's last error set. Idempotent. */
rn_status rn__model_ensure_grads(rn_model *model);
/* RN_OK, or RN_E_BAD_STATE with a sentence naming fn on the model's context
 * when the model was packed for inference (rn_model_pack_for_inference) and
 * so keeps no plain convolution weights to save, train or calibrate. */
rn_status rn__model_check_unpacked(const rn_model *model, const char *fn);
/* The context a model was created with. */
rn_ctx *rn__model_ctx(const rn_model *model);
/* Must be called after values were changed behind the model's back (an
 * optimiser step, a checkpoint load) so derived state (packed weights) is
 * refreshed before the next run. */
void rn__model_values_changed(rn_model *model);
/* A slot's values between the library's layout and PyTorch's (the one copy of
 * the OHWI <-> OIHW conversion): read gives PyTorch's order from library
 * memory, write the library's from PyTorch's. count floats each. */
void rn__nn_slot_read(const rn_tensor_slot *s, const float *src, float *dst);  /* lib -> torch */
void rn__nn_slot_write(const rn_tensor_slot *s, const float *src, float *dst); /* torch -> lib */

/* ---- data-parallel training (src/nn/plan-dist.c) ---------------------------------
 * The global batch is cut into `shards` shards of whole images (shard g:
 * images [B*g/G, B*(g+1)/G) of the global batch of B, G shards in all);
 * each of `ranks` processes holds `local` consecutive shards (G = ranks *
 * local). Every sum over the batch is then a sum over shards, each shard
 * computed alone exactly as a batch of its images would be, combined by the
 * pairwise tree: level by level, items 2i and 2i+1 added (2i on the left),
 * an odd last item carried up. A rank combines its own shards by the part of
 * that tree they form; the reduction engine combines the ranks' results by
 * the rest, so 1 process of G shards and G/L processes of L shards give the
 * same bits (G and L powers of two). The engine's callbacks are the public
 * rn_reduce_*_fn of train.h. */
#define NN_REDUCE_F32 0
#define NN_REDUCE_F64 1
typedef int32_t (*nn_reduce_start_fn)(void *user, void *data, size_t count, int32_t type);
typedef int32_t (*nn_reduce_wait_fn)(void *user, int32_t ticket);

#define NN_DIST_MAX_TICKETS 4096

typedef struct nn_dist {
    int32_t rank, ranks, local; /* this rank, ranks, shards per rank */
    int32_t sync_bn;            /* batch norm statistics over the global batch */
    size_t global_n;            /* images in the global batch */
    size_t first, local_n;      /* this rank's images [first, first + local_n) */
    nn_reduce_start_fn start;   /* NULL when ranks == 1 */
    nn_reduce_wait_fn wait;
    void *user;
    rn_status failed;    /* first engine failure of the step, RN_OK if none */
    int32_t failed_code; /* what the engine returned */
    /* working memory, owned by the trainer */
    float *scratch; /* (local - 1) partial gradients of the largest step */
    size_t scratch_floats;
    double *red; /* BN exchange: 2 * G * channels doubles */
    size_t red_doubles;
    double *loss; /* per global shard: the sum of its rows' losses */
    /* the gradient bucket being gathered (ranks > 1): floats [lo, lo + count) */
    float *bucket_lo;
    size_t bucket_count, bucket_floats;
    int32_t tickets[NN_DIST_MAX_TICKETS];
    int32_t nticket;
} nn_dist;

/* Local image where local shard s (0..local) begins. */
size_t rn__nn_dist_shard_lo(const nn_dist *d, int32_t s);
/* A step of a train program run with `d` set: 1 if it was run here (the
 * ops that sum over the batch), 0 if the plain driver applies. */
struct nn_step;
int rn__nn_dist_step(const rn_ctx *ctx, const struct nn_step *s, float *x, float *x2, float *x3,
                     float *y, float *aux1, float *aux2, float *aux3, void *ws, size_t ws_bytes,
                     const int32_t *labels, nn_dist *d);
/* Start the last gradient bucket (after backward). */
void rn__nn_dist_flush(nn_dist *d);
/* Start a reduction and remember its ticket / wait for every remembered one. */
void rn__nn_dist_start(nn_dist *d, void *data, size_t count, int32_t type);
void rn__nn_dist_wait_all(nn_dist *d);
/* The pairwise tree over `count` arrays of n floats at base[i*stride],
 * summed into base[0]. */
void rn__nn_tree_sum_f32(float *const *items, int32_t count, size_t n);
/* The same over doubles (a scalar per item). */
double rn__nn_tree_sum_f64(const double *items, int32_t count, size_t stride);
/* ---- weights in place (rn_model_create_from_blob, src/io/blob.c) ---------------
 * A preset whose tensors have no storage of their own (every slot's value
 * NULL until bound), marked read-only: training plans, rn_model_init,
 * folding, set_tensor and loads refuse it. no_derived: its plans keep no
 * packed or Winograd-transformed weights. Arguments as
 * rn_model_create_preset's (validated the same way). */
rn_status rn__model_create_preset_in_place(rn_ctx *ctx, const char *name, int32_t classes,
                                           int32_t in_channels, int32_t shortcut,
                                           int32_t base_width, uint32_t flags, int32_t no_derived,
                                           rn_model **out);
/* Point slot i's value (library layout: OHWI conv weights) at values[i]
 * for every slot, and the layers at them. */
void rn__model_bind_values(rn_model *model, const float *const *values);
/* The preset a model was made from, with its options resolved (the
 * preset's defaults filled in); 0 for a model spelled out with the builder. */
int32_t rn__model_preset(const rn_model *model, const char **name, int32_t *classes,
                         int32_t *in_channels, int32_t *shortcut, int32_t *width, uint32_t *flags);
/* 1 for a model whose weights are read in place. */
int32_t rn__model_in_place(const rn_model *model);

/* Attach (or with NULL detach) a distribution to a train plan. */
void rn__plan_set_dist(rn_plan *p, nn_dist *d);

/* ---- int8 models, for io's int8 files (src/nn/int8.c; docs/int8.md) -------------
 * Convolutions are numbered in the model's order: conv1, then each block's
 * conv1..conv3 and its downsample.0. */
typedef struct rn_conv_view {
    char name[48]; /* "conv1", "layer2.0.downsample.0" */
    int32_t in, out, k, stride, pad;
    const int8_t *w;      /* int8 models: OHWI [out][k][k][in] */
    const int32_t *bias;  /* int8 models: [out] */
    const float *w_scale; /* int8 models: [out] */
    float out_scale;      /* int8 models */
} rn_conv_view;
int32_t rn__model_conv_count(const rn_model *model);
void rn__model_conv_view(const rn_model *model, int32_t i, rn_conv_view *v);
/* 1 for an int8 model; its input scale. */
int32_t rn__model_is_int8(const rn_model *model);
float rn__model_input_scale(const rn_model *model);
struct nn_qnet;
/* Turn a complete model built with no_values (rn__model_from_arch_string)
 * into an int8 one: views[i] gives conv i's w, bias, w_scale and out_scale
 * (checked by the caller: scales finite and > 0, biases that cannot
 * overflow); fc_w [classes x features] and fc_b the float fc. Biases,
 * scales and the fc are copied; the weights too unless in_place (they must
 * then outlive the model). Only the fc's tensors have float values; the
 * others have none. reserved: the arrays from rn__model_reserve_int8 (same
 * in_place), or NULL to allocate them here. RN_E_NO_MEMORY with the
 * sentence on the model's context. */
rn_status rn__model_make_int8(rn_model *model, float in_scale, const rn_conv_view *views,
                              int32_t in_place, const float *fc_w, const float *fc_b,
                              struct nn_qnet *reserved, const char *fn);
/* The int8 arrays rn__model_make_int8 fills, allocated ahead (reserved, then
 * passed to it) so that a reader in a caller's arena can allocate its
 * temporaries after them and give those back; unreserve frees them when
 * make_int8 was not called or failed. */
rn_status rn__model_reserve_int8(rn_model *model, int32_t in_place, struct nn_qnet **reserved,
                                 const char *fn);
void rn__model_unreserve_int8(rn_model *model, struct nn_qnet *reserved);
/* The text saying how an int8 model was calibrated ("" if unknown); set
 * copies at most 127 bytes. */
const char *rn__model_int8_note(const rn_model *model);
void rn__model_set_int8_note(rn_model *model, const char *note);
/* The largest |bias| conv i may have: 2^30 - 1, the int8 op's bound (with
 * at most 2^16 products per output the int32 sum cannot overflow). */
int64_t rn__model_conv_bias_limit(const rn_model *model, int32_t i);
/* The architecture as one line of text ("in 3; stem 16 3 1 1 0; stage
 * basic 3 16 1 A 0; ...; head 10"), and a new model (float, weights not
 * set) built from such a line; src names the source in errors. A line
 * whose weights could not fit in max_bytes (a lower bound of their bytes:
 * int8 convs, float fc) is refused before anything is allocated. With
 * no_values the tensors get no storage (for rn__model_make_int8). */
size_t rn__model_arch_string(const rn_model *model, char *buf, size_t cap);
rn_status rn__model_from_arch_string(rn_ctx *ctx, const char *arch, const char *src,
                                     size_t max_bytes, int32_t no_values, rn_model **out);

/* ---- the model's structure, for graph writers (the ONNX exporter) ------------
 * The stem, then each block in order, as shapes; the tensors themselves are
 * read by their torchvision names through the public tensor API. */

/* What a block does with its input on the residual path. */
#define NN_SC_IDENTITY 0 /* y = relu(F(x) + x) */
#define NN_SC_PAD \
    1                /* option A where dims change: x subsampled by the stride
                          * (rows and columns 0, s, 2s, ...), then (out - in) / 2
                          * zero channels before it and the rest after */
#define NN_SC_PROJ 2 /* 1x1 conv + BN (option B where dims change, C always) */
#define NN_SC_NONE 3 /* plain: y = relu(F(x)) */

typedef struct nn_conv_shape {
    int32_t in, out, k, stride, pad; /* square kernel, symmetric padding, no bias */
} nn_conv_shape;

typedef struct nn_model_shape {
    int32_t complete;  /* stem and head present */
    int32_t quantized; /* an int8 model */
    int32_t in_channels, classes;
    nn_conv_shape stem; /* "conv1" + "bn1" + ReLU */
    int32_t stem_pool;  /* then a 3x3 max pool, stride 2, padding 1 ("maxpool") */
    int32_t nblocks;    /* then the blocks; then global average pool + "fc" */
} nn_model_shape;

typedef struct nn_block_shape {
    char name[24]; /* "layer<stage+1>.<index>", the prefix of its tensors */
    int32_t in, out, stride;
    int32_t nconv;         /* 2 (basic) or 3 (bottleneck) */
    nn_conv_shape conv[3]; /* "<name>.conv<j+1>" + "<name>.bn<j+1>", ReLU between */
    int32_t sc;            /* NN_SC_*, added before the block's last ReLU */
    nn_conv_shape proj;    /* NN_SC_PROJ: "<name>.downsample.0" + ".1" */
} nn_block_shape;

void rn__nn_model_shape(const rn_model *model, nn_model_shape *out);
/* Block i of the model, i in [0, nblocks). */
void rn__nn_block_shape(const rn_model *model, int32_t i, nn_block_shape *out);

#endif /* RN_NN_H */
