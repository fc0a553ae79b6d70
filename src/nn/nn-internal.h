/*
 * Private structures of the nn layer: convolutions, batch norms and blocks as
 * the model and the standalone block hold them, the tensor registry that
 * gives them torchvision names, and the plan's program (steps over buffers
 * planned into one arena). Shared by the files of src/nn only.
 */
#ifndef RN_NN_INTERNAL_H
#define RN_NN_INTERNAL_H

#include "nn.h"
#include "../ops/ops.h"

/* Bounds that keep every size computation far from overflow. */
#define RN_NN_MAX_CHANNELS 65536
#define RN_NN_MAX_KERNEL 64
#define RN_NN_MAX_STRIDE 64
#define RN_NN_MAX_BLOCKS 100000
#define RN_NN_MAX_CLASSES 1000000

/* A convolution without bias (weight OHWI); `bias` is set only by folding,
 * and then points at the folded BN's bias. */
typedef struct nn_conv {
    int32_t in, out, k, stride, pad;
    float *w, *gw;
    const float *bias;
    int32_t frozen; /* weight frozen: training plans skip its weight gradient */
} nn_conv;

typedef struct nn_bn {
    int32_t c;
    float *gamma, *beta, *mean, *var;
    float *ggamma, *gbeta;
} nn_bn;

typedef struct nn_block {
    int32_t type, in, width, out, stride, shortcut; /* as requested (RN_SHORTCUT_*) */
    int32_t sc;                                     /* NN_SC_* (nn.h) actually used */
    uint32_t flags;
    int32_t nconv; /* 2 (basic) or 3 (bottleneck) */
    nn_conv conv[3];
    nn_bn bn[3];
    nn_conv ds_conv; /* NN_SC_PROJ only */
    nn_bn ds_bn;
    int32_t stage, index; /* position in a model ("layer<stage+1>.<index>") */
} nn_block;

/* Fills the shapes of a block (no storage); RN_OK or a status with the
 * reason written into `why` (a fixed sentence fragment). */
rn_status rn__nn_block_setup(nn_block *b, int32_t type, int32_t in, int32_t width, int32_t stride,
                             int32_t shortcut, uint32_t flags, const char **why);
/* Output spatial size of a block for an h x w input. */
void rn__nn_block_out_hw(const nn_block *b, int64_t h, int64_t w, int64_t *oh, int64_t *ow);
/* Trainable scalars and multiply-accumulates of a block at input h x w. */
int64_t rn__nn_block_params(const nn_block *b);
int64_t rn__nn_block_macs(const nn_block *b, int64_t h, int64_t w);

/* ---- tensor registry ---------------------------------------------------------
 * Components (stem, a stage, the head, a standalone block) register their
 * tensors twice: a counting pass (slots == NULL) that sizes one allocation
 * holding values, gradients and names, then an assigning pass that points
 * the layers' arrays into it and appends the slots in state_dict order. */
typedef struct nn_reg {
    rn_tensor_slot *slots; /* NULL in the counting pass */
    int32_t nslots;
    float *values, *grads;               /* assigning pass: the next free float of each */
    char *names;                         /* assigning pass: the next free name byte */
    size_t nvalues, ngrads, nname_bytes; /* counting pass totals */
    int32_t with_grads;
    int32_t no_values; /* values live elsewhere (a blob): slots get value NULL */
    char prefix[64];   /* e.g. "layer2.1." */
} nn_reg;

void rn__nn_reg_conv(nn_reg *r, const char *name, nn_conv *c);
void rn__nn_reg_bn(nn_reg *r, const char *name, nn_bn *bn);
void rn__nn_reg_block(nn_reg *r, nn_block *b);
float *rn__nn_reg_tensor(nn_reg *r, const char *name, int32_t kind, int32_t ndim,
                         const int64_t dims[4], float **grad);
/* prefix = a + decimal i + b (e.g. "layer", 2, ".") + decimal j + "." when j >= 0. */
void rn__nn_reg_prefix(nn_reg *r, const char *a, int32_t i, int32_t j);

