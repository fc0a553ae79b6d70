/*
 * Fills the kernel table for an ISA. The best ISA the CPU offers is
 * detected once (src/core/cpu.c); a context asks for min(cap, best).
 */
#include "../core/internal.h"
#include "kernels.h"

void rn_f32_gemm_4x4__scalar(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,
                             const float *packed_b, float *c, size_t c_stride,
                             int32_t accumulate);

static const struct rn_kernels scalar_table = {RN_ISA_SCALAR, 4, 4, rn_f32_gemm_4x4__scalar};

const struct rn_kernels *rn__kernels_for_isa(int32_t isa) {
    (void)isa;
    return &scalar_table;
}
