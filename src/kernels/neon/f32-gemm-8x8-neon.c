/*
 * AArch64 NEON GEMM microkernel, 8 rows x 8 columns (contract in kernels.h):
 * 16 q accumulators; each step loads 4 consecutive k of every A row into
 * one q register (8 registers) and multiplies the B rows by single lanes.
 * Code: f32-gemm-neon-template.h.
 */
#define RN_GEMM_MR 8
#define RN_GEMM_NR 8
#define RN_GEMM_INDIRECT 0
#include "f32-gemm-neon-template.h"