/* "layer<stage+1>.<index>" into dst (at least 24 bytes). */
void rn__nn_block_name(char *dst, int32_t stage, int32_t index);

/* Allocate a component's chunk for a counted registry; on success the
 * registry is reset for the assigning pass into `slots`. */
void *rn__nn_reg_alloc(rn_ctx *ctx, nn_reg *r, rn_tensor_slot *slots);

/* Tensor access in PyTorch layout over a slot array (model and block share it). */
int32_t rn__nn_slot_find(const rn_tensor_slot *slots, int32_t n, const char *name);
/* rn_model_tensor_info / rn_block_tensor_info over a slot array; fn names
 * the caller in the error for an index outside [0, n). */
rn_status rn__nn_slot_info(const rn_ctx *ctx, const char *fn, const rn_tensor_slot *slots,
                           int32_t n, int32_t index, const char **name, int32_t *ndim,
                           int64_t dims[4], int32_t *kind);

/* ---- initialisation --------------------------------------------------------- */
void rn__nn_init_conv(nn_conv *c, uint64_t seed, uint64_t stream);
void rn__nn_init_bn(nn_bn *bn, float gamma);
void rn__nn_init_block(nn_block *b, uint64_t seed, uint64_t *stream);

/* ---- the model ---------------------------------------------------------------- */
struct rn_model {
    rn_ctx *ctx;
    int32_t in_channels, channels; /* input and current (last added layer's) channels */
    int32_t classes;
    int32_t has_stem, has_head, folded;
    nn_conv stem_conv;
    nn_bn stem_bn;
    int32_t stem_pool;
    nn_block *blocks;
    int32_t nblocks, nstages;
    int32_t fc_in;
    float *fc_w, *fc_b, *fc_gw, *fc_gb;
    rn_tensor_slot *slots;
    int32_t nslots;
    void **chunks;
    int32_t nchunks;
    /* room in slots, chunks and blocks (rn__nn_model_reserve), else 0 */
    int32_t cap_slots, cap_chunks, cap_blocks;
    float *grads;     /* every parameter's gradient, from the first train plan on */
    uint64_t version; /* bumped whenever values change */
    /* What rn_model_create_preset was given (resolved: the preset's
     * defaults filled in), so a blob can name the architecture; preset is
     * NULL for a model spelled out with the builder. */
    const char *preset;
    int32_t preset_classes, preset_in, preset_shortcut, preset_width;
    uint32_t preset_flags;
    /* Weights read in place from a caller's constant blob
     * (rn_model_create_from_blob): every slot's value points into it and
     * nothing may write them; no_derived: plans keep no packed or
     * transformed copy of the weights either. */
    int32_t in_place, no_derived;
    struct nn_qnet *q; /* int8 models (src/nn/int8.c): the quantized network, else NULL */
    /* Derived weights shared by the model's inference plans (plan-derived.c):
     * a list, its bytes charged to the budget (rn__conv_derived_budget: smaller with plain weights), and
     * the lock that guards both and every entry's data and version. */
    struct nn_derived *derived;
    size_t derived_bytes;
    int32_t derived_lock;
    int32_t packed; /* rn_model_pack_for_inference done: float inference only */
    /* a packed model's slots: the panels of a conv weight (whose value is
     * then NULL), else NULL; NULL for other models */
    struct nn_derived **slot_panels;
};

/* ---- derived weights, one copy per model (plan-derived.c) ------------------------
 * One entry per (convolution, form): NN_W_PACKED (panels, rn__conv_panels_*)
 * or NN_W_WINOGRAD / NN_W_WINOGRAD2 (rn__conv_winograd_*, tile 4 / 2). Neither form depends on the
 * batch, the image size, the ISA or the thread count, so every inference
 * plan of the model (any shape, any context) shares it. Entries are made
 * when a plan first needs them and remade, by the first plan to run after
 * the model's values changed (version), from the model's weights; the
 * panels of a packed model (fixed) replace its weights and are never
 * remade. Their memory comes from the model's context. */
