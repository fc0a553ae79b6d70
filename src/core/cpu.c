/*
 * CPU feature detection: CPUID for the instruction sets and XCR0 for the OS
 * saving the registers (AVX needs XCR0 bits 1-2, AVX-512 also bits 5-7), as
 * ncnn does. Detection runs once; the result is a pure function of the CPU,
 * so concurrent first calls compute the same value (no lock needed). Which
 * ISA a context runs follows from it, the cap and the kernels this build
 * compiled (rn__cpu_isa_for_cap); src/kernels/dispatch.c maps that ISA to its
 * table.
 */
#include "internal.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define RN_X86 1
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}
static int32_t detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return RN_ISA_SCALAR;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return RN_ISA_SCALAR;
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return RN_ISA_SCALAR;
    if (__get_cpuid_max(0, NULL) < 7) return RN_ISA_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
        avx512vl = (b >> 31) & 1;
    if (avx512f && avx512dq && avx512bw && avx512vl && (xcr0 & 0xe6) == 0xe6) return RN_ISA_AVX512;
    return avx2 ? RN_ISA_AVX2 : RN_ISA_SCALAR;
}
/* Extensions within an ISA: AVX512_VNNI (CPUID 7.0 ECX bit 11) and
 * AVX512_BF16 (CPUID 7.1 EAX bit 5; leaf 7's subleaf count in 7.0 EAX),
 * with the AVX-512 state already required by detect(). */
static uint32_t detect_features(void) {
    unsigned a, b, c, d;
    if (detect() != RN_ISA_AVX512) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    uint32_t f = ((c >> 11) & 1) ? RN_CPU_AVX512VNNI : 0;
    if (a >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        if ((a >> 5) & 1) f |= RN_CPU_AVX512BF16;
    }
    return f;
}
#elif defined(__aarch64__)
static int32_t detect(void) { return RN_ISA_NEON; } /* NEON is mandatory on AArch64 */
#if defined(__linux__)
/* The dot-product extension (SDOT/UDOT) from the kernel's hardware
 * capabilities: HWCAP_ASIMDDP, bit 20 of AT_HWCAP (16). Elsewhere none is
 * assumed (the plain NEON kernels run). */
#include <sys/auxv.h>
static uint32_t detect_features(void) { return (getauxval(16) & (1ul << 20)) ? RN_CPU_DOTPROD : 0; }
#else
static uint32_t detect_features(void) { return 0; }
#endif
#else
static int32_t detect(void) { return RN_ISA_SCALAR; }
static uint32_t detect_features(void) { return 0; }
#endif

static int32_t cached_isa = -1;

/* Relaxed atomics: racing first calls all store the same value. */
int32_t rn__cpu_best_isa(void) {
#if defined(__GNUC__) || defined(__clang__)
    int32_t v = __atomic_load_n(&cached_isa, __ATOMIC_RELAXED);
    if (v < 0) {
        v = detect();
        __atomic_store_n(&cached_isa, v, __ATOMIC_RELAXED);
    }
#else
    int32_t v = detect();
#endif
    return v;
}

static int32_t cached_features = -1;

uint32_t rn__cpu_features(void) {
#if defined(__GNUC__) || defined(__clang__)
    int32_t v = __atomic_load_n(&cached_features, __ATOMIC_RELAXED);
    if (v < 0) {
        v = (int32_t)detect_features();
        __atomic_store_n(&cached_features, v, __ATOMIC_RELAXED);
    }
    return (uint32_t)v;
#else
    (void)cached_features;
    return detect_features();
#endif
}

int32_t rn__cpu_isa_for_cap(int32_t cap) {
    const int32_t best = rn__cpu_best_isa();
    const int32_t want = cap < best ? cap : best;
    /* The x86 ISAs are ordered scalar < avx2 < avx512; NEON sits above them
     * numerically but only exists on AArch64, where the x86 kernels are not
     * compiled in, so "highest compiled ISA <= want" is the rule on both. */
#ifdef RN_HAVE_NEON
    if (want >= RN_ISA_NEON) return RN_ISA_NEON;
#endif
#ifdef RN_HAVE_AVX512
    if (want >= RN_ISA_AVX512) return RN_ISA_AVX512;
#endif
#ifdef RN_HAVE_AVX2
    if (want >= RN_ISA_AVX2) return RN_ISA_AVX2;
#endif
    (void)want;
    return RN_ISA_SCALAR;
}

int32_t rn__cpu_bf16(int32_t isa) {
#ifdef RN_HAVE_AVX512BF16
    const uint32_t need = RN_CPU_AVX512BF16 | RN_CPU_AVX512VNNI;
    return isa == RN_ISA_AVX512 && (rn__cpu_features() & need) == need;
#else
    (void)isa;
    return 0;
#endif
}
