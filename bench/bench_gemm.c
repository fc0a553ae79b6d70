/*
 * GEMM benchmark: GFLOP/s of rn__sgemm per ISA and thread count, on square
 * sizes and on the GEMMs a ResNet's convolutions make, with the machine's
 * measured FMA peak for each ISA so the output says how far from peak each
 * shape is. Every number is the median of several timed runs.
 *
 * Internal (it calls rn__sgemm directly). Build with CMake (bench/CMakeLists.txt,
 * target bench_gemm) or by hand against a built static library:
 *
 *   cc -O2 -std=c99 -fopenmp -Iinclude -Isrc bench/bench_gemm.c BUILD/libresnet.a -lm -o bench_gemm
 *
 * Usage: bench_gemm [max_threads] [reps]   (defaults 2 and 9)
 * Environment: RN_BENCH_QUICK=1 runs only the ResNet shapes.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"
#include "ops/ops.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define BENCH_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define BENCH_NEON 1
#endif

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- FMA peak: many independent accumulator chains, nothing else --------------- */
#define PEAK_ITERS 10000000L
static volatile float peak_sink;

/* Twelve named accumulators (an array may live in memory): 2 FMA pipes x
 * 4-5 cycles latency needs at least 10 chains in flight. */
#define PEAK_DECL(T, init)                                                            \
    T r0 = init(0.f), r1 = init(1.f), r2 = init(2.f), r3 = init(3.f), r4 = init(4.f), \
      r5 = init(5.f), r6 = init(6.f), r7 = init(7.f), r8 = init(8.f), r9 = init(9.f), \
      r10 = init(10.f), r11 = init(11.f)
#define PEAK_STEP(F)    \
    r0 = F(r0, x, y);   \
    r1 = F(r1, x, y);   \
    r2 = F(r2, x, y);   \
    r3 = F(r3, x, y);   \
    r4 = F(r4, x, y);   \
    r5 = F(r5, x, y);   \
    r6 = F(r6, x, y);   \
    r7 = F(r7, x, y);   \
    r8 = F(r8, x, y);   \
    r9 = F(r9, x, y);   \
    r10 = F(r10, x, y); \
    r11 = F(r11, x, y)
#define PEAK_SUM(ADD)                                                      \
    ADD(ADD(ADD(ADD(r0, r1), ADD(r2, r3)), ADD(ADD(r4, r5), ADD(r6, r7))), \
        ADD(ADD(r8, r9), ADD(r10, r11)))

#ifdef BENCH_X86
__attribute__((target("avx512f"))) static double peak_avx512(void) {
    const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-7f);
    PEAK_DECL(__m512, _mm512_set1_ps);
    double t0 = now_s();
    for (long it = 0; it < PEAK_ITERS; it++) {
        PEAK_STEP(_mm512_fmadd_ps);
    }
    double t = now_s() - t0;
    peak_sink = _mm512_reduce_add_ps(PEAK_SUM(_mm512_add_ps));
    return (double)PEAK_ITERS * 12 * 16 * 2 / t * 1e-9;
}

__attribute__((target("avx2,fma"))) static double peak_avx2(void) {
    const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-7f);
    PEAK_DECL(__m256, _mm256_set1_ps);
    double t0 = now_s();
    for (long it = 0; it < PEAK_ITERS; it++) {
        PEAK_STEP(_mm256_fmadd_ps);
    }
    double t = now_s() - t0;
    float out[8];
    _mm256_storeu_ps(out, PEAK_SUM(_mm256_add_ps));
    peak_sink = out[0];
    return (double)PEAK_ITERS * 12 * 8 * 2 / t * 1e-9;
}
#endif

#ifdef BENCH_NEON
static inline float32x4_t neon_fma(float32x4_t acc, float32x4_t x, float32x4_t y) {
    return vfmaq_f32(y, acc, x);
}
static double peak_neon(void) {
    const float32x4_t x = vdupq_n_f32(0.999f), y = vdupq_n_f32(1e-7f);
    PEAK_DECL(float32x4_t, vdupq_n_f32);
    double t0 = now_s();
    for (long it = 0; it < PEAK_ITERS; it++) {
        PEAK_STEP(neon_fma);
    }
    double t = now_s() - t0;
    peak_sink = vgetq_lane_f32(PEAK_SUM(vaddq_f32), 0);
    return (double)PEAK_ITERS * 12 * 4 * 2 / t * 1e-9;
}
#endif

/* One-core FMA peak of an ISA in GFLOP/s, or 0 when not measured (scalar). */
static double peak_for(int32_t isa) {
    double best = 0.0;
    for (int r = 0; r < 3; r++) { /* best of 3: the clock may still be ramping */
        double v = 0.0;
#ifdef BENCH_X86
        if (isa == RN_ISA_AVX512) v = peak_avx512();
        if (isa == RN_ISA_AVX2) v = peak_avx2();
#endif
#ifdef BENCH_NEON
        if (isa == RN_ISA_NEON) v = peak_neon();
#endif
        if (v > best) best = v;
    }
    return best;
}

