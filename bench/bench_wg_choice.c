/*
 * The cost table behind the inference chooser's Winograd limits
 * (src/ops/conv2d-algo.c): per 3x3 stride-1 shape, the forward of an
 * inference plan by each algorithm it may run, on weights prepared once as
 * a plan holds them: the direct path on the plain weights (packed on every
 * call), the direct path on panels packed once (packed-indirect),
 * Winograd F(4x4,3x3), F(2x2,3x3) and F(6x6,3x3) on weights transformed
 * once. Each line
 * gives the median ms of the timed calls and, with "err", each result's
 * largest error against a float64 direct convolution relative to the
 * largest |output| (the same inputs for every algorithm); "plan" is what an
 * inference plan's chooser takes (rn__conv_choose with derived weights).
 * With "cold", a 64 MiB buffer is written between calls (not timed), so the
 * weights come from memory as they do in a network whose weights exceed the
 * caches (ResNet-50: 100 MB).
 *
 * Internal (it calls the rn__ drivers directly). Build: target
 * bench_wg_choice (bench/CMakeLists.txt). Usage:
 *
 *   bench_wg_choice threads batch [reps] [filter] [err] [cold]
 *
 * e.g. `bench_wg_choice 1 1 21 x14x err cold`.
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

#define MAX_REPS 201
#define NALGO 5
#define FLUSH_BYTES ((size_t)64 << 20)

static void fill(float *p, size_t n, unsigned *seed, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = lo + (hi - lo) * (float)(*seed >> 8) / 16777216.0f;
    }
}

/* y_ref in double (NHWC, OHWI weights). */
static void reference(const rn_conv_desc *d, const float *x, const float *w, double *ref) {
    for (int n = 0; n < d->n; n++)
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++)
                for (int o = 0; o < d->oc; o++) {
                    double s = 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy - d->ph + ky, ix = ox - d->pw + kx;
                            if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                            const float *xp = x + (((size_t)n * d->h + iy) * d->w + ix) * d->c;
                            const float *wp = w + (((size_t)o * 3 + ky) * 3 + kx) * d->c;
                            for (int c = 0; c < d->c; c++) s += (double)xp[c] * wp[c];
                        }
                    ref[(((size_t)n * d->oh + oy) * d->ow + ox) * d->oc + o] = s;
                }
}

static double rel_err(const float *y, const double *ref, size_t n) {
    double e = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)y[i] - ref[i]);
        if (a > e) e = a;
        if (fabs(ref[i]) > m) m = fabs(ref[i]);
    }
    return m > 0.0 ? e / m : e;
}

