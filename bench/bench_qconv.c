/*
 * int8 against float32 convolution on the layers of ResNet-18 and ResNet-50
 * (batch 1, 224x224, torchvision's v1.5 bottleneck): for each distinct
 * layer shape, the float32 forward as an inference plan runs it (the
 * algorithm rn__conv_choose gives with derived weights: Winograd, packed or
 * plain, bias and ReLU fused) and the int8 op on packed weights (the
 * context's kernel: VNNI, AVX-512BW, AVX2, NEON or scalar) with its fused
 * requantization and ReLU, timed alternately round by round. Each line is
 * the median of the rounds (ms) with GOP/s (2 x MACs), and the speedup; the
 * network totals weight each shape by how often the network has it. With
 * `plain` as the third argument the int8 op's portable path (OHWI weights
 * in place) is timed instead of the packed one.
 *
 * Internal (it calls rn__ drivers). Build: target bench_qconv. Usage:
 *
 *   bench_qconv [threads] [rounds] [plain]      (defaults 1, 7)
 *
 * RN_MAX_ISA caps the kernels as everywhere else.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "resnet.h"
#include "core/internal.h"
#include "ops/ops.h"

typedef struct layer {
    int h, w, c, oc, k, s;
    int r18, r50; /* times the network has this shape */
} layer;

