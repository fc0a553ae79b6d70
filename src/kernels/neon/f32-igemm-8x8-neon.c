/*
 * AArch64 NEON indirect GEMM microkernel, 8 rows x 8 columns (contract in
 * kernels.h): the 8x8 GEMM kernel's tile with each segment's 8 A rows
 * taken from the indirection buffer. Code: f32-gemm-neon-template.h.
 */
#define RN_GEMM_MR 8
#define RN_GEMM_NR 8
#define RN_GEMM_INDIRECT 1
#include "f32-gemm-neon-template.h"