typedef struct nn_derived {
    struct nn_derived *next;
    const nn_conv *conv;
    int32_t form;     /* NN_W_PACKED, NN_W_WINOGRAD or NN_W_WINOGRAD2 */
    int32_t fixed;    /* the panels of a packed model: no plain weights to remake them from */
    int32_t in_place; /* fixed panels in the model's own weight storage (not freed here) */
    uint64_t version; /* the model's version the data was made from */
    size_t bytes;
    rn_conv_desc cd; /* a descriptor of the convolution (n, h, w of the plan that made it) */
    unsigned char *data;
} nn_derived;

void rn__nn_model_lock(rn_model *m);
void rn__nn_model_unlock(rn_model *m);
/* The entry (conv, form) or NULL; the caller holds the lock. */
nn_derived *rn__nn_derived_find(const rn_model *m, const nn_conv *c, int32_t form);
/* In a packed model, conv c's panels (the fixed entry that replaced its
 * weights, whose w is then NULL); else NULL. The caller holds the lock. */
const nn_derived *rn__nn_derived_panels(const rn_model *m, const nn_conv *c);
/* A new entry made from the model's current weights with ctx's threads;
 * the caller holds the lock. NULL when out of memory (error set on ctx). */
nn_derived *rn__nn_derived_make(rn_model *m, rn_ctx *ctx, const nn_conv *c, const rn_conv_desc *d,
                                int32_t form, const char *fn);
/* Remakes the entry from the model's current weights (version stale). */
void rn__nn_derived_refresh(rn_model *m, const rn_ctx *ctx, nn_derived *e);
/* Frees every entry (rn_model_destroy, rn_model_pack_for_inference). */
void rn__nn_derived_free_all(rn_model *m);
/* RN_E_BAD_STATE with a sentence naming fn if the model was packed for
 * inference (its plain convolution weights are gone), else RN_OK. */
rn_status rn__nn_model_unpacked(const rn_model *m, const rn_ctx *err_ctx, const char *fn);

/* Arrays of the final sizes for an empty model, so that adding its
 * components fills them instead of growing copies: in a caller's arena
 * every grown copy would leave the old array behind as a hole. Only a
 * hint: without the memory for them nothing is reserved. */
void rn__nn_model_reserve(rn_model *m, int32_t nslots, int32_t nchunks, int32_t nblocks);

/* RN_OK if the model's weights may be written, else RN_E_BAD_STATE with a
 * sentence naming fn (the weights are read in place from a constant blob). */
rn_status rn__nn_model_writable(const rn_model *m, const rn_ctx *err_ctx, const char *fn);

/* ---- int8 models (docs/int8.md) -------------------------------------------------
 * An int8 model is a folded model with a quantized twin of each convolution,
 * in the model's convolution order (rn__model_conv_info): the stem, then each
 * block's conv1..conv3 and its downsample. Its tensors have no float
 * storage but the fc's (the registry's no-values mode); the plans run the
 * int8 arrays. */
typedef struct nn_qconv {
    const int8_t *w;      /* OHWI [out][k][k][in]: owned, or in the caller's bytes */
    const int32_t *bias;  /* [out] */
    const float *w_scale; /* [out] */
    const float *m;       /* [out] requantization multipliers s_in * s_w / s_out */
    float in_scale, out_scale;
    float m_r; /* the residual's multiplier (the conv that adds it), else 0 */
    int32_t relu;
} nn_qconv;

typedef struct nn_qnet {
    float in_scale; /* of the network's input */
    int32_t nconv;
    nn_qconv *conv;
    void *mem;        /* the arrays above (and the weights unless in place) */
    int32_t in_place; /* weights point into the caller's bytes */
    char note[128];   /* how it was calibrated (the file's "calibration") */
} nn_qnet;

/* The nn_conv at convolution index i of a model (the order above), and the
 * block it belongs to (-1 for the stem) and its place there (0..2, 3 for
 * the downsample). */
