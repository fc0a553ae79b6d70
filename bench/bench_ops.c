/*
 * Op-driver benchmark: where a CIFAR ResNet-20 training step spends its time
 * outside (and inside) the GEMM. Every op driver of src/ops is timed on the
 * shapes ResNet-20 gives it at batch 128 (32x32x16, 16x16x32, 8x8x64, the two
 * stride-2 transitions), forward and backward, plus a few ImageNet
 * convolutions (batch-1 inference, batch-16 training) and the stem's max
 * pool. Each line is the median (and the minimum) of several timed samples,
 * with GFLOP/s for convolutions (2 x MACs) and GB/s for the others, counting
 * the compulsory traffic only: every input read once, every output written
 * once (so a driver that makes two passes over x shows it as a lower GB/s).
 *
 * Internal (it calls the rn__ drivers directly). Build: target bench_ops
 * (bench/CMakeLists.txt). Usage:
 *
 *   bench_ops [threads] [reps] [filter]     (defaults 2, 9, all ops)
 *
 * e.g. `bench_ops 1 15 bn_` times only the batch-norm lines on one thread.
 * RN_MAX_ISA=scalar|avx2|avx512 caps the kernels as everywhere else.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "resnet.h"
#include "core/internal.h"
#include "ops/ops.h"

/* CPU time of the whole process (all threads): on a shared machine it does
 * not count the time other processes held the cores, so with one thread it
 * is a steadier figure than the wall clock. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the op under test: a closure over preallocated buffers ------------------------ */
typedef struct bench_op {
    const char *name;   /* op, e.g. "conv3x3_fwd" */
    char shape[48];     /* shape, e.g. "128x32x32x16" */
    double flop, bytes; /* per call; one of them is 0 */
    rn_conv_desc cd;
    rn_pool_desc pd;
    size_t count, c, hw, h, w, stride, oc;
    float *x, *x2, *x3, *y, *g, *b, *m, *v, *s1, *s2, *s3, *s4;
    void *ws;
    void (*run)(const rn_ctx *ctx, struct bench_op *op);
} bench_op;

static void run_conv_fwd(const rn_ctx *ctx, bench_op *o) {
    rn__conv2d_forward(ctx, &o->cd, o->x, o->g, NULL, 0, o->y, o->ws);
}
static void run_conv_fwd_packed(const rn_ctx *ctx, bench_op *o) {
    rn__conv2d_forward_packed(ctx, &o->cd, o->x, o->b, NULL, 0, o->y, o->ws);
}
static void run_conv_fwd_panels(const rn_ctx *ctx, bench_op *o) {
    rn__conv_forward_panels(ctx, &o->cd, o->x, o->b, NULL, 0, 0, o->y, o->ws);
}
static void run_conv_bwd_data(const rn_ctx *ctx, bench_op *o) {
    rn__conv2d_backward_data(ctx, &o->cd, o->y, o->g, o->x2, o->ws);
}
static void run_conv_bwd_w(const rn_ctx *ctx, bench_op *o) {
    rn__conv2d_backward_weights(ctx, &o->cd, o->x, o->y, o->b, NULL, o->ws);
}
static void run_bn_train(const rn_ctx *ctx, bench_op *o) {
    rn__bn_forward_train(ctx, o->count, o->c, o->x, o->g, o->b, o->m, o->v, 0.1f, 1e-5f, NULL, o->y,
                         o->s1, o->s2, NULL, 1);
}
static void run_bn_eval(const rn_ctx *ctx, bench_op *o) {
    rn__bn_forward_eval(ctx, o->count, o->c, o->x, o->g, o->b, o->m, o->v, 1e-5f, NULL, o->y, 1);
}
static void run_bn_bwd(const rn_ctx *ctx, bench_op *o) {
    rn__bn_backward(ctx, o->count, o->c, o->x, o->x2, o->x3, NULL, o->g, o->s1, o->s2, o->y, o->s3,
                    o->s4);
}
static void run_relu_fwd(const rn_ctx *ctx, bench_op *o) {
    rn__relu_forward(ctx, o->count, o->x, o->y);
}
static void run_relu_bwd(const rn_ctx *ctx, bench_op *o) {
    rn__relu_backward(ctx, o->count, o->x, o->x2, NULL, o->y);
}
static void run_add_relu(const rn_ctx *ctx, bench_op *o) {
    rn__add_forward(ctx, o->count, o->x, o->x2, o->y, 1);
}
static void run_shortcut_fwd(const rn_ctx *ctx, bench_op *o) {
    rn__shortcut_a_forward(ctx, o->count, o->h, o->w, o->c, o->stride, o->oc, o->x, o->y);
}
static void run_shortcut_bwd(const rn_ctx *ctx, bench_op *o) {
    rn__shortcut_a_backward(ctx, o->count, o->h, o->w, o->c, o->stride, o->oc, o->x2, o->y);
}
static void run_gap_fwd(const rn_ctx *ctx, bench_op *o) {
    rn__gap_forward(ctx, o->count, o->hw, o->c, o->x, o->y);
}
static void run_gap_bwd(const rn_ctx *ctx, bench_op *o) {
    rn__gap_backward(ctx, o->count, o->hw, o->c, o->x2, o->y);
}
static void run_maxpool_fwd(const rn_ctx *ctx, bench_op *o) {
    rn__maxpool_forward(ctx, &o->pd, o->x, o->y);
}
static void run_maxpool_bwd(const rn_ctx *ctx, bench_op *o) {
    rn__maxpool_backward(ctx, &o->pd, o->x, o->x2, o->y);
}

