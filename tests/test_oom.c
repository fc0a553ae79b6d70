/*
 * Out-of-memory injection along the whole life of a small network: a context
 * allocator that fails its i-th allocation, for every i from 1 until a run
 * makes no more allocations than i - 1.
 *
 * The path: create the context -> tensors and layer calls (conv forward,
 * conv backward-weights) -> a ResNet-20 preset at base width 4 -> init ->
 * train plan -> forward -> backward -> SGD -> step -> infer plan -> forward
 * -> save safetensors to memory -> load it into a second model -> open it as
 * safetensors and read a tensor -> dataset, schedule, trainer -> trainer step
 * -> checkpoint to memory and back.
 *
 * What must hold, for every i:
 *  - the call that met the failure returns RN_E_NO_MEMORY with a sentence
 *    (or RN_OK if it could do without: then its results must still be right);
 *    no call fails with RN_E_NO_MEMORY unless the allocator refused something;
 *  - the failure leaves no partial object: the out handle is still NULL,
 *    output buffers keep their sentinel, and the model (every tensor, BN
 *    running statistics included) is unchanged;
 *  - the same call, retried, succeeds, and the run then ends with results
 *    bit-identical to a run without failures (so nothing half-done stayed);
 *  - after everything is destroyed the allocator has no live block, and every
 *    pointer freed was one it handed out.
 *
 * A second sweep makes every allocation from the i-th on fail (memory that
 * stays exhausted): the path stops at the first failure, and destroying what
 * exists must still free everything.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>

#include "harness.h"
#include "resnet.h"

/* ---- the injecting allocator ------------------------------------------------- */
typedef struct {
    long fail_at;   /* 1-based index of the allocation to refuse; 0: none */
    int persistent; /* refuse every allocation from fail_at on */
    int paused;     /* the test's own checks: no injection, no counting */
    long count;     /* allocations requested (while not paused) */
    long injected;  /* allocations refused */
    long bad_frees; /* frees of pointers this allocator did not hand out */
    void **live;    /* blocks handed out and not yet freed */
    long num_live, cap_live;
} oom_allocator;

static void *oom_alloc(void *user, size_t size, size_t align) {
    oom_allocator *a = (oom_allocator *)user;
    if (!a->paused) {
        a->count++;
        if (a->fail_at > 0 &&
            (a->count == a->fail_at || (a->persistent && a->count > a->fail_at))) {
            a->injected++;
            return NULL;
        }
    }
    if (a->num_live == a->cap_live) {
        long cap = a->cap_live ? 2 * a->cap_live : 256;
        void **bigger = (void **)realloc(a->live, (size_t)cap * sizeof *bigger);
        if (!bigger) return NULL;
        a->live = bigger, a->cap_live = cap;
    }
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size ? size : 1))
        return NULL;
    a->live[a->num_live++] = p;
    return p;
}

static void oom_free(void *user, void *p) {
    oom_allocator *a = (oom_allocator *)user;
    if (!p) return;
    for (long i = a->num_live - 1; i >= 0; i--)
        if (a->live[i] == p) {
            a->live[i] = a->live[--a->num_live];
            free(p);
            return;
        }
    a->bad_frees++; /* not ours (or freed twice): leave it alone */
}

/* ---- the path ------------------------------------------------------------------ */
enum { B = 2, HW = 8, IN = 3, CLASSES = 10, IMG = HW * HW * IN };
#define SENTINEL 12345.0f

/* Everything the path creates, and what it computes. */
typedef struct {
    rn_ctx *ctx;
    rn_tensor *x, *w, *y, *dw;
    rn_model *model, *model2;
    rn_plan *train_plan, *infer_plan;
    rn_optimizer *opt, *opt2;
    rn_safetensors *st;
    rn_dataset *ds;
    rn_lr_schedule *sched;
    rn_trainer *trainer;
    float input[B * IMG];
    float train_logits[B * CLASSES], infer_logits[B * CLASSES], loss, trainer_loss;
    float first_tensor[16 * 3 * 3 * 3];
    unsigned char *file, *ckpt;
    size_t file_size, ckpt_size;
} path_state;

