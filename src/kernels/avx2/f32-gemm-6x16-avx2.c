/*
 * AVX2 + FMA GEMM microkernel, 6 rows x 16 columns (contract in kernels.h).
 * 12 ymm accumulators, 2 for the B row and 1 broadcast fill 15 of the 16
 * registers; rows from two bases (rows 0 and 3). Full tiles take plain
 * stores, column tails vmaskmovps. Code: ../f32-gemm-x86-template.h.
 */
#include "simd-avx2.h"

#define RN_GEMM_MR 6
#define RN_GEMM_NR 16
#define RN_GEMM_ROWS_PER_BASE 3
#define RN_GEMM_INDIRECT 0
#include "../f32-gemm-x86-template.h"