/* ---- buffers of random floats ----------------------------------------------------------- */
static int dry_run; /* 1: make_op only names the op (for the filter), allocates nothing */

static float *new_buf(size_t n, unsigned seed) {
    if (dry_run) return NULL;
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "bench_ops: out of memory for %zu floats\n", n);
        exit(1);
    }
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xFFFF) / 32768.0f - 1.0f; /* [-1, 1) */
    }
    return p;
}

static void free_op(bench_op *o) {
    float *bufs[] = {o->x, o->x2, o->x3, o->y, o->g, o->b, o->m, o->v, o->s1, o->s2, o->s3, o->s4};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(o->ws);
    memset(o, 0, sizeof *o);
}

/* Per-channel vectors with sane values (variances > 0, invstd > 0). */
static void channel_vectors(bench_op *o, size_t c) {
    o->g = new_buf(c, 11), o->b = new_buf(c, 12), o->m = new_buf(c, 13), o->v = new_buf(c, 14);
    o->s1 = new_buf(c, 15), o->s2 = new_buf(c, 16), o->s3 = new_buf(c, 17), o->s4 = new_buf(c, 18);
    if (dry_run) return;
    for (size_t i = 0; i < c; i++) o->v[i] = 1.0f + 0.5f * o->v[i], o->s2[i] = 1.5f + o->s2[i];
}