static uint8_t ds_images[4 * IMG];
static const int32_t ds_labels[4] = {3, 1, 4, 1};
static const int32_t batch_labels[B] = {7, 2};

/* The steps in order. A step returns the status of its one library call;
 * `out` says where its new handle goes (NULL if it creates none), `floats`
 * and `count` the output buffer that must keep its sentinel on failure, and
 * `changes_model` whether a failure must leave the model untouched. */
typedef enum {
    S_CTX,
    S_X,
    S_W,
    S_Y,
    S_CONV,
    S_DW,
    S_CONV_BWD_W,
    S_PRESET,
    S_INIT,
    S_TRAIN_PLAN,
    S_FORWARD,
    S_BACKWARD,
    S_SGD,
    S_STEP,
    S_INFER_PLAN,
    S_INFER,
    S_SAVE_SIZE,
    S_SAVE,
    S_PRESET2,
    S_LOAD,
    S_OPEN,
    S_READ,
    S_DATASET,
    S_SCHED,
    S_SGD2,
    S_TRAINER,
    S_TRAINER_STEP,
    S_CKPT_SIZE,
    S_CKPT_SAVE,
    S_CKPT_LOAD,
    NUM_STEPS
} step_id;

static const char *const step_names[NUM_STEPS] = {"rn_ctx_create_with_allocator",
                                                  "rn_tensor_create x",
                                                  "rn_tensor_create w",
                                                  "rn_tensor_create y",
                                                  "rn_conv2d_forward",
                                                  "rn_tensor_create dw",
                                                  "rn_conv2d_backward_weights",
                                                  "rn_model_create_preset",
                                                  "rn_model_init",
                                                  "rn_plan_create train",
                                                  "rn_plan_forward train",
                                                  "rn_plan_backward",
                                                  "rn_sgd_create",
                                                  "rn_optimizer_step",
                                                  "rn_plan_create infer",
                                                  "rn_plan_forward infer",
                                                  "rn_model_save_safetensors_mem size",
                                                  "rn_model_save_safetensors_mem",
                                                  "rn_model_create_preset 2",
                                                  "rn_model_load_safetensors_mem",
                                                  "rn_safetensors_open_mem",
                                                  "rn_safetensors_read_f32",
                                                  "rn_dataset_create",
                                                  "rn_lr_schedule_create",
                                                  "rn_sgd_create 2",
                                                  "rn_trainer_create",
                                                  "rn_trainer_step",
                                                  "rn_checkpoint_save_mem size",
                                                  "rn_checkpoint_save_mem",
                                                  "rn_checkpoint_load_mem"};

