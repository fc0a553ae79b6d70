/*
 * The kernel table of each ISA, and the lookup from an ISA cap to its table.
 * Which ISA a cap resolves to (at most the CPU's best, and compiled in) is
 * src/core/cpu.c's answer, the same one a context reports as
 * RN_OPT_ACTIVE_ISA. The tables are constant, so there is nothing to
 * initialise and nothing to race on.
 */
#include "../core/internal.h"
#include "kernels.h"

/* The elementwise families of one ISA, named by the kernels' suffix. */
#define RN_ELEMENTWISE(isa)                                                                   \
    .bn_stats = rn_f32_bn_stats__##isa, .bn_apply = rn_f32_bn_apply__##isa,                   \
    .bn_grad_sums = rn_f32_bn_grad_sums__##isa, .bn_grad_input = rn_f32_bn_grad_input__##isa, \
    .relu = rn_f32_relu__##isa, .relu_backward = rn_f32_relu_backward__##isa,                 \
    .add = rn_f32_add__##isa, .maxpool = rn_f32_maxpool__##isa,                               \
    .maxpool_backward = rn_f32_maxpool_backward__##isa,                                       \
    .winograd_input = rn_f32_winograd_input__##isa,                                           \
    .winograd_output = rn_f32_winograd_output__##isa,                                         \
    .winograd_output_grad = rn_f32_winograd_output_grad__##isa

#define RN_QCONV_SCALAR \
    { rn_qs8_igemm_4x16__scalar, 4, 0 }

static const struct rn_kernels scalar_table = {.isa = RN_ISA_SCALAR,
                                               .gemm_mr = 4,
                                               .gemm_nr = 4,
                                               .gemm = rn_f32_gemm_4x4__scalar,
                                               .gemm_narrow_mr = 4,
                                               .gemm_narrow_nr = 4,
                                               .gemm_narrow = rn_f32_gemm_4x4__scalar,
                                               .igemm_mr = 4,
                                               .igemm_nr = 4,
                                               .igemm = rn_f32_igemm_4x4__scalar,
                                               .igemm_narrow_mr = 4,
                                               .igemm_narrow_nr = 4,
                                               .igemm_narrow = rn_f32_igemm_4x4__scalar,
                                               .wgrad_mr = 4,
                                               .wgrad_nr = 4,
                                               .wgrad = rn_f32_wgrad_4x4__scalar,
                                               .wgrad_narrow_mr = 4,
                                               .wgrad_narrow_nr = 4,
                                               .wgrad_narrow = rn_f32_wgrad_4x4__scalar,
                                               .transpose = rn_x32_transpose__scalar,
                                               RN_ELEMENTWISE(scalar),
                                               .qconv = RN_QCONV_SCALAR};
#ifdef RN_HAVE_AVX2
static const struct rn_kernels avx2_table = {.isa = RN_ISA_AVX2,
                                             .gemm_mr = 6,
                                             .gemm_nr = 16,
                                             .gemm = rn_f32_gemm_6x16__avx2,
                                             .gemm_narrow_mr = 6,
                                             .gemm_narrow_nr = 16,
                                             .gemm_narrow = rn_f32_gemm_6x16__avx2,
                                             .igemm_mr = 6,
                                             .igemm_nr = 16,
                                             .igemm = rn_f32_igemm_6x16__avx2,
                                             .igemm_narrow_mr = 6,
                                             .igemm_narrow_nr = 16,
                                             .igemm_narrow = rn_f32_igemm_6x16__avx2,
                                             .wgrad_mr = 4,
                                             .wgrad_nr = 16,
                                             .wgrad = rn_f32_wgrad_4x16__avx2,
                                             .wgrad_narrow_mr = 4,
                                             .wgrad_narrow_nr = 16,
                                             .wgrad_narrow = rn_f32_wgrad_4x16__avx2,
                                             .transpose = rn_x32_transpose__avx2,
                                             RN_ELEMENTWISE(avx2),
                                             .qconv = {rn_qs8_igemm_4x16__avx2, 4, 0}};
#endif
#ifdef RN_HAVE_AVX512
/* The AVX-512 table packs with the 8x8 AVX transpose: packing is a small
 * share of a GEMM, and Zen 4 runs zmm shuffles at half rate anyway. Its
 * narrow GEMMs are the AVX2 6x16 kernels: 16 columns are two ymm per row,
 * and Zen 4 retires two ymm FMAs per cycle, the FLOPs of one zmm FMA. */