static void set_conv(const rn_ctx *ctx, bench_op *o, const char *name, int n, int h, int w, int c,
                     int oc, int k, int s, int pass) {
    rn_conv_desc d = {n, h, w, c, oc, k, k, s, s, k / 2, k / 2, 0, 0};
    rn__conv_desc_init(&d);
    o->name = name;
    o->cd = d;
    snprintf(o->shape, sizeof o->shape, "%dx%dx%dx%d>%d s%d", n, h, w, c, oc, s);
    size_t nx = (size_t)n * h * w * c, ny = (size_t)n * d.oh * d.ow * oc;
    size_t nw = (size_t)oc * k * k * c;
    o->x = new_buf(nx, 1), o->x2 = new_buf(nx, 2), o->y = new_buf(ny, 3), o->g = new_buf(nw, 4);
    o->b = new_buf(nw, 5);
    if (dry_run) return;
    for (size_t i = 0; i < nw; i++) o->g[i] *= 0.1f;
    size_t ws = pass == 0   ? rn__conv2d_forward_workspace(ctx, &d)
                : pass == 1 ? rn__conv2d_backward_data_workspace(ctx, &d)
                : pass == 2 ? rn__conv2d_backward_weights_workspace(ctx, &d)
                : pass == 3 ? rn__conv2d_forward_packed_workspace(ctx, &d)
                            : rn__conv_panels_workspace(&d);
    o->ws = malloc(ws ? ws : 1);
    o->flop = 2.0 * (double)ny * (double)k * k * c;
    o->run = pass == 0   ? run_conv_fwd
             : pass == 1 ? run_conv_bwd_data
             : pass == 2 ? run_conv_bwd_w
             : pass == 3 ? run_conv_fwd_packed
                         : run_conv_fwd_panels;
    if (pass == 4) { /* the panels an inference plan runs (the model's, packed once) */
        free(o->b);
        o->b = (float *)malloc(rn__conv_panels_size(&d));
        if (!o->b) exit(1);
        rn__conv_pack_panels(ctx, &d, o->g, o->b);
    }
    if (pass == 3) { /* o->b: the weights packed once, outside the timing */
        free(o->b);
        o->b = (float *)malloc(rn__conv2d_packed_weights_size(ctx, &d));
        if (!o->b) exit(1);
        rn__conv2d_pack_weights(ctx, &d, o->g, o->b);
    }
}

static void set_rows(bench_op *o, const char *name, size_t n, size_t h, size_t w, size_t c) {
    o->name = name;
    o->count = n * h * w, o->c = c;
    snprintf(o->shape, sizeof o->shape, "%zux%zux%zux%zu", n, h, w, c);
    size_t total = o->count * c;
    o->x = new_buf(total, 1), o->x2 = new_buf(total, 2), o->x3 = new_buf(total, 3);
    o->y = new_buf(total, 4);
    channel_vectors(o, c);
}

/* ---- the list of ops ---------------------------------------------------------------------- */
#define BATCH 128
enum { MAX_OPS = 64 };

static void stage_dims(int s, int *hw, int *c) {
    static const int hws[] = {32, 16, 8}, cs[] = {16, 32, 64};
    *hw = hws[s], *c = cs[s];
}

