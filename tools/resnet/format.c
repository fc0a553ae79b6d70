/*
 * Small output helpers of the `resnet` program: thousands separators, the
 * monotonic clock, the confusion matrix table, the thread-count option.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *cli_thousands(int64_t v, char *buf, size_t cap) {
    char digits[32];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 0;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = 0;
    if (v < 0 && k + 1 < cap) buf[k++] = '-';
    for (int i = n - 1; i >= 0 && k + 1 < cap; i--) {
        buf[k++] = digits[i];
        if (i > 0 && i % 3 == 0 && k + 1 < cap) buf[k++] = ',';
    }
    buf[k] = '\0';
    return buf;
}

double cli_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cli_print_confusion(FILE *f, const int64_t *conf, int32_t classes) {
    fprintf(f, "confusion matrix (rows: true class, columns: predicted class):\n      ");
    for (int32_t j = 0; j < classes; j++) fprintf(f, " %6d", (int)j);
    fputc('\n', f);
    for (int32_t i = 0; i < classes; i++) {
        int64_t row = 0;
        for (int32_t j = 0; j < classes; j++) row += conf[(size_t)i * (size_t)classes + (size_t)j];
        fprintf(f, "%5d:", (int)i);
        for (int32_t j = 0; j < classes; j++)
            fprintf(f, " %6lld", (long long)conf[(size_t)i * (size_t)classes + (size_t)j]);
        double acc =
            row ? 100.0 * (double)conf[(size_t)i * (size_t)classes + (size_t)i] / (double)row : 0.0;
        fprintf(f, "   (%.2f%% right)\n", acc);
    }
}

int cli_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 1024) n = 1024;
    return (int)n;
}

rn_ctx *cli_context(void) {
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) == RN_OK) return ctx;
    cli_fail("cannot create a context");
    return NULL;
}

int cli_set_threads(rn_ctx *ctx, int64_t threads) {
    rn_status st = rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads);
    if (st) return cli_lib_error(ctx, st, "--threads");
    return CLI_EXIT_OK;
}
