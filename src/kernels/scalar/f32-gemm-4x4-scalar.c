/*
 * Portable 4x4 GEMM microkernel (contract in kernels.h): the path every
 * machine has, and the one RN_MAX_ISA=scalar selects.
 * Code: f32-gemm-scalar-template.h.
 */
#define RN_GEMM_MR 4
#define RN_GEMM_NR 4
#define RN_GEMM_INDIRECT 0
#include "f32-gemm-scalar-template.h"
