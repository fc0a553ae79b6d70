/*
 * AVX-512 GEMM microkernel, 14 rows x 32 columns (contract in kernels.h).
 * 28 zmm accumulators + 2 for the B row leave 2 of the 32 registers; each
 * A element is broadcast straight from memory, so a k step costs 2 vector
 * loads and 14 broadcasts for 28 FMAs. Rows from three bases (rows 0, 5,
 * 10): 7 general registers in the k loop instead of 14 row pointers.
 * Code: ../f32-gemm-x86-template.h.
 */
#include "simd-avx512.h"

#define RN_GEMM_MR 14
#define RN_GEMM_NR 32
#define RN_GEMM_ROWS_PER_BASE 5
#define RN_GEMM_INDIRECT 0
#include "../f32-gemm-x86-template.h"
