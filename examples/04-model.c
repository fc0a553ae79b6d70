/*
 * Example 4, whole networks: the paper's CIFAR ResNet-20 from a preset, its
 * layers, parameters and tensors by torchvision name, then the lifecycle
 *     build -> init -> plan -> memory size -> bind a buffer -> forward
 * and finally BN folding for inference, which must not change the logits.
 * Walked through in docs/api.md.
 */
#include <resnet.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finish(int ok) {
    printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}

#define TRY(call)                                                             \
    do {                                                                      \
        rn_status st_ = (call);                                               \
        if (st_ != RN_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    rn_status_string(st_), rn_last_error(ctx));               \
            return finish(0);                                                 \
        }                                                                     \
    } while (0)

#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            return finish(0);                                                   \
        }                                                                       \
    } while (0)

#define BATCH 2
#define SIZE 32
#define CLASSES 10
#define INPUT_COUNT (BATCH * 3 * SIZE * SIZE)

static unsigned long long seed = 20;
static float uniform(float lo, float hi) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)((seed >> 40) & 0xFFFFFF) / 16777216.0f;
}

/* Give every batch norm the statistics and affine parameters a trained
 * network has (a fresh one has mean 0, var 1, weight 1, bias 0), so that
 * folding below has something to fold. Tensors are reached by name. */
static rn_status randomise_batch_norms(rn_model *model) {
    float v[64];
    for (int32_t i = 0; i < rn_model_tensor_count(model); i++) {
        const char *name = NULL;
        int32_t ndim = 0;
        int64_t dims[4];
        rn_status st = rn_model_tensor_info(model, i, &name, &ndim, dims, NULL);
        if (st) return st;
        if (ndim != 1 || strncmp(name, "fc.", 3) == 0) continue; /* BN vectors only */
        for (int64_t k = 0; k < dims[0]; k++) {
            if (strstr(name, "running_var"))
                v[k] = uniform(0.5f, 2.0f);
            else if (strstr(name, "weight"))
                v[k] = uniform(0.5f, 1.5f);
            else
                v[k] = uniform(-0.2f, 0.2f); /* bias, running_mean */
        }
        if ((st = rn_model_set_tensor(model, name, v, (size_t)dims[0]))) return st;
    }
    return RN_OK;
}