static rn_status run_step(path_state *s, oom_allocator *a, step_id id) {
    rn_ctx *ctx = s->ctx;
    switch (id) {
    case S_CTX: return rn_ctx_create_with_allocator(oom_alloc, oom_free, a, &s->ctx);
    case S_X: {
        rn_status st = rn_tensor_create(ctx, B, 6, 6, IN, &s->x);
        if (st == RN_OK) rn_test_fill_uniform(rn_tensor_data(s->x), B * 6 * 6 * IN, -1, 1);
        return st;
    }
    case S_W: {
        rn_status st = rn_tensor_create(ctx, 4, 3, 3, IN, &s->w);
        if (st == RN_OK) rn_test_fill_uniform(rn_tensor_data(s->w), 4 * 3 * 3 * IN, -1, 1);
        return st;
    }
    case S_Y: {
        rn_status st = rn_tensor_create(ctx, B, 6, 6, 4, &s->y);
        if (st == RN_OK) rn_tensor_fill(s->y, SENTINEL);
        return st;
    }
    case S_CONV: return rn_conv2d_forward(ctx, s->x, s->w, NULL, 1, 1, 1, 1, s->y);
    case S_DW: {
        rn_status st = rn_tensor_create(ctx, 4, 3, 3, IN, &s->dw);
        if (st == RN_OK) rn_tensor_fill(s->dw, SENTINEL);
        return st;
    }
    case S_CONV_BWD_W: return rn_conv2d_backward_weights(ctx, s->x, s->y, 1, 1, 1, 1, s->dw, NULL);
    case S_PRESET:
        return rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 4, 0, &s->model);
    case S_INIT: return rn_model_init(s->model, 11);
    case S_TRAIN_PLAN: return rn_plan_create(s->model, B, HW, HW, RN_MODE_TRAIN, &s->train_plan);
    case S_FORWARD:
        return rn_plan_forward(s->train_plan, s->input, B * IMG, RN_LAYOUT_NCHW, s->train_logits,
                               B * CLASSES);
    case S_BACKWARD: return rn_plan_backward(s->train_plan, batch_labels, B, &s->loss);
    case S_SGD: return rn_sgd_create(s->model, &s->opt);
    case S_STEP: return rn_optimizer_step(s->opt);
    case S_INFER_PLAN: return rn_plan_create(s->model, B, HW, HW, RN_MODE_INFER, &s->infer_plan);
    case S_INFER:
        return rn_plan_forward(s->infer_plan, s->input, B * IMG, RN_LAYOUT_NHWC, s->infer_logits,
                               B * CLASSES);
    case S_SAVE_SIZE: {
        rn_status st = rn_model_save_safetensors_mem(s->model, NULL, 0, &s->file_size);
        if (st == RN_OK) {
            s->file = (unsigned char *)malloc(s->file_size);
            memset(s->file, 0xEE, s->file_size);
        }
        return st;
    }
    case S_SAVE:
        return rn_model_save_safetensors_mem(s->model, s->file, s->file_size, &s->file_size);
    case S_PRESET2:
        return rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 4, 0, &s->model2);
    case S_LOAD: return rn_model_load_safetensors_mem(s->model2, s->file, s->file_size);
    case S_OPEN: return rn_safetensors_open_mem(ctx, s->file, s->file_size, &s->st);
    case S_READ: {
        int32_t dtype, ndim;
        int64_t dims[8];
        rn_status st = rn_safetensors_info(s->st, 0, NULL, &dtype, &ndim, dims);
        if (st) return st;
        size_t count = 1;
        for (int32_t k = 0; k < ndim; k++) count *= (size_t)dims[k];
        if (count > sizeof s->first_tensor / sizeof(float)) return RN_E_INTERNAL;
        return rn_safetensors_read_f32(s->st, 0, s->first_tensor, count);
    }
    case S_DATASET:
        return rn_dataset_create(ctx, ds_images, ds_labels, 4, HW, HW, IN, CLASSES, &s->ds);
    case S_SCHED: return rn_lr_schedule_create(ctx, 0.05, &s->sched);
    case S_SGD2: return rn_sgd_create(s->model, &s->opt2);
    case S_TRAINER: {
        rn_status st = rn_trainer_create(s->model, s->opt2, s->sched, s->ds, &s->trainer);
        /* option setters only store a value: set here, not injected apart */
        if (st == RN_OK) st = rn_trainer_set_int(s->trainer, RN_TRAIN_BATCH, B);
        return st;
    }
    case S_TRAINER_STEP: return rn_trainer_step(s->trainer, &s->trainer_loss, NULL);
    case S_CKPT_SIZE: {
        rn_status st = rn_checkpoint_save_mem(s->trainer, NULL, 0, &s->ckpt_size);
        if (st == RN_OK) {
            s->ckpt = (unsigned char *)malloc(s->ckpt_size);
            memset(s->ckpt, 0xEE, s->ckpt_size);
        }
        return st;
    }
    case S_CKPT_SAVE:
        return rn_checkpoint_save_mem(s->trainer, s->ckpt, s->ckpt_size, &s->ckpt_size);
    case S_CKPT_LOAD: return rn_checkpoint_load_mem(s->trainer, s->ckpt, s->ckpt_size);
    default: return RN_E_INTERNAL;
    }
}