#ifdef RN_HAVE_AVX2
#define RN_AVX512_TRANSPOSE rn_x32_transpose__avx2
#define RN_AVX512_NARROW                                                              \
    .gemm_narrow_mr = 6, .gemm_narrow_nr = 16, .gemm_narrow = rn_f32_gemm_6x16__avx2, \
    .igemm_narrow_mr = 6, .igemm_narrow_nr = 16, .igemm_narrow = rn_f32_igemm_6x16__avx2
#else
#define RN_AVX512_TRANSPOSE rn_x32_transpose__scalar
#define RN_AVX512_NARROW                                                                  \
    .gemm_narrow_mr = 14, .gemm_narrow_nr = 32, .gemm_narrow = rn_f32_gemm_14x32__avx512, \
    .igemm_narrow_mr = 8, .igemm_narrow_nr = 32, .igemm_narrow = rn_f32_igemm_8x32__avx512
#endif
#define RN_AVX512_COMMON                                                                      \
    .isa = RN_ISA_AVX512, .gemm_mr = 14, .gemm_nr = 32, .gemm = rn_f32_gemm_14x32__avx512,    \
    .igemm_mr = 8, .igemm_nr = 32, .igemm = rn_f32_igemm_8x32__avx512, RN_AVX512_NARROW,      \
    .wgrad_mr = 8, .wgrad_nr = 32, .wgrad = rn_f32_wgrad_8x32__avx512, .wgrad_narrow_mr = 16, \
    .wgrad_narrow_nr = 16, .wgrad_narrow = rn_f32_wgrad_16x16__avx512,                        \
    .transpose = RN_AVX512_TRANSPOSE, RN_ELEMENTWISE(avx512)
static const struct rn_kernels avx512_table = {RN_AVX512_COMMON,
                                               .qconv = {rn_qs8_igemm_8x16__avx512bw, 8, 0}};
/* The same with the int8 convolution on VNNI (vpdpbusd), where CPUID has it. */
static const struct rn_kernels avx512vnni_table = {
    RN_AVX512_COMMON, .qconv = {rn_qs8_igemm_12x16__avx512vnni, 12, 1}};
#endif
#ifdef RN_HAVE_NEON
#define RN_NEON_COMMON                                                                             \
    .isa = RN_ISA_NEON, .gemm_mr = 8, .gemm_nr = 8, .gemm = rn_f32_gemm_8x8__neon,                 \
    .gemm_narrow_mr = 8, .gemm_narrow_nr = 8, .gemm_narrow = rn_f32_gemm_8x8__neon, .igemm_mr = 8, \
    .igemm_nr = 8, .igemm = rn_f32_igemm_8x8__neon, .igemm_narrow_mr = 8, .igemm_narrow_nr = 8,    \
    .igemm_narrow = rn_f32_igemm_8x8__neon, .wgrad_mr = 8, .wgrad_nr = 8,                          \
    .wgrad = rn_f32_wgrad_8x8__neon, .wgrad_narrow_mr = 8, .wgrad_narrow_nr = 8,                   \
    .wgrad_narrow = rn_f32_wgrad_8x8__neon, .transpose = rn_x32_transpose__neon,                   \
    RN_ELEMENTWISE(neon)
static const struct rn_kernels neon_table = {RN_NEON_COMMON,
                                             .qconv = {rn_qs8_igemm_4x16__neon, 4, 0}};
/* The same with the int8 convolution on sdot, where the CPU has it. */
static const struct rn_kernels neondot_table = {RN_NEON_COMMON,
                                                .qconv = {rn_qs8_igemm_4x16__neondot, 4, 0}};
#endif

const struct rn_kernels *rn__kernels_for_isa(int32_t cap) {
    switch (rn__cpu_isa_for_cap(cap)) {
#ifdef RN_HAVE_NEON
    case RN_ISA_NEON: return (rn__cpu_features() & RN_CPU_DOTPROD) ? &neondot_table : &neon_table;
#endif
#ifdef RN_HAVE_AVX512
    case RN_ISA_AVX512:
        return (rn__cpu_features() & RN_CPU_AVX512VNNI) ? &avx512vnni_table : &avx512_table;
#endif
#ifdef RN_HAVE_AVX2
    case RN_ISA_AVX2: return &avx2_table;
#endif
    default: return &scalar_table;
    }
}
