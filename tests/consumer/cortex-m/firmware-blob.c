/*
 * Firmware with its weights in flash: a model created over a const C array
 * (`resnet export ARCH --weights W --c-array -o resnet_blob.c`, compiled in
 * beside this file) with rn_model_create_from_blob, no copy of the weights,
 * no heap, no stdio. It classifies the test images of
 * tests/data/firmware/resnet8_images.h one at a time and prints each
 * image's logits as IEEE bits in hex, then how much of its arena the
 * library used, phase by phase (the `ram` line: the context, the model's
 * description, the plan's description, its activations; the arena needed
 * is the context plus the peak) and, under QEMU, how deep the stack went
 * (painted before the run, scanned after). tools/ci/builds.sh (step cortex-m) builds it for QEMU's
 * mps2-an386 (Cortex-M4, single-precision FPU only) and mps2-an500
 * (Cortex-M7), and for the host with -DRN_FIRMWARE_HOST_REPORT, and
 * compares the logits.
 *
 * RN_FIRMWARE_ARENA_BYTES sizes the one static buffer that holds the
 * context, the model's description and the plan's activations.
 * RN_FIXTURE_HEADER names another image header of the same form (images as
 * bytes, their shape, classes, and the byte -> float rule RN_FIXTURE_PIXEL).
 */
#include <resnet.h>

#ifdef RN_FIXTURE_HEADER
#include RN_FIXTURE_HEADER
#else
#include "../../data/firmware/resnet8_images.h"
#endif

#ifndef RN_FIRMWARE_ARENA_BYTES
#define RN_FIRMWARE_ARENA_BYTES (1536u * 1024u)
#endif
#define CLASSES RN_FIXTURE_CLASSES
#define SIZE RN_FIXTURE_SIZE
#define PIXELS (RN_FIXTURE_CHANNELS * SIZE * SIZE)

extern const unsigned char *const resnet_blob; /* resnet_blob.c */
extern const size_t resnet_blob_size;

static unsigned char arena[RN_FIRMWARE_ARENA_BYTES] __attribute__((aligned(64)));
static float image[PIXELS];
static float logits[RN_FIXTURE_IMAGES][CLASSES];
volatile int32_t firmware_result; /* what a debugger would watch */

/* Bytes of the arena after each phase (rn_ctx_arena_usage's "used"); the
 * context itself sits at the start of the buffer, before what it counts. */
typedef struct ram_use {
    size_t context, model, plan, activations;
} ram_use;
static ram_use ram;

static rn_status classify(size_t *arena_peak, size_t *plan_bytes) {
    rn_ctx *ctx = NULL;
    rn_model *model = NULL;
    rn_plan *plan = NULL;
    size_t used = 0, peak = 0;
    /* the context's own bytes: the smallest buffer it can be created in */
    while (ram.context < sizeof arena &&
           rn_ctx_create_in_buffer(arena, ram.context, &ctx) == RN_E_BUFFER_TOO_SMALL)
        ram.context += 8;
    rn_status st = rn_ctx_create_in_buffer(arena, sizeof arena, &ctx);
    if (st != RN_OK) return st;
    st = rn_model_create_from_blob(ctx, resnet_blob, resnet_blob_size, RN_BLOB_NO_DERIVED, &model);
    if (st == RN_OK) st = rn_ctx_arena_usage(ctx, &ram.model, &peak);
    if (st == RN_OK) st = rn_plan_create(model, 1, SIZE, SIZE, RN_MODE_INFER, &plan);
    if (st == RN_OK) st = rn_ctx_arena_usage(ctx, &used, &peak);
    if (st == RN_OK) st = rn_plan_memory_size(plan, plan_bytes);
    ram.plan = used - ram.model;
    for (int n = 0; n < RN_FIXTURE_IMAGES && st == RN_OK; n++) {
        /* the fixture's rule, the same float operations on every target */
        for (int i = 0; i < PIXELS; i++) image[i] = RN_FIXTURE_PIXEL(rn_fixture_images[n][i]);
        st = rn_plan_forward(plan, image, PIXELS, RN_LAYOUT_NCHW, logits[n], CLASSES);
    }
    if (st == RN_OK) {
        size_t before = used;
        st = rn_ctx_arena_usage(ctx, &used, arena_peak);
        ram.activations = used - before; /* the plan's arena, taken by its first run */
    }
    rn_plan_destroy(plan);
    rn_model_destroy(model);
    rn_ctx_destroy(ctx);
    return st;
}