nn_conv *rn__nn_model_conv(const rn_model *m, int32_t i, int32_t *block, int32_t *j);
void rn__nn_qnet_free(rn_ctx *ctx, nn_qnet *q);
/* The wiring of the convolutions: src[i] is the conv whose output conv i
 * reads (-1: the network's input; the max pool keeps the stem's scale),
 * res[i] the conv whose output it adds as its residual (-1: none). Arrays
 * of rn__model_conv_count entries. */
void rn__nn_graph(const rn_model *m, int32_t *src, int32_t *res);
/* The conv whose output the average pool reads. */
int32_t rn__nn_last_activation(const rn_model *m);

/* Allocate the gradients (once) and point slots and layers at them. */
rn_status rn__nn_model_ensure_grads(rn_model *m, const rn_ctx *err_ctx, const char *fn);

/* ---- plans: a program of steps over planned buffers ---------------------------- */
enum nn_op {
    NN_OP_LOAD,       /* external array ext (NCHW or NHWC) -> buffer (NHWC) */
    NN_OP_STORE,      /* buffer (NHWC) -> external array ext (NCHW or NHWC) */
    NN_OP_CONV,       /* y = conv(x) (+bias)(+relu) */
    NN_OP_BN_TRAIN,   /* y = bn(x) with batch stats; saves mean, invstd */
    NN_OP_BN_EVAL,    /* y = bn(x) with running stats (may be in place) */
    NN_OP_ADD,        /* y = a + b (+relu) (may be in place) */
    NN_OP_SHORTCUT_A, /* y = subsample + zero-pad channels of x */
    NN_OP_MAXPOOL,
    NN_OP_GAP,
    NN_OP_LINEAR,
    NN_OP_XENT, /* dlogits from logits and labels */
    NN_OP_LINEAR_BWD,
    NN_OP_GAP_BWD,
    NN_OP_MAXPOOL_BWD,
    NN_OP_RELU_BWD, /* dx = (y > 0 ? dy (+ x3) : 0) (may be in place) */
    NN_OP_BN_BWD,
    NN_OP_CONV_BWD_DATA,
    NN_OP_CONV_BWD_W,
    NN_OP_SHORTCUT_A_BWD,
    NN_OP_Q_LOAD,       /* int8 plans: external float images -> int8 NHWC (quantized) */
    NN_OP_Q_CONV,       /* int8 conv with bias, requantization, residual, ReLU */
    NN_OP_Q_MAXPOOL,    /* max pool on int8 */
    NN_OP_Q_SHORTCUT_A, /* option A on int8 */
    NN_OP_Q_GAP,        /* int8 -> float pooled features */
    NN_OP_Q_LINEAR      /* float fc in a fixed order */
};

typedef struct nn_step {
    int32_t op;
    int32_t relu;
    int32_t ext; /* LOAD / STORE: which external array (NN_EXT_*) */
    /* buffer ids, -1 when unused: inputs x, x2 (dy in backward), x3 (the
     * ReLU output a BN backward masks with; RELU_BWD: a second gradient
     * added to dy), output y, BN mean and invstd in
     * aux1 and aux2, BN apply coefficients in aux3 (BN_TRAIN saves them,
     * BN_BWD without x3 recomputes the ReLU mask from them), op workspace ws */
    int32_t x, x2, x3, y, aux1, aux2, aux3, ws;
    const nn_conv *conv;
    const nn_bn *bn;
    const float *fc_w, *fc_b; /* LINEAR / LINEAR_BWD: the head's tensors */
    float *fc_gw, *fc_gb;
    rn_conv_desc cd;
    int32_t algo;  /* CONV, CONV_BWD_*: RN_CONV_ALGO_* (rn__conv_choose's answer) */
    int32_t wmode; /* CONV, CONV_BWD_*: NN_W_* (how the weights are held, from algo) */
    size_t woff;   /* Q_CONV NN_W_PACKED: offset in the plan's derived weights */
    /* CONV NN_W_PACKED / NN_W_WINOGRAD(2): the model's shared entry (set when
     * the plan is created); pk: in a packed model the conv's panels, which
     * run the step whenever it does not take Winograd */
    nn_derived *dw;
    const nn_derived *pk;
    int32_t
        residual; /* CONV (direct, folded inference): y holds the shortcut, the conv adds to it */
    rn_pool_desc pd;
    size_t n, h, w, c, oc, stride; /* shapes of the elementwise / pooling / fc ops */
    const nn_qconv *qconv;         /* Q_CONV */
    rn_qconv_desc qd;              /* Q_CONV */
    float qscale;                  /* Q_LOAD: 1 / s_in; Q_GAP: s / (h * w) */
} nn_step;

