/*
 * Fills the kernel table for an ISA. The best ISA the CPU offers is
 * detected once (src/core/cpu.c); a context asks for min(cap, best) and gets
 * the best table compiled in at or below that. The tables are constant, so
 * there is nothing to initialise and nothing to race on.
 */
#include "../core/internal.h"
#include "kernels.h"

static const struct rn_kernels scalar_table = {RN_ISA_SCALAR, 4, 4, rn_f32_gemm_4x4__scalar,
                                               rn_x32_transpose__scalar};
#ifdef RN_HAVE_AVX2
static const struct rn_kernels avx2_table = {RN_ISA_AVX2, 6, 16, rn_f32_gemm_6x16__avx2,
                                             rn_x32_transpose__avx2};
#endif
#ifdef RN_HAVE_AVX512
/* The AVX-512 table packs with the 8x8 AVX transpose: packing is a small
 * share of a GEMM, and Zen 4 runs zmm shuffles at half rate anyway. */
#ifdef RN_HAVE_AVX2
#define RN_AVX512_TRANSPOSE rn_x32_transpose__avx2
#else
#define RN_AVX512_TRANSPOSE rn_x32_transpose__scalar
#endif
static const struct rn_kernels avx512_table = {RN_ISA_AVX512, 14, 32,
                                               rn_f32_gemm_14x32__avx512,
                                               RN_AVX512_TRANSPOSE};
#endif
#ifdef RN_HAVE_NEON
static const struct rn_kernels neon_table = {RN_ISA_NEON, 8, 8, rn_f32_gemm_8x8__neon,
                                             rn_x32_transpose__neon};
#endif

const struct rn_kernels *rn__kernels_for_isa(int32_t isa) {
    const int32_t best = rn__cpu_best_isa();
    const int32_t want = isa < best ? isa : best;
    /* The x86 ISAs are ordered scalar < avx2 < avx512; NEON sits above them
     * numerically but only exists on AArch64, where the x86 tables are not
     * compiled in, so "highest table <= want" is the right rule on both. */
#ifdef RN_HAVE_NEON
    if (want >= RN_ISA_NEON) return &neon_table;
#endif
#ifdef RN_HAVE_AVX512
    if (want >= RN_ISA_AVX512) return &avx512_table;
#endif
#ifdef RN_HAVE_AVX2
    if (want >= RN_ISA_AVX2) return &avx2_table;
#endif
    (void)want;
    return &scalar_table;
}