/* "logits N" and each logit's IEEE bits in hex: exact, and needs no printf. */
static void format_logits(char *out, int n) {
    static const char hex[] = "0123456789abcdef";
    const char *head = "logits ";
    while (*head) *out++ = *head++;
    *out++ = (char)('0' + n);
    for (int k = 0; k < CLASSES; k++) {
        union {
            float f;
            uint32_t u;
        } v;
        v.f = logits[n][k];
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
    for (int n = 0; n < RN_FIXTURE_IMAGES; n++) {
        format_logits(line, n);
        fputs(line, stdout);
    }
    printf("arena peak %zu bytes (plan activations %zu bytes) of %u\n", peak, plan_bytes,
           (unsigned)RN_FIRMWARE_ARENA_BYTES);
    printf("ram arena %zu: context %zu model %zu plan %zu activations %zu\n", ram.context + peak,
           ram.context, ram.model, ram.plan, ram.activations);
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
/* The stack: RAM from the linker script's __stack_top down is painted with
 * a pattern below the caller's frame before the run and scanned from the
 * bottom after it; the deepest word that changed gives the depth (a word
 * the run left equal to the pattern would be missed: off by a few bytes at
 * worst). */
extern char __stack_top[]; /* mps2-an500.ld */
#define STACK_PAINTED (32u * 1024u)
#define STACK_PATTERN 0xa5a5a5a5u
__attribute__((noinline)) static void paint_stack(void) {
    uintptr_t lo = (uintptr_t)__stack_top - STACK_PAINTED;
    uintptr_t hi = ((uintptr_t)__builtin_frame_address(0) - 256u) & ~(uintptr_t)3;
    for (uintptr_t a = lo; a < hi; a += 4) *(volatile uint32_t *)a = STACK_PATTERN;
}
static size_t stack_depth(void) {
    uintptr_t a = (uintptr_t)__stack_top - STACK_PAINTED;
    while (a < (uintptr_t)__stack_top && *(volatile const uint32_t *)a == STACK_PATTERN) a += 4;
    return (size_t)((uintptr_t)__stack_top - a);
}
int main(void) {
    size_t peak = 0, plan_bytes = 0;
    paint_stack();
    rn_status st = classify(&peak, &plan_bytes);
    size_t stack = stack_depth();
    if (st != RN_OK) {
        rn_semihost_write("firmware: ");
        rn_semihost_write(rn_status_string(st));
        rn_semihost_write("\n");
        return 1;
    }
    for (int n = 0; n < RN_FIXTURE_IMAGES; n++) {
        format_logits(line, n);
        rn_semihost_write(line);
    }
    rn_semihost_write("arena peak ");
    rn_semihost_write(format_size(peak));
    rn_semihost_write(" bytes (plan activations ");
    rn_semihost_write(format_size(plan_bytes));
    rn_semihost_write(" bytes)\n");
    const size_t parts[6] = {ram.context + peak, ram.context,     ram.model,
                             ram.plan,           ram.activations, stack};
    static const char *const names[6] = {"ram arena ", ": context ",    " model ",
                                         " plan ",     " activations ", "\nstack "};
    for (int i = 0; i < 6; i++) {
        rn_semihost_write(names[i]);
        rn_semihost_write(format_size(parts[i]));
    }
    rn_semihost_write(" bytes\n");
    return 0;
}
#else
int main(void) {
    size_t peak = 0, plan_bytes = 0;
    firmware_result = classify(&peak, &plan_bytes);
    format_logits(line, 0); /* keeps the result observable */
    for (;;) {
    }
}
#endif