/* Forms of a convolution's weights: the model's own (packed on every
 * call); in an inference plan, packed once for the direct path or
 * transformed once for Winograd F(4x4,3x3); in a training plan (forward,
 * backward-data and backward-weights steps), Winograd with the weights
 * transformed on every call. */
#define NN_W_PLAIN 0
#define NN_W_PACKED 1
#define NN_W_WINOGRAD 2
#define NN_W_WINOGRAD_W 3
#define NN_W_WINOGRAD2 4 /* inference: transformed once for F(2x2,3x3) */

typedef struct nn_buf {
    size_t bytes;
    int32_t first, last; /* steps that produce and last read it */
    size_t offset;
} nn_buf;

/* The program of a whole model or of one standalone block. */
typedef struct nn_prog {
    nn_step *steps;
    nn_buf *bufs;
    int32_t nsteps, nbufs;
    int32_t fwd_end,
        bwd_end;            /* forward [0,fwd_end), backward [fwd_end,bwd_end), input grad after */
    int32_t logits_buf;     /* buffer read by NN_OP_STORE */
    size_t arena_bytes;     /* planned arena, offsets relative to its aligned start */
    size_t derived_bytes;   /* int8 packed weights (Q_CONV steps' woff), 0 if none */
    unsigned char *derived; /* their storage (owned by the plan) */
    int32_t shared;         /* steps with an entry of the model's derived weights (dw) */
    size_t shared_bytes;    /* the model's derived bytes when the plan was made (for the log) */
} nn_prog;

/* Shape of a planned activation. */
typedef struct nn_val {
    int32_t buf;
    int64_t n, h, w, c;
} nn_val;

/* A program builder: the counting pass (prog->steps == NULL) only counts. */
typedef struct nn_builder {
    rn_ctx *ctx;
    nn_prog *prog;
    int32_t train, folded;
    int32_t derive;   /* inference plans of a model: weights packed / transformed once */
    rn_model *model;  /* derive (float models): whose shared entries; its lock is held */
    size_t new_bytes; /* derived bytes this plan will add to the model's */
    rn_status status; /* first failure (size overflow, window that does not fit) */
    char where[64];   /* layer being emitted, for error sentences */
    nn_step scratch;  /* where the counting pass writes its steps */
} nn_builder;

int32_t rn__nn_new_buf(nn_builder *b, int64_t floats);
int32_t rn__nn_new_bytes(nn_builder *b, size_t bytes);
nn_step *rn__nn_add_step(nn_builder *b, int32_t op);
/* Names the layer being emitted (b->where), for error sentences. */
void rn__nn_where(nn_builder *b, const char *s);
/* The fc (op NN_OP_LINEAR with a workspace of ws_bytes, or NN_OP_Q_LINEAR) from the pooled
 * features g to the logits, and the step that stores them for the caller: the forward
 * program ends there. */
nn_val rn__nn_emit_logits(nn_builder *b, const rn_model *m, nn_val g, int32_t op, size_t ws_bytes);
/* The algorithm of convolution step s's pass (its cd set; plan-build.c). */
size_t rn__nn_conv_algo(nn_builder *b, nn_step *s, int32_t pass, int32_t offer);
nn_val rn__nn_emit_conv(nn_builder *b, const nn_conv *c, nn_val x, int32_t relu);
nn_val rn__nn_new_val(nn_builder *b, int64_t n, int64_t h, int64_t w, int64_t c, size_t elem);
/* The forward program of an int8 model (plan-int8.c). */
void rn__nn_emit_int8_model(nn_builder *b, const rn_model *m, int64_t n, int64_t h, int64_t w);
/* A batch norm (then the ReLU if relu); in training, *mean_buf and
 * *invstd_buf get its saved statistics and, with a ReLU, *ab_buf (when not
 * NULL) its apply coefficients, from which its backward recomputes the
 * ReLU's mask (-1 where none). */