/* ---- rn__sgemm timing --------------------------------------------------------------- */
typedef struct shape {
    const char *what;
    int32_t ta, tb;
    size_t m, n, k;
} shape;

static const shape shapes[] = {
    {"square 256", 0, 0, 256, 256, 256},
    {"square 512", 0, 0, 512, 512, 512},
    {"square 1024", 0, 0, 1024, 1024, 1024},
    {"square 2048", 0, 0, 2048, 2048, 2048},
    {"conv1 7x7 fwd (112x112)", 0, 1, 12544, 64, 147},
    {"layer1 3x3 fwd (56x56)", 0, 1, 3136, 64, 576},
    {"layer2 1x1 fwd (28x28)", 0, 1, 784, 512, 128},
    {"layer3 3x3 fwd (14x14)", 0, 1, 196, 256, 2304},
    {"layer4 3x3 fwd (7x7)", 0, 1, 49, 512, 4608},
    {"layer1 3x3 bwd-data", 0, 0, 3136, 576, 64},
    {"layer1 3x3 bwd-weights", 1, 0, 64, 576, 3136},
};

static double time_gemm(rn_ctx *ctx, const shape *s, int reps) {
    const size_t m = s->m, n = s->n, k = s->k;
    float *a = (float *)malloc(m * k * sizeof(float));
    float *b = (float *)malloc(k * n * sizeof(float));
    float *c = (float *)malloc(m * n * sizeof(float));
    float *bias = (float *)malloc(n * sizeof(float));
    void *ws = malloc(rn__sgemm_workspace(ctx, m, n, k));
    double gflops = 0.0;
    if (a && b && c && bias && ws) {
        for (size_t i = 0; i < m * k; i++) a[i] = (float)((i * 7) % 13) * 0.1f - 0.6f;
        for (size_t i = 0; i < k * n; i++) b[i] = (float)((i * 5) % 11) * 0.1f - 0.5f;
        for (size_t i = 0; i < n; i++) bias[i] = 0.01f * (float)i;
        const size_t lda = s->ta ? m : k, ldb = s->tb ? k : n;
        const double flop = 2.0 * (double)m * (double)n * (double)k;
        /* enough calls per sample for ~20 ms, so timer noise stays small */
        int inner = (int)(2e-2 * 100e9 / flop) + 1;
        double samples[64];
        if (reps > 64) reps = 64;
        rn__sgemm(ctx, s->ta, s->tb, m, n, k, a, lda, b, ldb, 0, bias, 1, c, n, ws); /* warm */
        for (int r = 0; r < reps; r++) {
            double t0 = now_s();
            for (int i = 0; i < inner; i++)
                rn__sgemm(ctx, s->ta, s->tb, m, n, k, a, lda, b, ldb, 0, bias, 1, c, n, ws);
            samples[r] = (now_s() - t0) / inner;
        }
        gflops = flop / median(samples, reps) * 1e-9;
    }
    free(a);
    free(b);
    free(c);
    free(bias);
    free(ws);
    return gflops;
}

int main(int argc, char **argv) {
    int max_threads = argc > 1 ? atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    const char *quick = getenv("RN_BENCH_QUICK");
    if (max_threads < 1) max_threads = 1;
    if (reps < 1) reps = 1;
    const int32_t isas[] = {RN_ISA_SCALAR, RN_ISA_AVX2, RN_ISA_AVX512, RN_ISA_NEON};
    printf("%-8s %3s  %-26s %6s %6s %6s  %9s  %s\n", "isa", "thr", "shape", "m", "n", "k",
           "GFLOP/s", "% of peak");
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        rn_ctx *ctx = NULL;
        if (rn_ctx_create(&ctx) != RN_OK) return 1;
        int64_t active = -1;
        rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, isas[i]);
        rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &active);
        if (active != isas[i]) {
            rn_ctx_destroy(ctx);
            continue;
        }
        const double peak = peak_for(isas[i]);
        if (peak > 0.0)
            printf("# %s: measured one-core FMA peak %.1f GFLOP/s (MR x NR = %d x %d)\n",
                   rn_isa_name(isas[i]), peak, rn__ctx_kernels(ctx)->gemm_mr,
                   rn__ctx_kernels(ctx)->gemm_nr);
        for (int t = 1; t <= max_threads; t++) {
            rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, t);
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                if (quick && !strncmp(shapes[s].what, "square", 6)) continue;
                /* the scalar path is a fallback: time only the ResNet shapes */
                if (isas[i] == RN_ISA_SCALAR && !strcmp(shapes[s].what, "square 2048")) continue;
                double g = time_gemm(ctx, &shapes[s], reps);
                printf("%-8s %3d  %-26s %6zu %6zu %6zu  %9.1f", rn_isa_name(isas[i]), t,
                       shapes[s].what, shapes[s].m, shapes[s].n, shapes[s].k, g);
                if (peak > 0.0) printf("  %5.1f%%", 100.0 * g / (peak * t));
                printf("\n");
                fflush(stdout);
            }
        }
        rn_ctx_destroy(ctx);
    }
    return 0;
}
