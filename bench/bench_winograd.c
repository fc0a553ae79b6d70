/*
 * Winograd F(4x4,3x3) against the direct convolution drivers, the three
 * training passes (forward with the weights transformed on every call,
 * backward-data, backward-weights) at the 3x3 stride-1 shapes of CIFAR
 * ResNets (batch 128) and ResNet-50 (batch 16), plus the largest difference
 * between the two results relative to the largest direct one. Each line
 * gives the median and the minimum of the timed calls, in ms; "plan" is what
 * a training plan runs for each pass (rn__conv_choose).
 *
 * Internal (it calls the rn__ drivers directly). Build: target
 * bench_winograd (bench/CMakeLists.txt). Usage:
 *
 *   bench_winograd [threads] [reps] [filter]     (defaults 2, 11, all shapes)
 *
 * e.g. `bench_winograd 1 15 128x` times the CIFAR shapes on one thread.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "resnet.h"
#include "core/internal.h"
#include "ops/ops.h"

static void fill(float *p, size_t n, unsigned *seed, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = lo + (hi - lo) * (float)(*seed >> 8) / 16777216.0f;
    }
}

static double max_rel_diff(const float *a, const float *b, size_t n) {
    double e = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > e) e = d;
        if (fabs((double)a[i]) > m) m = fabs((double)a[i]);
    }
    return m > 0.0 ? e / m : e;
}

#define MAX_REPS 101
#define PASSES 3

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 11;
    const char *filter = argc > 3 ? argv[3] : NULL;
    if (threads < 1 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: bench_winograd [threads] [reps <= %d] [filter]\n", MAX_REPS);
        return 2;
    }
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) return 1;
    rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads);
    static const int shapes[][4] = {
        /* n, side, channels in, channels out */
        {128, 32, 16, 16},  {128, 16, 32, 32},  {128, 8, 64, 64},  {16, 56, 64, 64},
        {16, 28, 128, 128}, {16, 14, 256, 256}, {16, 7, 512, 512},
    };
    static const char *const pass_name[PASSES] = {"fwd", "bwd-data", "bwd-weights"};
    int64_t isa = 0;
    rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &isa);
    printf("Winograd F(4x4,3x3) against direct, %d thread(s), %s kernels, %d calls each: "
           "median (min) ms\n",
           threads, rn_isa_name((int32_t)isa), reps);
    unsigned seed = 12345u;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        rn_conv_desc d;
        memset(&d, 0, sizeof d);
        d.n = shapes[s][0], d.h = d.w = shapes[s][1], d.c = shapes[s][2], d.oc = shapes[s][3];
        d.kh = d.kw = 3, d.sh = d.sw = 1, d.ph = d.pw = 1;
        if (!rn__conv_desc_init(&d)) continue;
        char name[64];
        snprintf(name, sizeof name, "%dx%dx%dx%d>%d", d.n, d.h, d.w, d.c, d.oc);
        if (filter && !strstr(name, filter)) continue;
        size_t xn = (size_t)d.n * d.h * d.w * d.c, yn = (size_t)d.n * d.oh * d.ow * d.oc;
        size_t wn = (size_t)d.oc * 9 * d.c;
        size_t wsb = rn__conv2d_forward_workspace(ctx, &d), t;
        if ((t = rn__conv2d_backward_data_workspace(ctx, &d)) > wsb) wsb = t;
        if ((t = rn__conv2d_backward_weights_workspace(ctx, &d)) > wsb) wsb = t;
        if ((t = rn__conv_winograd_forward_w_workspace(&d)) > wsb) wsb = t;
        if ((t = rn__conv_winograd_backward_data_workspace(&d)) > wsb) wsb = t;
        if ((t = rn__conv_winograd_backward_weights_workspace(&d)) > wsb) wsb = t;
        float *x = malloc(xn * sizeof *x), *dy = malloc(yn * sizeof *dy);
        float *w = malloc(wn * sizeof *w), *o1 = malloc((xn > yn ? xn : yn) * sizeof *o1);
        float *o2 = malloc((xn > yn ? xn : yn) * sizeof *o2), *g1 = malloc(wn * sizeof *g1);
        float *g2 = malloc(wn * sizeof *g2);
        void *ws = malloc(wsb);
        if (!x || !dy || !w || !o1 || !o2 || !g1 || !g2 || !ws) {
            fprintf(stderr, "%s: out of memory\n", name);
            return 1;
        }
        fill(x, xn, &seed, 0.0f, 1.0f);
        fill(dy, yn, &seed, -0.5f, 0.5f);
        fill(w, wn, &seed, -0.1f, 0.1f);
        printf(
            "%-20s plan: fwd %s, bwd-data %s, bwd-weights %s\n", name,
            rn__conv_algo_name(
                rn__conv_choose(ctx, &d, RN_CONV_PASS_FORWARD, RN_CONV_USE_TRAIN).algo),
            rn__conv_algo_name(
                rn__conv_choose(ctx, &d, RN_CONV_PASS_BACKWARD_DATA, RN_CONV_USE_TRAIN).algo),
            rn__conv_algo_name(
                rn__conv_choose(ctx, &d, RN_CONV_PASS_BACKWARD_WEIGHTS, RN_CONV_USE_TRAIN).algo));
        for (int p = 0; p < PASSES; p++) {
            double td[MAX_REPS], tw[MAX_REPS], err = 0.0;
            for (int r = 0; r < reps; r++) {
                double t0 = now_s();
                if (p == 0) rn__conv2d_forward(ctx, &d, x, w, NULL, 0, o1, ws);
                if (p == 1) rn__conv2d_backward_data(ctx, &d, dy, w, o1, ws);
                if (p == 2) rn__conv2d_backward_weights(ctx, &d, x, dy, g1, NULL, ws);
                td[r] = now_s() - t0;
                t0 = now_s();
                if (p == 0) rn__conv_winograd_forward_w(ctx, &d, x, w, NULL, 0, o2, ws);
                if (p == 1) rn__conv_winograd_backward_data(ctx, &d, dy, w, o2, ws);
                if (p == 2) rn__conv_winograd_backward_weights(ctx, &d, x, dy, g2, ws);
                tw[r] = now_s() - t0;
            }
            if (p == 0) err = max_rel_diff(o1, o2, yn);
            if (p == 1) err = max_rel_diff(o1, o2, xn);
            if (p == 2) err = max_rel_diff(g1, g2, wn);
            qsort(td, (size_t)reps, sizeof *td, cmp_double);
            qsort(tw, (size_t)reps, sizeof *tw, cmp_double);
            double md = td[reps / 2] * 1e3, mw = tw[reps / 2] * 1e3;
            printf("  %-12s direct %8.3f (%8.3f)  winograd %8.3f (%8.3f)  %5.2fx  max diff %.1e\n",
                   pass_name[p], md, td[0] * 1e3, mw, tw[0] * 1e3, md / mw, err);
        }
        free(x), free(dy), free(w), free(o1), free(o2), free(g1), free(g2), free(ws);
    }
    rn_ctx_destroy(ctx);
    return 0;
}
