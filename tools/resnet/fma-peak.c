/*
 * The machine's single-core FMA peak, measured rather than looked up, as
 * the yardstick `resnet bench` reports its GFLOP/s against: twelve
 * independent chains of fused multiply-adds (enough to cover an FMA
 * latency of 4 cycles on 2 or 3 ports) on the widest vectors the CPU runs,
 * best of a few short runs. The vector paths are compiled for their ISA
 * with target attributes and only called when the CPU reports it, so the
 * program itself stays baseline x86-64 / AArch64.
 */
#include "cli.h"

#define CHAINS 12
#define ROUNDS 200000

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_X86 1

__attribute__((target("avx512f"))) static float run_avx512(long rounds) {
    __m512 acc[CHAINS];
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_set1_ps((float)k);
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_fmadd_ps(acc[k], b, c);
    __m512 s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = _mm512_add_ps(s, acc[k]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float run_avx2(long rounds) {
    __m256 acc[CHAINS];
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_set1_ps((float)k);
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_fmadd_ps(acc[k], b, c);
    __m256 s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = _mm256_add_ps(s, acc[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}
#elif defined(__aarch64__)
#include <arm_neon.h>
#define HAVE_NEON 1

static float run_neon(long rounds) {
    float32x4_t acc[CHAINS];
    const float32x4_t b = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-6f);
    for (int k = 0; k < CHAINS; k++) acc[k] = vdupq_n_f32((float)k);
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < CHAINS; k++) acc[k] = vfmaq_f32(c, acc[k], b);
    float32x4_t s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = vaddq_f32(s, acc[k]);
    return vgetq_lane_f32(s, 0);
}
#endif

/* Without vector FMA: a multiply and an add per chain step (2 flops). */
static float run_scalar(long rounds) {
    volatile float seed = 0.999999f;
    float acc[CHAINS], b = seed, c = 1e-6f;
    for (int k = 0; k < CHAINS; k++) acc[k] = (float)k;
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < CHAINS; k++) acc[k] = acc[k] * b + c;
    float s = 0;
    for (int k = 0; k < CHAINS; k++) s += acc[k];
    return s;
}

typedef float (*fma_loop)(long rounds);

double cli_fma_peak_gflops(const char **isa) {
    fma_loop fn = run_scalar;
    int lanes = 1;
    *isa = "scalar";
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        fn = run_avx512, lanes = 16, *isa = "avx512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        fn = run_avx2, lanes = 8, *isa = "avx2";
    }
#elif defined(HAVE_NEON)
    fn = run_neon, lanes = 4, *isa = "neon";
#endif
    volatile float sink = fn(1000); /* warm up the core's clock and the caches */
    double best = 0;
    for (int t = 0; t < 5; t++) {
        double t0 = cli_now();
        sink = fn(ROUNDS);
        double dt = cli_now() - t0;
        double gflops = 2.0 * lanes * CHAINS * (double)ROUNDS / dt * 1e-9;
        if (gflops > best) best = gflops;
    }
    (void)sink;
    return best;
}