/* The handle a step creates, or NULL. */
static void **step_out(path_state *s, step_id id) {
    switch (id) {
    case S_CTX: return (void **)&s->ctx;
    case S_X: return (void **)&s->x;
    case S_W: return (void **)&s->w;
    case S_Y: return (void **)&s->y;
    case S_DW: return (void **)&s->dw;
    case S_PRESET: return (void **)&s->model;
    case S_TRAIN_PLAN: return (void **)&s->train_plan;
    case S_SGD: return (void **)&s->opt;
    case S_INFER_PLAN: return (void **)&s->infer_plan;
    case S_PRESET2: return (void **)&s->model2;
    case S_OPEN: return (void **)&s->st;
    case S_DATASET: return (void **)&s->ds;
    case S_SCHED: return (void **)&s->sched;
    case S_SGD2: return (void **)&s->opt2;
    case S_TRAINER: return (void **)&s->trainer;
    default: return NULL;
    }
}

/* The model a step may change (its state must survive a failure intact). */
static rn_model *step_model(path_state *s, step_id id) {
    switch (id) {
    case S_INIT:
    case S_FORWARD:
    case S_BACKWARD:
    case S_STEP:
    case S_INFER:
    case S_TRAINER_STEP:
    case S_CKPT_LOAD: return s->model;
    case S_LOAD: return s->model2;
    default: return NULL;
    }
}

/* Every tensor of a model, BN running statistics included, hashed (a
 * multiply-xorshift over the 32-bit words: any changed bit changes it with
 * overwhelming probability), read with the allocator paused. */
static uint64_t model_hash(rn_model *m, oom_allocator *a) {
    uint64_t h = 1469598103934665603ULL;
    if (!m) return h;
    a->paused++;
    int32_t n = rn_model_tensor_count(m);
    float *buf = (float *)malloc(1 << 20);
    for (int32_t i = 0; i < n && buf; i++) {
        const char *name;
        int32_t ndim, kind;
        int64_t dims[4];
        size_t count = 1;
        if (rn_model_tensor_info(m, i, &name, &ndim, dims, &kind) == RN_OK)
            for (int32_t k = 0; k < ndim; k++) count *= (size_t)dims[k];
        else
            count = 0;
        if (count == 0 || count * sizeof(float) > (1 << 20) ||
            rn_model_get_tensor(m, name, buf, count)) {
            h = 0;
            break;
        }
        for (size_t k = 0; k < count; k++) {
            uint32_t bits;
            memcpy(&bits, &buf[k], sizeof bits);
            h = (h ^ bits) * 0x9E3779B97F4A7C15ULL;
            h ^= h >> 29;
        }
    }
    free(buf);
    a->paused--;
    return h;
}

/* Sentinel checks for the outputs a step writes. */
static int outputs_untouched(const path_state *s, step_id id) {
    switch (id) {
    case S_CONV: {
        const float *d = rn_tensor_data_const(s->y);
        for (int i = 0; i < B * 6 * 6 * 4; i++)
            if (d[i] != SENTINEL) return 0;
        return 1;
    }
    case S_CONV_BWD_W: {
        const float *d = rn_tensor_data_const(s->dw);
        for (int i = 0; i < 4 * 3 * 3 * IN; i++)
            if (d[i] != SENTINEL) return 0;
        return 1;
    }
    case S_FORWARD:
    case S_INFER: {
        const float *d = id == S_FORWARD ? s->train_logits : s->infer_logits;
        for (int i = 0; i < B * CLASSES; i++)
            if (d[i] != SENTINEL) return 0;
        return 1;
    }
    case S_BACKWARD: return s->loss == SENTINEL;
    case S_TRAINER_STEP: return s->trainer_loss == SENTINEL;
    case S_READ:
        for (size_t i = 0; i < sizeof s->first_tensor / sizeof(float); i++)
            if (s->first_tensor[i] != SENTINEL) return 0;
        return 1;
    case S_SAVE:
        for (size_t i = 0; i < s->file_size; i++)
            if (s->file[i] != 0xEE) return 0;
        return 1;
    case S_CKPT_SAVE:
        for (size_t i = 0; i < s->ckpt_size; i++)
            if (s->ckpt[i] != 0xEE) return 0;
        return 1;
    default: return 1;
    }
}

