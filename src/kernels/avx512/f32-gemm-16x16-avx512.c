/*
 * AVX-512 GEMM microkernel, 16 rows x 16 columns (contract in kernels.h):
 * the narrow tile, for 16 output channels. 16 zmm accumulators + 1 for the
 * B row; each k step is 1 vector load of B and 16 broadcasts of A for 16
 * FMAs. Where AVX-512 is full width (Zen 5), a zmm row does twice the work
 * of the AVX2 6x16 kernel's two ymm; where it is double-pumped (Zen 4) the
 * same. Rows from four bases (rows 0, 4, 8, 12).
 * Code: ../f32-gemm-x86-template.h.
 */
#include "simd-avx512.h"

#define RN_GEMM_MR 16
#define RN_GEMM_NR 16
#define RN_GEMM_ROWS_PER_BASE 4
#define RN_GEMM_INDIRECT 0
#include "../f32-gemm-x86-template.h"
