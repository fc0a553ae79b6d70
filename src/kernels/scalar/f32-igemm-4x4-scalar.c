/*
 * Portable 4x4 indirect GEMM microkernel (contract in kernels.h): the path
 * every machine has for convolutions, and the one RN_MAX_ISA=scalar selects.
 * Code: f32-gemm-scalar-template.h.
 */
#define RN_GEMM_MR 4
#define RN_GEMM_NR 4
#define RN_GEMM_INDIRECT 1
#include "f32-gemm-scalar-template.h"