nn_val rn__nn_emit_bn(nn_builder *b, const nn_bn *bn, nn_val x, int32_t relu, int32_t *mean_buf,
                      int32_t *invstd_buf, int32_t *ab_buf);
/* Forward of a block; fills `saved` with what its backward needs. */
typedef struct nn_block_saved {
    nn_val x, y;
    nn_val conv_in[3], conv_out[3], bn_out[3]; /* conv inputs and outputs, BN outputs */
    int32_t mean[3], invstd[3];
    int32_t ab[3]; /* the BN's saved coefficients where its ReLU had no residual, else -1 */
    nn_val ds_out;
    int32_t ds_mean, ds_invstd;
} nn_block_saved;
nn_val rn__nn_emit_block_forward(nn_builder *b, const nn_block *blk, nn_val x,
                                 nn_block_saved *saved);
/* Backward of a block from dy; returns dx (buf -1 when need_dx is 0). */
nn_val rn__nn_emit_block_backward(nn_builder *b, const nn_block *blk, const nn_block_saved *s,
                                  nn_val dy, int32_t need_dx);

/* Lifetimes and offsets of every buffer; sets prog->arena_bytes. */
rn_status rn__nn_prog_plan_memory(rn_ctx *ctx, nn_prog *prog);
/* Build a program twice (count, then fill) with `emit`, then plan memory. */
typedef void (*nn_emit_fn)(nn_builder *b, const void *arg);
rn_status rn__nn_prog_build(rn_ctx *ctx, nn_prog *prog, int32_t train, int32_t folded,
                            nn_emit_fn emit, const void *arg);
/* The same, with derived weights (NN_W_*) chosen per convolution when
 * `derive` (inference plans only): a float model's are the model's shared
 * entries (made here, under its lock, where missing: plan-derived.c); an
 * int8 model's are the plan's own (the caller allocates prog->derived_bytes
 * and fills them with rn__nn_prog_derive). */
rn_status rn__nn_prog_build_derived(rn_ctx *ctx, nn_prog *prog, int32_t train, int32_t folded,
                                    int32_t derive, rn_model *model, nn_emit_fn emit,
                                    const void *arg);
/* Packs every int8 convolution's weights into prog->derived. */
void rn__nn_prog_derive(const rn_ctx *ctx, const nn_prog *prog);
void rn__nn_prog_free(rn_ctx *ctx, nn_prog *prog);

/* External arrays of a run: LOAD reads in[ext], STORE writes out[ext]; the
 * caller's layout applies to the images (NN_EXT_IMAGE), never to logits. */
#define NN_EXT_IMAGE 0 /* in: the input batch; out: its gradient */
#define NN_EXT_OTHER 1 /* in: dy of a standalone block; out: logits or block y */
typedef struct nn_run_io {
    const float *in[2];
    float *out[2];
    int32_t layout;
    const int32_t *labels;
    float loss;
    nn_dist *dist; /* data-parallel training (plan-dist.c), NULL otherwise */
} nn_run_io;
/* Run steps [from, to) of a program on an arena (aligned base). */
void rn__nn_prog_run(const rn_ctx *ctx, const nn_prog *prog, int32_t from, int32_t to,
                     unsigned char *arena, nn_run_io *io);

/* Run a float inference plan's forward steps one at a time, calling fn
 * after each with the step and its output (count floats); the logits are
 * not stored. For the calibrator. */
typedef void (*nn_observe_fn)(void *user, const nn_step *s, const float *y, size_t count);
rn_status rn__plan_forward_observe(rn_plan *p, const float *input, size_t input_count,
                                   int32_t layout, nn_observe_fn fn, void *user);

/* Fold one BN into its conv (inference). */
void rn__nn_fold(nn_conv *c, nn_bn *bn);

#endif /* RN_NN_INTERNAL_H */