/* padding k / 2 everywhere (the stem's 7x7 takes 3) */
static const layer layers[] = {
    {224, 224, 3, 64, 7, 2, 1, 1},
    /* ResNet-18 */
    {56, 56, 64, 64, 3, 1, 4, 3},
    {56, 56, 64, 128, 3, 2, 1, 0},
    {28, 28, 128, 128, 3, 1, 3, 4},
    {56, 56, 64, 128, 1, 2, 1, 0},
    {28, 28, 128, 256, 3, 2, 1, 0},
    {14, 14, 256, 256, 3, 1, 3, 6},
    {28, 28, 128, 256, 1, 2, 1, 0},
    {14, 14, 256, 512, 3, 2, 1, 0},
    {7, 7, 512, 512, 3, 1, 3, 3},
    {14, 14, 256, 512, 1, 2, 1, 0},
    /* ResNet-50 (those not above) */
    {56, 56, 64, 64, 1, 1, 0, 1},
    {56, 56, 256, 64, 1, 1, 0, 2},
    {56, 56, 64, 256, 1, 1, 0, 4},
    {56, 56, 256, 128, 1, 1, 0, 1},
    {28, 28, 512, 128, 1, 1, 0, 3},
    {56, 56, 128, 128, 3, 2, 0, 1},
    {28, 28, 128, 512, 1, 1, 0, 4},
    {56, 56, 256, 512, 1, 2, 0, 1},
    {28, 28, 512, 256, 1, 1, 0, 1},
    {14, 14, 1024, 256, 1, 1, 0, 5},
    {28, 28, 256, 256, 3, 2, 0, 1},
    {14, 14, 256, 1024, 1, 1, 0, 6},
    {28, 28, 512, 1024, 1, 2, 0, 1},
    {14, 14, 1024, 512, 1, 1, 0, 1},
    {7, 7, 2048, 512, 1, 1, 0, 2},
    {14, 14, 512, 512, 3, 2, 0, 1},
    {7, 7, 512, 2048, 1, 1, 0, 3},
    {14, 14, 1024, 2048, 1, 2, 0, 1},
};
#define NLAYERS (sizeof layers / sizeof layers[0])

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 1;
    const int rounds = argc > 2 ? atoi(argv[2]) : 7;
    const int plain = argc > 3 && !strcmp(argv[3], "plain");
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK || rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads) != RN_OK)
        return 1;
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    printf("threads %d, rounds %d, ISA %s, int8 kernel MR %d%s, %s path\n", threads, rounds,
           rn_isa_name(ctx->active_isa), kt->qconv.mr, kt->qconv.u8 ? " (u8: VNNI)" : "",
           plain ? "portable" : "packed");
    printf("%-22s %-16s %9s %9s %8s %8s %6s\n", "layer", "fp32 algo", "fp32 ms", "int8 ms",
           "fp32 GOP", "int8 GOP", "x");
    double tot32[2] = {0, 0}, tot8[2] = {0, 0};
    srand(1);
    for (size_t li = 0; li < NLAYERS; li++) {
        const layer *L = &layers[li];
        const int pad = L->k / 2;
        rn_conv_desc cd = {1, L->h, L->w, L->c, L->oc, L->k, L->k, L->s, L->s, pad, pad, 0, 0};
        rn_qconv_desc qd = {1, L->h, L->w, L->c, L->oc, L->k, L->s, pad, 0, 0};
        if (!rn__conv_desc_init(&cd) || !rn__qconv_desc_init(&qd)) return 1;
        const size_t nx = (size_t)L->h * L->w * L->c, nw = (size_t)L->oc * L->k * L->k * L->c;
        const size_t ny = (size_t)cd.oh * cd.ow * L->oc;
        float *x = xmalloc(nx * 4), *w = xmalloc(nw * 4), *b = xmalloc((size_t)L->oc * 4);
        float *y = xmalloc(ny * 4), *m = xmalloc((size_t)L->oc * 4);
        int8_t *xq = xmalloc(nx), *wq = xmalloc(nw), *yq = xmalloc(ny);
        int32_t *bq = xmalloc((size_t)L->oc * 4);
        for (size_t i = 0; i < nx; i++) {
            x[i] = (float)rand() / (float)RAND_MAX;
            xq[i] = (int8_t)(rand() % 128);
        }
        for (size_t i = 0; i < nw; i++) {
            w[i] = (float)rand() / (float)RAND_MAX - 0.5f;
            wq[i] = (int8_t)(rand() % 255 - 127);
        }
        for (int i = 0; i < L->oc; i++) {
            b[i] = 0.1f;
            bq[i] = 100;
            m[i] = 1e-4f;
        }
        const rn_conv_choice ch =
            rn__conv_choose(ctx, &cd, RN_CONV_PASS_FORWARD, RN_CONV_USE_DERIVED);
        void *derived = xmalloc(ch.derived_bytes);
        const int32_t tile = ch.algo == RN_CONV_ALGO_WINOGRAD2 ? 2 : 4;
        const int wino = ch.algo == RN_CONV_ALGO_WINOGRAD || ch.algo == RN_CONV_ALGO_WINOGRAD2;
        if (wino)
            rn__conv_winograd_transform_weights(ctx, &cd, tile, w, derived);
        else if (ch.algo == RN_CONV_ALGO_PACKED)
            rn__conv2d_pack_weights(ctx, &cd, w, derived);
        void *ws32 = xmalloc(ch.workspace);
        void *packed = xmalloc(rn__qconv2d_packed_size(&qd));
        rn__qconv2d_pack(&qd, wq, bq, packed);
        void *ws8 = xmalloc(rn__qconv2d_workspace(ctx, &qd, !plain));
        double *t32 = xmalloc(sizeof(double) * (size_t)rounds);
        double *t8 = xmalloc(sizeof(double) * (size_t)rounds);
        for (int r = -1; r < rounds; r++) { /* round -1 warms up */
            double t0 = now_s();
            if (wino)
                rn__conv_winograd_forward(ctx, &cd, tile, x, derived, b, 1, 0, y, ws32);
            else if (ch.algo == RN_CONV_ALGO_PACKED)
                rn__conv2d_forward_packed(ctx, &cd, x, derived, b, 1, y, ws32);
            else
                rn__conv2d_forward(ctx, &cd, x, w, b, 1, y, ws32);
            double t1 = now_s();
            rn__qconv2d_run(ctx, &qd, xq, wq, bq, plain ? NULL : packed, m, NULL, 0.f, 1, yq, ws8);
            double t2 = now_s();
            if (r >= 0) {
                t32[r] = t1 - t0;
                t8[r] = t2 - t1;
            }
        }
        qsort(t32, (size_t)rounds, sizeof(double), cmp_double);
        qsort(t8, (size_t)rounds, sizeof(double), cmp_double);
        const double a = t32[rounds / 2], q = t8[rounds / 2];
        const double ops = 2.0 * (double)ny * (double)L->k * L->k * L->c;
        char name[32];
        snprintf(name, sizeof name, "%dx%dx%d>%d k%d s%d", L->h, L->w, L->c, L->oc, L->k, L->s);
        printf("%-22s %-16s %9.3f %9.3f %8.1f %8.1f %6.2f  (r18 x%d, r50 x%d)\n", name,
               rn__conv_algo_name(ch.algo), a * 1e3, q * 1e3, ops / a * 1e-9, ops / q * 1e-9, a / q,
               L->r18, L->r50);
        tot32[0] += L->r18 * a;
        tot8[0] += L->r18 * q;
        tot32[1] += L->r50 * a;
        tot8[1] += L->r50 * q;
        fflush(stdout);
        free(x), free(w), free(b), free(y), free(m), free(xq), free(wq), free(yq), free(bq);
        free(derived), free(ws32), free(packed), free(ws8), free(t32), free(t8);
    }
    printf("convolutions of ResNet-18: fp32 %.2f ms, int8 %.2f ms, %.2fx\n", tot32[0] * 1e3,
           tot8[0] * 1e3, tot32[0] / tot8[0]);
    printf("convolutions of ResNet-50: fp32 %.2f ms, int8 %.2f ms, %.2fx\n", tot32[1] * 1e3,
           tot8[1] * 1e3, tot32[1] / tot8[1]);
    rn_ctx_destroy(ctx);
    return 0;
}