static void path_init(path_state *s) {
    memset(s, 0, sizeof *s);
    rn_test_rng_state = 0x5EED; /* same inputs on every run */
    rn_test_fill_uniform(s->input, B * IMG, -1, 1);
    for (size_t i = 0; i < sizeof ds_images; i++) ds_images[i] = (uint8_t)(i * 29u + 7u);
    for (int i = 0; i < B * CLASSES; i++) s->train_logits[i] = s->infer_logits[i] = SENTINEL;
    for (size_t i = 0; i < sizeof s->first_tensor / sizeof(float); i++)
        s->first_tensor[i] = SENTINEL;
    s->loss = s->trainer_loss = SENTINEL;
}

static void path_destroy(path_state *s) {
    rn_trainer_destroy(s->trainer);
    rn_lr_schedule_destroy(s->sched);
    rn_dataset_destroy(s->ds);
    rn_safetensors_close(s->st);
    rn_plan_destroy(s->infer_plan);
    rn_plan_destroy(s->train_plan);
    rn_optimizer_destroy(s->opt2);
    rn_optimizer_destroy(s->opt);
    rn_model_destroy(s->model2);
    rn_model_destroy(s->model);
    rn_tensor_destroy(s->dw), rn_tensor_destroy(s->y);
    rn_tensor_destroy(s->w), rn_tensor_destroy(s->x);
    rn_ctx_destroy(s->ctx);
    free(s->file);
    free(s->ckpt);
}

/* Results of a whole run, compared between runs. */
typedef struct {
    float y[B * 6 * 6 * 4], dw[4 * 3 * 3 * IN];
    float train_logits[B * CLASSES], infer_logits[B * CLASSES], loss, trainer_loss;
    float first_tensor[16 * 3 * 3 * 3];
    uint64_t model_hash, model2_hash, file_hash, ckpt_hash;
    size_t file_size, ckpt_size;
} path_result;