int main(void) {
    static float input[INPUT_COUNT];
    float logits[BATCH * CLASSES], folded_logits[BATCH * CLASSES], other[BATCH * CLASSES];
    rn_ctx *ctx = NULL;
    rn_model *model = NULL;
    rn_plan *plan = NULL, *plan2 = NULL;
    TRY(rn_ctx_create(&ctx));
    TRY(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2));

    /* ---- build: a preset with the paper's choices ----------------------------
     * classes 0 / in_channels 0 / base_width 0 would keep the defaults (10,
     * 3, 16); RN_SHORTCUT_DEFAULT keeps option A for the CIFAR networks. */
    TRY(rn_model_create_preset(ctx, "resnet20", CLASSES, 3, RN_SHORTCUT_DEFAULT, 0, 0, &model));
    int32_t layers = 0;
    int64_t params = 0, macs = 0;
    TRY(rn_model_layer_count(model, &layers));
    TRY(rn_model_num_parameters(model, &params));
    TRY(rn_model_macs(model, SIZE, SIZE, &macs));
    printf("resnet20: %d layers (stem, 9 blocks, head), %lld parameters, %.2f M MACs at 32x32\n",
           (int)layers, (long long)params, (double)macs / 1e6);
    for (int32_t i = 0; i < layers; i++) {
        char name[32];
        int64_t out[4], p = 0;
        TRY(rn_model_layer_info(model, i, SIZE, SIZE, name, sizeof name, out, &p, NULL));
        if (i < 2 || i == 4 || i == 7 || i == layers - 1)
            printf("  %-9s -> (%lld, %lld, %lld, %lld)  %6lld params\n", name, (long long)out[0],
                   (long long)out[1], (long long)out[2], (long long)out[3], (long long)p);
    }
    /* The count from the paper's architecture (section 4.2, option A, no
     * shortcut parameters): a 3x3 conv 3->16, then 6 convs in each stage of
     * 16, 32 and 64 filters (the first of stages 2 and 3 from the previous
     * width), a BN (2 parameters per channel) after each of the 19 convs,
     * and the 64->10 fc with its bias. */
    const int64_t paper = 3 * 16 * 9 + (6 * 16 * 16 * 9) + (16 * 32 * 9 + 5 * 32 * 32 * 9) +
                          (32 * 64 * 9 + 5 * 64 * 64 * 9) + 2 * (16 + 6 * 16 + 6 * 32 + 6 * 64) +
                          64 * 10 + 10;
    EXPECT(params == paper); /* 269,722: the paper's "0.27M" */

    /* ---- init, or load weights (io.h) ------------------------------------------ */
    TRY(rn_model_init(model, 42)); /* He init, deterministic for a seed */
    TRY(randomise_batch_norms(model));
    int32_t idx = -1, ndim = 0;
    int64_t dims[4];
    TRY(rn_model_tensor_find(model, "layer3.2.conv2.weight", &idx));
    TRY(rn_model_tensor_info(model, idx, NULL, &ndim, dims, NULL));
    printf("tensor %d \"layer3.2.conv2.weight\": (%lld, %lld, %lld, %lld) OIHW as in PyTorch\n",
           (int)idx, (long long)dims[0], (long long)dims[1], (long long)dims[2],
           (long long)dims[3]);

    /* ---- plan, size, bind, run ---------------------------------------------------
     * A plan fixes batch, image size and mode, picks kernels and lays out
     * every buffer. Its memory either comes from the context at the first
     * run or, as here, from the caller. */
    TRY(rn_plan_create(model, BATCH, SIZE, SIZE, RN_MODE_INFER, &plan));
    size_t need = 0;
    TRY(rn_plan_memory_size(plan, &need));
    unsigned char *memory = malloc(need);
    EXPECT(memory != NULL);
    rn_status st = rn_plan_bind_memory(plan, memory, need - 1);
    printf("plan memory: %zu bytes; binding one byte less -> %s\n  \"%s\"\n", need,
           rn_status_string(st), rn_last_error(ctx));
    EXPECT(st == RN_E_BUFFER_TOO_SMALL);
    TRY(rn_plan_bind_memory(plan, memory, need));

    for (int i = 0; i < INPUT_COUNT; i++) input[i] = uniform(-1.0f, 1.0f);
    /* The input is in PyTorch's NCHW order here; RN_LAYOUT_NHWC is accepted too. */
    TRY(rn_plan_forward(plan, input, INPUT_COUNT, RN_LAYOUT_NCHW, logits, BATCH * CLASSES));
    printf("logits of image 0:");
    for (int k = 0; k < CLASSES; k++) printf(" %.4f", (double)logits[k]);
    printf("\n");
    for (int k = 0; k < BATCH * CLASSES; k++) EXPECT(isfinite(logits[k]));

    /* The same images in NHWC give the same logits, bit for bit: the NCHW
     * input is converted at the edge and nothing else differs. */
    static float nhwc[INPUT_COUNT];
    TRY(rn_nchw_to_nhwc(input, nhwc, BATCH, 3, SIZE, SIZE));
    TRY(rn_plan_forward(plan, nhwc, INPUT_COUNT, RN_LAYOUT_NHWC, other, BATCH * CLASSES));
    EXPECT(memcmp(other, logits, sizeof logits) == 0);

    /* Threads change nothing but the time: reductions use a fixed chunking
     * and order, so 1 thread gives the 2-thread logits bit for bit. */
    TRY(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 1));
    TRY(rn_plan_forward(plan, input, INPUT_COUNT, RN_LAYOUT_NCHW, other, BATCH * CLASSES));
    EXPECT(memcmp(other, logits, sizeof logits) == 0);
    printf("NHWC input, and 1 thread instead of 2: the same logits, bit for bit\n");

    /* ---- fold BN into the convolutions for inference -----------------------------
     * Irreversible: the model then refuses train plans, and plans made
     * before folding refuse to run. A new plan gives the same logits, up to
     * float rounding (the scale now multiplies the weights, not the output). */
    TRY(rn_model_fold_batchnorm(model));
    st = rn_plan_forward(plan, input, INPUT_COUNT, RN_LAYOUT_NCHW, folded_logits, BATCH * CLASSES);
    printf("old plan after folding -> %s\n", rn_status_string(st));
    EXPECT(st == RN_E_BAD_STATE);
    TRY(rn_plan_create(model, BATCH, SIZE, SIZE, RN_MODE_INFER, &plan2));
    TRY(rn_plan_forward(plan2, input, INPUT_COUNT, RN_LAYOUT_NCHW, folded_logits, BATCH * CLASSES));
    double worst = 0.0;
    for (int k = 0; k < BATCH * CLASSES; k++) {
        double d = fabs((double)folded_logits[k] - logits[k]) / fmax(1.0, fabs(logits[k]));
        if (d > worst) worst = d;
    }
    printf("folded model: largest logit difference %.2g (relative)\n", worst);
    /* 1e-4: twenty layers of float32 rounding in a different order stay near
     * 1e-6; a fold that dropped a BN's shift or scale would be off by ~0.1. */
    EXPECT(worst <= 1e-4);

    rn_plan_destroy(plan2);
    rn_plan_destroy(plan); /* plans before their model; the bound memory after its plan */
    free(memory);
    rn_model_destroy(model);
    rn_ctx_destroy(ctx);
    return finish(1);
}