static void run(const rn_ctx *ctx, int a, const rn_conv_desc *d, const float *x, const float *w,
                const void *pan, const void *u4, const void *u2, const void *u6, float *y,
                void *ws) {
    if (a == 0) rn__conv2d_forward(ctx, d, x, w, NULL, 0, y, ws);
    if (a == 1) rn__conv_forward_panels(ctx, d, x, (const float *)pan, NULL, 0, 0, y, ws);
    if (a == 2) rn__conv_winograd_forward(ctx, d, 4, x, u4, NULL, 0, 0, y, ws);
    if (a == 3) rn__conv_winograd_forward(ctx, d, 2, x, u2, NULL, 0, 0, y, ws);
    if (a == 4) rn__conv_winograd_forward(ctx, d, 6, x, u6, NULL, 0, 0, y, ws);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int batch = argc > 2 ? atoi(argv[2]) : 1;
    int reps = argc > 3 ? atoi(argv[3]) : 21;
    const char *filter = argc > 4 && strcmp(argv[4], "all") ? argv[4] : NULL;
    int with_err = 0, cold = 0;
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "err")) with_err = 1;
        if (!strcmp(argv[i], "cold")) cold = 1;
    }
    if (threads < 1 || batch < 1 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr,
                "usage: bench_wg_choice threads batch [reps <= %d] [filter|all] [err] "
                "[cold]\n",
                MAX_REPS);
        return 2;
    }
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) return 1;
    rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads);
    int64_t isa = 0;
    rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &isa);
    static const int shapes[][3] = {
        /* side, channels in, channels out: ResNet-18/34/50 and CIFAR ResNets */
        {56, 64, 64},
        {28, 128, 128},
        {14, 256, 256},
        {7, 512, 512},
        {32, 16, 16},
        {16, 32, 32},
        {8, 64, 64},
        /* around the 14x14 rows, for the limits' edges */
        {14, 128, 128},
        {14, 64, 64},
        {16, 128, 128},
        {20, 256, 256},
        {10, 256, 256},
    };
    static const char *const names[NALGO] = {"direct", "packed", "f4x4", "f2x2", "f6x6"};
    unsigned char *flush = cold ? (unsigned char *)malloc(FLUSH_BYTES) : NULL;
    printf("inference 3x3 s1 forward, %d thread(s), batch %d, %s kernels, %d calls, %s: median "
           "ms%s\n",
           threads, batch, rn_isa_name((int32_t)isa), reps, cold ? "cold weights" : "warm",
           with_err ? " [max error / max |y| against float64]" : "");
    unsigned seed = 12345u;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        rn_conv_desc d;
        memset(&d, 0, sizeof d);
        d.n = batch, d.h = d.w = shapes[s][0], d.c = shapes[s][1], d.oc = shapes[s][2];
        d.kh = d.kw = 3, d.sh = d.sw = 1, d.ph = d.pw = 1;
        if (!rn__conv_desc_init(&d)) continue;
        char name[64];
        snprintf(name, sizeof name, "%dx%dx%dx%d>%d", d.n, d.h, d.w, d.c, d.oc);
        if (filter && !strstr(name, filter)) continue;
        size_t xn = (size_t)d.n * d.h * d.w * d.c, yn = (size_t)d.n * d.oh * d.ow * d.oc;
        size_t wn = (size_t)d.oc * 9 * d.c, wsb = rn__conv2d_forward_workspace(ctx, &d), t;
        if ((t = rn__conv_panels_workspace(&d)) > wsb) wsb = t;
        if ((t = rn__conv_winograd_workspace(&d, 4)) > wsb) wsb = t;
        if ((t = rn__conv_winograd_workspace(&d, 2)) > wsb) wsb = t;
        if ((t = rn__conv_winograd_workspace(&d, 6)) > wsb) wsb = t;
        float *x = malloc(xn * sizeof *x), *w = malloc(wn * sizeof *w), *y = malloc(yn * 4);
        void *ws = malloc(wsb), *pan = malloc(rn__conv_panels_size(&d));
        void *u4 = malloc(rn__conv_winograd_weights_size(&d, 4));
        void *u2 = malloc(rn__conv_winograd_weights_size(&d, 2));
        void *u6 = malloc(rn__conv_winograd_weights_size(&d, 6));
        double *ref = with_err ? malloc(yn * sizeof *ref) : NULL;
        if (!x || !w || !y || !ws || !pan || !u4 || !u2 || !u6 || (with_err && !ref)) {
            fprintf(stderr, "%s: out of memory\n", name);
            return 1;
        }
        fill(x, xn, &seed, 0.0f, 1.0f); /* post-ReLU activations */
        fill(w, wn, &seed, -0.1f, 0.1f);
        rn__conv_pack_panels(ctx, &d, w, (float *)pan);
        rn__conv_winograd_transform_weights(ctx, &d, 4, w, u4);
        rn__conv_winograd_transform_weights(ctx, &d, 2, w, u2);
        rn__conv_winograd_transform_weights(ctx, &d, 6, w, u6);
        if (ref) reference(&d, x, w, ref);
        double med[NALGO], err[NALGO];
        double tm[NALGO][MAX_REPS];
        for (int a = 0; a < NALGO; a++) run(ctx, a, &d, x, w, pan, u4, u2, u6, y, ws); /* warm-up */
        for (int r = 0; r < reps; r++)
            for (int a = 0; a < NALGO; a++) {
                if (flush) memset(flush, r + a, FLUSH_BYTES);
                double t0 = now_s();
                run(ctx, a, &d, x, w, pan, u4, u2, u6, y, ws);
                tm[a][r] = now_s() - t0;
            }
        for (int a = 0; a < NALGO; a++) {
            qsort(tm[a], (size_t)reps, sizeof tm[a][0], cmp_double);
            med[a] = tm[a][reps / 2] * 1e3;
            err[a] = 0.0;
            if (ref) {
                run(ctx, a, &d, x, w, pan, u4, u2, u6, y, ws);
                err[a] = rel_err(y, ref, yn);
            }
        }
        const int32_t plan =
            rn__conv_choose(ctx, &d, RN_CONV_PASS_FORWARD, RN_CONV_USE_DERIVED).algo;
        printf("%-18s", name);
        for (int a = 0; a < NALGO; a++) {
            printf("  %s %7.3f", names[a], med[a]);
            if (ref) printf(" [%.1e]", err[a]);
        }
        printf("  plan: %s\n", rn__conv_algo_name(plan));
        fflush(stdout);
        free(x), free(w), free(y), free(ws), free(pan), free(u4), free(u2), free(u6), free(ref);
    }
    free(flush);
    rn_ctx_destroy(ctx);
    return 0;
}
