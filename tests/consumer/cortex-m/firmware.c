/*
 * A firmware-shaped consumer for Cortex-M builds: no heap, no stdio, no OS.
 * Everything lives in one static arena: the context, the model's weights and
 * the plan's activations. tools/ci/builds.sh builds it three ways:
 *  - plain, linked against the Cortex-M static library with --gc-sections, to
 *    measure what an inference application really costs in flash;
 *  - with -DRN_FIRMWARE_SEMIHOSTING and startup-mps2.c, run under QEMU's
 *    mps2-an500 (Cortex-M7), printing its logits through semihosting;
 *  - with -DRN_FIRMWARE_HOST_REPORT for the host, printing the same logits
 *    and how much of the arena the network needed.
 * The two runs' logits are compared: the Cortex-M build computes what the
 * host computes.
 *
 * The network is a CIFAR ResNet-20 at half width (8/16/32 channels, ~68k
 * parameters) on one 32x32 RGB image; weights come from rn_model_init here
 * (a product would copy trained weights in with rn_model_set_tensor).
 */
#include <resnet.h>

#ifndef RN_FIRMWARE_ARENA_BYTES
#define RN_FIRMWARE_ARENA_BYTES (1024u * 1024u)
#endif
#define CLASSES 10

static unsigned char arena[RN_FIRMWARE_ARENA_BYTES] __attribute__((aligned(64)));
static float image[3 * 32 * 32];
static float logits[CLASSES];
volatile int32_t firmware_result; /* what a debugger would watch */

static rn_status classify(size_t *arena_peak, size_t *plan_bytes) {
    /* A fixed test pattern (an LCG, identical on every target). */
    uint32_t s = 12345u;
    for (size_t i = 0; i < sizeof image / sizeof image[0]; i++) {
        s = s * 1664525u + 1013904223u;
        image[i] = (float)(s >> 16) / 32768.0f - 1.0f;
    }
    rn_ctx *ctx = NULL;
    rn_model *model = NULL;
    rn_plan *plan = NULL;
    rn_status st = rn_ctx_create_in_buffer(arena, sizeof arena, &ctx);
    if (st != RN_OK) return st;
    st = rn_model_create_preset(ctx, "resnet20", CLASSES, 3, RN_SHORTCUT_DEFAULT, 8, 0, &model);
    if (st == RN_OK) st = rn_model_init(model, 1);
    if (st == RN_OK) st = rn_plan_create(model, 1, 32, 32, RN_MODE_INFER, &plan);
    if (st == RN_OK) st = rn_plan_memory_size(plan, plan_bytes);
    if (st == RN_OK)
        st = rn_plan_forward(plan, image, sizeof image / sizeof image[0], RN_LAYOUT_NCHW, logits,
                             CLASSES);
    if (st == RN_OK) {
        size_t used = 0;
        st = rn_ctx_arena_usage(ctx, &used, arena_peak);
    }
    rn_plan_destroy(plan);
    rn_model_destroy(model);
    rn_ctx_destroy(ctx);
    return st;
}

/* "logits" and each logit's IEEE bits in hex: exact, and needs no printf. */
static void format_logits(char *out) {
    static const char hex[] = "0123456789abcdef";
    const char *head = "logits";
    while (*head) *out++ = *head++;
    for (int k = 0; k < CLASSES; k++) {
        union {
            float f;
            uint32_t u;
        } v;
        v.f = logits[k];
        *out++ = ' ';
        for (int d = 7; d >= 0; d--) *out++ = hex[(v.u >> (4 * d)) & 15u];
    }
    *out++ = '\n';
    *out = '\0';
}
static char line[16 + CLASSES * 9];

#if defined(RN_FIRMWARE_HOST_REPORT)
#include <stdio.h>
int main(void) {
    size_t peak = 0, plan_bytes = 0;
    rn_status st = classify(&peak, &plan_bytes);
    if (st != RN_OK) {
        printf("firmware: %s\n", rn_status_string(st));
        return 1;
    }
    format_logits(line);
    fputs(line, stdout);
    printf("arena peak %zu bytes (plan activations %zu bytes) of %u\n", peak, plan_bytes,
           (unsigned)RN_FIRMWARE_ARENA_BYTES);
    return 0;
}
#elif defined(RN_FIRMWARE_SEMIHOSTING)
void rn_semihost_write(const char *text); /* startup-mps2.c */
static const char *format_size(size_t v) {
    static char digits[24];
    char *p = digits + sizeof digits - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    return p;
}
int main(void) {
    size_t peak = 0, plan_bytes = 0;
    rn_status st = classify(&peak, &plan_bytes);
    if (st != RN_OK) {
        rn_semihost_write("firmware: ");
        rn_semihost_write(rn_status_string(st));
        rn_semihost_write("\n");
        return 1;
    }
    format_logits(line);
    rn_semihost_write(line);
    rn_semihost_write("arena peak ");
    rn_semihost_write(format_size(peak));
    rn_semihost_write(" bytes (plan activations ");
    rn_semihost_write(format_size(plan_bytes));
    rn_semihost_write(" bytes)\n");
    return 0;
}
#else
int main(void) {
    size_t peak = 0, plan_bytes = 0;
    firmware_result = classify(&peak, &plan_bytes);
    format_logits(line); /* keeps the result observable */
    for (;;) {
    }
}
#endif
