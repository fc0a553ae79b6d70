/*
 * The consumer test: a program that uses libresnet only through its installed
 * public header, the way an application would. tools/ci/builds.sh builds it
 * against an install prefix (CMake package and pkg-config), through
 * add_subdirectory, with a plain Makefile over lib/sources.mk and from the
 * amalgamation, and compares the logits files of different builds.
 *
 *   consumer [LOGITS_FILE]
 *
 * Runs a CIFAR ResNet-20 (seeded init, eval mode) on a fixed batch twice: with
 * a heap context, and with no heap at all (context in a caller buffer, plan
 * memory bound from the caller). Both must give the same logits. Writes the
 * logits as raw little-endian float32 to LOGITS_FILE when given.
 */
#include <resnet.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 2
#define SIZE 32
#define CHANNELS 3
#define CLASSES 10
#define INPUT_COUNT (BATCH * CHANNELS * SIZE * SIZE)

static int fail(const char *what, rn_status st, const rn_ctx *ctx) {
    fprintf(stderr, "consumer: %s failed: %s: %s\n", what, rn_status_string(st),
            rn_last_error(ctx));
    return 1;
}

/* Builds the model in ctx and runs it; with `arena` non-NULL the plan runs
 * in memory taken from the caller's arena instead of the context. */
static int run(rn_ctx *ctx, const float *input, float *logits, unsigned char *arena,
               size_t arena_size) {
    rn_model *model = NULL;
    rn_plan *plan = NULL;
    size_t need = 0;
    int rc = 1;
    rn_status st = rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2);
    if (st != RN_OK) return fail("rn_ctx_set_int", st, ctx);
    st = rn_model_create_preset(ctx, "resnet20", CLASSES, CHANNELS, RN_SHORTCUT_DEFAULT, 0, 0,
                                &model);
    if (st != RN_OK) return fail("rn_model_create_preset", st, ctx);
    if ((st = rn_model_init(model, 42)) != RN_OK) {
        fail("rn_model_init", st, ctx);
        goto done;
    }
    if ((st = rn_plan_create(model, BATCH, SIZE, SIZE, RN_MODE_INFER, &plan)) != RN_OK) {
        fail("rn_plan_create", st, ctx);
        goto done;
    }
    if ((st = rn_plan_memory_size(plan, &need)) != RN_OK) {
        fail("rn_plan_memory_size", st, ctx);
        goto done;
    }
    if (arena) {
        if (need > arena_size) {
            fprintf(stderr, "consumer: plan needs %zu bytes, arena has %zu\n", need, arena_size);
            goto done;
        }
        if ((st = rn_plan_bind_memory(plan, arena, need)) != RN_OK) {
            fail("rn_plan_bind_memory", st, ctx);
            goto done;
        }
    }
    st = rn_plan_forward(plan, input, INPUT_COUNT, RN_LAYOUT_NCHW, logits, BATCH * CLASSES);
    if (st != RN_OK) {
        fail("rn_plan_forward", st, ctx);
        goto done;
    }
    rc = 0;
done:
    rn_plan_destroy(plan);
    rn_model_destroy(model);
    return rc;
}

int main(int argc, char **argv) {
    static float input[INPUT_COUNT];
    float heap_logits[BATCH * CLASSES], arena_logits[BATCH * CLASSES];
    /* A fixed pseudo-random image batch (an LCG, so every build sees the same bits). */
    unsigned long long s = 12345;
    for (int i = 0; i < INPUT_COUNT; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        input[i] = (float)((s >> 40) & 0xFFFF) / 32768.0f - 1.0f;
    }
    if (rn_version_number() / 10000 != RN_VERSION_MAJOR) {
        fprintf(stderr, "consumer: header major %d, library %s\n", RN_VERSION_MAJOR,
                rn_version_string());
        return 1;
    }

    rn_ctx *ctx = NULL;
    rn_status st = rn_ctx_create(&ctx);
    if (st != RN_OK) return fail("rn_ctx_create", st, NULL);
    int rc = run(ctx, input, heap_logits, NULL, 0);
    rn_ctx_destroy(ctx);
    if (rc) return rc;

    /* No heap: the context and the model live in one caller buffer, the
     * plan's activations in another. */
    size_t ctx_size = (size_t)16 << 20, plan_size = (size_t)4 << 20;
    unsigned char *ctx_mem = malloc(ctx_size), *plan_mem = malloc(plan_size);
    if (!ctx_mem || !plan_mem) return 1;
    st = rn_ctx_create_in_buffer(ctx_mem, ctx_size, &ctx);
    if (st != RN_OK) return fail("rn_ctx_create_in_buffer", st, NULL);
    rc = run(ctx, input, arena_logits, plan_mem, plan_size);
    size_t used = 0, peak = 0;
    if (!rc && (st = rn_ctx_arena_usage(ctx, &used, &peak)) != RN_OK)
        rc = fail("rn_ctx_arena_usage", st, ctx);
    rn_ctx_destroy(ctx);
    free(ctx_mem);
    free(plan_mem);
    if (rc) return rc;

    if (memcmp(heap_logits, arena_logits, sizeof heap_logits) != 0) {
        fprintf(stderr, "consumer: heap and caller-buffer runs disagree\n");
        return 1;
    }
    for (int i = 0; i < BATCH * CLASSES; i++) {
        if (!isfinite(heap_logits[i])) {
            fprintf(stderr, "consumer: logit %d is not finite\n", i);
            return 1;
        }
    }
    if (argc > 1) {
        FILE *f = fopen(argv[1], "wb");
        if (!f || fwrite(heap_logits, sizeof heap_logits, 1, f) != 1 || fclose(f) != 0) {
            fprintf(stderr, "consumer: cannot write %s\n", argv[1]);
            return 1;
        }
    }
    printf("libresnet %s: resnet20 logits[0] = %.6f, arena peak %zu bytes\n", rn_version_string(),
           (double)heap_logits[0], peak);
    printf("consumer ok\n");
    return 0;
}
