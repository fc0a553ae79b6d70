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
    .winograd_output_grad = rn_f32_winograd_output_grad__##isa,                               \
    .winograd2_input = rn_f32_winograd2_input__##isa,                                         \
    .winograd2_output = rn_f32_winograd2_output__##isa,                                       \
    .winograd6_input = rn_f32_winograd6_input__##isa,                                         \
    .winograd6_output = rn_f32_winograd6_output__##isa

/* A slot of an f32 GEMM-shaped family (gemm, igemm, wgrad and their _narrow): its tile
 * and kernel. RN_F32_TILE2 fills the family's wide and narrow slots with the same
 * kernel, for an ISA without a narrower one. */
#define RN_F32_TILE(slot, mr, nr, fn) .slot##_mr = mr, .slot##_nr = nr, .slot = fn
#define RN_F32_TILE2(slot, mr, nr, fn) \
    RN_F32_TILE(slot, mr, nr, fn), RN_F32_TILE(slot##_narrow, mr, nr, fn)

static const struct rn_kernels scalar_table = {.isa = RN_ISA_SCALAR,
                                               RN_F32_TILE2(gemm, 4, 4, rn_f32_gemm_4x4__scalar),
                                               RN_F32_TILE2(igemm, 4, 4, rn_f32_igemm_4x4__scalar),
                                               RN_F32_TILE2(wgrad, 4, 4, rn_f32_wgrad_4x4__scalar),
                                               .transpose = rn_x32_transpose__scalar,
                                               RN_ELEMENTWISE(scalar),
                                               .qconv = {rn_qs8_igemm_4x16__scalar, 4, 0}};
#ifdef RN_HAVE_AVX2
static const struct rn_kernels avx2_table = {.isa = RN_ISA_AVX2,
                                             RN_F32_TILE2(gemm, 6, 16, rn_f32_gemm_6x16__avx2),
                                             RN_F32_TILE2(igemm, 6, 16, rn_f32_igemm_6x16__avx2),
                                             RN_F32_TILE2(wgrad, 4, 16, rn_f32_wgrad_4x16__avx2),
                                             .transpose = rn_x32_transpose__avx2,
                                             RN_ELEMENTWISE(avx2),
                                             .qconv = {rn_qs8_igemm_4x16__avx2, 4, 0}};
#endif
#ifdef RN_HAVE_AVX512
/* The AVX-512 table packs with the 8x8 AVX transpose: packing is a small
 * share of a GEMM, and Zen 4 runs zmm shuffles at half rate anyway. Its
 * narrow GEMMs (16 output channels) hold one zmm per row: on Zen 5, whose
 * FMA units are 512 bits wide, twice the work per instruction of the AVX2
 * 6x16 kernels' two ymm, on Zen 4 (double-pumped) the same. */
#ifdef RN_HAVE_AVX2
#define RN_AVX512_TRANSPOSE rn_x32_transpose__avx2
#else
#define RN_AVX512_TRANSPOSE rn_x32_transpose__scalar
#endif
#define RN_AVX512_NARROW                                         \
    RN_F32_TILE(gemm_narrow, 16, 16, rn_f32_gemm_16x16__avx512), \
        RN_F32_TILE(igemm_narrow, 8, 16, rn_f32_igemm_8x16__avx512)
#define RN_AVX512_COMMON                                                                      \
    .isa = RN_ISA_AVX512, RN_F32_TILE(gemm, 14, 32, rn_f32_gemm_14x32__avx512),               \
    RN_F32_TILE(igemm, 8, 32, rn_f32_igemm_8x32__avx512), RN_AVX512_NARROW,                   \
    RN_F32_TILE(wgrad, 8, 32, rn_f32_wgrad_8x32__avx512),                                     \
    RN_F32_TILE(wgrad_narrow, 16, 16, rn_f32_wgrad_16x16__avx512),                            \
    RN_F32_TILE(dconv3, 8, 32, rn_f32_dconv3_8x32__avx512),                                   \
    RN_F32_TILE(dconv3_narrow, 16, 16, rn_f32_dconv3_16x16__avx512),                          \
    RN_F32_TILE(wgrad3, 8, 16, rn_f32_wgrad3_8x16__avx512), .transpose = RN_AVX512_TRANSPOSE, \
    RN_ELEMENTWISE(avx512)
static const struct rn_kernels avx512_table = {RN_AVX512_COMMON,
                                               .qconv = {rn_qs8_igemm_8x16__avx512bw, 8, 0}};
/* The same with the int8 convolution on VNNI (vpdpbusd), where CPUID has it. */
static const struct rn_kernels avx512vnni_table = {
    RN_AVX512_COMMON, .qconv = {rn_qs8_igemm_12x16__avx512vnni, 12, 1}};
#ifdef RN_HAVE_AVX512BF16
/* And with the bf16 convolutions of RN_OPT_TRAIN_BF16 (vdpbf16ps), where CPUID
 * has AVX512_BF16 (every such CPU has VNNI too; one without takes the table
 * above, and the option is refused there). */
static const struct rn_kernels avx512bf16_table = {
    RN_AVX512_COMMON, .qconv = {rn_qs8_igemm_12x16__avx512vnni, 12, 1},
    RN_F32_TILE(igemm_bf16, 8, 32, rn_bf16_igemm_8x32__avx512bf16),
    RN_F32_TILE(igemm_bf16_narrow, 16, 16, rn_bf16_igemm_16x16__avx512bf16),
    .bf16_convert = rn_bf16_convert__avx512bf16};
#endif
#endif
#ifdef RN_HAVE_NEON
#define RN_NEON_COMMON                                                                      \
    .isa = RN_ISA_NEON, RN_F32_TILE2(gemm, 8, 8, rn_f32_gemm_8x8__neon),                    \
    RN_F32_TILE2(igemm, 8, 8, rn_f32_igemm_8x8__neon),                                      \
    RN_F32_TILE2(wgrad, 8, 8, rn_f32_wgrad_8x8__neon), .transpose = rn_x32_transpose__neon, \
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
    case RN_ISA_AVX512: {
        const uint32_t f = rn__cpu_features();
#ifdef RN_HAVE_AVX512BF16
        if (rn__cpu_bf16(RN_ISA_AVX512)) return &avx512bf16_table;
#endif
        return (f & RN_CPU_AVX512VNNI) ? &avx512vnni_table : &avx512_table;
    }
#endif
#ifdef RN_HAVE_AVX2
    case RN_ISA_AVX2: return &avx2_table;
#endif
    default: return &scalar_table;
    }
}
