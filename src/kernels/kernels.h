/*
 * The kernel table: one function pointer per kernel family, filled once per
 * ISA (dispatch.c). Kernels compute; they never allocate, never thread and
 * never decide policy. Drivers in src/ops/ pick and call them.
 */
#ifndef RN_KERNELS_H
#define RN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* GEMM microkernel contract (row-major, packed B panels):
 * C[mr x nc] (+)= A[mr x kc] * Bpanel[kc x nr], see dispatch.c for details. */
typedef void (*rn_gemm_ukernel_fn)(size_t mr, size_t nc, size_t kc, const float *a,
                                   size_t a_stride, const float *packed_b, float *c,
                                   size_t c_stride, int32_t accumulate);

struct rn_kernels {
    int32_t isa;       /* RN_ISA_* this table implements; must stay the first member */
    int32_t gemm_mr;   /* rows of the GEMM microkernel */
    int32_t gemm_nr;   /* columns (panel width) of the GEMM microkernel */
    rn_gemm_ukernel_fn gemm;
};

#endif /* RN_KERNELS_H */