static uint64_t bytes_hash(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void collect(path_state *s, oom_allocator *a, path_result *r) {
    memset(r, 0, sizeof *r);
    memcpy(r->y, rn_tensor_data_const(s->y), sizeof r->y);
    memcpy(r->dw, rn_tensor_data_const(s->dw), sizeof r->dw);
    memcpy(r->train_logits, s->train_logits, sizeof r->train_logits);
    memcpy(r->infer_logits, s->infer_logits, sizeof r->infer_logits);
    memcpy(r->first_tensor, s->first_tensor, sizeof r->first_tensor);
    r->loss = s->loss, r->trainer_loss = s->trainer_loss;
    r->model_hash = model_hash(s->model, a);
    r->model2_hash = model_hash(s->model2, a);
    r->file_hash = bytes_hash(s->file, s->file_size);
    r->ckpt_hash = bytes_hash(s->ckpt, s->ckpt_size);
    r->file_size = s->file_size, r->ckpt_size = s->ckpt_size;
}

/* ---- what can go wrong -------------------------------------------------------------- */
typedef enum {
    P_STATUS,   /* a status other than RN_OK or RN_E_NO_MEMORY */
    P_PHANTOM,  /* RN_E_NO_MEMORY although nothing was refused */
    P_SILENT,   /* RN_E_NO_MEMORY without a sentence */
    P_HANDLE,   /* the out handle written on failure */
    P_OUTPUT,   /* an output buffer written on failure */
    P_MODEL,    /* the model changed by a call that failed */
    P_RETRY,    /* the same call failed again once memory was back */
    P_RESULTS,  /* the run's results differ from a run without failures */
    P_LEAK,     /* blocks live after everything was destroyed */
    P_BAD_FREE, /* a free of a pointer the allocator did not hand out */
    NUM_PROBLEMS
} problem_kind;

static const char *const problem_text[NUM_PROBLEMS] = {
    "returned an unexpected status",
    "RN_E_NO_MEMORY although nothing was refused",
    "RN_E_NO_MEMORY without a sentence",
    "the out handle was written on failure",
    "an output was written on failure",
    "the model changed although the call failed",
    "the retry failed once memory was back",
    "the run's results differ from a run without failures",
    "blocks still live after destroying everything",
    "freed a pointer it was not given"};

static int problems;

static void problem(long i, const char *mode, int step, problem_kind kind, const char *detail) {
    const char *where = step >= 0 ? step_names[step] : "the run";
    if (problems < 25)
        fprintf(stderr, "  allocation %ld (%s) in %s: %s%s%s\n", i, mode, where, problem_text[kind],
                detail ? ": " : "", detail ? detail : "");
    problems++;
    rn_test_failed_checks++;
}

typedef struct {
    long allocations; /* made by a run without injection */
    long runs, refused, absorbed;
    int steps_hit[NUM_STEPS];
} sweep_stats;

/* Run the path with the fail_at-th allocation refused (once, or from then on).
 * Returns 1 when the allocator refused nothing (fail_at is past the end). */
static int run_path(long fail_at, int persistent, const path_result *ref, path_result *out,
                    sweep_stats *stats) {
    const char *mode = persistent ? "from then on" : "once";
    oom_allocator a;
    memset(&a, 0, sizeof a);
    a.fail_at = fail_at, a.persistent = persistent;
    path_state s;
    path_init(&s);
    int stopped = 0, hit_step = -1;
    char detail[640];
    for (int id = 0; id < NUM_STEPS && !stopped; id++) {
        void **outp = step_out(&s, (step_id)id);
        rn_model *m = step_model(&s, (step_id)id);
        /* only a step that may still meet the refusal needs the model's hash */
        int may_fail = fail_at > 0 && a.injected == 0;
        uint64_t before = m && may_fail ? model_hash(m, &a) : 0;
        long injected_before = a.injected;
        rn_status st = run_step(&s, &a, (step_id)id);
        int hit = a.injected > injected_before;
        if (hit) {
            stats->steps_hit[id]++;
            if (hit_step < 0) hit_step = id;
        }
        if (st == RN_OK) {
            if (hit) stats->absorbed++;
            continue;
        }
        if (st != RN_E_NO_MEMORY) {
            snprintf(detail, sizeof detail, "%s (%s)", rn_status_string(st), rn_last_error(s.ctx));
            problem(fail_at, mode, id, P_STATUS, detail);
            stopped = 1;
            break;
        }
        if (!hit) problem(fail_at, mode, id, P_PHANTOM, rn_last_error(s.ctx));
        stats->refused++;
        if (id != S_CTX && rn_last_error(s.ctx)[0] == '\0')
            problem(fail_at, mode, id, P_SILENT, NULL);
        if (outp && *outp != NULL) {
            problem(fail_at, mode, id, P_HANDLE, NULL);
            *outp = NULL; /* do not destroy a half-made object */
        }
        if (!outputs_untouched(&s, (step_id)id)) problem(fail_at, mode, id, P_OUTPUT, NULL);
        if (m && model_hash(m, &a) != before) problem(fail_at, mode, id, P_MODEL, NULL);
        if (persistent) {
            stopped = 1;
            break;
        }
        /* the allocator works again: the same call must now succeed */
        st = run_step(&s, &a, (step_id)id);
        if (st != RN_OK) {
            snprintf(detail, sizeof detail, "%s (%s)", rn_status_string(st), rn_last_error(s.ctx));
            problem(fail_at, mode, id, P_RETRY, detail);
            stopped = 1;
        }
    }
    if (!stopped && out) collect(&s, &a, out);
    if (!stopped && ref && out && memcmp(ref, out, sizeof *ref) != 0)
        problem(fail_at, mode, hit_step, P_RESULTS, NULL);
    path_destroy(&s);
    stats->runs++;
    if (a.num_live != 0) {
        snprintf(detail, sizeof detail, "%ld blocks", a.num_live);
        problem(fail_at, mode, hit_step, P_LEAK, detail);
    }
    if (a.bad_frees) problem(fail_at, mode, hit_step, P_BAD_FREE, NULL);
    for (long k = 0; k < a.num_live; k++) free(a.live[k]);
    free(a.live);
    if (fail_at == 0) stats->allocations = a.count;
    return a.injected == 0;
}

/* Sweep i = 1, 2, ... until a run meets no refusal; returns that i. */
static long sweep(int persistent, sweep_stats *st) {
    path_result ref, got;
    memset(st, 0, sizeof *st);
    problems = 0;
    CHECK(run_path(0, persistent, NULL, &ref, st));
    CHECK(st->allocations > 50); /* the path really allocates */
    long i = 1;
    for (; i < 100000; i++)
        if (run_path(i, persistent, persistent ? NULL : &ref, persistent ? NULL : &got, st)) break;
    CHECK(i == st->allocations + 1); /* the sweep ended exactly past the last allocation */
    return i;
}

static void test_every_allocation_failure_is_reported_and_leaves_nothing_behind(void) {
    sweep_stats st;
    sweep(0, &st);
    printf("     %ld allocations on the path, each refused once: %ld runs, %ld RN_E_NO_MEMORY, "
           "%ld absorbed, %d problems\n",
           st.allocations, st.runs, st.refused, st.absorbed, problems);
    for (int id = 0; id < NUM_STEPS; id++)
        printf("     %-36s %4d\n", step_names[id], st.steps_hit[id]);
}

static void test_exhausted_memory_stops_the_path_and_frees_everything(void) {
    sweep_stats st;
    sweep(1, &st);
    printf("     every allocation from the i-th on refused: %ld runs, %ld RN_E_NO_MEMORY, "
           "%d problems\n",
           st.runs, st.refused, problems);
}

/* A context over a caller's buffer allocates by bumping a pointer; a preset
 * that runs out of room half-way must still give back everything it took, so
 * the arena's usage after the failed call is what it was before. Swept over
 * buffer sizes from "nothing fits" to "just too small". */
static void test_a_failed_preset_in_a_caller_arena_leaves_its_usage_unchanged(void) {
    size_t big = (size_t)16 << 20;
    void *buf = malloc(big);
    CHECK(buf != NULL);
    if (!buf) return;
    rn_ctx *ctx = NULL;
    rn_model *m = NULL;
    size_t base = 0, full = 0, peak = 0;
    CHECK(rn_ctx_create_in_buffer(buf, big, &ctx) == RN_OK);
    if (!ctx) {
        free(buf);
        return;
    }
    CHECK(rn_ctx_arena_usage(ctx, &base, &peak) == RN_OK);
    CHECK(rn_model_create_preset(ctx, "resnet20", 0, 0, 0, 0, 0, &m) == RN_OK);
    CHECK(rn_ctx_arena_usage(ctx, &full, &peak) == RN_OK);
    CHECK(full > base + 1000);
    long failures = 0, leaks = 0;
    for (int k = 0; k <= 64; k++) {
        /* the context's own state plus a fraction of what the model needs */
        size_t size = base + 256 + (full - base) * (size_t)k / 64 - 64;
        rn_ctx *c = NULL;
        rn_model *mm = (rn_model *)(uintptr_t)0x5e5e5e5e;
        size_t before = 0, after = 0;
        if (rn_ctx_create_in_buffer(buf, size, &c) != RN_OK || !c) continue;
        CHECK(rn_ctx_arena_usage(c, &before, &peak) == RN_OK);
        rn_status st = rn_model_create_preset(c, "resnet20", 0, 0, 0, 0, 0, &mm);
        if (st == RN_OK) continue;
        failures++;
        CHECK(st == RN_E_NO_MEMORY);
        CHECK(mm == (rn_model *)(uintptr_t)0x5e5e5e5e);
        CHECK(rn_ctx_arena_usage(c, &after, &peak) == RN_OK);
        if (after != before) {
            if (leaks++ < 5)
                fprintf(stderr,
                        "  buffer of %zu bytes: usage %zu before the failed call, %zu after\n",
                        size, before, after);
            rn_test_failed_checks++;
        }
    }
    CHECK(failures >= 60);
    printf("     %ld failed preset creations in caller arenas, %ld left usage behind\n", failures,
           leaks);
    free(buf);
}

static const rn_test_case cases[] = {
    {"every_allocation_failure_is_reported_and_leaves_nothing_behind",
     test_every_allocation_failure_is_reported_and_leaves_nothing_behind},
    {"exhausted_memory_stops_the_path_and_frees_everything",
     test_exhausted_memory_stops_the_path_and_frees_everything},
    {"a_failed_preset_in_a_caller_arena_leaves_its_usage_unchanged",
     test_a_failed_preset_in_a_caller_arena_leaves_its_usage_unchanged},
};
RN_TEST_MAIN(cases)
