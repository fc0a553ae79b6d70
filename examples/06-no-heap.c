/*
 * Example 6, no heap: inference with everything inside one caller buffer.
 * rn_ctx_create_in_buffer puts the context at the start of the buffer and
 * makes it a bump allocator over the rest, so the model, its weights, the
 * plan and the plan's activations all come from that buffer: libresnet
 * calls no malloc, and this program has none either. This is the firmware
 * flow of docs/embedding.md (there the weights would come from
 * rn_model_set_tensor or rn_model_load_safetensors_mem instead of init).
 * Walked through in docs/api.md.
 */
#include <resnet.h>

#include <math.h>
#include <stdio.h>
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

#define SIZE 32
#define CLASSES 10
#define INPUT_COUNT (3 * SIZE * SIZE)

/* The one buffer: static storage, no heap. Its alignment does not matter
 * (the context aligns what it hands out). 3 MiB holds ResNet-20 (1.1 MB of
 * weights and the 1.1 MB a run on one 32x32 image needs) with room to
 * spare; rn_ctx_arena_usage tells a firmware author how much is really
 * needed, so the buffer can be cut to size. */
#define ARENA_BYTES ((size_t)3 << 20)
static union {
    unsigned char bytes[ARENA_BYTES];
    double align_; /* at least a double's alignment */
} arena;

static float image[INPUT_COUNT];

static size_t used_now(const rn_ctx *ctx) {
    size_t used = 0, peak = 0;
    return rn_ctx_arena_usage(ctx, &used, &peak) == RN_OK ? used : 0;
}

int main(void) {
    rn_ctx *ctx = NULL;
    rn_model *model = NULL;
    rn_plan *plan = NULL;
    float logits[CLASSES], again[CLASSES];

    /* A buffer too small for even the context is refused, not overrun. */
    static unsigned char tiny[64];
    rn_status st = rn_ctx_create_in_buffer(tiny, sizeof tiny, &ctx);
    printf("context in a 64-byte buffer -> %s\n", rn_status_string(st));
    EXPECT(st == RN_E_BUFFER_TOO_SMALL && ctx == NULL);

    TRY(rn_ctx_create_in_buffer(arena.bytes, sizeof arena.bytes, &ctx));
    const size_t after_ctx = used_now(ctx);
    TRY(rn_model_create_preset(ctx, "resnet20", CLASSES, 3, RN_SHORTCUT_DEFAULT, 0, 0, &model));
    TRY(rn_model_init(model, 2015));
    const size_t after_model = used_now(ctx);
    TRY(rn_plan_create(model, 1, SIZE, SIZE, RN_MODE_INFER, &plan));
    size_t need = 0;
    TRY(rn_plan_memory_size(plan, &need));
    const size_t after_plan = used_now(ctx);

    /* No rn_plan_bind_memory: the plan takes its memory from the context,
     * that is from the buffer, at its first run, and keeps it. */
    for (int i = 0; i < INPUT_COUNT; i++) image[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    TRY(rn_plan_forward(plan, image, INPUT_COUNT, RN_LAYOUT_NCHW, logits, CLASSES));
    const size_t after_run = used_now(ctx);
    TRY(rn_plan_forward(plan, image, INPUT_COUNT, RN_LAYOUT_NCHW, again, CLASSES));
    const size_t after_second_run = used_now(ctx);
    size_t used = 0, peak = 0;
    TRY(rn_ctx_arena_usage(ctx, &used, &peak));

    printf("buffer of %zu bytes, taken from it by\n", sizeof arena.bytes);
    printf("  the model (weights, init): %9zu bytes\n", after_model - after_ctx);
    printf("  the plan:                  %9zu\n", after_plan - after_model);
    printf("  the first run:             %9zu (rn_plan_memory_size: %zu)\n", after_run - after_plan,
           need);
    printf("  the second run:            %9zu\n", after_second_run - after_run);
    printf("peak use %zu bytes of %zu\n", peak, sizeof arena.bytes);
    printf("logits:");
    for (int k = 0; k < CLASSES; k++) printf(" %.4f", (double)logits[k]);
    printf("\n");

    /* The run took what the size query said (plus the arena's small block
     * headers), once; later runs take nothing; results repeat exactly. */
    EXPECT(after_run - after_plan >= need && after_run - after_plan <= need + 4096);
    EXPECT(after_second_run == after_run);
    EXPECT(memcmp(logits, again, sizeof logits) == 0);
    for (int k = 0; k < CLASSES; k++) EXPECT(isfinite(logits[k]));

    /* Running out of the buffer is an error with a sentence, never a crash
     * and never a fallback to malloc: here a second, bigger model (3.4 MB
     * of weights) cannot fit. */
    rn_model *second = NULL;
    st = rn_model_create_preset(ctx, "resnet56", CLASSES, 3, RN_SHORTCUT_DEFAULT, 0, 0, &second);
    printf("a ResNet-56 beside it -> %s\n  \"%s\"\n", rn_status_string(st), rn_last_error(ctx));
    EXPECT(st == RN_E_NO_MEMORY && second == NULL);

    /* Destroying gives the memory back to the buffer when done in reverse
     * order of creation; rn_ctx_destroy of an in-buffer context frees
     * nothing (the buffer is the caller's, and can simply be reused). */
    rn_plan_destroy(plan);
    rn_model_destroy(model);
    rn_ctx_destroy(ctx);
    return finish(1);
}