/* Builds op number `i` into o; returns 0 past the end. */
static int make_op(const rn_ctx *ctx, bench_op *o, int i) {
    memset(o, 0, sizeof *o);
    int hw, c;
    /* 3 stages x 3 conv passes, stride 1 */
    if (i < 9) {
        static const char *names[] = {"conv3x3_fwd", "conv3x3_bwd_data", "conv3x3_bwd_w"};
        stage_dims(i / 3, &hw, &c);
        set_conv(ctx, o, names[i % 3], BATCH, hw, hw, c, c, 3, 1, i % 3);
        return 1;
    }
    i -= 9;
    /* the two stride-2 transitions x 3 passes */
    if (i < 6) {
        static const char *names[] = {"conv3x3s2_fwd", "conv3x3s2_bwd_data", "conv3x3s2_bwd_w"};
        stage_dims(i / 3, &hw, &c);
        set_conv(ctx, o, names[i % 3], BATCH, hw, hw, c, 2 * c, 3, 2, i % 3);
        return 1;
    }
    i -= 6;
    /* row-wise ops on the three stages: 6 ops x 3 stages */
    if (i < 18) {
        stage_dims(i % 3, &hw, &c);
        size_t total = (size_t)BATCH * hw * hw * c;
        double sz = 4.0 * (double)total, cb = 4.0 * c;
        switch (i / 3) {
        case 0:
            set_rows(o, "bn_train_relu", BATCH, hw, hw, c);
            o->run = run_bn_train, o->bytes = 2 * sz + 6 * cb;
            break;
        case 1:
            set_rows(o, "bn_eval_relu", BATCH, hw, hw, c);
            o->run = run_bn_eval, o->bytes = 2 * sz + 4 * cb;
            break;
        case 2:
            set_rows(o, "bn_bwd_relu", BATCH, hw, hw, c);
            o->run = run_bn_bwd, o->bytes = 4 * sz + 6 * cb;
            break;
        case 3:
            set_rows(o, "relu_fwd", BATCH, hw, hw, c);
            o->count = total, o->run = run_relu_fwd, o->bytes = 2 * sz;
            break;
        case 4:
            set_rows(o, "relu_bwd", BATCH, hw, hw, c);
            o->count = total, o->run = run_relu_bwd, o->bytes = 3 * sz;
            break;
        default:
            set_rows(o, "add_relu", BATCH, hw, hw, c);
            o->count = total, o->run = run_add_relu, o->bytes = 3 * sz;
            break;
        }
        return 1;
    }
    i -= 18;
    /* option-A shortcut at the two transitions, forward and backward */
    if (i < 4) {
        stage_dims(i / 2, &hw, &c);
        set_rows(o, i % 2 ? "shortcut_a_bwd" : "shortcut_a_fwd", BATCH, hw, hw, c);
        o->count = BATCH, o->h = (size_t)hw, o->w = (size_t)hw, o->stride = 2,
        o->oc = 2 * (size_t)c;
        double in = 4.0 * BATCH * hw * hw * c, out = 4.0 * BATCH * (hw / 2) * (hw / 2) * 2 * c;
        o->run = i % 2 ? run_shortcut_bwd : run_shortcut_fwd;
        o->bytes = in + out;
        return 1;
    }
    i -= 4;
    if (i < 2) {
        set_rows(o, i ? "gap_bwd" : "gap_fwd", BATCH, 8, 8, 64);
        o->count = BATCH, o->hw = 64, o->run = i ? run_gap_bwd : run_gap_fwd;
        o->bytes = 4.0 * BATCH * 64 * 64 + 4.0 * BATCH * 64;
        return 1;
    }
    i -= 2;
    /* ImageNet convolutions: batch-1 inference (ResNet-18 stem, layer1 and
     * layer4 3x3, ResNet-50 1x1 layers), also with weights packed once
     * ("_packed", "_panels": the form a model shares among its plans), and
     * batch-16 training shapes (ResNet-50 1x1 and 3x3) */
    if (i < 20) {
        static const struct {
            const char *name;
            int n, hw, c, oc, k, s, pass;
        } im[] = {
            {"in_stem7x7_fwd", 1, 224, 3, 64, 7, 2, 0},
            {"in_l1_3x3_fwd", 1, 56, 64, 64, 3, 1, 0},
            {"in_l1_3x3_fwd_packed", 1, 56, 64, 64, 3, 1, 3},
            {"in_l4_3x3_fwd", 1, 7, 512, 512, 3, 1, 0},
            {"in_l4_3x3_fwd_packed", 1, 7, 512, 512, 3, 1, 3},
            {"in_l3_1x1_fwd", 1, 14, 1024, 256, 1, 1, 0},
            {"in_l3_1x1_fwd_packed", 1, 14, 1024, 256, 1, 1, 3},
            {"in_l3_1x1_fwd_panels", 1, 14, 1024, 256, 1, 1, 4},
            {"in_l1_1x1_fwd", 1, 56, 64, 256, 1, 1, 0},
            {"in_l1_1x1_fwd_panels", 1, 56, 64, 256, 1, 1, 4},
            {"in_l4_1x1a_fwd", 1, 7, 512, 2048, 1, 1, 0},
            {"in_l4_1x1a_fwd_panels", 1, 7, 512, 2048, 1, 1, 4},
            {"in_l4_1x1b_fwd", 1, 7, 2048, 512, 1, 1, 0},
            {"in_l4_1x1b_fwd_panels", 1, 7, 2048, 512, 1, 1, 4},
            {"in_1x1_fwd", 16, 56, 64, 256, 1, 1, 0},
            {"in_1x1_bwd_data", 16, 56, 64, 256, 1, 1, 1},
            {"in_1x1_bwd_w", 16, 56, 64, 256, 1, 1, 2},
            {"in_3x3_fwd", 16, 14, 256, 256, 3, 1, 0},
            {"in_3x3_bwd_data", 16, 14, 256, 256, 3, 1, 1},
            {"in_3x3_bwd_w", 16, 14, 256, 256, 3, 1, 2},
        };
        set_conv(ctx, o, im[i].name, im[i].n, im[i].hw, im[i].hw, im[i].c, im[i].oc, im[i].k,
                 im[i].s, im[i].pass);
        return 1;
    }
    i -= 20;
    /* ResNet-18/50 stem pool: 3x3 stride 2 pad 1 on 112x112x64, batch 16 */
    if (i < 2) {
        rn_pool_desc d = {16, 112, 112, 64, 3, 3, 2, 2, 1, 1, 0, 0};
        rn__pool_desc_init(&d);
        set_rows(o, i ? "maxpool_bwd" : "maxpool_fwd", 16, 112, 112, 64);
        o->pd = d;
        o->run = i ? run_maxpool_bwd : run_maxpool_fwd;
        double in = 4.0 * 16 * 112 * 112 * 64, out = 4.0 * 16 * 56 * 56 * 64;
        o->bytes = i ? 2 * in + out : in + out;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    const char *filter = argc > 3 ? argv[3] : NULL;
    if (threads < 1) threads = 1;
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) return 1;
    rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, threads);
    int64_t isa = 0;
    rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &isa);
    printf("# bench_ops: %s kernels, %d thread(s), median (min) of %d samples\n",
           rn_isa_name((int32_t)isa), threads, reps);
    printf("%-20s %-22s %9s %9s %9s %14s\n", "op", "shape", "ms", "min ms", "cpu ms", "rate");
    bench_op o;
    for (int i = 0;; i++) {
        dry_run = 1;
        int more = make_op(ctx, &o, i);
        dry_run = 0;
        if (!more) break;
        if (filter && !strstr(o.name, filter)) continue;
        make_op(ctx, &o, i);
        o.run(ctx, &o); /* warm: page faults, caches, thread pool */
        /* enough calls per sample for ~10 ms, so timer noise stays small */
        double t0 = now_s();
        o.run(ctx, &o);
        double once = now_s() - t0;
        int inner = (int)(1e-2 / (once > 1e-6 ? once : 1e-6)) + 1;
        double samples[64], cpu[64];
        for (int r = 0; r < reps; r++) {
            double c0 = cpu_s();
            t0 = now_s();
            for (int k = 0; k < inner; k++) o.run(ctx, &o);
            samples[r] = (now_s() - t0) / inner;
            cpu[r] = (cpu_s() - c0) / inner;
        }
        qsort(samples, (size_t)reps, sizeof samples[0], cmp_double);
        qsort(cpu, (size_t)reps, sizeof cpu[0], cmp_double);
        double med =
            reps % 2 ? samples[reps / 2] : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]);
        double cpu_med = reps % 2 ? cpu[reps / 2] : 0.5 * (cpu[reps / 2 - 1] + cpu[reps / 2]);
        char rate[32];
        if (o.flop > 0)
            snprintf(rate, sizeof rate, "%.1f GFLOP/s", o.flop / med * 1e-9);
        else
            snprintf(rate, sizeof rate, "%.1f GB/s", o.bytes / med * 1e-9);
        printf("%-20s %-22s %9.3f %9.3f %9.3f %14s\n", o.name, o.shape, med * 1e3, samples[0] * 1e3,
               cpu_med * 1e3, rate);
        fflush(stdout);
        free_op(&o);
    }
    rn_ctx_destroy(ctx);
    return 0;
}
